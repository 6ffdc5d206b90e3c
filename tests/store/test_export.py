"""Exports: the trace document, JSON Lines, asciicast v2 and v3 and the patch, streamed in bounded memory, quoting
what is not UTF-8."""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.corpus import Corpus, tracer
from tests.fuzz import craft
from tests.store.asciicast import check_v3
from tracer.model import (
    CommandEnd,
    CommandStart,
    FileChange,
    FinalPatch,
    Note,
    Output,
    SessionEnd,
    TestCase,
    VerifyResult,
    event_from_dict,
    is_utf8,
    quote_text,
)
from tracer.store import SessionReader, SessionWriter, append_events, read_session
from tracer.store.export import (
    export_asciicast,
    export_asciicast_v3,
    export_json,
    export_jsonl,
    export_patch,
    exporter,
    trace_document,
)
from tracer.store.facts import session_uuid
from tracer.store.schema import SchemaViolation, validate_event, validate_trace

HEADER = event_from_dict(craft.header(task="a task"))


def exported(path: Path, exporter: Any) -> tuple[bytes, str | None]:
    with SessionReader(path) as reader:
        data = b"".join(exporter(reader))
        return data, reader.problem


def quoted(value: Any) -> Any:
    """``value`` with every text that is not UTF-8 written as git quotes it, as exports write it."""
    if isinstance(value, str):
        return value if is_utf8(value) else quote_text(value)
    if isinstance(value, dict):
        return {k: quoted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [quoted(v) for v in value]
    return value


def test_json_is_the_whole_document_written_as_json_dumps_would(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    # a note appended later (from the replay) at an earlier moment, an edit of it, a tombstone
    append_events(path, [Note(t=15, id="n2", text="late thought", source="replay", written_at="2026-11-21T11:00:00Z")])
    append_events(path, [Note(t=15, id="n3", text="edited", replaces="n2", written_at="2026-11-21T11:01:00Z")])
    data, problem = exported(path, export_json)
    assert problem is None
    doc = json.loads(data)
    validate_trace(doc)
    assert data.decode() == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"  # byte for byte its layout
    assert doc == quoted(trace_document(read_session(path)))  # the document built from the whole session
    assert [e["type"] for e in doc["events"]] == [
        "terminal_command", "thought", "terminal_command", "edit", "edit", "thought",
    ]  # fmt: skip
    assert doc["events"][0]["output"] == "F.\r\n1 failed, 1 passed\r\n" and doc["events"][1]["raw"] == "edited"
    assert doc["events"][2]["cmd"] == '"printf y > new\\376.txt"'  # git's C-quoting of what is not UTF-8
    assert doc["events"][3]["file_path"] == '"new\\376.txt"'


def test_the_trace_names_its_session_and_holds_every_verify_run_and_the_judgement(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    older = VerifyResult(t=400, verdict="failed", command="pytest", exit_status=1, verified_at="2026-11-21T10:35:00Z")
    newer = VerifyResult(
        t=400,
        verdict="resolved",
        command="pytest -q",
        exit_status=0,
        verified_at="2026-11-21T10:45:00Z",
        runner="pytest",
        passed=2,
        skipped=1,
        tests=(TestCase("t::a", "passed", 0.5), TestCase("t::b", "xfailed")),
        fail_to_pass=("t::a",),
        pass_to_pass=(),
        pass_to_fail=(),
        base_output="1 failed",
        base_exit_status=1,
        command_origin="--test-command",
        isolation="podman",
        image="python:3.12",
        trusted=False,
    )
    append_events(path, [newer, older])  # appended in another order than their times
    data, _ = exported(path, export_json)
    doc = json.loads(data)
    validate_trace(doc)
    assert doc == quoted(trace_document(read_session(path)))
    header = read_session(path).header
    assert header.uuid is None and doc["trace_id"] == session_uuid(header)  # a session from before uuids: derived
    runs = doc["qa"]["verify"]
    assert [r["verdict"] for r in runs] == ["resolved", "failed", "passed"]  # newest first; never-dated last
    assert runs[0]["tests"] == [
        {"name": "t::a", "status": "passed", "duration": 0.5},
        {"name": "t::b", "status": "xfailed", "duration": None},
    ]
    assert (runs[0]["fail_to_pass"], runs[0]["pass_to_fail"], runs[1]["fail_to_pass"]) == (["t::a"], [], None)
    assert (runs[0]["base_output"], runs[0]["base_exit_code"], runs[1]["base_exit_code"]) == ("1 failed", 1, -1)
    assert (runs[0]["isolation"], runs[0]["image"], runs[0]["trusted"]) == ("podman", "python:3.12", False)
    assert doc["qa"]["tests"]["verdict"] == "resolved" and doc["task"]["test_image"] == "python:3.12"
    assert doc["artifacts"]["test_results"] == {"passed": 2, "failed": -1, "skipped": 1, "errors": -1}
    judge = doc["qa"]["judge"]
    assert (judge["kind"], judge["judge"], judge["rubric"], judge["overall"]) == (
        "model", "a-model", {"id": "tracer-process", "version": "1"}, 4
    )  # fmt: skip
    assert judge["scores"] == [
        {"criterion": "problem_understanding", "score": 4, "steps": ["c1"], "reason": "reproduced first"}
    ]
    (check,) = judge["checks"]
    assert check["evidence"] == [{"step": "c1", "t": "2026-11-21T10:30:00.000010Z"}] and check["count"] == -1
    command, odd, create, edit, _ = doc["events"]
    assert command["args"] == ["pytest", "-q"] and odd["args"] == ["printf", "y", ">", '"new\\376.txt"']
    assert edit["range"] == {"start_line": 1, "end_line": 1} and edit["old_path"] is None
    assert create["range"] == {"start_line": -1, "end_line": -1}  # no diff recorded
    assert doc["environment"]["editor"] is None and doc["task"]["repository"] is None  # a tracer 0.1 header


def test_an_unfinished_command_and_a_session_never_verified_keep_every_key_and_integer(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER)
    w.event(CommandStart(t=1, id=1, command="sleep 9", cwd="/"))
    w.close(SessionEnd(t=2, exit_status=0))
    doc = json.loads(exported(path, export_json)[0])
    validate_trace(doc)
    (command,) = doc["events"]
    assert (command["exit_code"], command["duration_ms"]) == (-1, None)
    assert doc["qa"] == {"tests": None, "verify": [], "judge": None}
    assert doc["artifacts"] == {
        "baseline_patch": "",
        "baseline_omitted": [],
        "final_patch": None,
        "omitted": [],
        "test_results": {"passed": -1, "failed": -1, "skipped": -1, "errors": -1},
    }


def test_a_users_extension_fields_validate_and_others_do_not() -> None:
    doc = trace_document(read_session_of(craft.rich_session()))
    doc["x-team"] = {"reviewer": "ana"}
    doc["task"]["x_ticket"] = "PROJ-12"
    doc["events"][0]["x-tool"] = ["anything", 1]
    doc["qa"]["judge"]["checks"][0]["x-note"] = None
    doc["developer"] = "ana"  # a field of the trace format that tracer never writes
    validate_trace(doc)
    doc["events"][0]["colour"] = "red"
    with pytest.raises(SchemaViolation, match="colour"):
        validate_trace(doc)


def read_session_of(data: bytes) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return read_session(craft.write(Path(d) / "s.tracer", data))


def test_asciicast_quotes_and_marks_commands_and_notes(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    data, _ = exported(path, export_asciicast)
    text = data.decode()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["width"] == 80 and lines[0]["title"] == "fix #123"
    assert lines[1:] == [
        [0.000005, "o", "$ pytest -q\r\n"],
        [0.00001, "m", "$ pytest -q"],  # a marker at each command start, naming it
        [0.00002, "o", "F.\r\n1 failed, 1 passed\r\n"],
        [0.00012, "r", "100x30"],
        [0.00015, "m", '$ "printf y > new\\376.txt"'],
        [0.00025, "m", "hypothesis: the regex"],  # and at each note
    ]
    assert "[0.000010, " in text  # seconds written as asciinema writes them, never 1e-05


def test_asciicast_v3_follows_its_spec_with_intervals_and_the_exit(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    v2 = [json.loads(line) for line in exported(path, export_asciicast)[0].decode().splitlines()]
    header, events = check_v3(exported(path, export_asciicast_v3)[0].decode())
    assert header["term"] == {"cols": 80, "rows": 24, "type": "xterm-256color"} and header["title"] == "fix #123"
    assert [(round(t, 6), code, data) for t, code, data in events[:-1]] == [tuple(e) for e in v2[1:]]
    assert events[-1] == (pytest.approx(0.0004), "x", "0")  # the shell's exit status, at the session's end


def test_jsonl_is_each_event_in_its_schemas_json_form(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    lines = [json.loads(line) for line in exported(path, export_jsonl)[0].decode().splitlines()]
    session = read_session(path)
    assert len(lines) == 1 + len(session.events)  # the header, then every event
    trace_id = session_uuid(session.header)
    for line in lines:
        assert line.pop("trace_id") == trace_id
        time = line.pop("time")
        if "path" in line and line["path"].startswith('"'):  # a name that is not UTF-8: git's quoting
            assert line["path"] == '"new\\376.txt"'
            continue
        if "command" in line and line["command"].startswith("printf"):
            continue
        validate_event(line)
        assert time.startswith("2026-11-21T10:30:00.000")
    output = next(line for line in lines if line["type"] == "output" and line.get("reads"))
    assert base64.b64decode(output["data"]) == b"F.\r\n1 failed, 1 passed\r\n" and output["reads"] == [[4, 0], [25, 3]]
    assert [line["type"] for line in lines[-3:]] == ["session_end", "verify_result", "judge_result"]


def test_patch_is_the_final_patch_byte_for_byte(tmp_path: Path) -> None:
    patch = 'diff --git "a/new\\376.txt" "b/new\\376.txt"\n+caf\xe9 \udcfe\n'  # text that holds a byte not UTF-8
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER)
    w.event(FinalPatch(t=1, patch=patch, files=(craft.ODD,)))
    w.close(SessionEnd(t=2, exit_status=0))
    data, _ = exported(path, export_patch)
    assert data == patch.encode("utf-8", "surrogateescape")


def test_the_patch_from_the_commit_is_the_baseline_then_the_final_patch(tmp_path: Path) -> None:
    baseline = "diff --git a/b.txt b/b.txt\n--- a/b.txt\n+++ b/b.txt\n@@ -1 +1,2 @@\n one\n+two"  # no final newline
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, event_from_dict(craft.header(baseline_patch=baseline)))
    w.event(FinalPatch(t=1, patch="diff --git a/a.py b/a.py\n+y\n", files=("a.py",)))
    w.close(SessionEnd(t=2, exit_status=0))
    with SessionReader(path) as reader:
        assert (
            b"".join(export_patch(reader, from_commit=True)) == (baseline + "\ndiff --git a/a.py b/a.py\n+y\n").encode()
        )
        assert b"".join(export_patch(reader)) == b"diff --git a/a.py b/a.py\n+y\n"
    with pytest.raises(ValueError, match="patch"):
        exporter("json", from_commit=True)


def test_a_damaged_session_exports_what_is_readable(tmp_path: Path) -> None:
    data = craft.rich_session()
    path = craft.write(tmp_path / "s.tracer", data[:-3])  # the last frame is cut off
    out, problem = exported(path, export_json)
    doc = json.loads(out)
    assert problem is not None and "cut off at byte" in problem
    assert doc["interrupted"] is True
    assert [(e["cmd"], e["exit_code"]) for e in doc["events"]] == [
        ("pytest -q", 1),
        ('"printf y > new\\376.txt"', -1),  # its end was in the lost frame: -1, never null
    ]


def big_session(path: Path, output_mb: int) -> None:
    """A session whose one command prints ``output_mb`` MB, in 4 KiB reads (as a `cat` of a log would)."""
    w = SessionWriter(path, HEADER)
    w.event(CommandStart(t=1, id=1, command="cat build.log", cwd="/src/p"))
    line = b"".join(f"{i:08d} compiling module {i % 977} \x1b[32mok\x1b[0m\r\n".encode() for i in range(100))
    chunk = (line * (4096 // len(line) + 1))[:4096]
    t = 10
    for _ in range(output_mb * 1_000_000 // 4096):
        t += 50
        w.output(t, chunk)
    w.event(CommandEnd(t=t + 1, id=1, exit_status=0))
    w.event(FileChange(t=t + 2, path="a.py", op="modify", diff="+x\n" * 1000, added=1000))
    w.event(Note(t=5, id="n", text="a thought during the command"))
    w.event(FinalPatch(t=t + 3, patch="+x\n" * 1000, files=("a.py",)))
    w.close(SessionEnd(t=t + 4, exit_status=0))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "2026-11-21T10-30-00-b1b1.tracer"
    big_session(path, 100)
    return path


FORMATS = ["json", "jsonl", "asciicast", "asciicast-v3", "patch"]


@pytest.mark.parametrize("fmt", [*FORMATS, "patch --from-commit"])
def test_exports_hold_one_event_not_the_session(big: Path, fmt: str) -> None:
    export = exporter(fmt.split()[0], from_commit=fmt.endswith("--from-commit"))
    tracemalloc.start()
    try:
        with SessionReader(big) as reader:
            size = sum(len(chunk) for chunk in export(reader))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 0
    assert peak < 24 << 20, f"{fmt} held {peak / 1e6:.0f} MB for a session with 100 MB of output"


def test_the_commands_keep_their_memory_bounded_under_a_limit(big: Path, tmp_path: Path) -> None:
    """In a process whose address space is limited to 80 MiB, under the session's 100 MB of output, every read
    command works (the export as a whole, the summary, the listing)."""
    limit = 80 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "TRACER_DIR": str(big.parent), "TRACER_CACHE_DIR": str(tmp_path / "cache")}
    runs = [["export", str(big), "-f", fmt, "-o", str(tmp_path / f"out.{fmt}")] for fmt in FORMATS]
    runs.append(["export", str(big), "-f", "patch", "--from-commit", "-o", str(tmp_path / "from-commit.patch")])
    for args in [*runs, ["show", str(big)], ["ls"]]:
        proc = subprocess.run(
            [sys.executable, "-m", "tracer", *args], env=env, capture_output=True, text=True, preexec_fn=limited,
            timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, (args, proc.stderr)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert len(doc["events"][0]["output"]) > 99_000_000 and doc["events"][1]["type"] == "thought"


def test_asciicast_v2_plays_in_asciinema_2_and_v3_keeps_the_times(corpus: Corpus, tmp_path: Path) -> None:
    """The real asciinema 2.4 (the dev and test extras) prints and plays the v2 export of a recorded session; the
    v3 export of it follows its spec, and its intervals add up to the session's times, to the microsecond."""
    session = corpus.sessions["interactive"]
    v2, v3 = tmp_path / "s.cast", tmp_path / "s3.cast"
    tracer("export", str(session), "-f", "asciicast", "-o", str(v2), cwd=tmp_path)
    tracer("export", str(session), "-f", "asciicast-v3", "-o", str(v3), cwd=tmp_path)
    recorded = read_session(session)
    shown = b"".join(e.data for e in recorded.events if isinstance(e, Output)).decode("utf-8", "replace")

    def asciinema(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "asciinema", *args], capture_output=True, start_new_session=True, timeout=60
        )  # no terminal: asciinema plays without waiting for keys
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.decode()

    assert asciinema("cat", str(v2)) == shown
    played = asciinema("play", "-s", "100", "-i", "0.001", "--out-fmt", "asciicast", str(v2)).splitlines()
    markers = [json.loads(line)[2] for line in played[1:] if json.loads(line)[1] == "m"]
    commands = [c.command for c in recorded.commands()]
    assert [m for m in markers if m.startswith("$ ")] == [f"$ {c}" for c in commands]
    assert "notes.txt is never written" in markers

    header, events = check_v3(v3.read_text())
    assert (header["version"], header["term"]["cols"]) == (3, 80)
    assert "".join(data for _, code, data in events if code == "o") == shown
    assert [data for _, code, data in events if code == "m"] == markers
    end = recorded.end
    assert end is not None and events[-1][1:] == ("x", str(end.exit_status))
    total_us = sum(round(float(line.split(",")[0][1:]) * 1e6) for line in v3.read_text().splitlines()[1:])
    assert total_us == end.t  # the intervals add up exactly
