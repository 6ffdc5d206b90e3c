"""Search: the field that ``/`` opens at the bottom, and the hits (``n``/``N``)."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from tracer.replay import pacing
from tracer.replay.search import Hit, SessionSearch
from tracer.replay.source import SessionIndex
from tracer.replay.timeline import format_clock


class SearchBar(Input):
    """Enter searches command lines and output for the text (case-insensitive, escape sequences ignored); escape
    closes. The output is searched in a worker from the current moment on, then from the start: the first hit
    after the moment is shown as soon as it is found, and ``n``/``N`` step through the hits while the rest come in.

    Posts :class:`Updated` (a status line, and the hit to show) and :class:`Closed`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close search", show=False)]
    #: Keys that work wherever the focus is (the app routes them here).
    APP_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "open", "Search", key_display="/"),
        Binding("n", "step(1)", "Next hit", show=False),
        Binding("N", "step(-1)", "Prev hit", show=False),
    ]

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

    class Updated(Message):
        """The search's state changed: ``status`` to show; ``hit`` (number ``index``) to go to, if any."""

        def __init__(self, status: Text | str, hit: Hit | None = None, index: int | None = None) -> None:
            super().__init__()
            self.status = status
            self.hit = hit
            self.index = index

    class Closed(Message):
        """The search bar was closed with escape (or a search started)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="Search commands and output…  (enter: search, escape: close)", id=id)
        self.index: SessionIndex | None = None
        self.position = 0  # output position of the current moment: where a search starts
        self.searched: str | None = None
        self.hits: list[Hit] = []
        self._keys: list[tuple[int, int]] = []
        self.hit_index: int | None = None
        self.done = 0.0
        self._start = 0
        self._generation = 0

    def set_index(self, index: SessionIndex) -> None:
        """Search this session."""
        self.index = index

    def action_open(self) -> None:
        """Show the bar and focus it."""
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        """Hide the bar."""
        self.remove_class("-open")

    async def action_submit(self) -> None:
        self.close()
        self.post_message(self.Closed())
        self.search(self.value.strip())

    def action_close(self) -> None:
        self.close()
        self.post_message(self.Closed())

    def search(self, query: str) -> None:
        """Search for ``query`` (empty: clear the search)."""
        self._generation += 1
        self.workers.cancel_group(self, "search")
        self.hits, self._keys, self.hit_index, self.done = [], [], None, 0.0
        if not query or self.index is None:
            self.searched = None
            self.post_message(self.Updated(""))
            return
        self.searched = query
        self._start = self.position
        search = SessionSearch(dataclasses.replace(self.index, stream=self.index.stream.copy()))
        self._add(self._generation, search.command_hits(query), 0.0)
        self.post_message(self.Updated(f"Searching for “{query}”…"))
        self._scan(search, query, self._generation, self._start)

    @work(thread=True, exclusive=True, group="search")
    def _scan(self, search: SessionSearch, query: str, generation: int, start: int) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()

        def found(hits: list[Hit], done: float) -> None:
            if not worker.is_cancelled:  # a message, not call_from_thread: the search does not wait for the UI
                self.post_message(self._Found(generation, hits, done))

        search.scan(query, start, found, cancelled=pacing.pausing(lambda: worker.is_cancelled))

    class _Found(Message):
        """Hits of a search (``generation``) found in a worker, and the fraction searched."""

        def __init__(self, generation: int, hits: list[Hit], done: float) -> None:
            super().__init__()
            self.generation, self.hits, self.done = generation, hits, done

    def on_search_bar__found(self, message: _Found) -> None:
        message.stop()
        self._add(message.generation, message.hits, message.done)

    def _add(self, generation: int, hits: list[Hit], done: float) -> None:
        if generation != self._generation:
            return
        self.done = done
        for hit in hits:
            at = bisect_left(self._keys, hit.key)
            self._keys.insert(at, hit.key)
            self.hits.insert(at, hit)
            if self.hit_index is not None and at <= self.hit_index:
                self.hit_index += 1
        if self.hit_index is None:
            assert self.index is not None
            total = self.index.stream.total_bytes
            reached = self._start + round(done * total)  # the scan goes from the start position to the end first
            first = bisect_left(self._keys, (self._start, 0))
            if first < len(self.hits) and (self.hits[first].position < reached or reached >= total):
                self.show(first)
                return
            if done >= 1.0 and self.hits:
                self.show(0)
                return
            if done >= 1.0:
                self.post_message(self.Updated(Text(f"No match for “{self.searched}”.", style="#f85149")))
                return
            self.post_message(self.Updated(f"Searching for “{self.searched}”… {done:.0%}"))
            return
        if hits or done >= 1.0:
            self.post_message(self.Updated(self.status()))

    def status(self) -> Text:
        """The status line of the hit shown."""
        if self.hit_index is None or not self.hits:
            return Text("")
        hit = self.hits[self.hit_index]
        searching = "" if self.done >= 1.0 else f" (searching… {self.done:.0%})"
        return Text.assemble(
            (f"“{self.searched}” {self.hit_index + 1}/{len(self.hits)}{searching}", "bold #e3b341"),
            f"  {format_clock(hit.t)}  {hit.where}: ",
            hit.line.strip()[:200],
            "   (n/N: next/previous, / new search)",
        )

    def show(self, i: int) -> None:
        """Go to hit number ``i``."""
        self.hit_index = i
        self.post_message(self.Updated(self.status(), self.hits[i], i))

    def action_step(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) hit."""
        if not self.hits:
            self.notify("No search hits: press / to search.", timeout=2)
            return
        if self.hit_index is None:
            self.show(0 if direction > 0 else len(self.hits) - 1)
        else:
            self.show((self.hit_index + direction) % len(self.hits))


__all__ = ["SearchBar"]
