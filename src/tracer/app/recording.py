"""Recording a session (``tracer shell``): wires the PTY loop, shell integration, edits and notes to a writer.

Threads: the PTY loop runs in the calling (main) thread; the session writer, the file observer and the notes
server each run their own. Everything they produce meets in :class:`~tracer.store.SessionWriter`'s queue.

Start-up order, so that the prompt appears at once even in a large repository: the session file is created (an error
now, not later) and the shell is started first, with nothing imported but the PTY loop, the shell integration and
the paths (no click, no model, no store: ``tracer shell`` is parsed by :mod:`tracer.cli_shell`; and no ``typing``,
``re``, ``pathlib``, ``threading`` or ``signal``: paths are ``str`` until the shell runs,
``tests/test_cli_shell.py`` holds the list); what the shell prints meanwhile is kept by the sink. A set-up thread
then imports the rest, makes the session writer (and attaches the sink to it), listens for notes, takes the
workspace baseline (git status-like work, hundreds of milliseconds in a 50,000-file repository), writes the header
and starts the file observer. Until it is done the shell's input is held (keys wait in the kernel's terminal
buffer), so no command can run — and no file can change through the shell — before the baseline is taken. With
``-c`` there is no input to hold (the command runs as soon as the shell starts), so the baseline is taken first,
then the command is started; the writer, the header and the notes socket follow while it runs (``tracer note`` waits
for a recorder that is still starting). docs/performance.md has the figures.

The recorder's private files (notes socket, hook files, nonce file, git index copies) live in its directory of
the per-user runtime directory (:mod:`tracer.capture.runtime`). Once the shell runs, the recorder publishes
which workspace it records, removes the directories of recorders that were killed, and warns about, and
tells, live recorders of the same workspace (each session would record the other's edits as its own).

Shutdown order (also on SIGTERM/SIGHUP): the shell ends → the PTY is drained → edits still pending are
recorded → the final patch → ``session_end`` → the file is closed. A failure in any recording part is logged and
that part dropped; the user's shell keeps running (``tracer`` must never take the user's work with it).
"""

from __future__ import annotations

import _thread
import os
import sys
import time

import tracer
from tracer.capture.pty import Clock, Gate, PtyLoop, terminal_size
from tracer.capture.runtime import SOCKET_ENV, RecorderDir
from tracer.errors import NoTerminal, RecordingError, TracerError
from tracer.store.paths import create_session_file, new_session_path

TYPE_CHECKING = False
if TYPE_CHECKING:  # the rest is imported by the set-up thread, once the shell runs (see the module's docstring)
    import threading
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from tracer.app.summary import RecordingSummary
    from tracer.capture._dirsnapshot import DirSnapshot
    from tracer.capture._gittree import GitBaseline
    from tracer.capture.commands import CommandTracker, PromptHold
    from tracer.capture.notes import NoteServer
    from tracer.config import Config
    from tracer.model import Event, FileChange, FinalPatch, Header
    from tracer.store.writer import SessionWriter

#: Seconds the set-up of ``tracer shell -c`` waits, at most, for the command's first output to be relayed: the
#: import of :mod:`threading` and the set-up thread's imports would delay it by 5–9 ms (docs/performance.md, run 14).
COMMAND_SET_UP_DELAY = 0.02
#: How often the interpreter switches threads while the set-up thread runs (seconds; Python's default is 0.005).
SET_UP_SWITCH_INTERVAL = 0.0005

#: Output kept for the session writer before it exists (bytes): the set-up makes it within milliseconds; this
#: bounds what a set-up that failed would otherwise keep until the end.
MAX_EARLY = 64 << 20
#: Output kept before the writer exists past which the PTY loop waits for it (bytes): a command that floods from
#: its first moment (a ``cat`` of a large file) prints 4–5 MB during the set-up of a quiet machine, and 15 MB and
#: more on a busy one, all of it resident at once (docs/performance.md, run 17). The same as the writer's own
#: bound (:data:`tracer.store.writer.MAX_QUEUED`), which takes over once it exists.
EARLY_WAIT = 2 << 20
#: The longest the PTY loop waits for the writer (seconds), once: a set-up slower than this lets the output go on
#: and keeps it (up to :data:`MAX_EARLY`), as a slow terminal would not stop a program for good.
EARLY_WAIT_TIMEOUT = 1.0

#: Environment variable naming the session file inside a recorded shell.
SESSION_ENV = "TRACER_SESSION"


class RecordOptions:
    """What ``tracer shell`` was asked to do (a plain class: :mod:`typing` is not imported on the way to the shell).

    Attributes:
        shell: shell to start (path or name); default ``$SHELL``, else ``/bin/bash``.
        command: record this one command line instead of an interactive shell (``-c``).
        output: session file path or directory (``-o``); default the sessions directory.
        task, test_command: stored in the header.
        login: start the shell as a login shell.
        cwd: directory to record in (default: the current one).
        redact: mask secrets before anything reaches the disk (``--no-redact`` turns it off).
        config: the configuration in force (the user's redaction rules); ``None``: the defaults.
    """

    __slots__ = ("command", "config", "cwd", "login", "output", "redact", "shell", "task", "test_command")

    def __init__(
        self,
        shell: str | None = None,
        command: str | None = None,
        output: str | None = None,
        task: str | None = None,
        test_command: str | None = None,
        login: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        redact: bool = True,
        config: Config | None = None,
    ) -> None:
        self.shell = shell
        self.command = command
        self.output = output
        self.task = task
        self.test_command = test_command
        self.login = login
        self.cwd = cwd
        self.redact = redact
        self.config = config


