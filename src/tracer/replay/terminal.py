"""A VT terminal emulator behind one small interface, with two backends.

The replay needs the screen as it looked at any moment: bytes go in (:meth:`Terminal.feed`), styled lines
come out (:meth:`Terminal.lines`), and the whole state can be saved and put back (:meth:`Terminal.snapshot`,
:meth:`Terminal.restore`) so that seeking restores a keyframe instead of replaying from the start.

Backends:

- ``"avt"``: asciinema's avt emulator through the ``pyavt`` bindings (module ``avt``); fast (tens of MB/s),
  alternate screen built in. Used whenever it imports.
- ``"pyte"``: pure Python, about 0.5 MB/s; its missing alternate screen (selectel/pyte#90) is added here.

Both follow xterm: ``CSI ? 1049 h`` saves the cursor and shows a blank alternate screen, ``CSI ? 1049 l``
brings the main screen back as it was (``47`` and ``1047`` switch without saving the cursor).

Where the replay and the emulator differ from the terminal the session was recorded in, tracer follows tmux
(the reference terminal its tests compare with):

- zero-width code points (combining marks, variation selectors, ZWJ, other format characters) take no cell:
  they join the character before them, and a character after a ZWJ joins too (a ZWJ emoji sequence is one
  cell pair). avt would give each its own cell; the avt backend stands each such cluster in for one private
  code point of the same width (:class:`Clusters`) and draws the cluster in its place;
- a window that grows pulls lines back from the scrollback (``scrollback`` lines are kept for that);
- indexed colours are xterm's RGB values (:mod:`tracer.replay.palette`).

Bytes are UTF-8 (invalid bytes become U+FFFD). A chunk may end inside a UTF-8 character or an escape
sequence: the incomplete tail is held back until the next :meth:`~Terminal.feed` and is part of the
snapshot, so a keyframe taken at any chunk boundary restores exactly.
"""

from __future__ import annotations

import copy
import importlib
import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from rich.color import Color
from rich.style import Style
from rich.text import Text

from tracer.replay.palette import indexed

#: Longest incomplete escape sequence held back between chunks (bytes); longer ones are fed as they come.
_MAX_PENDING = 4096


@dataclass(frozen=True, slots=True)
class CursorState:
    """Where the cursor is: ``row`` and ``col`` count cells from 0 at the top left."""

    row: int
    col: int
    visible: bool


@dataclass(frozen=True, slots=True)
class TerminalState:
    """An opaque saved state of a :class:`Terminal` (a keyframe's content). Only the backend that made it
    can restore it."""

    backend: str
    cols: int
    rows: int
    pending: bytes
    data: Any


def split_incomplete(data: bytes) -> tuple[bytes, bytes]:
    """Split ``data`` into what can be parsed now and an incomplete tail to hold back.

    The tail is an unfinished escape sequence (CSI, OSC/DCS string, ``ESC`` + intermediates) and/or an
    unfinished UTF-8 character at the very end; it is at most ``_MAX_PENDING`` bytes.

    Returns:
        ``(complete, pending)`` with ``complete + pending == data``.
    """
    start = max(0, len(data) - _MAX_PENDING)
    esc = data.rfind(b"\x1b", start)
    if esc != -1 and not _escape_complete(data, esc):
        return data[:esc], data[esc:]
    # An unfinished UTF-8 character: a lead byte near the end without all its continuation bytes.
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # continuation byte: keep looking for the lead
            continue
        need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4 if byte & 0xF8 == 0xF0 else 1
        if need > back:
            return data[:-back], data[-back:]
        break
    return data, b""


def _escape_complete(data: bytes, esc: int) -> bool:
    """Whether the escape sequence starting at ``data[esc]`` (``ESC``) is finished within ``data``."""
    if esc + 1 >= len(data):
        return False
    kind = data[esc + 1]
    rest = data[esc + 2 :]
    if kind == 0x5B:  # '[' CSI: parameters and intermediates, then a final byte 0x40-0x7e
        return any(0x40 <= b <= 0x7E for b in rest)
    if kind in (0x5D, 0x50, 0x5F, 0x5E, 0x58):  # OSC, DCS, APC, PM, SOS: a string up to BEL or ST
        # An ST would start with ESC, and this ESC is the last one: only BEL can end the string here.
        return 0x07 in rest
    if 0x20 <= kind <= 0x2F:  # ESC + intermediates, then a final byte
        return any(0x30 <= b <= 0x7E for b in rest)
    return True


