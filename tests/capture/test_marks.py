"""MarkParser: finding and removing the hooks' marks in a byte stream, incrementally."""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import pickle
import random
import re
from typing import NamedTuple
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.capture import marks
from tracer.capture.marks import MAX_MARK_BYTES, Mark, MarkParser, _text

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


# --- The module imports neither re, base64 nor typing (it is on the way to the user's shell): its replacements
# --- behave as the originals did.


class _OldMark(NamedTuple):
    kind: str
    offset: int
    command: str | None = None
    cwd: str | None = None
    exit_status: int | None = None
    late: bool = False
    padding: bool = False


def test_mark_behaves_as_the_named_tuple_it_replaces() -> None:
    for old in [_OldMark("start", 3, "ls", "/"), _OldMark("end", 0), _OldMark("end", 5, None, "/t", 2, False, True)]:
        mark = Mark(*old)
        assert repr(mark) == repr(old).replace("_OldMark(", "Mark(")
        assert mark == Mark(*old) and hash(mark) == hash(Mark(*old)) == hash(old)
        assert [getattr(mark, f) for f in _OldMark._fields] == list(old)
        assert mark._replace(offset=9) == Mark(*old._replace(offset=9))
        assert copy.copy(mark) == copy.deepcopy(mark) == pickle.loads(pickle.dumps(mark)) == mark
    assert Mark("start", 1, command="x", late=True) == Mark("start", 1, "x", None, None, True, False)
    assert Mark("start", 1) != Mark("start", 1, late=True)
    assert Mark("start", 1) != ("start", 1, None, None, None, False, False)  # a Mark equals only a Mark
    assert len({Mark("end", 0), Mark("end", 0), Mark("end", 1)}) == 2
    with pytest.raises(AttributeError):
        Mark("end", 0).offset = 1
    with pytest.raises(ValueError, match="nope"):
        Mark("end", 0)._replace(nope=1)


@pytest.mark.parametrize("nonce", ["\u0660" * 32, "\uff10" * 32, NONCE[:31] + "\n", " " + NONCE[1:], NONCE[:31] + "-"])
def test_a_nonce_of_other_digits_or_with_other_characters_is_refused(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        MarkParser(nonce)


def _old_text(field: bytes) -> str:
    return base64.b64decode(field, validate=True).decode("utf-8", errors="surrogateescape")


def _same_decoding(field: bytes) -> None:
    try:
        expected: str | type[Exception] = _old_text(field)
    except binascii.Error:
        expected = binascii.Error
    try:
        got: str | type[Exception] = _text(field)
    except binascii.Error:
        got = binascii.Error
    assert got == expected, field


def test_fields_decode_as_with_base64_b64decode_validate_exhaustively() -> None:
    # Every field of up to 4 bytes over letters, digits, + / = and bytes that are not base64.
    alphabet = b"AQZaqz09+/=!\x00\x80 -"
    for size in range(5):
        for field in itertools.product(alphabet, repeat=size):
            _same_decoding(bytes(field))


@given(st.binary(max_size=8) | st.lists(st.sampled_from(b"ABQYaqz09+/=!\x00\xff -"), max_size=8).map(bytes))
@settings(max_examples=500, deadline=None)
def test_fields_decode_as_with_base64_b64decode_validate(field: bytes) -> None:
    _same_decoding(field)


class _RegexParser:
    """The parser as it was with ``re`` and ``base64`` (the reference for the payload's end)."""

    _PAYLOAD = re.compile(rb"[A-Za-z0-9+/=;-]*")

    def __init__(self, nonce: str) -> None:
        self._prefix = b"\x1b]6973;%s;" % nonce.encode("ascii")
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, list[Mark]]:
        if self._held:
            buf = self._held + data
            self._held = b""
        else:
            buf = data
        start = buf.find(b"\x1b]")
        if start < 0:
            if buf and buf[-1] == 0x1B:
                self._held = buf[-1:]
                return buf[:-1], []
            return buf, []
        return self._scan(buf, start)

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _scan(self, buf: bytes, start: int) -> tuple[bytes, list[Mark]]:
        prefix = self._prefix
        out: list[bytes] = []
        out_len = 0
        found: list[Mark] = []
        emitted = 0
        i = start
        n = len(buf)
        while i >= 0:
            rest = n - i
            if rest < len(prefix):
                if prefix.startswith(buf[i:]):
                    break
                i = buf.find(b"\x1b]", i + 2)
                continue
            if not buf.startswith(prefix, i):
                i = buf.find(b"\x1b]", i + 2)
                continue
            body = i + len(prefix)
            payload = self._PAYLOAD.match(buf, body)
            end = payload.end() if payload is not None else body
            if end == n or (buf[end] == 0x1B and end + 1 == n):
                if n - i > marks.MAX_MARK_BYTES:
                    i = buf.find(b"\x1b]", i + 2)
                    continue
                break
            if buf[end] == 0x07:
                stop = end + 1
            elif buf[end] == 0x1B and buf[end + 1] == 0x5C:
                stop = end + 2
            else:
                i = buf.find(b"\x1b]", i + 2)
                continue
            if i > emitted:
                out.append(buf[emitted:i])
                out_len += i - emitted
            mark = self._decode(buf[body:end], out_len)
            if mark is not None:
                found.append(mark)
            emitted = stop
            i = buf.find(b"\x1b]", stop)
        else:
            i = n - 1 if n > emitted and buf[-1] == 0x1B else n
        self._held = buf[i:]
        if i > emitted:
            out.append(buf[emitted:i])
        return b"".join(out), found

    @staticmethod
    def _decode(payload: bytes, offset: int) -> Mark | None:
        fields = payload.split(b";")
        try:
            if fields[0] == b"C" and (len(fields) in (2, 3) or (len(fields) == 4 and fields[3] == b"L")):
                return Mark(
                    "start",
                    offset,
                    command=_old_text(fields[1]),
                    cwd=_old_text(fields[2]) if len(fields) >= 3 and fields[2] else None,
                    late=len(fields) == 4,
                )
            if fields[0] == b"D" and (len(fields) in (2, 3) or (len(fields) == 4 and fields[3] == b"P")):
                if not fields[1].isdigit():
                    return None
                return Mark(
                    "end",
                    offset,
                    exit_status=int(fields[1]),
                    cwd=_old_text(fields[2]) if len(fields) >= 3 and fields[2] else None,
                    padding=len(fields) == 4,
                )
        except (binascii.Error, ValueError):
            return None
        return None


