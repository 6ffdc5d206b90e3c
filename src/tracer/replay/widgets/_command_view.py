"""The selected command's own output as one block, colours kept, even after the screen scrolled past it."""

from __future__ import annotations

import re

from rich.ansi import AnsiDecoder
from rich.style import Style
from rich.text import Text

from tracer.replay.widgets._lines_view import LinesView

_MATCH = Style(color="black", bgcolor="#e3b341", bold=True)
_CURRENT = Style(color="black", bgcolor="#ff8f40", bold=True, underline=True)
_FULL_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)h")


def _lines_of(output: bytes) -> list[str]:
    """Output split in lines; within a line, text overwritten after a lone ``\\r`` (progress bars) dropped."""
    text = output.decode("utf-8", errors="replace").replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(line.rsplit("\r", 1)[-1] if "\r" in line else line for line in text.split("\n"))
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class CommandView(LinesView):
    """A command's output (ANSI colours kept, as :meth:`rich.text.Text.from_ansi` would) under a title line.

    Lines are decoded lazily as they scroll into view, so a command with megabytes of output opens at once.
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
        self._raw: list[str] = []
        self._decoded: list[Text] = []
        self._decoder = AnsiDecoder()
        self._match: re.Pattern[str] | None = None
        self._current: tuple[int, int, int] | None = None
        self.command_id: int | None = None

    def show(self, command_id: int | None, title: Text, output: bytes) -> None:
        """Show ``output`` (raw bytes) under ``title``."""
        self.command_id = command_id
        self._title = title
        self._raw = _lines_of(output)
        if _FULL_SCREEN.search(output):
            self._raw.insert(0, "\x1b[2;3m(a full-screen program: the Screen view shows it as it was)\x1b[0m")
        self._decoded = []
        self._decoder = AnsiDecoder()
        self._current = None
        width = max(title.cell_len, min(max((len(line) for line in self._raw[:2000]), default=0), 1000))
        self.set_extent(width, len(self._raw) + 1)
        self.scroll_to(0, 0, animate=False)

    def highlight(self, query: str | None, line: int | None = None, start: int = 0, end: int = 0) -> None:
        """Mark every match of ``query``; the one at output ``line``, ``start``..``end`` (plain text
        columns) stands out and is scrolled into view."""
        self._match = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self._current = (line, start, end) if line is not None else None
        if line is not None:
            self.scroll_to(0, max(0, line + 1 - self.size.height // 2), animate=False)
        self.refresh()

    def find_line(self, needle: str, start: int, end: int) -> int | None:
        """The output line whose plain text holds ``needle`` at ``start``..``end``, first one found."""
        for i in range(len(self._raw)):
            plain = self._decoded_line(i).plain
            if plain[start:end].lower() == needle.lower():
                return i
        return None

    @property
    def plain_lines(self) -> list[str]:
        """The output lines as plain text (decodes them all)."""
        return [self._decoded_line(i).plain for i in range(len(self._raw))]

    def _decoded_line(self, i: int) -> Text:
        decoded = self._decoded
        while len(decoded) <= i:
            decoded.append(self._decoder.decode_line(self._raw[len(decoded)]))
        return decoded[i]

    def get_line(self, index: int) -> Text:
        if index == 0:
            return self._title
        text = self._decoded_line(index - 1)
        if self._match is None:
            return text
        text = text.copy()
        for m in self._match.finditer(text.plain):
            text.stylize(_MATCH, m.start(), m.end())
        if self._current is not None and self._current[0] == index - 1:
            text.stylize(_CURRENT, self._current[1], self._current[2])
        return text


__all__ = ["CommandView"]
