"""Keyframes: seeking anywhere gives the screen a straight replay gives."""

from __future__ import annotations

import random

from replay_sessions import SECOND, SessionBuilder, build_demo

from tracer.model import Output
from tracer.replay.keyframes import KeyframeIndex, ScreenStream, Seeker
from tracer.replay.terminal import make_terminal


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
    term = make_terminal(stream.cols, stream.rows, backend)
    stream.apply(term, 0, stream.count_at(t))
    return term.text()


def test_stream_splits_coalesced_reads_at_their_times() -> None:
    b = SessionBuilder()
    b.events.append(Output(t=1000, data=b"abcdef", reads=((2, 0), (4, 500), (6, 900))))
    stream = ScreenStream.from_events(b.header, b.events)
    assert stream.items == [b"ab", b"cd", b"ef"]
    assert stream.times == [1000, 1500, 1900]
    assert stream.offsets == [0, 2, 4, 6]
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
        assert seeker.seek(t).text() == _straight(stream, t, backend), t


def test_seek_works_while_the_index_is_incomplete(backend: str) -> None:
    session = _noisy_session(100).session()
    stream = ScreenStream.from_events(session.header, session.events)
    index = KeyframeIndex(stream, backend, every_bytes=1024)
    seeker = Seeker(index)  # nothing built yet: only the blank start
    t = stream.times[-1]
    assert seeker.cost(t) == stream.total_bytes
    assert seeker.seek(t).text() == _straight(stream, t, backend)
    seeker.seek(0)
    index.build()
    assert seeker.cost(t) <= 2 * 1024 + 200


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
    term = Seeker(index).seek(vim.start + (vim.end - vim.start) // 2)
    assert term.alternate
    assert term.text()[0] == "import re"
    term = Seeker(index).seek(vim.end)
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
        assert again.seek(t).text() == fresh.seek(t).text() == _straight(stream, t, "avt")
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
