"""Search, diffs and timeline rows: the pieces behind the app's views."""

from __future__ import annotations

import pytest
from replay_sessions import CORE_AFTER, CORE_BEFORE, SECOND, build_demo, unified_diff

from tracer.model import Command, CommandEnd, CommandStart, Output, Session, VerifyResult
from tracer.replay.diffs import render_patch, split_files
from tracer.replay.lines import MAX_LINE, OutputLines
from tracer.replay.search import Hit, SessionSearch, strip_ansi
from tracer.replay.source import BLOCK, MemorySource, SessionIndex
from tracer.replay.timeline import Verdict, format_clock, format_duration, patch_counts, running_command


def index_of(session: Session) -> SessionIndex:
    return MemorySource(session).scan()


def find(index: SessionIndex, query: str, start: int = 0, limit: int = 10_000) -> list[Hit]:
    search = SessionSearch(index, limit=limit)
    hits = search.command_hits(query) if query else []
    search.scan(query, start, lambda found, done: hits.extend(found))
    return sorted(hits, key=lambda h: h.key)


def test_strip_ansi() -> None:
    raw = b"\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\r\n50%\r100%\x1b(B\x07"
    assert strip_ansi(raw) == "red ok\n50%\n100%"


def test_search_finds_command_lines_and_output_at_their_moment() -> None:
    session = build_demo().session()
    index = index_of(session)
    hits = find(index, "ASSERTIONerror")
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.where, hit.command_id) == ("output", 2)
    assert hit.line[hit.start : hit.end] == "AssertionError"
    chunk = next(e for e in session.events if isinstance(e, Output) and b"AssertionError" in e.data)
    assert hit.t == chunk.t
    assert index.stream.data(0, hit.count).endswith(chunk.data)  # the moment shows the chunk, not more
    vim = find(index, "vim slugify")
    assert sorted(h.where for h in vim) == ["command", "output"]
    assert find(index, "") == []
    assert find(index, "not there at all") == []


def test_search_finds_text_split_by_colours_and_starts_where_asked() -> None:
    session = build_demo().session()
    index = index_of(session)
    hits = find(index, "1 failed, 2 passed")  # "1 failed" and "2 passed" are in different colours
    assert [h.line[h.start : h.end] for h in hits] == ["1 failed, 2 passed"]
    found: list[Hit] = []
    middle = index.stream.total_bytes // 2
    SessionSearch(index).scan("pytest", middle, lambda hits, done: found.extend(hits))
    assert [h.position >= middle for h in found] == sorted([h.position >= middle for h in found], reverse=True)


def test_search_limit() -> None:
    header = build_demo().header
    events = [Output(t=i, data=b"x\r\n") for i in range(50)]
    assert len(find(index_of(Session("x", header, events)), "x", limit=10)) == 10


def test_commands_are_at_their_place_in_the_stream_and_own_their_output() -> None:
    session = build_demo(interrupted=True).session()
    index = index_of(session)
    expected = session.commands()
    assert [(c.id, c.command, c.start, c.end, c.exit_status) for c in index.commands] == [
        (c.id, c.command, c.start, c.end, c.exit_status) for c in expected
    ]
    assert all(c.output == b"" for c in index.commands)
    for c in expected:
        assert index.stream.reader.read(*index.output_range(c.id)) == c.output


