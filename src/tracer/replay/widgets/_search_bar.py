"""The search field that ``/`` opens at the bottom."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class SearchBar(Input):
    """Enter searches command lines and output for the text; escape closes.

    Posts :class:`Search` and :class:`Closed`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close search", show=False)]

    DEFAULT_CSS = """
    SearchBar {
        dock: bottom;
        display: none;
        border: tall $accent;
    }
    SearchBar.-open {
        display: block;
    }
    """

    class Search(Message):
        """Search for ``query``."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Closed(Message):
        """The search bar was closed with escape."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Search commands and output…  (enter: search, escape: close)", id=id)

    def open(self) -> None:
        """Show the bar and focus it, its text selected."""
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        """Hide the bar."""
        self.remove_class("-open")

    async def action_submit(self) -> None:
        self.post_message(self.Search(self.value))
        self.close()

    def action_close(self) -> None:
        self.close()
        self.post_message(self.Closed())


__all__ = ["SearchBar"]
