"""A recording's git objects live in an object directory of its own, never in the user's repository.

The baseline tree and the blobs of the files that differ from ``HEAD`` (uncommitted at the start, edited during
the recording) are written by ``git add`` through a private index. They used to go into the repository's object
database, unreachable from any ref: a ``git gc --prune=now`` run during the recording deleted them, and the
session lost every edit and its final patch. Real ``tracer shell`` runs, real bash, real git.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo
from tracer.capture._gittree import STORE_DIR
from tracer.capture.runtime import process_start
from tracer.model import FileChange, FinalPatch, Session, SessionEnd
from tracer.store import read_session

PROMPT = "STORE-TEST$ "


def dirty_repo(tmp_path: Path, name: str = "repo") -> Path:
    """A repository with a tracked file changed and an untracked file at the start: both in no object yet."""
    repo = make_repo(tmp_path / name, {"m.py": "a\nb\n"})
    (repo / "m.py").write_text("a\nb\ndirty\n")
    (repo / "u.txt").write_text("new\n")
    return repo


def objects_of(repo: Path) -> set[str]:
    """Every file in the repository's object database (loose objects, packs, their indexes)."""
    root = repo / ".git" / "objects"
    return {os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files}


def record(repo: Path, command: str, out: Path) -> tuple[Session, str]:
    """``tracer shell -q -c COMMAND`` in ``repo``: the session, its end's warnings checked, and what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-c", command, "-o", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    session = read_session(out)
    end = next(e for e in session.events if isinstance(e, SessionEnd))
    assert not end.warnings, end.warnings  # ("edits are not recorded: … bad object …" before)
    return session, done.stdout


def final_patch(session: Session) -> str:
    (patch,) = [e for e in session.events if isinstance(e, FinalPatch)]
    return patch.patch


@pytest.mark.parametrize("name", ["repo", 'proj:v2 "q\\z'])  # ':' separates alternates: quoted, as git reads them
def test_a_git_gc_during_the_recording_loses_no_edit_and_no_final_patch(tmp_path: Path, name: str) -> None:
    repo = dirty_repo(tmp_path, name)
    session, _ = record(repo, "echo more >> m.py; echo more >> u.txt; git gc --prune=now -q", tmp_path / "s.tracer")
    assert {e.path for e in session.events if isinstance(e, FileChange)} == {"m.py", "u.txt"}
    # the final patch applies on the start state (HEAD + the uncommitted changes) and gives the end state
    start = tmp_path / "start"
    git(tmp_path, "clone", "-q", str(repo), str(start))
    (start / "m.py").write_text("a\nb\ndirty\n")
    (start / "u.txt").write_text("new\n")
    git(start, "apply", "-", input=final_patch(session).encode())
    assert (start / "m.py").read_text() == "a\nb\ndirty\nmore\n"
    assert (start / "u.txt").read_text() == "new\nmore\n"


def test_a_recording_writes_nothing_into_the_repository(tmp_path: Path) -> None:
    repo = dirty_repo(tmp_path)
    before = objects_of(repo)
    session, printed = record(repo, "echo more >> m.py; echo brand-new > n.txt; ls .git", tmp_path / "s.tracer")
    assert STORE_DIR in printed.split()  # during the recording, the objects were in .git/tracer…
    assert objects_of(repo) == before  # … and not one went into the repository's database
    assert not (repo / ".git" / STORE_DIR).exists()  # removed at the end
    assert "+brand-new" in final_patch(session) and "+more" in final_patch(session)


def test_an_interactive_recording_keeps_its_objects_out_of_the_repository_too(tmp_path: Path) -> None:
    repo = dirty_repo(tmp_path)
    before = objects_of(repo)
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    child = user.tracer_shell(repo)
    child.expect_exact(PROMPT)
    child.sendline("echo more >> m.py")
    child.expect_exact(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    session = read_session(user.session())
    assert "+more" in final_patch(session)
    assert session.header.baseline_patch is not None and "+dirty" in session.header.baseline_patch
    assert objects_of(repo) == before
    assert not (repo / ".git" / STORE_DIR).exists()


def test_the_object_directory_of_a_killed_recorder_is_removed_by_the_next(tmp_path: Path) -> None:
    repo = dirty_repo(tmp_path)
    stores = repo / ".git" / STORE_DIR
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = stores / f"{dead.pid}-12345-0badc0de"  # a recorder that was killed: its pid runs no more
    (killed / "ab").mkdir(parents=True)
    (killed / "ab" / "cdef").write_bytes(b"x")
    alive = stores / f"{os.getpid()}-{process_start(os.getpid())}-cafecafe"  # a recorder that still runs
    alive.mkdir()
    record(repo, "echo more >> m.py", tmp_path / "s.tracer")
    assert not killed.exists()
    assert alive.is_dir()


def test_when_the_git_directory_takes_no_directory_of_tracers_the_objects_go_to_the_recorders_own(
    tmp_path: Path,
) -> None:
    repo = dirty_repo(tmp_path)
    (repo / ".git" / STORE_DIR).write_text("a file where tracer's directory would go\n")  # as a read-only .git
    before = objects_of(repo)
    session, _ = record(repo, "echo more >> m.py", tmp_path / "s.tracer")
    assert "+more" in final_patch(session)
    assert (repo / ".git" / STORE_DIR).is_file()
    assert objects_of(repo) == before


def test_a_symbolic_link_in_place_of_tracers_directory_is_neither_followed_nor_swept(tmp_path: Path) -> None:
    """A repository unpacked from someone else's archive may hold ``.git/tracer`` as a link to elsewhere."""
    repo = dirty_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "1-1-cafe").mkdir(parents=True)  # named as a killed recorder's directory would be
    (repo / ".git" / STORE_DIR).symlink_to(elsewhere)
    session, _ = record(repo, "echo more >> m.py", tmp_path / "s.tracer")
    assert "+more" in final_patch(session)
    assert [p.name for p in elsewhere.iterdir()] == ["1-1-cafe"]
