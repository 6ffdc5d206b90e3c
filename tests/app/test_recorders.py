"""Recorders among themselves: the private directories a killed recorder leaves are removed by the next one, and
two recorders of the same workspace find each other, say so on both terminals, and mark both sessions."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, make_repo, shell_user
from tracer.capture.runtime import process_start
from tracer.store import read_session

PROMPT = "RUN$ "


def user_in(tmp_path: Path, runtime: Path) -> User:
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    temp = tmp_path / "temp"
    temp.mkdir()
    user.env |= {"XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(temp)}
    return user


def prompt(child: pexpect.spawn) -> None:
    child.expect_exact(PROMPT)


def test_the_directories_of_a_killed_recorder_are_removed_by_the_next_one(tmp_path: Path, runtime: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = user_in(tmp_path, runtime)
    child = user.tracer_shell(repo)
    prompt(child)
    child.sendline("echo b >> a.txt")  # the edit recorder's copy of the git index is made
    prompt(child)
    recorder = child.pid
    own = runtime / "tracer" / f"{recorder}-{process_start(recorder)}"
    assert (own / "notes.sock").exists() and list(own.glob("index-*"))  # the git index copy's directory
    os.kill(recorder, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert own.exists()  # what a SIGKILL leaves: one directory, nothing in the temp dir
    assert list((tmp_path / "temp").iterdir()) == []
    # a directory named after a live process that started at another time: a dead recorder whose pid was reused
    reused = runtime / "tracer" / f"{os.getpid()}-1"
    reused.mkdir()
    # and one of a live recorder (this process, with its real start time): kept
    live = runtime / "tracer" / f"{os.getpid()}-{process_start(os.getpid())}"
    live.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-c", "true"], cwd=repo, env=user.env, timeout=60
    )
    assert proc.returncode == 0
    # (beside the recorders' directories, the versions of the bash binaries asked: integration.VERSION_CACHE)
    assert sorted(p.name for p in (runtime / "tracer").iterdir() if p.is_dir()) == [live.name]
    assert list((tmp_path / "temp").iterdir()) == []


def test_two_recorders_of_one_workspace_warn_on_both_terminals_and_mark_both_sessions(
    tmp_path: Path, runtime: Path
) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = user_in(tmp_path, runtime)
    first = user.tracer_shell(repo)
    prompt(first)
    first.sendline("true")  # its set-up is done: it has published itself
    prompt(first)
    second = user.tracer_shell(repo)
    # (the warning comes before the first prompt, or with the line typed at it: never in the middle of that line)
    second.sendline("echo b >> a.txt; echo ed''ited")
    second.expect(r"session (\S+) \(tracer pid (\d+)\) is already recording")
    first_id, first_pid = second.match.group(1), int(second.match.group(2))
    assert first_pid == first.pid
    second.expect_exact("edited")
    prompt(second)
    first.sendline("echo fir''st")  # the first waits at its prompt: the warning comes as the next line starts
    first.expect(r"session (\S+) \(tracer pid (\d+)\) started recording")
    second_id, second_pid = first.match.group(1), int(first.match.group(2))
    assert second_pid == second.pid
    first.expect_exact("first")
    prompt(first)
    # a recorder of another directory, meanwhile, is left alone
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-c", "true"], cwd=elsewhere, env=user.env, capture_output=True
    )
    assert proc.returncode == 0 and b"recording" not in proc.stderr, proc.stderr
    for child in (second, first):
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()
    recorded = [read_session(p) for p in user.sessions.glob("*.tracer")]
    sessions = {s.header.session_id: s for s in recorded if s.header.cwd == str(repo)}
    assert set(sessions) == {first_id, second_id}
    for me, other in ((first_id, second_id), (second_id, first_id)):
        end = sessions[me].end
        assert end is not None and end.concurrent_sessions == (other,)
        assert any(other in w and "recorded by both sessions" in w for w in end.warnings)
        # what a concurrent recording means: the other shell's edit is in both
        assert [(c.path, c.op) for c in sessions[me].file_changes()] == [("a.txt", "modify")]


def test_a_nested_session_is_said_once_not_warned_about_on_both_sides(tmp_path: Path, runtime: Path) -> None:
    """`tracer shell` inside a recorded shell says it nests, once; the outer recorder is not another terminal's,
    so neither says "already recording" nor "started recording too". The nested session still names it."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = user_in(tmp_path, runtime)
    outer = user.tracer_shell(repo)
    outer.logfile_read = seen = io.StringIO()
    prompt(outer)
    outer.sendline("true")  # its set-up is done: it has published itself
    prompt(outer)
    outer.sendline("tracer shell -q -c 'echo b >> a.txt; echo ne''sted'")
    outer.expect_exact("nested")
    prompt(outer)
    outer.sendline("tracer shell")
    outer.expect_exact("this shell is already recorded to ")
    prompt(outer)
    outer.sendline("echo in''ner; exit")
    outer.expect_exact("inner")
    outer.expect(r"tracer: saved \S+")
    prompt(outer)
    outer.sendline("exit")
    outer.expect(pexpect.EOF)
    outer.close()
    assert "already recording" not in seen.getvalue() and "started recording" not in seen.getvalue()
    sessions = {s.header.session_id: s for s in map(read_session, user.sessions.glob("*.tracer"))}
    (outer_id,) = [i for i, s in sessions.items() if s.header.mode == "interactive" and len(s.commands()) > 2]
    for i, s in sessions.items():
        assert s.end is not None
        assert s.end.concurrent_sessions == (() if i == outer_id else (outer_id,))
        assert not any("recorded by both" in w for w in s.end.warnings)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_warning_that_comes_at_the_prompt_waits_for_the_line_being_typed(
    tmp_path: Path, runtime: Path, shell: str
) -> None:
    """A warning of the recorder's while the shell waits at its prompt (another recorder of the workspace started)
    was written at once, where the user was typing: the line they typed went on below it, with the prompt above
    (bash does not redraw it). It now waits for the line to start, and goes between its echo and its output."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = shell_user(tmp_path, shell, PROMPT)
    temp = tmp_path / "temp"
    temp.mkdir()
    user.env |= {"XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(temp)}
    first = user.tracer_shell(repo)
    prompt(first)
    first.sendline("true")  # its set-up is done: it has published itself
    prompt(first)
    other = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-c", "true"], cwd=repo, env=user.env, capture_output=True
    )
    assert other.returncode == 0 and b"is already recording" in other.stderr, other.stderr  # (and the first knows)
    first.send("echo one; echo tw''o")
    first.send("\r")
    first.expect(r"tracer: session \S+ \(tracer pid \d+\) started recording")
    assert "tw''o" in first.before  # the line's echo came whole, right after the prompt; then the warning
    first.expect_exact("one\r\ntwo\r\n")
    prompt(first)
    first.sendline("exit")
    first.expect(pexpect.EOF)
    first.close()


def test_a_program_in_the_recorded_shell_cannot_forge_a_command(tmp_path: Path, runtime: Path) -> None:
    """What a script run in the session can read (its environment, the shell's initial environment and
    arguments, every file of the recorder's directory, the temp dir and HOME) holds no nonce: the mark it
    forges from what it found is output, not a command."""
    from tests.capture.test_nonce import PROBE

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    user = user_in(tmp_path, runtime)
    child = user.tracer_shell(tmp_path)
    prompt(child)
    line = f"{sys.executable} {probe} {tmp_path / 'dump'} {runtime} {tmp_path / 'temp'} {user.home}"
    child.sendline(line)
    prompt(child)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    session = read_session(next(user.sessions.glob("*.tracer")))
    assert [c.command for c in session.commands()] == [line, "exit"]
    assert len((tmp_path / "dump").read_bytes()) > 1000