#: Format characters that terminals draw (glibc's wcwidth gives them a cell): the soft hyphen and the prepended
#: concatenation marks (Unicode's Prepended_Concatenation_Mark property).
_SPACING_FORMAT = frozenset(
    [0x00AD, 0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD]
)


@dataclass(frozen=True, slots=True)
class _ZeroWidth:
    candidates: re.Pattern[str]  # the BMP ones and every astral code point: a class sre tests at once
    astral: frozenset[str]  # the astral ones (a class of them would be tested range by range)
    one: re.Pattern[str]  # any of them, for a single character


@cache
def _zero_width() -> _ZeroWidth:
    """The code points that take no cell: nonspacing and enclosing marks, format characters (but
    :data:`_SPACING_FORMAT`), and Hangul's medial vowels and final consonants, as glibc's ``wcwidth`` (and so tmux)
    has them. Built from :mod:`unicodedata` on first use (~0.3 s)."""
    category = unicodedata.category
    codes = [
        cp for cp in range(0x300, 0xE1000) if category(chr(cp)) in ("Mn", "Me", "Cf") and cp not in _SPACING_FORMAT
    ]
    codes += [*range(0x1160, 0x1200), *range(0xD7B0, 0xD800)]
    bmp = "".join(re.escape(chr(cp)) for cp in sorted(set(codes)) if cp < 0x10000)
    astral = frozenset(chr(cp) for cp in codes if cp >= 0x10000)
    candidates = re.compile(f"[{bmp}\U00010000-\U0010ffff]")
    return _ZeroWidth(candidates, astral, re.compile(f"[{bmp}{''.join(sorted(astral))}]"))


_ESCAPE_RE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~]|.)|\x9b[0-?]*[ -/]*[@-~]", re.DOTALL
)
#: Private code points that stand for clusters: plane 15 (one cell) and the end of plane 3 (two cells: unassigned
#: ideographic code points, which emulators give two cells).
_NARROW = (0xF0000, 0xFFFFD)
_WIDE = (0x3A000, 0x3FFFD)


def prepare() -> None:
    """Build the tables the terminals need (~0.3 s, once per process): call it from a worker before the UI
    thread makes its first terminal, so that no key waits for it."""
    _zero_width()


def _zero_width_positions(text: str) -> list[int]:
    zw = _zero_width()
    astral = zw.astral
    return [m.start() for m in zw.candidates.finditer(text) if m.group() < "\U00010000" or m.group() in astral]


def _in_escape(text: str, i: int) -> bool:
    """Whether ``text[i]`` belongs to an escape sequence (``text`` starts outside one)."""
    j = max(text.rfind("\x1b", 0, i + 1), text.rfind("\x9b", 0, i + 1))
    if j < 0:
        return False
    m = _ESCAPE_RE.match(text, j)
    return m is not None and m.end() > i


def _printable(char: str) -> bool:
    return not (char < " " or "\x7f" <= char <= "\x9f")


