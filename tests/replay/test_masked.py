"""A value the recorder wrote before it recognised it (``cat pw.txt``, later ``API_TOKEN=…``) is masked in the
replay as every export masks it: on the screen, in the output, in command lines and notes, in search
(tracer.replay.masked)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.pilot import Pilot

from conftest import wait_until
from tracer.model import CommandEnd, CommandStart, Header, Note, Output, Session, SessionEnd
from tracer.redact import record_redactor
from tracer.replay import ReplayApp
from tracer.replay.masked import REACH, MaskedOutput
from tracer.replay.source import FileOutput, FileSource, MemorySource
from tracer.replay.widgets import ScreenView, SearchBar
from tracer.store import read_session
from tracer.store.writer import SessionWriter

pytestmark = pytest.mark.timeout(60)

VALUE = "Zq8vR2mK7pLx4Wn9"
HEADER = Header(
    t=0, session_id="late", started_at="2026-12-05T00:00:00.000000Z", tracer_version="0", shell="/bin/bash",
    shell_kind="bash", mode="interactive", term="xterm-256color", cols=80, rows=24, cwd="/w", workspace="/w",
    redaction="rules v1",
)  # fmt: skip


#: The start state: ``pw.txt``, written before the recording.
PW_TXT = """diff --git a/pw.txt b/pw.txt
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/pw.txt
@@ -0,0 +1 @@
+VALUE
"""


def record(path: Path, *, late: bool = True) -> None:
    """A session as the recorder writes it: the value printed bare (``cat pw.txt``) and typed in a command line and
    a note before anything names it, then named (``export API_TOKEN=…``: learnt, masked from then on). Without
    ``late``, another value is printed and never named."""
    shown = VALUE if late else "Kp3Lm8Qr2Tv7Wx1Y"
    writer = SessionWriter(path, redactor=record_redactor)
    writer.begin(dataclasses.replace(HEADER, baseline_patch=PW_TXT.replace("VALUE", shown)))
    writer.event(CommandStart(t=1_000, id=1, command="cat pw.txt", cwd="/w"))
    writer.output(1_100, b"$ cat pw.txt\r\n" + b"\x1b[1m" + f"{shown}\r\n".encode() + b"\x1b[m" + b"x" * 3000)
    writer.event(CommandEnd(t=1_200, id=1, exit_status=0))
    writer.event(CommandStart(t=2_000, id=2, command=f"echo {shown} | wc -c", cwd="/w"))
    writer.output(2_100, b"17\r\n")
    writer.event(CommandEnd(t=2_200, id=2, exit_status=0))
    writer.event(Note(t=2_500, id="n1", text=f"the token is {shown}?"))
    writer.event(
        CommandStart(t=3_000, id=3, command=f'export API_TOKEN="$(cat pw.txt)"; echo API_TOKEN={VALUE}', cwd="/w")
    )
    writer.output(3_100, f"API_TOKEN={VALUE}\r\n".encode())
    writer.event(CommandEnd(t=3_200, id=3, exit_status=0))
    writer.close(SessionEnd(t=4_000, exit_status=0))


def test_the_file_holds_the_value_and_its_end_says_where(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    record(path)
    session = read_session(path)
    raw = b"".join(e.data for e in session.events if isinstance(e, Output))
    assert VALUE.encode() in raw  # (what the replay has to mask: the recorder could not)
    assert session.end is not None and session.end.unmasked


def test_the_index_masks_the_value_in_output_commands_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    record(path)
    index = FileSource(path, cache=tmp_path / "index").scan()
    assert index is not None
    total = index.stream.total_bytes
    out = index.stream.reader.read(0, total)
    assert VALUE.encode() not in out and len(out) == total
    assert b"\x1b[1m" + b"*" * len(VALUE) + b"\r\n\x1b[m" in out  # one * per byte, the colour kept
    start = out.index(b"*" * len(VALUE))
    for a in range(start - 3, start + len(VALUE)):  # any read that cuts the value shows none of it
        piece = index.stream.reader.read(a, a + 5)
        assert not any(VALUE[i : i + 2].encode() in piece for i in range(len(VALUE) - 1)), (a, piece)
    texts = [c.command for c in index.commands] + [e.text for e in index.session.events if isinstance(e, Note)]
    assert all(VALUE not in t for t in texts), texts
    assert "echo [REDACTED:secret-assignment:1] | wc -c" in texts
    assert index.header.baseline_patch == PW_TXT.replace("VALUE", "[REDACTED:secret-assignment:1]")
    assert any("[REDACTED:secret-assignment:1]" in t for t in texts if t.startswith("the token"))
    # from the index cache too (it holds what the file holds: the values are read from the file at each opening)
    again = FileSource(path, cache=tmp_path / "index").scan()
    assert again is not None and VALUE.encode() not in again.stream.reader.read(0, total)
    assert all(VALUE not in c.command for c in again.commands)
    # a reader for another thread masks as well
    assert VALUE.encode() not in index.stream.copy().reader.read(0, total)


def test_a_session_without_such_a_value_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    record(path, late=False)
    index = FileSource(path).scan()
    assert index is not None and isinstance(index.stream.reader, FileOutput)
    assert b"Kp3Lm8Qr2Tv7Wx1Y" in index.stream.reader.read(0, index.stream.total_bytes)


def test_a_session_in_memory_is_masked_the_same(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    record(path)
    session = read_session(path)
    index = MemorySource(Session(path="mem", header=session.header, events=session.events)).scan()
    assert VALUE.encode() not in index.stream.reader.read(0, index.stream.total_bytes)
    assert all(VALUE not in c.command for c in index.commands)


def test_a_value_across_the_edge_of_a_read_is_masked_whatever_the_read() -> None:
    from tracer.replay.source import MemoryOutput

    memory = MemoryOutput()
    value = b"V" * 1000 + b"x9"  # (values up to LONGEST bytes long: REACH reaches across any edge)
    memory.add(b"a" * 5000 + value + b"b" * 5000)
    reader = MaskedOutput(memory, [(value, "secret-assignment")], "rules v1")
    for start in (0, 4000, 4999, 5000, 5500, 6001, 6002):
        for size in (1, 7, 100, REACH + 5):
            got = reader.read(start, start + size)
            assert b"V" not in got and len(got) == len(memory.read(start, start + size)), (start, size)


async def test_the_replay_shows_and_finds_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    record(path)
    app = ReplayApp(FileSource(path), keyframe_cache=tmp_path / "keyframes")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(app, pilot)
        await pilot.press("end")
        await wait_until(pilot, lambda: any("API_TOKEN" in line for line in app.query_one(ScreenView).plain_lines))
        screen = "\n".join(app.query_one(ScreenView).plain_lines)
        assert VALUE not in screen and "*" * len(VALUE) in screen
        await pilot.press("slash")
        app.query_one(SearchBar).value = VALUE[:8]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.search_query == VALUE[:8] and app.query_one(SearchBar).done >= 1.0)
        assert app.hits == []


async def ready(app: ReplayApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: app.ready and app.keyframes is not None and app.keyframes.complete)
    await pilot.pause()
