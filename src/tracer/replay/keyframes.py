"""Seeking in a session's terminal output without replaying it from the start.

:class:`KeyframeIndex` feeds the :class:`~tracer.replay.source.ScreenStream` once, in the background, to a terminal
and saves a snapshot every :attr:`~tracer.replay.terminal.Terminal.keyframe_bytes` of output (and at least every
``every_us`` of session time), and right after every resize. :class:`Seeker` shows the screen at any moment (a
count of stream items): it restores the nearest earlier keyframe and feeds forward, or simply feeds forward when
that is shorter (playback).

A snapshot holds the screen, its modes and the cursor, not the scrollback. The scrollback only shows when the
window grows (lines come back from it), so a restored terminal is exact until the next resize, and the index has a
keyframe right after each resize, built by feeding straight through it: a seek never feeds through a resize from a
restored state when the index is built that far (:attr:`Seeker.exact` says whether it had to).

Until the index reaches a moment, :meth:`Seeker.approximate` shows it at once from the last
:data:`APPROXIMATE_BYTES` of output before it, fed to a blank terminal: right for output that scrolls, possibly
wrong in colours, modes or a full-screen program's screen, which the exact screen replaces once the index gets
there.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracer.replay.source import SLICE, ScreenStream
from tracer.replay.terminal import Terminal, TerminalState, available_backends, make_terminal

#: Version of the data :meth:`KeyframeIndex.to_cache` writes.
_CACHE_VERSION = 3  # (3: screens with the values recorded before they were recognised masked)
#: Output bytes before a moment that :meth:`Seeker.approximate` feeds.
APPROXIMATE_BYTES = 64 * 1024


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


class KeyframeIndex:
    """Snapshots of the terminal along a :class:`ScreenStream`, built once (see :meth:`build`).

    Safe to read from one thread (:meth:`nearest`) while another builds.

    Args:
        stream: the stream to index.
        backend: terminal backend (``None``: the fastest available).
        every_bytes: output bytes between keyframes (default: the backend's ``keyframe_bytes``; more for terminals
            so large that their snapshots would cost more than 1/32 of the output they stand for).
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
        blank = self._terminal(backend)
        self.backend = blank.backend
        self.every_bytes = every_bytes or blank.keyframe_bytes
        self._adaptive = every_bytes is None
        self.every_us = every_us
        self._lock = threading.Lock()
        self._keyframes = [Keyframe(0, 0, blank.snapshot())]
        self._counts = [0]
        self._built = 0  # items fed by the build so far
        self.complete = len(stream) == 0

    def _terminal(self, backend: str | None) -> Terminal:
        s = self.stream
        return make_terminal(s.cols, s.rows, backend, scrollback=s.scrollback, clusters=s.clusters)

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
        """Feed the whole stream once and keep a keyframe every ``every_bytes`` (or ``every_us``), and after every
        resize.

        Meant for a background thread (it reads the output with its own reader). Stops early, leaving the index
        usable but incomplete, when ``cancelled()`` turns true. ``progress(items_done, items_total)`` is called
        after each keyframe. ``yield_every``: seconds to sleep after each 64 KiB fed, so that a UI thread gets
        the GIL.
        """
        stream = self.stream.copy()
        terminal = self._terminal(self.backend)
        offsets, times, resizes = stream.offsets, stream.times, stream.resizes
        last_offset, last_t = 0, 0
        every = self.every_bytes
        n = len(stream)
        i = 0
        while i < n:
            if cancelled():
                return
            # feed up to the next resize, keyframe or slice, whichever comes first
            stop = i + 1
            if i not in resizes:
                limit = min(last_offset + every, offsets[i] + SLICE)
                stop = min(n, max(i + 1, bisect_right(offsets, limit, i + 1, n + 1) - 1))
                stop = min(stop, bisect_left(times, last_t + self.every_us, i, n) + 1)  # a keyframe due by time
                resize = stream.resize_between(i, stop)
                if resize is not None:
                    stop = resize
            stream.apply(terminal, i, stop)
            i = stop
            self._built = i
            if yield_every:
                time.sleep(yield_every)
            fed = offsets[i] - last_offset
            if (i - 1) in resizes or fed >= every or (fed >= 1024 and times[i - 1] - last_t >= self.every_us):
                state = terminal.snapshot()
                keyframe = Keyframe(i, times[i - 1], state)
                with self._lock:
                    self._keyframes.append(keyframe)
                    self._counts.append(i)
                last_offset, last_t = offsets[i], times[i - 1]
                if self._adaptive:
                    every = max(self.every_bytes, 32 * _state_size(state))
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
            "clusters": self.stream.clusters.to_data(),
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
                Keyframe(count, t, TerminalState("avt", cols, rows, bytes(pending), (str(dump), bool(alternate))))
                for count, t, cols, rows, pending, dump, alternate in data["frames"]
            ]
            clusters = [str(x) for x in data["clusters"]]
            if not keyframes or keyframes[0].count != 0 or not stream.clusters.load(clusters):
                return None
        except (KeyError, TypeError, ValueError):
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


