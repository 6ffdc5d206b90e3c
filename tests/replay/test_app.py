"""The replay app, driven headless with Pilot: every key and mouse action."""

from __future__ import annotations

import dataclasses
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from replay_sessions import SECOND, SessionBuilder, build_demo, write_session
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from conftest import wait_until
from tracer.errors import SessionError
from tracer.model import Command, CommandEnd, CommandStart, Event, FileChange, Note, Session
from tracer.replay import ReplayApp
from tracer.replay.source import MemorySource
from tracer.replay.widgets import (
    CommandView,
    ConfirmDialog,
    DiffView,
    HelpScreen,
    NoteDialog,
    NotesPane,
    ScreenView,
    SearchBar,
    SeekBar,
    Timeline,
    VerifyPanel,
)

pytestmark = pytest.mark.timeout(60)

SIZE = (120, 40)


async def ready(app: ReplayApp, pilot: Pilot[None]) -> None:
    await wait_until(pilot, lambda: app.ready and app.keyframes is not None and app.keyframes.complete)
    await pilot.pause()


def screen_lines(app: ReplayApp) -> list[str]:
    return app.query_one(ScreenView).plain_lines


def command(session: Session, prefix: str, n: int = 0) -> Command:
    return [c for c in session.commands() if c.command.startswith(prefix)][n]


def active_view(app: ReplayApp) -> str:
    return app.query_one(TabbedContent).active