class Clusters:
    """Grapheme clusters that a one-code-point-per-cell emulator cannot hold, each stood for by a private code
    point of the cluster's width.

    :meth:`fold` turns text as a program wrote it into text for the emulator: a character followed by zero-width
    code points (and ZWJ-joined characters) becomes one stand-in; zero-width code points with nothing before them
    are dropped, as tmux drops them. :meth:`unfold` gives the cluster a stand-in stands for. One table serves every
    terminal that replays one stream (their snapshots hold stand-ins); thread-safe. When the private code points
    run out (a hostile stream), clusters lose their zero-width part.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._char_of: dict[str, str] = {}
        self._text_of: dict[str, str] = {}
        self._next = {False: _NARROW[0], True: _WIDE[0]}

    def __len__(self) -> int:
        return len(self._text_of)

    def fold(self, text: str) -> str:
        """``text`` with each cluster replaced by its stand-in (text without zero-width code points is returned as
        it is, at about 300 MB/s)."""
        if text.isascii():
            return text
        marks = _zero_width_positions(text)
        if not marks:
            return text
        is_mark = set(marks)
        out: list[str] = []
        done = 0
        n = len(text)
        for p in marks:
            if p < done or _in_escape(text, p):
                continue
            base = p - 1
            if base < done or not _printable(text[base]) or _in_escape(text, base):
                out.append(text[done:p])  # nothing to join: dropped
                done = p + 1
                continue
            end = p
            while end < n and (end in is_mark or (text[end - 1] == "\u200d" and _printable(text[end]))):
                end += 1
            out.append(text[done:base])
            out.append(self.stand_in(text[base:end]))
            done = end
        out.append(text[done:])
        return "".join(out)

    def stand_in(self, cluster: str) -> str:
        """The private code point standing for ``cluster`` (its first character when none is left)."""
        char = self._char_of.get(cluster)
        if char is not None:
            return char
        wide = unicodedata.east_asian_width(cluster[0]) in ("W", "F")
        with self._lock:
            char = self._char_of.get(cluster)
            if char is None:
                code = self._next[wide]
                if code > (_WIDE if wide else _NARROW)[1]:
                    return cluster[0]
                self._next[wide] = code + 1
                char = chr(code)
                self._text_of[char] = cluster
                self._char_of[cluster] = char
        return char

    def unfold(self, char: str) -> str:
        """The cluster ``char`` stands for, or ``char`` itself."""
        return self._text_of.get(char, char)

    def to_data(self) -> list[str]:
        """The table as plain data: ``[stand_in, cluster, …]``."""
        with self._lock:
            return [x for pair in self._text_of.items() for x in pair]

    def load(self, data: list[str]) -> bool:
        """Take the table :meth:`to_data` gave, when it agrees with this one; False (and unchanged) when not."""
        pairs = list(zip(data[::2], data[1::2], strict=True))
        with self._lock:
            if any(self._text_of.get(char, cluster) != cluster for char, cluster in pairs):
                return False
            for char, cluster in pairs:
                code = ord(char)
                wide = _WIDE[0] <= code <= _WIDE[1]
                if not (wide or _NARROW[0] <= code <= _NARROW[1]):
                    return False
                self._text_of[char] = cluster
                self._char_of[cluster] = char
                self._next[wide] = max(self._next[wide], code + 1)
        return True


def cluster_end(data: bytes, i: int) -> int:
    """The first position at or after ``i`` where ``data`` may be cut without splitting a cluster (a character
    and the zero-width code points joining it) or a UTF-8 character; ``len(data)`` at most."""
    n = len(data)
    while i < n and data[i] >= 0x80:
        if data[i] < 0xC0:  # a continuation byte: inside a character
            i += 1
            continue
        width = 2 if data[i] < 0xE0 else 3 if data[i] < 0xF0 else 4
        char = data[i : i + width].decode("utf-8", "replace")
        previous = data[max(0, i - 3) : i].decode("utf-8", "replace")[-1:]
        if not (previous == "\u200d" or _zero_width().one.fullmatch(char)):
            return i
        i += width
    return i


class Terminal(ABC):
    """A VT100/xterm screen of ``cols`` × ``rows`` cells fed with raw output bytes.

    Subclasses wrap one emulator; :func:`make_terminal` picks one.
    """

    #: Name of the backend (``"avt"`` or ``"pyte"``).
    backend: ClassVar[str] = ""
    #: Output bytes between keyframes that keep a seek (restore + feed forward) well under 150 ms.
    keyframe_bytes: ClassVar[int] = 256 * 1024

    def __init__(self, cols: int, rows: int, scrollback: int = 0, clusters: Clusters | None = None) -> None:
        self._pending = b""
        self.clusters = clusters if clusters is not None else Clusters()

    @property
    @abstractmethod
    def cols(self) -> int:
        """Width in cells."""

    @property
    @abstractmethod
    def rows(self) -> int:
        """Height in cells."""

    def feed(self, data: bytes) -> None:
        """Parse output bytes (UTF-8 with escape sequences), as the PTY master read them."""
        if self._pending:
            data = self._pending + data
        complete, self._pending = split_incomplete(data)
        if complete:
            self._feed_text(complete.decode("utf-8", errors="replace"))

    @abstractmethod
    def _feed_text(self, text: str) -> None: ...

    @abstractmethod
    def lines(self) -> list[Text]:
        """The screen now (the alternate screen while it is active): ``rows`` lines of ``cols`` cells each,
        with colours (16, 256 and true colour), bold, italic, underline, strike, reverse and blink kept."""

    def text(self) -> list[str]:
        """The screen's lines as plain text, trailing blanks removed."""
        return [line.plain.rstrip() for line in self.lines()]

    @property
    @abstractmethod
    def cursor(self) -> CursorState:
        """The cursor position and visibility."""

    @property
    @abstractmethod
    def alternate(self) -> bool:
        """True while the alternate screen (``CSI ? 1049 h``) is shown."""

    @abstractmethod
    def snapshot(self) -> TerminalState:
        """The whole state (both screens, cursor, modes, held-back bytes), immutable."""

    @abstractmethod
    def restore(self, state: TerminalState) -> None:
        """Put back a state :meth:`snapshot` made (by a terminal of the same backend).

        Raises:
            ValueError: the state comes from another backend.
        """

    @abstractmethod
    def resize(self, cols: int, rows: int) -> None:
        """Change the size to ``cols`` × ``rows`` cells (a recorded ``resize`` event)."""

    def _check(self, state: TerminalState) -> None:
        if state.backend != self.backend:
            raise ValueError(f"a {state.backend} terminal state cannot be restored into a {self.backend} one")


