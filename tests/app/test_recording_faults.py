"""Faults while recording: the recorder stopped by SIGTERM/SIGHUP/SIGKILL, a disk that fills up.

In every case the user's recorded work survives and no shell or child process is left behind.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import psutil
import pytest

from tests.conftest import User, make_repo
from tracer.model import SessionEnd
from tracer.store import read_session

PROMPT = "FAULT$ "


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie whose parent never reaps it counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def start(tmp_path: Path) -> tuple[pexpect.spawn, Path, int]:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    sessions = user.sessions
    child = user.tracer_shell(repo)
    child.expect_exact(PROMPT)
    child.sendline("echo shell-pid=$$")
    child.expect(r"shell-pid=(\d+)")
    shell_pid = int(child.match.group(1))
    child.expect_exact(PROMPT)
    child.sendline("sleep 300 & echo started")
    child.expect_exact("started")
    child.expect_exact(PROMPT)
    return child, sessions, shell_pid


def session_file(sessions: Path) -> Path:
    (path,) = sessions.glob("*.tracer")
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_stopped_recorder_writes_a_complete_session_and_leaves_no_process(tmp_path: Path, signum: int) -> None:
    child, sessions, shell_pid = start(tmp_path)
    shell = psutil.Process(shell_pid)
    family = [shell_pid] + [p.pid for p in shell.children(recursive=True)]
    os.kill(child.pid, signum)
    child.expect(pexpect.EOF)
    child.wait()
    session = read_session(session_file(sessions))
    assert session.end is not None and session.end.reason == signal.Signals(signum).name
    assert [c.command for c in session.commands()] == ["echo shell-pid=$$", "sleep 300 & echo started"]
    assert wait_until(lambda: not any(alive(p) for p in family)), "a shell or child process was left behind"


def test_sigkill_keeps_everything_but_the_last_quarter_second(tmp_path: Path) -> None:
    child, sessions, shell_pid = start(tmp_path)
    path = session_file(sessions)
    # wait until the commands are on disk: nothing stays only in memory for more than 250 ms
    assert wait_until(lambda: len(read_session(path).commands()) == 2, timeout=5)
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    session = read_session(path)
    assert session.interrupted and session.end is None
    assert [c.command for c in session.commands()] == ["echo shell-pid=$$", "sleep 300 & echo started"]
    # the shell loses its terminal (the PTY master closed with the recorder) and exits
    assert wait_until(lambda: not alive(shell_pid))


def test_a_full_disk_gives_one_warning_and_the_command_runs_on(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes writes past 16 KiB fail (EFBIG), as a full disk would (ENOSPC)
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))

    out = tmp_path / "s.tracer"
    proc = subprocess.run(
        # (-B: under the limit, a .pyc the interpreter writes would be cut at 16 KiB, and loaded by later runs)
        [sys.executable, "-B", "-m", "tracer", "shell", "-q", "-o", str(out), "-c", "seq 1 300000; echo done"],
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert proc.returncode == 0
    assert proc.stdout.endswith(b"299999\r\n300000\r\ndone\r\n")
    warnings = [line for line in proc.stderr.decode().splitlines() if "cannot write" in line]
    assert len(warnings) == 1, proc.stderr
    session = read_session(out)  # what reached the disk is readable
    assert session.header.mode == "command"


def test_session_end_records_the_shell_exit_status(tmp_path: Path) -> None:
    out = tmp_path / "s.tracer"
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-o", str(out), "-c", "exit 42"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 42
    session = read_session(out)
    end = session.end
    assert end is not None and end.mac is not None  # signed (tests/verify/test_trust.py)
    assert end == SessionEnd(t=end.t, exit_status=42, reason="exit", mac=end.mac, redactions={})
    ((cmd),) = session.commands()
    assert (cmd.command, cmd.exit_status) == ("exit 42", 42)


def logged_silently(tmp_path: Path, body: str) -> str:
    """Run ``body`` in a Python process after ``route_logging()``; assert it printed nothing; its log's text."""
    code = "from tracer.app.crashlog import route_logging\nroute_logging()\n" + body
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""
    return (tmp_path / "state" / "tracer" / "tracer.log").read_text()


def test_tracer_logs_go_to_the_log_file_never_to_the_terminal(tmp_path: Path) -> None:
    log = logged_silently(
        tmp_path,
        "import logging\n"
        "try:\n"
        "    raise RuntimeError('boom')\n"
        "except RuntimeError:\n"
        "    logging.getLogger('tracer.capture.files').exception('edit recorder failed')\n",
    )
    assert "edit recorder failed" in log and "RuntimeError: boom" in log


def test_a_library_s_warnings_go_to_the_log_file_never_to_the_terminal(tmp_path: Path) -> None:
    # watchdog logs this on its own logger when a build makes files faster than inotify's queue takes them: with
    # no handler above it, logging's last resort printed it over the user's shell
    log = logged_silently(
        tmp_path,
        "import logging\n"
        "logging.getLogger('watchdog.observers.inotify_c')"
        ".warning('Inotify queue overflowed; filesystem events were lost')\n"
        "logging.getLogger('watchdog.observers.inotify').info('not a warning: not logged')\n",
    )
    assert "watchdog.observers.inotify_c WARNING Inotify queue overflowed" in log and "not logged" not in log


def test_python_warnings_go_to_the_log_file_never_to_the_terminal(tmp_path: Path) -> None:
    # as watchdog's RuntimeWarning on the observer's thread when a directory tree is copied in
    log = logged_silently(
        tmp_path,
        "import threading, warnings\n"
        "t = threading.Thread(target=warnings.warn, args=('callback already exists', RuntimeWarning))\n"
        "t.start(); t.join()\n",
    )
    assert "py.warnings WARNING" in log and "RuntimeWarning: callback already exists" in log


