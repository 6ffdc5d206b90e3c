"""Turning shell-integration marks into command events.

The hooks write a *start* mark when a command line begins (preexec) and an *end* mark at every prompt
(precmd). A start opens command N+1; an end closes the open command, if any, and is ignored otherwise — so a
prompt redrawn after Ctrl-C at an empty line, or the first prompt, creates no phantom command. A start while a
command is open leaves that one without an end (status unknown, as after ``exec bash``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from tracer.model import CommandEnd, CommandStart, Event

#: An edit seen this long (microseconds) after a command ended is still that command's (see command_at).
EDIT_GRACE_US = 100_000


class CommandMark(Protocol):
    """The fields of :class:`tracer.capture.marks.Mark` used here."""

    @property
    def kind(self) -> str: ...

    @property
    def command(self) -> str | None: ...

    @property
    def cwd(self) -> str | None: ...

    @property
    def exit_status(self) -> int | None: ...


class CommandTracker:
    """Pairs marks into :class:`CommandStart` / :class:`CommandEnd` events and knows the running command.

    Args:
        emit: receives each event (the session writer's ``event``).

    :meth:`mark` is called from the PTY loop; :attr:`current` may be read from any thread (edits, notes).
    """

    def __init__(self, emit: Callable[[Event], None]) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self._next_id = 1
        self._open: int | None = None
        self._last_end: tuple[int, int] | None = None  # (command id, t) of the latest end
        self.cwd: str | None = None
        self.count = 0
        self.failed = 0

    @property
    def current(self) -> int | None:
        """Id of the command running now, ``None`` at the prompt."""
        return self._open

    def command_at(self, now: int, grace: int = EDIT_GRACE_US) -> int | None:
        """The command an edit seen at ``now`` (microseconds) belongs to: the running one, else the one that
        ended at most ``grace`` microseconds before.

        The file observer hears of a write asynchronously (inotify, then watchdog's thread), so the write of a
        short command — ``sed -i`` takes a few milliseconds — is often seen just after the command's end mark
        arrived through the PTY. Edits between commands come from programs outside the terminal (an IDE),
        which rarely save within the same tenth of a second.
        """
        running = self._open
        if running is not None:
            return running
        last = self._last_end
        if last is not None and now - last[1] <= grace:
            return last[0]
        return None

    def start(self, t: int, command: str, cwd: str) -> int:
        """Open a command and return its id.

        A command still open is left without an end: its exit status is unknown (the hooks never said it), and
        its output is what came before this start. Nothing is invented.
        """
        with self._lock:
            cid = self._next_id
            self._next_id += 1
            self._open = cid
            self.count += 1
            self.cwd = cwd
        self._emit(CommandStart(t=t, id=cid, command=command, cwd=cwd))
        return cid

    def end(self, t: int, exit_status: int, cwd: str | None = None) -> None:
        """Close the open command with ``exit_status``; ignored when no command is open."""
        with self._lock:
            cid = self._open
            if cid is None:
                if cwd:
                    self.cwd = cwd
                return
            self._open = None
            self._last_end = (cid, t)
            if exit_status != 0:
                self.failed += 1
            if cwd:
                self.cwd = cwd
        self._emit(CommandEnd(t=t, id=cid, exit_status=exit_status, cwd=cwd))

    def mark(self, t: int, mark: CommandMark) -> None:
        """Apply one mark found in the output at ``t`` microseconds."""
        if mark.kind == "start":
            self.start(t, mark.command or "", mark.cwd or self.cwd or "")
        elif mark.kind == "end":
            self.end(t, mark.exit_status if mark.exit_status is not None else 0, mark.cwd)
