"""The views of output with terminal escape sequences that the rules' regexes search: its words as a terminal
shows them.

Output holds escape sequences glued to its text (``\\x1b[36Chf_…``; ``grep --color`` and ``git diff`` colour
inside a word), and they would hide a secret's word boundary or cut it in two. Each range of output a rule runs on
is searched in two views, both made for the whole range at once (:class:`Styled`):

- **blanked**: each escape sequence (ECMA-48 CSI, an OSC's introducer and terminator, two-byte ones) turned into
  as many spaces, so every offset stays;
- **plain**: the sequences that style text in place (SGR, and EL, which ``grep --color`` puts after each colour)
  taken out, the rest blanked: a word that colours split is whole, and a hit there is mapped back to the
  output's offsets.

Both are made in C (the optional extension :mod:`tracer.redact._escapes`, built with the PTY loop's: ~1 GB/s),
or without it with work that stays in Python's C (one split by the pattern, sums of the pieces' lengths: ~40 MB/s
of coloured output): coloured output holds an escape sequence every ~25 bytes, and a Python call for each had cost
more than the regexes themselves.
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

try:
    from tracer.redact import _escapes
except ImportError:  # built without a C compiler: the same views, in Python (slower)
    _escapes = None  # type: ignore[assignment]

#: Terminal escape sequences (CSI, charset and other two-byte ones; an OSC's introducer and terminator, not its
#: text: a window title may show a command line), and BEL.
ESCAPES = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][0-9]*;?|\\|[()*+][0-9A-Za-z]|[@-Z^_`a-z{|}~=>78])|\x07")
#: The escape sequences that style text in place: SGR (colours, bold) and EL (erase in line). Inside a word they
#: change how it looks, not what it says.
STYLES = re.compile(rb"\x1b\[[0-9;:]*[mK]")
#: The same patterns with one group: ``split`` gives the text between them and each sequence, in turn.
_ESCAPES_SPLIT = re.compile(b"(" + ESCAPES.pattern + b")")
_STYLES_SPLIT = re.compile(b"(" + STYLES.pattern + b")")
#: Runs of spaces by length (grown when a longer sequence comes).
_SPACES = [b" " * n for n in range(64)]


def blank_escapes(text: bytes) -> bytes:
    """``text`` with each of its terminal escape sequences turned into as many spaces (every offset stays);
    ``text`` itself when it holds no ESC."""
    if b"\x1b" not in text:
        return text
    if _escapes is not None:
        return _escapes.blank(text)
    return blank_escapes_py(text)


def blank_escapes_py(text: bytes) -> bytes:
    """:func:`blank_escapes` without the C part."""
    parts = _ESCAPES_SPLIT.split(text)
    sequences = parts[1::2]
    if not sequences:
        return text
    longest = max(map(len, sequences))
    if longest >= len(_SPACES):
        _SPACES.extend(b" " * n for n in range(len(_SPACES), longest + 1))
    parts[1::2] = map(_SPACES.__getitem__, map(len, sequences))
    return b"".join(parts)


def unstyle_py(raw: bytes) -> tuple[bytes, list[int], list[int]]:
    """``raw`` without its style sequences (STYLES); where each run of bytes kept starts in it (and, last, its
    length), and where in ``raw`` (one fewer). What :mod:`tracer.redact._escapes`'s ``unstyle`` gives, in Python."""
    parts = _STYLES_SPLIT.split(raw)  # kept text, a style, kept text, …
    kept = parts[0::2]
    return b"".join(kept), [0, *accumulate(map(len, kept))], [0, *accumulate(map(len, parts))][0::2]


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
        if b"\x1b[" not in raw:
            return
        plain, starts, origins = _escapes.unstyle(raw) if _escapes is not None else unstyle_py(raw)
        if len(origins) == 1:
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
        i = bisect.bisect_right(self._starts, offset, 0, len(self._origins)) - 1
        return self.start + self._origins[i] + offset - self._starts[i]


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
