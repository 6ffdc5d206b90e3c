"""The selected command's own output as one block, colours kept, even after the screen scrolled past it."""

from __future__ import annotations

import re
from collections import OrderedDict

from rich.ansi import AnsiDecoder
from rich.style import Style
from rich.text import Text

from tracer.replay.lines import OutputLines
from tracer.replay.palette import rgb_text
from tracer.replay.widgets._lines_view import LinesView

_MATCH = Style(color="black", bgcolor="#e3b341", bold=True)
_CURRENT = Style(color="black", bgcolor="#ff8f40", bold=True, underline=True)
_FULL_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)h")
#: Decoded lines kept (a few pages).
_KEEP = 2000


class CommandView(LinesView):
    """A command's output (ANSI colours kept, in xterm's palette) under a title line.

    The output is paged: only the lines in view are read (from the session file for a session on disk) and
    decoded, so a command with 250 MB of output opens and scrolls at once, in memory bounded by the view.
    """

    DEFAULT_CSS = """
    CommandView {
        background: black;
        color: #d0d0d0;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._title: Text = Text("No command selected.", style="dim")
        self._lines: OutputLines | None = None
        self._notice: Text | None = None
        self._decoded: OrderedDict[int, Text] = OrderedDict()
        self._match: re.Pattern[str] | None = None
        self._current: tuple[int, int, int] | None = None
        self.command_id: int | None = None
        self.set_extent(self._title.cell_len, 1)

    @property
    def _head(self) -> int:
        """Lines above the output: the title, and the notice about full-screen programs."""
        return 1 if self._notice is None else 2

    def show(self, command_id: int | None, title: Text, lines: OutputLines | None) -> None:
        """Show the output ``lines`` under ``title``."""
        self.command_id = command_id
        self._title = title
        self._lines = lines
        self._decoded.clear()
        self._current = None
        self._notice = None
        count = 0
        width = title.cell_len
        if lines is not None:
            count = lines.count
            head = lines.stream.reader.read(lines.start, min(lines.stop, lines.start + 64 * 1024))
            if _FULL_SCREEN.search(head):
                self._notice = Text("(a full-screen program: the Screen view shows it as it was)", style="dim italic")
            width = max([width, *(self._decoded_line(i).cell_len for i in range(min(count, 200)))])
        self.set_extent(min(width, 1000), count + self._head)
        self.scroll_to(0, 0, animate=False)

    def highlight(self, query: str | None, line: int | None = None, start: int = 0, end: int = 0) -> None:
        """Mark every match of ``query``; the one at output ``line``, ``start``..``end`` (plain text
        columns) stands out and is scrolled into view."""
        self._match = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self._current = (line, start, end) if line is not None else None
        if line is not None:
            self.scroll_to(0, max(0, line + self._head - self.size.height // 2), animate=False)
        self.refresh()

    def line_of(self, position: int) -> int | None:
        """The output line holding the byte at output ``position``, when it is this command's."""
        lines = self._lines
        if lines is None or not lines.start <= position < lines.stop:
            return None
        return lines.line_of(position)

    @property
    def plain_lines(self) -> list[str]:
        """The output lines as plain text (decodes them all: for small outputs and tests)."""
        lines = self._lines
        return [self._decoded_line(i).plain for i in range(lines.count if lines is not None else 0)]

    def _decoded_line(self, i: int) -> Text:
        text = self._decoded.get(i)
        if text is None:
            assert self._lines is not None
            text = rgb_text(AnsiDecoder().decode_line(self._lines.text(i)))
            self._decoded[i] = text
            if len(self._decoded) > _KEEP:
                self._decoded.popitem(last=False)
        return text

    def get_line(self, index: int) -> Text:
        if index == 0:
            return self._title
        if self._notice is not None and index == 1:
            return self._notice
        i = index - self._head
        text = self._decoded_line(i)
        if self._match is None:
            return text
        text = text.copy()
        for m in self._match.finditer(text.plain):
            text.stylize(_MATCH, m.start(), m.end())
        if self._current is not None and self._current[0] == i:
            text.stylize(_CURRENT, self._current[1], self._current[2])
        return text


__all__ = ["CommandView"]