class _Sink:
    """Where the PTY loop's output, marks and resizes go: the session writer and the command tracker.

    Both are made by the set-up thread once the shell runs (their imports are not on the way to the prompt). Until
    then this keeps what comes, in order; :meth:`attach` hands it over. From then on output goes straight to the
    writer while a command runs, and through a :class:`tracer.capture.commands.PromptHold` at the prompt (the loop
    looks ``output`` and ``output_batch`` up on every call; each mark sets them).

    Past :data:`EARLY_WAIT` bytes kept, the PTY loop waits for the writer (in the call that kept them), at most
    :data:`EARLY_WAIT_TIMEOUT` seconds and only once: the output pauses as on a slow terminal while the set-up
    finishes, and the recorder's memory stays bounded from its first moment, as the writer's back-pressure
    bounds it later.
    """

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()  # (threading.Lock: threading is imported once the shell runs)
        self._early: list[tuple[Any, ...]] = []
        self._early_bytes = 0
        # held until the writer comes (or the set-up ends without it): what the PTY loop waits on past EARLY_WAIT
        self._writer_came = _thread.allocate_lock()
        self._writer_came.acquire()
        self._came = False
        self._waited = False
        #: Bytes of output dropped because the writer did not come in time (see :meth:`_keep`).
        self.dropped = 0
        self._writer: SessionWriter | None = None
        self._hold: PromptHold | None = None
        self.output: Callable[[int, bytes], None] = self._early_output
        self.output_batch: Callable[[bytes, list[tuple[int, int]]], None] = self._early_batch

    def _early_output(self, t: int, data: bytes) -> None:
        if not self._kept(("output", t, data), len(data)):
            self.output(t, data)

    def _early_batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        if not self._kept(("batch", data, reads), len(data)):
            self.output_batch(data, reads)

    def _kept(self, item: tuple[Any, ...], size: int) -> bool:
        """Keep output (``size`` bytes) for the writer while there is none, and wait for it past
        :data:`EARLY_WAIT` bytes kept; ``False`` when the writer is there (the caller gives it the output)."""
        with self._lock:
            if self._writer is not None:
                return False
            self._keep(item, size)
        if self._early_bytes > EARLY_WAIT:
            self._wait_for_writer()
        return True

    def _keep(self, item: tuple[Any, ...], size: int) -> None:
        """Keep output for the writer, up to :data:`MAX_EARLY` bytes (a set-up that never makes the writer must not
        make the recorder grow with everything the shell prints); past that it is dropped and counted."""
        if self._early_bytes + size > MAX_EARLY:
            self.dropped += size
            return
        self._early_bytes += size
        self._early.append(item)

    def _wait_for_writer(self) -> None:
        """Wait until the writer takes what was kept (:meth:`attach`) or the set-up ends without it
        (:meth:`stop_waiting`), at most :data:`EARLY_WAIT_TIMEOUT` seconds, once in a recording."""
        if self._waited:
            return
        self._waited = True
        if self._writer_came.acquire(timeout=EARLY_WAIT_TIMEOUT):
            self._writer_came.release()

    def stop_waiting(self) -> None:
        """The PTY loop no longer waits for the writer: it came, or the set-up ended without it. Idempotent."""
        with self._lock:
            if self._came:
                return
            self._came = True
        self._writer_came.release()  # (once: a wait that took it gives it back)

    def event(self, event: Event) -> None:
        """Any other event (a note)."""
        with self._lock:
            if self._writer is None:
                self._early.append(("event", event))
                return
        self._writer.event(event)

    def mark(self, t: int, mark: object) -> None:
        with self._lock:
            if self._hold is None:
                self._early.append(("mark", t, mark))
                return
        self._hold.mark(t, mark)  # type: ignore[arg-type]
        self._route(self._hold)

    def _route(self, hold: PromptHold) -> None:
        writer = self._writer
        assert writer is not None
        if hold.active:
            self.output, self.output_batch = hold.output, hold.output_batch
        else:
            self.output, self.output_batch = writer.output, writer.output_batch

    def resize(self, t: int, cols: int, rows: int) -> None:
        with self._lock:
            if self._writer is None:
                self._early.append(("resize", t, cols, rows))
                return
        if self._hold is not None:
            self._hold.give_up()  # the screen's stream stays in order
        self._resize(self._writer, t, cols, rows)

    @staticmethod
    def _resize(writer: SessionWriter, t: int, cols: int, rows: int) -> None:
        from tracer.model import Resize

        writer.event(Resize(t=t, cols=cols, rows=rows))

    @property
    def kept(self) -> int:
        """Bytes of output kept for the writer now (0 once it took them)."""
        return self._early_bytes

    @property
    def attached(self) -> bool:
        """Whether :meth:`attach` was called."""
        return self._writer is not None

    def attach(self, writer: SessionWriter, tracker: CommandTracker) -> None:
        """Pass what was kept to ``writer`` and ``tracker``, in the order it came, and everything after it."""
        from tracer.capture.commands import PromptHold

        hold = PromptHold(writer.output, writer.output_batch, tracker)
        with self._lock:
            for item in self._early:
                kind = item[0]
                if kind == "output":
                    hold.output(item[1], item[2])
                elif kind == "batch":
                    hold.output_batch(item[1], item[2])
                elif kind == "mark":
                    hold.mark(item[1], item[2])
                elif kind == "event":
                    writer.event(item[1])
                else:
                    hold.give_up()
                    self._resize(writer, *item[1:])
            self._early.clear()
            self._early_bytes = 0
            self._writer, self._hold = writer, hold
            self._route(hold)
        self.stop_waiting()

    def flush(self) -> None:
        """Let the output held at the prompt go on to the writer (the shell has ended)."""
        if self._hold is not None:
            self._hold.flush()


