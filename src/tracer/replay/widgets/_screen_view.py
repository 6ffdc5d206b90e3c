"""The recorded terminal as it looked at the current moment."""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

from tracer.replay.terminal import CursorState
from tracer.replay.widgets._lines_view import LinesView

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
    """The terminal screen (``cols`` × ``rows`` cells), with the cursor and search matches shown.

    Scrolls when the recorded terminal is larger than the view, and follows the cursor there (as a terminal
    keeps its newest line in sight), so the moment's output is never below the visible part.
    """

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
