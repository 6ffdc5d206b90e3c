"""Sessions recorded for real, once per test run, for the tests of everything that reads many sessions or
exports them (the dataset, the exports): the ``corpus`` fixture (tests/conftest.py makes it every package's).

The corpus, in one sessions directory:

- ``fix``: `tracer shell -c` in a git repository with a remote (a token in its URL) and $EDITOR set: pytest fails,
  a note, a fix with a new test, pytest passes; then `tracer verify --compare-base` (resolved, FAIL_TO_PASS
  known) and `tracer judge` (process checks).
- ``dirty``: started with an uncommitted change; a long output, a file name that is not UTF-8; exits 3.
- ``nocommit``: a repository without commits, holding a file at start (so its baseline creates it); that file
  changed and another created.
- ``interactive``: `tracer shell` in a real terminal: a failing command, a note, a file changed between commands
  (by the test, while the shell waits at its prompt), a command reading it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo
from tracer.model import FileChange
from tracer.store import read_session

PYTEST = "python -m pytest -q -p no:cacheprovider tests"
PROMPT = "DATASET-TEST$ "
DEADLINE = 30.0


def tracer(
    *args: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real `tracer` command line."""
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"tracer {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Corpus:
    """The recorded sessions: their directory, each file by name, each repository by name."""

    directory: Path
    sessions: dict[str, Path]
    repos: dict[str, Path]


#: The remote of the ``fix`` repository, as `git remote -v` shows it; sessions keep it without the token.
REMOTE = "https://ghp_t0ken@github.com/team/calc.git"
#: $EDITOR while ``fix`` was recorded.
EDITOR = "vim -u NONE"


def _record(repo: Path, out: Path, command: str, *extra: str, env: dict[str, str] | None = None) -> Path:
    tracer("shell", "-q", "-o", str(out), "-c", command, *extra, cwd=repo, env=env, check=False)
    assert out.exists(), f"no session recorded for {command!r}"
    return out


def _record_interactive(tmp: Path, repo: Path, directory: Path) -> Path:
    user = User(tmp, {".bashrc": f"PS1='{PROMPT}'\n"})
    child = user.tracer_shell(repo, "--task", "why does the build read an empty notes.txt?")
    child.expect_exact("recording to")
    child.expect_exact(PROMPT)
    for line in ("false", 'tracer note --tag hypothesis "notes.txt is never written"'):
        child.sendline(line)
        child.expect_exact(PROMPT)
    # an edit seen up to 100 ms after a command ended is counted as that command's (the observer hears of writes
    # late): this one is made well after, at the prompt
    time.sleep(0.3)
    (repo / "notes.txt").write_text("written between two commands\n")
    live = user.session()
    deadline = time.monotonic() + DEADLINE
    while not any(isinstance(e, FileChange) for e in read_session(live).events):
        assert time.monotonic() < deadline, "the edit between commands was not recorded in time"
        time.sleep(0.05)
    for line in ("cat notes.txt", "exit"):
        child.sendline(line)
        if line != "exit":
            child.expect_exact(PROMPT)
    child.expect(pexpect.EOF)
    child.close()
    target = directory / live.name
    shutil.move(live, target)
    return target


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """The four sessions of the module docstring, recorded once."""
    base = tmp_path_factory.mktemp("corpus")
    directory = base / "sessions"
    directory.mkdir(mode=0o700)
    repos: dict[str, Path] = {}
    sessions: dict[str, Path] = {}

    fix = repos["fix"] = make_repo(
        base / "calc",
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            "tests/conftest.py": "import sys, os\nsys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))\n",
        },
    )
    git(fix, "remote", "add", "origin", REMOTE)
    sessions["fix"] = _record(
        fix,
        directory / "fix.tracer",
        f"{PYTEST}; tracer note --tag hypothesis 'add subtracts'; sed -i 's/a - b/a + b/' calc.py; "
        "printf '\\n\\ndef test_zero():\\n    assert add(0, 0) == 0\\n' >> tests/test_calc.py; " + PYTEST,
        "--task",
        "fix: add(1, 2) is -1",
        "--test-command",
        PYTEST,
        # (no __pycache__ written by the two pytest runs: edits of their own, or not, by the machine's environment)
        env={"EDITOR": EDITOR, "VISUAL": "", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    tracer("verify", str(sessions["fix"]), "--compare-base", cwd=fix)
    tracer("judge", str(sessions["fix"]), cwd=fix)

    dirty = repos["dirty"] = make_repo(base / "dirty", {"a.txt": "one\n", "b.txt": "kept\n"})
    (dirty / "a.txt").write_text("one\nuncommitted at start\n")
    sessions["dirty"] = _record(
        dirty,
        directory / "dirty.tracer",
        "seq 1 30000; printf 'during\\n' >> a.txt; printf 'y\\n' > \"$(printf 'new\\376.txt')\"; exit 3",
        "--task",
        "a dirty start",
    )

    nocommit = repos["nocommit"] = base / "nocommit"
    nocommit.mkdir()
    git(nocommit, "init", "-q", "-b", "main")
    (nocommit / "start.txt").write_text("there at start\n")
    sessions["nocommit"] = _record(
        nocommit, directory / "nocommit.tracer", "printf 'hello\\n' > hello.txt; printf 'changed\\n' >> start.txt"
    )

    interactive = repos["interactive"] = make_repo(base / "interactive", {"build.sh": "cat notes.txt\n"})
    sessions["interactive"] = _record_interactive(base / "user", interactive, directory)
    return Corpus(directory, sessions, repos)
