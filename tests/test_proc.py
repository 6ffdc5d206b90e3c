"""tracer._proc: git run without subprocess, compared with subprocess; ending the long-running git processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tracer._proc import CommandFailed, CommandTimedOut, end_batch_process, git_env, run_git


def test_run_git_gives_what_subprocess_gives(tmp_path: Path) -> None:
    # the same git calls, by posix_spawn and by subprocess: status, stdout and stderr byte for byte
    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n", "dir/b.txt": "two\n"})
    (repo / "dir" / "c.txt").write_text("three\n")
    sub = repo / "dir"
    for args in (
        ["rev-parse", "--show-toplevel", "--show-prefix"],
        ["status", "--porcelain"],
        ["ls-files", "-z", "--others", "--exclude-standard", "--full-name", ":/"],
        ["cat-file", "-p", "HEAD:nowhere"],  # fails: status 128 and git's message on stderr
    ):
        ours = run_git(args, cwd=sub, env=git_env(), check=False)
        theirs = subprocess.run(["git", *args], cwd=sub, env=git_env(), capture_output=True, stdin=subprocess.DEVNULL)
        assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), args


def test_run_git_writes_its_input_while_reading_its_output(tmp_path: Path) -> None:
    # 4 MiB through `git hash-object --stdin` and 4 MiB back from `cat-file`: more than a pipe holds either way
    repo = make_repo(tmp_path / "repo", {"a.txt": "one\n"})
    blob = os.urandom(4 << 20)
    oid = run_git(["hash-object", "-w", "--stdin"], cwd=repo, input=blob).stdout.strip().decode()
    assert oid == git(repo, "hash-object", "--stdin", input=blob).strip()
    assert run_git(["cat-file", "blob", oid], cwd=repo).stdout == blob


def test_run_git_passes_git_no_descriptor_but_its_three(tmp_path: Path) -> None:
    # as subprocess's close_fds: a descriptor the recorder inherited from its parent (here: one made inheritable)
    # must not stay open in git and what it runs (a pipe held open would keep its reader from seeing its end)
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        listed = run_git(["-c", "alias.fds=!ls /proc/self/fd", "fds"], cwd=tmp_path).stdout.split()
        theirs = subprocess.run(
            ["git", "-c", "alias.fds=!ls /proc/self/fd", "fds"], cwd=tmp_path, capture_output=True, check=True
        ).stdout.split()
    finally:
        os.close(r)
        os.close(w)
    assert str(w).encode() not in listed and {b"0", b"1", b"2"} <= set(listed)
    assert sorted(listed) == sorted(theirs)  # what subprocess leaves: 0, 1, 2 and ls's own listing


def test_run_git_reports_a_failure_and_a_missing_git(tmp_path: Path) -> None:
    pipes = _pipes()
    with pytest.raises(CommandFailed, match="exited with status 128"):
        run_git(["rev-parse", "HEAD"], cwd=tmp_path)
    with pytest.raises(CommandFailed, match="could not be started") as e:
        run_git(["--version"], cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert e.value.status is None
    assert _pipes() == pipes  # no pipe left open either way


def _pipes() -> set[str]:
    """The pipes this process has open."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("pipe:"):
            out.add(f"{fd} {target}")
    return out


def test_run_git_stops_a_git_that_does_not_finish_in_time(tmp_path: Path) -> None:
    """git waits for ever to open a FIFO where a .gitignore should be (``git status`` too): past ``timeout``, it is
    killed and CommandTimedOut names the command; without a timeout nothing changes."""
    import time

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    os.mkfifo(repo / ".gitignore")
    started = time.monotonic()
    with pytest.raises(CommandTimedOut) as caught:
        run_git(["ls-files", "--others", "--exclude-standard"], cwd=repo, env=git_env(), check=False, timeout=0.5)
    assert time.monotonic() - started < 20
    assert "ls-files --others --exclude-standard` did not finish within 0.5 s and was stopped" in str(caught.value)
    assert isinstance(caught.value, CommandFailed)
    done = run_git(["rev-parse", "--show-toplevel"], cwd=repo, env=git_env(), timeout=30)
    assert done.stdout.decode().strip() == str(repo)


@pytest.mark.parametrize("kill", [False, True])
def test_end_batch_process_ends_it_and_closes_its_pipes(kill: bool) -> None:
    # (with kill=True it raised NameError: subprocess was imported for type checking only)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    end_batch_process(proc, kill=kill)
    assert proc.returncode == (-9 if kill else 0)
    assert proc.stdin is not None and proc.stdin.closed
    assert proc.stdout is not None and proc.stdout.closed
