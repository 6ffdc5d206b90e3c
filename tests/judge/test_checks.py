"""Process checks on real recorded sessions: a careful one and a sloppy one (tests/judge/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.judge.conftest import PYTEST, Recorded
from tracer.judge import CHECK_IDS, process_checks
from tracer.model import ProcessCheck, Session, StepRef
from tracer.store import read_session
from tracer.store.steps import note_steps


def checks_of(session: Session) -> dict[str, ProcessCheck]:
    checks = process_checks(session)
    assert tuple(c.id for c in checks) == CHECK_IDS
    return {c.id: c for c in checks}


def ref(session: Session, step: str) -> StepRef:
    """The step's reference as the checks cite it: a command's start, an edit's or a note's time."""
    if step.startswith("c"):
        (c,) = [c for c in session.commands() if c.id == int(step[1:])]
        return StepRef(step, c.start)
    if step.startswith("e"):
        return StepRef(step, session.file_changes()[int(step[1:]) - 1].t)
    (n,) = [n for s, n in note_steps(session) if s == step]
    return StepRef(step, n.t)


def test_the_careful_session(careful: Recorded) -> None:
    s = careful.session()
    assert [(c.command.split()[0], c.exit_status) for c in s.commands()] == [
        ("python", 1),
        ("tracer", 0),
        ("sed", 0),
        ("python", 1),
        ("git", 0),
        ("tracer", 0),
        ("printf", 0),
        ("python", 0),
        ("exit", 0),
    ]
    assert [e.path for e in s.file_changes()] == ["slug.py"] * 3
    (h1, _), (h2, _) = note_steps(s)
    c = checks_of(s)

    assert c["reproduced_before_edit"] == ProcessCheck(
        "reproduced_before_edit",
        ok=True,
        count=1,
        evidence=(ref(s, "c1"), ref(s, "e1")),
        detail="c1 failed (exit status 1) before the first edit of code, e1",
    )
    assert c["tested_after_last_edit"].ok is True and c["tested_after_last_edit"].count == 1
    assert c["tested_after_last_edit"].evidence == (ref(s, "e3"), ref(s, "c8"))
    assert c["tested_after_last_edit"].detail.endswith("the last, c8, passed")

    # one note tagged hypothesis, one whose text starts with "Hypothesis": both noted, each followed by a test run
    assert (c["hypotheses_noted"].ok, c["hypotheses_noted"].count) == (True, 2)
    assert c["hypotheses_noted"].evidence == (ref(s, h1), ref(s, h2))
    assert (c["hypotheses_tested"].ok, c["hypotheses_tested"].count) == (True, 2)
    assert c["hypotheses_tested"].evidence == (ref(s, h1), ref(s, "c4"), ref(s, h2), ref(s, "c8"))

    # pytest failed twice, but with an edit in between: no loop
    assert (c["repeated_failures"].ok, c["repeated_failures"].count) == (True, 0)
    # `git checkout` returned slug.py to its content at the start: e2 undid e1
    assert c["dead_ends"] == ProcessCheck(
        "dead_ends",
        count=1,
        evidence=(ref(s, "e1"), ref(s, "e2")),
        detail="1 edit(s) returned a file to earlier content: e2 undid e1",
    )
    c8 = s.commands()[7]
    assert c["time_to_first_pass"].ok is True
    assert c["time_to_first_pass"].seconds == c8.end / 1e6  # type: ignore[operator]
    assert c["time_to_first_pass"].evidence == (ref(s, "c8"),)
    assert c["verified"].ok is False and c["resolved"].ok is None


def test_the_sloppy_session(sloppy: Recorded) -> None:
    s = sloppy.session()
    assert [(c.command.split()[0], c.exit_status) for c in s.commands()] == [
        ("sed", 0),
        ("python", 1),
        ("python", 1),
        ("printf", 0),
        ("exit", 0),
    ]
    c = checks_of(s)
    assert c["reproduced_before_edit"] == ProcessCheck(
        "reproduced_before_edit",
        ok=False,
        count=0,
        evidence=(ref(s, "e1"),),
        detail="no test run failed before the first edit of code, e1",
    )
    assert c["tested_after_last_edit"] == ProcessCheck(
        "tested_after_last_edit",
        ok=False,
        count=0,
        evidence=(ref(s, "e2"),),
        detail="no test ran after the last edit, e2",
    )
    assert (c["hypotheses_noted"].ok, c["hypotheses_noted"].count) == (False, 0)
    assert (c["hypotheses_tested"].ok, c["hypotheses_tested"].count) == (None, None)
    assert c["repeated_failures"] == ProcessCheck(
        "repeated_failures",
        ok=False,
        count=1,
        evidence=(ref(s, "c3"),),
        detail="1 command(s) failed again as before with no edit in between: c3",
    )
    assert c["dead_ends"].count == 0
    assert c["time_to_first_pass"] == ProcessCheck(
        "time_to_first_pass", ok=False, detail="no test run passed after the first edit"
    )
    assert c["verified"].ok is False and c["resolved"].ok is None


def test_verified_and_resolved_come_from_tracer_verify(careful: Recorded, sloppy: Recorded, tmp_path: Path) -> None:
    env = {**os.environ, "TRACER_DIR": str(tmp_path)}
    for recorded, status, resolved in ((careful, 0, True), (sloppy, 1, False)):
        path = recorded.copy(tmp_path / recorded.repo.name)
        done = subprocess.run(
            [sys.executable, "-m", "tracer", "verify", str(path), "--test-command", PYTEST],
            cwd=recorded.repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == status, done.stdout + done.stderr
        c = checks_of(read_session(path))
        assert c["verified"].ok is True
        assert c["resolved"].ok is resolved
        assert c["resolved"].detail == (
            "verdict passed (2 passed)" if resolved else "verdict failed (1 passed, 1 failed)"
        )


def test_test_runs_piped_into_tail_are_judged_by_the_summary_they_print(tmp_path: Path) -> None:
    """`pytest | tail -3` exits with tail's status: the runner's summary line says whether the tests passed."""
    from tests.judge.conftest import Recording, _printf_fixed

    r = Recording(tmp_path, "piped")
    assert "1 failed, 1 passed" in r.run(f"{PYTEST} 2>&1 | tail -3")  # c1: fails, exit status 0 (tail's)
    r.edit(_printf_fixed())  # c2, e1
    assert "2 passed" in r.run(f"{PYTEST} | tail -1")  # c3: passes
    session = r.exit().session()
    assert [c.exit_status for c in session.commands()[:3]] == [0, 0, 0]
    checks = checks_of(session)
    assert checks["reproduced_before_edit"].ok is True
    assert "c1 failed (the summary it printed)" in checks["reproduced_before_edit"].detail
    assert checks["tested_after_last_edit"].ok is True
    assert checks["time_to_first_pass"].ok is True and checks["time_to_first_pass"].evidence[0].step == "c3"
