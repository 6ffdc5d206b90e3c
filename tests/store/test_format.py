"""The session file format: round trip, crash recovery, bad files, append-only, privacy."""

from __future__ import annotations

import base64
import io
import itertools
import random
import stat
from pathlib import Path

import pytest

from tracer.errors import CorruptSession, NotASession, SessionNotFound, UnsupportedVersion
from tracer.model import (
    CommandEnd,
    CommandStart,
    FileChange,
    FinalPatch,
    Header,
    Note,
    Output,
    Resize,
    SessionEnd,
    TestCase,
    VerifyResult,
)
from tracer.store import SessionWriter, append_events, iter_frames, read_header, read_session
from tracer.store.format import FRAME_MAX_BYTES, MAGIC, PREAMBLE, PREAMBLE_SIZE
from tracer.store.writer import SMALL_FRAME_BYTES

HEADER = Header(
    t=0,
    session_id="2026-11-21T10-30-00-8f3a",
    started_at="2026-11-21T10:30:00.000000Z",
    tracer_version="0.1.0",
    shell="/bin/bash",
    shell_kind="bash",
    mode="interactive",
    term="xterm-256color",
    cols=80,
    rows=24,
    cwd="/src/p",
    workspace="/src/p",
)


def write_session(path: Path, outputs: int = 3, end: bool = True) -> None:
    w = SessionWriter(path, HEADER)
    w.event(CommandStart(t=10, id=1, command="pytest -q", cwd="/src/p"))
    for i in range(outputs):
        w.output(20 + i, f"line {i}\r\n".encode())
    w.event(CommandEnd(t=100, id=1, exit_status=1, cwd="/src/p"))
    w.event(Resize(t=150, cols=100, rows=30))
    w.event(FileChange(t=200, path="a.py", op="modify", diff="--- a/a.py\n+++ b/a.py\n", added=1, removed=1))
    w.event(Note(t=250, id="n1", text="hypothesis: the regex", tags=("hypothesis",)))
    w.event(FinalPatch(t=300, patch="diff --git a/a.py b/a.py\n", files=("a.py",)))
    if end:
        w.close(SessionEnd(t=400, exit_status=0))
    else:
        w._closing = True  # stop the thread without a session_end, as a killed recorder would
        w._wake.set()
        w._thread.join()


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path)
    s = read_session(path)
    assert s.header == HEADER
    assert s.problem is None and not s.interrupted
    (cmd,) = s.commands()
    assert (cmd.command, cmd.exit_status, cmd.output) == ("pytest -q", 1, b"line 0\r\nline 1\r\nline 2\r\n")
    assert cmd.duration == pytest.approx(90e-6)
    assert [n.text for n in s.notes()] == ["hypothesis: the regex"]
    assert s.final_patch is not None and s.final_patch.files == ("a.py",)
    assert s.end == SessionEnd(t=400, exit_status=0)


def test_output_chunks_are_coalesced_with_their_read_timing(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path, outputs=3)
    (out,) = read_session(path).of_type(Output)
    assert out.data == b"line 0\r\nline 1\r\nline 2\r\n"
    assert out.reads == ((8, 0), (16, 1), (24, 2))


def test_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(MAGIC)


def test_interrupted_recording_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path, end=False)
    s = read_session(path)
    assert s.interrupted and s.problem is None
    assert len(s.commands()) == 1


def test_cut_off_anywhere_in_the_last_frame_keeps_the_frames_before(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path)
    data = path.read_bytes()
    frames = list(iter_frames(path))
    last_start = frames[-1][0]
    events_before = sum(1 for _ in read_session(path).events) - 1  # all but session_end ...
    for cut in range(last_start + 1, len(data)):
        cut_path = tmp_path / "cut.tracer"
        cut_path.write_bytes(data[:cut])
        s = read_session(cut_path)
        assert s.interrupted
        assert s.problem is not None and f"cut off at byte {last_start}" in s.problem
        assert str(cut_path) in s.problem
        assert len(s.events) <= events_before


