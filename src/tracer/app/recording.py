"""Recording a session (``tracer shell``): wires the PTY loop, shell integration, edits and notes to a writer.

Threads: the PTY loop runs in the calling (main) thread; the session writer, the file observer and the notes
server each run their own. Everything they produce meets in :class:`~tracer.store.SessionWriter`'s queue.

Start-up order, so that the prompt appears at once even in a large repository: the session file is created
and the shell is started first; a set-up thread then takes the workspace baseline (git status-like work,
hundreds of milliseconds in a 50,000-file repository), writes the header and starts the file observer. Until
it is done the shell's input is held (keys wait in the kernel's terminal buffer), so no command can run — and
no file can change through the shell — before the baseline is taken. With ``-c`` there is no input to hold
(the command runs as soon as the shell starts), so the baseline is taken first, then the command is started.

The recorder's private files (notes socket, hook files, nonce file, git index copies) live in its directory of
the per-user runtime directory (:mod:`tracer.capture.runtime`). Once the shell runs, the recorder publishes
which workspace it records, removes the directories of recorders that were killed, and warns about, and
tells, live recorders of the same workspace (each session would record the other's edits as its own).

Shutdown order (also on SIGTERM/SIGHUP): the shell ends → the PTY is drained → edits still pending are
recorded → the final patch → ``session_end`` → the file is closed. A failure in any recording part is logged and
that part dropped; the user's shell keeps running (``tracer`` must never take the user's work with it).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tracer
from tracer.app.crashlog import log_exception
from tracer.app.malloc import keep_freed_memory
from tracer.capture.commands import CommandTracker
from tracer.capture.integration import prepare_shell
from tracer.capture.marks import MarkParser
from tracer.capture.notes import SOCKET_ENV, NoteServer, announce
from tracer.capture.pty import Clock, PtyLoop, terminal_size
from tracer.capture.runtime import RecorderDir, RecorderInfo, overlaps, sweep
from tracer.config import Config
from tracer.errors import NoTerminal, TracerError
from tracer.model import FileChange, FinalPatch, Header, Resize, SessionEnd, rfc3339
from tracer.store import SessionWriter, Unwritten, new_session_path
from tracer.store.signing import host_id, user_key

#: Environment variable naming the session file inside a recorded shell.
SESSION_ENV = "TRACER_SESSION"


@dataclass(frozen=True)
class RecordOptions:
    """What ``tracer shell`` was asked to do.

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

    shell: str | None = None
    command: str | None = None
    output: str | None = None
    task: str | None = None
    test_command: str | None = None
    login: bool = False
    cwd: Path | None = None
    redact: bool = True
    config: Config | None = None


@dataclass
class RecordingSummary:
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
    warnings: list[str] = field(default_factory=list)
    unwritten: Unwritten | None = None
    redactions: dict[str, int] | None = None


class _Sink:
    """Where the PTY loop's output, marks and resizes go: the writer and the command tracker."""

    def __init__(self, writer: SessionWriter, tracker: CommandTracker) -> None:
        self.output = writer.output
        self.output_batch = writer.output_batch
        self._writer = writer
        self._tracker = tracker

    def mark(self, t: int, mark: object) -> None:
        self._tracker.mark(t, mark)  # type: ignore[arg-type]

    def resize(self, t: int, cols: int, rows: int) -> None:
        self._writer.event(Resize(t=t, cols=cols, rows=rows))


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
    return os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"


