"""Search, diffs and timeline rows: the pieces behind the app's views."""

from __future__ import annotations

from replay_sessions import CORE_AFTER, CORE_BEFORE, SECOND, build_demo, unified_diff

from tracer.model import Command, CommandEnd, CommandStart, Output, VerifyResult
from tracer.replay.diffs import render_patch, split_files
from tracer.replay.search import SessionSearch, strip_ansi
from tracer.replay.timeline import (
    Verdict,
    format_clock,
    format_duration,
    index_commands,
    patch_counts,
    running_command,
)


def test_strip_ansi() -> None:
    raw = b"\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\r\n50%\r100%\x1b(B\x07"
    assert strip_ansi(raw) == "red ok\n50%\n100%"


def test_search_finds_command_lines_and_output_at_their_moment() -> None:
    session = build_demo().session()
    search = SessionSearch(session.events)
    hits = search.find("ASSERTIONerror")
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.where, hit.command_id) == ("output", 2)
    assert hit.line[hit.start : hit.end] == "AssertionError"
    chunk = next(e for e in session.events if isinstance(e, Output) and b"AssertionError" in e.data)
    assert hit.t == chunk.t
    vim = search.find("vim slugify")
    assert [h.where for h in vim] == ["output", "command"] or [h.where for h in vim] == ["command", "output"]
    assert search.find("") == []
    assert search.find("not there at all") == []


def test_search_limit() -> None:
    events = [Output(t=i, data=b"x\r\n") for i in range(50)]
    assert len(SessionSearch(events, limit=10).find("x")) == 10


def test_index_commands_matches_the_model_without_copying_output() -> None:
    session = build_demo(interrupted=True).session()
    index = index_commands(session.events)
    expected = session.commands()
    assert [(c.id, c.command, c.start, c.end, c.exit_status) for c in index.commands] == [
        (c.id, c.command, c.start, c.end, c.exit_status) for c in expected
    ]
    assert all(c.output == b"" for c in index.commands)
    for c in expected:
        assert index.output(session.events, c.id) == c.output


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


def test_formats() -> None:
    assert format_clock(0) == "0:00.0"
    assert format_clock(75.25 * SECOND) == "1:15.2"
    assert format_clock(3725 * SECOND) == "1:02:05"
    assert [format_duration(x) for x in (None, 0.25, 1.23, 125, 3725)] == [
        "…",
        "250ms",
        "1.2s",
        "2m05s",
        "1h02m",
    ]


def test_unmatched_end_and_restarted_commands() -> None:
    events = [
        CommandStart(t=1, id=1, command="a", cwd="/"),
        Output(t=2, data=b"one"),
        CommandStart(t=3, id=2, command="b", cwd="/"),  # 1 never ended (a nested shell, a crash)
        Output(t=4, data=b"two"),
        CommandEnd(t=5, id=2, exit_status=0),
        CommandEnd(t=6, id=7, exit_status=0),  # an end without a start
    ]
    index = index_commands(events)  # type: ignore[arg-type]
    assert [c.id for c in index.commands] == [1, 2]
    assert index.output(events, 1) == b"one"  # type: ignore[arg-type]
    assert index.output(events, 2) == b"two"  # type: ignore[arg-type]


def test_a_verdict_gives_the_runner_counts_else_the_test_command() -> None:
    # one line for `tracer show`, `tracer verify` and the replay's verdict (VerifyResult.counts)
    counted = VerifyResult(t=5, verdict="resolved", command="pytest -q", passed=3, failed=0, skipped=2, errors=None)
    assert counted.counts() == "3 passed, 2 skipped"
    assert Verdict.from_result(counted).detail == "3 passed, 2 skipped"
    uncounted = VerifyResult(t=5, verdict="passed", command="make check", exit_status=0)
    assert uncounted.counts() == ""
    assert Verdict.from_result(uncounted).detail == "make check"
