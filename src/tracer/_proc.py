"""Running external commands (git, patch, the user's test command) through one helper.

Every call raises :class:`CommandFailed` on a non-zero exit status (unless ``check=False``) and
:class:`~tracer.errors.TracerError` subclasses only; ``OSError`` from a missing program is wrapped.
Modelled on pre-commit's ``cmd_output``.

:func:`run_git` runs ``git`` without :mod:`subprocess` (``os.posix_spawn`` and pipes: this module imports nothing
beyond :mod:`os` and :mod:`select` until :func:`run` is called): the baseline tree of a ``tracer shell -c`` command
is written before the command starts, where ``subprocess``, with ``signal``, ``selectors``, ``threading`` and the
modules behind them, cost ~7 ms (docs/performance.md, run 14).
"""

from __future__ import annotations

import os
import select
import time

from tracer.errors import TracerError

TYPE_CHECKING = False
if TYPE_CHECKING:  # imported where a process is started: not on the way to a recording's shell
    import subprocess
    from collections.abc import Mapping, Sequence
    from pathlib import Path


class CommandFailed(TracerError):
    """An external command exited non-zero or could not be started.

    Attributes:
        argv: the command.
        status: its exit status (``None`` when it could not be started).
        stdout, stderr: what it printed, as bytes.
    """

    def __init__(self, argv: Sequence[str], status: int | None, stdout: bytes, stderr: bytes) -> None:
        self.argv = list(argv)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        detail = stderr.decode(errors="replace").strip() or stdout.decode(errors="replace").strip()
        what = "could not be started" if status is None else f"exited with status {status}"
        super().__init__(f"`{' '.join(self.argv)}` {what}" + (f": {detail}" if detail else ""))


class CommandTimedOut(CommandFailed):
    """An external command took longer than it was given, and was killed.

    Attributes:
        seconds: the time it was given.
    """

    def __init__(self, argv: Sequence[str], seconds: float, stdout: bytes, stderr: bytes) -> None:
        super().__init__(argv, None, stdout, stderr)
        self.seconds = seconds
        self.args = (f"`{' '.join(self.argv)}` did not finish within {seconds:g} s and was stopped",)


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` to completion and capture its output (bytes).

    Raises:
        CommandFailed: the program is missing, or it exited non-zero and ``check`` is true.
        subprocess.TimeoutExpired: ``timeout`` seconds passed.
    """
    import subprocess

    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            input=input,
            env=dict(env) if env is not None else None,
            capture_output=True,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except OSError as e:
        raise CommandFailed(argv, None, b"", str(e).encode()) from e
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def git_env() -> dict[str, str]:
    """The environment for git calls: the user's, without variables that would redirect git elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in ("GIT_EXEC_PATH",)}
    env["LC_ALL"] = "C"
    return env


def git(*args: str, cwd: str | Path, input: bytes | None = None, check: bool = True) -> bytes:
    """Run ``git ARGS`` in ``cwd`` and return its standard output (bytes).

    Raises:
        CommandFailed: git is missing or exited non-zero (when ``check``).
    """
    return run(["git", *args], cwd=cwd, input=input, env=git_env(), check=check).stdout


class Completed:
    """What :func:`run_git` gives back, as :class:`subprocess.CompletedProcess` names it: ``args``,
    ``returncode``, ``stdout`` and ``stderr`` (bytes)."""

    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: list[str], returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run_git(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Completed:
    """Run ``git -C CWD ARGS`` to completion and capture its output (bytes), as :func:`run` does, without
    :mod:`subprocess`: ``os.posix_spawn`` of the ``git`` on the ``PATH`` of ``env`` (``git -C`` stands for the
    working directory, which ``posix_spawn`` cannot set), its standard output and error read through pipes as they
    come (``select.poll``), ``input`` written to its standard input meanwhile (else it reads ``/dev/null``). As
    :mod:`subprocess` does (``close_fds``), no other descriptor reaches ``git``: tracer's own are close-on-exec
    (:pep:`446`), and those this process inherited are closed in the child (:func:`_inherited_fds`).

    ``timeout``: seconds git may take; past them it is killed (``SIGKILL``) and :class:`CommandTimedOut` raised.

    Raises:
        CommandFailed: git is missing, or it exited non-zero and ``check`` is true.
        CommandTimedOut: it took more than ``timeout`` seconds (whatever ``check``).
    """
    argv = ["git", "-C", os.fspath(cwd), *args]
    environ = dict(os.environ if env is None else env)
    program = _find_program("git", environ)
    if program is None:
        raise CommandFailed(argv, None, b"", b"git: not found on PATH")
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    in_r, in_w = os.pipe2(os.O_CLOEXEC) if input else (-1, -1)  # (no input, or none left: /dev/null)
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
        (os.POSIX_SPAWN_DUP2, in_r, 0) if in_r >= 0 else (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()),
    ]
    try:
        pid = os.posix_spawn(program, argv, environ, file_actions=actions)
    except OSError as e:
        for fd in (out_r, out_w, err_r, err_w, in_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise CommandFailed(argv, None, b"", str(e).encode()) from e
    for fd in (out_w, err_w, in_r):
        if fd >= 0:
            os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    pending = memoryview(input or b"")
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    if in_w >= 0:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    open_fds = len(chunks) + (in_w >= 0)
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = False
    try:
        while open_fds:
            if deadline is None:
                ready = poller.poll()
            else:
                left = deadline - time.monotonic()
                ready = poller.poll(max(0, int(left * 1000) + 1)) if left > 0 else []
                if not ready and time.monotonic() >= deadline:
                    timed_out = True
                    os.kill(pid, 9)  # SIGKILL (signal is not imported here)
                    break
            for fd, _ in ready:
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[: 1 << 16]) :]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:  # it stopped reading: what it printed says why
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                        open_fds -= 1
                    continue
                data = os.read(fd, 1 << 16)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds -= 1
    finally:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise CommandTimedOut(argv, timeout or 0.0, b"".join(chunks[out_r]), b"".join(chunks[err_r]))
    done = Completed(argv, os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]), b"".join(chunks[err_r]))
    if check and done.returncode != 0:
        raise CommandFailed(argv, done.returncode, done.stdout, done.stderr)
    return done


def _inherited_fds() -> list[int]:
    """This process's descriptors above 2 that a child would inherit (not close-on-exec): those its parent left
    open, e.g. a pipe of the program that started tracer. Listed from ``/proc/self/fd`` (Linux), else ``/dev/fd``
    (the BSDs); ``[]`` where neither can be read."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        fds = []
        for name in names:
            fd = int(name)
            try:
                if fd > 2 and os.get_inheritable(fd):
                    fds.append(fd)
            except OSError:  # the listing's own descriptor, closed by now
                pass
        return fds
    return []


def _find_program(name: str, env: Mapping[str, str]) -> str | None:
    """The executable file ``name`` in the ``PATH`` of ``env`` (as :mod:`subprocess` looks for it, in the child's
    environment), or ``None``."""
    for directory in env.get("PATH", os.defpath).split(os.pathsep):  # (os.get_exec_path imports warnings)
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK) and os.path.isfile(path):
            return path
    return None


def end_batch_process(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """End a long-running process that takes requests on its stdin (``git cat-file --batch``,
    ``git check-ignore --stdin``): close its stdin and wait up to 5 seconds for it to exit, else (or at once,
    with ``kill``, for a process in an unknown state) kill it; close its pipes. Never raises."""
    import contextlib
    import subprocess  # (both loaded already: proc is one of its processes)

    try:
        if kill:
            raise subprocess.TimeoutExpired(proc.args, 0)
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
