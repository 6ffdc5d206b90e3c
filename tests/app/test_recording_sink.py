"""The shell starts before the session writer exists: what it prints meanwhile is kept, in order, and written."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.store.test_format import HEADER
from tracer.app import recording
from tracer.app.recording import _Sink
from tracer.capture.commands import CommandTracker
from tracer.capture.marks import Mark
from tracer.model import CommandEnd, CommandStart, Note, Output, Resize, SessionEnd
from tracer.store import SessionWriter, read_session


def test_what_comes_before_the_writer_is_written_first_and_in_order(tmp_path: Path) -> None:
    sink = _Sink()
    sink.output(1, b"a")
    sink.output_batch(b"bcd", [(1, 2), (3, 3)])
    sink.mark(4, Mark("start", 0, command="make", cwd="/"))
    sink.resize(5, 100, 30)
    sink.event(Note(t=6, id="n1", text="early", source="live"))
    sink.output(7, b"e")
    writer = SessionWriter(tmp_path / "s.tracer")
    tracker = CommandTracker(writer.event)
    writer.begin(HEADER)
    sink.attach(writer, tracker)
    sink.output(8, b"f")
    sink.mark(9, Mark("end", 0, exit_status=0))
    writer.close(SessionEnd(t=10, exit_status=0, reason="exit"))
    events = read_session(tmp_path / "s.tracer").events
    kinds = [type(e).__name__ for e in events]
    assert [k for k in kinds if k != "Output"] == ["CommandStart", "Resize", "Note", "CommandEnd", "SessionEnd"]
    assert kinds.index("Output") < kinds.index("CommandStart")  # "a" came before the mark
    assert b"".join(e.data for e in events if isinstance(e, Output)) == b"abcdef"
    (start,) = (e for e in events if isinstance(e, CommandStart))
    (end,) = (e for e in events if isinstance(e, CommandEnd))
    assert (start.t, start.command, end.t) == (4, "make", 9)
    assert [(e.t, e.cols) for e in events if isinstance(e, Resize)] == [(5, 100)]
    assert [e.text for e in events if isinstance(e, Note)] == ["early"]


def test_output_racing_the_attach_is_neither_lost_nor_reordered(tmp_path: Path) -> None:
    """The PTY loop keeps calling the sink from its thread while the set-up thread attaches the writer."""
    sink = _Sink()
    writer = SessionWriter(tmp_path / "s.tracer")
    writer.begin(HEADER)
    tracker = CommandTracker(writer.event)
    started = threading.Event()
    n = 20_000

    def loop() -> None:
        for i in range(n):
            if i == 100:
                started.set()
            chunk = b"%d," % i
            if i % 3:
                sink.output(i, chunk)
            else:
                sink.output_batch(chunk, [(len(chunk), i)])

    thread = threading.Thread(target=loop)
    thread.start()
    assert started.wait(30)
    sink.attach(writer, tracker)
    thread.join(30)
    writer.close(SessionEnd(t=n, exit_status=0, reason="exit"))
    data = b"".join(e.data for e in read_session(tmp_path / "s.tracer").events if isinstance(e, Output))
    assert data == b"".join(b"%d," % i for i in range(n))


def test_a_writer_that_never_comes_does_not_make_the_recorder_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "MAX_EARLY", 1000)
    sink = _Sink()
    for i in range(100):
        sink.output(i, b"x" * 100)
    assert sink.dropped == 9000