def _os_name() -> str:
    """``Linux-6.1.0-18-amd64-x86_64``: as ``platform.platform()`` without its ``uname -p`` process."""
    u = os.uname()
    return f"{u.sysname}-{u.release}-{u.machine}"


def _uuid4() -> str:
    """A random UUID, version 4 (RFC 9562), as text: what ``str(uuid.uuid4())`` gives, without importing
    :mod:`uuid` on the way to the shell."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _default_shell() -> str:
    shell = os.environ.get("SHELL")
    if shell:
        return shell
    from tracer.capture.integration import which

    return which("bash") or "/bin/sh"


def record(
    options: RecordOptions,
    *,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
    on_start: Callable[[str, str | None], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> RecordingSummary:
    """Record a shell (or one command) until it exits; return the summary.

    Args:
        options: what to record.
        stdin_fd, stdout_fd: the user's terminal.
        on_start: called with the session path and a warning (an unsupported shell) before the shell starts.
        on_warning: called with one-sentence warnings during the recording (a full disk).

    Raises:
        NoTerminal: interactive mode without a terminal on ``stdin_fd``.
        RecordingError, SessionError: the recording cannot start.
    """
    interactive = options.command is None
    if interactive and not os.isatty(stdin_fd):
        raise NoTerminal(
            "tracer shell needs a terminal on standard input: run it in a terminal, "
            "or record one command with `tracer shell -c CMD`"
        )
    started = time.time()  # (a datetime once the shell runs: datetime is not on the way to it)
    clock = Clock()

    # (paths are str until the shell runs: pathlib is not on the way to it)
    try:
        cwd = os.path.realpath(os.getcwd() if options.cwd is None else options.cwd)
    except FileNotFoundError:
        raise RecordingError(
            "the current directory no longer exists (it was deleted or moved away): cd to an existing directory "
            "and start the recording there"
        ) from None
    session_id, path = new_session_path(options.output, started)
    path = os.path.realpath(path)
    shell = options.shell or _default_shell()
    rundir = RecorderDir()  # notes socket, hook files, index copies; swept by later recorders after a SIGKILL
    recorder = None
    try:
        fd = create_session_file(path)  # now: a path that cannot be written is an error before anything runs
        recorder = _Recorder(options, session_id, started, cwd, rundir, clock, on_warning, path, fd)
        try:
            return recorder.run(shell, stdin_fd, stdout_fd, on_start)
        except BaseException:
            recorder.abandon()
            raise
    finally:
        if recorder is not None:
            recorder.remove_store()
        rundir.remove()


def _redactor_maker(config: Config | None, history_kind: str | None) -> Callable[[], Any]:
    """What makes the record-time redactor, in a thread of the writer's: its rules load off the shell's way. With
    ``history_kind`` (an interactive shell's kind), it first learns the secrets of that shell's history file
    (:func:`learn_history`)."""

    def make() -> Any:
        from tracer.redact import record_redactor

        redactor = record_redactor(config)
        if history_kind is not None:
            from tracer.capture.integration import history_file

            path = history_file(history_kind, os.environ)
            if path is not None:
                learn_history(redactor, path)
        return redactor

    return make


#: The end of a shell's history file that record-time redaction learns from (bytes): the newest ~5,000 command
#: lines, ~12 ms of the redactor's start (its own thread) when they are dense in the rules' keywords.
HISTORY_BYTES = 256 << 10
#: Bytes of history given to the redactor at a time (cut after a line).
_HISTORY_PIECE = 64 << 10


def learn_history(redactor: Any, path: str) -> int:
    """Learn the secrets in the last :data:`HISTORY_BYTES` of the shell's history file ``path`` (any shell's
    format: command lines, with fish's ``- cmd:`` or zsh's ``: <time>:0;`` before them), as if those lines had
    been typed; return how many values the redactor knows after. The shell shows old command lines again before
    a word of them is typed: fish draws the newest that begins as the line typed so far (``s`` shows the rest of
    ``ssh-keygen -p -P OLD``, drawn apart from the ``s``, which no rule can read as that command), and a
    reverse search or ``history`` shows them whole. A value learnt here is masked wherever it comes, from the
    session's first byte. Values are kept in memory only, as every value learnt; nothing of the file is written.
    A file that cannot be read is passed over, and so is one that is not a regular file (opened without blocking:
    a FIFO put in its place after :func:`~tracer.capture.integration.history_file` looked would wait for a writer,
    and the session's output waits for this redactor)."""
    from tracer._files import open_regular
    from tracer.model import Output

    try:
        fd = open_regular(path)
    except OSError:
        return int(redactor.learnt)
    try:
        size = os.fstat(fd).st_size
        data = os.pread(fd, HISTORY_BYTES, max(0, size - HISTORY_BYTES))
    except OSError:
        return int(redactor.learnt)
    finally:
        os.close(fd)
    if size > HISTORY_BYTES:  # (from the first whole line)
        data = data[data.find(b"\n") + 1 :]
    pieces: list[Output] = []
    start = 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + _HISTORY_PIECE) + 1
        if end <= start or len(data) - start <= _HISTORY_PIECE:
            end = min(len(data), start + _HISTORY_PIECE)
        pieces.append(Output(t=0, data=data[start:end]))
        start = end
    redactor.learn(pieces)
    return int(redactor.learnt)