def test_the_log_directory_is_made_only_when_something_is_logged_and_a_bad_one_stays_silent(tmp_path: Path) -> None:
    state = tmp_path / "state"
    help_run = subprocess.run(
        [sys.executable, "-m", "tracer", "--help"],
        capture_output=True,
        env={**os.environ, "XDG_STATE_HOME": str(state)},
        timeout=60,
    )
    assert help_run.returncode == 0 and not state.exists()
    (tmp_path / "file").write_text("not a directory")
    code = (
        "import logging\n"
        "from tracer.app.crashlog import route_logging\n"
        "route_logging()\n"
        "logging.getLogger('tracer.x').warning('cannot be written')\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "file" / "below")}  # cannot be created
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout == ""


def test_a_terminal_that_hangs_up_ends_the_recording_cleanly(tmp_path: Path) -> None:
    """The user closes the terminal window: the recorder gets SIGHUP and cannot restore a terminal that is gone;
    the session still ends normally and tracer logs no error of its own."""
    child, sessions, _ = start(tmp_path)
    recorder = psutil.Process(child.pid)
    child.close(force=False)  # the terminal's master side closes: a hangup
    assert wait_until(lambda: not alive(recorder.pid))
    session = read_session(session_file(sessions))
    assert session.end is not None and session.end.reason == "SIGHUP"
    assert not (tmp_path / "home" / ".state" / "tracer" / "tracer.log").exists()


def test_a_disk_full_at_the_end_is_told_in_the_closing_line_and_the_shell_status_stays(tmp_path: Path) -> None:
    # RLIMIT_FSIZE: the session file cannot grow past 64 KiB (EFBIG), so what comes after is never written
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    out = tmp_path / "s.tracer"
    script = "head -c 300000 /dev/urandom | base64; echo done; exit 3"
    proc = subprocess.run(
        [sys.executable, "-B", "-m", "tracer", "shell", "-o", str(out), "-c", script],  # (-B: as above)
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert proc.returncode == 3  # the shell's own status
    stderr = proc.stderr.decode()
    assert "saved" not in stderr, stderr
    (closing,) = [line for line in stderr.splitlines() if "INCOMPLETE" in line]
    assert "could not be written" in closing and "KiB of output" in closing and "the session's end" in closing
    session = read_session(out)  # what reached the disk is readable, and says it was cut short
    assert session.interrupted and session.end is None


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_real_full_disk_loses_the_last_commands_and_says_so(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
        user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
        user.env["TRACER_DIR"] = str(disk)
        child = user.tracer_shell(repo)
        child.logfile_read = screen = io.StringIO()
        child.expect_exact(PROMPT)
        child.sendline("echo one")
        child.expect_exact(PROMPT)
        (path,) = disk.glob("*.tracer")
        # the first command reaches the disk before it fills (the writer closes a frame within 250 ms)
        assert wait_until(lambda: [c.command for c in read_session(path).commands()] == ["echo one"])
        child.sendline(f"cat /dev/zero > {disk}/fill; echo filled")  # the disk the session is written to
        child.expect_exact("filled")
        child.expect_exact(PROMPT)
        child.sendline("head -c 30000 /dev/urandom | base64; echo two")  # more than the last page holds
        child.expect_exact("two")
        child.expect_exact(PROMPT)
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()
        text = screen.getvalue()
        assert child.exitstatus == 0 and "saved" not in text
        assert text.count("the disk is full; recording continues in memory") == 1  # said at once, on the terminal
        closing = text[text.index("INCOMPLETE") :]
        assert closing.startswith("INCOMPLETE: the disk is full") and "the session's end" in closing, closing
        session = read_session(path)
        assert session.interrupted and session.commands()[0].command == "echo one"
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_thread_that_dies_of_an_exception_logs_it_never_prints_it(tmp_path: Path) -> None:
    # as the recorder's set-up thread did with a directory name that is not UTF-8: a traceback over the shell
    log = logged_silently(
        tmp_path,
        "import threading\n"
        "def set_up(): raise UnicodeEncodeError('utf-8', 'caf\\udce9', 3, 4, 'surrogates not allowed')\n"
        "t = threading.Thread(target=set_up, name='tracer-setup')\n"
        "t.start(); t.join()\n",
    )
    assert "uncaught exception in thread tracer-setup" in log and "surrogates not allowed" in log


@pytest.mark.parametrize("unset_runtime_dir", [False, True], ids=["runtime-dir", "temp-dir"])
def test_a_deleted_working_directory_is_said_as_such(tmp_path: Path, unset_runtime_dir: bool) -> None:
    """Started in a directory that was removed (``rm -r`` of it from another shell): one line that says so and what
    to do, exit status 3, no session file; no internal error (with or without a runtime directory: the temporary
    directory's fallback must not need the current one)."""
    gone = tmp_path / "gone"
    gone.mkdir()
    env = {**os.environ, "TRACER_DIR": str(tmp_path / "sessions"), "TMPDIR": str(tmp_path)}
    if unset_runtime_dir:
        env.pop("XDG_RUNTIME_DIR", None)
    else:
        runtime = tmp_path / "run"
        runtime.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    proc = subprocess.run(
        ["/bin/sh", "-c", 'cd "$1" && rmdir "$1" && exec "$2" -m tracer shell -q -c true', "sh", gone, sys.executable],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr == (
        "tracer: the current directory no longer exists (it was deleted or moved away): cd to an existing directory "
        "and start the recording there\n"
    )
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").iterdir())
