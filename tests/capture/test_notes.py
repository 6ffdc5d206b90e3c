"""The notes channel over a real Unix socket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracer.capture.notes import NoteServer, send_note
from tracer.errors import NoteError
from tracer.model import Note


def test_note_reaches_the_recorder_with_its_moment_and_command(tmp_path: Path) -> None:
    got: list[Note] = []
    server = NoteServer(tmp_path / "n.sock", emit=got.append, clock=lambda: 1234, current_command=lambda: 5)
    server.start()
    try:
        note_id = send_note("the regex strips it", ["hypothesis"], socket_path=str(server.path))
    finally:
        server.stop()
    (note,) = got
    assert (note.id, note.t, note.text, note.tags, note.command_id, note.source) == (
        note_id,
        1234,
        "the regex strips it",
        ("hypothesis",),
        5,
        "live",
    )
    assert not server.path.exists()


def test_outside_a_recorded_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACER_SOCKET", raising=False)
    with pytest.raises(NoteError, match="only inside a shell recorded by `tracer shell`"):
        send_note("x")


def test_recorder_gone(tmp_path: Path) -> None:
    with pytest.raises(NoteError, match="does not answer"):
        send_note("x", socket_path=os.fspath(tmp_path / "gone.sock"))


def test_empty_note_is_refused(tmp_path: Path) -> None:
    server = NoteServer(tmp_path / "n.sock", emit=lambda n: None, clock=lambda: 0, current_command=lambda: None)
    server.start()
    try:
        with pytest.raises(NoteError, match="needs some text"):
            send_note("  ", socket_path=str(server.path))
    finally:
        server.stop()
