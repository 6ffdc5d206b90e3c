"""Pairing marks into command events: no phantom commands, no invented exit statuses."""

from __future__ import annotations

from tracer.capture.commands import CommandTracker
from tracer.capture.marks import Mark
from tracer.model import CommandEnd, CommandStart, Event


def test_end_without_a_command_is_ignored() -> None:
    events: list[Event] = []
    tracker = CommandTracker(events.append)
    tracker.mark(1, Mark("end", 0, exit_status=130, cwd="/"))  # Ctrl-C at an empty prompt
    assert events == [] and tracker.current is None


def test_start_and_end_pair() -> None:
    events: list[Event] = []
    tracker = CommandTracker(events.append)
    tracker.mark(1, Mark("start", 0, command="false", cwd="/a"))
    assert tracker.current == 1
    tracker.mark(2, Mark("end", 0, exit_status=1, cwd="/b"))
    assert events == [
        CommandStart(t=1, id=1, command="false", cwd="/a"),
        CommandEnd(t=2, id=1, exit_status=1, cwd="/b"),
    ]
    assert (tracker.count, tracker.failed, tracker.current, tracker.cwd) == (1, 1, None, "/b")


def test_a_start_while_open_leaves_the_open_one_unknown() -> None:
    events: list[Event] = []
    tracker = CommandTracker(events.append)
    tracker.mark(1, Mark("start", 0, command="exec bash", cwd="/"))
    tracker.mark(2, Mark("start", 0, command="ls", cwd="/"))
    tracker.mark(3, Mark("end", 0, exit_status=0, cwd="/"))
    assert [type(e).__name__ for e in events] == ["CommandStart", "CommandStart", "CommandEnd"]
    assert isinstance(events[2], CommandEnd) and events[2].id == 2


def test_an_edit_seen_just_after_a_command_ended_is_that_commands() -> None:
    tracker = CommandTracker(lambda e: None)
    assert tracker.command_at(0) is None
    tracker.start(1_000, "sed -i s/a/b/ f", "/")
    assert tracker.command_at(2_000) == 1
    tracker.end(3_000, 0)
    assert tracker.command_at(3_500) == 1  # the observer heard of sed's write after its end mark
    assert tracker.command_at(3_000 + 100_000) == 1
    assert tracker.command_at(3_000 + 100_001) is None  # later: an edit between commands


def test_an_edit_seen_just_before_a_start_mark_is_that_commands() -> None:
    """A shell builtin writes at once (``printf x >> f``): the file observer can see the write before the start
    mark has come through the PTY. Asked after the quiet period, the tracker knows that start."""
    tracker = CommandTracker(lambda e: None)
    tracker.start(1_000, "pytest -q", "/")
    tracker.end(20_000, 1)
    tracker.start(60_000, "printf x >> f", "/")
    assert tracker.command_at(59_500) == 2  # seen 0.5 ms before the start mark arrived
    assert tracker.command_at(60_000 - 30_000) == 2
    assert tracker.command_at(60_000 - 30_001) == 1  # earlier: within the first command's grace
    tracker.end(61_000, 0)
    assert tracker.command_at(10_000) == 1  # while it ran
    assert tracker.command_at(61_000 + 100_000) == 2
    assert tracker.command_at(61_000 + 100_001) is None


def test_a_command_left_without_an_end_ran_until_the_next_start() -> None:
    tracker = CommandTracker(lambda e: None)
    tracker.start(1_000, "exec bash", "/")
    tracker.start(500_000, "ls", "/")
    assert tracker.command_at(400_000) == 1
    assert tracker.command_at(600_000) == 2
