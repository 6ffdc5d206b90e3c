"""Masking: what replaces a secret in output bytes and in text, and the running state of one session.

- In output (the bytes a terminal was sent), a secret becomes one ``*`` per byte, line ends kept, so replayed
  screens keep their layout and each read's offsets stay right. Output is a stream: the last bytes of each
  piece are kept (in memory only) as context for the next, so a secret cut in two by a read or an event
  boundary is still found; a secret cut off at the very end of a piece (typed, or arriving slowly) is masked
  at once as far as it goes (a rule's ``open``), and what continues it in the next piece too (``more``).
- Elsewhere (command lines, diffs, notes, patches) a secret becomes ``[REDACTED:rule:N]``: the same ``N`` for
  the same value within a session, from a map of digests kept in memory, never stored. A secret that spans
  lines is replaced line by line, keeping each line's end (and, in a diff, each line's ``+``/``-``/space), so
  line counts and diff hunks stay valid.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tracer._hashes import blake2b  # (not hashlib's: it loads OpenSSL, 3.4 MB resident)
from tracer.model import MAX_UNMASKED_SITES, Event, FinalPatch, Header, Input, Output, Session, visible
from tracer.redact._binpatch import binary_sections
from tracer.redact._checks import word_like
from tracer.redact._rules import Hit, Rule, RuleSet, Scanner
from tracer.redact._unmasked import LONGEST, sites_of, values_at, without_sites
from tracer.redact._views import ESCAPES, SEQUENCE_REACH, STYLES, blank_escapes, in_sequence, splits_words, unstyled

#: The shortest secret whose value is looked for again wherever it comes later in the session, and how many such
#: values a session keeps (in memory only; beyond, the first ones found are still looked for, the later not).
KNOWN_MIN = 8
KNOWN_LONGEST = LONGEST
KNOWN_MAX = MAX_UNMASKED_SITES  # (one site each, at most, in a session's end)
#: The scanner of learnt values is rebuilt (~4 ms) for each new one up to KNOWN_EACH values, beyond only once they
#: grew by a tenth (a hostile session holding thousands of secrets cannot make an export rebuild it thousands of
#: times); and where positions are not known (RE2's set), the first KNOWN_EACH are looked for one by one.
KNOWN_EACH = 64
#: A learnt value cut off at the end of a piece of output is masked from this many of its bytes on (fewer could
#: be anything); the first KNOWN_OPEN_MAX values learnt are looked for so.
KNOWN_OPEN = 4
KNOWN_OPEN_MAX = 256
#: Every byte becomes ``*`` except CR and LF.
_STARS = bytes(b if b in (10, 13) else 42 for b in range(256))
#: Bytes of output kept as context for the next piece (the longest single-piece secret it must complete).
CARRY = 512
#: How far back from the end of a piece an open secret may start.
OPEN_WINDOW = 1024


class _Rest:
    """What continues a learnt value cut off at the end of a piece of output: its remaining bytes, matched as far
    as the next piece goes (it stands in an open secret's ``more`` pattern)."""

    __slots__ = ("rest",)

    def __init__(self, rest: bytes) -> None:
        self.rest = rest

    def match(self, text: bytes, pos: int, endpos: int) -> _End | None:
        """How far ``text[pos:endpos]`` goes on with :attr:`rest` (``None``: not at all)."""
        rest = self.rest
        k = 0
        for a, b in zip(memoryview(text)[pos:endpos], rest, strict=False):
            if a != b:
                break
            k += 1
        return _End(pos + k) if k else None

    def after(self, n: int) -> _Rest:
        """What is still to come once ``n`` more bytes came."""
        return _Rest(self.rest[n:])


class _End:
    __slots__ = ("_end",)

    def __init__(self, end: int) -> None:
        self._end = end

    def end(self) -> int:
        return self._end


#: The bytes of a token's word; and how long a word a token prefix may open.
_WORD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_WORD_MORE = re.compile(rb"[A-Za-z0-9_-]+")
_PREFIX_MAX = 256
#: Fields that hold no free text: ids, times, hashes, names of fixed vocabularies.
_PLAIN_FIELDS = frozenset(
    [
        "session_id",
        "started_at",
        "uuid",
        "tracer_version",
        "head_commit",
        "shell_kind",
        "mode",
        "term",
        "id",
        "op",
        "before_hash",
        "after_hash",
        "before_mode",
        "after_mode",
        "source",
        "replaces",
        "written_at",
        "verdict",
        "verified_at",
        "runner",
        "reason",
        "command_source",
        "patch_method",
        "redaction",
        "mac",
        "host_id",
        "judged_at",
    ]
)
#: Fields that hold unified diffs: a secret spanning lines keeps each line's diff prefix.
_DIFF_FIELDS = frozenset(("diff", "patch", "baseline_patch"))
_PLACEHOLDER = re.compile(r"\[REDACTED:[A-Za-z0-9._-]+:\d+\]")
#: The data of a ``GIT binary patch`` in a diff (git's diff format, ``--binary``): after that line, one or two blocks
#: of ``literal N`` or ``delta N`` and lines of base85 (a length letter, then base85 digits), each block ended by an
#: empty line. The data is the file's content deflated by zlib, so no rule can see a secret in it: what matches
#: there is the base85 alphabet by chance (``=`` and long runs of letters look like assignments of random values),
#: and masking it would break the patch for ``git apply``.
_BINARY_PATCH = re.compile(
    rb"^GIT binary patch\n(?:(?:literal|delta) [0-9]+\n(?:[A-Za-z][0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]*\n)*(?:\n|\Z))+",
    re.MULTILINE,
)
_CONTEXT = 48
#: Output masked at once by :meth:`Redactor.session`.
_RUN_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Finding:
    """Where something was masked, for ``tracer export --preview``: never the value.

    Attributes:
        rule: the rule's id. event: the event type (``output``, ``command_start``…).
        t: the event's time, microseconds since the session started.
        context: the text around it, with the value (and any other secret near it) already replaced, control
            characters escaped.
    """

    rule: str
    event: str
    t: int
    context: str


def _outside_binary_patches(diff: bytes, hits: list[Hit]) -> list[Hit]:
    """The ``hits`` in ``diff`` (a unified diff) that are not in the data of a binary patch (:data:`_BINARY_PATCH`).
    In time ``O(hits × log(binary patches))``: a session's patch may hold thousands of each."""
    spans = [m.span() for m in _BINARY_PATCH.finditer(diff)]  # in order, none overlapping
    starts = [s for s, _ in spans]
    kept = []
    for h in hits:
        i = bisect.bisect_left(starts, h.end) - 1  # the last span starting before the hit ends
        if i < 0 or spans[i][1] <= h.start:
            kept.append(h)
    return kept


def _printable(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _line_around(raw: bytes, start: int, end: int) -> str:
    lo = max(raw.rfind(b"\n", 0, start) + 1, start - _CONTEXT)
    nl = raw.find(b"\n", end)
    hi = min(nl if nl >= 0 else len(raw), end + _CONTEXT)
    return (
        ("…" if lo > 0 and raw[lo - 1 : lo] != b"\n" else "")
        + _printable(raw[lo:hi]).strip()
        + ("…" if hi < len(raw) and raw[hi : hi + 1] != b"\n" else "")
    )


def describe_counts(counts: dict[str, int]) -> str:
    """``"7 values (email 3, github-pat 2, home-dir 2)"`` (most first), or ``"nothing"``."""
    total = sum(counts.values())
    if not total:
        return "nothing"
    parts = ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])) if n)
    return f"{total} value{'s' if total != 1 else ''} ({parts})"


