"""Names that are not UTF-8 (Linux paths are bytes): recording in such a directory, and files so named, keep
every byte — in the header, the file changes, and a final patch that `git apply` turns back into the same names."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo, shell_user
from tracer.model import Session
from tracer.store import read_session

PROMPT = "ODD$ "
#: A directory and a file whose names are not UTF-8 (0xE9 and 0xFE alone are not valid UTF-8).
ODD_DIR = os.fsdecode(b"caf\xe9")
ODD_FILE = b"new\xfe.txt"
#: How each shell writes "y" into ODD_FILE.
WRITE_ODD = {
    "bash": "printf y > $'new\\xfe.txt'",
    "zsh": "printf y > $'new\\xfe.txt'",
    "fish": "printf y > new\\xfe.txt",
}


def odd_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / ODD_DIR, {"a.txt": "a\n"})


def assert_recorded_byte_for_byte(session: Session, repo: Path, tmp_path: Path, *, git_repo: bool = True) -> None:
    """The header, the file change and the final patch name ODD_DIR and ODD_FILE with their exact bytes, and the
    final patch rebuilds the file on a copy of the start state."""
    assert os.fsencode(session.header.cwd) == os.fsencode(repo)
    changes = {os.fsencode(c.path): c for c in session.file_changes()}
    assert changes[ODD_FILE].op == "create"
    final = session.final_patch
    assert final is not None and ODD_FILE in [os.fsencode(f) for f in final.files]
    copy = tmp_path / "copy"
    if git_repo:
        git(tmp_path, "clone", "-q", os.fsdecode(repo), str(copy))
    else:
        copy.mkdir()
    subprocess.run(["git", "apply", "-"], cwd=copy, input=final.patch.encode(), check=True)
    assert (copy / os.fsdecode(ODD_FILE)).read_bytes() == b"y"
    assert ODD_FILE in os.listdir(os.fsencode(copy))


def test_one_command_in_a_directory_and_on_a_file_not_utf8(tmp_path: Path) -> None:
    repo = odd_repo(tmp_path)
    user = User(tmp_path, {})
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-c", WRITE_ODD["bash"] + "; echo b >> a.txt"],
        cwd=repo,
        env=user.env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and b"internal error" not in proc.stderr, proc.stderr
    assert b"2 edits in 2 files" in proc.stderr
    session = read_session(user.session())
    assert os.fsencode(session.commands()[0].command) == b"printf y > $'new\\xfe.txt'; echo b >> a.txt"
    assert_recorded_byte_for_byte(session, repo, tmp_path)


def test_one_command_outside_git_in_a_directory_not_utf8(tmp_path: Path) -> None:
    plain = tmp_path / ODD_DIR
    plain.mkdir()
    user = User(tmp_path, {})
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-c", WRITE_ODD["bash"]],
        cwd=plain,
        env=user.env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and b"internal error" not in proc.stderr, proc.stderr
    assert_recorded_byte_for_byte(read_session(user.session()), plain, tmp_path, git_repo=False)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_an_interactive_shell_in_a_directory_not_utf8(tmp_path: Path, shell: str) -> None:
    user = shell_user(tmp_path, shell, PROMPT)
    repo = odd_repo(tmp_path)
    child = user.tracer_shell(repo)
    child.logfile_read = screen = io.StringIO()
    child.expect_exact(PROMPT)
    child.sendline(WRITE_ODD[shell] + "; echo writ''ten")
    child.expect_exact("written")
    child.expect_exact(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in screen.getvalue() and "internal error" not in screen.getvalue()
    session = read_session(user.session())
    assert session.end is not None and session.end.warnings == ()
    assert os.fsencode(session.commands()[0].cwd) == os.fsencode(repo)
    assert_recorded_byte_for_byte(session, repo, tmp_path)