class _Recorder:
    """The parts of one recording, their start-up and their shutdown, in order."""

    def __init__(
        self,
        options: RecordOptions,
        session_id: str,
        started: float,
        cwd: str,
        rundir: RecorderDir,
        clock: Callable[[], int],
        on_warning: Callable[[str], None] | None,
        path: str,
        fd: int,
    ) -> None:
        self.options = options
        self.session_id = session_id
        self.started = started
        self.rundir = rundir
        # the session file, the directory recorded and the work directory, as str (`path`, `cwd`, `workdir`:
        # the same as Path, for the parts made once the shell runs)
        self.path_name = path
        self.cwd_name = cwd
        self.workdir_name = rundir.path
        self._fd: int | None = fd  # the session file, until the writer takes it
        self._history_kind: str | None = None  # an interactive shell's kind: its history is learnt (redaction)
        self.writer: SessionWriter | None = None
        self.sink = _Sink()
        self.notes: NoteServer | None = None
        self.socket: str | None = None
        self.concurrent: dict[str, None] = {}  # ids of sessions recording the same workspace (ordered set)
        self.workspace: str | Path = cwd  # the directory whose edits are recorded (known after the set-up)
        self.clock = clock
        self.on_warning = on_warning
        self._loop: PtyLoop | None = None  # the PTY loop while it runs at the user's terminal (interactive)
        self.warnings: list[str] = []
        self.tracker: CommandTracker | None = None
        self.edits: Any = None  # tracer.capture.files.EditRecorder, imported by the set-up (not at start-up)
        self.info: Any = None  # tracer.capture.workspace.WorkspaceInfo: the baseline, once taken
        # with -c: the baseline taken before the command, until the edit recorder adopts it (outside git the
        # directory's snapshot, in a repository the tree of its working tree)
        self.taken: DirSnapshot | GitBaseline | None = None
        self.edit_count = 0
        self.edited: set[str] = set()  # distinct paths of the file changes
        self.ready = Gate()  # set when the set-up is done: the shell's input is held until then
        self.over = False  # set once the shell or the command has ended (the set-up may still run)
        self.uuid = _uuid4()
        # the writer is made once, by the set-up thread or (if it failed) at the end
        self._lock = _thread.allocate_lock()

    @property
    def path(self) -> Path:
        """The session file (the recording's parts take paths: :mod:`pathlib` is imported once the shell runs)."""
        from pathlib import Path

        return Path(self.path_name)

    @property
    def cwd(self) -> Path:
        """The directory the recording started in (resolved)."""
        from pathlib import Path

        return Path(self.cwd_name)

    @property
    def workdir(self) -> Path:
        """This recorder's private work directory (notes socket, hook files, index copies)."""
        from pathlib import Path

        return Path(self.workdir_name)

    def abandon(self) -> None:
        """The recording could not start (the shell does not exist…): remove the session file when no writer ever
        took it (it holds nothing but its preamble)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            try:
                os.unlink(self.path_name)
            except OSError:
                pass

    def remove_store(self) -> None:
        """Remove the recording's own git object directory (its baseline tree and the blobs of its snapshots:
        :func:`tracer.capture._gittree.private_store`), once nothing reads it: the final patch is written."""
        taken = self.taken
        store = self.info.git_store if self.info is not None else getattr(taken, "store", None)
        if store:
            from tracer.capture._gittree import remove_store

            remove_store(store)

    def warn(self, message: str) -> None:
        """Keep a warning for ``session_end`` and pass it on to the user: while the shell runs at the user's
        terminal, the PTY loop shows it between the shell's output (not in the middle of a line being typed at
        the prompt: :meth:`tracer.capture.pty.PtyLoop.notice`); else ``on_warning``."""
        self.warnings.append(message)
        loop = self._loop
        if loop is not None and loop.notice(message):
            return
        if self.on_warning is not None:
            self.on_warning(message)

    def part_failed(self, part: str, then: str = "the shell goes on") -> Callable[[BaseException], None]:
        """A reporter for a recording part that failed: logged, warned, and ``then`` said (what goes on)."""

        def report(e: BaseException) -> None:
            from tracer.app.crashlog import log_exception

            log = log_exception(f"recording {self.path}: {part}", e)
            where = f" (details in {log})" if log else ""
            self.warn(f"tracer: {part} stopped working ({e}); {then}{where}")

        return report

    def _meet_peers(self) -> None:
        """Publish this recorder, sweep dead recorders' directories, and warn about (and warn) the live ones that
        record the same workspace, or one inside or around it: each session records the other's edits too. A
        recorder this one runs inside (``tracer shell`` in a recorded shell) is only named in this session's
        ``concurrent_sessions``: its terminal is this one, and the nesting was said as this one started.
        Runs once the shell (or the command) runs: none of it is on the way to the prompt."""
        base = self.rundir.base
        if base is None:
            return
        ws = os.fspath(self.workspace)
        try:
            from tracer.capture.notes import announce
            from tracer.capture.peers import RecorderInfo, overlaps, publish, sweep

            publish(
                self.rundir.path,
                RecorderInfo(os.getpid(), self.session_id, os.fspath(self.path), ws, socket=self.socket),
            )
            outer: set[int] | None = None
            for other in sweep(base, own=self.rundir.path):
                if overlaps(other.workspace, ws):
                    if outer is None:
                        from tracer.capture.runtime import ancestors

                        outer = ancestors()
                    if other.pid in outer:  # a nested session: the outer one records this terminal, and said so
                        self.concurrent[other.session_id] = None
                        continue
                    self._concurrent(
                        other.session_id,
                        f"session {other.session_id} (tracer pid {other.pid}) is already recording {other.workspace}",
                    )
                    if other.socket is not None:
                        announce(other.socket, self.session_id, os.getpid(), ws)
        except Exception as e:
            self.part_failed("the search for other recorders")(e)

    def _peer_started(self, session_id: str, pid: int, workspace: str) -> None:
        """Another recorder of the same workspace started after this one (it said so on the notes socket)."""
        self._concurrent(session_id, f"session {session_id} (tracer pid {pid}) started recording {workspace} too")

    def _concurrent(self, session_id: str, what: str) -> None:
        if session_id in self.concurrent:
            return
        self.concurrent[session_id] = None
        self.warn(
            f"tracer: {what}: a file change cannot be told apart by who made it, so edits made in either shell "
            "are recorded by both sessions"
        )

    def _record_edit(self, change: FileChange) -> None:
        self.edit_count += 1
        self.edited.add(change.path)
        assert self.writer is not None
        self.writer.event(change)

    # -- start-up ------------------------------------------------------------------------------------------

    def _make_writer(self) -> SessionWriter:
        """The session writer (once; on the session file created at start) and the command tracker; the redactor
        starts building in the writer's thread at once. :meth:`_begin` attaches the sink to them."""
        from tracer.capture.commands import CommandTracker
        from tracer.store.writer import SessionWriter

        with self._lock:
            if self.writer is None:
                fd, self._fd = self._fd, None
                from tracer.app.malloc import give_back_freed_memory

                options = self.options
                redactor = _redactor_maker(options.config, self._history_kind) if options.redact else None
                writer = SessionWriter(
                    self.path, fd=fd, on_warning=self.warn, redactor=redactor, release=give_back_freed_memory
                )
                self.tracker = CommandTracker(writer.event)
                self.writer = writer
            return self.writer

    def _start_notes(self) -> None:
        """Listen for ``tracer note`` on the socket whose path the shell was given."""
        from tracer.capture.notes import NoteServer

        try:
            notes = NoteServer(
                self.workdir / "notes.sock",
                emit=self.sink.event,
                clock=self.clock,
                current_command=self._current_command,
                on_peer=self._peer_started,
            )
            notes.start()
            self.notes = notes
            self.socket = os.fspath(notes.path)
        except TracerError as e:
            self.warn(f"tracer: notes cannot be taken: {e}")

    def _take_baseline(self) -> None:
        """The workspace baseline and the edit recorder, not yet watching (:meth:`_find_workspace`,
        :meth:`_make_edit_recorder`)."""
        self._find_workspace()
        self._make_edit_recorder()

    def _edits_not_recorded(self, why: TracerError) -> None:
        """Say that the session goes on without its edits, and ``why`` (the workspace or its baseline failed)."""
        self.warn(f"tracer: edits are not recorded: {why}")

    def _find_workspace(self) -> None:
        """The workspace and, in a repository, its baseline tree (``self.info``; its patch is written with the
        header, :meth:`_describe`: with ``-c``, once the command runs). A failure is warned and edits are not
        recorded; the shell goes on."""
        from tracer.capture.workspace import workspace_info

        try:
            self.info = workspace_info(
                self.cwd, exclude=[self.path], tmp_dir=self.workdir, describe=False, private=True
            )
        except TracerError as e:
            self._edits_not_recorded(e)
            self.info = None
            return
        self.workspace = self.info.workspace

    def _make_edit_recorder(self, snapshot: DirSnapshot | None = None) -> None:
        """The edit recorder of the workspace found (``self.edits``), not yet watching; outside git it adopts the
        directory's ``snapshot`` when one was taken before the one command started. A failure is warned and edits
        are not recorded; the shell goes on."""
        from tracer.capture.files import EditRecorder

        if self.info is None:
            return
        try:
            self.edits = EditRecorder(
                self.info,
                emit=self._record_edit,
                clock=self.clock,
                command_at=self._command_at,
                command_since=self._command_since,
                exclude=[self.path, self.workdir],
                tmp_dir=self.workdir,
                snapshot=snapshot,
                secret=self._binary_secret(),
            )
        except TracerError as e:
            self._edits_not_recorded(e)

    def _describe(self) -> None:
        """The baseline's patch and remote (with ``-c``, written while the command runs: the objects of the
        baseline tree are in the repository already), and a warning for the changes the patch leaves out. A
        failure is warned: the session is recorded without its start state, and edits are not recorded."""
        from tracer.capture.workspace import described

        info = self.info
        if info is None:
            return
        try:
            info = self.info = described(info, secret=self._binary_secret())
        except TracerError as e:
            self._edits_not_recorded(e)
            self.info = None
            self.edits = None
            return
        if info.baseline_omitted:
            self.warn(
                "tracer: the changes present at start to "
                + "; ".join(info.baseline_omitted)
                + ": they are not in the session, so verify cannot rebuild those files as they were"
            )
        if info.left_out:
            from tracer.capture._gittree import UNTRACKED_BYTES

            n, size = len(info.left_out), sum(size for size, _ in info.left_out.values())
            self.warn(
                f"tracer: {n} untracked file{'s' if n != 1 else ''} ({size / (1 << 20):.1f} MiB) past the "
                f"{UNTRACKED_BYTES >> 20} MiB of untracked files a session keeps are left out of it (their changes "
                "are recorded without content, and the final patch leaves them out; `tracer verify` needs --copy for "
                "the tests that read them); commit them, or add them to .gitignore"
            )

    def _binary_secret(self) -> Callable[[bytes], str | None] | None:
        """Record-time redaction's search of a binary file's content (the id of the first rule that finds a secret),
        for the patches: a binary patch is the file deflated, where the writer's redactor cannot mask it; ``None``
        with redaction off."""
        if not self.options.redact:
            return None
        config = self.options.config
        rules: list[Any] = []  # built at the first binary file; one search per caller (a rule set is per thread)

        def secret(data: bytes) -> str | None:
            if not rules:
                from tracer.redact import record_redactor

                rules.append(record_redactor(config).rules)
            hits = rules[0].find(data)
            return hits[0].rule.id if hits else None

        return secret

    def _current_command(self) -> int | None:
        """The command running now; with ``-c``, the one command (id 1) until the tracker exists."""
        tracker = self.tracker
        if tracker is not None:
            return tracker.current
        return 1 if self.options.command is not None else None

    def _command_at(self, t: int) -> int | None:
        tracker = self.tracker
        return tracker.command_at(t) if tracker is not None else None

    def _command_since(self, since: int, t: int) -> int | None:
        tracker = self.tracker
        return tracker.command_at(t, since=since) if tracker is not None else None

    def _begin(self, shell: str, kind: str, cols: int, rows: int, command_start: int | None = None) -> None:
        """Write the header (with the baseline and its patch, signed with the user's key), then the start of the one
        command (``-c``) at ``command_start`` microseconds when given, and attach the sink: the output kept since the
        shell started follows them. Each step happens once, whoever calls it first."""
        writer = self._make_writer()
        tracker = self.tracker
        assert tracker is not None
        if not writer.begun:
            self._describe()
            writer.begin(self._header(shell, kind, cols, rows, self.info), key=self._key())
        if not self.sink.attached:
            if command_start is not None:
                tracker.start(command_start, self.options.command or "", os.fspath(self.cwd))
            self.sink.attach(writer, tracker)

    @staticmethod
    def _prepare_process() -> None:
        """What the recording process needs once the shell runs (the set-up thread of a shell; with one command,
        :meth:`_command_runs` does each where it is due): Python's warnings and the tracebacks of threads go to the
        log file, never over the user's terminal (``tracer shell`` starts without :func:`tracer.cli.main`, which
        does the same); and freed buffers are kept for reuse, as output moves through large ones from now on."""
        from tracer.app.crashlog import route_logging
        from tracer.app.malloc import keep_freed_memory

        route_logging()
        keep_freed_memory()

    def _set_up_shell(self, shell: str, kind: str, cols: int, rows: int) -> None:
        """The set-up thread of an interactive shell, started as soon as the shell runs: the imports, the writer,
        the notes server, the baseline, the header, the file observer; then the shell's input is released."""
        switch = sys.getswitchinterval()
        # this thread imports for tens of milliseconds while the shell prints its first prompt, whose marks the
        # PTY loop handles in Python: hand it the interpreter every 0.5 ms rather than every 5 ms meanwhile
        sys.setswitchinterval(SET_UP_SWITCH_INTERVAL)
        try:
            self._prepare_process()
            self._make_writer()
            self._start_notes()
            self._take_baseline()
            self._begin(shell, kind, cols, rows)
            if self.edits is not None:
                self.edits.start()
        except Exception as e:
            self.part_failed("the workspace set-up")(e)
        finally:
            sys.setswitchinterval(switch)
            self.sink.stop_waiting()
            self.ready.set()
        self._meet_peers()

    def _set_up_command(self) -> None:
        """With one command (``-c``), before it starts: the baseline. The writer, the header and the notes socket
        follow once it runs (:meth:`_command_runs`; ``tracer note`` waits for a recorder that is starting).

        The baseline is taken here with :mod:`os` alone (no ``pathlib``, ``typing``, ``re`` or ``subprocess``): in a
        repository the tree of its working tree (:mod:`tracer.capture._gittree`), outside git, in a directory
        without a ``.gitignore``, the directory's snapshot (:mod:`tracer.capture._dirsnapshot`). The edit recorder
        (~30 ms of imports) is made once the command runs and adopts it. With a ``.gitignore`` outside git, the
        snapshot follows its rules: the recorder takes it here."""
        from tracer.capture import _dirsnapshot as dirsnapshot

        try:
            cwd = self.cwd_name
            if os.path.isdir(cwd):
                if not dirsnapshot.may_be_in_git(cwd):
                    if not dirsnapshot.ignore_lines(cwd):
                        skipped = dirsnapshot.outside_git(cwd, exclude=[self.path_name, self.workdir_name])
                        self.taken = dirsnapshot.take(cwd, skipped)
                        return
                else:
                    from tracer.capture import _gittree

                    try:
                        self.taken = _gittree.baseline(
                            cwd, exclude=[self.path_name], tmp_dir=self.workdir_name, private=True
                        )
                    except TracerError as e:
                        self._edits_not_recorded(e)
                        return
                    if self.taken is not None:
                        return
                    # git said it is in no work tree (inside .git): a plain workspace, without asking git again
                    from tracer.capture.workspace import WorkspaceInfo

                    self.info = WorkspaceInfo(workspace=self.cwd)
            if self.info is None:  # not a directory, or outside git with a .gitignore
                self._find_workspace()
            if self.info is not None and self.info.repo_root is None:
                self._make_edit_recorder()
                if self.edits is not None:
                    self.edits.take_snapshot()
        except Exception as e:
            self.part_failed("the workspace set-up")(e)

    def _adopt_baseline(self) -> DirSnapshot | None:
        """With one command, once it runs: the workspace of the baseline taken before it (:meth:`_set_up_command`);
        outside git, the directory's snapshot, for the edit recorder to adopt (:meth:`_make_edit_recorder`)."""
        from tracer.capture._dirsnapshot import DirSnapshot
        from tracer.capture.workspace import WorkspaceInfo, from_baseline

        taken, self.taken = self.taken, None
        if isinstance(taken, DirSnapshot):
            self.info = WorkspaceInfo(workspace=self.cwd)
            return taken
        self.info = from_baseline(self.cwd, taken)
        self.workspace = self.info.workspace
        return None

    def _command_runs(self, shell: str, kind: str, cols: int, rows: int, t: int) -> None:
        """With one command, once it runs (a thread). First what its output waits for: the writer (whose redactor
        builds meanwhile, in a thread of its own), the baseline's workspace, the header and the command's start.
        The output kept since the command started then goes to the writer, and the PTY loop, which waits for it
        past :data:`EARLY_WAIT` bytes kept (a command that floods from its first moment), goes on. Then the rest:
        the log's routes, the edit recorder and its file observer (the edits up to then are caught up from the
        baseline), the notes socket, the other recorders."""
        snapshot: DirSnapshot | None = None
        try:
            from tracer.app.malloc import keep_freed_memory

            keep_freed_memory()  # (before the writer's buffers: see the module)
            self._make_writer()
            if self.taken is not None:
                snapshot = self._adopt_baseline()
            self._begin(shell, kind, cols, rows, command_start=t)
        except Exception as e:
            self.part_failed("the workspace set-up")(e)
        finally:
            self.sink.stop_waiting()
        try:
            from tracer.app.crashlog import route_logging

            route_logging()
            if self.edits is None:
                self._make_edit_recorder(snapshot)
            if not self.over:  # (a command over already takes no note, and puts no watch: its edits are found
                self._start_notes()  # by the end's comparison with the baseline; ~15 ms of a short command)
        except Exception as e:
            self.part_failed("the workspace set-up")(e)
        finally:
            self.ready.set()
        if self.edits is not None:
            try:
                self.edits.start(watch=not self.over)
            except Exception as e:
                self.part_failed("the file observer")(e)
        self._meet_peers()

    def _key(self) -> bytes | None:
        """The user's signing key (made on the first recording), or ``None`` with a warning: the session is then
        recorded unsigned, and verify will treat it as someone else's."""
        from tracer.store.signing import user_key

        try:
            return user_key(create=True)
        except TracerError as e:
            self.warn(f"tracer: this session is not signed ({e}); `tracer verify` will ask before running its tests")
            return None

    def _header(self, shell: str, kind: str, cols: int, rows: int, info: Any) -> Header:
        import datetime as dt

        from tracer.model import Header, rfc3339
        from tracer.store.signing import host_id

        interactive = self.options.command is None
        return Header(
            t=0,
            session_id=self.session_id,
            started_at=rfc3339(dt.datetime.fromtimestamp(self.started, dt.UTC)),
            tracer_version=tracer.__version__,
            shell=shell if interactive else f"{shell} -c",
            shell_kind=kind,
            mode="interactive" if interactive else "command",
            term=os.environ.get("TERM", ""),
            cols=cols,
            rows=rows,
            cwd=os.fspath(self.cwd),
            workspace=os.fspath(info.workspace if info is not None else self.cwd),
            repo_root=os.fspath(info.repo_root) if info is not None and info.repo_root else None,
            head_commit=info.head_commit if info is not None else None,
            branch=info.branch if info is not None else None,
            baseline_patch=info.baseline_patch if info is not None else "",
            task=self.options.task,
            test_command=self.options.test_command,
            os=_os_name(),
            hostname=os.uname().nodename,
            uuid=self.uuid,
            uid=os.getuid(),
            host_id=host_id(),
            redaction=None if self.options.redact else "off",
            repository=info.remote_url if info is not None else None,
            editor=os.environ.get("VISUAL") or os.environ.get("EDITOR") or None,
            baseline_omitted=info.omitted if info is not None else (),
        )

    # -- the recording ---------------------------------------------------------------------------------------

    def run(
        self,
        shell: str,
        stdin_fd: int,
        stdout_fd: int,
        on_start: Callable[[str, str | None], None] | None,
    ) -> RecordingSummary:
        """Start the parts, run the shell to its end, shut down in order; return the summary."""
        clock, path = self.clock, self.path_name
        interactive = self.options.command is None
        warning: str | None = None
        nonce = os.urandom(16).hex()  # (not `secrets`: the same urandom, 3 ms less of start-up)
        if interactive:  # (shell integration and its marks: imported for a shell, not for one command)
            from tracer.capture.integration import prepare_shell
            from tracer.capture.marks import MarkParser

            launch = prepare_shell(
                shell, nonce=nonce, workdir=self.workdir_name, login=self.options.login, cache_dir=self.rundir.base
            )
            argv, extra_env, kind, warning = launch.argv, launch.env, launch.kind, launch.warning
            self._history_kind = kind
            marks = MarkParser(nonce) if kind != "other" else None
        else:
            argv, extra_env, kind = [shell, "-c", self.options.command or ""], {}, "command"
            marks = None
        cols, rows = terminal_size(stdin_fd) or terminal_size(stdout_fd) or (80, 24)

        env = dict(os.environ)
        env.update(extra_env)
        env[SESSION_ENV] = path
        env[SOCKET_ENV] = os.path.join(self.workdir_name, "notes.sock")  # (the set-up thread listens on it)
        if on_start is not None:
            on_start(path, warning)
        exit_status, reason = 1, "error"
        final: FinalPatch | None = None
        set_up: threading.Thread | None = None
        ran = False

        def spawned() -> None:  # the shell runs: the rest of the start-up, off its way
            nonlocal set_up
            import threading  # (here, in the main thread, while the shell starts: not before it)

            target, args = (self._set_up_shell, ()) if interactive else (self._command_runs, (t_start,))
            set_up = threading.Thread(target=target, args=(shell, kind, cols, rows, *args), name="tracer-setup")
            set_up.daemon = True
            set_up.start()

        try:
            if not interactive:
                # one command runs at once, with no input to hold: its own edits must not become the baseline
                self._set_up_command()
            t_start = clock()
            loop = PtyLoop(
                argv,
                env,
                sink=self.sink,
                clock=clock,
                marks=marks,
                cwd=self.cwd_name,
                stdin_fd=stdin_fd,
                stdout_fd=stdout_fd,
                size=(cols, rows),
                input_gate=self.ready if interactive else None,
                on_spawn=spawned,
                # one command: its first output goes out before the set-up's imports (a shell's input is held
                # until the set-up is done: it starts at once)
                spawn_delay=0 if interactive else COMMAND_SET_UP_DELAY,
                on_error=self.part_failed("command capture"),
            )
            if interactive and os.isatty(stdout_fd):  # (with -c, warnings stay on stderr, out of the output)
                self._loop = loop
            result = loop.run()
            ended = clock()  # (the command's end: not once the set-up below is done, which may take longer)
            exit_status, reason = result.exit_status, result.reason
            ran = True
        finally:
            self._loop = None
            self.over = True
            if set_up is not None:
                set_up.join()
            # the set-up may have failed before the writer was made, or the shell could not even start (when this
            # fails too, record() removes the file no writer took)
            self._begin(shell, kind, cols, rows)
            writer, tracker = self.writer, self.tracker
            assert writer is not None and tracker is not None
            if self.sink.dropped:
                self.warnings.append(
                    f"tracer: {self.sink.dropped} bytes of output were not recorded: the recorder's set-up did not "
                    "finish in time"
                )
            self.sink.flush()
            if ran:
                tracker.end(ended, exit_status)
            if self.notes is not None:
                self.notes.stop()
            if self.edits is not None:
                try:
                    self.edits.stop()
                    final = self.edits.final_patch()
                except Exception as e:
                    self.part_failed("the final patch", "the session is saved without it")(e)
                self.warnings.extend(self.edits.warnings)
            if final is not None:
                writer.event(final)
            from tracer.model import SessionEnd

            end_t = clock()
            writer.close(
                SessionEnd(
                    t=end_t,
                    exit_status=exit_status,
                    reason=reason,
                    warnings=tuple(self.warnings),
                    concurrent_sessions=tuple(self.concurrent),
                )
            )
        from tracer.app.summary import RecordingSummary

        notes = self.notes
        return RecordingSummary(
            path=self.path,
            session_id=self.session_id,
            exit_status=exit_status,
            reason=reason,
            commands=tracker.count,
            failed=tracker.failed,
            edits=self.edit_count,
            files=len(self.edited),
            notes=notes.count if notes is not None else 0,
            duration=end_t / 1e6,
            warnings=tuple(self.warnings),
            unwritten=writer.unwritten,
            redactions=dict(writer.redactor.counts) if writer.redactor is not None else None,
            unmasked=writer.unmasked,
        )
