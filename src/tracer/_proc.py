"""Running external commands (git, patch, the user's test command) through one helper.

Every call raises :class:`CommandFailed` on a non-zero exit status (unless ``check=False``) and
:class:`~tracer.errors.TracerError` subclasses only; ``OSError`` from a missing program is wrapped.
Modelled on pre-commit's ``cmd_output``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.errors import TracerError

if TYPE_CHECKING:  # imported where a process is started: not on the way to a recording's shell (outside git)
    import subprocess


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


def end_batch_process(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """End a long-running process that takes requests on its stdin (``git cat-file --batch``,
    ``git check-ignore --stdin``): close its stdin and wait up to 5 seconds for it to exit, else (or at once,
    with ``kill``, for a process in an unknown state) kill it; close its pipes. Never raises."""
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