# --- avt ------------------------------------------------------------------------------------------------

_avt: Any
try:
    _avt = importlib.import_module("avt")
except ImportError:  # pragma: no cover - depends on the machine
    _avt = None


_ALT_SWITCH = re.compile(r"\x1b\[\?(?:1049|1047|47)([hl])")


#: avt's "repeat the last character" (REP, ``CSI n b``) in its dumps; its restore does not repeat wide characters.
_REPEAT = re.compile("(.)(?:\x1b\\[|\x9b)(\\d+)b", re.DOTALL)


def _expand_repeats(dump: str) -> str:
    """``dump`` with every REP after a character that may be wide written out as the repeated characters."""

    def expand(match: re.Match[str]) -> str:
        char = match.group(1)
        return char * (int(match.group(2)) + 1) if char >= "\u1100" else match.group(0)

    return _REPEAT.sub(expand, dump) if "b" in dump else dump


def _avt_color(color: Any) -> Color | None:
    if color is None:
        return None
    if isinstance(color, _avt.Color.RGB):
        return Color.from_rgb(color[0], color[1], color[2])
    return indexed(color[0])


class AvtTerminal(Terminal):
    """The ``avt`` backend (Rust, via pyavt). Snapshots are avt's own ``dump()`` with its repeats of wide
    characters written out: text that rebuilds the screen, its modes and the cursor when fed to a fresh emulator
    (the scrollback is not in it: see :class:`tracer.replay.keyframes.KeyframeIndex` for why that is exact)."""

    backend = "avt"
    keyframe_bytes = 256 * 1024

    def __init__(self, cols: int, rows: int, scrollback: int = 0, clusters: Clusters | None = None) -> None:
        super().__init__(cols, rows, scrollback, clusters)
        if _avt is None:
            raise RuntimeError("the avt terminal backend needs the pyavt package (pip install pyavt)")
        self._scrollback = scrollback
        self._vt = _avt.Vt(cols, rows, scrollback_limit=scrollback)
        self._styles: dict[tuple[Any, ...], Style] = {}
        self._in_alternate = False

    @property
    def cols(self) -> int:
        return int(self._vt.size[0])

    @property
    def rows(self) -> int:
        return int(self._vt.size[1])

    def _feed_text(self, text: str) -> None:
        self._vt.feed_str(self.clusters.fold(text))
        # avt does not expose which buffer is active: follow the switches (held-back bytes mean a
        # sequence is never split between two calls).
        if "\x1b[?" in text:
            for match in _ALT_SWITCH.finditer(text):
                self._in_alternate = match.group(1) == "h"

    def lines(self) -> list[Text]:
        out = []
        unfold = self.clusters.unfold
        for line in self._vt.view():
            text = Text(no_wrap=True, end="")
            run: list[str] = []
            run_pen: Any = None
            for cell in line.cells:
                if cell.width == 0:  # the right half of a wide character
                    continue
                pen = cell.pen
                if run and pen != run_pen:
                    text.append("".join(run), self._style(run_pen))
                    run = []
                if not run:
                    run_pen = pen
                char = cell.char
                run.append(char if char < "\U00030000" else unfold(char))
            if run:
                text.append("".join(run), self._style(run_pen))
            out.append(text)
        return out

    def _style(self, pen: Any) -> Style | None:
        if pen.is_default():
            return None
        fg, bg = pen.foreground, pen.background
        key = (
            None if fg is None else (type(fg).__name__, tuple(fg[i] for i in range(_avt_len(fg)))),
            None if bg is None else (type(bg).__name__, tuple(bg[i] for i in range(_avt_len(bg)))),
            pen.bold,
            pen.faint,
            pen.italic,
            pen.underline,
            pen.strikethrough,
            pen.blink,
            pen.inverse,
        )
        style = self._styles.get(key)
        if style is None:
            style = Style(
                color=_avt_color(fg),
                bgcolor=_avt_color(bg),
                bold=pen.bold or None,
                dim=pen.faint or None,
                italic=pen.italic or None,
                underline=pen.underline or None,
                strike=pen.strikethrough or None,
                blink=pen.blink or None,
                reverse=pen.inverse or None,
            )
            self._styles[key] = style
        return style

    @property
    def cursor(self) -> CursorState:
        c = self._vt.cursor
        return CursorState(int(c.row), int(c.col), bool(c.visible))

    @property
    def alternate(self) -> bool:
        return self._in_alternate

    def snapshot(self) -> TerminalState:
        dump = _expand_repeats(self._vt.dump())
        return TerminalState(self.backend, self.cols, self.rows, self._pending, (dump, self._in_alternate))

    def restore(self, state: TerminalState) -> None:
        self._check(state)
        dump, alternate = state.data
        self._vt = _avt.Vt(state.cols, state.rows, scrollback_limit=self._scrollback)
        self._vt.feed_str(dump)
        self._in_alternate = alternate
        self._pending = state.pending

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = _clamp(cols, MAX_COLS), _clamp(rows, MAX_ROWS)
        if (cols, rows) != (self.cols, self.rows):
            self._vt.resize(cols, rows)