async def test_opens_at_the_first_command_with_the_timeline(demo_session: Session, backend: str) -> None:
    app = ReplayApp(demo_session, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert app.keyframes is not None and app.keyframes.backend == backend
        assert [i.kind for i in app.items] == [
            "command",
            "command",
            "note",
            "command",
            "edit",
            "command",
            "patch",
        ]
        # not the blank screen of 0:00.0, before the shell's first prompt: the first command, as → would show it
        first = demo_session.commands()[0]
        assert app.position == first.start
        assert screen_lines(app)[0] == "dev@box:~/slugify$ ls --color"
        assert app.query_one(Timeline).selected == 0
        assert app.query_one(CommandView).command_id == first.id
        await pilot.press("home")
        assert app.position == 0
        assert all(line == "" for line in screen_lines(app))
        assert app.sub_title == "2026-11-21T10-30-00-8f3a — fix slugify"
        assert not app.query_one("#banner").has_class("-shown")


async def test_a_session_without_commands_opens_at_its_end(tmp_path: Path) -> None:
    """An output-only recording (a shell tracer has no integration for) has no row to open at: its end is shown."""
    b = SessionBuilder(40, 10).output(b"$ ").output(b"make\r\nbuilt 3 targets\r\n$ ", after=2.0).end()
    b.header = dataclasses.replace(b.header, shell="/bin/ksh", shell_kind="other")
    app = ReplayApp(b.session())
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert app.items == []
        assert app.position == app.duration
        assert screen_lines(app)[:3] == ["$ make", "built 3 targets", "$"]


async def test_a_one_command_session_opens_at_the_end_of_its_command(tmp_path: Path) -> None:
    """``tracer shell -c``: the command starts before anything is on the screen; it opens on the screen it left."""
    b = SessionBuilder(40, 10)
    b.header = dataclasses.replace(b.header, mode="command")
    b.events.append(CommandStart(t=0, id=1, command="pytest -q", cwd="/home/dev/slugify"))
    b.output(b"F.\r\n1 failed, 1 passed\r\n", after=0.5)
    b.wait(0.1)
    b.events.append(CommandEnd(t=b.t, id=1, exit_status=1, cwd="/home/dev/slugify"))
    end = b.t
    app = ReplayApp(b.end(1).session())
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert app.position == end
        assert screen_lines(app)[:2] == ["F.", "1 failed, 1 passed"]
        assert app.query_one(Timeline).selected == 0
        assert app.query_one(CommandView).command_id == 1


class HeldSource(MemorySource):
    """A session read only once the test lets it be (a large file, as the user presses keys meanwhile)."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.release = threading.Event()

    def scan(self, progress: Any = None, cancelled: Any = lambda: False) -> Any:
        assert self.release.wait(30)
        return super().scan(progress, cancelled)


async def test_end_pressed_while_the_session_is_read_wins_over_the_first_command(demo_session: Session) -> None:
    source = HeldSource(demo_session)
    app = ReplayApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")  # the session is still being read
        assert not app.ready
        source.release.set()
        await ready(app, pilot)
        assert app.position == app.duration
        assert any("中文 ok" in line for line in screen_lines(app))


async def test_next_and_previous_command(demo_session: Session, backend: str) -> None:
    app = ReplayApp(demo_session, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        starts = [c.start for c in demo_session.commands()]
        assert app.position == starts[0]  # where it opens
        await pilot.press("right")
        assert app.position == starts[1]
        await pilot.press("left")
        assert app.position == starts[0]
        assert screen_lines(app)[0] == "dev@box:~/slugify$ ls --color"
        await pilot.press("right", "right")
        assert app.position == starts[2]
        assert "E       AssertionError: assert '' == 'unicode'" in screen_lines(app)
        assert app.query_one(Timeline).current == 3  # the row of the third command
        await pilot.press("left")
        assert app.position == starts[1]
        await pilot.press("end")
        assert app.position == app.duration
        assert any("中文 ok" in line for line in screen_lines(app))
        await pilot.press("home")
        assert app.position == 0
        await pilot.press("shift+right")
        assert app.position == 5 * SECOND
        await pilot.press("shift+left")
        assert app.position == 0


async def test_alternate_screen_of_a_full_screen_program(demo_session: Session, backend: str) -> None:
    app = ReplayApp(demo_session, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        vim = command(demo_session, "vim")
        assert vim.end is not None
        app.set_position(vim.start + SECOND // 2)  # after both vim chunks, before it leaves
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0] == "import re"
        assert lines[1] == "import unicodedata"
        assert lines[23] == "-- INSERT --"
        assert "alternate screen" in str(app.query_one(ScreenView).border_title)
        app.set_position(vim.end)
        await pilot.pause()
        assert "dev@box:~/slugify$ vim slugify/core.py" in screen_lines(app)
        assert "alternate screen" not in str(app.query_one(ScreenView).border_title)


async def test_play_pause_speed_and_idle_cap(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("space")
        assert app.player.playing
        await wait_until(pilot, lambda: app.position > 0)
        await pilot.press("space")
        assert not app.player.playing
        stopped = app.position
        await pilot.pause(0.1)
        assert app.position == stopped

        for key, speed in [
            ("]", 2.0),
            ("]", 4.0),
            ("[", 2.0),
            ("minus", 1.0),
            ("plus", 2.0),
            ("equals_sign", 4.0),
        ]:
            await pilot.press(key)
            assert app.player.speed == speed
        for _ in range(6):
            await pilot.press("]")
        assert app.player.speed == 16.0
        for _ in range(9):
            await pilot.press("[")
        assert app.player.speed == 0.25

        caps = []
        for _ in range(5):
            await pilot.press("i")
            caps.append(app.player.idle_cap)
        assert caps == [5.0, None, 0.5, 1.0, 2.0]


async def test_idle_time_cap_skips_long_pauses(demo_session: Session) -> None:
    app = ReplayApp(demo_session, idle_time_limit=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        times = app.player.times
        gap = max(range(1, len(times)), key=lambda i: times[i] - times[i - 1])
        before, after = times[gap - 1], times[gap]
        assert after - before > 9 * SECOND
        app.set_position(before + round(1.95 * SECOND))
        app.player.playing = True
        app.player._last_tick = time.monotonic() - 0.1  # one frame of 0.1 s
        app.player.tick()
        assert app.position >= after  # the rest of the 10 s pause is skipped
        app.player.playing = False

        await pilot.press("i", "i")  # 2 s -> 5 s -> off
        assert app.player.idle_cap is None
        app.set_position(before + round(1.95 * SECOND))
        app.player.playing = True
        app.player._last_tick = time.monotonic() - 0.1
        app.player.tick()
        assert before + 2 * SECOND <= app.position < before + 3 * SECOND
        app.player.playing = False


async def test_playback_stops_at_the_end(demo_session: Session) -> None:
    app = ReplayApp(demo_session, speed=16.0)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        app.set_position(app.duration - SECOND // 2)
        await pilot.press("space")
        await wait_until(pilot, lambda: not app.player.playing)
        assert app.position == app.duration
        app.player.speed = 0.25
        await pilot.press("space")  # at the end, play starts over
        assert app.player.playing
        assert app.position < SECOND


async def test_seek_bar_click_and_drag(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        bar = app.query_one(SeekBar)
        width = bar.content_region.width
        await pilot.click("#seekbar", offset=(1 + width // 2, 1))
        await pilot.pause()
        assert app.position == bar.t_at(width // 2)
        assert abs(app.position - app.duration / 2) < app.duration / width + 1

        await pilot.mouse_down("#seekbar", offset=(1 + 10, 1))
        await pilot.pause()
        assert app.position == bar.t_at(10)
        await pilot.hover("#seekbar", offset=(1 + 30, 1))
        await pilot.pause()
        assert app.position == bar.t_at(30)
        await pilot.mouse_up("#seekbar", offset=(1 + 40, 1))
        await pilot.pause()
        assert app.position == bar.t_at(40)
        await pilot.hover("#seekbar", offset=(1 + 50, 1))  # released: moving no longer seeks
        await pilot.pause()
        assert app.position == bar.t_at(40)
        marks = bar.render().plain.split("\n")[0]
        assert "✗" in marks and "✎" in marks and "●" in marks and "╷" in marks


async def test_timeline_click_goes_to_the_edit_and_shows_its_diff(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        row = next(i for i, item in enumerate(app.items) if item.kind == "edit")
        await pilot.click("#timeline", offset=(5, row))
        await pilot.pause()
        edit = demo_session.file_changes()[0]
        assert app.position == edit.t
        assert active_view(app) == "tab-diff"
        diff = app.query_one(DiffView).plain_lines
        assert "+import unicodedata" in diff
        assert diff[0].startswith("✎ slugify/core.py")
        assert app.query_one(Timeline).selected == row


async def test_timeline_keys_select_then_enter_seeks(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        timeline = app.query_one(Timeline)
        assert app.focused is timeline
        assert timeline.selected == 0  # it opens at the first command
        await pilot.press("down")
        assert timeline.selected == 1
        assert app.position == app.items[0].t  # selecting only shows; enter goes there
        view = app.query_one(CommandView)
        assert view.command_id == 2
        await pilot.press("enter")
        assert app.position == app.items[1].t
        await pilot.press("ctrl+end")
        assert timeline.selected == len(app.items) - 1
        await pilot.press("enter")
        assert active_view(app) == "tab-diff"  # the last row is the final patch
        assert "━━ slugify/core.py  +2 −0" in app.query_one(DiffView).plain_lines
        await pilot.press("ctrl+home", "pagedown")
        assert timeline.selected == len(app.items) - 1


async def test_the_final_patch_names_a_few_omitted_files_and_counts_the_rest(demo_session: Session) -> None:
    """A session from elsewhere may list thousands of omitted files: the title names three."""
    from tracer.model import FinalPatch

    events = [
        dataclasses.replace(e, omitted=tuple(f"data/{i}.bin: untracked, 9 bytes" for i in range(5000)))
        if isinstance(e, FinalPatch)
        else e
        for e in demo_session.events
    ]
    app = ReplayApp(dataclasses.replace(demo_session, events=events))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+end", "enter")
        title = app.query_one(DiffView).plain_lines[0]
        assert "omitted: data/0.bin: untracked, 9 bytes, data/1.bin" in title
        assert title.endswith("… and 4997 more") and "data/3.bin" not in title


async def test_the_start_state_is_the_first_row_and_shows_its_diff(demo_session: Session) -> None:
    """The uncommitted changes the session started with (and what the start state left out) are the first row;
    the replay still opens at the first command."""
    from tracer.replay.widgets._timeline import render_item

    baseline = "diff --git a/wip.txt b/wip.txt\n--- a/wip.txt\n+++ b/wip.txt\n@@ -1 +1,2 @@\n a\n+half done\n"
    header = dataclasses.replace(
        demo_session.header, baseline_patch=baseline, baseline_omitted=("data/: untracked, 2 files, 9 bytes; …",)
    )
    app = ReplayApp(dataclasses.replace(demo_session, header=header))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        timeline = app.query_one(Timeline)
        assert app.items[0].kind == "start" and timeline.selected == 1  # it opens at the first command
        assert timeline.render_line(0).text.strip().startswith("± start state: 1 file uncommitted")
        assert render_item(app.items[0], 80).plain == "  0:00.0 ± start state: 1 file uncommitted  +1 −0  1 left out"
        await pilot.press("ctrl+home", "enter")
        assert active_view(app) == "tab-diff"
        lines = app.query_one(DiffView).plain_lines
        assert lines[0].startswith("± start state  1 file uncommitted at start, beside the start commit")
        assert "omitted: data/: untracked, 2 files, 9 bytes; …" in lines[0]
        assert "+half done" in lines


async def test_a_start_state_of_thousands_of_files_shows_its_first_ones(
    demo_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start state of 15,832 untracked files (3.2 million lines of diff) held the replay for minutes when its row
    was selected: every line was rendered at once. The diff view shows the first files and says what is left."""
    from tracer.replay import diffs

    monkeypatch.setattr(diffs, "SHOWN_LINES", 2000)
    one = "diff --git a/d/{0}.txt b/d/{0}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/d/{0}.txt\n@@ -0,0 +1,20 @@\n"
    baseline = "".join(one.format(i) + "+row\n" * 20 for i in range(10_000))  # 250,000 lines
    header = dataclasses.replace(demo_session.header, baseline_patch=baseline)
    app = ReplayApp(dataclasses.replace(demo_session, header=header))
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert app.query_one(Timeline).render_line(0).text.strip().startswith("± start state: 10000 files")
        await pilot.press("ctrl+home", "enter")
        assert active_view(app) == "tab-diff"
        lines = app.query_one(DiffView).plain_lines
        assert len(lines) < 2200 and lines[-1].startswith("… 248,000 more lines (9,920 more files) not shown")
        await pilot.press("end")  # and it still takes keys
        await pilot.press("q")


async def test_command_view_keeps_colours(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("right", "2")  # from the first command, where it opens, to the second
        assert active_view(app) == "tab-output"
        view = app.query_one(CommandView)
        assert view.command_id == 2
        lines = view.plain_lines
        assert "E       AssertionError: assert '' == 'unicode'" in lines
        title = view.get_line(0).plain
        assert title.startswith("✗ exit 1")
        assert "pytest -q" in title
        failed_line = view.get_line(1 + lines.index("E       AssertionError: assert '' == 'unicode'"))
        red = [span for span in failed_line.spans if span.style and str(span.style).find("#cd0000") >= 0]
        assert red, failed_line.spans  # xterm's red, not the theme's
        # The command's output stays whole after the screen moved on (the selection follows the moment).
        await pilot.press("end")
        assert app.query_one(CommandView).command_id == 2
        assert app.query_one(CommandView).plain_lines == lines


async def test_views_keys_and_zoom(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        for key, tab in [("2", "output"), ("3", "diff"), ("4", "verify"), ("1", "screen")]:
            await pilot.press(key)
            assert active_view(app) == f"tab-{tab}"
        await pilot.press("z")
        assert app.screen.maximized is not None
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_next_and_previous_edit_and_note(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        edit = demo_session.file_changes()[0]
        note = demo_session.notes()[0]
        await pilot.press("c")
        assert app.position == edit.t
        assert active_view(app) == "tab-diff"
        await pilot.press("C")
        assert app.position == edit.t  # no earlier edit: stays
        await pilot.press("M")
        assert app.position == note.t
        await pilot.press("home", "m")
        assert app.position == note.t
        assert app.query_one(NotesPane).current == note


async def test_add_edit_and_delete_notes_through_append(demo_session: Session, appended: list[Event]) -> None:
    app = ReplayApp(demo_session, append=appended.extend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        vim = command(demo_session, "vim")
        assert vim.end is not None
        moment = vim.start + 100_000
        app.set_position(moment)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press(*"tried NFKD")
        await pilot.press("tab", "down", "down", "space")  # tick "fix" (tab list: hypothesis, dead-end, fix)
        await pilot.click("#note-tags")
        await pilot.press(*"unicode")
        await pilot.click("#note-save")
        await wait_until(pilot, lambda: not isinstance(app.screen, NoteDialog))

        assert len(appended) == 1
        note = appended[0]
        assert isinstance(note, Note)
        assert note.text == "tried NFKD"
        assert note.tags == ("fix", "unicode")
        assert note.source == "replay"
        assert re.fullmatch(r"[0-9a-f]{32}", note.id)
        assert note.written_at is not None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", note.written_at)
        assert note.t == moment
        assert note.command_id == vim.id
        assert note.replaces is None and not note.deleted
        assert [n.text for n in app.notes] == [demo_session.notes()[0].text, "tried NFKD"]
        assert app.query_one(NotesPane).current == note
        assert any(item.ref == note for item in app.items)

        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press("ctrl+a", "ctrl+k", *"NFKD works", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, NoteDialog))
        edited = appended[1]
        assert isinstance(edited, Note)
        assert edited.replaces == note.id and edited.text == "NFKD works" and edited.t == note.t
        assert edited.tags == ("fix", "unicode")
        assert [n.text for n in app.notes] == [demo_session.notes()[0].text, "NFKD works"]

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "NFKD works" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await wait_until(pilot, lambda: len(appended) == 3)
        tombstone = appended[2]
        assert isinstance(tombstone, Note)
        assert tombstone.deleted and tombstone.replaces == edited.id and tombstone.text == ""
        assert [n.text for n in app.notes] == [demo_session.notes()[0].text]
        assert not any(isinstance(item.ref, Note) and item.ref.id == edited.id for item in app.items)


async def test_notes_selected_in_the_timeline_are_edited(demo_session: Session, appended: list[Event]) -> None:
    app = ReplayApp(demo_session, append=appended.extend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        row = next(i for i, item in enumerate(app.items) if item.kind == "note")
        app.query_one(Timeline).select(row)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, NoteDialog))
        assert appended == []
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # no: nothing is deleted
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert appended == []
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(appended))
        assert isinstance(appended[0], Note) and appended[0].replaces == "n1" and appended[0].deleted
        assert app.notes == []


async def test_a_failing_append_is_shown_and_nothing_changes(demo_session: Session) -> None:
    def failing(events: list[Event]) -> None:
        raise SessionError("session file demo.tracer cannot be written: disk full; free some space")

    app = ReplayApp(demo_session, append=failing)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press(*"lost", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, NoteDialog))
        await pilot.pause()
        assert [n.text for n in app.notes] == [demo_session.notes()[0].text]
        assert any("disk full" in n.message for n in app._notifications)
        assert app.is_running


async def test_empty_note_is_refused_and_read_only_replay_has_no_notes(demo_session: Session) -> None:
    app = ReplayApp(demo_session, append=None)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, NoteDialog)
    appended: list[Event] = []
    app = ReplayApp(demo_session, append=appended.extend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, NoteDialog))
        await pilot.press("enter")
        assert isinstance(app.screen, NoteDialog)
        assert "needs some text" in str(app.screen.query_one("#note-error").render())
        await pilot.press("escape")
        assert appended == []


