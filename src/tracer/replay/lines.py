"""A command's output as lines, found without reading it: the stream's newline counts per block say where line
``i`` starts within a block, and only that block is read.

Opening a command with 250 MB of output costs two reads of at most one block (the line count); showing a page
costs reading that page (and at most one block before it).
"""

from __future__ import annotations

from bisect import bisect_right

from tracer.replay.source import BLOCK, ScreenStream

#: Longest part of a line that is read and shown (bytes); the rest of a longer line is cut (marked ``…``).
MAX_LINE = 16 * 1024


class OutputLines:
    """The lines of the output between positions ``start`` and ``stop`` of ``stream``.

    Lines end at ``\\n``; a line's text is what a terminal would finally show of it: after a lone ``\\r`` (a
    progress bar redrawn in place) only the last state is kept. Use from one thread (the stream's reader's).
    """

    def __init__(self, stream: ScreenStream, start: int, stop: int) -> None:
        self.stream = stream
        self.start = start
        self.stop = stop
        self._read = stream.reader.read
        self._first = self.newlines_before(start)
        newlines = self.newlines_before(stop) - self._first
        ends_open = stop > start and self._read(stop - 1, stop) != b"\n"
        self.count = newlines + (1 if ends_open else 0)
        self._cursor = (0, start)  # (line, its start): where the last lookup ended, for pages read in order

    def newlines_before(self, position: int) -> int:
        """How many ``\\n`` the output holds before ``position`` (reads at most one block)."""
        block = position // BLOCK
        newlines = self.stream.newlines
        if block >= len(newlines):
            block = len(newlines) - 1
        base = block * BLOCK
        return newlines[block] + self._read(base, position).count(b"\n")

    def line_of(self, position: int) -> int:
        """The line that holds the byte at ``position`` (``start`` ≤ position < ``stop``)."""
        return self.newlines_before(position) - self._first

    def line_start(self, i: int) -> int:
        """Where line ``i`` starts (an output position)."""
        if i <= 0:
            return self.start
        line, position = self._cursor
        target = self._first + i  # newlines before line i's start, counted from the output's start
        if not (line <= i and i - line < 256):
            # from the block whose start has the most newlines before it without passing the target
            newlines = self.stream.newlines
            block = bisect_right(newlines, target - 1) - 1
            position = max(self.start, block * BLOCK)
            line = self.newlines_before(position) - self._first
        while line < i:
            chunk = self._read(position, min(self.stop, position + BLOCK))
            if not chunk:
                break
            found = chunk.count(b"\n")
            if line + found < i:
                line += found
                position += len(chunk)
                continue
            at = -1
            for _ in range(i - line):
                at = chunk.index(b"\n", at + 1)
            position += at + 1
            line = i
        self._cursor = (line, position)
        return position

    def raw(self, i: int) -> bytes:
        """Line ``i``'s bytes as written (without its ``\\n``; at most :data:`MAX_LINE` of them)."""
        start = self.line_start(i)
        chunk = self._read(start, min(self.stop, start + MAX_LINE + 1))
        end = chunk.find(b"\n")
        if end >= 0:
            self._cursor = (i + 1, start + end + 1)
            return chunk[:end]
        if len(chunk) <= MAX_LINE:
            return chunk
        # a line longer than MAX_LINE: its last state after a \r if there is one near its end, else its head
        stop = self.line_start(i + 1) if i + 1 < self.count else self.stop
        tail = self._read(max(start, stop - MAX_LINE), stop).rstrip(b"\n")
        cr = tail.rstrip(b"\r").rfind(b"\r")
        return tail[cr + 1 :] if cr >= 0 else chunk[:MAX_LINE] + "…".encode()

    def text(self, i: int) -> str:
        """Line ``i`` as the terminal finally showed it (escape sequences kept, ``\\r`` states collapsed)."""
        line = self.raw(i).decode("utf-8", errors="replace")
        if line.endswith("\r"):
            line = line[:-1]
        if "\r" in line:
            line = line.rsplit("\r", 1)[-1]
        return line


__all__ = ["MAX_LINE", "OutputLines"]
