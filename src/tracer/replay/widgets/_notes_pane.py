"""The notes near the current moment; live notes (written while recording) and replay notes told apart."""

from __future__ import annotations

from bisect import bisect_right

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from tracer.model import Note
from tracer.replay.timeline import format_clock

_LIVE = Style(color="#39c5cf", bold=True)
_REPLAY = Style(color="#ff7ab2", bold=True)
_DIM = Style(color="#8b949e")
_CURRENT = Style(bgcolor="#264f78")


class NotesPane(Widget):
    """Shows the note at or before the current moment (marked ``▶``) with the notes around it.

    ``live`` notes come from ``tracer note`` during the recording, ``replay`` notes were added here.
    """

    DEFAULT_CSS = """
    NotesPane {
        height: 7;
        border-top: solid $primary 50%;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.notes: list[Note] = []
        self._times: list[int] = []
        self.current: Note | None = None
        self.position = 0

    def set_notes(self, notes: list[Note]) -> None:
        """Replace the notes (time order)."""
        self.notes = notes
        self._times = [n.t for n in notes]
        self.set_position(self.position, force=True)

    def set_position(self, t: int, force: bool = False) -> None:
        """Follow the current moment ``t`` (microseconds)."""
        self.position = t
        i = bisect_right(self._times, t) - 1
        current = self.notes[i] if i >= 0 else None
        if force or current is not self.current:
            self.current = current
            self.refresh()

    def render(self) -> Text:
        if not self.notes:
            return Text("No notes yet. Press a to add one at this moment.", style="dim")
        height = max(1, self.content_region.height)
        index = self.notes.index(self.current) if self.current is not None else -1
        start = max(0, min(index - height // 2 + 1, len(self.notes) - height))
        lines = []
        for i in range(start, min(len(self.notes), start + height)):
            note = self.notes[i]
            line = Text(no_wrap=True, overflow="ellipsis", end="")
            line.append("▶ " if i == index else "  ", "bold #e3b341")
            line.append(f"{format_clock(note.t):>8} ", _DIM)
            source_style = _LIVE if note.source == "live" else _REPLAY
            line.append(f"{note.source:<6} ", source_style)
            if note.tags:
                line.append(f"[{', '.join(note.tags)}] ", source_style)
            line.append(note.text.replace("\n", " "))
            if i == index:
                line.stylize(_CURRENT)
            lines.append(line)
        out = Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out


__all__ = ["NotesPane"]