def mask_whole(data: Any) -> bytes:
    """``data`` masked whole, one ``*`` per byte, line ends kept: for output no rule could be run on."""
    return bytes(data).translate(_STARS)


class Redactor:
    """Masks secrets in one session's events with one rule set, and counts what it masked.

    One redactor per session and per thread: it keeps the output stream's context and the placeholders' numbers.

    Args:
        rules: what to look for.
        collect: keep a :class:`Finding` per masked value (for a preview).
        binary: search the content of binary patches too (:mod:`tracer.redact._binpatch`; export time: record
            time searches each binary file before its patch is made). A binary file whose content holds a match
            (or whose patch cannot be decoded) is left out of the patch whole, as masking would break it: out of
            a final patch's ``files``, and named in its ``omitted`` (a header's ``baseline_omitted``).

    Attributes:
        counts: masked values per rule id (every occurrence counts).
        findings: with ``collect``, where each was.
        left_out: with ``binary``, one ``"path: why"`` line per binary file left out of a patch, in order.
    """

    def __init__(self, rules: RuleSet, *, collect: bool = False, binary: bool = False) -> None:
        self.rules = rules
        self._binary = binary
        self.left_out: list[str] = []
        self._event_left_out: list[tuple[tuple[str, ...], str]] = []  # (paths, why) of the binary files the event lost
        self.counts: dict[str, int] = {}
        self.findings: list[Finding] | None = [] if collect else None
        self._numbers: dict[bytes, int] = {}
        self._last: dict[str, int] = {}
        self._carry = b""
        self._seen = 0  # output bytes before the current piece
        self._counted = (-1, -1)  # the stream span of the last secret counted in output
        self._open: tuple[Any, int] | None = None  # (what continues an open secret, how far it may go)
        self._open_rules = rules.open_rules
        self._counting = True
        self._known: dict[bytes, Rule] = {}  # the values masked so far (in memory only), with the rule that found each
        self._scanner: Scanner | None = None  # the rules' keywords and those values, in one pass (rebuilt as they grow)
        # the scanner's literals after the keywords: (a value, None), or (its first bytes, the value)
        self._literals: list[tuple[bytes, bytes | None]] = []
        self._known_stale = False
        self._scanned = 0  # how many of them the scanner holds
        self._pending: tuple[Rule, bytes, int] | None = None  # a value that ended the last piece: (rule, it, where)

    @classmethod
    def of_values(cls, label: str, *, collect: bool = False) -> Redactor:
        """A redactor with no rules (``label``: the rule set it stands for): it masks only the values it is given
        (:meth:`know`) or copied: what record time wrote before it learnt them, and a second search of a session
        read whole for the values learnt late (:meth:`session`)."""
        return cls(RuleSet([], [], (), label), collect=collect)

    @property
    def idle(self) -> bool:
        """Whether this redactor masks nothing whatever it is given: no rule, no field masked whole or left out,
        no value learnt (:meth:`of_values` given none)."""
        rules = self.rules
        return not (rules.rules or rules.whole or rules.dropped or self._known)

    @property
    def total(self) -> int:
        """How many values were masked."""
        return sum(self.counts.values())

    def summary(self) -> str:
        """``"7 values (email 3, github-pat 2, home-dir 2)"``, or ``"nothing"``."""
        return describe_counts(self.counts)

    def _count(self, rule: Rule) -> None:
        if self._counting:
            self.counts[rule.id] = self.counts.get(rule.id, 0) + 1

    def _learn(self, rule: Rule, secret: bytes) -> None:
        """Look for ``secret`` (a value ``rule`` found) again wherever it comes later: a token found in an
        assignment, then printed alone by ``echo $TOKEN``, has no name next to it there."""
        if not KNOWN_MIN <= len(secret) <= KNOWN_LONGEST or secret in self._known or len(self._known) >= KNOWN_MAX:
            return
        if b"\x1b" in secret or b"\n" in secret or secret.startswith(b"[REDACTED") or not secret.strip(b"*"):
            return
        if word_like(secret):  # (a word or a name a rule took for a value: masked everywhere, it would hide text)
            return
        self._known[secret] = rule
        self._known_stale = True

    def _learn_output(self, hits: list[Hit], text: bytes, off: int) -> None:
        """Learn the values ``hits`` found in a piece of output. One that ends the text may go on in the next piece
        (typed, or cut by a read): it is learnt once the next piece does not go on with it."""
        base = self._seen - off  # stream offset of text[0]
        pending, self._pending = self._pending, None
        if pending is not None and not any(base + h.start == pending[2] for h in hits):
            self._learn(pending[0], pending[1])
        for h in hits:
            if in_sequence(text, h.start):  # (a window title's text, a cursor move's digits: never typed as a value)
                continue
            value = text[h.start : h.end]
            if b"\x1b" in value:  # found as the terminal shows it: learnt so
                value = STYLES.sub(b"", value)
            if h.end < len(text):
                self._learn(h.rule, value)
            else:
                self._pending = (h.rule, value, base + h.start)

    def _rebuild_due(self) -> bool:
        """Whether the scanner is to take the values learnt since it was built (see :data:`KNOWN_EACH`)."""
        n = len(self._known)
        return self._known_stale and (n <= KNOWN_EACH or n * 10 >= self._scanned * 11)

    def _rebuild(self) -> None:
        """Build the scanner of the rules' keywords and of every value learnt so far (and their first bytes)."""
        values = list(self._known)
        self._scanned = len(values)
        self._literals = [(v, None) for v in values]
        self._literals += [(v[:KNOWN_OPEN], v) for v in values[:KNOWN_OPEN_MAX]]
        self._scanner = self.rules.scanner_with([v for v, _ in self._literals])
        self._known_stale = False

    def _occurrences(self, text: bytes, cut: bool) -> tuple[list[tuple[int, int]] | None, list[tuple[int, int]] | None]:
        """Where the rules' keywords occur in ``text`` (:meth:`RuleSet.occurrences`), and where the values learnt
        so far and their first :data:`KNOWN_OPEN` bytes do (``(index in _literals, end offset)``), in one pass.
        Both ``None`` when the scanner cannot tell where (RE2's set): then values are looked for one by one.
        ``cut``: whether colours cut a word of ``text`` (:func:`splits_words`, found once per text)."""
        if not self._known:
            return self.rules.occurrences(text, cut), []
        if self._rebuild_due():
            self._rebuild()
        if self._scanner is None:
            return self.rules.occurrences(text, cut), []
        found = self._scanner.occurrences(text, cut)
        if not found:
            return found, None if found is None else []
        nk = self.rules.keyword_count
        return [f for f in found if f[0] < nk], [(k - nk, e) for k, e in found if k >= nk]

    def _known_hits(
        self, text: bytes, start: int, hits: list[Hit], where: list[tuple[int, int]] | None, cut: bool
    ) -> list[Hit]:
        """The values learnt so far that occur in ``text`` (ending after ``start``), outside ``hits`` and one
        another; ``where``: :meth:`_occurrences` (``None``: each value is looked for with ``bytes.find``);
        ``cut``: whether colours cut a word of ``text`` (then values are looked for without its styles too)."""
        if not self._known:
            return []
        at: list[tuple[bytes, int]] = []
        if where is None:
            at = self._find_known(text)
        else:
            for k, e in where:
                value, begun = self._literals[k]
                if begun is None:  # (a value's own occurrence, not its first bytes)
                    at.append((value, e - len(value)))
        found: list[Hit] = []
        for value, i in sorted(at, key=lambda a: (a[1], -len(a[0]))):
            e = i + len(value)
            if e <= start or any(h.start < e and i < h.end for h in (*hits, *found)):
                continue
            found.append(Hit(self._known[value], i, e))
        if cut:
            found += self._known_across_styles(text, start, [*hits, *found])
        return found

    def _find_known(self, text: bytes) -> list[tuple[bytes, int]]:
        """``(value, offset)`` of each occurrence in ``text`` of the first :data:`KNOWN_EACH` values learnt, each
        looked for with ``bytes.find``."""
        at: list[tuple[bytes, int]] = []
        for value in list(self._known)[:KNOWN_EACH]:
            i = text.find(value)
            while i >= 0:
                at.append((value, i))
                i = text.find(value, i + len(value))
        return at

    def _known_across_styles(self, text: bytes, start: int, taken: list[Hit]) -> list[Hit]:
        """The values learnt so far (the first :data:`KNOWN_EACH`) that occur in ``text`` only once its style
        sequences are taken out (``grep --color`` highlighting part of one), ending after ``start`` and outside
        ``taken``: each a hit over its bytes and the styles among them (which :meth:`_mask` keeps)."""
        plain, to_raw = unstyled(text)
        found: list[Hit] = []
        for value, i in self._find_known(plain):
            s, e = to_raw(i), to_raw(i + len(value) - 1) + 1
            if e - s != len(value) and e > start and not any(h.start < e and s < h.end for h in (*taken, *found)):
                found.append(Hit(self._known[value], s, e))  # (a whole one is found in text as it is)
        return found

    def _open_known(
        self, text: bytes, off: int, spans: list[tuple[int, int]], where: list[tuple[int, int]] | None
    ) -> None:
        """A value learnt before, cut off at the end of ``text`` (a read ended inside it, or it is being typed):
        mask what is there of it (from its first :data:`KNOWN_OPEN` bytes on), and expect the rest next.
        ``where``: :meth:`_occurrences` (``None``: the values' first bytes are looked for near the end)."""
        n = len(text)
        if where is None:
            where = []
            for k, (first, whole) in enumerate(self._literals):
                if whole is not None and (i := text.rfind(first, max(0, n - len(whole) + 1))) >= 0:
                    where.append((k, i + len(first)))
        for k, e in where:
            first, whole = self._literals[k]
            if whole is None:
                continue
            start = e - len(first)
            if start + len(whole) <= n or not whole.startswith(text[start:]):
                continue
            if n > max(start, off):
                spans.append((max(start, off) - off, n - off))
            self._open = (_Rest(whole[n - start :]), len(whole) - (n - start))
            return

    def learn(self, events: Iterable[Event]) -> None:
        """Learn the values the rules find in ``events`` (a session's, in file order; one at a time is held)
        without masking or counting anything, so that a pass over them after masks a value wherever it comes,
        before it was first named too (``cat token.txt``, later ``export TOKEN=…``): what an export that streams
        its events does (:mod:`tracer.store.redacted`). One that holds them all takes :meth:`session`, which
        needs no second pass of the rules."""
        for event in events:
            self.event(event, count=False)
        self.restart_output()
        self._event_left_out.clear()
        if self._known_stale:  # the pass after looks for every value, not only those the scanner was last built with
            self._rebuild()

    @property
    def learnt(self) -> int:
        """How many values were learnt so far (cheap: what :attr:`known` would hold)."""
        return len(self._known)

    @property
    def known(self) -> dict[bytes, str]:
        """The values learnt so far (in memory only), each with the id of the rule that found it."""
        return {value: rule.id for value, rule in self._known.items()}

    def know(self, values: Iterable[tuple[bytes, str]]) -> None:
        """Look for ``values`` (each with the id of the rule that found it) wherever they come from now on, as if
        this redactor had found them: the values a recorder learnt only after it had written them unmasked
        (:func:`tracer.redact.values_at`). The same limits as its own (length, how many); a rule id it does not
        have names the values' placeholders all the same."""
        rules = {rule.id: rule for rule in self.rules.rules}
        for value, rule_id in values:
            self._learn(rules.get(rule_id) or Rule(rule_id, "record", None), value)
        if self._known_stale:
            self._rebuild()

    def restart_output(self) -> None:
        """The next piece of output does not follow the last one (a reader went back): no context is carried
        over, and no secret is open."""
        self._carry = b""
        self._open = None
        self._pending = None

    # -- output: a stream of bytes, masked in place with one * per byte ---------------------------------------

    def output(self, data: Any, t: int = 0, kind: str = "output") -> Any:
        """``data`` (the next piece of output: a bytes-like object, or a list of them, the reads of an event) with
        its secrets masked, the same length: ``data`` itself (for a list, a memoryview of the pieces joined) when
        nothing is masked, else new ``bytes``."""
        carry = self._carry
        off = len(carry)
        if isinstance(data, list):  # joined once, with the context (the writer hands over an event's reads)
            text = b"".join([carry, *data])
            data = memoryview(text)[off:]
        else:
            text = carry + data  # bytes, whatever ``data`` is
        n = len(data)
        if not n:
            return data
        spans: list[tuple[int, int]] = []
        if self._open is not None:
            more, room = self._open
            self._open = None
            m = more.match(text, off, off + min(n, room))
            if m is not None and m.end() > off:
                spans.append((0, m.end() - off))
                if m.end() - off == n and room > n:
                    self._open = (more.after(n) if isinstance(more, _Rest) else more, room - n)
        rules = self.rules
        cut = splits_words(text)  # (once: the keywords' scan and the values' search both ask)
        found, where = self._occurrences(text, cut)
        quiet = not found and found is not None and not rules.always and self._open is None
        if quiet and self._pending is not None:  # no rule can go on with the value that ended the last piece
            self._learn_output([], text, off)
            if self._rebuild_due():
                found, where = self._occurrences(text, cut)
        if quiet and where == [] and not (self._known and cut):
            # nothing to look for (nearly all bulk output): no regex runs, and no secret can be cut off here
            self._carry = text[-CARRY:]
            self._seen += n
            return data if not spans else self._mask(data, spans)
        # searched in views of it without its escape sequences (only where a rule runs: coloured output holds one
        # every few bytes), masked in the original
        escapes = b"\x1b" in text
        hits = rules.find_near(text, found, off, escapes)
        self._learn_output(hits, text, off)
        if self._rebuild_due():  # a value learnt in this piece may come again in it (``X=v; echo $X``)
            where = self._occurrences(text, cut)[1]
        hits = sorted(hits + self._known_hits(text, off, hits, where, cut), key=lambda h: h.start)
        self._count_output_hits(hits, off)
        spans += [(max(h.start, off) - off, h.end - off) for h in hits]
        self._seen += n
        if self._open_rules and data[-1] not in b" \t\r\n" and self._open is None:
            base = max(0, len(text) - OPEN_WINDOW)
            tail = text[base:]
            opened = rules.open_near(found, base)
            self._open_ends(blank_escapes(tail) if escapes else tail, base, off, spans, opened)
        if self._known and where != [] and self._open is None and data[-1] not in b" \t\r\n":
            self._open_known(text, off, spans, where)
        self._carry = text[-CARRY:]
        if not spans:
            return data
        out = self._mask(data, spans)
        if self.findings is not None and self._counting:
            for h in hits:
                s, e = max(h.start, off) - off, h.end - off
                self.findings.append(Finding(h.rule.id, kind, t, _line_around(out, s, e)))
        return out

    def _count_output_hits(self, hits: list[Hit], off: int) -> None:
        """Count the secrets ``hits`` found in a piece of output (``off``: where the new bytes start in the text
        searched, after the context kept from the piece before). A secret growing piece by piece (typed) is found
        again in each piece: it is counted once."""
        base = self._seen - off  # stream offset of text[0]
        for h in hits:
            start, end = base + h.start, base + h.end
            counted_start, counted_end = self._counted
            if start < counted_end and end > counted_start:
                self._counted = (min(start, counted_start), max(end, counted_end))
            else:
                self._count(h.rule)
                self._counted = (start, end)

    @staticmethod
    def _mask(data: Any, spans: list[tuple[int, int]]) -> bytes:
        """``data`` with each span masked, one ``*`` per byte (line ends kept), but the terminal escape sequences
        inside a span (a secret that colours split) and those a span ends in (the continuation of a typed secret
        runs up to the ESC of the next sequence, ``\x1b[?1l`` after Enter in zsh): they stay, so the terminal still
        ends a colour, and no sequence is broken into visible text. A sequence is read from the data, past the span's
        end (up to :data:`SEQUENCE_REACH` bytes)."""
        masked = bytearray(data)
        for s, e in spans:
            piece = masked[s:e]
            if 0x1B not in piece and 0x07 not in piece and 0x0E not in piece and 0x0F not in piece:
                masked[s:e] = piece.translate(_STARS)
                continue
            at = 0
            for m in ESCAPES.finditer(bytes(data[s : e + SEQUENCE_REACH])):
                if m.start() >= e - s:
                    break
                piece[at : m.start()] = piece[at : m.start()].translate(_STARS)
                at = min(m.end(), e - s)
            piece[at:] = piece[at:].translate(_STARS)
            masked[s:e] = piece
        return bytes(masked)

    def _open_ends(self, tail: bytes, base: int, off: int, spans: list[tuple[int, int]], opened: list[Rule]) -> None:
        """A secret cut off at the end of ``text``: mask what is there, and expect the rest (``opened``: the rules
        whose open pattern may match there, :meth:`RuleSet.open_near`).

        A rule's own ``open`` pattern says so (a key's value, a header's credentials, a JWT, a private key);
        for the token shapes of gitleaks' list, a keyword that starts the last word (``ghp_``, ``xoxb-``,
        ``AKIA``) does: the rest of that word is masked, and the word's continuation in the next piece.
        """
        end = base + len(tail)  # the end of the text; ``tail`` is its last bytes, from ``base``
        for rule in opened:
            m = rule.open.search(tail)
            if m is None or m.end() != len(tail):
                continue
            s = base + m.start(1)
            taken = end - s
            if taken >= rule.max_len:
                continue
            if end > max(s, off):
                spans.append((max(s, off) - off, end - off))
            self._open = (rule.more, rule.max_len - taken)
            return
        start = base + len(tail.rstrip(_WORD))
        word = tail[start - base :]
        if word and start >= end - _PREFIX_MAX:
            lowered = word.lower()
            for prefix, caseless in self.rules.prefixes:
                if (lowered if caseless else word).startswith(prefix):
                    s = start + len(prefix)
                    if end > max(s, off):
                        spans.append((max(s, off) - off, end - off))
                    self._open = (_WORD_MORE, _PREFIX_MAX - (end - s))
                    return

    # -- text: placeholders ---------------------------------------------------------------------------------

    def _placeholder(self, rule: Rule, secret: bytes) -> bytes:
        if rule.replace is not None:
            return rule.replace.encode()
        key = blake2b(rule.id.encode() + b"\0" + secret, digest_size=16).digest()
        n = self._numbers.get(key)
        if n is None:
            n = self._numbers[key] = self._last[rule.id] = self._last.get(rule.id, 0) + 1
        return f"[REDACTED:{rule.id}:{n}]".encode()

    def _replacement(self, h: Hit, raw: bytes, diff: bool) -> bytes:
        secret = raw[h.start : h.end]
        placeholder = self._placeholder(h.rule, secret)
        if b"\n" not in secret:
            return placeholder
        pieces = []
        for i, piece in enumerate(secret.split(b"\n")):
            prefix = piece[:1] if diff and i and piece[:1] in (b"+", b"-", b" ") else b""
            rest = piece[len(prefix) :]
            cr = b"\r" if rest.endswith(b"\r") else b""
            pieces.append(prefix + placeholder + cr if rest.strip() else piece)
        return b"\n".join(pieces)

    def text(self, text: str, *, diff: bool = False, t: int = 0, kind: str = "") -> str:
        """``text`` with each secret replaced by its placeholder (the same object when nothing is masked).

        Args:
            diff: ``text`` is a unified diff: a secret spanning lines keeps each line's ``+``/``-``/space.
            t, kind: the event's time and type, for :attr:`findings`.
        """
        if not text:
            return text
        raw = original = text.encode("utf-8", "surrogateescape")
        if diff and self._binary and b"GIT binary patch\n" in raw:
            raw = self._without_binary_secrets(raw, t, kind)
        cut = splits_words(raw)
        found, at = self._occurrences(raw, cut)  # (the rules' keywords and the values learnt, in one pass)
        hits = self.rules.find_near(raw, found)
        for h in hits:
            self._learn(h.rule, raw[h.start : h.end])
        if self._rebuild_due():  # a value learnt here may come again in it
            at = self._occurrences(raw, cut)[1]
        known = self._known_hits(raw, 0, hits, at, cut)
        if known:
            hits = sorted(hits + known, key=lambda h: h.start)
        if hits and diff and b"GIT binary patch\n" in raw:
            hits = _outside_binary_patches(raw, hits)
        if not hits:
            return text if raw is original else raw.decode("utf-8", "surrogateescape")
        out = bytearray()
        pos = 0
        where: list[tuple[Rule, int, int]] = []
        for h in hits:
            out += raw[pos : h.start]
            replacement = self._replacement(h, raw, diff)
            where.append((h.rule, len(out), len(out) + len(replacement)))
            out += replacement
            pos = h.end
            self._count(h.rule)
        out += raw[pos:]
        if self.findings is not None and self._counting:
            result = bytes(out)
            self.findings.extend(Finding(rule.id, kind, t, _line_around(result, s, e)) for rule, s, e in where)
        return out.decode("utf-8", "surrogateescape")

    def _without_binary_secrets(self, diff: bytes, t: int, kind: str) -> bytes:
        """``diff`` without the sections of the binary files whose content holds a match, or whose patch cannot be
        decoded; each one counted and noted in :attr:`_event_left_out` (and :attr:`findings`, without its value)."""
        cut: list[tuple[int, int]] = []
        for section in binary_sections(diff):
            if section.error is not None:
                why = f"a binary patch that cannot be searched ({section.error}), left out at export"
            else:
                hits = [h for content in section.contents for h in self.rules.find(content)]
                if not hits:
                    continue
                for h in hits:
                    self._count(h.rule)
                if self.findings is not None and self._counting:
                    where = f"{visible(section.paths[0])}: in a binary file, which is left out"
                    self.findings.extend(Finding(h.rule.id, kind, t, where) for h in hits)
                ids = ", ".join(sorted({h.rule.id for h in hits}))
                why = f"a binary file holding what export redaction masks ({ids}), left out"
            cut.append((section.start, section.end))
            self._event_left_out.append((section.paths, why))
            if self._counting:
                self.left_out.append(f"{section.paths[0]}: {why}")
        if not cut:
            return diff
        kept = bytearray()
        pos = 0
        for start, end in cut:
            kept += diff[pos:start]
            pos = end
        kept += diff[pos:]
        return bytes(kept)

    # -- events ---------------------------------------------------------------------------------------------

    def event(self, event: Event, *, count: bool | frozenset[str] = True) -> Event:
        """``event`` with every secret in it masked (the same object when there is none): output bytes with
        :meth:`output`, every text field with :meth:`text` (ids, times and hashes excepted).

        Args:
            count: add what is masked to :attr:`counts` and :attr:`findings`: ``True`` all of it, ``False`` none
                (an event masked before), or what is masked in these fields only (the fields an export writes).
        """
        self._counting = count is not False
        try:
            return self._event(event, None if isinstance(count, bool) else count)
        finally:
            self._counting = True

    def _event(self, event: Event, counted: frozenset[str] | None = None) -> Event:
        if isinstance(event, (Output, Input)):
            data = self.output(event.data, event.t, event.type)
            return event if data is event.data else dataclasses.replace(event, data=data)
        changes: dict[str, Any] = {}
        self._event_left_out.clear()  # (what a direct call of text() left there is not this event's)
        for f in dataclasses.fields(event):
            name = f.name
            if name in self.rules.dropped:
                if getattr(event, name) is not None:
                    changes[name] = None
                continue
            if name in _PLAIN_FIELDS:
                continue
            if counted is not None:
                self._counting = name in counted
            value = getattr(event, name)
            if isinstance(value, str) and name in self.rules.whole:
                new: Any = self._whole(value, self.rules.whole[name], event)
            elif isinstance(value, str):
                new = self.text(value, diff=name in _DIFF_FIELDS, t=event.t, kind=event.type)
            elif isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
                items = tuple(self.text(v, t=event.t, kind=event.type) for v in value)
                new = value if all(a is b for a, b in zip(items, value, strict=True)) else items
            else:
                continue
            if new is not value:
                changes[name] = new
        if self._event_left_out:
            if counted is not None:  # (the lines go into one of these)
                self._counting = bool(counted & {"omitted", "baseline_omitted"})
            self._note_left_out(event, changes)
        return dataclasses.replace(event, **changes) if changes else event

    def _whole(self, value: str, rule: Rule, event: Event) -> str:
        """``value`` (a field masked whole, :attr:`RuleSet.whole`) replaced by ``rule``'s placeholder, unless it is
        empty or a placeholder already (masked at an earlier export)."""
        if not value or _PLACEHOLDER.fullmatch(value):
            return value
        self._count(rule)
        out = self._placeholder(rule, value.encode("utf-8", "surrogateescape")).decode()
        if self.findings is not None and self._counting:
            self.findings.append(Finding(rule.id, event.type, event.t, out))
        return out

    def _note_left_out(self, event: Event, changes: dict[str, Any]) -> None:
        """The binary files :meth:`_without_binary_secrets` took out of ``event``'s patch, out of its ``files``
        and in its ``omitted`` (a final patch), or in its ``baseline_omitted`` (a header), as ``changes``."""
        gone = {path for paths, _ in self._event_left_out for path in paths}
        lines = tuple(
            self.text(f"{paths[0]}: {why}", t=event.t, kind=event.type) for paths, why in self._event_left_out
        )
        self._event_left_out.clear()
        if isinstance(event, FinalPatch):
            files = changes.get("files", event.files)
            changes["files"] = tuple(f for f in files if f not in gone)
            changes["omitted"] = (*changes.get("omitted", event.omitted), *lines)
        elif isinstance(event, Header):
            changes["baseline_omitted"] = (*changes.get("baseline_omitted", event.baseline_omitted), *lines)

    def session(self, session: Session) -> Session:
        """A copy of ``session`` (read whole) with its header and every event masked, in file order (so output is
        one stream), as an export masks them: what a dataset, a push and a judge take. A value the rules find
        anywhere in it is masked wherever it comes, before it was first named too (``cat token.txt``, later
        ``export TOKEN=…``): the events masked before the last value was learnt are searched once more for the
        values alone (no rule runs twice; :meth:`learn` is the same for a reader that streams).

        Runs of output events are masked together (up to 1 MiB at a time, then cut back into their events:
        masking keeps lengths), unless findings are kept (their times are each event's own).
        """
        events = [session.header, *session.events]
        sites = sites_of(session.events)
        if sites:  # values the recorder learnt after it wrote them
            self.know(values_at(sites, events))
        masked, held = self._mask_all(events)
        # (masked now: the copy holds none of them unmasked, and its events need not be where the sites say)
        masked = [without_sites(e) for e in masked]
        behind = bisect.bisect_left(held, len(self._known))  # (held never decreases)
        if behind:
            again = Redactor.of_values(self.rules.label, collect=self.findings is not None)
            again.counts, again._numbers, again._last = self.counts, self._numbers, self._last
            again._known = dict(self._known)
            again._rebuild()
            masked[:behind] = again._mask_all(masked[:behind])[0]
            if self.findings is not None and again.findings:
                self.findings = sorted(self.findings + again.findings, key=lambda f: f.t)
        header = masked[0]
        assert isinstance(header, Header)
        return Session(path=session.path, header=header, events=masked[1:], problem=session.problem)

    def _mask_all(self, events: list[Event]) -> tuple[list[Event], list[int]]:
        """``events`` masked in order, and for each how many learnt values the scanner held before it was masked
        (a value learnt in it or after it may be in it unmasked)."""
        masked: list[Event] = []
        held: list[int] = []
        run: list[Output] = []

        def flush() -> None:
            held.extend([self._scanned] * len(run))
            if len(run) == 1 or self.findings is not None:
                masked.extend(self.event(e) for e in run)
            elif run:
                data = self.output(b"".join(e.data for e in run), run[0].t)
                pos = 0
                for e in run:
                    piece = data[pos : pos + len(e.data)]
                    pos += len(e.data)
                    masked.append(e if piece == e.data else dataclasses.replace(e, data=piece))
            run.clear()

        size = 0
        for e in events:
            if type(e) is Output:
                run.append(e)
                size += len(e.data)
                if size >= _RUN_BYTES:
                    flush()
                    size = 0
                continue
            flush()
            size = 0
            held.append(self._scanned)
            masked.append(self.event(e))
        flush()
        return masked, held
