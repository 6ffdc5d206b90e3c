"""Seeking in a session's terminal output without replaying it from the start.

:class:`ScreenStream` lists what changes the screen (output bytes, split at the recorded read boundaries,
and resizes) with their times. :class:`KeyframeIndex` feeds the stream once, in the background, to a
terminal and saves a snapshot every :attr:`~tracer.replay.terminal.Terminal.keyframe_bytes` of output (and
at least every ``every_us`` of session time). :class:`Seeker` shows the screen at any moment: it restores
the nearest earlier keyframe and feeds forward, or simply feeds forward when that is shorter (playback).

Keyframes live in memory only (the session's event types are fixed by :mod:`tracer.model`).
"""

from __future__ import annotations

import threading
import time
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tracer.model import Event, Header, Output, Resize
from tracer.replay.terminal import Terminal, TerminalState, available_backends, make_terminal

#: Largest slice fed to the emulator in one call (bytes), so a background build never holds the GIL long.
_SLICE = 64 * 1024
#: Version of the data :meth:`KeyframeIndex.to_cache` writes.
_CACHE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Keyframe:
    """The terminal after the first ``count`` items of a :class:`ScreenStream`.

    Attributes:
        count: number of stream items applied.
        t: microseconds since session start of the last item applied (0 for the blank start).
        state: the terminal's snapshot.
    """

    count: int
    t: int
    state: TerminalState


class ScreenStream:
    """What changes the screen, in time order.

    Attributes:
        cols, rows: the size at the start (from the header).
        times: microseconds since session start, one per item, non-decreasing.
        items: output bytes, or ``(cols, rows)`` for a resize.
        offsets: ``offsets[i]`` is the number of output bytes before item ``i`` (``len(items) + 1`` entries).
    """

    def __init__(self, cols: int, rows: int) -> None:
        self.cols = cols
        self.rows = rows
        self.times: list[int] = []
        self.items: list[bytes | tuple[int, int]] = []
        self.offsets: list[int] = [0]

    @classmethod
    def from_events(cls, header: Header, events: Iterable[Event]) -> ScreenStream:
        """Collect the ``output`` and ``resize`` events; an output that coalesced several PTY reads
        (:attr:`Output.reads`) becomes one item per read, at the read's own time."""
        stream = cls(header.cols, header.rows)
        times, items, offsets = stream.times, stream.items, stream.offsets
        total = 0
        last_t = 0
        for e in events:
            kind = type(e)
            if kind is Output:
                assert isinstance(e, Output)
                if e.reads:
                    start = 0
                    for end, delay in e.reads:
                        if end > start:
                            last_t = max(last_t, e.t + delay)
                            times.append(last_t)
                            items.append(e.data[start:end])
                            total += end - start
                            offsets.append(total)
                            start = end
                    if start < len(e.data):
                        times.append(max(last_t, e.t))
                        items.append(e.data[start:])
                        total += len(e.data) - start
                        offsets.append(total)
                elif e.data:
                    last_t = max(last_t, e.t)
                    times.append(last_t)
                    items.append(e.data)
                    total += len(e.data)
                    offsets.append(total)
            elif kind is Resize:
                assert isinstance(e, Resize)
                last_t = max(last_t, e.t)
                times.append(last_t)
                items.append((e.cols, e.rows))
                offsets.append(total)
        return stream

    def __len__(self) -> int:
        return len(self.items)

    @property
    def total_bytes(self) -> int:
        """Output bytes in the whole stream."""
        return self.offsets[-1]

    def fingerprint(self) -> list[int]:
        """A cheap identity of the stream (size, length, total bytes, last time, a CRC of its ends), so a
        cached index is used only for the stream it was built from."""
        crc = 0
        for item in (self.items[:1] + self.items[-1:]) if self.items else []:
            crc = zlib.crc32(item if isinstance(item, bytes) else bytes(item), crc)
        return [self.cols, self.rows, len(self.items), self.total_bytes, self.times[-1] if self.times else 0, crc]

    def count_at(self, t: int) -> int:
        """How many items happened at or before ``t`` (microseconds)."""
        return bisect_right(self.times, t)

    def apply(self, terminal: Terminal, start: int, stop: int) -> None:
        """Feed items ``start`` (included) to ``stop`` (excluded) to ``terminal``."""
        items = self.items
        for i in range(start, stop):
            item = items[i]
            if isinstance(item, tuple):
                terminal.resize(*item)
            elif len(item) <= _SLICE:
                terminal.feed(item)
            else:
                for j in range(0, len(item), _SLICE):
                    terminal.feed(item[j : j + _SLICE])


