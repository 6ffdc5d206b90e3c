"""Searching a session's command lines and output (escape sequences removed), for ``/`` in the replay."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tracer.model import CommandEnd, CommandStart, Event, Output

#: Escape sequences (CSI, OSC/DCS strings, two-byte ESC sequences) and other control characters but
#: newline and tab.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


def strip_ansi(data: bytes | str) -> str:
    """Terminal output as plain text: UTF-8 decoded, escape sequences removed, ``\\r\\n`` and lone ``\\r``
    turned into ``\\n``."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


@dataclass(frozen=True, slots=True)
class Hit:
    """One match.

    Attributes:
        t: microseconds since session start: the command's start for a command line, else the time of the
            output that holds the match.
        command_id: the command the match belongs to (its line or its output), ``None`` between commands.
        where: ``"command"`` (the command line) or ``"output"``.
        line: the line of plain text holding the match.
        start, end: the match's span in ``line``.
    """

    t: int
    command_id: int | None
    where: str
    line: str
    start: int
    end: int


class _Segment:
    """Output of one command (or between commands) as plain text, with the time each piece arrived."""

    __slots__ = ("command_id", "length", "offsets", "parts", "text", "times")

    def __init__(self, command_id: int | None) -> None:
        self.command_id = command_id
        self.parts: list[str] = []
        self.offsets: list[int] = []
        self.times: list[int] = []
        self.text = ""
        self.length = 0

    def add(self, t: int, text: str) -> None:
        self.offsets.append(self.length)
        self.times.append(t)
        self.parts.append(text)
        self.length += len(text)

    def close(self) -> None:
        self.text = "".join(self.parts)
        self.parts = []

    def time_at(self, offset: int) -> int:
        return self.times[max(0, bisect_right(self.offsets, offset) - 1)]


class SessionSearch:
    """Full-text search over a session, case-insensitive, plain substring.

    The plain text is built on the first :meth:`find` (seconds for 100 MB of output: call it from a worker).

    Args:
        events: the session's events in time order.
        limit: most hits returned by one search.
    """

    def __init__(self, events: Iterable[Event], limit: int = 10_000) -> None:
        self._events = events
        self.limit = limit
        self._commands: list[CommandStart] = []
        self._segments: list[_Segment] | None = None

    def _build(self) -> list[_Segment]:
        segments: list[_Segment] = []
        current: _Segment | None = None
        running: int | None = None
        for e in self._events:
            if isinstance(e, CommandStart):
                self._commands.append(e)
                running = e.id
                current = None
            elif isinstance(e, CommandEnd):
                if running == e.id:
                    running = None
                current = None
            elif isinstance(e, Output):
                if current is None:
                    current = _Segment(running)
                    segments.append(current)
                current.add(e.t, strip_ansi(e.data))
        for segment in segments:
            segment.close()
        return segments

    def find(self, query: str, cancelled: Callable[[], bool] = lambda: False) -> list[Hit]:
        """Every match of ``query`` in time order (at most :attr:`limit`); ``[]`` for an empty query."""
        if not query:
            return []
        if self._segments is None:
            self._segments = self._build()
        pattern = re.compile(re.escape(query), re.IGNORECASE)
        hits: list[Hit] = []
        for c in self._commands:
            for m in pattern.finditer(c.command):
                hits.append(Hit(c.t, c.id, "command", c.command, m.start(), m.end()))
        for segment in self._segments:
            if cancelled() or len(hits) >= self.limit:
                break
            text = segment.text
            for m in pattern.finditer(text):
                line_start = text.rfind("\n", 0, m.start()) + 1
                line_end = text.find("\n", m.end())
                line = text[line_start : line_end if line_end != -1 else len(text)]
                hits.append(
                    Hit(
                        segment.time_at(m.start()),
                        segment.command_id,
                        "output",
                        line,
                        m.start() - line_start,
                        m.end() - line_start,
                    )
                )
                if len(hits) >= self.limit:
                    break
        hits.sort(key=lambda h: (h.t, h.where != "command"))
        return hits


__all__ = ["Hit", "SessionSearch", "strip_ansi"]
