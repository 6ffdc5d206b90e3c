"""Live output of a verify run (``v``), then its verdict."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog


class VerifyPanel(RichLog):
    """A log of the verify command's output (ANSI colours kept), newest at the bottom."""

    DEFAULT_CSS = """
    VerifyPanel {
        background: black;
        color: #d0d0d0;
    }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, wrap=False, markup=False, highlight=False)
        self.lines_written: list[str] = []

    def start(self, argv: list[str]) -> None:
        """Clear the log and show the command about to run."""
        self.clear()
        self.lines_written = []
        self.write(Text("$ " + " ".join(argv), style="bold"))

    def add_output(self, line: str) -> None:
        """Add one line of output (may hold ANSI escape sequences)."""
        self.lines_written.append(line)
        self.write(Text.from_ansi(line))

    def finish(self, verdict: str, exit_status: int | None) -> None:
        """Show the verdict line."""
        ok = verdict in ("passed", "resolved")
        status = "" if exit_status is None else f" (exit {exit_status})"
        self.write(Text(f"verify: {verdict}{status}", style="bold #56d364" if ok else "bold #f85149"))


__all__ = ["VerifyPanel"]
