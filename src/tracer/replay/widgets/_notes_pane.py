"""The notes near the current moment; live notes (written while recording) and replay notes told apart; adding,
editing and deleting them."""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from tracer.errors import TracerError
from tracer.model import Command, Event, Note, Session, utc_now
from tracer.replay.timeline import format_clock, running_command
from tracer.replay.widgets._confirm_dialog import ConfirmDialog
from tracer.replay.widgets._note_dialog import NoteDialog, NoteDraft

AppendFn = Callable[[list[Event]], None]

_LIVE = Style(color="#39c5cf", bold=True)
_REPLAY = Style(color="#ff7ab2", bold=True)
_DIM = Style(color="#8b949e")
_CURRENT = Style(bgcolor="#264f78")


class NotesPane(Widget):
    """Shows the note at or before the current moment (marked ``▶``) with the notes around it, and owns the
    session's notes: ``a`` adds one at the current moment, ``e`` edits and ``d`` deletes (after asking) the note
    selected in the timeline or else the one marked here. Changes are saved with ``append`` (new versions and
    tombstones: nothing is rewritten); :class:`Changed` is posted after each.

    ``live`` notes come from ``tracer note`` during the recording, ``replay`` notes were added here.
    """

    #: Keys that work wherever the focus is (the app routes them here).
    APP_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_note", "Note"),
        Binding("e", "edit_note", "Edit note", show=False),
        Binding("d", "delete_note", "Delete note", show=False),
    ]

    class Changed(Message):
        """The notes changed (one was added, edited or deleted): ``notes`` as they stand now."""

        def __init__(self, notes: list[Note]) -> None:
            super().__init__()
            self.notes = notes

    DEFAULT_CSS = """
    NotesPane {
        height: 7;
        border-top: solid $primary 50%;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(
        self,
        append: AppendFn | None = None,
        *,
        read_only: str = "This replay is read-only: notes cannot be saved.",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.append = append
        self.read_only = read_only  # what a key that would save a note says when ``append`` is None
        self.notes: list[Note] = []
        self._events: list[Note] = []
        self._session: Session | None = None
        self._times: list[int] = []
        self.current: Note | None = None
        self.selected: Note | None = None
        self.position = 0
        self.commands: list[Command] = []
        self._starts: list[int] = []

    def load(self, session: Session, commands: list[Command]) -> None:
        """Take the notes of ``session`` (events and all its versions) and its commands."""
        self._session = session
        self._events = session.of_type(Note)
        self.commands = commands
        self._starts = [c.start for c in commands]
        self.set_notes(Session(session.path, session.header, list(self._events)).notes())

    def add_events(self, notes: Sequence[Note]) -> None:
        """Take note events written elsewhere (appended to the session since it was read)."""
        if self._session is None or not notes:
            return
        self._events = sorted([*self._events, *notes], key=lambda n: n.t)
        self.set_notes(Session(self._session.path, self._session.header, list(self._events)).notes())
        self.post_message(self.Changed(self.notes))

    def _target(self) -> Note | None:
        return self.selected if self.selected in self.notes else self.current

    def action_add_note(self) -> None:
        """Write a note at the current moment (saved into the session)."""
        if self.append is None:
            self.notify(self.read_only, severity="warning")
            return
        t = self.position
        running = running_command(self.commands, self._starts, t)

        def save(draft: NoteDraft | None) -> None:
            if draft is not None:
                command_id = running.id if running else None
                self._save(
                    Note(
                        t=t,
                        id=uuid.uuid4().hex,
                        text=draft.text,
                        tags=draft.tags,
                        source="replay",
                        command_id=command_id,
                        written_at=utc_now(),
                    ),
                    "Note saved.",
                )

        self.app.push_screen(NoteDialog(f"New note at {format_clock(t)}"), save)

    def action_edit_note(self) -> None:
        """Edit the selected note (or the one marked here): saves a new version."""
        target = self._target()
        if target is None or self.append is None:
            self.notify("No note to edit here." if target is None else self.read_only, timeout=3)
            return

        def save(draft: NoteDraft | None) -> None:
            if draft is not None:
                self._save(
                    Note(
                        t=target.t,
                        id=uuid.uuid4().hex,
                        text=draft.text,
                        tags=draft.tags,
                        source="replay",
                        command_id=target.command_id,
                        replaces=target.id,
                        written_at=utc_now(),
                    ),
                    "Note updated.",
                )

        self.app.push_screen(NoteDialog(f"Edit note at {format_clock(target.t)}", target.text, target.tags), save)

    def action_delete_note(self) -> None:
        """Delete the selected note (or the one marked here), once the user says yes: saves a tombstone."""
        target = self._target()
        if target is None or self.append is None:
            self.notify("No note to delete here." if target is None else self.read_only, timeout=3)
            return
        text = target.text.replace("\n", " ")
        question = f"Delete the note at {format_clock(target.t)}?\n\n“{text[:120]}{'…' if len(text) > 120 else ''}”"

        def answer(yes: bool | None) -> None:
            if yes:
                self._save(
                    Note(
                        t=target.t,
                        id=uuid.uuid4().hex,
                        text="",
                        tags=(),
                        source="replay",
                        command_id=target.command_id,
                        replaces=target.id,
                        deleted=True,
                        written_at=utc_now(),
                    ),
                    "Note deleted.",
                )

        self.app.push_screen(ConfirmDialog(question, "Delete"), answer)

    def _save(self, note: Note, done: str) -> None:
        assert self.append is not None and self._session is not None
        try:
            self.append([note])
        except (TracerError, OSError) as e:
            self.notify(str(e), title="The note was not saved", severity="error", timeout=8)
            return
        self._events = sorted([*self._events, note], key=lambda n: n.t)
        self.set_notes(Session(self._session.path, self._session.header, list(self._events)).notes())
        self.post_message(self.Changed(self.notes))
        self.notify(done, timeout=2)

    def set_notes(self, notes: list[Note]) -> None:
        """Replace the notes (time order)."""
        self.notes = notes
        self._times = [n.t for n in notes]
        if self.selected not in notes:
            self.selected = None
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
