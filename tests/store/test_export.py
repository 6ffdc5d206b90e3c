"""Exports: the trace document, asciicast and the patch, streamed in bounded memory, quoting what is not UTF-8."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz import craft
from tracer.model import (
    CommandEnd,
    CommandStart,
    FileChange,
    FinalPatch,
    Note,
    SessionEnd,
    event_from_dict,
    is_utf8,
    quote_text,
)
from tracer.store import SessionReader, SessionWriter, append_events, read_session
from tracer.store.export import export_asciicast, export_json, export_patch, trace_document
from tracer.store.schema import validate_trace

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


def test_asciicast_quotes_and_places_notes(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    data, _ = exported(path, export_asciicast)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert lines[0]["width"] == 80 and lines[0]["title"] == "fix #123"
    body = lines[1:]
    assert [e[1] for e in body] == ["o", "o", "r", "m"]
    assert body[-1] == [0.00025, "m", "hypothesis: the regex"]


def test_patch_is_the_final_patch_byte_for_byte(tmp_path: Path) -> None:
    patch = 'diff --git "a/new\\376.txt" "b/new\\376.txt"\n+caf\xe9 \udcfe\n'  # text that holds a byte not UTF-8
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER)
    w.event(FinalPatch(t=1, patch=patch, files=(craft.ODD,)))
    w.close(SessionEnd(t=2, exit_status=0))
    data, _ = exported(path, export_patch)
    assert data == patch.encode("utf-8", "surrogateescape")


def test_a_damaged_session_exports_what_is_readable(tmp_path: Path) -> None:
    data = craft.rich_session()
    path = craft.write(tmp_path / "s.tracer", data[:-3])  # the last frame is cut off
    out, problem = exported(path, export_json)
    doc = json.loads(out)
    assert problem is not None and "cut off at byte" in problem
    assert doc["interrupted"] is True
    assert [(e["cmd"], e["exit_code"]) for e in doc["events"]] == [
        ("pytest -q", 1),
        ('"printf y > new\\376.txt"', None),  # its end was in the lost frame
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


@pytest.mark.parametrize("exporter", [export_json, export_asciicast, export_patch])
def test_exports_hold_one_event_not_the_session(big: Path, exporter: Any) -> None:
    tracemalloc.start()
    try:
        with SessionReader(big) as reader:
            size = sum(len(chunk) for chunk in exporter(reader))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 0
    assert peak < 24 << 20, f"{exporter.__name__} held {peak / 1e6:.0f} MB for a session with 100 MB of output"


def test_the_commands_keep_their_memory_bounded_under_a_limit(big: Path, tmp_path: Path) -> None:
    """In a process whose address space is limited to 80 MiB, under the session's 100 MB of output, every read
    command works (the export as a whole, the summary, the listing)."""
    limit = 80 << 20

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "TRACER_DIR": str(big.parent), "TRACER_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        ["export", str(big), "-f", fmt, "-o", str(tmp_path / f"out.{fmt}")] for fmt in ("json", "asciicast", "patch")
    ]
    for args in [*runs, ["show", str(big)], ["ls"]]:
        proc = subprocess.run(
            [sys.executable, "-m", "tracer", *args], env=env, capture_output=True, text=True, preexec_fn=limited,
            timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, (args, proc.stderr)
    doc = json.loads((tmp_path / "out.json").read_text())
    assert len(doc["events"][0]["output"]) > 99_000_000 and doc["events"][1]["type"] == "thought"
