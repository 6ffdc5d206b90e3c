"""Keyframes: seeking anywhere gives the screen a straight replay gives."""

from __future__ import annotations

import random

import pytest
from replay_sessions import SECOND, SessionBuilder, build_demo

from tracer.model import Output
from tracer.replay.keyframes import KeyframeIndex, ScreenStream, Seeker
from tracer.replay.terminal import Terminal, make_terminal


def _noisy_session(n: int = 400) -> SessionBuilder:
    b = SessionBuilder(40, 8)
    rng = random.Random(7)
    for i in range(n):
        colour = rng.randrange(256)
        b.output(f"\x1b[38;5;{colour}mline {i} {'x' * rng.randrange(30)}\x1b[0m\r\n".encode(), after=0.1)
        if i % 97 == 50:
            b.output(b"\x1b[?1049h\x1b[Hfull screen " + str(i).encode(), after=0.1)
            b.output(b"\x1b[?1049l", after=0.1)
        if i == 200:
            b.resize(50, 10)
    return b


def _straight(stream: ScreenStream, t: int, backend: str) -> list[str]:
    return _played(stream, stream.count_at(t), backend).text()


def _played(stream: ScreenStream, count: int, backend: str | None) -> Terminal:
    """The terminal after playing ``count`` items from the start, as playback does."""
    term = make_terminal(stream.cols, stream.rows, backend, scrollback=stream.scrollback, clusters=stream.clusters)
    stream.apply(term, 0, count)
    return term


def test_stream_splits_coalesced_reads_at_their_times() -> None:
    b = SessionBuilder()
    b.events.append(Output(t=1000, data=b"abcdef", reads=((2, 0), (4, 500), (6, 900))))
    stream = ScreenStream.from_events(b.header, b.events)
    assert [stream.data(i, i + 1) for i in range(len(stream))] == [b"ab", b"cd", b"ef"]
    assert list(stream.times) == [1000, 1500, 1900]
    assert list(stream.offsets) == [0, 2, 4, 6]
    assert stream.count_at(1499) == 1