def test_output_lines_are_found_without_reading_the_output() -> None:
    header = build_demo().header
    lines = [f"line {i} " + "x" * (i % 300) for i in range(20_000)]
    data = "\r\n".join(lines).encode() + b"\r\n50%\r100% done"
    events = [Output(t=1, data=data[i : i + 4000]) for i in range(0, len(data), 4000)]
    index = index_of(Session("x", header, events))
    assert index.stream.total_bytes > 20 * BLOCK
    view = OutputLines(index.stream, 0, index.stream.total_bytes)
    assert view.count == len(lines) + 1
    for i in (0, 1, 5000, 19_999, 7, 12_345):
        assert view.text(i) == lines[i]
    assert view.text(len(lines)) == "100% done"
    position = data.index(b"line 12345 ")
    assert view.line_of(position) == 12_345
    middle = OutputLines(index.stream, position, index.stream.total_bytes)
    assert middle.text(0) == lines[12_345] and middle.count == len(lines) - 12_345 + 1
    long = b"a" * (MAX_LINE * 3) + b"\r\n" + b"b" * 10 + b"\r" * 1 + b"c" * (MAX_LINE * 2) + b"\rend\r\n"
    index = index_of(Session("x", header, [Output(t=1, data=long)]))
    view = OutputLines(index.stream, 0, len(long))
    assert view.count == 2
    assert view.text(0).startswith("aaa") and view.text(0).endswith("…")
    assert view.text(1) == "end"


def test_running_command() -> None:
    commands = [
        Command(1, "a", "/", 10, 20, 0, b""),
        Command(2, "b", "/", 30, None, None, b""),
    ]
    starts = [10, 30]
    assert running_command(commands, starts, 5) is None
    assert running_command(commands, starts, 15) == commands[0]
    assert running_command(commands, starts, 25) is None
    assert running_command(commands, starts, 99) == commands[1]


def test_split_and_render_a_patch() -> None:
    patch = unified_diff("a.py", CORE_BEFORE, CORE_AFTER) + unified_diff("docs/new.md", "", "# hi\n")
    files = split_files(patch)
    assert [(f.path, f.added, f.removed) for f in files] == [("a.py", 2, 0), ("docs/new.md", 1, 0)]
    lines = [line.plain for line in render_patch(patch)]
    assert lines[0] == "━━ a.py  +2 −0"
    assert "+import unicodedata" in lines
    assert "━━ docs/new.md  +1 −0" in lines
    assert patch_counts(patch) == (3, 0)
    plain = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n"
    assert [(f.path, f.added, f.removed) for f in split_files(plain)] == [("x", 1, 1)]


def test_a_long_patch_is_shown_up_to_its_budget_and_says_how_much_more_it_has(monkeypatch: pytest.MonkeyPatch) -> None:
    # a start state of 15,832 untracked files (3.2 million lines) held the replay for minutes, past 700 MB
    from tracer.replay import diffs

    one = "diff --git a/d/{0}.txt b/d/{0}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/d/{0}.txt\n@@ -0,0 +1,3 @@\n"
    patch = "".join(one.format(i) + "+x\n+y\n+z\n" for i in range(4000))  # 8 lines a file, 32,000 lines
    monkeypatch.setattr(diffs, "SHOWN_LINES", 100)
    lines = [line.plain for line in render_patch(patch)]
    assert sum(line.startswith("━━ ") for line in lines) == 12  # the whole files that fit in 100 lines
    assert lines[-1] == "… 31,904 more lines (3,988 more files) not shown here: `tracer export` writes the whole diff"
    assert lines[-3] == "+z"  # the last file shown is whole
    monkeypatch.setattr(diffs, "SHOWN_LINES", 10**6)
    monkeypatch.setattr(diffs, "SHOWN_CHARS", 1000)  # characters too
    lines = [line.plain for line in render_patch(patch)]
    assert lines[-1].startswith("… ") and "more files" in lines[-1] and len(lines) < 100
    huge = "diff --git a/big b/big\n--- a/big\n+++ b/big\n@@ -1,2 +1,5000 @@\n" + "-old\n+row\n+++x\n" * 2500
    huge += "diff --git a/next b/next\n--- a/next\n+++ b/next\n@@ -1 +1 @@\n-a\n+b\n"
    lines = [line.plain for line in render_patch(huge)]
    assert lines[0] == "━━ big  +2500 −2500"  # cut short, the whole file's counts (a `+++` line counts as a header)
    assert lines[-1].startswith("… ") and "(1 more file)" in lines[-1]
    assert len(lines) < 300
    assert [line.plain for line in render_patch("+" + "x" * 5000)][-1] == (
        "… 1 more line not shown here: `tracer export` writes the whole diff"
    )  # one line longer than the budget
    monkeypatch.setattr(diffs, "SHOWN_CHARS", 10**9)
    assert not render_patch(patch)[-1].plain.startswith("… ")  # within both: all of it