async def test_search_output_and_command_lines(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"assertionerror", "enter")  # typed once; later searches set the text directly
        bar = app.query_one(SearchBar)
        # the hit is shown everywhere once the search is over: the moment, the output view, the status line
        await wait_until(
            pilot,
            lambda: (
                bar.done >= 1.0
                and len(app.hits) == 1
                and app.position == app.hits[0].t
                and app.query_one(CommandView).command_id == 2
                and "1/1" in str(app.query_one("#status").render())
            ),
        )
        hit = app.hits[0]
        assert hit.where == "output" and hit.command_id == 2
        assert hit.line == "E       AssertionError: assert '' == 'unicode'"
        assert app.position == hit.t
        assert any("AssertionError" in line for line in screen_lines(app))
        failing_row = next(i for i, it in enumerate(app.items) if isinstance(it.ref, Command) and it.ref.id == 2)
        assert app.query_one(Timeline).hit == failing_row
        status = str(app.query_one("#status").render())
        assert "1/1" in status and "AssertionError" in status
        # highlighted on the screen and in the command's output
        line = next(
            ln for ln in (app.query_one(ScreenView).get_line(i) for i in range(24)) if "AssertionError" in ln.plain
        )
        assert any(span.style and "e3b341" in str(span.style) for span in line.spans)

        await search(app, pilot, "pytest")
        await wait_until(pilot, lambda: app.search_query == "pytest" and app.query_one(SearchBar).done >= 1.0)
        # both command lines, and their echo as the shell printed it
        assert sorted(h.where for h in app.hits) == ["command", "command", "output", "output"]
        first = app.hit_index
        await pilot.press("n")
        assert first is not None
        assert app.hit_index == (first + 1) % 4
        await pilot.press("n", "n", "n")
        assert app.hit_index == first
        await pilot.press("N")
        assert app.position == app.hits[app.hit_index or 0].t

        await search(app, pilot, "no such text")
        await wait_until(pilot, lambda: app.search_query == "no such text" and app.query_one(SearchBar).done >= 1.0)
        assert app.hits == []
        await wait_until(pilot, lambda: "No match" in str(app.query_one("#status").render()))
        await pilot.press("slash", "escape")
        assert app.focused is app.query_one(Timeline)


