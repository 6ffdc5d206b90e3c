"""Real recorded sessions for the insights tests and benchmark, and copies of them moved in time.

Sessions are recorded for real: `tracer shell` in a terminal (pexpect, the user's bash) or `tracer shell -c`, in
real git repositories, running real failing and passing commands (pytest, git, gcc, a missing program…).
:func:`restamp` copies a session file with a new start time, id and UUID: its header frame is rewritten, every
other frame is copied byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect

from tests.conftest import User, git, make_repo
from tracer.model import FileChange, Session, rfc3339
from tracer.store import _msgpack, iter_frames, read_session
from tracer.store.format import PREAMBLE, compressor

PROMPT = "REC$ "
PYTEST = "python3 -m pytest -q -p no:cacheprovider"

SLUG = """import re


def slugify(text, ascii_only=True):
    if ascii_only:
        text = text.encode("ascii", "ignore").decode()
    return re.sub(r"[^\\w]+", "-", text.lower()).strip("-")
"""
TEST_SLUG = """from slug import slugify


def test_plain():
    assert slugify("Hello World") == "hello-world"


def test_unicode():
    assert slugify("Café Crème") == "café-crème"
"""


def python_project(path: Path) -> Path:
    """A git repository with a slugify function whose unicode test fails."""
    return make_repo(path, {"slug.py": SLUG, "test_slug.py": TEST_SLUG})


def user_in(tmp_path: Path, sessions: Path) -> User:
    """A bash user with a git identity, whose sessions go to ``sessions`` and whose PATH starts with this Python's
    directory (its python3 has pytest)."""
    user = User(
        tmp_path,
        {".bashrc": f"PS1='{PROMPT}'\n", ".gitconfig": "[user]\n\tname = Test\n\temail = test@example.invalid\n"},
    )
    user.sessions = sessions
    user.env["TRACER_DIR"] = str(sessions)
    user.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{user.env['PATH']}"
    return user


def wait_for(sessions: Path, what: Callable[[Session], bool], timeout: float = 20.0) -> None:
    """Wait until the session being recorded in ``sessions`` (its file, read as it grows) satisfies ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(sessions.glob("*.tracer"), key=lambda p: p.stat().st_mtime)
        if files and what(read_session(files[-1])):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the recording in {sessions} did not reach the expected state in {timeout}s")
        time.sleep(0.05)


def edits_recorded(n: int) -> Callable[[Session], bool]:
    """``what`` for :func:`wait_for`: the session holds ``n`` file changes."""
    return lambda s: len(s.of_type(FileChange)) >= n


def run_interactive(user: User, cwd: Path, steps: list[str | Callable[[], None]]) -> Path:
    """Record a bash session in ``cwd``: each string step is typed as a command line (waiting for the next
    prompt), each callable is called between commands; then `exit`. Returns the session file."""
    before = set(user.sessions.glob("*.tracer"))
    child = user.tracer_shell(cwd)
    child.expect_exact(PROMPT)
    for step in steps:
        if callable(step):
            step()
            continue
        child.sendline(step)
        child.expect_exact(PROMPT, timeout=120)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    (path,) = set(user.sessions.glob("*.tracer")) - before
    return path


def run_command(command: str, cwd: Path, sessions: Path, env: dict[str, str] | None = None) -> Path:
    """Record ``tracer shell -c COMMAND`` in ``cwd`` into ``sessions`` (whatever the command's exit status)."""
    before = set(sessions.glob("*.tracer")) if sessions.is_dir() else set()
    sessions.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-q", "-o", str(sessions), "-c", command],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )
    (path,) = set(sessions.glob("*.tracer")) - before
    return path


def restamp(
    src: Path, dst_dir: Path, started_at: dt.datetime, *, keep_uuid: bool = False, workspace: str | None = None
) -> Path:
    """Copy the session ``src`` into ``dst_dir`` as a session that started at ``started_at`` (aware), with a new
    id (the file's name), unless ``keep_uuid`` a new UUID, and in ``workspace`` if given (as its repository).
    Only the header frame is rewritten."""
    data = src.read_bytes()
    frames = list(iter_frames(src))
    (header,) = _msgpack.unpack_all(frames[0][1])
    name = started_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S-") + os.urandom(2).hex()
    header["started_at"] = rfc3339(started_at)
    header["session_id"] = name
    if not keep_uuid:
        header["uuid"] = str(uuid.uuid4())
    if workspace is not None:
        header["workspace"] = header["repo_root"] = header["cwd"] = workspace
    first = compressor().compress(_msgpack.packer().pack(header))
    rest = data[frames[1][0] :] if len(frames) > 1 else b""
    dst = dst_dir / f"{name}.tracer"
    dst.write_bytes(PREAMBLE + first + rest)
    os.chmod(dst, 0o600)
    return dst


def conflicting_repo(path: Path) -> Path:
    """A repository whose branch ``feature`` conflicts with ``main`` in app.py."""
    make_repo(path, {"app.py": "x = 1\n"})
    git(path, "checkout", "-q", "-b", "feature")
    (path / "app.py").write_text("x = 2\n")
    git(path, "commit", "-q", "-am", "feature")
    git(path, "checkout", "-q", "main")
    (path / "app.py").write_text("x = 3\n")
    git(path, "commit", "-q", "-am", "main")
    return path


@dataclass
class Recorded:
    """What :func:`record_sessions` recorded: the user, the two projects, session A (``debug``), session B
    (``abandoned``), and the ``tracer shell -c`` sessions by name (``conflict``, ``lock``, ``denied``)."""

    user: User
    proj: Path
    proj2: Path
    debug: Path
    abandoned: Path
    one_command: dict[str, Path]


def record_sessions(base: Path, sessions: Path) -> Recorded:
    """Record, into ``sessions``, the real sessions the insights tests and benchmark start from.

    Session A (bash, in a Python project): a failing pytest run, a note, a one-write fix, a passing run,
    `git status`. Session B (bash, in another project): a mistyped program, an import of a missing module, a
    failing pytest run, `cat` of a missing file (then `exit` returns cat's status). And `tracer shell -c`: a
    merge conflict, `git commit` held off by an index.lock, a script without its exec bit.
    """
    user = user_in(base, sessions)
    proj = python_project(base / "proj")
    (proj / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    proj2 = python_project(base / "proj2")
    debug = run_interactive(
        user,
        proj,
        [
            PYTEST,
            'tracer note --tag hypothesis "ascii_only drops the accents"',
            # one write to slug.py (sed -i would write a temporary file and rename it over slug.py)
            "printf '%s\\n' \"$(sed 's/ascii_only=True/ascii_only=False/' slug.py)\" > slug.py",
            lambda: wait_for(sessions, edits_recorded(1)),
            PYTEST,
            "git status --short",
        ],
    )
    abandoned = run_interactive(
        user,
        proj2,
        ["pyhton -m pytest", 'python3 -c "import yaml_is_not_installed"', PYTEST, "cat missing.txt"],
    )
    env = dict(user.env)
    one_command = {"conflict": run_command("git merge feature", conflicting_repo(base / "conflict"), sessions, env)}
    lock = proj / ".git" / "index.lock"
    lock.write_text("")
    one_command["lock"] = run_command("git commit -qam wip", proj, sessions, env)
    lock.unlink()
    plain = base / "plain"
    plain.mkdir()
    (plain / "deploy.sh").write_text("#!/bin/sh\necho deployed\n")
    one_command["denied"] = run_command("./deploy.sh", plain, sessions, env)
    return Recorded(user, proj, proj2, debug, abandoned, one_command)
