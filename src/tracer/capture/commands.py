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
#: An edit seen up to this long (microseconds) before a command's start mark arrived is that command's (see
#: command_at).
EDIT_LEAD_US = 30_000
#: How many of the latest commands command_at looks at.
_RECENT = 64


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
        # [id, start, end] of the latest commands, in order of start; end None while open or never said
        self._spans: list[list[int | None]] = []
        self.cwd: str | None = None
        self.count = 0
        self.failed = 0

    @property
    def current(self) -> int | None:
        """Id of the command running now, ``None`` at the prompt."""
        return self._open

    def command_at(self, t: int, grace: int = EDIT_GRACE_US, lead: int = EDIT_LEAD_US) -> int | None:
        """The command an edit seen at ``t`` (microseconds) belongs to: the one running at ``t``; else one whose
        start mark arrived at most ``lead`` microseconds after ``t``; else one that ended at most ``grace``
        microseconds before ``t``; else ``None`` (an edit between commands).

        The file observer hears of a write asynchronously (inotify, then watchdog's thread), and the marks come
        through the PTY: the write of a short command — ``sed -i`` takes a few milliseconds — is often seen just
        after the command's end mark arrived, and a write right at a command's start (a shell builtin such as
        ``printf >> f``) can be seen just before its start mark. Edits between commands come from programs
        outside the terminal (an IDE), which rarely save within such a moment of a command. Ask once ``lead``
        has passed since ``t`` (the file observer asks after its quiet period), so that a start that came just
        after the edit is known. Commands pasted together, whose end and next start fall within ``grace`` and
        ``lead`` of one edit, are told apart only by that order.
        """
        with self._lock:
            spans = self._spans[-_RECENT:]
        for i in range(len(spans) - 1, -1, -1):
            cid, start, end = spans[i]
            assert cid is not None and start is not None
            if end is None and i + 1 < len(spans):
                end = spans[i + 1][1]  # left without an end: it ran until the next start
            if start <= t and (end is None or t <= end):
                return cid
        for cid, start, _ in spans:
            assert start is not None
            if t < start <= t + lead:
                return cid
        for cid, _, end in reversed(spans):
            if end is not None and end <= t <= end + grace:
                return cid
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
            self._spans.append([cid, t, None])
            del self._spans[:-_RECENT]
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
            if self._spans and self._spans[-1][0] == cid:
                self._spans[-1][2] = t
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
