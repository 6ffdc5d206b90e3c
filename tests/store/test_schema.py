"""Every event type validates against its JSON Schema; wrong events do not."""

from __future__ import annotations

import pytest

from tracer.model import EVENT_TYPES, FileChange, Note, Output, TestCase, VerifyResult
from tracer.store.schema import SchemaViolation, load_schema, validate_event


def test_every_event_type_has_a_schema() -> None:
    for name in EVENT_TYPES:
        assert load_schema(name)["properties"]["type"] == {"const": name}


@pytest.mark.parametrize(
    "event",
    [
        Output(t=1, data=b"\xff\x00bin", reads=((2, 0), (5, 3))),
        FileChange(t=2, path="a.py", op="rename", old_path="b.py", command_id=3),
        Note(t=3, id="x", text="t", tags=("fix",), source="replay"),
        VerifyResult(t=4, verdict="resolved", command="pytest", tests=(TestCase("a", "passed"),), fail_to_pass=("a",)),
    ],
)
def test_events_validate(event: object) -> None:
    validate_event(event.to_dict())  # type: ignore[attr-defined]


def test_violations_name_the_field() -> None:
    with pytest.raises(SchemaViolation, match=r"file_change\.schema\.json: at op"):
        validate_event({"type": "file_change", "t": 1, "path": "a", "op": "explode"})
    with pytest.raises(SchemaViolation, match="no schema"):
        validate_event({"type": "nonsense", "t": 1})
