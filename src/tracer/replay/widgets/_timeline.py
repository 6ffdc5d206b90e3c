"""The timeline: one row for the start state (uncommitted changes at start), one per command, edit and note, the
final patch and the verdict (Line API: 100,000 rows draw as fast as 10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tracer.model import Command, FileChange, FinalPatch, JudgeResult, Note
from tracer.replay.timeline import Item, StartState, Verdict, format_clock, format_duration, patch_counts

_OK = Style(color="#56d364", bold=True)
_FAIL = Style(color="#f85149", bold=True)
_RUNNING = Style(color="#e3b341", bold=True)
_DIM = Style(color="#8b949e")
_EDIT = Style(color="#d2a8ff")
_JUDGE = Style(color="#79c0ff", bold=True)
_LIVE = Style(color="#39c5cf")
_REPLAY = Style(color="#ff7ab2")
_NOW = Style(color="#e3b341", bold=True)
_HIT = Style(bgcolor="#5a4a00")
_SELECTED = Style(bgcolor="#264f78")
_VERDICT_STYLES = {
    "resolved": _OK,
    "passed": _OK,
    "failed": _FAIL,
    "timeout": _FAIL,
    "error": _FAIL,
    "running": _RUNNING,
}


#: Row widths (cells) from which the time column, then the exit status and duration columns, are shown: below
#: them a narrow timeline gives the command line the room.
_WITH_TIME, _WITH_DETAILS = 44, 36


def render_item(item: Item, width: int = 80) -> Text:
    """One timeline row (without the gutter) for a timeline ``width`` cells wide: time, mark, and what happened
    (the time, exit status and duration columns left out where they would crowd out the command line)."""
    row = Text(no_wrap=True, end="")
    ref = item.ref
    if width >= _WITH_TIME:
        row.append(f"{format_clock(item.t):>8} " if item.kind not in ("verify", "judge") else " " * 9, _DIM)
    if isinstance(ref, Command):
        details = width >= _WITH_DETAILS
        if ref.exit_status is None:
            row.append("… ", _RUNNING)
            row.append("    " if details else "")
        elif ref.failed:
            row.append("✗ ", _FAIL)
            row.append(f"{ref.exit_status:<3} " if details else f"{ref.exit_status} ", _FAIL)
        else:  # ✓, or ↩ for a bare `exit`: the status of the command before it, no failure of its own
            row.append("↩ " if ref.exit_status else "✓ ", _DIM if ref.exit_status else _OK)
            row.append(f"{ref.exit_status:<3} " if details else "", _DIM)
        if details:
            row.append(f"{format_duration(ref.duration):>6} ", _DIM)
        first, _, more = ref.command.partition("\n")
        row.append(first + (" …" if more else ""), _FAIL if ref.failed else None)
    elif isinstance(ref, FileChange):
        row.append("✎ ", _EDIT)
        label = f"{ref.old_path} → {ref.path}" if ref.op == "rename" and ref.old_path else ref.path
        row.append(label, _EDIT)
        if ref.binary or ref.oversized:
            row.append("  binary" if ref.binary else "  oversized", _DIM)
        else:
            row.append(f"  +{ref.added}", _OK)
            row.append(f" −{ref.removed}", _FAIL)
        if ref.op in ("create", "delete"):
            row.append(f"  ({ref.op}d)" if ref.op == "create" else "  (deleted)", _DIM)
    elif isinstance(ref, Note):
        style = _LIVE if ref.source == "live" else _REPLAY
        row.append("● ", style)
        if ref.tags:
            row.append(f"[{', '.join(ref.tags)}] ", style)
        row.append(ref.text.replace("\n", " "))
    elif isinstance(ref, FinalPatch):
        n = ref.changes
        _patch_row(row, f"final patch: {n} file{'s' if n != 1 else ''}", ref.patch, _EDIT)
    elif isinstance(ref, StartState):
        _patch_row(row, f"start state: {ref.files} file{'s' if ref.files != 1 else ''} uncommitted", ref.patch, _DIM)
        if ref.omitted:
            row.append(f"  {len(ref.omitted)} left out", _FAIL)
    elif isinstance(ref, Verdict):
        style = _VERDICT_STYLES.get(ref.verdict, _FAIL)
        row.append("⚖ ", style)
        row.append(f"verify: {ref.verdict}", style)
        if ref.exit_status is not None:
            row.append(f" (exit {ref.exit_status})", _DIM)
        if ref.detail:
            row.append(f"  {ref.detail}", _DIM)
    elif isinstance(ref, JudgeResult):
        row.append("⚖ ", _JUDGE)
        row.append("judge: ", _JUDGE)
        row.append(ref.headline(), _DIM)
    return row


def _patch_row(row: Text, label: str, patch: str, style: Style) -> None:
    """``row`` with a patch's mark, ``label`` and its added and removed lines."""
    added, removed = patch_counts(patch)
    row.append("± ", style)
    row.append(label, style)
    row.append(f"  +{added}", _OK)
    row.append(f" −{removed}", _FAIL)


