"""Running the test command: a shell in its own process group, output streamed, a timeout ending the group.

The command runs as ``bash -c COMMAND`` (``/bin/sh -c`` where bash is missing) with ``start_new_session``, so
the shell and everything it starts share one process group that a timeout or an interrupt can end whole:
``SIGTERM`` to the group, then ``SIGKILL`` after :data:`KILL_GRACE` seconds. Standard output and standard
error are merged into one pipe and read as they arrive.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tracer.verify.errors import VerifyError

#: Seconds between SIGTERM and SIGKILL when the test command's process group is ended.
KILL_GRACE = 2.0
#: Seconds the output pipe is still read after the shell exited (a background child may hold it open).
DRAIN_GRACE = 0.5
#: Bytes of output kept (the last ones); older output is streamed but not kept.
OUTPUT_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one run of the test command ended.

    Attributes:
        exit_status: the shell's exit status, 128+N when killed by signal N; ``None`` on timeout.
        timed_out: the run was ended by the timeout.
        duration: seconds from start to end.
        output: the last :data:`OUTPUT_LIMIT` bytes of the merged output.
        cut: bytes of output dropped from the front.
    """

    exit_status: int | None
    timed_out: bool
    duration: float
    output: bytes
    cut: int


def shell() -> str:
    """The shell that runs test commands: bash when it is on ``PATH``, else ``/bin/sh``."""
    return shutil.which("bash") or "/bin/sh"


def run_test_command(
    command: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    on_output: Callable[[bytes], None],
    argv: Sequence[str] | None = None,
) -> RunOutcome:
    """Run ``command`` in ``cwd`` and wait at most ``timeout`` seconds for it.

    Args:
        command: a shell command line.
        cwd: the directory it runs in.
        env: its whole environment.
        timeout: seconds before the process group is ended (the outcome then has ``timed_out``).
        on_output: called with each chunk of output (bytes) as it is read.
        argv: what to start instead of ``[shell(), "-c", command]`` (the same command in a sandbox or a
            container).

    Raises:
        VerifyError: the shell cannot be started.
        KeyboardInterrupt: passed on after the process group is ended.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv) if argv is not None else [shell(), "-c", command],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as e:
        raise VerifyError(f"cannot start the test command `{command}` in {cwd}: {e.strerror or e}") from e
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    kept = bytearray()
    cut = 0
    timed_out = False
    deadline = started + timeout
    drain_until: float | None = None
    finished = False

    def keep(chunk: bytes) -> None:
        nonlocal cut
        kept.extend(chunk)
        if len(kept) > 2 * OUTPUT_LIMIT:
            drop = len(kept) - OUTPUT_LIMIT
            cut += drop
            del kept[:drop]

    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            eof = False
            while True:
                now = time.monotonic()
                if proc.poll() is not None:
                    if eof:
                        break
                    if drain_until is None:
                        drain_until = now + DRAIN_GRACE
                    elif now >= drain_until:
                        break  # a background process holds the pipe open: the group is ended below
                elif now >= deadline:
                    timed_out = True
                    break
                if eof:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=max(min(deadline - now, 0.1), 0.0))
                    continue
                if not sel.select(max(min(deadline - now, 0.1), 0.0)):
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    eof = True  # every writer closed the pipe; the shell may still run
                    sel.unregister(fd)
                    continue
                keep(chunk)
                on_output(chunk)
        finished = True
    finally:
        _end_group(proc, grace=KILL_GRACE if finished else 0.2)
        if finished:
            # Whatever the group wrote before it ended.
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except (BlockingIOError, OSError):
                    break
                if not chunk:
                    break
                keep(chunk)
                on_output(chunk)
        proc.stdout.close()
    duration = time.monotonic() - started
    if len(kept) > OUTPUT_LIMIT:
        cut += len(kept) - OUTPUT_LIMIT
        del kept[: len(kept) - OUTPUT_LIMIT]
    status = None if timed_out else _exit_status(proc.returncode)
    return RunOutcome(exit_status=status, timed_out=timed_out, duration=duration, output=bytes(kept), cut=cut)


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _end_group(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """End the process group led by ``proc`` (whose id is the group's): SIGTERM, then SIGKILL after ``grace``.

    A group whose leader already exited normally is still ended, as its leftover background processes would
    outlive the worktree they run in.
    """
    pgid = proc.pid
    if proc.poll() is not None and not _group_alive(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()
        if proc.returncode is not None and not _group_alive(pgid):
            return
        time.sleep(0.02)
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while a process other than a zombie is in the group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return _live_members(pgid)


def _live_members(pgid: int) -> bool:
    """Whether ``/proc`` shows a non-zombie process of group ``pgid`` (True when ``/proc`` cannot tell)."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return True
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False
