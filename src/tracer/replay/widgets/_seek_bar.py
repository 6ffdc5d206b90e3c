"""The seek bar: where we are in the session, with commands, edits and notes marked; click or drag to seek."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

#: Marks in order of importance: the most important one of a column is drawn.
MARK_KINDS = ("command", "edit", "note", "failed")

_MARK_GLYPHS = {
    "command": ("╷", Style(color="#56d364")),
    "edit": ("✎", Style(color="#d2a8ff")),
    "note": ("●", Style(color="#ff7ab2")),
    "failed": ("✗", Style(color="#f85149", bold=True)),
}
_DONE = Style(color="#39c5cf")
_TODO = Style(color="#484f58")
_KNOB = Style(color="#ffffff", bold=True)


class SeekBar(Widget):
    """A two-line bar over the session's duration: marks above, progress and knob below.

    Clicking or dragging posts :class:`Seeked` with the moment under the mouse.
    """

    DEFAULT_CSS = """
    SeekBar {
        height: 2;
        width: 1fr;
        padding: 0 1;
    }
    """

    ALLOW_SELECT: ClassVar[bool] = False

    class Seeked(Message):
        """The user clicked or dragged to ``t`` (microseconds since session start)."""

        def __init__(self, t: int) -> None:
            super().__init__()
            self.t = t

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.duration = 0  # microseconds
        self.position = 0  # microseconds
        self._marks: list[tuple[int, str]] = []
        self._columns: list[str | None] | None = None
        self._dragging = False

    def set_marks(self, duration: int, marks: list[tuple[int, str]]) -> None:
        """Set the duration (microseconds) and the marks: ``(t, kind)`` with kind from :data:`MARK_KINDS`."""
        self.duration = max(0, duration)
        self._marks = marks
        self._columns = None
        self.refresh()

    def set_position(self, t: int) -> None:
        """Move the knob to ``t`` (microseconds)."""
        if t != self.position:
            self.position = t
            self.refresh()

    def _x_of(self, t: int, width: int) -> int:
        if self.duration <= 0 or width <= 1:
            return 0
        return max(0, min(width - 1, round(t * (width - 1) / self.duration)))

    def t_at(self, x: int) -> int:
        """The moment under content column ``x`` (microseconds)."""
        width = self.content_region.width
        if width <= 1 or self.duration <= 0:
            return 0
        return round(max(0, min(x, width - 1)) * self.duration / (width - 1))

    def _mark_columns(self, width: int) -> list[str | None]:
        if self._columns is None or len(self._columns) != width:
            rank = {kind: i for i, kind in enumerate(MARK_KINDS)}
            columns: list[str | None] = [None] * width
            for t, kind in self._marks:
                x = self._x_of(t, width)
                old = columns[x]
                if old is None or rank[kind] > rank[old]:
                    columns[x] = kind
            self._columns = columns
        return self._columns

    def render(self) -> Text:
        width = self.content_region.width
        if width <= 0:
            return Text("")
        marks = Text(no_wrap=True, end="")
        for kind in self._mark_columns(width):
            if kind is None:
                marks.append(" ")
            else:
                glyph, style = _MARK_GLYPHS[kind]
                marks.append(glyph, style)
        knob = self._x_of(self.position, width)
        bar = Text(no_wrap=True, end="")
        bar.append("━" * knob, _DONE)
        bar.append("●", _KNOB)
        bar.append("─" * (width - knob - 1), _TODO)
        return Text("\n").join([marks, bar])

    def _seek_to(self, x: int) -> None:
        self.post_message(self.Seeked(self.t_at(x - self.styles.padding.left)))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragging = True
        self.capture_mouse()
        self._seek_to(event.x)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._seek_to(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            self._seek_to(event.x)


__all__ = ["MARK_KINDS", "SeekBar"]