class Timeline(ScrollView, can_focus=True, inherit_bindings=False):
    """The session's rows in order of their moments; the row at the current moment is marked ``▶``.

    Up/down move the selection (and show that row's output or diff), enter or a click goes to it; ←/→, c/C and
    m/M go to the next or previous command, edit or note from the current moment (wherever the focus is).
    """

    #: Keys that work wherever the focus is (the app routes them here).
    APP_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step('command', -1)", "Prev command", key_display="←", group=Binding.Group("Commands")),
        Binding("right", "step('command', 1)", "Next command", key_display="→", group=Binding.Group("Commands")),
        Binding("c", "step('edit', 1)", "Next edit", show=False),
        Binding("C", "step('edit', -1)", "Prev edit", show=False),
        Binding("m", "step('note', 1)", "Next note", show=False),
        Binding("M", "step('note', -1)", "Prev note", show=False),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Previous row", show=False),
        Binding("down", "cursor_down", "Next row", show=False),
        Binding("pageup", "page_up_rows", "Page up", show=False),
        Binding("pagedown", "page_down_rows", "Page down", show=False),
        Binding("ctrl+home", "first_row", "First row", show=False),
        Binding("ctrl+end", "last_row", "Last row", show=False),
        Binding("enter", "activate", "Seek to row", show=False),
    ]

    DEFAULT_CSS = """
    Timeline {
        background: $surface;
        overflow-x: hidden;
    }
    Timeline:focus {
        background-tint: $foreground 3%;
    }
    """

    class Selected(Message):
        """The selection moved to ``item`` (row ``index``)."""

        def __init__(self, index: int, item: Item) -> None:
            super().__init__()
            self.index = index
            self.item = item

    class Activated(Message):
        """The user asked to go to ``item`` (enter or a click)."""

        def __init__(self, index: int, item: Item) -> None:
            super().__init__()
            self.index = index
            self.item = item

    def __init__(self, now: Callable[[], tuple[int, int]] | None = None, *, id: str | None = None) -> None:
        """``now()``: the current moment ``(count, t)`` (the player's; by default :attr:`moment`, which the app
        keeps)."""
        super().__init__(id=id)
        self._now = now
        self._stepped: tuple[int, int] | None = None  # where the last step went, until the moment gets there
        self.items: list[Item] = []
        self.selected: int | None = None
        self.current: int | None = None
        self.hit: int | None = None
        self._cache: dict[int, Text] = {}
        self.placeholder = "Loading…"
        self.moment = (0, 0)

    def set_items(self, items: list[Item]) -> None:
        """Replace the rows; keeps the selection on the same moment where it can."""
        self.items = items
        self._cache.clear()
        if self.selected is not None and self.selected >= len(items):
            self.selected = len(items) - 1 if items else None
        self.virtual_size = Size(self.size.width, len(items))
        self.refresh()

    def set_current(self, index: int | None) -> None:
        """Mark row ``index`` as the one at the current moment."""
        if index != self.current:
            self.current = index
            self.refresh()

    def set_hit(self, index: int | None) -> None:
        """Mark row ``index`` as holding the current search hit."""
        if index != self.hit:
            self.hit = index
            self.refresh()

    def select(self, index: int | None, *, scroll: bool = True, notify: bool = True) -> None:
        """Select row ``index`` (posts :class:`Selected` when ``notify``)."""
        if index is not None:
            index = max(0, min(index, len(self.items) - 1)) if self.items else None
        changed = index != self.selected
        self.selected = index
        if index is not None and scroll:
            self._scroll_to_row(index)
        if changed:
            self.refresh()
        if notify and index is not None and changed:
            self.post_message(self.Selected(index, self.items[index]))

    def _scroll_to_row(self, index: int) -> None:
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if not self.items:
            if y == 0:
                return Strip(list(Text(" " + self.placeholder, style="dim").render(self.app.console))).crop_extend(
                    0, width, base
                )
            return Strip.blank(width, base)
        if index >= len(self.items):
            return Strip.blank(width, base)
        row = self._cache.get(index)
        if row is None:
            row = render_item(self.items[index], width)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[index] = row
        line = Text(no_wrap=True, end="")
        line.append("▶" if index == self.current else " ", _NOW)
        line.append_text(row)
        if index == self.hit:
            line.stylize(_HIT)
        if index == self.selected:
            line.stylize(_SELECTED)
        strip = Strip(list(line.render(self.app.console)))
        return strip.crop_extend(0, width, None).apply_style(base)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.items))
        self._cache.clear()

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self.items):
            self.select(index)
            self.post_message(self.Activated(index, self.items[index]))

    def action_cursor_up(self) -> None:
        self.select((self.selected if self.selected is not None else (self.current or 0) + 1) - 1)

    def action_cursor_down(self) -> None:
        self.select((self.selected if self.selected is not None else (self.current or 0) - 1) + 1)

    def action_page_up_rows(self) -> None:
        self.select((self.selected or 0) - max(1, self.scrollable_content_region.height - 1))

    def action_page_down_rows(self) -> None:
        self.select((self.selected or 0) + max(1, self.scrollable_content_region.height - 1))

    def action_first_row(self) -> None:
        self.select(0)

    def action_last_row(self) -> None:
        self.select(len(self.items) - 1)

    def action_activate(self) -> None:
        if self.selected is not None and self.items:
            self.post_message(self.Activated(self.selected, self.items[self.selected]))

    def moved(self, moment: tuple[int, int]) -> None:
        """The current moment is now ``moment`` (``(count, t)``)."""
        self.moment = moment
        self._stepped = None

    def action_step(self, kind: str, direction: int) -> None:
        """Go to the next (``direction`` 1) or previous (-1) row of ``kind`` from the current moment (or from where
        the last step went, when keys come faster than the moment moves)."""
        now = self._stepped or (self._now() if self._now is not None else self.moment)
        rows = range(len(self.items)) if direction > 0 else range(len(self.items) - 1, -1, -1)
        for i in rows:
            item = self.items[i]
            if item.kind == kind and (item.moment > now if direction > 0 else item.moment < now):
                self._stepped = item.moment
                self.select(i, notify=False)
                self.post_message(self.Activated(i, item))
                return
        self.notify(f"No {'next' if direction > 0 else 'previous'} {kind}.", timeout=2)


__all__ = ["Timeline", "render_item"]