async def search(app: ReplayApp, pilot: Pilot[None], text: str) -> None:
    await pilot.press("slash")
    app.query_one(SearchBar).value = text
    await pilot.press("enter")


async def test_verify_passes_and_fails(demo_session: Session, verify_script: Callable[..., list[str]]) -> None:
    for status, verdict, line in [(0, "passed", "3 passed"), (1, "failed", "1 failed")]:
        app = ReplayApp(demo_session, verify_argv=verify_script(status))
        async with app.run_test(size=SIZE) as pilot:
            await ready(app, pilot)
            await pilot.press("v")
            assert active_view(app) == "tab-verify"
            await wait_until(pilot, lambda app=app: _verdict(app) not in (None, "running"))
            assert app.replay_verdict is not None
            assert app.replay_verdict.verdict == verdict
            assert app.replay_verdict.exit_status == status
            panel = app.query_one(VerifyPanel)
            assert panel.lines_written[0] == "running tests"
            assert line in panel.lines_written[1]
            assert app.items[-1].kind == "verify"
            assert app.items[-1].ref == app.replay_verdict


def _verdict(app: ReplayApp) -> str | None:
    return None if app.replay_verdict is None else app.replay_verdict.verdict


async def test_verify_without_a_command_says_so(demo_session: Session) -> None:
    app = ReplayApp(demo_session, verify_argv=None)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("v")
        await pilot.pause()
        assert app.replay_verdict is None
        assert any("not available" in n.message for n in app._notifications)


