"""The views of output with terminal escape sequences that the rules' regexes search: its words as a terminal
shows them.

Output holds escape sequences glued to its text (``\\x1b[36Chf_…``; ``grep --color`` and ``git diff`` colour
inside a word), and they would hide a secret's word boundary or cut it in two. Each range of output a rule runs on
is searched in two views, both made for the whole range at once (:class:`Styled`):

- **blanked**: each escape sequence (ECMA-48 CSI, an OSC's introducer and terminator, two-byte ones), BEL, SO, SI
  and each carriage return that does not end a line turned into as many spaces, so every offset stays;
- **plain**: the sequences that style text in place (SGR; EL, which ``grep --color`` puts after each colour; SO
  and SI, which terminfo's ``sgr0`` ends with) taken out, the rest blanked: a word that colours split is whole,
  and a hit there is mapped back to the output's offsets.

Both are made in C (the optional extension :mod:`tracer.redact._escapes`, built with the PTY loop's: ~1 GB/s),
or without it in Python (one split by the pattern per 64 KiB, sums of the pieces' lengths: ~40 MB/s of coloured
output): coloured output holds an escape sequence every ~25 bytes, and a Python call for each had cost more than
the regexes themselves.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate

try:
    from tracer.redact import _escapes
except ImportError:  # built without a C compiler: the same views, in Python (slower)
    _escapes = None  # type: ignore[assignment]

#: Terminal escape sequences (CSI, charset and other two-byte ones; an OSC's introducer and terminator, not its
#: text: a window title may show a command line), BEL, SO and SI, and a carriage return that does not end a line
#: (fish redraws a command line word by word, each after ``\r`` and a cursor move).
ESCAPES = re.compile(
    rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][0-9]*;?|\\|[()*+][0-9A-Za-z]|[@-Z^_`a-z{|}~=>78])|[\x07\x0e\x0f]|\r(?!\n)"
)
#: The escape sequences that style text in place: SGR (colours, bold), EL (erase in line), SO and SI (terminfo's
#: ``sgr0`` ends with SI). Inside a word they change how it looks, not what it says.
STYLES = re.compile(rb"\x1b\[[0-9;:]*[mK]|[\x0e\x0f]")
#: A run of style sequences between two bytes of a word: colours that may cut a rule's keyword in two
#: (``\x1b[91ms\x1b[38;5;240msh-keygen``: a typed ``s`` in red, the rest of the line suggested in grey). The byte
#: before the word's may not be one of a sequence's (``[``, a parameter), so that the final byte of the style before
#: (``\x1b[0m\x1b[32m-``) does not count as a word's: styles follow one another everywhere in coloured output.
SPLIT_WORD = re.compile(rb"[^\x1b\[0-9;:][0-9A-Za-z_-](?:" + STYLES.pattern + rb")+[0-9A-Za-z_-]")
#: The same patterns with one group: ``split`` gives the text between them and each sequence, in turn.
_ESCAPES_SPLIT = re.compile(b"(" + ESCAPES.pattern + b")")
_STYLES_SPLIT = re.compile(b"(" + STYLES.pattern + b")")
#: Runs of spaces by length (grown when a longer sequence comes).
_SPACES = [b" " * n for n in range(64)]
#: Bytes of text the Python fallback splits at a time, and where it may cut (before a sequence's first byte).
_CHUNK = 64 << 10
_CUT = re.compile(rb"[\x1b\x07\x0e\x0f\r]")
#: The longest escape sequence looked back or ahead for from a byte of output (bytes: a CSI with its parameters,
#: a window title's start).
SEQUENCE_REACH = 256


def blank_escapes(text: bytes) -> bytes:
    """``text`` with each of its terminal escape sequences turned into as many spaces (every offset stays)."""
    if _escapes is not None:
        return _escapes.blank(text)
    return blank_escapes_py(text)


def in_sequence(text: bytes, i: int) -> bool:
    """Whether ``text[i]`` is inside an escape sequence (one that starts at most :data:`SEQUENCE_REACH` bytes
    before it): the text of a window title (fish's shows the command cut short, then the directory), the digits of
    a cursor move: what a rule finds there was not typed (record time masks it, and does not learn it)."""
    start = max(0, i - SEQUENCE_REACH)
    if i >= len(text) or b"\x1b" not in text[start:i]:
        return False
    osc = text.rfind(b"\x1b]", start, i)  # (the views keep an OSC string's text, where a secret may be found)
    if osc >= 0 and b"\x07" not in text[osc:i] and b"\x1b\\" not in text[osc:i]:
        return True
    window = text[start : i + 64]  # (the sequence whole: a CSI's parameters and final byte come after)
    return blank_escapes(window)[i - start] == 32 and text[i] != 32


def _chunks(text: bytes) -> Iterator[tuple[int, bytes]]:
    """``text`` in pieces of about :data:`_CHUNK` bytes, each with its offset, cut only before a byte that starts a
    sequence (ESC, BEL, SO, SI, CR): none holds one after its first byte, and a carriage return stays with the line
    feed after it, so nothing is cut. Python's ``split`` makes an object per sequence: the fallback's memory stays
    bounded by a piece's, whatever the text."""
    n, at = len(text), 0
    while at < n:
        cut = _CUT.search(text, at + _CHUNK) if at + _CHUNK < n else None
        end = n if cut is None else cut.start()
        yield at, text[at:end] if (at, end) != (0, n) else text
        at = end


def blank_escapes_py(text: bytes) -> bytes:
    """:func:`blank_escapes` without the C part."""
    out = []
    for _, chunk in _chunks(text):
        parts = _ESCAPES_SPLIT.split(chunk)
        sequences = parts[1::2]
        if sequences:
            longest = max(map(len, sequences))
            if longest >= len(_SPACES):
                _SPACES.extend(b" " * n for n in range(len(_SPACES), longest + 1))
            parts[1::2] = map(_SPACES.__getitem__, map(len, sequences))
        out.append(b"".join(parts))
    return out[0] if len(out) == 1 else b"".join(out)


def unstyle_py(raw: bytes) -> tuple[bytes, Sequence[int], Sequence[int]]:
    """``raw`` without its style sequences (STYLES); where each run of it kept (the first, and those not empty:
    an empty run maps no byte) starts in that text (and, last, its length), and where in ``raw``. What
    :mod:`tracer.redact._escapes`'s ``unstyle`` gives, in Python."""
    plain: list[bytes] = []
    starts, origins = array("q"), array("q")
    length = 0
    going_on = False  # the last chunk ended inside a run, which its next one goes on with
    for offset, chunk in _chunks(raw):
        parts = _STYLES_SPLIT.split(chunk)  # kept text, a style, kept text, …
        kept = parts[0::2]
        ends = accumulate(map(len, parts))  # where each part ends in the chunk
        at = 0  # where the next kept run starts in the chunk
        for i, run in enumerate(kept):
            if (run or not origins) and not (i == 0 and going_on):
                starts.append(length)
                origins.append(offset + at)
            length += len(run)
            at = next(ends, 0)  # (the end of this run)
            at = next(ends, 0)  # (the end of the style after it: where the next run starts)
        going_on = bool(kept[-1])
        plain.append(b"".join(kept))
    if not origins:  # (no text at all)
        starts.append(0)
        origins.append(0)
    starts.append(length)
    return b"".join(plain), starts, origins


def _unstyle(raw: bytes) -> tuple[bytes, Sequence[int], Sequence[int]]:
    if _escapes is None:
        return unstyle_py(raw)
    plain, starts, origins = _escapes.unstyle(raw)
    return plain, memoryview(starts).cast("q"), memoryview(origins).cast("q")


def splits_words(text: bytes) -> bool:
    """Whether colours may cut a word of ``text`` in two (:data:`SPLIT_WORD` occurs): in C at memory speed, or
    with Python's ``re``."""
    # (bytes of one byte each: memchr, ~100 GB/s; b"\x1b[", two bytes, is searched at ~1.3 GB/s, which took 60 ms
    # of the writer's 170 on 67 MB of base64)
    if b"\x1b" not in text and b"\x0e" not in text and b"\x0f" not in text:
        return False
    if _escapes is not None:
        return _escapes.splits_words(text)
    return SPLIT_WORD.search(text) is not None


def _plain_to_raw(starts: Sequence[int], origins: Sequence[int], offset: int) -> int:
    """The offset in the raw text of byte ``offset`` of its view without styles (``starts``, ``origins``: where
    each kept run starts in the view and in the raw text, as :func:`_unstyle` gives them)."""
    i = bisect.bisect_right(starts, offset, 0, len(origins)) - 1
    return origins[i] + offset - starts[i]


def unstyled(raw: bytes) -> tuple[bytes, Callable[[int], int]]:
    """``raw`` with its style sequences taken out (the other escape sequences kept), and a map of an offset in
    that text to the offset of the same byte in ``raw``: where a keyword that colours cut in two is whole."""
    plain, starts, origins = _unstyle(raw)
    return plain, lambda offset: _plain_to_raw(starts, origins, offset)


class Styled:
    """One range of output in both views.

    Args:
        raw: the range's bytes. start: where the range starts in the text searched (its offsets are the text's).

    Attributes:
        start: as given. blanked: ``raw`` blanked (:func:`blank_escapes`; the same length).
        plain: the plain view, blanked; ``None`` when ``raw`` holds no style sequence (the blanked view says all).
    """

    __slots__ = ("_origins", "_starts", "blanked", "plain", "start")

    def __init__(self, raw: bytes, start: int) -> None:
        self.start = start
        self.blanked = blank_escapes(raw)
        self.plain: bytes | None = None
        if b"\x1b" not in raw and b"\x0e" not in raw and b"\x0f" not in raw:
            return
        plain, starts, origins = _unstyle(raw)
        if len(plain) == len(raw):
            return
        self.plain = blank_escapes(plain)
        self._starts = starts  # where each kept run starts in the plain view (and, last, the view's length)
        self._origins = origins  # and in ``raw``

    def to_plain(self, offset: int) -> int:
        """The offset in :attr:`plain` of the first byte at or after ``offset`` of the text that a style
        sequence did not hold (``offset``: in the text searched, within the range; its end included)."""
        r = offset - self.start
        i = bisect.bisect_right(self._origins, r) - 1
        return min(self._starts[i] + r - self._origins[i], self._starts[i + 1])

    def to_raw(self, offset: int) -> int:
        """The offset in the text searched of byte ``offset`` of :attr:`plain`."""
        return self.start + _plain_to_raw(self._starts, self._origins, offset)


class Views:
    """The views of the ranges of ``text`` that regexes run on, each range made once.

    Args:
        text: the text searched. ranges: the ``[lo, hi)`` byte ranges the regexes will run on (any order,
            overlapping or not): ranges that overlap or touch are viewed as one, so each byte is viewed once
            and a sequence across two windows' edge is seen whole.
    """

    __slots__ = ("_los", "_parts")

    def __init__(self, text: bytes, ranges: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        whole = merged == [(0, len(text))]
        self._parts = [Styled(text if whole else text[lo:hi], lo) for lo, hi in merged]
        self._los = [lo for lo, _ in merged]

    def at(self, lo: int) -> Styled:
        """The viewed range that holds the range starting at ``lo`` (one of those given)."""
        return self._parts[bisect.bisect_right(self._los, lo) - 1]
