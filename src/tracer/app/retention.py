"""Deleting sessions (``tracer rm``, ``tracer purge``, ``retention_days``) with everything derived from them.

The session files and the store's caches (summaries, the replay's index and keyframes) go in
:func:`tracer.store.retention.remove`; the sessions' rows leave the insights index here, which rewrites its file
so that no trace of them stays in freed blocks. At the start of ``tracer shell`` (``retention_days``) the index
is left alone, to keep DuckDB off the way to the prompt: the next ``tracer insights`` drops the rows of
sessions that are gone.
"""

from __future__ import annotations

from tracer.app.live import Live
from tracer.store.retention import Victim, remove


def remove_sessions(victims: list[Victim], *, forget: bool = True) -> int:
    """Delete the sessions ``victims`` and what was derived from them; the number of sessions deleted. A session
    being recorded now is never deleted: see :func:`recording`, to leave those out and say so first.

    Args:
        forget: also take them out of the insights index (``False`` at the start of ``tracer shell``).

    Raises:
        SessionError: a file cannot be deleted (the sessions before it are gone, and forgotten).
    """
    live = Live()
    victims = [v for v in victims if live.pid(v.path) is None]
    try:
        return remove(victims)
    finally:
        if forget:
            from tracer.insights import forget_sessions  # DuckDB only where an index exists

            forget_sessions([v.path for v in victims if not v.path.exists()])


def recording(victims: list[Victim]) -> list[tuple[Victim, int]]:
    """Those of ``victims`` being recorded now, each with its recorder's pid: :func:`remove_sessions` keeps them."""
    live = Live()
    return [(v, pid) for v in victims if (pid := live.pid(v.path)) is not None]
