"""Real recorded sessions to judge: a careful one and a sloppy one, recorded with `tracer shell` in real bash.

Both work on a small Python project in a real git repository whose test fails (slugify drops accented letters).

- careful: reproduce (pytest fails) → note a hypothesis → a wrong fix (sed) → pytest fails → revert it
  (`git checkout`) → a second hypothesis → the real fix (printf rewrites the file) → pytest passes;
- sloppy: edit first (sed) → pytest fails → the same pytest fails again, unchanged → another edit (printf) →
  exit, never re-running the tests.

Each is recorded once per test session; tests judge a copy (judging appends to the file).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, make_repo
from tests.test_end_to_end import SLUGIFY, TEST_SLUGIFY
from tracer.model import Header, Session
from tracer.store import read_session

PROMPT = "JUDGE-TEST$ "
PYTEST = "python -m pytest -q -p no:cacheprovider test_slug.py"

FIXED = SLUGIFY.replace('r"[^a-z0-9]+"', 'r"[^\\w]+"')  # keep word characters, accented letters included

WRONG_FIX = "s/text.lower()/text.upper().lower()/"

#: A header for sessions built event by event.
HEADER = Header(
    t=0,
    session_id="s",
    started_at="2026-11-21T10:30:00.000000Z",
    tracer_version="0",
    shell="/bin/bash",
    shell_kind="bash",
    mode="interactive",
    term="xterm",
    cols=80,
    rows=24,
    cwd="/w",
    workspace="/w",
)


@dataclass
class Recorded:
    """A recorded session: its file (never judged: copy it first) and the repository it was recorded in."""

    path: Path
    repo: Path

    def copy(self, to: Path) -> Path:
        """A copy of the session file in ``to``, to judge."""
        to.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(self.path, to / self.path.name))

    def session(self) -> Session:
        return read_session(self.path)


class Recording:
    """`tracer shell` in bash, driven line by line."""

    def __init__(self, base: Path, name: str) -> None:
        self.repo = make_repo(base / name, {"slug.py": SLUGIFY, "test_slug.py": TEST_SLUGIFY})
        self.user = User(base / f"{name}-user", {".bashrc": f"PS1='{PROMPT}'\n"})
        self.child = self.user.tracer_shell(self.repo, "--task", "fix: slugify drops accented letters", cols=120)
        self.child.expect_exact("recording to")
        self.child.expect_exact(PROMPT)
        self.edits = 0

    def run(self, line: str) -> str:
        """Run ``line`` at the prompt; return what it printed, colours removed."""
        self.child.sendline(line)
        self.child.expect_exact(PROMPT)
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", str(self.child.before))

    def edit(self, line: str) -> None:
        """Run a command that changes one file, and wait (with a deadline) until the recorder has the change, so
        the next command never starts before the edit is recorded."""
        self.run(line)
        self.edits += 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            paths = list(self.user.sessions.glob("*.tracer"))
            if paths and len(read_session(paths[0]).file_changes()) >= self.edits:
                return
            time.sleep(0.05)
        raise AssertionError(f"the recorder did not record edit {self.edits} ({line!r}) within 20 s")

    def exit(self) -> Recorded:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return Recorded(self.user.session(), self.repo)


def _printf_fixed() -> str:
    """A printf command line that writes the fixed module."""
    body = FIXED.replace("\\", "\\\\").replace("%", "%%").replace("'", "'\\''").replace("\n", "\\n")
    return f"printf '{body}' > slug.py"


@pytest.fixture(scope="session")
def careful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """reproduce → hypothesis → wrong fix → test → revert → hypothesis → fix → test."""
    r = Recording(tmp_path_factory.mktemp("careful"), "careful")
    assert "1 failed, 1 passed" in r.run(PYTEST)  # c1
    r.run('tracer note --tag hypothesis "upper-casing first keeps the accents"')  # c2
    r.edit(f"sed -i '{WRONG_FIX}' slug.py")  # c3, e1
    assert "1 failed" in r.run(PYTEST)  # c4
    r.edit("git checkout -q slug.py")  # c5, e2: back to the start: a dead end
    r.run('tracer note "Hypothesis: the character class [^a-z0-9] drops them"')  # c6
    r.edit(_printf_fixed())  # c7, e3
    assert "2 passed" in r.run(PYTEST)  # c8
    yield r.exit()


@pytest.fixture(scope="session")
def sloppy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """edit first → test fails → the same test fails again → another edit → exit without testing."""
    r = Recording(tmp_path_factory.mktemp("sloppy"), "sloppy")
    r.edit(f"sed -i '{WRONG_FIX}' slug.py")  # c1, e1
    assert "1 failed" in r.run(PYTEST)  # c2
    assert "1 failed" in r.run(PYTEST)  # c3: the same failure, nothing changed
    r.edit("printf '# TODO unicode\\n' >> slug.py")  # c4, e2
    yield r.exit()
