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


def test_a_note_sent_before_the_recorder_listens_waits_for_it(tmp_path: Path) -> None:
    """`tracer shell -c 'tracer note …'`: the command may run before its recorder listens on the socket it was given."""
    import threading
    import time

    got: list[Note] = []
    path = tmp_path / "n.sock"
    answers: list[str] = []
    sender = threading.Thread(target=lambda: answers.append(send_note("early", socket_path=str(path))))
    sender.start()
    time.sleep(0.2)  # (the sender is most likely waiting by now; the note must arrive either way)
    server = NoteServer(path, emit=got.append, clock=lambda: 7, current_command=lambda: 1)
    server.start()
    try:
        sender.join(30)
    finally:
        server.stop()
    assert [(n.text, n.id) for n in got] == [("early", answers[0])]


def test_the_socket_of_a_dead_recorder_is_not_waited_for(tmp_path: Path) -> None:
    import socket
    import time

    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))  # bound, never listening: what a killed recorder leaves
    start = time.monotonic()
    with pytest.raises(NoteError, match="does not answer"):
        send_note("x", socket_path=str(path))
    assert time.monotonic() - start < 1.5  # (not the 2 s a starting recorder gets)
