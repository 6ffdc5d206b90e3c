"""A corpus of real sessions, recorded once for all the insights tests (which only read it), and what each did."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.insights.corpus import record_sessions, restamp, run_command
from tracer.insights import Insights, gather

HAVE_GCC = shutil.which("gcc") is not None


@pytest.fixture(autouse=True, scope="session")
def _no_user_patterns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The developer's own ~/.config/tracer/patterns.toml never changes what the tests see."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACER_PATTERNS", str(tmp_path_factory.mktemp("patterns") / "none.toml"))
        yield


@dataclass
class Corpus:
    """The recorded sessions.

    Attributes:
        sessions: the sessions directory. proj, proj2: the Python projects. debug: session A (fail, note, edit,
            pass, verified). abandoned: session B (a typo, an import error, a failing test, a missing file).
        one_command: the `tracer shell -c` sessions (merge conflict, git lock, permission denied, gcc error).
        previous: copies of B and of the merge conflict moved 9 and 10 days back.
        env: the environment the sessions were recorded with.
    """

    base: Path
    sessions: Path
    proj: Path
    proj2: Path
    debug: Path
    abandoned: Path
    one_command: dict[str, Path]
    previous: list[Path]
    env: dict[str, str]

    def gather(self, since: str = "7d", repository: str | None = None, index: Path | None = None) -> Insights:
        """The insights of these sessions (by default from the corpus's own index)."""
        index = index or self.base / "cache" / "insights.duckdb"
        return gather(since=since, repository=repository, sessions=self.sessions, index=index)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    base = tmp_path_factory.mktemp("corpus")
    sessions = base / "sessions"
    sessions.mkdir(mode=0o700)
    recorded = record_sessions(base, sessions)
    user, proj, debug, one_command = recorded.user, recorded.proj, recorded.debug, recorded.one_command
    verified = subprocess.run(
        [sys.executable, "-m", "tracer", "verify", str(debug)],
        env=user.env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    env = dict(user.env)
    if HAVE_GCC:
        csrc = make_repo(base / "csrc", {"bad.c": '#include "missing.h"\nint main(void) { return 0; }\n'})
        one_command["gcc"] = run_command("gcc -c bad.c", csrc, sessions, env)

    now = dt.datetime.now(dt.UTC)
    previous = [
        restamp(recorded.abandoned, sessions, now - dt.timedelta(days=10)),
        restamp(one_command["conflict"], sessions, now - dt.timedelta(days=9)),
    ]
    return Corpus(base, sessions, proj, recorded.proj2, debug, recorded.abandoned, one_command, previous, env)


@pytest.fixture(scope="session")
def week(corpus: Corpus) -> Insights:
    """The corpus's insights for the last 7 days (against the 7 before), from a fresh index."""
    return corpus.gather(since="7d")


def tracer_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `tracer ARGS` (no terminal), returning its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
