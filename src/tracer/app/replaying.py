"""Replaying a session (``tracer replay``): run the Textual app on the session file.

The app reads the file itself, a frame at a time, and never holds its output (a 250 MB session stays light).
Notes added in the replay are appended to the session file; ``v`` runs ``tracer verify`` on it in a subprocess.
The session's index and the terminal keyframes built on the first open are cached (``~/.cache/tracer/index/``,
``~/.cache/tracer/keyframes/``), so later opens show the timeline and seek at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tracer.app.live import Live, refuse_while_recording
from tracer.app.verifying import verify_plan
from tracer.errors import TracerError
from tracer.model import Event
from tracer.replay import FileSource, ReplayApp
from tracer.store import append_events
from tracer.store.cache import cache_path


def verify_command(path: Path) -> list[str]:
    """The command that verifies the session at ``path``: this tracer's own entry point, run by this Python.

    ``-P`` keeps the working directory off the import path (Python ≥ 3.11), so modules there (a ``click.py``)
    cannot stand in for tracer's; the environment (``PYTHONPATH``, a venv, an editable install) still counts.
    """
    return [sys.executable, "-P", "-m", "tracer", "verify", str(path)]


def verify_consent(path: Path) -> list[str] | None:
    """What the replay's ``v`` must ask before it verifies the session at ``path``: ``None`` when the session is
    this user's own (or verify will stop with its own message anyway), else the plan's lines (see
    :class:`tracer.app.verifying.VerifyPlan`)."""
    try:
        plan, _, _ = verify_plan(path)
    except TracerError:
        return None  # no start commit, no test command, no sandbox…: verify says so when it runs
    return None if plan.trust.trusted else plan.lines()


def insights_report(workspace: str) -> str:
    """The text of ``tracer insights --repo WORKSPACE`` (ANSI styles), for the replay's ``I``.

    Raises:
        MissingExtra: DuckDB is not installed (``tracer[insights]``).
        InsightsError: the index cannot be read or written.
    """
    from tracer.insights import gather, render  # DuckDB: only when asked for

    return render(gather(repository=workspace), color=True, width=100)


def build_app(path: Path) -> ReplayApp:
    """The replay app for the session at ``path``.

    Raises:
        SessionError: the session cannot be read at all (a corrupt frame after the header is shown in the app).
    """
    source = FileSource(path)
    source.cache = cache_path("index", source.header.session_id)

    def append(events: Sequence[Event]) -> None:
        refuse_while_recording(path, "add notes here once its shell exits, or now with `tracer note` in it")
        append_events(path, events)

    return ReplayApp(
        source,
        append=append,
        verify_argv=verify_command(path),
        verify_consent=lambda: verify_consent(path),
        insights=lambda: insights_report(source.header.workspace),
        keyframe_cache=cache_path("keyframes", source.header.session_id),
        recording=Live().pid(path),
    )