def _avt_len(color: Any) -> int:
    return 3 if isinstance(color, _avt.Color.RGB) else 1


# --- pyte -----------------------------------------------------------------------------------------------

import pyte  # noqa: E402  (kept next to its adapter)

_ALT_MODES = (47, 1047, 1049)

#: pyte's colour names (it calls yellow "brown", and misspells one bright magenta) -> ANSI colour numbers.
_PYTE_COLORS = (
    {name: i for i, name in enumerate(("black", "red", "green", "brown", "blue", "magenta", "cyan", "white"))}
    | {
        "bright" + name: i + 8
        for i, name in enumerate(("black", "red", "green", "brown", "blue", "magenta", "cyan", "white"))
    }
    | {"bfightmagenta": 13}
)


def _pyte_color(name: str) -> Color | None:
    if name == "default":
        return None
    index = _PYTE_COLORS.get(name)
    if index is not None:
        return indexed(index)
    try:
        return Color.from_rgb(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
    except ValueError:
        return None


class _AltScreen(pyte.Screen):
    """pyte's screen plus the xterm alternate screen (modes 47, 1047, 1049)."""

    def __init__(self, columns: int, lines: int) -> None:
        self.main_buffer: dict[int, dict[int, Any]] | None = None
        super().__init__(columns, lines)

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and any(m in _ALT_MODES for m in modes):
            if self.main_buffer is None:
                if 1049 in modes:
                    self.save_cursor()
                self.main_buffer = {y: dict(line) for y, line in self.buffer.items()}
                self.buffer.clear()
                self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m not in _ALT_MODES)
            if not modes:
                return
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and any(m in _ALT_MODES for m in modes):
            if self.main_buffer is not None:
                self.buffer.clear()
                for y, cells in self.main_buffer.items():
                    self.buffer[y].update(cells)
                self.main_buffer = None
                if 1049 in modes:
                    self.restore_cursor()
                self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m not in _ALT_MODES)
            if not modes:
                return
        super().reset_mode(*modes, **kwargs)


_PYTE_STATE = (
    "columns",
    "lines",
    "margins",
    "mode",
    "title",
    "icon_name",
    "charset",
    "g0_charset",
    "g1_charset",
    "tabstops",
    "cursor",
    "savepoints",
    "saved_columns",
    "main_buffer",
)


