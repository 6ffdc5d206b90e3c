"""Pairing marks into command events: no phantom commands, no invented exit statuses."""

from __future__ import annotations

from tracer.capture.commands import HOLD_BYTES, HOLD_US, CommandTracker, PromptHold
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


def test_an_edit_found_by_comparison_is_the_last_commands_that_ran_since() -> None:
    """``tracer shell -c``: a short command is over before the file observer watches; its edits are found later,
    by comparing the work tree with the baseline: made some time since then, by the command that ran."""
    tracker = CommandTracker(lambda e: None)
    tracker.start(10_000, "echo b > a.txt", "/")
    tracker.end(14_000, 0)
    assert tracker.command_at(2_000_000) is None  # seen 2 s later: between commands, as an edit seen then
    assert tracker.command_at(2_000_000, since=0) == 1  # found then, made since the start: the command's
    assert tracker.command_at(2_000_000, since=20_000) is None  # made after it ended
    tracker.start(3_000_000, "make", "/")
    assert tracker.command_at(3_500_000, since=0) == 2  # the last that ran


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


class Held:
    """A PromptHold over a tracker, recording what reaches the writer, in order: ``("out", t, bytes)`` and the
    tracker's events."""

    def __init__(self) -> None:
        self.stream: list[object] = []
        self.tracker = CommandTracker(self.stream.append)
        self.hold = PromptHold(self.out, self.batch, self.tracker)

    def out(self, t: int, data: bytes) -> None:
        self.stream.append(("out", t, data))

    def batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        self.stream.append(("batch", data))

    def output_of(self, command_id: int) -> bytes:
        """The output between the command's start and end, as a reader pairs them."""
        inside, out = False, b""
        for item in self.stream:
            if isinstance(item, CommandStart) and item.id == command_id:
                inside = True
            elif isinstance(item, CommandEnd) and item.id == command_id:
                break
            elif inside and isinstance(item, tuple):
                out += item[2]
        return out


def test_a_late_start_goes_where_the_lines_output_begins() -> None:
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"$ ")
    h.hold.output(2, b"echo )\r\n")
    h.hold.output(3, b"\x1b[?2004l\rbash: syntax error\r\n")  # readline's bracketed paste off: the echo's end
    h.hold.mark(4, Mark("start", 0, command="echo )", late=True))
    h.hold.mark(4, Mark("end", 0, exit_status=2))
    assert h.output_of(1) == b"bash: syntax error\r\n"
    assert h.stream[3] == CommandStart(t=3, id=1, command="echo )", cwd="")  # at the time its output came


def test_a_start_on_time_goes_where_it_was_written_and_teaches_the_prompts_lines() -> None:
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"~/src\r\n$ ls\r\n")  # a two-line prompt, then the line
    h.hold.mark(2, Mark("start", 0, command="ls"))
    h.hold.output(3, b"a b\r\n")
    h.hold.mark(4, Mark("end", 0, exit_status=0))
    assert h.hold.prompt_lines == 1 and h.output_of(1) == b"a b\r\n"
    h.hold.output(5, b"~/src\r\n$ echo )\r\nbash: syntax error\r\n")  # all in one read
    h.hold.mark(6, Mark("start", 0, command="echo )", late=True))
    h.hold.mark(6, Mark("end", 0, exit_status=2))
    assert h.output_of(2) == b"bash: syntax error\r\n"


def test_an_end_before_the_late_start_ends_the_command_in_its_place() -> None:
    """zsh's PROMPT_SP padding begins with an end mark, before precmd writes the late start."""
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"% echo )\r\nzsh: parse error\r\n")
    h.hold.mark(2, Mark("end", 0, exit_status=1, padding=True))
    h.hold.output(2, b"%      \r")
    h.hold.mark(3, Mark("start", 0, command="echo )", late=True))
    h.hold.mark(3, Mark("end", 0, exit_status=1))
    assert h.output_of(1) == b"zsh: parse error\r\n"
    assert [e for e in h.stream if isinstance(e, CommandEnd)] == [CommandEnd(t=2, id=1, exit_status=1)]


def test_output_is_held_no_longer_than_the_bounds() -> None:
    for late_t, more in [(HOLD_US + 10, b"x"), (5, b"x" * HOLD_BYTES)]:
        h = Held()
        h.hold.mark(0, Mark("end", 0, exit_status=0))
        h.hold.output(1, b"$ sleep 5; echo )\r\n")
        h.hold.output(2, b"working\r\n")
        assert len(h.stream) == 1  # held: only the line went on
        h.hold.output(late_t, more)
        assert [item[2] for item in h.stream] == [b"$ sleep 5; echo )\r\n", b"working\r\n", more]  # type: ignore[index]
        h.hold.mark(late_t + 1, Mark("start", 0, command="sleep 5; echo )", late=True))
        assert isinstance(h.stream[-1], CommandStart) and h.stream[-1].t == late_t + 1  # where it was written


def test_a_command_running_has_its_batches_passed_whole_and_the_end_flushes() -> None:
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"$ cat\r\n")
    h.hold.mark(2, Mark("start", 0, command="cat"))
    assert not h.hold.active
    h.hold.output_batch(b"abc", [(1, 3), (3, 4)])
    assert h.stream[-1] == ("batch", b"abc")
    h.hold.mark(5, Mark("end", 0, exit_status=0))
    h.hold.output(6, b"$ x\r\n")
    h.hold.output_batch(b"yz", [(1, 7), (2, 8)])  # at the prompt: held read by read
    h.hold.flush()
    assert h.stream[-2:] == [("out", 7, b"y"), ("out", 8, b"z")]


def test_giving_up_lets_the_held_output_go_in_order_and_holds_no_more() -> None:
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"$ echo )\r\n")
    h.hold.output(2, b"bash: syntax error\r\n")
    h.hold.give_up()  # a resize is written now
    assert h.stream[-1] == ("out", 2, b"bash: syntax error\r\n")
    h.hold.output(3, b"more\r\n")
    assert h.stream[-1] == ("out", 3, b"more\r\n")
    h.hold.mark(4, Mark("start", 0, command="echo )", late=True))
    assert h.stream[-1] == CommandStart(t=4, id=1, command="echo )", cwd="")


def test_an_empty_line_is_a_prompt_of_its_own_and_the_next_late_start_still_finds_its_output() -> None:
    """Enter on an empty line: bash's precmd writes an end with no command open, at a new prompt (unlike zsh's
    padding end, which comes before the late start of the same line)."""
    h = Held()
    h.hold.mark(0, Mark("end", 0, exit_status=0))
    h.hold.output(1, b"$ \r\n")
    h.hold.mark(2, Mark("end", 0, exit_status=0))
    h.hold.output(3, b"$ echo )\r\nbash: syntax error\r\n")
    h.hold.mark(4, Mark("start", 0, command="echo )", late=True))
    h.hold.mark(4, Mark("end", 0, exit_status=2))
    assert h.output_of(1) == b"bash: syntax error\r\n"
