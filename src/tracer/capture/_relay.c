/*
 * tracer.capture._relay: the steady state of the PTY loop, in C.
 *
 * The PTY loop (tracer/capture/pty.py) decides everything: when to start, what a mark is, how signals,
 * end of file and held-back input are handled. This module runs only the part that repeats for every
 * keystroke and every read of output, without the GIL and without a Python object per read:
 *
 *   poll(wake fd, PTY master, user's terminal)
 *     user's terminal readable -> read -> write to the master (non-blocking)
 *     master readable          -> read, appended to the batch buffer with its time (microseconds)
 *                                 -> written at once to the user's terminal; again until the master is
 *                                 empty (EAGAIN) or DRAIN_READS reads were made, then poll again
 *
 * Each read is written at once, as util-linux script does: measured on 2 cores, a burst of reads written
 * in one large write stalls the pipeline (the child waits while the user's terminal drains the big write)
 * and costs up to 1.5x the wall time of a `cat` (docs/performance.md). Reading again before polling saves
 * the poll of every read while output streams (a poll of a PTY waits for the tty's buffer work).
 *
 * Relay.run returns to Python as soon as anything needs its judgement: a signal (the wake fd that
 * signal.set_wakeup_fd writes signal numbers to), a read that holds or may begin a mark, end of file, input
 * the master does not take now, end of the user's input, a full batch (BATCH_BYTES), output older than
 * REPORT_AFTER_NS, or the caller's timeout. The batch comes back as one bytes object and the end offset and
 * time of each read in it: every read has been written to the user's terminal; nothing is ever dropped.
 *
 * The master is read straight into that bytes object (allocated at CAPACITY when run() starts, cut to its
 * length when it returns; memory malloc does not touch costs nothing resident): the batch is never copied,
 * and no buffer of batch size stays in the process between floods.
 *
 * Portable to Linux and the BSDs (poll, read, write, clock_gettime(CLOCK_MONOTONIC), the clock of Python's
 * time.monotonic_ns()). Optional: without a C compiler tracer runs the same loop in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Why Relay.run returned (the R_* constants of the module). */
enum {
    R_TIMEOUT = 0,   /* the caller's timeout passed with nothing to report */
    R_WAKE = 1,      /* the wake fd was readable (tail: its bytes, signal numbers) or poll was interrupted */
    R_MARK = 2,      /* tail: one read that holds or may begin a mark, neither shown nor in the batch */
    R_EOF = 3,       /* the master reached end of file (EIO: every slave fd is closed) */
    R_INPUT = 4,     /* tail: input the master did not take now, for the caller to queue */
    R_INPUT_EOF = 5, /* the user's terminal reached end of file or failed */
    R_FULL = 6,      /* the batch is full: hand it over */
    R_REPORT = 7,    /* the batch's first read is REPORT_AFTER_NS old: hand it over */
    R_ERROR = 8,     /* a system call failed: errno in the result */
};

#define READ_SIZE (64 * 1024)                 /* most bytes asked of one read (a PTY gives about 4 KiB) */
#define BATCH_BYTES (1 * 1024 * 1024)         /* a batch is handed over when it holds this much */
#define CAPACITY (BATCH_BYTES + READ_SIZE)    /* the batch buffer */
#define MAX_READS (BATCH_BYTES / 256)         /* reads in a batch (a full batch of 256-byte reads) */
#define INPUT_SIZE (64 * 1024)                /* most bytes of input read at once */
#define DRAIN_READS 64                        /* reads of the master between two polls at most */
#define REPORT_AFTER_NS 50000000LL            /* output waits at most 50 ms before it is handed over */
#define MAX_PREFIX 256

typedef struct {
    PyObject_HEAD
    Py_ssize_t *ends;   /* MAX_READS end offsets in buf */
    long long *times;   /* MAX_READS times, microseconds since the caller's origin */
    char *input;        /* INPUT_SIZE bytes */
    char prefix[MAX_PREFIX];
    Py_ssize_t prefix_len; /* 0: no marks to look for */
    int running;        /* run() is in progress (the buffers are in use without the GIL) */
} Relay;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Write all of data to fd, waiting (poll) while it is non-blocking and full. 0, or an errno. */
static int write_all(int fd, const char *data, Py_ssize_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, (size_t)len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = {fd, POLLOUT, 0};
                if (poll(&p, 1, 1000) < 0 && errno != EINTR) return errno;
                continue;
            }
            return errno;
        }
        data += n;
        len -= n;
    }
    return 0;
}

/* True when data[0:len] holds the prefix, or ends with a proper beginning of it (split across reads). */
static int may_hold_mark(const Relay *self, const char *data, Py_ssize_t len) {
    const Py_ssize_t plen = self->prefix_len;
    if (plen == 0 || len == 0) return 0;
    if (memmem(data, (size_t)len, self->prefix, (size_t)plen) != NULL) return 1;
    /* a beginning of the prefix at the end: it starts with ESC, within the last plen - 1 bytes */
    Py_ssize_t from = len > plen - 1 ? len - (plen - 1) : 0;
    for (Py_ssize_t i = len - 1; i >= from; i--) {
        if (data[i] == self->prefix[0] && memcmp(data + i, self->prefix, (size_t)(len - i)) == 0) return 1;
    }
    return 0;
}

