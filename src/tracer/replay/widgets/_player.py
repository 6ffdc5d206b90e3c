"""Playback: the current moment, play/pause, speed and idle-time cap, with the seek bar and the clock."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_right
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message

from tracer.replay.widgets._clock import Clock
from tracer.replay.widgets._seek_bar import SeekBar

#: Playback speeds offered by ``[``/``]`` (and ``-``/``+``).
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: Idle-time caps offered by ``i`` (seconds; ``None``: no cap).
IDLE_CAPS = (0.5, 1.0, 2.0, 5.0, None)
#: Playback frames per second.
_FPS = 30
#: Seconds moved by shift+←/→.
_JUMP = 5.0


class Player(Horizontal):
    """Owns the current moment: ``t`` (microseconds since session start) and ``count`` (stream items shown), and
    plays it forward. Shows the seek bar and the clock; posts :class:`Moved` whenever the moment changes.

    A moment reached by time (playing, the seek bar, shift+←/→) shows every item at or before that time; one
    reached by :meth:`go_to` (a command, a search hit) shows exactly ``count`` items.
    """

    #: Keys that work wherever the focus is (the app routes them here).
    APP_BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play", key_display="space"),
        Binding("shift+left", "jump(-1)", "Back 5 s", show=False),
        Binding("shift+right", "jump(1)", "Forward 5 s", show=False),
        Binding("home", "seek_start", "Start", show=False),
        Binding("end", "seek_end", "End", show=False),
        Binding("left_square_bracket,minus", "slower", "Slower", key_display="[", show=False),
        Binding("right_square_bracket,plus,equals_sign", "faster", "Faster", key_display="]", show=False),
        Binding("i", "cycle_idle_cap", "Idle cap", show=False),
    ]

    DEFAULT_CSS = """
    Player {
        height: 2;
    }
    """

    class Moved(Message):
        """The moment changed to ``count`` items at ``t`` microseconds; ``follow``: the timeline selection follows."""

        def __init__(self, t: int, count: int, follow: bool) -> None:
            super().__init__()
            self.t = t
            self.count = count
            self.follow = follow

    def __init__(self, *, idle_time_limit: float | None = 2.0, speed: float = 1.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.t = 0
        self.count = 0
        self.duration = 0
        self.end_count = 0
        self.playing = False
        self.speed = speed if speed in SPEEDS else 1.0
        self.idle_cap: float | None = idle_time_limit
        self.times: array[int] = array("q")
        self._last_tick = 0.0
        self.pending_end = False
        self._ready = False

    def compose(self) -> ComposeResult:
        yield SeekBar(id="seekbar")
        yield Clock(id="clock")

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / _FPS, self.tick, name="playback", pause=True)
        self._update_clock()

    @property
    def ready(self) -> bool:
        """Whether the stream is known (:meth:`set_stream` was called)."""
        return self._ready

    def set_stream(self, times: array[int], duration: int, marks: list[tuple[int, str]]) -> None:
        """Play along the stream whose items happened at ``times`` (microseconds), ``duration`` long."""
        self.times = times
        self.duration = duration
        self.end_count = len(times)
        self._ready = True
        self.query_one(SeekBar).set_marks(duration, marks)
        if self.pending_end:
            self.pending_end = False
            self.go_to(self.end_count, duration)
        else:
            self._update_clock()

    def count_at(self, t: int) -> int:
        """How many stream items happened at or before ``t``."""
        return bisect_right(self.times, t)

    def seek(self, t: int, follow: bool = True) -> None:
        """Go to time ``t`` (microseconds; clamped to the session)."""
        t = max(0, min(t, self.duration))
        self.go_to(self.count_at(t), t, follow)

    def go_to(self, count: int, t: int, follow: bool = True) -> None:
        """Go to the moment after ``count`` stream items, at ``t`` microseconds."""
        self.t, self.count = t, count
        self.query_one(SeekBar).set_position(t)
        self._update_clock()
        self.post_message(self.Moved(t, count, follow))

    def tick(self) -> None:
        """One frame of playback."""
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if not self.playing or not self.ready:
            return
        target = self.t + elapsed * self.speed * 1e6
        times = self.times
        if self.idle_cap is not None and len(times):
            i = bisect_right(times, self.t)
            previous = times[i - 1] if i > 0 else 0
            following = times[i] if i < len(times) else self.duration
            cap = self.idle_cap * 1e6
            if following - previous > cap and target > previous + cap:
                target = max(target, following)
        if target >= self.duration:
            target = self.duration
            self.set_playing(False)
        t = round(target)
        self.go_to(max(self.count, self.count_at(t)), t)

    def set_playing(self, playing: bool) -> None:
        """Play or pause."""
        self.playing = playing
        if playing:
            self._last_tick = time.monotonic()
            self._timer.resume()
        else:
            self._timer.pause()
        self._update_clock()

    def _update_clock(self) -> None:
        self.query_one(Clock).set_state(self.t, self.duration, self.playing, self.speed, self.idle_cap)

    def on_seek_bar_seeked(self, message: SeekBar.Seeked) -> None:
        message.stop()
        self.seek(message.t)

    def action_toggle_play(self) -> None:
        """Play or pause (at the end, play starts again from the beginning)."""
        if not self.playing and self.t >= self.duration:
            self.seek(0)
        self.set_playing(not self.playing)

    def action_faster(self) -> None:
        """Double the playback speed (up to 16×)."""
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[min(i + 1, len(SPEEDS) - 1)]
        self._update_clock()

    def action_slower(self) -> None:
        """Halve the playback speed (down to 0.25×)."""
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[max(i - 1, 0)]
        self._update_clock()

    def action_cycle_idle_cap(self) -> None:
        """Next idle-time cap: 0.5 s, 1 s, 2 s, 5 s, off."""
        i = IDLE_CAPS.index(self.idle_cap) if self.idle_cap in IDLE_CAPS else 1
        self.idle_cap = IDLE_CAPS[(i + 1) % len(IDLE_CAPS)]
        self._update_clock()

    def action_seek_start(self) -> None:
        """Go to the start."""
        self.go_to(0, 0)

    def action_seek_end(self) -> None:
        """Go to the end (once the session is read, when it is still being read)."""
        if not self.ready:
            self.pending_end = True
            self.notify("Going to the end once the session is read…", timeout=2)
            return
        self.go_to(self.end_count, self.duration)

    def action_jump(self, direction: int) -> None:
        """Move 5 s back (``-1``) or forward (``1``)."""
        self.seek(self.t + direction * round(_JUMP * 1e6))


__all__ = ["IDLE_CAPS", "SPEEDS", "Player"]
