"""Turning shell-integration marks into command events.

The hooks write a *start* mark when a command line begins (preexec) and an *end* mark at every prompt
(precmd). A start opens command N+1; an end closes the open command, if any, and is ignored otherwise — so a
prompt redrawn after Ctrl-C at an empty line, or the first prompt, creates no phantom command. A start while a
command is open leaves that one without an end (status unknown, as after ``exec bash``).

A start mark written late (``;L``: precmd's, for a line that did not parse or ran without preexec) comes after
what the line printed; :class:`PromptHold` puts the command's start back where that output begins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from tracer.model import CommandEnd, CommandStart, Event, carries_status

#: An edit seen this long (microseconds) after a command ended is still that command's (see command_at).
EDIT_GRACE_US = 100_000
#: An edit seen up to this long (microseconds) before a command's start mark arrived is that command's (see
#: command_at).
EDIT_LEAD_US = 30_000
#: How many of the latest commands command_at looks at.
_RECENT = 64
#: Output after the input line's end is held for a late start mark at most this long (microseconds)…
HOLD_US = 1_000_000
#: …and at most this many bytes; past either it goes on as it came (see PromptHold).
HOLD_BYTES = 64 * 1024
#: What readline writes once a line is entered (bracketed paste off, DECSET 2004): the end of the line's echo.
_PASTE_OFF = b"\x1b[?2004l"


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

    @property
    def late(self) -> bool: ...

    @property
    def padding(self) -> bool: ...


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
        self._line = ""  # the open command's line
        self.count = 0
        #: Commands that failed, as :attr:`tracer.model.Command.failed` counts them.
        self.failed = 0

    @property
    def current(self) -> int | None:
        """Id of the command running now, ``None`` at the prompt."""
        return self._open

    def command_at(
        self, t: int, grace: int = EDIT_GRACE_US, lead: int = EDIT_LEAD_US, *, since: int | None = None
    ) -> int | None:
        """The command an edit seen at ``t`` (microseconds) belongs to: the one running at ``t``; else one whose
        start mark arrived at most ``lead`` microseconds after ``t``; else one that ended at most ``grace``
        microseconds before ``t``; else ``None`` (an edit between commands).

        ``since``: the edit was found by comparing the work tree at ``t`` with its state at ``since`` (the
        baseline), so it was made at some moment between them: it belongs to the last command that ran then, if
        any (``tracer shell -c``: a short command is over before the file observer watches, which finds its edits
        so, later).

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
        first = t if since is None else since
        for i in range(len(spans) - 1, -1, -1):
            cid, start, end = spans[i]
            assert cid is not None and start is not None
            if end is None and i + 1 < len(spans):
                end = spans[i + 1][1]  # left without an end: it ran until the next start
            if start <= t and (end is None or first <= end):
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
            self._line = command
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
            if exit_status != 0 and not carries_status(self._line):
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


