"""Reading session files from anywhere: every field checked, bombs bounded, odd files refused at once.

Each case names what the reader must say: the file, the event (type, frame byte offset, index) and the field;
and what stays readable (everything else, as with a corrupt frame).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.fuzz import craft
from tracer.errors import CorruptSession, NotASession, SessionError, SessionNotFound
from tracer.model import Header, MalformedEvent, Note, Output, event_from_dict
from tracer.store import SessionReader, read_outline, read_session
from tracer.store._msgpack import MAX_EVENT_BYTES, MAX_ITEMS
from tracer.store.format import PREAMBLE
from tracer.store.reader import MAX_FRAME_BYTES

GOOD_NOTE = {"type": "note", "t": 1, "id": "n0", "text": "still here"}


def one_bad_event(tmp_path: Path, bad: Any) -> Path:
    """A session whose second frame holds a good note, ``bad``, and another good note."""
    after = {**GOOD_NOTE, "id": "n2", "t": 3}
    return craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], [GOOD_NOTE, bad, after]))


@pytest.mark.parametrize(
    ("bad", "field", "says"),
    [
        ({"type": "output", "t": "5", "data": b""}, "'t'", "must be an integer, not text ('5')"),
        ({"type": "output", "t": 5, "data": 7}, "'data'", "must be bytes"),
        ({"type": "output", "t": 5, "data": b"x", "reads": [[1, "a"]]}, "'reads[0]'", "pair of integers"),
        ({"type": "output", "t": 5, "data": b"x", "reads": [[1, -2]]}, "'reads[0]'", "[1, -2]"),
        ({"type": "output", "t": -1, "data": b""}, "'t'", "must be from 0"),
        ({"type": "output", "t": 2**63, "data": b""}, "'t'", "must be from 0"),
        ({"type": "note", "t": 2, "id": "x", "text": "t", "tags": "fix"}, "'tags'", "must be a list of text"),
        ({"type": "note", "t": 2, "id": "x", "text": "t", "tags": [1]}, "'tags[0]'", "must be text"),
        ({"type": "note", "t": 2, "id": "x"}, "'text'", "is missing"),
        ({"type": "file_change", "t": 2, "path": "a", "op": "create", "size": -4}, "'size'", "at least 0"),
        ({"type": "file_change", "t": 2, "path": "a", "op": "create", "binary": 1}, "'binary'", "true or false"),
        ({"type": "resize", "t": 2, "cols": "80", "rows": 24}, "'cols'", "must be an integer"),
        ({"type": "resize", "t": 2, "cols": 0, "rows": 24}, "'cols'", "from 1 to 65535"),
        (
            {"type": "verify_result", "t": 2, "verdict": "passed", "command": "x", "tests": [[{"a": 1}]]},
            "'tests[0]'",
            "must be a map",
        ),
        (
            {
                "type": "verify_result",
                "t": 2,
                "verdict": "passed",
                "command": "x",
                "tests": [{"name": {}, "status": "passed"}],
            },
            "'tests[0].name'",
            "must be text",
        ),
        (
            {"type": "verify_result", "t": 2, "verdict": "passed", "command": "x", "duration": float("nan")},
            "'duration'",
            "number of seconds",
        ),
        ({"type": "command_start", "t": 2, "id": 1, "command": ["ls"], "cwd": "/"}, "'command'", "must be text"),
        ({"type": "session_end", "t": 2, "exit_status": 0, "warnings": {"a": 1}}, "'warnings'", "must be a list"),
        ({"type": "final_patch", "t": 2, "patch": b"\xff", "files": None}, "'files'", "must be a list"),
        (17, "", "is not a map but an integer (17)"),
        ([1, 2], "", "is not a map but a list"),
        ({"t": 1}, "'type'", "is missing"),
        ({"type": 5, "t": 1}, "'type'", "must be text"),
    ],
)
def test_a_malformed_event_is_skipped_and_named(tmp_path: Path, bad: Any, field: str, says: str) -> None:
    path = one_bad_event(tmp_path, bad)
    s = read_session(path)
    assert [n.id for n in s.notes()] == ["n0", "n2"]  # before and after it: readable
    assert s.problem is not None
    assert str(path) in s.problem  # the file
    frame_at = len(PREAMBLE) + len(craft.frame(craft.pack([craft.HEADER])))
    assert f"at byte {frame_at} (event 1 of its frame)" in s.problem  # where
    kind = bad.get("type") if isinstance(bad, dict) else None
    assert f"the {kind} event" in s.problem if isinstance(kind, str) else "the event" in s.problem  # which
    assert field in s.problem and says in s.problem  # the field, and what is wrong with it
    assert read_outline(path).problem == s.problem


def test_malformed_events_are_counted_after_the_first(tmp_path: Path) -> None:
    bad = [{"type": "note", "t": i, "id": "x", "text": i} for i in range(5)]
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], bad))
    problem = read_session(path).problem
    assert problem is not None and "(4 more unreadable events were skipped)" in problem


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"cols": "80"}, "field 'cols' must be an integer, not text ('80')"),
        ({"started_at": "yesterday"}, "field 'started_at' must be an RFC 3339 date"),
        ({"started_at": "9999-12-31T23:59:59Z"}, "field 'started_at' must be an RFC 3339 date"),
        ({"uuid": "not\udce5-a-uuid"}, "field 'uuid' must be a UUID (8-4-4-4-12 hexadecimal digits), not 'not\\udce5"),
        ({"session_id": ...}, "field 'session_id' is missing"),
        ({"baseline_patch": None}, "field 'baseline_patch' must be text, not nil"),
    ],
)
def test_a_malformed_header_makes_the_session_unreadable(tmp_path: Path, changes: dict[str, Any], says: str) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.header(**changes)], [GOOD_NOTE]))
    with pytest.raises(CorruptSession) as e:
        read_session(path)
    assert str(path) in str(e.value) and "malformed header" in str(e.value) and says in str(e.value)


def test_a_session_must_begin_with_a_header(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.session([GOOD_NOTE, craft.HEADER]))
    with pytest.raises(CorruptSession, match=r"does not begin with a header event \(it begins with note event"):
        read_session(path)
    odd = craft.write(tmp_path / "odd.tracer", craft.session([{"type": "\x07\x1b]0;title\x07", "t": 0}]))
    with pytest.raises(CorruptSession, match=r"it begins with \\x07\\x1b\]0;title\\x07 event\)"):
        read_session(odd)  # (the message quotes the file, escaped: hypothesis found a BEL in `tracer dataset build`'s)


def test_a_second_header_is_skipped(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], [GOOD_NOTE, craft.header(cols=1)]))
    s = read_session(path)
    assert s.header.cols == 80 and not any(isinstance(e, Header) for e in s.events)
    assert s.problem is not None and "a second header" in s.problem


def test_an_unknown_event_type_is_skipped_silently(tmp_path: Path) -> None:
    path = one_bad_event(tmp_path, {"type": "hologram", "t": 2, "depth": 3})
    s = read_session(path)
    assert s.problem is None and [n.id for n in s.notes()] == ["n0", "n2"]


def test_text_fields_take_bin_and_invalid_utf8_str(tmp_path: Path) -> None:
    note = {"type": "note", "t": 2, "id": b"n\xff", "text": craft.ODD, "tags": [b"\xfe", "ok"]}
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], [note]))
    (n,) = read_session(path).notes()
    assert n.id == "n\udcff" and n.text == craft.ODD and n.tags == ("\udcfe", "ok")


def test_the_field_checks_accept_everything_tracer_writes() -> None:
    for event in craft.rich_events():
        assert event_from_dict(event.to_dict()) == event
    with pytest.raises(MalformedEvent, match="field 'data'"):
        event_from_dict({"type": "output", "t": 1, "data": "text, not bytes"})


# -- bombs ---------------------------------------------------------------------------------------------------


def test_a_frame_declaring_100_gib_is_refused_at_once(tmp_path: Path) -> None:
    path = craft.write(
        tmp_path / "s.tracer", craft.session([craft.HEADER], [GOOD_NOTE], craft.declared_frame(100 << 30))
    )
    s = read_session(path)
    assert [n.id for n in s.notes()] == ["n0"]
    assert s.problem is not None and str(path) in s.problem
    assert "declares 100 GiB of content, more than the limit of 514 MiB" in s.problem
    assert "1 events before it are readable" in s.problem


def test_a_frame_asking_for_a_huge_window_is_refused(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], craft.window_frame(31)))
    problem = read_session(path).problem
    assert problem is not None and "asks for a 2 GiB window, more than the limit of 16 MiB" in problem


def test_a_small_file_holding_a_gigabyte_event_is_refused_at_once(tmp_path: Path) -> None:
    # 1 GB of zeros in one output event, the size not declared in the frame: ~30 KB on disk
    prefix = b"\x83\xa4type\xa6output\xa1t\x01\xa4data" + craft.bin_header(10**9)
    path = craft.write(
        tmp_path / "s.tracer",
        craft.session(
            [craft.HEADER], [GOOD_NOTE], craft.zeros_frame(prefix, 10**9, declare=False), [{**GOOD_NOTE, "id": "n9"}]
        ),
    )
    assert path.stat().st_size < 64 << 10
    s = read_outline(path)
    assert s.problem is not None and str(path) in s.problem
    assert "an event declares a field of 1,000,000,000 bytes, more than the limit of 512 MiB" in s.problem
    assert [n.id for n in s.notes()] == ["n0", "n9"]  # the frames before and after it stay readable


def test_an_event_over_the_limit_in_parts_under_it_is_refused(tmp_path: Path) -> None:
    # a field of 600 MB inside an array (not looked into early), then two fields of 300 MB: each part is under the
    # limit, the event is not; refused when buffered past the event limit, or past the frame's
    nested = b"\x83\xa4type\xa6output\xa1t\x01\xa4data\x91" + craft.bin_header(600 << 20)
    parts = b"\x84\xa4type\xa6output\xa1t\x01\xa4data" + craft.bin_header(300 << 20) + bytes(300 << 20)
    parts += b"\xa4more" + craft.bin_header(300 << 20)
    for prefix, says in (
        (nested, f"an event is larger than {MAX_EVENT_BYTES >> 20} MiB, the limit"),
        (parts, "holds more than 514 MiB of content, the limit"),
    ):
        path = craft.write(
            tmp_path / "s.tracer",
            craft.session([craft.HEADER], [GOOD_NOTE], craft.zeros_frame(prefix, 600 << 20, declare=False)),
        )
        s = read_outline(path)
        assert s.problem is not None and says in s.problem
        assert [n.id for n in s.notes()] == ["n0"]


def test_an_event_that_declares_2_gib_but_holds_less_is_skipped(tmp_path: Path) -> None:
    liar = b"\x83\xa4type\xa6output\xa1t\x00\xa4data" + craft.bin_header(2**31) + b"x" * 100
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], craft.frame(liar), [GOOD_NOTE]))
    s = read_session(path)
    assert s.problem is not None and "ends inside an event" in s.problem
    assert [n.id for n in s.notes()] == ["n0"]


def test_a_frame_of_more_content_than_the_limit_is_refused(tmp_path: Path) -> None:
    # many small events, each fine: the frame as a whole is over the limit (content size not declared)
    one = craft.pack([{"type": "output", "t": 1, "data": bytes(1000)}])
    count = MAX_FRAME_BYTES // len(one) + 1
    cobj = __import__("zstandard").ZstdCompressor(level=1, write_checksum=True).compressobj()
    body = b"".join([cobj.compress(one * 10_000) for _ in range(count // 10_000 + 1)]) + cobj.flush()
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], body))
    with SessionReader(path) as reader:
        held = sum(1 for _ in reader.events())
        assert reader.problem is not None and "holds more than 514 MiB of content, the limit" in reader.problem
    assert held > 0  # streamed as they came (a frame this size is not held whole)


def test_nested_containers_are_bounded(tmp_path: Path) -> None:
    # four million [0, 0] pairs: 16 MB of msgpack, some 500 MB of Python objects if unpacked whole
    pairs = 4 << 20
    body = b"\x82\xa4type\xa6output\xa5reads\xdd" + struct.pack(">I", pairs) + b"\x92\x00\x00" * pairs
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], craft.frame(body), [GOOD_NOTE]))
    s = read_session(path)
    assert s.problem is not None and f"more than {MAX_ITEMS:,} items" in s.problem
    assert [n.id for n in s.notes()] == ["n0"]


def test_the_replay_index_takes_the_same_bounds(tmp_path: Path) -> None:
    """The replay reads frames itself (an event at a time, to fetch output by frame): with the store's unpacker,
    so eight million pairs (32 MB of msgpack) stop at the limit on items instead of becoming a gigabyte of objects,
    and the frames after them are indexed."""
    from tests.conftest import traced_peak
    from tracer.replay import FileSource

    pairs = 8 << 20
    body = b"\x82\xa4type\xa6output\xa5reads\xdd" + struct.pack(">I", pairs) + b"\x92\x00\x00" * pairs
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], craft.frame(body), [GOOD_NOTE]))
    index, peak = traced_peak(FileSource(path).scan)
    assert index is not None and [n.id for n in index.session.notes()] == ["n0"]
    assert peak < 300 << 20, f"{peak >> 20} MiB"  # the items up to the limit (2.8 million pairs), the buffer


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], craft.frame(b"\x91" * 100_000 + b"\xc0")))
    problem = read_session(path).problem
    assert problem is not None and "nested too deeply" in problem


def test_read_session_holds_at_most_its_budget(tmp_path: Path) -> None:
    outputs = [{"type": "output", "t": i, "data": bytes(1000)} for i in range(100)]
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], outputs))
    s = read_session(path, max_bytes=50_000)
    assert 40 <= len(s.of_type(Output)) < 50
    assert s.problem is not None and "holds more than 48.83 KiB of events" in s.problem


# -- files that are not session files --------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tracer"
    os.mkfifo(fifo)
    with pytest.raises(NotASession, match=r"pipe\.tracer is a FIFO \(named pipe\), not a tracer session file"):
        read_session(fifo)  # a blocking open would hang here: nobody writes to the FIFO


def test_a_stream_given_for_a_session_says_to_save_it_first(tmp_path: Path) -> None:
    """`tracer show <(curl …)`: the shell gives a pipe (/dev/fd/N), which cannot be read as a session is (pread at
    offsets); the message says what to do."""
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(NotASession, match=r"is a FIFO .*: tracer reads a session from a file \(save the stream"):
            read_session(Path(f"/dev/fd/{read_end}"))
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.parametrize(
    ("make", "says", "error"),
    [
        (lambda p: p.mkdir(), "is a directory", NotASession),
        (lambda p: p.symlink_to("/dev/zero"), "is a device", NotASession),
        (lambda p: p.symlink_to(p.parent / "gone.tracer"), "is a symbolic link to", SessionNotFound),
        (lambda p: p.symlink_to(p), "too many levels of symbolic links", SessionError),
        (lambda p: p.write_bytes(b""), "is not a tracer session", NotASession),
        (lambda p: p.write_bytes(PREAMBLE), "nothing was recorded", CorruptSession),
        (lambda p: p.write_bytes(PREAMBLE + b"\x28\xb5"), "is cut off at byte 10", CorruptSession),
        (lambda p: p.write_bytes(PREAMBLE + b"garbage, not zstd"), "is corrupt at byte 10", CorruptSession),
    ],
)
def test_odd_files_get_a_clear_error(tmp_path: Path, make: Any, says: str, error: type[Exception]) -> None:
    path = tmp_path / "odd.tracer"
    make(path)
    with pytest.raises(error) as e:
        read_session(path)
    assert says in str(e.value) and str(path) in str(e.value)


def test_a_frame_cut_in_its_checksum_gives_none_of_its_events(tmp_path: Path) -> None:
    data = craft.session([craft.HEADER], [GOOD_NOTE], [{**GOOD_NOTE, "id": "n9"}])
    path = craft.write(tmp_path / "s.tracer", data[:-2])
    s = read_session(path)
    assert [n.id for n in s.notes()] == ["n0"] and s.problem is not None and "cut off" in s.problem


def test_events_of_a_frame_whose_checksum_fails_are_not_used(tmp_path: Path) -> None:
    data = bytearray(craft.session([craft.HEADER], [GOOD_NOTE]))
    data[-1] ^= 0xFF  # the last byte of the checksum
    s = read_session(craft.write(tmp_path / "s.tracer", bytes(data)))
    assert s.notes() == [] and s.problem is not None and "is corrupt at byte" in s.problem


def test_the_reader_reads_again_from_any_frame(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    with SessionReader(path) as reader:
        first = list(reader.events())
        ref = first[5][0]
        again = list(reader.events(start=ref[0]))
        assert again[0][0][0] == ref[0] and again[-1] == first[-1]
        assert isinstance(first[0][2], Output) and reader.ended and reader.problem is None


def test_note_id_is_text_not_int() -> None:
    assert event_from_dict(GOOD_NOTE) == Note(t=1, id="n0", text="still here")
