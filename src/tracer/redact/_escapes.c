/* The optional C part of the redaction engine's views of output (tracer.redact._views): terminal escape
 * sequences blanked, and the sequences that style text taken out, at memory speed.
 *
 * Each function does exactly what its pattern in _views.py does with Python's re (the same grammar, the same
 * leftmost-first choice among the alternatives): tests/redact/test_views.py compares them on random bytes.
 *
 *   ESCAPES: \x1b(?:\[[0-?]*[ -/]*[@-~]|\][0-9]*;?|\\|[()*+][0-9A-Za-z]|[@-Z^_`a-z{|}~=>78])|[\x07\x0e\x0f]|\r(?!\n)
 *   STYLES:  \x1b\[[0-9;:]*[mK]|[\x0e\x0f]
 *   SPLIT_WORD (searched for, not replaced): [^\x1b\[0-9;:][0-9A-Za-z_-](?:STYLES)+[0-9A-Za-z_-]
 *
 * (ECMA-48: a CSI's parameter bytes are 0x30-0x3F, its intermediate bytes 0x20-0x2F, its final byte 0x40-0x7E;
 * the three sets do not overlap, so the greedy match never backtracks.) The GIL is released while they scan.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

_Static_assert(sizeof(Py_ssize_t) == 8, "offsets are packed as 64-bit integers");

/* The bytes that may start an escape sequence (ESCAPES) or a style (STYLES): set when the module loads. */
static unsigned char starts_escape[256], starts_style[256];

/* The length of the escape sequence (ESCAPES) that starts at p[0] (p < end), 0 when none does. */
static Py_ssize_t escape_len(const unsigned char *p, const unsigned char *end)
{
    if (*p == 0x07 || *p == 0x0e || *p == 0x0f)
        return 1;
    if (*p == '\r') /* a carriage return that does not end a line: the cursor goes back within it */
        return p + 1 < end && p[1] == '\n' ? 0 : 1;
    if (*p != 0x1b || p + 1 >= end)
        return 0;
    const unsigned char *q = p + 1;
    unsigned char c = *q;
    if (c == '[') {
        const unsigned char *r = q + 1;
        while (r < end && *r >= 0x30 && *r <= 0x3f)
            r++;
        while (r < end && *r >= 0x20 && *r <= 0x2f)
            r++;
        if (r < end && *r >= 0x40 && *r <= 0x7e)
            return r + 1 - p;
        return 0; /* '[' is in no other alternative */
    }
    if (c == ']') {
        const unsigned char *r = q + 1;
        while (r < end && *r >= '0' && *r <= '9')
            r++;
        if (r < end && *r == ';')
            r++;
        return r - p;
    }
    if (c == '\\')
        return 2;
    if (c == '(' || c == ')' || c == '*' || c == '+') {
        if (q + 1 < end) {
            unsigned char d = q[1];
            if ((d >= '0' && d <= '9') || (d >= 'A' && d <= 'Z') || (d >= 'a' && d <= 'z'))
                return 3;
        }
        return 0;
    }
    if ((c >= '@' && c <= 'Z') || c == '^' || c == '_' || c == '`' || (c >= 'a' && c <= 'z') || c == '{' ||
        c == '|' || c == '}' || c == '~' || c == '=' || c == '>' || c == '7' || c == '8')
        return 2;
    return 0;
}

/* The length of the style sequence (STYLES) that starts at p[0], 0 when none does. */
static Py_ssize_t style_len(const unsigned char *p, const unsigned char *end)
{
    if (*p == 0x0e || *p == 0x0f) /* SO, SI: a character set switched (terminfo's sgr0 ends with SI) */
        return 1;
    if (*p != 0x1b || p + 1 >= end || p[1] != '[')
        return 0;
    const unsigned char *r = p + 2;
    while (r < end && ((*r >= '0' && *r <= '9') || *r == ';' || *r == ':'))
        r++;
    if (r < end && (*r == 'm' || *r == 'K'))
        return r + 1 - p;
    return 0;
}

