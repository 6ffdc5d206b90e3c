"""Replay: the Textual app that plays a session back (``tracer replay``), its widgets, the terminal
emulator adapter and the keyframes that make seeking fast.

The app layer calls::

    verify_argv = [sys.executable, "-m", "tracer", "verify", path]
    ReplayApp(session, append=append_events, verify_argv=verify_argv).run()
"""

from __future__ import annotations

from tracer.replay.app import IDLE_CAPS, SPEEDS, ReplayApp
from tracer.replay.keyframes import Keyframe, KeyframeIndex, ScreenStream, Seeker
from tracer.replay.terminal import CursorState, Terminal, TerminalState, available_backends, make_terminal

__all__ = [
    "IDLE_CAPS",
    "SPEEDS",
    "CursorState",
    "Keyframe",
    "KeyframeIndex",
    "ReplayApp",
    "ScreenStream",
    "Seeker",
    "Terminal",
    "TerminalState",
    "available_backends",
    "make_terminal",
]