class KeyframeIndex:
    """Snapshots of the terminal along a :class:`ScreenStream`, built once (see :meth:`build`).

    Safe to read from one thread (:meth:`nearest`) while another builds.

    Args:
        stream: the stream to index.
        backend: terminal backend (``None``: the fastest available).
        every_bytes: output bytes between keyframes (default: the backend's ``keyframe_bytes``).
        every_us: session time between keyframes when some output (1 KiB or more) happened in between.
    """

    def __init__(
        self,
        stream: ScreenStream,
        backend: str | None = None,
        every_bytes: int | None = None,
        every_us: int = 30_000_000,
    ) -> None:
        self.stream = stream
        blank = make_terminal(stream.cols, stream.rows, backend)
        self.backend = blank.backend
        self.every_bytes = every_bytes or blank.keyframe_bytes
        self.every_us = every_us
        self._lock = threading.Lock()
        self._keyframes = [Keyframe(0, 0, blank.snapshot())]
        self._counts = [0]
        self._built = 0  # items fed by the build so far
        self.complete = len(stream) == 0

    @property
    def built(self) -> int:
        """How many stream items the build has fed so far."""
        return self._built

    def __len__(self) -> int:
        return len(self._keyframes)

    def build(
        self,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[int, int], None] | None = None,
        yield_every: float = 0.0,
    ) -> None:
        """Feed the whole stream once and keep a keyframe every ``every_bytes`` (or ``every_us``).

        Meant for a background thread. Stops early, leaving the index usable but incomplete, when
        ``cancelled()`` turns true. ``progress(items_done, items_total)`` is called after each keyframe.
        ``yield_every``: seconds to sleep after each 64 KiB fed, so that a UI thread gets the GIL.
        """
        stream = self.stream
        terminal = make_terminal(stream.cols, stream.rows, self.backend)
        offsets, times = stream.offsets, stream.times
        last_offset, last_t = 0, 0
        last_yield = 0
        n = len(stream)
        i = 0
        while i < n:
            if cancelled():
                return
            stream.apply(terminal, i, i + 1)
            i += 1
            self._built = i
            if yield_every and offsets[i] - last_yield >= _SLICE:
                time.sleep(yield_every)
                last_yield = offsets[i]
            fed = offsets[i] - last_offset
            if fed >= self.every_bytes or (fed >= 1024 and times[i - 1] - last_t >= self.every_us):
                keyframe = Keyframe(i, times[i - 1], terminal.snapshot())
                with self._lock:
                    self._keyframes.append(keyframe)
                    self._counts.append(i)
                last_offset, last_t = offsets[i], times[i - 1]
                if progress is not None:
                    progress(i, n)
        self.complete = True
        if progress is not None:
            progress(n, n)

    def to_cache(self) -> dict[str, Any] | None:
        """The complete index as plain data for a cache file (see :meth:`from_cache`); ``None`` while it is
        incomplete, or for a backend whose states are not plain data (pyte)."""
        if not self.complete or self.backend != "avt":
            return None
        with self._lock:
            frames = [
                [k.count, k.t, k.state.cols, k.state.rows, k.state.pending, k.state.data[0], k.state.data[1]]
                for k in self._keyframes
            ]
        return {
            "version": _CACHE_VERSION,
            "stream": self.stream.fingerprint(),
            "every_bytes": self.every_bytes,
            "frames": frames,
        }

    @classmethod
    def from_cache(cls, stream: ScreenStream, data: Any, every_bytes: int | None = None) -> KeyframeIndex | None:
        """A complete index rebuilt from :meth:`to_cache`'s data, or ``None`` when the data does not belong
        to ``stream`` (another session, more output, another format) or cannot be used here."""
        try:
            if (
                not isinstance(data, dict)
                or data.get("version") != _CACHE_VERSION
                or data.get("stream") != stream.fingerprint()
                or "avt" not in available_backends()
                or (every_bytes is not None and data.get("every_bytes") != every_bytes)
            ):
                return None
            index = cls(stream, "avt", every_bytes=data["every_bytes"])
            keyframes = [
                Keyframe(count, t, TerminalState("avt", cols, rows, bytes(pending), (dump, bool(alternate))))
                for count, t, cols, rows, pending, dump, alternate in data["frames"]
            ]
        except (KeyError, TypeError, ValueError):
            return None
        if not keyframes or keyframes[0].count != 0:
            return None
        index._keyframes = keyframes
        index._counts = [k.count for k in keyframes]
        index._built = len(stream)
        index.complete = True
        return index

    def nearest(self, count: int) -> Keyframe:
        """The keyframe with the most items applied, at most ``count``."""
        with self._lock:
            return self._keyframes[bisect_right(self._counts, count) - 1]


class Seeker:
    """The terminal at any moment of a stream, using a :class:`KeyframeIndex`.

    Not thread-safe: use it from one thread (the UI's).
    """

    def __init__(self, index: KeyframeIndex) -> None:
        self.index = index
        self.stream = index.stream
        self.terminal = make_terminal(self.stream.cols, self.stream.rows, index.backend)
        self.count = 0  # items applied to self.terminal

    def cost(self, t: int) -> int:
        """Output bytes :meth:`seek` would feed to reach ``t`` (microseconds) with the keyframes built now."""
        target = self.stream.count_at(t)
        offsets = self.stream.offsets
        keyframe = self.index.nearest(target)
        from_keyframe = offsets[target] - offsets[keyframe.count]
        if self.count <= target:
            return min(offsets[target] - offsets[self.count], from_keyframe)
        return from_keyframe

    def seek(self, t: int) -> Terminal:
        """Bring the terminal to moment ``t`` (microseconds: every item at or before ``t`` applied).

        Returns:
            The terminal (the same object each time; read it before the next seek).
        """
        target = self.stream.count_at(t)
        if target == self.count:
            return self.terminal
        offsets = self.stream.offsets
        keyframe = self.index.nearest(target)
        forward = offsets[target] - offsets[self.count] if self.count <= target else None
        if forward is None or forward > offsets[target] - offsets[keyframe.count]:
            self.terminal.restore(keyframe.state)
            self.count = keyframe.count
        self.stream.apply(self.terminal, self.count, target)
        self.count = target
        return self.terminal


__all__ = ["Keyframe", "KeyframeIndex", "ScreenStream", "Seeker"]
