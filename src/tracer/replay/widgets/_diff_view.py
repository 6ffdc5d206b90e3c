"""A syntax-coloured unified diff: one edit, or the final patch file by file."""

from __future__ import annotations

from rich.text import Text

from tracer.replay.diffs import render_patch
from tracer.replay.widgets._lines_view import LinesView


class DiffView(LinesView):
    """Shows a diff under a title line (see :func:`tracer.replay.diffs.render_patch`)."""

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[Text] = [Text("Select an edit or the final patch in the timeline.", style="dim")]
        self.set_extent(self._lines[0].cell_len, 1)

    def show(self, title: Text, diff: str, empty: str = "(no text diff recorded)") -> None:
        """Show ``diff`` (``git diff`` form) under ``title``; ``empty`` when there is no diff text."""
        body = render_patch(diff) if diff.strip() else [Text(empty, style="dim italic")]
        self._lines = [title, Text(""), *body]
        width = max((line.cell_len for line in self._lines[:5000]), default=0)
        self.set_extent(width, len(self._lines))
        self.scroll_to(0, 0, animate=False)

    @property
    def plain_lines(self) -> list[str]:
        """The lines shown, as plain text."""
        return [line.plain for line in self._lines]

    def get_line(self, index: int) -> Text:
        return self._lines[index]


__all__ = ["DiffView"]