def test_formats() -> None:
    assert format_clock(0) == "0:00.0"
    assert format_clock(75.25 * SECOND) == "1:15.2"
    assert format_clock(3725 * SECOND) == "1:02:05"
    assert [format_duration(x) for x in (None, 0.25, 1.23, 125, 3725, 2 * 86400 + 3 * 3600 + 59)] == [
        "…",
        "250ms",
        "1.2s",
        "2m05s",
        "1h02m",
        "2d03h",
    ]
    # the listing's, the replay's and insights' long durations are written alike
    from tracer.insights._render import duration
    from tracer.model import format_duration as listing

    for s in (60, 61, 3599, 3600, 86399, 86400, 10 * 86400 + 7):
        assert listing(s) == duration(s) == format_duration(s)


def test_unmatched_end_and_restarted_commands() -> None:
    events = [
        CommandStart(t=1, id=1, command="a", cwd="/"),
        Output(t=2, data=b"one"),
        CommandStart(t=3, id=2, command="b", cwd="/"),  # 1 never ended (a nested shell, a crash)
        Output(t=4, data=b"two"),
        CommandEnd(t=5, id=2, exit_status=0),
        CommandEnd(t=6, id=7, exit_status=0),  # an end without a start
    ]
    index = index_of(Session("x", build_demo().header, events))  # type: ignore[arg-type]
    assert [c.id for c in index.commands] == [1, 2]
    assert index.stream.reader.read(*index.output_range(1)) == b"one"
    assert index.stream.reader.read(*index.output_range(2)) == b"two"


def test_a_fast_command_starts_before_its_output_at_the_same_time() -> None:
    events = [
        Output(t=5, data=b"$ "),
        Output(t=9, data=b"true\r\n"),
        CommandStart(t=9, id=1, command="true", cwd="/"),
        Output(t=9, data=b"done\r\n"),
        CommandEnd(t=9, id=1, exit_status=0),
        Output(t=9, data=b"$ "),
    ]
    index = index_of(Session("x", build_demo().header, events))  # type: ignore[arg-type]
    start, end = index.moments[1]
    assert index.stream.data(0, start) == b"$ true\r\n"
    assert end is not None and index.stream.data(0, end) == b"$ true\r\ndone\r\n"
    assert index.stream.count_at(9) == len(index.stream)  # by time, everything at t=9 is shown


def test_a_verdict_gives_the_runner_counts_else_the_test_command() -> None:
    # one line for `tracer show`, `tracer verify` and the replay's verdict (VerifyResult.counts)
    counted = VerifyResult(t=5, verdict="resolved", command="pytest -q", passed=3, failed=0, skipped=2, errors=None)
    assert counted.counts() == "3 passed, 2 skipped"
    assert Verdict.from_result(counted).detail == "3 passed, 2 skipped"
    uncounted = VerifyResult(t=5, verdict="passed", command="make check", exit_status=0)
    assert uncounted.counts() == ""
    assert Verdict.from_result(uncounted).detail == "make check"


def test_a_hostile_session_cannot_make_the_index_large() -> None:
    from tracer.model import Resize
    from tracer.replay.source import MAX_READS, MAX_RESIZES

    data = b"x" * 200_000
    flood = Output(t=1, data=data, reads=tuple((i + 1, i) for i in range(len(data))))  # a read per byte
    resizes = [Resize(t=2, cols=80 + i % 2, rows=24) for i in range(MAX_RESIZES + 10)]
    index = index_of(Session("x", build_demo().header, [flood, *resizes]))  # type: ignore[list-item]
    assert len(index.stream) <= MAX_READS + 1 + MAX_RESIZES
    assert index.stream.reader.read(0, len(data)) == data
    assert len(index.stream.resizes) == MAX_RESIZES
    assert index.session.problem is not None and "10 events" in index.session.problem
