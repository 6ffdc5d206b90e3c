"""A session being recorded now: `tracer ls` and `show` say so (not "interrupted"), and nothing is appended to it
or deletes it until its recorder ends, so the user's own session stays signed and whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, make_repo
from tracer.errors import SessionBusy
from tracer.model import Note

PROMPT = "RUN$ "


def test_a_session_being_recorded_is_shown_as_such_and_left_whole(
    tmp_path: Path, runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    user.env |= {"XDG_RUNTIME_DIR": str(runtime)}
    child = user.tracer_shell(repo, "--test-command", "true")
    child.expect_exact(PROMPT)
    child.sendline("echo b >> a.txt")  # (its set-up is done by the end of a command: it has said who it is)
    child.expect_exact(PROMPT)
    path = user.session()

    def tracer(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracer", *args],
            cwd=tmp_path,
            env=user.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    listing = tracer("ls").stdout.splitlines()
    assert listing[1].split()[8] == "recording", listing
    shown = tracer("show").stdout
    assert f"being recorded now (tracer pid {child.pid})" in shown and "interrupted" not in shown
    assert f"tracer pid {child.pid}" in tracer("export", "--format", "jsonl").stderr

    for command in ["verify", "judge"]:
        proc = tracer(command)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr
        assert f"is being recorded now (tracer pid {child.pid}): {command} it once its shell exits" in proc.stderr
    pushed = tracer("push", path.stem, str(tmp_path / "team"))
    assert pushed.returncode == 0, pushed.stderr
    assert "is being recorded now" in pushed.stderr and "push it again once its shell exits" in pushed.stderr
    built = tracer("dataset", "build", str(tmp_path / "ds"), "--all", "--format", "jsonl")
    assert built.returncode == 0, built.stderr
    assert f"left out: {path} is being recorded now (tracer pid {child.pid})" in built.stderr
    assert "built" in built.stderr and ": 0 sessions" in built.stderr
    kept = tracer("rm", "--yes", path.stem)
    assert kept.returncode == 1 and f"kept {path.stem}: it is being recorded now" in kept.stderr
    assert tracer("purge", "--older-than", "0d", "--yes").returncode == 0
    assert path.exists()

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # the replay, in this process, as the same user
    from tracer.app.replaying import build_app

    app = build_app(path)
    assert app.recording == child.pid
    assert app._append is not None
    with pytest.raises(SessionBusy, match="add notes here"):
        app._append([Note(t=1, id="n", text="from the replay", source="replay")])

    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert tracer("ls").stdout.splitlines()[1].split()[8] == "-"
    verified = tracer("verify")  # its own, signed session: trusted, run without asking
    assert verified.returncode == 0, verified.stderr
    assert "not trusted" not in verified.stderr
    assert os.stat(path).st_size > 0
