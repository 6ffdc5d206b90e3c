"""A large session file: indexed, paged and searched in memory bounded by what is shown, not by the session."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from replay_sessions import build_demo, write_session
from tests.conftest import traced_peak

from conftest import wait_until
from tracer.model import CommandEnd, CommandStart, SessionEnd
from tracer.replay import FileSource, ReplayApp
from tracer.replay.lines import OutputLines
from tracer.replay.search import Hit, SessionSearch
from tracer.replay.widgets import CommandView, ScreenView, SearchBar
from tracer.store import SessionWriter

pytestmark = pytest.mark.timeout(120)

MB = 1_000_000


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A session file whose one command prints 24 MB of numbered lines (4 KiB reads); and its line count."""
    path = tmp_path_factory.mktemp("big") / "big.tracer"
    writer = SessionWriter(path, build_demo().header)
    writer.output(1000, b"$ cat big.log\r\n")
    writer.event(CommandStart(t=1000, id=1, command="cat big.log", cwd="/"))
    t, n, size, batch = 2000, 0, 0, []
    while size < 24 * MB:
        line = f"\x1b[32m{n:09d}\x1b[0m line of the log {'y' * (n % 50)}\r\n".encode()
        batch.append(line)
        size += len(line)
        n += 1
        if len(batch) == 64:
            t += 50
            writer.output(t, b"".join(batch))
            batch = []
    writer.output(t + 50, b"".join(batch))
    writer.event(CommandEnd(t=t + 100, id=1, exit_status=0))
    writer.output(t + 100, b"$ ")
    writer.close(SessionEnd(t=t + 200, exit_status=0))
    return path, n


def test_indexing_paging_and_searching_keep_memory_bounded(big_file: tuple[Path, int]) -> None:
    path, lines = big_file
    tracemalloc.start()
    try:
        index = FileSource(path).scan()
        assert index is not None
        _, peak = tracemalloc.get_traced_memory()
        assert index.stream.total_bytes > 24 * MB
        assert peak < 12 * MB, f"indexing held {peak / MB:.1f} MB"  # a frame or two, and the arrays
        tracemalloc.reset_peak()
        view = OutputLines(index.stream, *index.output_range(1))
        assert view.count == lines
        assert view.text(lines - 1).endswith(f"{lines - 1:09d}\x1b[0m line of the log {'y' * ((lines - 1) % 50)}")
        assert view.text(lines // 2).startswith(f"\x1b[32m{lines // 2:09d}")
        hits: list[Hit] = []
        SessionSearch(index).scan(f"{lines - 1:09d} line", 0, lambda found, done: hits.extend(found))
        _, peak = tracemalloc.get_traced_memory()
        assert [h.line.split()[0] for h in hits] == [f"{lines - 1:09d}"]
        assert peak < 16 * MB, f"paging and searching held {peak / MB:.1f} MB"
    finally:
        tracemalloc.stop()


async def test_the_app_on_a_big_file_answers_end_and_shows_the_last_line(big_file: tuple[Path, int]) -> None:
    path, lines = big_file
    app = ReplayApp(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.ready, timeout=60)
        await pilot.press("end")
        screen = app.query_one(ScreenView)
        assert screen.count == len(app.index.stream)  # type: ignore[union-attr]
        assert any(f"{lines - 1:09d}" in row for row in screen.plain_lines)  # at once, approximate or exact
        await pilot.press("left", "2")
        output = app.query_one(CommandView)
        assert output.command_id == 1 and output.line_count == lines + 1  # the title line, then the output
        output.focus()
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert output.get_line(output.line_count - 1).plain.startswith(f"{lines - 1:09d}")
        await pilot.press("slash")
        app.query_one(SearchBar).value = f"{lines // 3:09d} line"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.hit_index is not None, timeout=60)
        assert app.hits[0].line.startswith(f"{lines // 3:09d}")
        await wait_until(pilot, lambda: app.keyframes is not None and app.keyframes.complete, timeout=90)
        await pilot.press("home", "end")
        assert not screen.approximate