static int Relay_init(Relay *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"prefix", NULL};
    Py_buffer prefix = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|z*", kwlist, &prefix)) return -1;
    if (self->running) {
        PyBuffer_Release(&prefix);
        PyErr_SetString(PyExc_RuntimeError, "Relay.__init__() while run() is running");
        return -1;
    }
    if (prefix.buf != NULL && prefix.len > MAX_PREFIX) {
        PyBuffer_Release(&prefix);
        PyErr_SetString(PyExc_ValueError, "mark prefix longer than 256 bytes");
        return -1;
    }
    self->prefix_len = 0;
    if (prefix.buf != NULL) {
        memcpy(self->prefix, prefix.buf, (size_t)prefix.len);
        self->prefix_len = prefix.len;
        PyBuffer_Release(&prefix);
    }
    if (self->ends == NULL) {
        self->ends = PyMem_RawMalloc(sizeof(Py_ssize_t) * MAX_READS);
        self->times = PyMem_RawMalloc(sizeof(long long) * MAX_READS);
        self->input = PyMem_RawMalloc(INPUT_SIZE);
        if (!self->ends || !self->times || !self->input) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static void Relay_dealloc(Relay *self) {
    PyMem_RawFree(self->ends);
    PyMem_RawFree(self->times);
    PyMem_RawFree(self->input);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(Relay_run_doc,
"run(master, out, inp, wake, origin_ns, timeout_ms) -> (reason, data, reads, t, tail, errno)\n\n"
"Forward between the PTY master and the user's terminal until something needs the caller.\n\n"
"master: the PTY master (non-blocking). out: the user's terminal, written to. inp: the user's terminal,\n"
"read from, or -1 not to read it. wake: the fd signal.set_wakeup_fd writes to. origin_ns: the\n"
"time.monotonic_ns() value of time 0: times are (monotonic_ns - origin_ns) // 1000 microseconds.\n"
"timeout_ms: return R_TIMEOUT after this long with nothing to report; negative: no timeout.\n\n"
"data: the batch, the bytes of the reads of the master back to back, all written to out already.\n"
"reads: [(end, t)] per read: its end offset in data and its time. t, tail: for R_MARK\n"
"the read that may hold a mark (not written, not in reads) and its time; for R_INPUT the input the master\n"
"did not take; for R_WAKE the bytes of the wake fd (signal numbers). errno: for R_ERROR.");

static PyObject *Relay_run(Relay *self, PyObject *args) {
    int master, out, inp, wake, timeout_ms;
    long long origin_ns;
    if (!PyArg_ParseTuple(args, "iiiiLi", &master, &out, &inp, &wake, &origin_ns, &timeout_ms)) return NULL;
    if (self->running) {
        PyErr_SetString(PyExc_RuntimeError, "Relay.run() is already running (one caller at a time)");
        return NULL;
    }
    if (self->ends == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Relay.run() before Relay.__init__()");
        return NULL;
    }
    /* the batch: read into directly, never shared before run() returns it */
    PyObject *batch = PyBytes_FromStringAndSize(NULL, CAPACITY);
    if (batch == NULL) return NULL;
    char *const buf = PyBytes_AS_STRING(batch);
    self->running = 1;

    int reason = -1, err = 0;
    Py_ssize_t len = 0;         /* bytes in buf */
    Py_ssize_t nreads = 0;
    Py_ssize_t tail_from = 0, tail_len = 0; /* R_MARK: in buf after len; R_INPUT/R_WAKE: in input */
    int tail_in_input = 0;
    long long tail_t = 0;
    long long first_ns = -1;    /* when the oldest read not handed over was made */
    const long long deadline = timeout_ms >= 0 ? now_ns() + (long long)timeout_ms * 1000000LL : -1;

    Py_BEGIN_ALLOW_THREADS
    while (reason < 0) {
        long long now = now_ns();
        long long wait_until = deadline;
        int report = 0;
        if (first_ns >= 0 && (wait_until < 0 || first_ns + REPORT_AFTER_NS < wait_until)) {
            wait_until = first_ns + REPORT_AFTER_NS;
            report = 1;
        }
        int wait_ms = -1;
        if (wait_until >= 0) {
            if (now >= wait_until) {
                reason = report ? R_REPORT : R_TIMEOUT;
                break;
            }
            wait_ms = (int)((wait_until - now + 999999) / 1000000);
        }
        struct pollfd fds[3] = {{wake, POLLIN, 0}, {master, POLLIN, 0}, {inp, POLLIN, 0}};
        int r = poll(fds, inp >= 0 ? 3 : 2, wait_ms);
        if (r < 0) {
            if (errno == EINTR) {
                reason = R_WAKE;
            } else {
                err = errno;
                reason = R_ERROR;
            }
            break;
        }
        if (r == 0) continue;
        if ((fds[0].revents | fds[1].revents | fds[2].revents) & POLLNVAL) {
            err = EBADF;
            reason = R_ERROR;
            break;
        }
        if (fds[0].revents) {
            ssize_t k = read(wake, self->input, 512);
            tail_len = k > 0 ? k : 0;
            tail_in_input = 1;
            reason = R_WAKE;
            break;
        }
        if (inp >= 0 && fds[2].revents) {
            ssize_t k = read(inp, self->input, INPUT_SIZE);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                /* nothing after all */
            } else if (k <= 0) {
                reason = R_INPUT_EOF;
                break;
            } else {
                ssize_t w = write(master, self->input, (size_t)k);
                if (w < 0) w = (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : k; /* gone: drop */
                if (w < k) {
                    tail_from = w;
                    tail_len = k - w;
                    tail_in_input = 1;
                    reason = R_INPUT;
                    break;
                }
            }
        }
        /* Read the master until it is empty (EAGAIN), at most DRAIN_READS times, before polling again: while
         * output streams, a poll per read costs as much again as the read (poll of a PTY waits for the tty's
         * buffer work). The bound keeps keystrokes and signals waiting at most DRAIN_READS reads. */
        int readable = fds[1].revents & (POLLIN | POLLHUP | POLLERR);
        for (int drained = 0; readable && reason < 0 && drained < DRAIN_READS; drained++) {
            ssize_t n = read(master, buf + len, READ_SIZE);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
            if (n <= 0) {
                if (n < 0 && errno != EIO) {
                    err = errno;
                    reason = R_ERROR;
                } else {
                    reason = R_EOF;
                }
                break;
            }
            long long t_ns = now_ns();
            long long t = (t_ns - origin_ns) / 1000;
            if (may_hold_mark(self, buf + len, n)) {
                tail_from = len;
                tail_len = n;
                tail_t = t;
                reason = R_MARK;
                break;
            }
            int e = write_all(out, buf + len, n);
            len += n;
            self->ends[nreads] = len;
            self->times[nreads] = t;
            nreads++;
            if (first_ns < 0) first_ns = t_ns;
            if (e) {
                err = e;
                reason = R_ERROR;
            } else if (len >= BATCH_BYTES || nreads == MAX_READS) {
                reason = R_FULL;
            }
        }
    }
    Py_END_ALLOW_THREADS
    self->running = 0;

    const char *tail = tail_in_input ? self->input + tail_from : buf + tail_from;
    PyObject *tail_bytes = PyBytes_FromStringAndSize(tail, tail_len); /* (before the batch is cut to len) */
    if (tail_bytes == NULL || _PyBytes_Resize(&batch, len) < 0) { /* (on failure the batch is freed) */
        Py_XDECREF(batch);
        Py_XDECREF(tail_bytes);
        return NULL;
    }
    PyObject *reads = PyList_New(nreads);
    if (reads == NULL) {
        Py_DECREF(batch);
        Py_DECREF(tail_bytes);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nreads; i++) {
        PyObject *item = Py_BuildValue("(nL)", self->ends[i], self->times[i]);
        if (item == NULL) {
            Py_DECREF(reads);
            Py_DECREF(batch);
            Py_DECREF(tail_bytes);
            return NULL;
        }
        PyList_SET_ITEM(reads, i, item);
    }
    return Py_BuildValue("(iNNLNi)", reason, batch, reads, tail_t, tail_bytes, err);
}
static PyMethodDef Relay_methods[] = {
    {"run", (PyCFunction)Relay_run, METH_VARARGS, Relay_run_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Relay_doc,
"Relay(prefix=None): the PTY loop's steady state in C, with its buffers (about 0.2 MiB; each run()'s batch\n"
"is a bytes object of its own, up to 1 MiB + 64 KiB).\n\n"
"prefix: the bytes every mark begins with (ESC ] 6973 ; nonce ;); a read holding them, or ending with a\n"
"beginning of them, is handed back to the caller unshown (R_MARK). None: no marks to look for.");

static PyTypeObject RelayType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer.capture._relay.Relay",
    .tp_doc = Relay_doc,
    .tp_basicsize = sizeof(Relay),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Relay_init,
    .tp_dealloc = (destructor)Relay_dealloc,
    .tp_methods = Relay_methods,
};

static struct PyModuleDef relay_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tracer.capture._relay",
    .m_doc = "The steady state of tracer's PTY loop in C (see tracer.capture.pty).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__relay(void) {
    if (PyType_Ready(&RelayType) < 0) return NULL;
    PyObject *m = PyModule_Create(&relay_module);
    if (m == NULL) return NULL;
    Py_INCREF(&RelayType);
    if (PyModule_AddObject(m, "Relay", (PyObject *)&RelayType) < 0) {
        Py_DECREF(&RelayType);
        Py_DECREF(m);
        return NULL;
    }
    const struct { const char *name; int value; } constants[] = {
        {"R_TIMEOUT", R_TIMEOUT}, {"R_WAKE", R_WAKE}, {"R_MARK", R_MARK}, {"R_EOF", R_EOF},
        {"R_INPUT", R_INPUT}, {"R_INPUT_EOF", R_INPUT_EOF}, {"R_FULL", R_FULL}, {"R_REPORT", R_REPORT},
        {"R_ERROR", R_ERROR},
    };
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