def _state_size(state: TerminalState) -> int:
    data = state.data
    return len(data[0]) if isinstance(data, tuple) and isinstance(data[0], str) else 0


class Seeker:
    """The terminal at any moment of a stream, using a :class:`KeyframeIndex`.

    Not thread-safe: use it from one thread (the UI's), with the stream's reader of that thread.

    Attributes:
        exact: whether the terminal shows its moment exactly: False when the last :meth:`seek` had to feed through
            a resize from a restored keyframe (the index is not built that far yet; see the module's docstring).
    """

    def __init__(self, index: KeyframeIndex) -> None:
        self.index = index
        self.stream = index.stream
        self.terminal = index._terminal(index.backend)
        self.count = 0  # items applied to self.terminal
        self._straight = True  # fed from the blank start, never restored: its scrollback is whole
        self.exact = True

    def _clean(self, start: int, target: int, straight: bool) -> bool:
        return straight or self.stream.resize_between(start, target) is None

    def cost(self, target: int) -> int:
        """Output bytes :meth:`seek` would feed to reach ``target`` items with the keyframes built now."""
        offsets = self.stream.offsets
        keyframe = self.index.nearest(target)
        from_keyframe = offsets[target] - offsets[keyframe.count]
        if self.count <= target:
            return min(offsets[target] - offsets[self.count], from_keyframe)
        return from_keyframe

    def seek(self, target: int) -> Terminal:
        """Bring the terminal to the moment after ``target`` stream items.

        Returns:
            The terminal (the same object each time; read it before the next seek).
        """
        target = max(0, min(target, len(self.stream)))
        if target == self.count:
            return self.terminal
        offsets = self.stream.offsets
        keyframe = self.index.nearest(target)
        restore_exact = self._clean(keyframe.count, target, keyframe.count == 0)
        options = [(not restore_exact, offsets[target] - offsets[keyframe.count], "restore")]
        if self.count <= target:
            forward_exact = self.exact and self._clean(self.count, target, self._straight)
            options.append((not forward_exact, offsets[target] - offsets[self.count], "forward"))
        inexact, _, way = min(options)
        if way == "restore":
            self.terminal.restore(keyframe.state)
            self.count = keyframe.count
            self._straight = keyframe.count == 0
        self.exact = not inexact
        self.stream.apply(self.terminal, self.count, target)
        self.count = target
        return self.terminal

    def approximate(self, target: int) -> Terminal:
        """The moment after ``target`` items as :data:`APPROXIMATE_BYTES` of output before it show it on a blank
        terminal (cheap whatever the index has built; see the module's docstring). A terminal of its own."""
        stream = self.stream
        cols, rows = stream.size_at(target)
        terminal = make_terminal(cols, rows, self.index.backend, clusters=stream.clusters)
        stop = stream.offsets[target]
        start = max(0, stop - APPROXIMATE_BYTES)
        resize = stream.resize_between(0, target)
        if resize is not None:
            start = max(start, stream.offsets[resize])
        if start > 0:
            head = stream.reader.read(start, min(stop, start + 4096))
            start += head.find(b"\n") + 1  # from the start of a line (or where it was)
        stream.feed(terminal, start, stop)
        return terminal


__all__ = ["APPROXIMATE_BYTES", "Keyframe", "KeyframeIndex", "ScreenStream", "Seeker"]
