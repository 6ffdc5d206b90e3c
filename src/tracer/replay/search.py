"""Searching a session's command lines and output (as plain text: escape sequences do not break a match), for
``/`` in the replay.

The output is never held whole: :meth:`SessionSearch.scan` reads it a piece at a time (:data:`PIECE` bytes, cut at
a line end) with the stream's reader, from the moment the search starts to the end and then from the start back to
it, and hands over the hits of each piece as it goes. The match runs on the raw bytes with a pattern that lets
escape sequences and control characters (but line ends) sit between any two bytes of the query, so a word coloured
in two colours is found, and the hit knows its byte position at once.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from tracer.replay.source import SessionIndex

#: Output read at a time by a search (bytes): the regular expression holds the GIL while it runs over a piece,
#: so a piece is small (a few milliseconds) for the UI thread to answer a key meanwhile.
PIECE = 64 << 10
#: Seconds between two reports of a search's progress when it finds nothing.
_REPORT_EVERY = 0.1
#: Longest query searched (bytes).
MAX_QUERY = 256
#: Longest line kept in a hit (characters).
_LINE = 300

#: Escape sequences (CSI, OSC/DCS strings, two-byte ESC sequences) and other control characters but newline and
#: tab.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)
#: What may sit between two bytes of a match: escape sequences and control characters but \n and \r.
_BETWEEN = (
    rb"(?:\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]P_^X][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[ -/]*[0-~])"
    rb"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f])*"
)


def strip_ansi(data: bytes | str) -> str:
    """Terminal output as plain text: UTF-8 decoded, escape sequences removed, ``\\r\\n`` and lone ``\\r``
    turned into ``\\n``."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


def query_pattern(query: str) -> re.Pattern[bytes]:
    """The bytes pattern that finds ``query`` in raw output, case-insensitively (ASCII letters), escape sequences
    allowed between its bytes."""
    data = query.encode("utf-8", "surrogateescape")[:MAX_QUERY]
    return re.compile(_BETWEEN.join(re.escape(bytes([b])) for b in data), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Hit:
    """One match.

    Attributes:
        position: output position of the match (for a command line: where the command's output starts).
        count: the moment the match is on the screen (stream items; a command line: the command's start).
        t: microseconds since session start of that moment.
        command_id: the command the match belongs to (its line or its output), ``None`` between commands.
        where: ``"command"`` (the command line) or ``"output"``.
        line: the line of plain text holding the match (at most 300 characters).
        start, end: the match's span in ``line``.
    """

    position: int
    count: int
    t: int
    command_id: int | None
    where: str
    line: str
    start: int
    end: int

    @property
    def key(self) -> tuple[int, int]:
        """Order of hits: by moment, a command line before the output of its command."""
        return (self.position, 0 if self.where == "command" else 1)


class SessionSearch:
    """Case-insensitive plain-text search over a session's command lines and output.

    Args:
        index: the session's index (its stream's reader must belong to the thread that calls :meth:`scan`: pass a
            :meth:`~tracer.replay.source.ScreenStream.copy` for a worker).
        limit: most hits of one search.
    """

    def __init__(self, index: SessionIndex, limit: int = 10_000) -> None:
        self.index = index
        self.limit = limit
        ranges = sorted((a, b, cid) for cid, (a, b) in index.ranges.items())
        self._starts = [a for a, _, _ in ranges]
        self._ranges = ranges

    def command_of(self, position: int) -> int | None:
        """The command whose output holds the byte at ``position``, if any."""
        i = bisect_right(self._starts, position) - 1
        if i >= 0:
            a, b, cid = self._ranges[i]
            if a <= position < b:
                return cid
        return None

    def command_hits(self, query: str) -> list[Hit]:
        """The matches in command lines."""
        pattern = re.compile(re.escape(query), re.IGNORECASE)
        index = self.index
        hits = []
        for c in index.commands:
            count = index.moments[c.id][0]
            for m in pattern.finditer(c.command):
                hits.append(Hit(index.output_range(c.id)[0], count, c.start, c.id, "command", c.command, *m.span()))
        return hits

    def scan(
        self,
        query: str,
        start: int,
        found: Callable[[list[Hit], float], None],
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        """Search the output from position ``start`` to the end, then from the start to ``start``.

        ``found(hits, done)`` is called with the hits of each piece that has some, and every
        :data:`_REPORT_EVERY` seconds with none, and the fraction searched (1.0 last). Stops after :attr:`limit`
        hits, or when ``cancelled()`` turns true.
        """
        if not query:
            return
        pattern = query_pattern(query)
        total = self.index.stream.total_bytes
        start = max(0, min(start, total))
        spans = [(start, total), (0, start)]
        done = 0
        count = 0
        next_report = time.monotonic() + _REPORT_EVERY
        for a, b in spans:
            position = a
            while position < b and count < self.limit:
                if cancelled():
                    return
                piece = self.index.stream.reader.read(position, min(b, position + PIECE))
                if position + len(piece) < b:
                    cut = piece.rfind(b"\n") + 1
                    if cut > 0:
                        piece = piece[:cut]
                hits = self._hits(pattern, piece, position)[: self.limit - count]
                count += len(hits)
                position += len(piece)
                done += len(piece)
                if hits or time.monotonic() >= next_report:
                    found(hits, done / max(1, total))
                    next_report = time.monotonic() + _REPORT_EVERY
                if count >= self.limit:
                    break
        found([], 1.0)

    def _hits(self, pattern: re.Pattern[bytes], piece: bytes, base: int) -> list[Hit]:
        stream = self.index.stream
        hits = []
        for m in pattern.finditer(piece):
            line_start = piece.rfind(b"\n", 0, m.start()) + 1
            line_end = piece.find(b"\n", m.end())
            line = piece[line_start : line_end if line_end >= 0 else len(piece)]
            ms, me = m.start() - line_start, m.end() - line_start
            seg_start = line.rfind(b"\r", 0, ms) + 1
            seg_end = line.find(b"\r", me)
            segment = line[seg_start : seg_end if seg_end >= 0 else len(line)]
            col = len(strip_ansi(line[seg_start:ms]))
            width = len(strip_ansi(line[ms:me]))
            plain = strip_ansi(segment)
            if col + width > _LINE:  # keep the match in the part shown
                cut = col - _LINE // 3
                plain, col = "…" + plain[cut:], col - cut + 1
            position = base + m.start()
            count = stream.count_after_byte(base + m.end() - 1)
            hits.append(
                Hit(
                    position,
                    count,
                    stream.time_of(count),
                    self.command_of(position),
                    "output",
                    plain[:_LINE],
                    col,
                    col + width,
                )
            )
        return hits


__all__ = ["MAX_QUERY", "PIECE", "Hit", "SessionSearch", "query_pattern", "strip_ansi"]