class PromptHold:
    """Output at the prompt on its way to the session writer, held briefly so that a late start mark can be put
    where the command's output begins.

    A line that does not parse (``echo )``) runs no preexec: bash and zsh print their error, then precmd writes
    the line's start mark (late, ``;L``) just before its end mark. Placed where it was written, the command's
    output would be empty and its error the prompt's. So from the end of a prompt's input line (the first line
    end after the prompt's own: :attr:`prompt_lines`, learnt from the latest command whose start came on time)
    until the next start mark, output is held: a late start goes in after the input's echo (one line end more per
    further line of the command, as far as its text tells) and the rest follows it; any other start lets the held
    output go on first, as it came. zsh's end mark at the start of its ``PROMPT_SP`` padding (``;P``), which comes
    before precmd's late start, is held in its place too, so that it ends the late command where it should.
    Output is held at most :data:`HOLD_US` after that line end and :data:`HOLD_BYTES` (a line continued slowly, a
    background job printing at the prompt): then it goes on, and a late start stays where it was written.
    Normally the next mark comes a few milliseconds after the line end (bash's PS0, zsh's preexec).

    Args:
        output: where output goes on, one read at a time (``(t microseconds, bytes)``: the writer's ``output``).
        output_batch: where a batch goes on while nothing is held (the writer's ``output_batch``).
        tracker: receives the marks.

    Called from the PTY loop's thread only.
    """

    def __init__(
        self,
        output: Callable[[int, bytes], None],
        output_batch: Callable[[bytes, list[tuple[int, int]]], None],
        tracker: CommandTracker,
    ) -> None:
        self._out = output
        self._out_batch = output_batch
        self._tracker = tracker
        self._at_prompt = False  # an end mark came and no command has started since
        self._given_up = False
        self._newlines = 0  # line ends passed on since that end mark
        self._since: int | None = None  # when holding began (the input line's end), microseconds
        self._held: list[tuple[int, bytes | CommandMark]] = []  # output and end marks, in order
        self._held_bytes = 0
        #: Line ends the prompt prints itself (a two-line ``PS1``: 1).
        self.prompt_lines = 0

    @property
    def active(self) -> bool:
        """Whether output must come through here now; otherwise it may go straight to the writer."""
        return self._at_prompt and not self._given_up

    def output(self, t: int, data: bytes) -> None:
        """One read of output at ``t`` microseconds."""
        if not self._at_prompt or self._given_up:
            self._out(t, data)
        elif self._since is not None:
            if t - self._since > HOLD_US or self._held_bytes + len(data) > HOLD_BYTES:
                self.give_up()
                self._out(t, data)
            else:
                self._held.append((t, data))
                self._held_bytes += len(data)
        else:
            need = self.prompt_lines + 1 - self._newlines  # line ends until the input's first line is entered
            count = data.count(b"\n")
            if count < need:
                self._newlines += count
                self._out(t, data)
                return
            pos = _after_line_ends(data, need)
            self._newlines += need
            self._out(t, data[:pos])
            self._since = t
            if pos < len(data):
                self._held.append((t, data[pos:]))
                self._held_bytes += len(data) - pos

    def output_batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        """Several reads (``reads``: ``(end offset in data, t)`` each, in order), as the writer takes them."""
        if not self._at_prompt or self._given_up:
            self._out_batch(data, reads)
            return
        start = 0
        for end, t in reads:
            if end > start:
                self.output(t, data[start:end])
            start = end

    def mark(self, t: int, mark: CommandMark) -> None:
        """A mark found in the output at ``t``: to the tracker, in its place among the output held (a late start:
        where the line's output begins, after the line's echo and readline's bracketed-paste-off)."""
        holding = self._since is not None and not self._given_up
        if mark.kind == "end" and mark.padding and holding and self._tracker.current is None:
            self._held.append((t, mark))  # zsh's, before PROMPT_SP: the line's late start may still come
            return
        if mark.kind == "start" and mark.late and holding:
            self._start_late(t, mark)
        else:
            if mark.kind == "start" and self._at_prompt and not self._given_up:
                typed = (mark.command or "").count("\n") + 1
                seen = self._newlines + sum(p.count(b"\n") for _, p in self._held if isinstance(p, bytes))
                self.prompt_lines = max(0, seen - typed)
            self.flush()
            self._tracker.mark(t, mark)
        if mark.kind == "start":
            self._reset(at_prompt=False)
        elif mark.kind == "end":
            self._reset(at_prompt=True)

    def flush(self) -> None:
        """Let everything held go on, in order (a mark other than a late start came, or the recording ends)."""
        held, self._held, self._held_bytes = self._held, [], 0
        self._emit(held)

    def _emit(self, items: list[tuple[int, bytes | CommandMark]]) -> None:
        for t, item in items:
            if isinstance(item, bytes):
                self._out(t, item)
            else:
                self._tracker.mark(t, item)

    def give_up(self) -> None:
        """Let everything held go on and hold nothing more until the next mark: something that is not output must
        be written in its place now (a resize), and a late start cannot go before it."""
        self.flush()
        self._given_up = True

    def _reset(self, *, at_prompt: bool) -> None:
        self.flush()
        self._at_prompt, self._given_up, self._newlines, self._since = at_prompt, False, 0, None

    def _start_late(self, t: int, mark: CommandMark) -> None:
        more = (mark.command or "").count("\n")  # the input's further lines, entered after holding began
        held, self._held, self._held_bytes = self._held, [], 0
        for i, (item_t, item) in enumerate(held):
            if not isinstance(item, bytes):
                break  # an end came before the echo of every line did
            count = item.count(b"\n")
            if count < more:
                more -= count
                continue
            pos = _after_line_ends(item, more) if more else 0
            if item.startswith(_PASTE_OFF, pos):  # readline turns bracketed paste off as it hands the line over
                pos += len(_PASTE_OFF) + (item[pos + len(_PASTE_OFF) : pos + len(_PASTE_OFF) + 1] == b"\r")
            before = [*held[:i], (item_t, item[:pos])] if pos else held[:i]
            after = ([(item_t, item[pos:])] if pos < len(item) else []) + held[i + 1 :]
            self._emit(before)
            self._tracker.mark(after[0][0] if after else t, mark)
            self._emit(after)
            return
        self._emit(held)  # the echo of its lines never came whole: the start stays where it was written
        self._tracker.mark(t, mark)


def _after_line_ends(data: bytes, n: int) -> int:
    """The position just after the ``n``-th line end (``\\n``) of ``data``; ``n`` ≥ 1 and there are that many."""
    pos = -1
    for _ in range(n):
        pos = data.index(b"\n", pos + 1)
    return pos + 1
