"""Replay: the Textual app that plays a session back (``tracer replay``), its widgets, the terminal
emulator adapter, the session index that keeps the output on disk, and the keyframes that make seeking fast.

The app layer calls::

    verify_argv = [sys.executable, "-P", "-m", "tracer", "verify", path]
    ReplayApp(path, append=append_events, verify_argv=verify_argv).run()
"""

from __future__ import annotations

from tracer.replay.app import IDLE_CAPS, SPEEDS, ReplayApp
from tracer.replay.keyframes import Keyframe, KeyframeIndex, Seeker
from tracer.replay.source import FileSource, MemorySource, ScreenStream, SessionIndex, SessionSource, open_source
from tracer.replay.terminal import CursorState, Terminal, TerminalState, available_backends, make_terminal

__all__ = [
    "IDLE_CAPS",
    "SPEEDS",
    "CursorState",
    "FileSource",
    "Keyframe",
    "KeyframeIndex",
    "MemorySource",
    "ReplayApp",
    "ScreenStream",
    "Seeker",
    "SessionIndex",
    "SessionSource",
    "Terminal",
    "TerminalState",
    "available_backends",
    "make_terminal",
    "open_source",
]
