"""The judge_result event: stored and read back as it was, valid against its schema, hostile maps refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import stored_maps
from tests.judge.conftest import HEADER
from tracer.model import (
    JudgeResult,
    JudgeScore,
    MalformedEvent,
    ProcessCheck,
    SessionEnd,
    StepRef,
    event_from_dict,
)
from tracer.store import SessionWriter, append_events, read_session
from tracer.store.schema import SchemaViolation, validate_event

RESULT = JudgeResult(
    t=9_000_000,
    judged_at="2026-11-21T10:40:00.000000Z",
    checks=(
        ProcessCheck("reproduced_before_edit", ok=True, evidence=(StepRef("c1", 10), StepRef("e1", 20)), detail="x"),
        ProcessCheck("repeated_failures", count=0),
        ProcessCheck("time_to_first_pass", ok=True, seconds=12.5, evidence=(StepRef("c4", 30),)),
    ),
    judge_kind="model",
    judge="qwen2.5-coder",
    endpoint="http://127.0.0.1:8080/v1/chat/completions",
    rubric_id="tracer-debugging",
    rubric_version="1",
    scores=(JudgeScore("problem_understanding", 4, ("c1", "n0a1b2c3d"), "read the failure"),),
    overall=4,
    comments="fine",
    strengths=("reproduced first",),
    weaknesses=(),
    recommendations=("note hypotheses",),
    duration=1.5,
)


def test_a_result_is_appended_and_read_back_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    writer = SessionWriter(path, HEADER)
    writer.close(SessionEnd(t=1, exit_status=0))
    older = JudgeResult(t=9_000_000, judged_at="2026-11-21T10:35:00.000000Z")
    append_events(path, [RESULT, older])
    session = read_session(path)
    assert session.of_type(JudgeResult) == [RESULT, older]
    assert session.judge_result == RESULT  # the newest by judged_at, whatever the file order
    for event in stored_maps(path):
        validate_event(event)
    assert RESULT.check("repeated_failures") == ProcessCheck("repeated_failures", count=0)
    assert RESULT.check("nonsense") is None
    assert RESULT.headline() == "overall 4/5 (model qwen2.5-coder), 2 of 2 checks ok"
    assert older.headline() == "0 of 0 checks ok"


def test_the_schema_refuses_a_score_out_of_range() -> None:
    data = RESULT.to_dict()
    data["scores"][0]["score"] = 6
    with pytest.raises(SchemaViolation, match=r"judge_result\.schema\.json: at scores/0/score"):
        validate_event(data)


@pytest.mark.parametrize(
    "bad",
    [
        {"checks": 5},
        {"checks": ["x"]},
        {"checks": [{"id": "a", "evidence": [7]}]},
        {"scores": [{"score": 3}]},
    ],
)
def test_malformed_nested_records_are_reported_not_a_crash(tmp_path: Path, bad: dict[str, object]) -> None:
    data = {"type": "judge_result", "t": 1, "judged_at": "2026-11-21T10:35:00Z", **bad}
    with pytest.raises(MalformedEvent, match=r"field '(checks|scores)"):
        event_from_dict(data)
    path = tmp_path / "s.tracer"
    SessionWriter(path, HEADER).close(SessionEnd(t=1, exit_status=0))

    class Raw(JudgeResult):
        def to_dict(self) -> dict[str, object]:
            return data

    append_events(path, [Raw(t=1, judged_at="x")])
    session = read_session(path)  # the events before it stay readable; the malformed one is not taken
    assert session.of_type(JudgeResult) == [] and "judge_result event at byte" in (session.problem or "")
    assert "is malformed: field '" in (session.problem or "")


def test_newer_fields_in_nested_records_are_ignored() -> None:
    data = RESULT.to_dict()
    data["checks"][0]["from_the_future"] = 1
    data["checks"][0]["evidence"][0]["also"] = 2
    assert event_from_dict(data) == RESULT