def test_seek_matches_a_straight_replay_forward_and_backward(backend: str) -> None:
    session = _noisy_session().session()
    stream = ScreenStream.from_events(session.header, session.events)
    index = KeyframeIndex(stream, backend, every_bytes=2048)
    index.build()
    assert index.complete
    assert len(index) > 5
    seeker = Seeker(index)
    rng = random.Random(1)
    end = stream.times[-1]
    moments = [rng.randrange(end) for _ in range(25)] + [0, end, end // 2, end // 2 + 1]
    for t in moments:
        assert seeker.seek(stream.count_at(t)).text() == _straight(stream, t, backend), t


def test_seek_works_while_the_index_is_incomplete(backend: str) -> None:
    session = _noisy_session(100).session()
    stream = ScreenStream.from_events(session.header, session.events)
    index = KeyframeIndex(stream, backend, every_bytes=1024)
    seeker = Seeker(index)  # nothing built yet: only the blank start
    t = stream.times[-1]
    end = len(stream)
    assert seeker.cost(end) == stream.total_bytes
    assert seeker.seek(end).text() == _straight(stream, t, backend)
    seeker.seek(0)
    index.build()
    assert seeker.cost(end) <= 2 * 1024 + 200


def test_build_can_be_cancelled_and_reports_progress(backend: str) -> None:
    session = _noisy_session(100).session()
    stream = ScreenStream.from_events(session.header, session.events)
    index = KeyframeIndex(stream, backend, every_bytes=512)
    seen: list[tuple[int, int]] = []
    index.build(cancelled=lambda: len(seen) >= 2, progress=lambda done, total: seen.append((done, total)))
    assert not index.complete
    assert len(seen) == 2
    assert 0 < index.built < len(stream)


def test_time_based_keyframes() -> None:
    b = SessionBuilder(20, 4)
    for _i in range(10):
        b.output(b"y" * 1500, after=40)
    stream = ScreenStream.from_events(b.header, b.events)
    index = KeyframeIndex(stream, every_bytes=10**9, every_us=60 * SECOND)
    index.build()
    assert len(index) == 1 + 5


def test_demo_session_vim_moment_shows_the_alternate_screen(backend: str) -> None:
    session = build_demo().session()
    stream = ScreenStream.from_events(session.header, session.events)
    index = KeyframeIndex(stream, backend, every_bytes=256)
    index.build()
    vim = next(c for c in session.commands() if c.command.startswith("vim"))
    assert vim.end is not None
    term = Seeker(index).seek(stream.count_at(vim.start + (vim.end - vim.start) // 2))
    assert term.alternate
    assert term.text()[0] == "import re"
    term = Seeker(index).seek(stream.count_at(vim.end))
    assert not term.alternate
    assert any("vim slugify/core.py" in line for line in term.text())


def test_a_cached_index_seeks_exactly_like_a_built_one(tmp_path: object) -> None:
    from pathlib import Path

    from tracer.replay.terminal import available_backends
    from tracer.store.cache import load_cache, save_cache

    if "avt" not in available_backends():
        return
    session = _noisy_session().session()
    stream = ScreenStream.from_events(session.header, session.events)
    built = KeyframeIndex(stream, "avt", every_bytes=2048)
    assert built.to_cache() is None  # incomplete: nothing to cache yet
    built.build()
    path = Path(str(tmp_path)) / "kf.msgpack"
    assert save_cache(path, built.to_cache())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    cached = KeyframeIndex.from_cache(stream, load_cache(path), 2048)
    assert cached is not None and cached.complete and len(cached) == len(built)
    fresh, again = Seeker(built), Seeker(cached)
    end = stream.times[-1]
    for t in [0, end // 3, end // 2 + 1, end]:
        count = stream.count_at(t)
        assert again.seek(count).text() == fresh.seek(count).text() == _straight(stream, t, "avt")
    # data of another stream, another spacing, or garbage is refused
    other = ScreenStream.from_events(_noisy_session(50).session().header, _noisy_session(50).session().events)
    assert KeyframeIndex.from_cache(other, load_cache(path)) is None
    assert KeyframeIndex.from_cache(stream, load_cache(path), 4096) is None
    assert KeyframeIndex.from_cache(stream, {"frames": "x"}) is None
    path.write_bytes(b"\xc1 not msgpack")
    assert load_cache(path) is None


def test_pyte_indexes_are_not_cached() -> None:
    session = _noisy_session(20).session()
    index = KeyframeIndex(ScreenStream.from_events(session.header, session.events), "pyte")
    index.build()
    assert index.to_cache() is None


#: Content a keyframe holds, each kind on its own: a seek through a keyframe must give what playing gives.
KINDS = {
    "wide runs": "🎉" * 9 + "\r\n" + "日" * 12 + "\r\n" + "ab" * 3,
    "zero-width": "e\u0301" * 7 + "|❤\ufe0f" * 6 + "|👨\u200d👩\u200d👧" * 3 + "|\u0e01\u0e31" * 6,
    "colours": "".join(f"\x1b[38;5;{i}m{i:03d}\x1b[48;2;{i};0;9m#" for i in range(0, 256, 7)) + "\x1b[0m",
    "attributes": "\x1b[1mB\x1b[2mF\x1b[3mI\x1b[4mU\x1b[5mK\x1b[7mR\x1b[9mS\x1b[0m plain \x1b[1;31mstill",
    "alternate screen": "main\r\n\x1b[?1049h\x1b[H\x1b[2Jalt text\x1b[3;5Hthere\x1b[?25l",
    "scroll region": "\x1b[2;4r" + "".join(f"\x1b[4;1Hline {i}\n" for i in range(8)) + "\x1b[1;1Htop",
    "cursor": "abc\x1b[3;7H\x1b7\x1b[1;1Hx\x1b8y\x1b[?25l",
    "charset": "\x1b(0lqqk\r\nx  x\r\nmqqj\x1b(B ascii \x0e\x0f",
    "pending wrap": "x" * 20 + "\x1b[?7l" + "y" * 25,
    "origin and insert": "\x1b[3;5r\x1b[?6h\x1b[1;1Horigin\x1b[4hINS\x1b[4l\x1b[?6l",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_seek_through_a_keyframe_gives_the_screen_playing_gives(kind: str, backend: str) -> None:
    text = KINDS[kind]
    b = SessionBuilder(20, 6)
    b.output(b"before\r\n")
    b.output(text.encode())  # the keyframe is taken after this
    b.output(b"+", after=0.1)  # and the moment is one item later
    stream = ScreenStream.from_events(b.header, b.events)
    index = KeyframeIndex(stream, backend, every_bytes=1)
    index.build()
    assert index.nearest(2).count == 2
    seeker = Seeker(index)
    for target in (2, 3):
        seeker.seek(0)
        seeked = seeker.seek(target)
        played = _played(stream, target, backend)
        assert seeked.text() == played.text(), kind
        assert [line.spans for line in seeked.lines()] == [line.spans for line in played.lines()], kind
        assert seeked.cursor == played.cursor, kind
        assert seeked.alternate == played.alternate, kind


def test_seeking_across_a_growing_resize_pulls_the_same_lines_back(backend: str) -> None:
    b = SessionBuilder(20, 5)
    b.output("".join(f"line {i}\r\n" for i in range(30)).encode())
    b.resize(20, 12)  # the window grows: lines come back from the scrollback
    b.output(b"after\r\n")
    stream = ScreenStream.from_events(b.header, b.events)
    index = KeyframeIndex(stream, backend, every_bytes=16)
    index.build()
    seeker = Seeker(index)
    for target in range(len(stream) + 1):
        seeker.seek(len(stream))
        assert seeker.seek(target).text() == _played(stream, target, backend).text(), target
        assert seeker.exact
    if backend == "avt":
        assert _played(stream, len(stream), backend).text()[0].startswith("line ")  # not a blank row
