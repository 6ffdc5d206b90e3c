"""Each figure of `tracer insights`, on the real recorded sessions of the corpus (see conftest.py): session A
fails a test, notes a hypothesis, edits, passes the test, and is verified; session B mistypes a program, imports
a missing module, fails a test and ends there; four `tracer shell -c` sessions hit a merge conflict, a git lock,
a script without its exec bit and a missing header in C; copies of B and of the merge conflict are 9 and 10
days old (the period before)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.insights.conftest import HAVE_GCC, Corpus
from tracer.insights import Insights, repository_of
from tracer.store import read_session

pytestmark = pytest.mark.timeout(600)


def current(corpus: Corpus) -> list:  # type: ignore[type-arg]
    paths = [corpus.debug, corpus.abandoned, *corpus.one_command.values()]
    return [read_session(p) for p in paths]


def test_counts_of_the_period_and_the_one_before(corpus: Corpus, week: Insights) -> None:
    sessions = current(corpus)
    c = week.current
    assert c.sessions == len(sessions) == (6 if HAVE_GCC else 5)
    assert c.seconds == pytest.approx(sum(s.duration for s in sessions))
    assert c.commands == sum(len(s.commands()) for s in sessions) == 6 + 5 + len(corpus.one_command)
    # A's first pytest; B's four (its `exit` carries the status of the last one: no failure of its own); each -c
    assert c.failed == 1 + 4 + len(corpus.one_command)
    assert c.failure_rate == pytest.approx(c.failed / c.commands)
    assert c.edits == sum(len(s.file_changes()) for s in sessions)
    assert len(sessions[0].file_changes()) == 1  # A's fix
    assert c.notes == 1
    assert c.repositories == len(sessions) - 1  # A and the git lock are in the same repository
    p = week.previous
    assert (p.sessions, p.commands, p.failed, p.edits, p.notes) == (2, 6, 5, 1, 0)


def test_verify_verdicts(week: Insights) -> None:
    assert week.verdicts == {"unverified": week.current.sessions - 1, "passed": 1}
    assert week.previous_verdicts == {"unverified": 2}


def test_the_debugging_loop(corpus: Corpus, week: Insights) -> None:
    a = read_session(corpus.debug).commands()
    assert [c.exit_status for c in a if "pytest" in c.command] == [1, 0]
    red, green = a[0], a[3]
    d = week.debugging
    assert d.sessions_with_tests == 2 and d.test_runs == 3 and d.sessions_with_failures == 2
    assert d.loops == 1  # A went from red to green; B never did
    assert red.end is not None and green.end is not None
    assert d.median_seconds == pytest.approx((green.end - red.end) / 1e6)
    assert d.max_seconds == d.median_seconds
    assert d.cycles == 1  # A's second test run followed the edit; no edit came before the first runs
    assert d.abandoned == 1
    (abandoned,) = week.abandoned
    assert abandoned.session_name == read_session(corpus.abandoned).header.session_id
    assert abandoned.repository == str(corpus.proj2)
    assert week.previous_debugging.abandoned == 1 and week.previous_debugging.loops == 0


def test_commands_most_run_and_most_failing(week: Insights) -> None:
    top = {r.program: (r.runs, r.failed) for r in week.top_commands}
    assert week.top_commands[0].program == "python3 -m pytest"
    assert top["python3 -m pytest"] == (3, 2)
    assert top["git status"] == (1, 0)
    assert "exit" not in top  # every interactive session ends with it
    failing = [(r.program, r.failed, r.runs) for r in week.top_failing]
    assert failing[0] == ("python3 -m pytest", 2, 3)
    assert {("pyhton", 1, 1), ("git merge", 1, 1), ("git commit", 1, 1), ("cat", 1, 1)} <= set(failing)
    assert all(f for _, f, _ in failing)


def test_error_patterns_with_share_trend_and_suggestion(week: Insights) -> None:
    by = {(p.rule, p.detail): p for p in week.error_patterns}
    failed = week.current.failed
    tests = by[("pytest-failures", None)]
    assert (tests.count, tests.previous) == (2, 1)
    assert tests.share == pytest.approx(2 / failed)
    assert tests.suggestion.startswith("run the first failing test alone")
    missing = by[("python-exception", "ModuleNotFoundError")]
    assert (missing.label, missing.count, missing.previous) == ("ModuleNotFoundError", 1, 1)
    assert "install the module" in missing.suggestion
    typo = by[("command-not-found", None)]
    assert (typo.count, typo.examples) == (1, ["pyhton"])
    assert (by[("git-conflict", "content")].count, by[("git-conflict", "content")].previous) == (1, 1)
    lock = [p for p in week.error_patterns if p.rule == "git-lock"]
    assert len(lock) == 1 and lock[0].detail == str(week_lock_path(week)) and lock[0].previous == 0
    assert by[("permission-denied", None)].count == 1
    assert by[("no-such-file", None)].count == 1
    assert ("shell-exit", None) not in by  # B's `exit` returned cat's status: counted once, as cat's
    if HAVE_GCC:
        assert by[("c-compile-error", None)].examples == ["missing.h: No such file or directory"]
    assert sum(p.count for p in week.error_patterns) == failed  # every failure is in one row
    assert all(p.rule is not None for p in week.error_patterns)  # and every one was recognised


def week_lock_path(week: Insights) -> str:
    (lock,) = [p for p in week.error_patterns if p.rule == "git-lock"]
    assert lock.detail is not None and lock.detail.endswith("/proj/.git/index.lock")
    return lock.detail


def test_failing_tests(week: Insights) -> None:
    (t,) = week.failing_tests
    assert (t.test, t.count, t.previous, t.sessions) == ("test_slug.py::test_unicode", 2, 1, 2)


def test_per_repository(corpus: Corpus, week: Insights) -> None:
    repos = {r.repository: r for r in week.repositories}
    assert set(repos) >= {str(corpus.proj), str(corpus.proj2), str(corpus.base / "conflict")}
    proj = repos[str(corpus.proj)]
    assert (proj.sessions, proj.commands, proj.failed, proj.edits) == (2, 7, 2, 1)  # A and the git lock
    assert week.repositories[0].repository == str(corpus.proj)  # the most sessions first


def test_one_repository(corpus: Corpus) -> None:
    ins = corpus.gather(repository=repository_of(str(corpus.proj / ".git" / "..")))
    assert ins.repository == str(corpus.proj)
    assert (ins.current.sessions, ins.current.commands, ins.current.failed) == (2, 7, 2)
    assert ins.repositories == []
    assert ins.debugging.loops == 1 and ins.debugging.abandoned == 0
    assert {p.rule for p in ins.error_patterns} == {"pytest-failures", "git-lock"}
    assert repository_of(str(corpus.proj)) == repository_of(str(corpus.base / "proj" / ".git"))  # inside it too


def test_activity_per_day(week: Insights) -> None:
    assert len(week.activity) in (8, 9)  # 7 days, both ends' local days
    assert sum(d.sessions for d in week.activity) == week.current.sessions
    today = dt.datetime.now().astimezone().date()
    assert week.activity[-1].day == today and week.activity[-1].sessions == week.current.sessions


def test_a_longer_period_holds_both(corpus: Corpus) -> None:
    month = corpus.gather(since="30d")
    assert month.current.sessions == len(current(corpus)) + 2
    assert month.previous.sessions == 0
    since = (dt.datetime.now() - dt.timedelta(days=9, hours=12)).isoformat(timespec="seconds")  # local time
    assert corpus.gather(since=since).current.sessions == month.current.sessions - 1  # not the 10-day-old copy


def test_test_runs_piped_into_tail_count_by_the_summary_they_print(tmp_path: Path) -> None:
    """`pytest | tail -3` exits with tail's status; the summary pytest printed says the run failed, then passed:
    the debugging loop sees both (and a session ending on such a failure is abandoned)."""
    from tests.judge.conftest import PYTEST, Recording, _printf_fixed
    from tracer.insights import gather

    r = Recording(tmp_path, "piped")
    assert "1 failed" in r.run(f"{PYTEST} 2>&1 | tail -3")
    r.edit(_printf_fixed())
    assert "2 passed" in r.run(f"{PYTEST} | tail -1")
    r.exit()
    loop = gather(since="1d", sessions=r.user.sessions, index=tmp_path / "index.duckdb").debugging
    assert (loop.test_runs, loop.sessions_with_failures, loop.loops, loop.abandoned) == (2, 1, 1, 0)
    assert loop.median_seconds is not None and loop.median_seconds > 0
