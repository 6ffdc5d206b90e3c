"""Recording a session (``tracer shell``): wires the PTY loop, shell integration, edits and notes to a writer.

Threads: the PTY loop runs in the calling (main) thread; the session writer, the file observer and the notes
server each run their own. Everything they produce meets in :class:`~tracer.store.SessionWriter`'s queue.

Shutdown order (also on SIGTERM/SIGHUP): the shell ends → the PTY is drained → edits still pending are
recorded → the final patch → ``session_end`` → the file is closed. A failure in any recording part is logged and
that part dropped; the user's shell keeps running (``tracer`` must never take the user's work with it).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tracer
from tracer.app.crashlog import log_exception
from tracer.capture.commands import CommandTracker
from tracer.capture.files import EditRecorder
from tracer.capture.integration import prepare_shell
from tracer.capture.marks import MarkParser
from tracer.capture.notes import SOCKET_ENV, NoteServer
from tracer.capture.pty import PtyLoop, terminal_size
from tracer.capture.workspace import WorkspaceInfo, workspace_info
from tracer.errors import NoTerminal, TracerError
from tracer.model import FileChange, FinalPatch, Header, Resize, SessionEnd
from tracer.store import SessionWriter, new_session_path

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
    """

    shell: str | None = None
    command: str | None = None
    output: str | None = None
    task: str | None = None
    test_command: str | None = None
    login: bool = False
    cwd: Path | None = None


@dataclass
class RecordingSummary:
    """What a finished recording holds, for the closing line.

    Attributes:
        duration: seconds recorded. edits: number of file changes; files: distinct paths changed.
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


class _Sink:
    """Where the PTY loop's output, marks and resizes go: the writer and the command tracker."""

    def __init__(self, writer: SessionWriter, tracker: CommandTracker) -> None:
        self.output = writer.output
        self._writer = writer
        self._tracker = tracker

    def mark(self, t: int, mark: object) -> None:
        self._tracker.mark(t, mark)  # type: ignore[arg-type]

    def resize(self, t: int, cols: int, rows: int) -> None:
        self._writer.event(Resize(t=t, cols=cols, rows=rows))


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
    cwd = (options.cwd or Path.cwd()).resolve()
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic_ns()

    def clock() -> int:
        return (time.monotonic_ns() - t0) // 1000

    session_id, path = new_session_path(options.output, started)
    path = path.resolve()
    info = workspace_info(cwd, exclude=[path])
    cols, rows = terminal_size(stdin_fd) or terminal_size(stdout_fd) or (80, 24)
    shell = options.shell or _default_shell()
    workdir = Path(tempfile.mkdtemp(prefix="tracer-"))
    nonce = secrets.token_hex(16)
    warning: str | None = None
    try:
        if interactive:
            launch = prepare_shell(shell, nonce=nonce, workdir=workdir, login=options.login)
            argv, extra_env, kind, warning = launch.argv, launch.env, launch.kind, launch.warning
        else:
            argv, extra_env, kind = [shell, "-c", options.command or ""], {}, "command"
        header = Header(
            t=0,
            session_id=session_id,
            started_at=started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            tracer_version=tracer.__version__,
            shell=shell if interactive else f"{shell} -c",
            shell_kind=kind if interactive else "command",
            mode="interactive" if interactive else "command",
            term=os.environ.get("TERM", ""),
            cols=cols,
            rows=rows,
            cwd=os.fspath(cwd),
            workspace=os.fspath(info.workspace),
            repo_root=os.fspath(info.repo_root) if info.repo_root else None,
            head_commit=info.head_commit,
            branch=info.branch,
            baseline_patch=info.baseline_patch,
            task=options.task,
            test_command=options.test_command,
            os=platform.platform(),
            hostname=socket.gethostname(),
        )
        recorder = _Recorder(options, header, workdir, clock, on_warning)
        recorder.writer = SessionWriter(path, header, on_warning=recorder.warn)
        marks = MarkParser(nonce) if interactive and kind != "other" else None
        return recorder.run(argv, extra_env, info, marks, stdin_fd, stdout_fd, warning, on_start)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _Recorder:
    """The parts of one recording and their shutdown, in order."""

    writer: SessionWriter

    def __init__(
        self,
        options: RecordOptions,
        header: Header,
        workdir: Path,
        clock: Callable[[], int],
        on_warning: Callable[[str], None] | None,
    ) -> None:
        self.options = options
        self.header = header
        self.workdir = workdir
        self.clock = clock
        self.on_warning = on_warning
        self.warnings: list[str] = []

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

    def run(
        self,
        argv: list[str],
        extra_env: dict[str, str],
        info: WorkspaceInfo,
        marks: MarkParser | None,
        stdin_fd: int,
        stdout_fd: int,
        warning: str | None,
        on_start: Callable[[Path, str | None], None] | None,
    ) -> RecordingSummary:
        """Start the parts, run the shell to its end, shut down in order; return the summary."""
        writer, clock, header = self.writer, self.clock, self.header
        path = writer.path
        interactive = self.options.command is None
        tracker = CommandTracker(writer.event)
        edits: EditRecorder | None = None
        notes: NoteServer | None = None
        exit_status, reason = 1, "error"
        edit_count = 0

        def record_edit(change: FileChange) -> None:
            nonlocal edit_count
            edit_count += 1
            writer.event(change)

        try:
            edits = EditRecorder(
                info,
                emit=record_edit,
                clock=clock,
                current_command=lambda: tracker.current,
                exclude=[path, self.workdir],
            )
            edits.start()
        except TracerError as e:
            self.warn(f"tracer: edits are not recorded: {e}")
            edits = None
        try:
            notes = NoteServer(
                self.workdir / "notes.sock", emit=writer.event, clock=clock, current_command=lambda: tracker.current
            )
            notes.start()
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
        final: FinalPatch | None = None
        try:
            if not interactive:
                tracker.start(clock(), self.options.command or "", header.cwd)
            loop = PtyLoop(
                argv,
                env,
                sink=_Sink(writer, tracker),
                clock=clock,
                marks=marks,
                cwd=header.cwd,
                stdin_fd=stdin_fd,
                stdout_fd=stdout_fd,
                on_error=self.part_failed("command capture"),
            )
            result = loop.run()
            exit_status, reason = result.exit_status, result.reason
            tracker.end(clock(), exit_status)
        finally:
            if notes is not None:
                notes.stop()
            if edits is not None:
                try:
                    edits.stop()
                    final = edits.final_patch()
                except Exception as e:
                    self.part_failed("the final patch")(e)
            if final is not None:
                writer.event(final)
            if edits is not None:
                self.warnings.extend(edits.warnings)
            end_t = clock()
            writer.close(SessionEnd(t=end_t, exit_status=exit_status, reason=reason, warnings=tuple(self.warnings)))
        return RecordingSummary(
            path=path,
            session_id=header.session_id,
            exit_status=exit_status,
            reason=reason,
            commands=tracker.count,
            failed=tracker.failed,
            edits=edit_count,
            files=len(final.files) if final is not None else 0,
            notes=notes.count if notes is not None else 0,
            duration=end_t / 1e6,
            warnings=self.warnings,
        )
