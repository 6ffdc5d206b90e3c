"""Sessions being recorded now, and what the commands that add to or delete a session do about them.

A recorder signs its frames in file order and writes until its shell exits (:mod:`tracer.store.signing`): a frame
another process appends in between (a note from the replay, a verify result, a judgement) would leave the MAC in
its ``session_end`` signing other bytes than the file's, so that the user's own session would no longer be
trusted; and a deleted file would take everything still to be recorded with it. So those commands ask first
(:func:`refuse_while_recording`), and ``tracer ls``/``show`` say "recording" where an unfinished file would read
as interrupted. Who records what comes from the recorders' own descriptions (:mod:`tracer.capture.peers`).
"""

from __future__ import annotations

import os
from pathlib import Path

from tracer.capture.peers import live_sessions
from tracer.errors import SessionBusy
from tracer.model import visible

__all__ = ["Live", "refuse_while_recording"]


class Live:
    """The sessions this user's recorders are writing now, read once (:func:`tracer.capture.peers.live_sessions`).

    Never raises: a file that cannot be read is not being recorded, as far as anyone can tell.
    """

    def __init__(self) -> None:
        self._live = live_sessions()

    def pid(self, path: Path) -> int | None:
        """The pid of the recorder writing the session at ``path`` now, or ``None``."""
        if not self._live:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        info = self._live.get((st.st_dev, st.st_ino))
        return None if info is None else info.pid


def refuse_while_recording(path: Path, then: str) -> None:
    """Stop when the session at ``path`` is being recorded now.

    Args:
        then: what to do instead, after "being recorded now (tracer pid N): " (``"verify it once its shell
            exits"``).

    Raises:
        SessionBusy: its recorder runs; the message names the file and the recorder's pid, and says what to do.
    """
    pid = Live().pid(path)
    if pid is not None:
        raise SessionBusy(f"session {visible(str(path))} is being recorded now (tracer pid {pid}): {then}")
