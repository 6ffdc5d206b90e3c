"""A text report over the replay: the judgement of the session, or the insights of its repository (``I``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tracer.errors import TracerError
from tracer.replay.palette import rgb_text


class ReportScreen(ModalScreen[None]):
    """Shows ``title`` and a report: ``text`` at once, or what ``load()`` returns (called in a worker thread: it
    may take seconds; text with ANSI styles is drawn with them). A :class:`~tracer.errors.TracerError` from
    ``load`` is shown in its place. Escape or ``q`` closes it; up/down/page keys scroll.

    Attributes:
        text: the report shown, ``None`` while it loads.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    ReportScreen {
        align: center middle;
    }
    ReportScreen > VerticalScroll {
        width: 90%;
        max-width: 110;
        height: 85%;
        border: thick $primary;
        border-title-color: $text;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, title: str, text: str | None = None, load: Callable[[], str] | None = None) -> None:
        super().__init__()
        self.title = title
        self.text = text
        self._load_text = load

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title
            yield Static(self._body(self.text) if self.text is not None else Text("Loading…", style="dim"))

    def on_mount(self) -> None:
        if self.text is None and self._load_text is not None:
            self._load(self._load_text)

    @work(thread=True, exclusive=True)
    def _load(self, load: Callable[[], str]) -> None:
        try:
            text = load()
        except TracerError as e:
            text = str(e)
        if self.app.is_running:
            self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        self.text = text
        self.query_one(Static).update(self._body(text))

    @staticmethod
    def _body(text: str) -> Text:
        return rgb_text(Text.from_ansi(text))

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["ReportScreen"]
