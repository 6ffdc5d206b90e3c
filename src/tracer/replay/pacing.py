"""Background work that steps aside while the UI answers the user.

Indexing the session, building keyframes and searching run in threads that share the GIL with the UI thread: a
thread holding it for a few milliseconds at a time still takes half of the UI's time while a key is answered.
Each of them calls :func:`pause` between two steps; every key and click calls :func:`hold`, and for
:data:`HOLD` seconds after it those calls wait, so the UI thread has the GIL to itself while it answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: How long background work waits after a key or a click (seconds).
HOLD = 0.25

_until = 0.0


def hold(seconds: float = HOLD) -> None:
    """The user did something: background work waits ``seconds`` from now."""
    global _until
    _until = max(_until, time.monotonic() + seconds)


def pause() -> None:
    """Called by background work between two steps: waits while the UI answers the user."""
    while (left := _until - time.monotonic()) > 0:
        time.sleep(min(left, 0.01))


def pausing(cancelled: Callable[[], bool]) -> Callable[[], bool]:
    """A ``cancelled()`` check for background work that also pauses (:func:`pause`) each time it is asked."""

    def check() -> bool:
        pause()
        return cancelled()

    return check


__all__ = ["HOLD", "hold", "pause", "pausing"]