def record(
    options: RecordOptions,
    *,
    stdin_fd: int = 0,
    stdout_fd: int = 1,
    on_start: Callable[[Path, str | None], None] | None = None,
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
    started = dt.datetime.now(dt.UTC)
    clock = Clock()

    cwd = (options.cwd or Path.cwd()).resolve()
    session_id, path = new_session_path(options.output, started)
    path = path.resolve()
    shell = options.shell or _default_shell()
    rundir = RecorderDir()  # notes socket, hook files, index copies; swept by later recorders after a SIGKILL
    try:
        recorder = _Recorder(options, session_id, started, cwd, rundir, clock, on_warning)
        recorder.writer = SessionWriter(
            path, on_warning=recorder.warn, redactor=_redactor_maker(options.config) if options.redact else None
        )
        return recorder.run(shell, stdin_fd, stdout_fd, on_start)
    finally:
        rundir.remove()


def _redactor_maker(config: Config | None) -> Callable[[], Any]:
    """What makes the record-time redactor, in the writer thread: its rules load off the shell's way."""

    def make() -> Any:
        from tracer.redact import record_redactor

        return record_redactor(config)

    return make


class _Recorder:
    """The parts of one recording, their start-up and their shutdown, in order."""

    writer: SessionWriter

    def __init__(
        self,
        options: RecordOptions,
        session_id: str,
        started: dt.datetime,
        cwd: Path,
        rundir: RecorderDir,
        clock: Callable[[], int],
        on_warning: Callable[[str], None] | None,
    ) -> None:
        self.options = options
        self.session_id = session_id
        self.started = started
        self.cwd = cwd
        self.rundir = rundir
        self.workdir = rundir.path
        self.socket: str | None = None
        self.concurrent: dict[str, None] = {}  # ids of sessions recording the same workspace (ordered set)
        self.workspace = cwd  # the directory whose edits are recorded (known after the set-up)
        self.clock = clock
        self.on_warning = on_warning
        self.warnings: list[str] = []
        self.tracker: CommandTracker | None = None
        self.edits: Any = None  # tracer.capture.files.EditRecorder, imported by _set_up (not at start-up)
        self.edit_count = 0
        self.edited: set[str] = set()  # distinct paths of the file changes
        self.ready = threading.Event()
        self.uuid = _uuid4()

    def warn(self, message: str) -> None:
        """Keep a warning for ``session_end`` and pass it on to the user."""
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    def part_failed(self, part: str) -> Callable[[BaseException], None]:
        """A reporter for a recording part that failed: logged, warned, and the shell goes on."""

        def report(e: BaseException) -> None:
            log = log_exception(f"recording {self.writer.path}: {part}", e)
            where = f" (details in {log})" if log else ""
            self.warn(f"tracer: {part} stopped working ({e}); the shell goes on{where}")

        return report

    def _meet_peers(self) -> None:
        """Publish this recorder, sweep dead recorders' directories, and warn about (and warn) the live ones that
        record the same workspace, or one inside or around it: each session records the other's edits too.
        Runs once the shell (or the command) runs: none of it is on the way to the prompt."""
        base = self.rundir.base
        if base is None:
            return
        ws = os.fspath(self.workspace)
        try:
            self.rundir.publish(
                RecorderInfo(os.getpid(), self.session_id, os.fspath(self.writer.path), ws, socket=self.socket)
            )
            for other in sweep(base, own=self.rundir.path):
                if overlaps(other.workspace, ws):
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
        self.writer.event(change)

    def _set_up(self, shell: str, kind: str, cols: int, rows: int) -> None:
        """The set-up thread: baseline, header, file observer; then the shell's input is released.

        With one command (``-c``), run before the command starts, in full: the baseline (outside git, the
        directory's snapshot too) is taken here; the observer starts with the command (:meth:`_start_watching`).
        """
        info = None
        try:
            from tracer.capture.files import EditRecorder
            from tracer.capture.workspace import workspace_info

            try:
                info = workspace_info(self.cwd, exclude=[self.writer.path], tmp_dir=self.workdir)
            except TracerError as e:
                self.warn(f"tracer: edits are not recorded: {e}")
            if info is not None and info.baseline_omitted:
                self.warn(
                    "tracer: the changes present at start to "
                    + "; ".join(info.baseline_omitted)
                    + ": they are not in the session, so verify cannot rebuild those files as they were"
                )
            self.writer.begin(self._header(shell, kind, cols, rows, info), key=self._key())
            if info is not None:
                assert self.tracker is not None
                tracker = self.tracker
                try:
                    edits = EditRecorder(
                        info,
                        emit=self._record_edit,
                        clock=self.clock,
                        command_at=tracker.command_at,
                        exclude=[self.writer.path, self.workdir],
                        tmp_dir=self.workdir,
                    )
                    if self.options.command is None:
                        edits.start()
                    else:  # nothing holds a command back: its own edits must not get into the snapshot
                        edits.take_snapshot()
                    self.edits = edits
                except TracerError as e:
                    self.warn(f"tracer: edits are not recorded: {e}")
        except Exception as e:
            self.part_failed("the workspace set-up")(e)
            if not self.writer.begun:
                self.writer.begin(self._header(shell, kind, cols, rows, None), key=self._key())
        finally:
            self.ready.set()
        self.workspace = info.workspace if info is not None else self.cwd
        if self.options.command is None:
            self._meet_peers()  # (with one command: once it runs, see _start_watching)

    def _spawned(self, set_up: threading.Thread) -> None:
        """The shell (or command) runs: the rest of the start-up, off its way. Output moves through large
        buffers from now on: the process reuses freed ones instead of faulting in fresh pages."""
        keep_freed_memory()
        if self.options.command is None:
            set_up.start()
        else:
            self._start_watching()

    def _start_watching(self) -> None:
        """With one command: start the file observer once the command runs (its edits up to then are caught
        up from the baseline), so that watchdog's import and the watches are not on the way to its start; then
        meet the other recorders."""
        if self.edits is not None:
            try:
                self.edits.start()
            except Exception as e:
                self.part_failed("the file observer")(e)
        self._meet_peers()

    def _key(self) -> bytes | None:
        """The user's signing key (made on the first recording), or ``None`` with a warning: the session is then
        recorded unsigned, and verify will treat it as someone else's."""
        try:
            return user_key(create=True)
        except TracerError as e:
            self.warn(f"tracer: this session is not signed ({e}); `tracer verify` will ask before running its tests")
            return None

    def _header(self, shell: str, kind: str, cols: int, rows: int, info: Any) -> Header:
        interactive = self.options.command is None
        return Header(
            t=0,
            session_id=self.session_id,
            started_at=rfc3339(self.started),
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
        )

    def run(
        self,
        shell: str,
        stdin_fd: int,
        stdout_fd: int,
        on_start: Callable[[Path, str | None], None] | None,
    ) -> RecordingSummary:
        """Start the parts, run the shell to its end, shut down in order; return the summary."""
        writer, clock = self.writer, self.clock
        path = writer.path
        interactive = self.options.command is None
        warning: str | None = None
        nonce = os.urandom(16).hex()  # (not `secrets`: the same urandom, 3 ms less of start-up)
        if interactive:
            launch = prepare_shell(shell, nonce=nonce, workdir=self.workdir, login=self.options.login)
            argv, extra_env, kind, warning = launch.argv, launch.env, launch.kind, launch.warning
        else:
            argv, extra_env, kind = [shell, "-c", self.options.command or ""], {}, "command"
        marks = MarkParser(nonce) if interactive and kind != "other" else None
        cols, rows = terminal_size(stdin_fd) or terminal_size(stdout_fd) or (80, 24)
        tracker = self.tracker = CommandTracker(writer.event)
        notes: NoteServer | None = None
        try:
            notes = NoteServer(
                self.workdir / "notes.sock",
                emit=writer.event,
                clock=clock,
                current_command=lambda: tracker.current,
                on_peer=self._peer_started,
            )
            notes.start()
            self.socket = os.fspath(notes.path)
        except TracerError as e:
            self.warn(f"tracer: notes cannot be taken: {e}")
            notes = None

        env = dict(os.environ)
        env.update(extra_env)
        env[SESSION_ENV] = os.fspath(path)
        if notes is not None:
            env[SOCKET_ENV] = os.fspath(notes.path)
        if on_start is not None:
            on_start(path, warning)
        set_up = threading.Thread(target=self._set_up, args=(shell, kind, cols, rows), name="tracer-setup", daemon=True)
        exit_status, reason = 1, "error"
        final: FinalPatch | None = None
        try:
            if not interactive:
                # one command runs at once, with no input to hold: its own edits must not become the baseline
                self._set_up(shell, kind, cols, rows)
                tracker.start(clock(), self.options.command or "", os.fspath(self.cwd))
            loop = PtyLoop(
                argv,
                env,
                sink=_Sink(writer, tracker),
                clock=clock,
                marks=marks,
                cwd=os.fspath(self.cwd),
                stdin_fd=stdin_fd,
                stdout_fd=stdout_fd,
                size=(cols, rows),
                input_gate=self.ready,
                on_spawn=lambda: self._spawned(set_up),
                on_error=self.part_failed("command capture"),
            )
            result = loop.run()
            exit_status, reason = result.exit_status, result.reason
            tracker.end(clock(), exit_status)
        finally:
            if set_up.is_alive():
                set_up.join()
            if not writer.begun:  # the shell could not even start
                writer.begin(self._header(shell, kind, cols, rows, None), key=self._key())
            if notes is not None:
                notes.stop()
            if self.edits is not None:
                try:
                    self.edits.stop()
                    final = self.edits.final_patch()
                except Exception as e:
                    self.part_failed("the final patch")(e)
                self.warnings.extend(self.edits.warnings)
            if final is not None:
                writer.event(final)
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
        return RecordingSummary(
            path=path,
            session_id=self.session_id,
            exit_status=exit_status,
            reason=reason,
            commands=tracker.count,
            failed=tracker.failed,
            edits=self.edit_count,
            files=len(self.edited),
            notes=notes.count if notes is not None else 0,
            duration=end_t / 1e6,
            warnings=self.warnings,
            unwritten=writer.unwritten,
            redactions=dict(writer.redactor.counts) if writer.redactor is not None else None,
        )
