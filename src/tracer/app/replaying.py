"""Replaying a session (``tracer replay``): read it and run the Textual app on it.

Notes added in the replay are appended to the session file; ``v`` runs ``tracer verify`` on it in a subprocess.
The terminal keyframes built on the first open are cached (``~/.cache/tracer/keyframes/``), so later opens seek
at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tracer.model import Event
from tracer.replay import ReplayApp
from tracer.store import append_events, read_session
from tracer.store.cache import cache_path


def build_app(path: Path) -> ReplayApp:
    """The replay app for the session at ``path``.

    Raises:
        SessionError: the session cannot be read at all (a corrupt frame after the header is shown in the app).
    """
    session = read_session(path)

    def append(events: Sequence[Event]) -> None:
        append_events(path, events)

    return ReplayApp(
        session,
        append=append,
        verify_argv=[sys.executable, "-m", "tracer", "verify", str(path)],
        keyframe_cache=cache_path("keyframes", session.header.session_id),
        reload=lambda: read_session(path),
    )


def replay(path: Path) -> None:
    """Run the replay of the session at ``path`` until the user quits."""
    build_app(path).run()