async def test_a_damaged_file_shows_what_comes_before_the_damage(tmp_path: Path) -> None:
    path = write_session(build_demo().session(), tmp_path / "demo.tracer")
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(b"\x28\xb5\x2f\xfd" + b"\x00garbage" * 10)  # a frame that does not decode
    app = ReplayApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        banner = str(app.query_one("#banner").render())
        assert f"at byte {good}" in banner and "damaged" in banner
        assert len(app.commands) == 4
        await pilot.press("end")
        assert any("中文 ok" in row for row in app.query_one(ScreenView).plain_lines)


def test_a_start_state_and_final_patch_over_64_mib_are_not_taken_for_damage(tmp_path: Path) -> None:
    """A header whose start state is 70 MB of patch (a large tracked file changed before the recording), and a
    final patch as large, are frames of one event each. The replay took any frame over 64 MiB for damage, and
    showed the session as interrupted, without a command. Its frames are now unpacked as they are decompressed:
    the index holds one event at a time, not a frame's content beside it."""
    import dataclasses

    from tracer.model import FinalPatch

    patch = "".join(f"+row {i} of the data that changed\n" for i in range(2_000_000))  # 75 MB
    assert len(patch) > 64 << 20
    path = tmp_path / "large.tracer"
    writer = SessionWriter(path, dataclasses.replace(build_demo().header, baseline_patch=patch))
    writer.event(CommandStart(t=1000, id=1, command="make test", cwd="/"))
    writer.output(1100, b"all passed\r\n")
    writer.event(CommandEnd(t=1200, id=1, exit_status=0))
    writer.event(FinalPatch(t=1300, patch=patch, files=("data.csv",)))
    writer.output(1400, b"$ ")
    writer.close(SessionEnd(t=1500, exit_status=0))
    size = len(patch)
    del patch
    index, peak = traced_peak(FileSource(path).scan)
    assert index is not None and index.session.problem is None, index and index.session.problem
    assert not index.session.interrupted and [c.command for c in index.commands] == ["make test"]
    assert index.session.final_patch is not None and len(index.session.final_patch.patch) > 64 << 20
    assert index.stream.reader.read(0, index.stream.total_bytes) == b"all passed\r\n$ "
    # one event at a time: msgpack's buffer for it (allocated by doubling: tracemalloc counts pages never touched),
    # then its text; not the frame's content beside them
    assert peak < 5 * size, f"indexing held {peak / MB:.1f} MB for an event of {size / MB:.1f} MB"


def test_the_index_is_cached_and_appended_frames_are_indexed_on_top(tmp_path: Path) -> None:
    from tracer.model import Note
    from tracer.store import append_events

    path = write_session(build_demo().session(), tmp_path / "demo.tracer")
    cache = tmp_path / "index.msgpack"
    first = FileSource(path, cache=cache).scan()
    assert first is not None and cache.exists()
    again = FileSource(path, cache=cache)
    assert again._cached(*_reader_parts(again))[1] > 100  # goes on from the end of the cached scan
    second = again.scan()
    assert second is not None
    assert list(second.stream.offsets) == list(first.stream.offsets)
    assert [(c.id, c.start, c.end) for c in second.commands] == [(c.id, c.start, c.end) for c in first.commands]
    assert second.moments == first.moments and second.ranges == first.ranges
    assert second.stream.reader.read(0, 50) == first.stream.reader.read(0, 50)
    append_events(path, [Note(t=5, id="later", text="added after the scan")])
    third = FileSource(path, cache=cache).scan()
    assert third is not None and "added after the scan" in [n.text for n in third.session.notes()]
    cache.write_bytes(b"\xc1 not msgpack")
    assert FileSource(path, cache=cache).scan().moments == first.moments  # type: ignore[union-attr]


def _reader_parts(source: FileSource) -> tuple[object, object, object]:
    from array import array

    from tracer.replay.source import FileOutput

    frames, starts = array("q"), array("q")
    return FileOutput(source.file, frames, starts, 0), frames, starts
