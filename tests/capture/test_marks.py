"""MarkParser: finding and removing the hooks' marks in a byte stream, incrementally."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.capture.marks import MAX_MARK_BYTES, Mark, MarkParser

NONCE = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def start(command: str, cwd: str = "/src", *, nonce: str = NONCE, st_end: bool = False) -> bytes:
    end = b"\x1b\\" if st_end else b"\x07"
    return b"\x1b]6973;%s;C;%s;%s%s" % (nonce.encode(), b64(command), b64(cwd), end)


def end(status: int, cwd: str = "/src", *, nonce: str = NONCE) -> bytes:
    return b"\x1b]6973;%s;D;%d;%s\x07" % (nonce.encode(), status, b64(cwd))


def feed_all(chunks: list[bytes], nonce: str = NONCE) -> tuple[bytes, list[Mark]]:
    """Feed chunks in order, then flush; marks get absolute offsets into the whole cleaned output."""
    parser = MarkParser(nonce)
    out = bytearray()
    marks: list[Mark] = []
    for chunk in chunks:
        clean, found = parser.feed(chunk)
        marks.extend(Mark(m.kind, len(out) + m.offset, m.command, m.cwd, m.exit_status) for m in found)
        out += clean
    out += parser.flush()
    return bytes(out), marks


def test_output_without_marks_passes_through_as_the_same_object() -> None:
    parser = MarkParser(NONCE)
    chunk = b"hello \x1b[31mred\x1b[0m world\r\n" * 1000
    clean, marks = parser.feed(chunk)
    assert clean is chunk  # the hot path copies nothing
    assert marks == []
    assert parser.flush() == b""


def test_start_and_end_are_found_removed_and_decoded() -> None:
    command = 'for f in *.py; do\n  echo "$f" | wc -c\ndone  # é ü ✓'
    data = b"$ " + start(command, "/home/ann/src ü") + b"out\r\n" + end(0, "/tmp") + b"$ " + end(130)
    clean, marks = MarkParser(NONCE).feed(data)
    assert clean == b"$ out\r\n$ "
    assert marks == [
        Mark("start", 2, command=command, cwd="/home/ann/src ü"),
        Mark("end", 7, cwd="/tmp", exit_status=0),
        Mark("end", 9, cwd="/src", exit_status=130),
    ]


def test_st_terminator_is_accepted() -> None:
    clean, marks = feed_all([b"a" + start("ls", st_end=True) + b"b"])
    assert clean == b"ab"
    assert marks == [Mark("start", 1, command="ls", cwd="/src")]


def test_empty_fields() -> None:
    data = b"\x1b]6973;%s;C;;\x07\x1b]6973;%s;D;2;\x07" % (NONCE.encode(), NONCE.encode())
    clean, marks = feed_all([data])
    assert clean == b""
    assert marks == [Mark("start", 0, command=""), Mark("end", 0, exit_status=2)]


@pytest.mark.parametrize("mark", [start("git commit -m 'x; y'"), end(1), start("ls", st_end=True)])
def test_a_mark_split_at_every_byte_position_is_found(mark: bytes) -> None:
    data = b"before" + mark + b"after"
    expected = feed_all([data])
    assert expected[0] == b"beforeafter" and expected[1][0].offset == 6
    for i in range(len(data) + 1):
        assert feed_all([data[:i], data[i:]]) == expected, f"split at {i}"
    assert feed_all([bytes([b]) for b in data]) == expected


def test_bytes_that_may_begin_a_mark_are_held_until_flush() -> None:
    parser = MarkParser(NONCE)
    assert parser.feed(b"abc\x1b") == (b"abc", [])
    assert parser.flush() == b"\x1b"
    assert parser.flush() == b""
    partial = b"x\x1b]6973;" + NONCE[:10].encode()
    assert parser.feed(partial) == (b"x", [])
    assert parser.flush() == partial[1:]
    # A would-be mark without terminator yet is held, whole.
    assert parser.feed(b"y" + start("ls")[:-1]) == (b"y", [])
    assert parser.flush() == start("ls")[:-1]


def test_a_lone_escape_is_released_by_the_next_feed() -> None:
    parser = MarkParser(NONCE)
    assert parser.feed(b"\x1b") == (b"", [])
    assert parser.feed(b"[31mred") == (b"\x1b[31mred", [])
    assert parser.feed(b"\x1b]") == (b"", [])
    assert parser.feed(b"0;title\x07") == (b"\x1b]0;title\x07", [])


def test_wrong_nonce_and_other_osc_pass_through_unchanged() -> None:
    forged = (
        start("rm -rf ~", nonce=OTHER)
        + end(0, nonce=OTHER)
        + b"\x1b]133;A\x07\x1b]133;C\x07\x1b]7;file:///etc\x07"
        + b"\x1b]6973;;D;0\x07\x1b]6973\x07\x1b]6973;"
        + NONCE[:31].encode()
        + b";C;;\x07"
    )
    for chunks in ([forged], [bytes([b]) for b in forged]):
        assert feed_all(chunks) == (forged, [])


def test_a_late_start_says_so() -> None:
    late = start("echo )")[:-1] + b";L\x07"
    clean, marks = MarkParser(NONCE).feed(b"a" + late + b"b" + start("ls"))
    assert clean == b"ab"
    assert marks == [
        Mark("start", 1, command="echo )", cwd="/src", late=True),
        Mark("start", 2, command="ls", cwd="/src"),
    ]
    assert feed_all([b"a" + start("x")[:-1] + b";X\x07" + b"b"]) == (b"ab", [])  # a fourth field but L: not a mark
    clean, marks = MarkParser(NONCE).feed(end(1)[:-1] + b";P\x07")
    assert marks == [Mark("end", 0, cwd="/src", exit_status=1, padding=True)]
    assert feed_all([end(1)[:-1] + b";L\x07"]) == (b"", [])


def test_malformed_mark_with_our_nonce_is_removed_without_a_mark() -> None:
    bad = [
        b"\x1b]6973;%s;C;not base64!;\x07" % NONCE.encode(),  # '!' is not in a mark: not ours, kept
        b"\x1b]6973;%s;C;QQ;\x07" % NONCE.encode(),  # bad padding
        b"\x1b]6973;%s;D;x1;\x07" % NONCE.encode(),
        b"\x1b]6973;%s;Z;1;2\x07" % NONCE.encode(),
    ]
    assert feed_all([bad[0]]) == (bad[0], [])
    for data in bad[1:]:
        assert feed_all([b"a" + data + b"b"]) == (b"ab", [])


@given(st.lists(st.binary(max_size=300), max_size=20))
@settings(max_examples=300, deadline=None)
def test_arbitrary_binary_output_passes_through_byte_for_byte(chunks: list[bytes]) -> None:
    assert feed_all(chunks) == (b"".join(chunks), [])


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_marks_among_binary_output_are_found_at_their_offsets(data: st.DataObject) -> None:
    pieces = data.draw(st.lists(st.binary(max_size=50), min_size=1, max_size=6))
    commands = data.draw(st.lists(st.text(max_size=20), min_size=len(pieces), max_size=len(pieces)))
    stream = bytearray()
    plain = bytearray()
    expected = []
    for piece, command in zip(pieces, commands, strict=True):
        stream += piece
        plain += piece
        expected.append(Mark("start", len(plain), command=command, cwd="/src"))
        stream += start(command)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [bytes(stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert feed_all(chunks) == (bytes(plain), expected)


def test_non_utf8_bytes_around_marks_are_kept() -> None:
    rng = random.Random(6973)
    noise = bytes(rng.randrange(256) for _ in range(20000)).replace(b"\x1b]6973", b"")
    data = noise[:5000] + start("make") + noise[5000:] + end(2)
    clean, marks = feed_all([data[i : i + 997] for i in range(0, len(data), 997)])
    assert clean == noise
    assert [(m.kind, m.offset) for m in marks] == [("start", 5000), ("end", len(noise))]


def test_an_unterminated_mark_longer_than_the_limit_is_given_up() -> None:
    junk = b"\x1b]6973;" + NONCE.encode() + b";C;" + b"A" * (MAX_MARK_BYTES + 10)
    chunks = [junk[i : i + 65536] for i in range(0, len(junk), 65536)]
    parser = MarkParser(NONCE)
    released = bytearray()
    for chunk in chunks:
        clean, marks = parser.feed(chunk)
        assert marks == []
        released += clean
    assert len(released) > 0  # given up before the end of the stream, without a flush
    assert bytes(released) + parser.flush() == junk


def test_a_long_mark_within_the_limit_is_found_across_many_feeds() -> None:
    command = "x" * 500_000
    data = b"a" + start(command) + b"b"
    clean, marks = feed_all([data[i : i + 65536] for i in range(0, len(data), 65536)])
    assert clean == b"ab"
    assert marks == [Mark("start", 1, command=command, cwd="/src")]


@pytest.mark.parametrize("nonce", ["", "0123", NONCE.upper(), NONCE + "0", "g" * 32])
def test_a_bad_nonce_is_refused(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        MarkParser(nonce)


def test_a_command_line_and_directory_that_are_not_utf8_keep_their_bytes() -> None:
    cmd, cwd = b"printf y > new\xfe.txt", b"/src/caf\xe9"
    mark = b"\x1b]6973;%s;C;%s;%s\x07" % (NONCE.encode(), base64.b64encode(cmd), base64.b64encode(cwd))
    _, (found,) = feed_all([mark])
    assert found.command is not None and found.command.encode("utf-8", "surrogateescape") == cmd
    assert found.cwd is not None and found.cwd.encode("utf-8", "surrogateescape") == cwd