_PREFIX = b"\x1b]6973;%s;" % NONCE.encode()
# Would-be marks: a prefix (mostly ours, else cut or another OSC), a few payload pieces (fields, and bytes that
# are not allowed in a payload), then how it ends: terminators, ESC and backslash apart, bytes that end a payload
# without terminating it, or nothing (the end of the buffer). Between them, other output.
_STARTS = [_PREFIX, _PREFIX, _PREFIX, _PREFIX[:7], _PREFIX[:-1], b"\x1b]", b"\x1b]6973;"]
_FIELDS = [b"C;", b"D;", b"0;", b"12;", b"bHM=", b"L3Q=;", b"QQ", b"=", b";", b"-", b"L", b"P", b";L", b";P", b"A"]
_ENDS = [b"\x07", b"\x1b", b"\x1b\\", b"\\", b"!", b"\x80", b"\n", b" ", b"\x00"]
_OTHER = [b"\x07", b"\x1b", b"\x1b\\", b"\\", b"x", b"\x80", b"\x1b[0m"]


def _pieces(choices: list[bytes], max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(st.sampled_from(choices), max_size=max_size).map(b"".join)


_WOULD_BE_MARK = st.tuples(
    st.sampled_from(_STARTS), _pieces(_FIELDS + _ENDS[3:], 2), _pieces(_FIELDS, 4), _pieces(_ENDS, 3)
).map(b"".join)


@given(
    st.lists(_WOULD_BE_MARK | _pieces(_OTHER, 3), max_size=6).map(b"".join),
    st.lists(st.integers(1, 12), min_size=1, max_size=8),
    st.sampled_from([MAX_MARK_BYTES, 44, 60]),
)
@settings(max_examples=250, deadline=None)
def test_the_payload_ends_where_the_regex_said(data: bytes, sizes: list[int], limit: int) -> None:
    """In one feed, byte by byte and in uneven chunks: the same cleaned bytes, marks and held bytes as the
    parser with ``re`` (``limit``: a small MAX_MARK_BYTES reaches the branch that gives a would-be mark up)."""
    splits = [[data], [data[i : i + 1] for i in range(len(data))], []]
    pos = 0
    while pos < len(data):
        size = sizes[len(splits[2]) % len(sizes)]
        splits[2].append(data[pos : pos + size])
        pos += size
    with mock.patch.object(marks, "MAX_MARK_BYTES", limit):
        for chunks in splits:
            parser, reference = MarkParser(NONCE), _RegexParser(NONCE)
            for chunk in chunks:
                assert parser.feed(chunk) == reference.feed(chunk)
                assert parser.held == len(reference._held)
            assert parser.flush() == reference.flush()