static PyObject *blank(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, view.len);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *p = view.buf, *end = p + view.len;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    memcpy(o, p, (size_t)view.len);
    const unsigned char *s = p;
    while (s < end) {
        if (!starts_escape[*s]) {
            s++;
            continue;
        }
        Py_ssize_t n = escape_len(s, end);
        if (n) {
            memset(o + (s - p), ' ', (size_t)n);
            s += n;
        } else {
            s++;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return out;
}

/* The runs of bytes between style sequences (STYLES) in [p, end): how many are kept (the first, and those of at
 * least one byte), and the length of the text without the sequences (*kept_out). With o, starts and origins (sized
 * by a first call without them), the text is copied to o, and where each kept run starts in it and in [p, end) to
 * starts (one more: the text's length) and origins. */
static Py_ssize_t style_runs(const unsigned char *p, const unsigned char *end, unsigned char *o, Py_ssize_t *starts,
                             Py_ssize_t *origins, Py_ssize_t *kept_out)
{
    Py_ssize_t kept = 0, runs = 0;
    const unsigned char *run = p, *s = p;
    for (;;) {
        /* the next style sequence from s, or the end (which closes the last run as a sequence would) */
        const unsigned char *at = s;
        while (at < end && !starts_style[*at])
            at++;
        Py_ssize_t n = at < end ? style_len(at, end) : 0;
        if (at < end && !n) {
            s = at + 1;
            continue;
        }
        if (at > run || runs == 0) { /* an empty run maps no byte: only the first is kept (offset 0) */
            if (origins != NULL) {
                origins[runs] = run - p;
                starts[runs] = kept;
            }
            runs++;
        }
        if (o != NULL)
            memcpy(o + kept, run, (size_t)(at - run));
        kept += at - run;
        if (at == end)
            break;
        run = s = at + n;
    }
    if (starts != NULL)
        starts[runs] = kept;
    *kept_out = kept;
    return runs;
}

static PyObject *unstyle(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    /* Two passes: how many runs and bytes are kept, then the text and the offsets, written straight into bytes of
     * exactly their size (the offsets packed as native 64-bit integers, for memoryview(...).cast("q"): 8 bytes a
     * run, not a Python int's 36). A style can be one byte (SO, SI): there may be half as many runs as bytes. */
    Py_ssize_t kept = 0, runs;
    Py_BEGIN_ALLOW_THREADS
    runs = style_runs(p, end, NULL, NULL, NULL, &kept);
    Py_END_ALLOW_THREADS
    PyObject *plain = PyBytes_FromStringAndSize(NULL, kept);
    PyObject *starts_b = PyBytes_FromStringAndSize(NULL, (runs + 1) * (Py_ssize_t)sizeof(Py_ssize_t));
    PyObject *origins_b = PyBytes_FromStringAndSize(NULL, runs * (Py_ssize_t)sizeof(Py_ssize_t));
    PyObject *result = NULL;
    if (plain == NULL || starts_b == NULL || origins_b == NULL)
        goto done;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(plain);
    Py_ssize_t *starts = (Py_ssize_t *)PyBytes_AS_STRING(starts_b);
    Py_ssize_t *origins = (Py_ssize_t *)PyBytes_AS_STRING(origins_b);
    Py_BEGIN_ALLOW_THREADS
    style_runs(p, end, o, starts, origins, &kept);
    Py_END_ALLOW_THREADS
    result = PyTuple_Pack(3, plain, starts_b, origins_b);
done:
    Py_XDECREF(plain);
    Py_XDECREF(starts_b);
    Py_XDECREF(origins_b);
    PyBuffer_Release(&view);
    return result;
}

static int word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-';
}

/* A byte that may be a sequence's own before a word byte: ESC, '[', a parameter (SPLIT_WORD's first class). */
static int sequence_byte(unsigned char c)
{
    return c == 0x1b || c == '[' || (c >= '0' && c <= '9') || c == ';' || c == ':';
}

/* Whether SPLIT_WORD occurs in [p, end): a run of style sequences between two word bytes, the first of them not
 * after one of a sequence's bytes. Only the whole run of styles can be followed by a word byte (a style starts
 * with ESC, SO or SI), so each run is checked once, at its ends. */
static int find_split(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *s = p;
    for (;;) {
        const unsigned char *at = s;
        while (at < end && !starts_style[*at])
            at++;
        if (at >= end)
            return 0;
        Py_ssize_t n = style_len(at, end);
        if (!n) {
            s = at + 1;
            continue;
        }
        const unsigned char *q = at + n;
        while (q < end && (n = style_len(q, end)) > 0)
            q += n;
        if (at - p >= 2 && word_byte(at[-1]) && !sequence_byte(at[-2]) && q < end && word_byte(*q))
            return 1;
        s = q;
    }
}

static PyObject *splits_words(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = view.buf;
    int found;
    Py_BEGIN_ALLOW_THREADS
    found = find_split(p, p + view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyMethodDef methods[] = {
    {"blank", blank, METH_O,
     "blank(data) -> bytes: data with each escape sequence (ESCAPES) turned into as many spaces."},
    {"unstyle", unstyle, METH_O,
     "unstyle(data) -> (plain, starts, origins): data without its style sequences (STYLES); where each run of it "
     "kept (the first, and those not empty) starts in plain (and, last, plain's length) and in data, as native "
     "64-bit integers."},
    {"splits_words", splits_words, METH_O,
     "splits_words(data) -> bool: whether a run of style sequences stands between two bytes of a word "
     "(SPLIT_WORD)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_escapes", "Terminal escape sequences in output, at memory speed (see _views.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__escapes(void)
{
    starts_escape[0x1b] = starts_escape[0x07] = starts_escape[0x0e] = starts_escape[0x0f] = starts_escape['\r'] = 1;
    starts_style[0x1b] = starts_style[0x0e] = starts_style[0x0f] = 1;
    return PyModule_Create(&module);
}