class PyteTerminal(Terminal):
    """The pure-Python ``pyte`` backend, with the alternate screen added. Slow (about 0.5 MB/s), so its
    keyframes are closer together."""

    backend = "pyte"
    keyframe_bytes = 24 * 1024

    def __init__(self, cols: int, rows: int, scrollback: int = 0, clusters: Clusters | None = None) -> None:
        super().__init__(cols, rows, scrollback, clusters)
        self._screen = _AltScreen(cols, rows)
        self._stream = pyte.Stream(self._screen)
        self._styles: dict[tuple[Any, ...], Style | None] = {}

    @property
    def cols(self) -> int:
        return int(self._screen.columns)

    @property
    def rows(self) -> int:
        return int(self._screen.lines)

    def _feed_text(self, text: str) -> None:
        self._stream.feed(self.clusters.fold(text))

    def lines(self) -> list[Text]:
        screen = self._screen
        out = []
        for y in range(screen.lines):
            line = screen.buffer[y]
            text = Text(no_wrap=True, end="")
            run: list[str] = []
            run_key: tuple[Any, ...] | None = None
            skip = False
            for x in range(screen.columns):
                if skip:  # the right half of a wide character
                    skip = False
                    continue
                char = line[x]
                data = char.data or " "
                skip = x + 1 < screen.columns and line[x + 1].data == ""  # the left half of a wide character
                if data >= "\U00030000":
                    data = self.clusters.unfold(data)
                key = char[1:]
                if run and key != run_key:
                    text.append("".join(run), self._style(run_key))
                    run = []
                if not run:
                    run_key = key
                run.append(data)
            if run:
                text.append("".join(run), self._style(run_key))
            out.append(text)
        return out

    def _style(self, key: tuple[Any, ...] | None) -> Style | None:
        if key is None:
            return None
        if key in self._styles:
            return self._styles[key]
        fg, bg, bold, italics, underscore, strikethrough, reverse, blink = key
        style: Style | None = None
        if key != ("default", "default", False, False, False, False, False, False):
            style = Style(
                color=_pyte_color(fg),
                bgcolor=_pyte_color(bg),
                bold=bold or None,
                italic=italics or None,
                underline=underscore or None,
                strike=strikethrough or None,
                reverse=reverse or None,
                blink=blink or None,
            )
        self._styles[key] = style
        return style

    @property
    def cursor(self) -> CursorState:
        c = self._screen.cursor
        return CursorState(int(c.y), int(c.x), not c.hidden)

    @property
    def alternate(self) -> bool:
        return self._screen.main_buffer is not None

    def snapshot(self) -> TerminalState:
        screen = self._screen
        state = {name: copy.deepcopy(getattr(screen, name)) for name in _PYTE_STATE}
        state["buffer"] = {y: (dict(line), line.default) for y, line in screen.buffer.items() if line}
        return TerminalState(self.backend, self.cols, self.rows, self._pending, state)

    def restore(self, state: TerminalState) -> None:
        self._check(state)
        screen = self._screen
        data = state.data
        for name in _PYTE_STATE:
            setattr(screen, name, copy.deepcopy(data[name]))
        screen.buffer = defaultdict(lambda: pyte.screens.StaticDefaultDict(screen.default_char))
        for y, (cells, default) in data["buffer"].items():
            line: Any = pyte.screens.StaticDefaultDict(default)
            line.update(cells)
            screen.buffer[y] = line
        screen.dirty = set(range(screen.lines))
        self._stream = pyte.Stream(screen)
        self._pending = state.pending

    def resize(self, cols: int, rows: int) -> None:
        self._screen.resize(lines=_clamp(rows, MAX_ROWS), columns=_clamp(cols, MAX_COLS))


BACKENDS: dict[str, type[Terminal]] = {"avt": AvtTerminal, "pyte": PyteTerminal}


def available_backends() -> list[str]:
    """Names of the backends that work on this machine, fastest first."""
    return [name for name in BACKENDS if name != "avt" or _avt is not None]


#: Largest terminal the replay emulates (cells): a hostile header or resize cannot ask for more memory.
MAX_COLS, MAX_ROWS = 1000, 500


def make_terminal(
    cols: int, rows: int, backend: str | None = None, *, scrollback: int = 0, clusters: Clusters | None = None
) -> Terminal:
    """A blank terminal of ``cols`` × ``rows`` cells (at most :data:`MAX_COLS` × :data:`MAX_ROWS`).

    Args:
        backend: ``"avt"``, ``"pyte"``, or ``None`` for the fastest one available.
        scrollback: lines kept above the screen, pulled back when the window grows (avt; pyte keeps none).
        clusters: the stand-ins of zero-width clusters, shared by every terminal whose states are exchanged.

    Raises:
        ValueError: an unknown or unavailable backend was asked for.
    """
    name = backend or available_backends()[0]
    if name not in available_backends():
        raise ValueError(f"terminal backend {name!r} is not available; use one of {available_backends()}")
    return BACKENDS[name](_clamp(cols, MAX_COLS), _clamp(rows, MAX_ROWS), min(scrollback, MAX_ROWS), clusters)


def _clamp(n: int, most: int) -> int:
    return max(1, min(n, most))


__all__ = [
    "BACKENDS",
    "MAX_COLS",
    "MAX_ROWS",
    "AvtTerminal",
    "Clusters",
    "CursorState",
    "PyteTerminal",
    "Terminal",
    "TerminalState",
    "available_backends",
    "cluster_end",
    "make_terminal",
    "prepare",
    "split_incomplete",
]
