"""The clock: position / duration, play state, speed and idle-time cap."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tracer.replay.timeline import format_clock


class Clock(Static):
    """``▶ 1:02.3 / 6:12.0  ×2  idle≤2s`` (no wall-clock time in it, so snapshots stay stable)."""

    DEFAULT_CSS = """
    Clock {
        width: auto;
        height: 2;
        padding: 0 1;
        content-align: right middle;
    }
    """

    def set_state(self, position: int, duration: int, playing: bool, speed: float, idle_cap: float | None) -> None:
        """Show ``position`` of ``duration`` (microseconds), play state, speed and idle cap (seconds)."""
        text = Text(no_wrap=True, end="")
        text.append("▶ " if playing else "⏸ ", "bold #56d364" if playing else "bold #e3b341")
        text.append(format_clock(position), "bold")
        text.append(f" / {format_clock(duration)}")
        speed_text = f"{speed:g}" if speed >= 1 else f"{speed:.2f}".rstrip("0")
        text.append(f"\n×{speed_text}", "#39c5cf")
        text.append("  idle≤" + (f"{idle_cap:g}s" if idle_cap else "off"), "#8b949e")
        self.update(text)


__all__ = ["Clock"]
