"""The shell starts before the session writer exists: what it prints meanwhile is kept, in order, and written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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


def _flood(sink: _Sink, chunks: int, seen: list[int]) -> threading.Thread:
    """A thread that gives ``sink`` ``chunks`` batches of 512 KiB, as the PTY loop does in a flood, noting how much
    the sink keeps after each."""
    chunk = b"x" * (512 << 10)

    def loop() -> None:
        for i in range(chunks):
            sink.output_batch(chunk, [(len(chunk), i)])
            seen.append(sink.kept)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _wait_until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_flood_before_the_writer_waits_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that floods from its first moment: past EARLY_WAIT bytes kept, the PTY loop waits for the writer
    instead of keeping all of it; nothing is lost."""
    monkeypatch.setattr(recording, "EARLY_WAIT_TIMEOUT", 60)
    monkeypatch.setattr(recording, "EARLY_WAIT", 1 << 20)
    sink = _Sink()
    seen: list[int] = []
    thread = _flood(sink, 16, seen)
    _wait_until(lambda: sink.kept > 1 << 20 or not thread.is_alive())
    writer = SessionWriter(tmp_path / "s.tracer")
    writer.begin(HEADER)
    sink.attach(writer, CommandTracker(writer.event))
    thread.join(30)
    assert not thread.is_alive()
    assert max(seen) <= 1 << 20  # (without the wait: all 8 MiB kept before the writer came)
    writer.close(SessionEnd(t=100, exit_status=0, reason="exit"))
    data = b"".join(e.data for e in read_session(tmp_path / "s.tracer").events if isinstance(e, Output))
    assert data == b"x" * (8 << 20)


def test_a_set_up_that_ends_without_the_writer_does_not_hold_the_output() -> None:
    """The set-up failed: the output goes on at once (kept, up to MAX_EARLY), no wait."""
    sink = _Sink()
    sink.stop_waiting()
    thread = _flood(sink, 16, [])
    thread.join(30)
    assert not thread.is_alive()
    assert sink.kept == 8 << 20


def test_the_output_waits_for_a_slow_set_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A set-up slower than EARLY_WAIT_TIMEOUT: one pause, then the output goes on (waiting at every batch would
    take 12 times as long)."""
    monkeypatch.setattr(recording, "EARLY_WAIT_TIMEOUT", 2.0)
    sink = _Sink()
    thread = _flood(sink, 16, [])
    thread.join(20)
    assert not thread.is_alive()
    assert sink.kept == 8 << 20