async def test_quitting_during_verify_kills_its_process_group(demo_session: Session, tmp_path: Path) -> None:
    script = tmp_path / "slow_verify.py"
    script.write_text(
        "import subprocess, sys\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print('child', child.pid, flush=True)\n"
        "child.wait()\n"
    )
    app = ReplayApp(demo_session, verify_argv=[sys.executable, str(script)])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("v")
        panel = app.query_one(VerifyPanel)
        await wait_until(pilot, lambda: any(line.startswith("child ") for line in panel.lines_written))
        assert app.verify_process is not None
        parent = psutil.Process(app.verify_process.pid)
        child = psutil.Process(int(panel.lines_written[0].split()[1]))
        assert child.is_running()
        await pilot.press("q")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.02)  # the kill is immediate; this only waits for the kernel to reap
    assert not _alive(child)
    assert not _alive(parent)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_help_lists_every_key(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        descriptions = [d for _, d in screen.rows]
        for binding in app.BINDINGS:
            assert getattr(binding, "description", None) in descriptions
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_the_actions(demo_session: Session) -> None:
    app = ReplayApp(demo_session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Play", "Next command", "Next edit", "Next note", "Search", "Verify", "Note"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"next edit")
        await wait_until(pilot, lambda: _palette_shows(app, "Next edit"), timeout=5)
        await pilot.press("enter")
        edit = demo_session.file_changes()[0]
        await wait_until(pilot, lambda: app.position == edit.t)


def _palette_shows(app: ReplayApp, title: str) -> bool:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    if not lists:
        return False
    options = lists.first()
    return options.option_count > 0 and title in str(options.get_option_at_index(0).prompt)


async def test_interrupted_recording_shows_a_banner() -> None:
    session = build_demo(interrupted=True).session()
    assert session.interrupted
    app = ReplayApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        banner = app.query_one("#banner")
        assert banner.has_class("-shown")
        assert "interrupted" in str(banner.render())
        unfinished = app.items[-1].ref
        assert isinstance(unfinished, Command) and unfinished.exit_status is None
        await pilot.press("end")
        assert "zzz" in screen_lines(app)


async def test_a_session_being_recorded_says_so_not_that_it_was_interrupted() -> None:
    saved: list[object] = []
    app = ReplayApp(build_demo(interrupted=True).session(), append=saved.extend, recording=4242)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        text = str(app.query_one("#banner").render())
        assert "being recorded now (tracer pid 4242)" in text and "interrupted" not in text
        await pilot.press("a")  # no dialog to type into: it says at once why, and where notes go now
        await pilot.pause()
        assert any("`tracer note` in its shell" in n.message for n in app._notifications)
        assert len(app.screen_stack) == 1 and saved == []


async def test_damaged_session_file_shows_where_it_broke() -> None:
    problem = "session file demo.tracer is corrupt at byte 81920 (frame 12 does not decode)"
    session = build_demo(interrupted=True).session(problem=problem)
    app = ReplayApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        text = str(app.query_one("#banner").render())
        assert "byte 81920" in text


async def test_many_commands_open_and_scroll(backend: str) -> None:
    b = SessionBuilder(80, 24)
    for i in range(3000):
        b.command(f"echo {i}", [f"{i}\r\n".encode()], status=i % 7 == 0, step=0.01)
    b.end()
    app = ReplayApp(b.session(), backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert len(app.items) == 3000
        await pilot.press("ctrl+end")
        await pilot.pause()
        timeline = app.query_one(Timeline)
        assert timeline.selected == 2999
        assert timeline.scroll_y > 2900
        await pilot.press("enter")
        assert "dev@box:~/slugify$ echo 2999" in screen_lines(app)


async def test_resize_event_changes_the_screen_size(backend: str) -> None:
    b = SessionBuilder(40, 10)
    b.output(b"small\r\n")
    b.resize(100, 30)
    b.output(b"wide " * 19 + b"end\r\n")
    b.end()
    app = ReplayApp(b.session(), backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("end")
        assert str(app.query_one(ScreenView).border_title).startswith("100×30")
        assert len(screen_lines(app)) == 30
        assert screen_lines(app)[1].endswith("wide end")


async def test_a_bare_exit_shows_the_status_it_carried_as_no_failure_of_its_own() -> None:
    """A bare ``exit`` after a failure ends with that failure's status: its row and its title say the status, not
    "exit 0", and mark it neither as a success nor as a failure."""
    from tracer.replay.timeline import Item
    from tracer.replay.widgets import render_item

    b = SessionBuilder()
    b.prompt()
    b.command("false", [], status=1)
    b.command("exit", [b"exit\r\n"], status=1)
    session = b.session()
    false, bare = session.commands()
    assert (false.failed, bare.failed) == (True, False)
    assert render_item(Item("command", bare.start, bare)).plain.split()[1:3] == ["↩", "1"]
    app = ReplayApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("end", "2")
        view = app.query_one(CommandView)
        assert view.command_id == bare.id
        assert view.get_line(0).plain.startswith("↩ exit 1, the status of the command before it")


def test_edit_rows_show_counts() -> None:
    from tracer.replay.timeline import Item
    from tracer.replay.widgets import render_item

    change = FileChange(t=2 * SECOND, path="a.py", op="modify", diff="", added=3, removed=1)
    assert render_item(Item("edit", change.t, change)).plain == "  0:02.0 ✎ a.py  +3 −1"


async def test_the_screen_follows_the_cursor_when_the_terminal_is_taller_than_the_view(backend: str) -> None:
    from tests.replay.replay_sessions import SessionBuilder

    b = SessionBuilder(cols=80, rows=60)
    b.prompt()
    b.command("seq 1 58", [b"".join(b"%d\r\n" % i for i in range(1, 59))])
    b.wait(1)
    session = b.session()
    app = ReplayApp(session, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("end")
        await pilot.pause()
        view = app.query_one(ScreenView)
        height = view.scrollable_content_region.height
        assert height < 60  # the view is shorter than the recorded terminal
        top = view.scroll_offset.y
        visible = view.plain_lines[top : top + height]
        assert "58" in visible and any(line.endswith("$") for line in visible)


async def test_keyframes_are_cached_for_the_next_open(demo_session: Session, tmp_path: Path) -> None:
    from tracer.replay.terminal import available_backends

    if "avt" not in available_backends():
        pytest.skip("the keyframe cache holds avt states")
    cache = tmp_path / "keyframes.msgpack"
    first = ReplayApp(demo_session, keyframe_cache=cache)
    async with first.run_test(size=SIZE) as pilot:
        await ready(first, pilot)
        await wait_until(pilot, cache.exists)
        await pilot.press("end")
        expected = screen_lines(first)
    second = ReplayApp(demo_session, keyframe_cache=cache)
    async with second.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: second.ready)
        assert second.keyframes is not None and second.keyframes.complete  # from the cache, no build
        assert second.keyframes.built == len(second.keyframes.stream)
        await pilot.press("end")
        assert screen_lines(second) == expected


async def test_after_verify_the_recorded_result_is_shown(demo_session: Session, tmp_path: Path) -> None:
    from tracer.model import VerifyResult

    path = write_session(demo_session, tmp_path / "demo.tracer")
    result = VerifyResult(
        t=demo_session.events[-1].t,
        verdict="resolved",
        command="pytest -q",
        exit_status=0,
        passed=3,
        verified_at="2099-01-01T00:00:00.000000Z",
    )
    script = tmp_path / "verify.py"  # a verify that appends its result to the session, as tracer verify does
    script.write_text(
        "import sys\n"
        "from tracer.model import event_from_dict\n"
        "from tracer.store import append_events\n"
        f"append_events(sys.argv[1], [event_from_dict({result.to_dict()!r})])\n"
        "print('3 passed')\n"
    )
    app = ReplayApp(path, verify_argv=[sys.executable, str(script), str(path)])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("v")
        await wait_until(pilot, lambda: _verdict(app) not in (None, "running"))
        assert app.replay_verdict is not None
        assert (app.replay_verdict.verdict, app.replay_verdict.detail) == ("resolved", "3 passed")
        assert app.replay_verdict.source == "replay"
