"""What a finished recording holds (:class:`RecordingSummary`): what ``tracer shell`` says when the shell exits.

Its own module because :mod:`tracer.app.recording` is imported before the shell starts and does not import
:mod:`typing` (~10 ms of that start); this one is imported once the recording ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from tracer.store.writer import Unwritten

__all__ = ["RecordingSummary"]


class RecordingSummary(NamedTuple):
    """What a finished recording holds, for the closing line.

    Attributes:
        duration: seconds recorded. edits: number of file changes; files: distinct paths they changed (as
            ``tracer show`` counts them). unwritten: what the session file lacks because writing failed (a full
            disk); ``None`` when it is whole.
    """

    path: Path
    session_id: str
    exit_status: int
    reason: str
    commands: int = 0
    failed: int = 0
    edits: int = 0
    files: int = 0
    notes: int = 0
    duration: float = 0.0
    warnings: tuple[str, ...] = ()
    unwritten: Unwritten | None = None
    redactions: dict[str, int] | None = None
    unmasked: int = 0
