"""Replaying a session (``tracer replay``): read it and run the Textual app on it.

Notes added in the replay are appended to the session file; ``v`` runs ``tracer verify`` on it in a subprocess.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tracer.model import Event
from tracer.replay import ReplayApp
from tracer.store import append_events, read_session


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
    )


def replay(path: Path) -> None:
    """Run the replay of the session at ``path`` until the user quits."""
    build_app(path).run()