def test_corrupt_frame_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path)
    frames = list(iter_frames(path))
    second = frames[1][0]
    data = bytearray(path.read_bytes())
    data[second + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    s = read_session(path)
    assert s.problem is not None and f"at byte {second}" in s.problem
    assert s.header == HEADER


def test_not_a_session(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(NotASession, match=r"notes\.txt is not a tracer session"):
        read_session(path)
    with pytest.raises(NotASession):
        append_events(path, [Note(t=0, id="x", text="y")])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound, match="no session file"):
        read_session(tmp_path / "missing.tracer")


def test_newer_format_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "future.tracer"
    path.write_bytes(MAGIC + b"\x00\x63")
    with pytest.raises(UnsupportedVersion, match=r"format 99.*upgrade tracer"):
        read_session(path)


def test_preamble_only_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.tracer"
    path.write_bytes(PREAMBLE)
    assert len(PREAMBLE) == PREAMBLE_SIZE
    with pytest.raises(CorruptSession, match="nothing was recorded"):
        read_session(path)


def test_append_only_notes_and_results(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    write_session(path)
    before = path.read_bytes()
    append_events(path, [Note(t=50, id="n2", text="added in replay", source="replay")])
    append_events(path, [Note(t=60, id="n3", text="", replaces="n1", deleted=True)])
    result = VerifyResult(
        t=400, verdict="passed", command="pytest -q", exit_status=0, tests=(TestCase("t::a", "passed", 0.1),)
    )
    append_events(path, [result])
    assert path.read_bytes().startswith(before)
    s = read_session(path)
    assert [n.text for n in s.notes()] == ["added in replay"]
    assert s.verify_result == result
    assert read_header(path) == HEADER


def test_an_event_that_cannot_be_written_is_skipped_and_the_recording_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    said: list[str] = []
    w = SessionWriter(path, HEADER, on_warning=said.append)
    w.event(CommandStart(t=1, id=1, command="ls", cwd="/"))
    w.event(Note(t=2, id="bad", text=object()))  # type: ignore[arg-type]  # msgpack cannot pack it
    w.output(3, b"af")  # two reads: an event with its reads, packed after the packer failed
    w.output(4, b"ter\r\n")
    w.close(SessionEnd(t=5, exit_status=0))
    s = read_session(path)
    assert [c.command for c in s.commands()] == ["ls"] and s.commands()[0].output == b"after\r\n"
    assert [o.reads for o in s.of_type(Output)] == [((2, 0), (7, 1))]
    assert len(said) == 1 and "note event at 2" in said[0]
    assert s.end is not None and said[0] in s.end.warnings


def test_a_large_event_reads_back(tmp_path: Path) -> None:
    from dataclasses import replace

    big = "+" * (70 << 20)  # e.g. a baseline patch with a large tracked file in it: over a frame, held whole
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, replace(HEADER, baseline_patch=big))
    w.close(SessionEnd(t=1, exit_status=0))
    s = read_session(path)
    assert s.problem is None and len(s.header.baseline_patch) == len(big)


@pytest.mark.parametrize(
    "text", ["+" * (3 << 20), ("é€𝄞a" * (1 << 19))[1:], b"+\xff" * (1 << 20)]
)  # ASCII; 1–4 bytes a character; not UTF-8
@pytest.mark.parametrize("fields", [4, 20])  # fixmap, map 16
def test_a_large_event_packed_piece_by_piece_is_what_msgpack_packs(text: str | bytes, fields: int) -> None:
    """A text of a MiB or more is encoded a piece at a time (pieces cut between characters, each 1 to 4 bytes of
    UTF-8), or follows its header as it is (text that is not UTF-8 is stored as bytes): joined, the pieces are byte
    for byte what msgpack makes of the event's map."""
    from tracer.store import _msgpack
    from tracer.store.writer import is_large, packed_pieces

    pack = _msgpack.packer().pack
    d: dict[str, object] = {f"k{i}": i for i in range(fields - 2)} | {"patch": text, "small": "é" * 40}
    assert is_large(d) and not is_large({"small": "x" * 1000})
    size, pieces = packed_pieces(d, pack)
    joined = b"".join(pieces)
    assert joined == pack(d) and size == len(joined)


def test_a_large_start_state_is_never_held_packed_whole(tmp_path: Path) -> None:
    """A header whose start state is 32 MB of patch, and a final patch as large, are packed and compressed piece
    by piece in frames of their own: the writer holds a MiB of them at a time beyond the text (it held the text
    packed, compressed and msgpack's growing buffer: 3–4 times its size), and they read back whole between the
    frames of other events."""
    from dataclasses import replace

    from tests.conftest import traced_peak
    from tracer.store.writer import write_session as write_whole

    lines = "".join(f"+line {i} of a data file that changed\n" for i in range(800_000))  # 32 MB
    header = replace(HEADER, baseline_patch=lines)
    patch = FinalPatch(t=3, patch=lines, files=("data.csv",))

    def recorded(path: Path) -> None:
        w = SessionWriter(path, header)
        w.output(1, b"before\r\n")
        w.event(CommandStart(t=2, id=1, command="true", cwd="/src/p"))
        w.event(patch)
        w.output(4, b"after\r\n")
        w.close(SessionEnd(t=5, exit_status=0))

    def copied(path: Path) -> None:
        write_whole(path, header, [Output(t=1, data=b"before\r\n"), patch, Output(t=4, data=b"after\r\n")])

    for write in (recorded, copied):
        path = tmp_path / f"{write.__name__}.tracer"
        name, peak = write.__name__, traced_peak(lambda: write(path))[1]  # noqa: B023 - called at once
        assert peak < 8 << 20, (name, peak)
        s = read_session(path)
        assert s.problem is None and s.header.baseline_patch == lines
        assert s.final_patch is not None and s.final_patch.patch == lines
        assert [o.data for o in s.of_type(Output)] == [b"before\r\n", b"after\r\n"]


def test_output_that_barely_compresses_is_stored_at_the_fast_level_in_small_frames_and_text_compresses_again(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    b64 = base64.encodebytes(rng.randbytes(3 << 20))  # 1.33x at level 4 at best: stored as it is
    text = "".join(f"{i}\n" for i in range(600_000)).encode()  # 20x and more at level 4
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER)
    t = 0
    for part in (b64, text, b64, text):
        for start in range(0, len(part), 4096):
            t += 10
            w.output(t, part[start : start + 4096])
    w.close(SessionEnd(t=t + 1, exit_status=0))

    frames = list(iter_frames(path))
    ends = [offset for offset, _ in frames[1:]] + [path.stat().st_size]
    ratios = [len(content) / (end - offset) for (offset, content), end in zip(frames, ends, strict=True)]
    kinds = ["text" if len(c.translate(None, b"0123456789\n")) < len(c) // 10 else "b64" for _, c in frames]
    large = [(k, r) for (_, c), k, r in zip(frames, kinds, ratios, strict=True) if len(c) >= SMALL_FRAME_BYTES]
    assert [k for k, _ in large].count("b64") >= 8 and [k for k, _ in large].count("text") >= 4
    # base64 in small frames (a larger one gains nothing, and costs memory), but for the frame that starts with
    # text (its sample was text); text in full ones once a frame's sample compresses well
    sizes = {k: [len(c) for (_, c), kind in zip(frames, kinds, strict=True) if kind == k] for k in ("b64", "text")}
    assert sum(size > SMALL_FRAME_BYTES + (64 << 10) for size in sizes["b64"]) == 1
    assert sum(size >= FRAME_MAX_BYTES for size in sizes["text"]) >= 2  # in each run of text, once at level 4
    for (before, before_ratio), (kind, ratio) in itertools.pairwise(large):
        if (before, kind) == ("b64", "b64") and before_ratio < 1.5:
            assert ratio < 1.05  # after a large frame of base64 (1.33x at level 4): the fast level, stored as is
    full_text = [
        r for (_, c), k, r in zip(frames, kinds, ratios, strict=True) if k == "text" and len(c) >= FRAME_MAX_BYTES
    ]
    assert min(full_text) > 10  # text compresses again (its first frames, small, may be at the fast level)
    outputs = read_session(path).of_type(Output)
    assert b"".join(o.data for o in outputs) == b64 + text + b64 + text


def test_a_batch_of_reads_makes_the_same_events_as_the_reads_one_by_one(tmp_path: Path) -> None:
    # the PTY loop's C part hands reads over in batches; the events must not depend on how they arrived
    rng = random.Random(3)
    reads: list[tuple[bytes, int]] = []
    t = 0
    for i in range(6000):
        t += (
            rng.choice((5, 40, 900, 10_000, 20_000, 25_000)) if i % 7 else rng.randrange(0, 60_000)
        )  # around COALESCE_US
        reads.append((rng.randbytes(rng.choice((1, 80, 4095, 4095, 4095))), t))

    # everything is queued before the writer thread starts (begin): frames close by size, never by age
    one_by_one = tmp_path / "one.tracer"
    w = SessionWriter(one_by_one)
    for data, t in reads:
        w.output(t, data)
    w.begin(HEADER)
    w.close(SessionEnd(t=t + 1, exit_status=0))

    batched = tmp_path / "batched.tracer"
    w = SessionWriter(batched)
    i = 0
    while i < len(reads):
        n = rng.choice((1, 3, 200, 1500))
        chunk = reads[i : i + n]
        ends = list(itertools.accumulate(len(data) for data, _ in chunk))
        w.output_batch(b"".join(data for data, _ in chunk), [(end, t) for end, (_, t) in zip(ends, chunk, strict=True)])
        i += n
    w.begin(HEADER)
    w.close(SessionEnd(t=t + 1, exit_status=0))

    expected = read_session(one_by_one).of_type(Output)
    got = read_session(batched).of_type(Output)
    assert len(got) == len(expected) > 50
    assert got == expected
    assert b"".join(o.data for o in got) == b"".join(data for data, _ in reads)


def test_text_that_is_not_utf8_is_kept_byte_for_byte(tmp_path: Path) -> None:
    """Paths, directories and command lines are bytes on Linux: a name that is not UTF-8 is stored as msgpack
    bin and read back as the same str (surrogateescape), so it maps back to the very same bytes."""
    from dataclasses import replace

    import msgpack

    odd = b"new\xfe.txt".decode("utf-8", "surrogateescape")
    odd_dir = b"/src/caf\xe9".decode("utf-8", "surrogateescape")
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, replace(HEADER, cwd=odd_dir, workspace=odd_dir))
    w.event(CommandStart(t=1, id=1, command=f"printf y > {odd}", cwd=odd_dir))
    w.event(FileChange(t=2, path=odd, op="create", diff="", after_hash="0" * 40, size=1))
    w.event(FinalPatch(t=3, patch='diff --git "a/new\\376.txt" "b/new\\376.txt"\n', files=(odd, "a ü.py")))
    w.close(SessionEnd(t=4, exit_status=0))

    s = read_session(path)
    assert s.header.cwd == odd_dir and s.header.cwd.encode("utf-8", "surrogateescape") == b"/src/caf\xe9"
    assert s.commands()[0].command == f"printf y > {odd}" and s.commands()[0].cwd == odd_dir
    assert s.file_changes()[0].path.encode("utf-8", "surrogateescape") == b"new\xfe.txt"
    assert s.final_patch is not None and s.final_patch.files == (odd, "a ü.py")
    # on disk: bin for the name that is not UTF-8, str for the one that is
    maps = [m for _, frame in iter_frames(path) for m in msgpack.Unpacker(io.BytesIO(frame), raw=False)]
    final = next(m for m in maps if m["type"] == "final_patch")
    assert final["files"] == [b"new\xfe.txt", "a ü.py"]


def test_batches_past_the_queue_limit_wait_for_the_writer_and_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backpressure: past MAX_QUEUED bytes of batches, the PTY loop waits for the writer thread to take them (a
    lost wake-up would cost QUEUE_WAIT per batch, far past the suite's timeout)."""
    from tracer.store import writer as writer_module

    monkeypatch.setattr(writer_module, "MAX_QUEUED", 8 << 10)
    monkeypatch.setattr(writer_module, "QUEUE_WAIT", 30.0)  # (so the bound below holds on any machine)
    writer = SessionWriter(tmp_path / "s.tracer", HEADER)
    sent = bytearray()
    for i in range(500):
        chunk = bytes([65 + i % 26]) * 4096
        writer.output_batch(chunk, [(2048, 10 * i), (4096, 10 * i + 5)])
        sent += chunk
        assert writer._batched - writer._taken <= (8 << 10) + 4096  # (never more than the limit and one batch)
    writer.close(SessionEnd(t=10_000, exit_status=0))
    got = b"".join(e.data for e in read_session(tmp_path / "s.tracer").of_type(Output))
    assert got == bytes(sent)


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65_535, 65_536, 300_000])
@pytest.mark.parametrize("reads", [False, True])
def test_an_output_event_packed_by_the_writer_is_what_msgpack_packs(size: int, reads: bool) -> None:
    """The writer packs output events itself (the bytes are copied only into the frame): head, bytes, reads must
    be byte for byte what msgpack makes of the event's map (``reads`` left out when there is one read), at each
    boundary of msgpack's bin formats."""
    from tracer.store import _msgpack
    from tracer.store.writer import READS_KEY, output_head

    pack = _msgpack.packer().pack
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    offsets = ((size // 2, 0), (size, 7)) if reads else ()
    event = Output(t=123_456_789, data=data, reads=offsets).to_dict()
    if not reads:
        del event["reads"]
    ours = output_head(pack, 123_456_789, size, reads) + data
    if reads:
        ours += READS_KEY + pack([list(r) for r in offsets])
    assert ours == pack(event)


def test_the_frame_buffer_takes_an_event_larger_than_a_frame_between_output_and_shrinks_back(tmp_path: Path) -> None:
    from tracer.store.writer import _FrameBuffer

    buf = _FrameBuffer()
    keep = _FrameBuffer.KEEP
    assert len(buf._buf) == _FrameBuffer.FIRST < keep
    big = bytes(range(256)) * ((3 * keep) // 256)
    taken: list[bytes] = []
    buf.add(b"head")
    buf.add(memoryview(big)[1:])  # grows: what was in it stays
    buf.take(lambda content: taken.append(bytes(content)))
    assert taken == [b"head" + big[1:]] and len(buf) == 0 and len(buf._buf) == keep  # shrunk back
    buf.add(b"next")
    buf.take(lambda content: taken.append(bytes(content)))
    assert taken[1] == b"next"

    # through the writer: output, an event over a frame, output again, all back in order
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER)
    w.output(1, b"before " * 1000)
    w.event(FinalPatch(t=2, patch="+" * (5 << 20), files=("a",)))
    w.output(3, b"after " * 1000)
    w.close(SessionEnd(t=4, exit_status=0))
    s = read_session(path)
    assert s.problem is None and s.final_patch is not None and len(s.final_patch.patch) == 5 << 20
    assert [o.data for o in s.of_type(Output)] == [b"before " * 1000, b"after " * 1000]


def test_a_flood_of_full_frames_never_grows_the_frame_buffer_past_what_it_keeps() -> None:
    """Frames of output a little over FRAME_MAX_BYTES (the events' heads and reads): the buffer grows to KEEP, once,
    not to twice the frame (4 MiB, shrunk back at once: the peak of the recorder's memory in a flood)."""
    from tracer.store.writer import _FrameBuffer

    buf = _FrameBuffer()
    sizes = set()
    piece = bytes(64 << 10)
    for _ in range(3):
        for _ in range(FRAME_MAX_BYTES // len(piece)):
            buf.add(b"\x84\xa4type\xa6output")  # an event's head
            buf.add(piece)
            sizes.add(len(buf._buf))
        buf.add(b"\xa5reads" + bytes(30_000))  # the reads of the last event
        sizes.add(len(buf._buf))
        buf.take(lambda content: None)
    assert max(sizes) == _FrameBuffer.KEEP
    assert len(buf._buf) == _FrameBuffer.KEEP


@pytest.mark.parametrize("every", [0.0, 3600.0])
def test_through_a_stream_the_writer_gives_its_freed_memory_back_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: float
) -> None:
    """Batches of every size, freed by the writer and reused by the PTY loop, leave free pages between live ones:
    the recorder grew by 4-8 MB through 300 MB of ``yes`` (run 28). The writer calls ``release`` (glibc's
    ``malloc_trim`` in the recorder) after each RELEASE_BYTES of frames, at most once in RELEASE_SECONDS (here
    always, or never in this test's time)."""
    from tracer.store import writer as writer_module

    monkeypatch.setattr(writer_module, "RELEASE_SECONDS", every)
    calls: list[int] = []
    path = tmp_path / "s.tracer"
    w = SessionWriter(path, HEADER, release=lambda: calls.append(1))
    line = b"y\r\n" * 1000
    batches = 3 * writer_module.RELEASE_BYTES // (len(line) * 64) + 1
    for i in range(batches):
        w.output_batch(line * 64, [((k + 1) * len(line), i * 1000 + k) for k in range(64)])
    w.close(SessionEnd(t=batches * 1000, exit_status=0))
    assert len(calls) == (3 if every == 0 else 0)
    s = read_session(path)
    assert s.problem is None and sum(len(o.data) for o in s.of_type(Output)) == batches * 64 * len(line)


def test_output_the_redactor_fails_on_is_written_masked_whole_with_a_warning(tmp_path: Path) -> None:
    from tracer.redact import Redactor, record_redactor

    class Broken(Redactor):
        def output(self, data: object, t: int = 0, kind: str = "output") -> object:
            raise RuntimeError("a bug")

    def broken() -> Redactor:
        return Broken(record_redactor().rules)

    path = tmp_path / "s.tracer"
    w = SessionWriter(path, redactor=broken)
    w.begin(HEADER)
    w.output_batch(b"line one\r\nline two\r\n", [(10, 1), (20, 2)])
    w.close(SessionEnd(t=3, exit_status=0))
    s = read_session(path)
    assert b"".join(o.data for o in s.of_type(Output)) == b"********\r\n********\r\n"
    assert s.end is not None and any("redaction failed on some output" in m for m in s.end.warnings)
