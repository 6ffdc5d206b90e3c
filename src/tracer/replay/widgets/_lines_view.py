"""A scrollable view of styled text lines drawn with the Line API (only visible lines are rendered)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LinesView(ScrollView, can_focus=True, inherit_bindings=False):
    """Base of the replay's text views: :meth:`get_line` gives line ``i`` of :attr:`line_count`.

    Scrolls with the wheel and up/down/page keys (left/right are left to the app: they step commands).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_home", "Top", show=False),
        Binding("ctrl+end", "scroll_end", "Bottom", show=False),
    ]

    DEFAULT_CSS = """
    LinesView {
        background: $surface;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.line_count = 0
        self.content_width = 0

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def set_extent(self, width: int, lines: int) -> None:
        """Set the scrollable size (cells × lines) and redraw."""
        self.line_count = lines
        self.content_width = width
        self.virtual_size = Size(width, lines)
        self.refresh()

    def get_line(self, index: int) -> Text:
        """Line ``index`` (0 ≤ index < :attr:`line_count`)."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= self.line_count:
            return Strip.blank(width, style)
        strip = Strip(list(self.get_line(index).render(self.app.console)))
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(style)


__all__ = ["LinesView"]
