"""The dialog that writes or edits a note: text and tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList

#: Tags offered as check boxes; others can be typed.
TAGS = ("hypothesis", "dead-end", "fix", "insight")


@dataclass(frozen=True, slots=True)
class NoteDraft:
    """What the dialog returns: the note's text and tags."""

    text: str
    tags: tuple[str, ...]


class NoteDialog(ModalScreen[NoteDraft | None]):
    """Asks for a note's text and tags; dismisses with a :class:`NoteDraft`, or ``None`` when cancelled.

    Enter in the text field or ctrl+s saves, escape cancels. An empty text is refused.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    DEFAULT_CSS = """
    NoteDialog {
        align: center middle;
    }
    NoteDialog > Vertical {
        width: 72;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    NoteDialog SelectionList {
        height: 6;
        margin: 1 0 0 0;
    }
    NoteDialog #note-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    NoteDialog Button {
        margin-left: 2;
    }
    NoteDialog #note-error {
        color: $error;
        height: auto;
    }
    """

    def __init__(self, title: str, text: str = "", tags: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._title = title
        self._text = text
        self._tags = tags

    def compose(self) -> ComposeResult:
        other = ", ".join(t for t in self._tags if t not in TAGS)
        with Vertical():
            yield Label(self._title, id="note-title")
            yield Input(self._text, placeholder="What did you think, try, or find?", id="note-text")
            yield SelectionList[str](*((tag, tag, tag in self._tags) for tag in TAGS), id="note-tag-list")
            yield Input(other, placeholder="other tags, comma-separated", id="note-tags")
            yield Label("", id="note-error")
            with Horizontal(id="note-buttons"):
                yield Button("Cancel", id="note-cancel")
                yield Button("Save", variant="primary", id="note-save")

    def on_mount(self) -> None:
        self.query_one("#note-text", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "note-save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        text = self.query_one("#note-text", Input).value.strip()
        if not text:
            self.query_one("#note-error", Label).update("A note needs some text.")
            return
        chosen = list(self.query_one("#note-tag-list", SelectionList).selected)
        typed = [t.strip() for t in self.query_one("#note-tags", Input).value.split(",") if t.strip()]
        tags = tuple(dict.fromkeys([*chosen, *typed]))
        self.dismiss(NoteDraft(text, tags))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["TAGS", "NoteDialog", "NoteDraft"]
