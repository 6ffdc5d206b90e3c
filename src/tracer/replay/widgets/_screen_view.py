"""The recorded terminal as it looked at the current moment, and the keyframes that make any moment quick."""

from __future__ import annotations

import re
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import work
from textual.message import Message

from tracer.replay import pacing
from tracer.replay.keyframes import KeyframeIndex, Seeker
from tracer.replay.source import ScreenStream
from tracer.replay.terminal import CursorState, Terminal
from tracer.replay.widgets._lines_view import LinesView
from tracer.store.cache import load_cache, save_cache

_CURSOR = Style(reverse=True)
_MATCH = Style(color="black", bgcolor="#e3b341", bold=True)


def _char_index(text: Text, col: int) -> int | None:
    """Index in ``text.plain`` of the character drawn at cell ``col`` (wide characters take two cells)."""
    from rich.cells import cell_len

    cells = 0
    for i, ch in enumerate(text.plain):
        width = cell_len(ch)
        if cells + width > col:
            return i
        cells += width
    return None


class ScreenView(LinesView):
    """The terminal screen (``cols`` × ``rows`` cells) at the current moment, with the cursor and search matches.

    Owns the session's keyframes: :meth:`load` starts building them in a worker (or takes them from the cache),
    :meth:`show_moment` shows any moment, exactly when the keyframes reach it and at once from the output just
    before it when they do not yet (the title says so; the exact screen follows when the build gets there).

    Scrolls when the recorded terminal is larger than the view, and follows the cursor there (as a terminal
    keeps its newest line in sight), so the moment's output is never below the visible part.
    """

    class KeyframesProgress(Message):
        """The keyframe build fed ``done`` of ``total`` stream items."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    DEFAULT_CSS = """
    ScreenView {
        background: black;
        color: #d0d0d0;
        border-top: solid #30363d;
        border-title-align: right;
        border-title-color: #8b949e;
        border-subtitle-color: #e3b341;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[Text] = []
        self._cursor: CursorState | None = None
        self._highlight: re.Pattern[str] | None = None
        self.keyframes: KeyframeIndex | None = None
        self._seeker: Seeker | None = None
        self._cache: Path | None = None
        self.count = 0
        self.approximate = False

    def load(self, stream: ScreenStream, backend: str | None, every_bytes: int | None, cache: Path | None) -> None:
        """Show moments of ``stream``: keyframes from ``cache`` when it holds them, else built in a worker (and
        saved there)."""
        keyframes = None
        if cache is not None and backend in (None, "avt"):
            keyframes = KeyframeIndex.from_cache(stream, load_cache(cache), every_bytes)
        if keyframes is None:
            keyframes = KeyframeIndex(stream, backend, every_bytes=every_bytes)
        self.keyframes = keyframes
        self._seeker = Seeker(keyframes)
        self._cache = cache
        if not keyframes.complete:
            self.call_after_refresh(self._build, keyframes)  # after the first screen is drawn

    @work(thread=True, exclusive=True, group="keyframes")
    def _build(self, index: KeyframeIndex) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()

        def progress(done: int, total: int) -> None:
            if self.approximate or done == total:  # only an approximate screen needs to hear of it
                self.post_message(self.KeyframesProgress(done, total))

        # Sleeping 1 ms per 64 KiB (~1-3 ms of emulation) leaves the UI thread the GIL for its frames.
        index.build(cancelled=pacing.pausing(lambda: worker.is_cancelled), progress=progress, yield_every=0.001)
        if index.complete and self._cache is not None:
            data = index.to_cache()
            if data is not None:
                save_cache(self._cache, data)

    def on_screen_view_keyframes_progress(self, message: KeyframesProgress) -> None:
        if self.approximate:
            self.show_moment(self.count)

    def show_moment(self, count: int) -> None:
        """Show the screen after ``count`` stream items."""
        seeker, index = self._seeker, self.keyframes
        self.count = count
        if seeker is None or index is None:
            return
        if not index.complete and seeker.cost(count) > 4 * index.every_bytes:
            terminal = seeker.approximate(count)
            self.approximate = True
        else:
            terminal = seeker.seek(count)
            self.approximate = not seeker.exact
        self._show_terminal(terminal)

    def _show_terminal(self, terminal: Terminal) -> None:
        self.show(terminal.lines(), terminal.cursor)
        title = f"{terminal.cols}×{terminal.rows}" + (" · alternate screen" if terminal.alternate else "")
        index = self.keyframes
        if self.approximate and index is not None:
            done = 100 * index.built // max(1, len(index.stream))
            title = f"approximate: indexing the output… {done}% · " + title
        self.border_title = title

    def show(self, lines: list[Text], cursor: CursorState | None) -> None:
        """Show these screen lines (from :meth:`tracer.replay.terminal.Terminal.lines`) and cursor."""
        self._lines = lines
        self._cursor = cursor
        width = max((line.cell_len for line in lines), default=0)
        self.set_extent(width, len(lines))
        self._follow_cursor()

    def _follow_cursor(self) -> None:
        cursor = self._cursor
        height = self.scrollable_content_region.height
        if cursor is None or height <= 0 or len(self._lines) <= height:
            return
        top = self.scroll_offset.y
        if cursor.row >= top + height:
            self.scroll_to(y=cursor.row - height + 1, animate=False, immediate=True)
        elif cursor.row < top:
            self.scroll_to(y=cursor.row, animate=False, immediate=True)

    def highlight(self, query: str | None) -> None:
        """Mark every case-insensitive occurrence of ``query`` on the screen (``None``: none)."""
        self._highlight = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self.refresh()

    @property
    def plain_lines(self) -> list[str]:
        """What the view shows, as plain text with trailing blanks removed."""
        return [line.plain.rstrip() for line in self._lines]

    def get_line(self, index: int) -> Text:
        text = self._lines[index]
        cursor = self._cursor
        marked = (cursor is not None and cursor.visible and cursor.row == index) or self._highlight is not None
        if not marked:
            return text
        text = text.copy()
        if self._highlight is not None:
            for m in self._highlight.finditer(text.plain):
                text.stylize(_MATCH, m.start(), m.end())
        if cursor is not None and cursor.visible and cursor.row == index:
            i = _char_index(text, cursor.col)
            if i is None:
                text.append(" ", _CURSOR)
            else:
                text.stylize(_CURSOR, i, i + 1)
        return text


__all__ = ["ScreenView"]
