"""``tracer replay``: a Textual app that plays a recorded session back.

Layout: the timeline (commands, edits, notes, final patch, verdict) on the left; on the right the views
(Screen: the terminal at the current moment; Output: the selected command's output; Diff: the selected edit
or the final patch; Verify: a verify run's live output) above the notes near the current moment; the seek
bar and clock at the bottom.

The app reads the session it is given and writes only through ``append`` (new notes). Heavy work (pairing
commands, listing the output, building keyframes, search) runs in thread workers, so the first screen
shows at once even for a session with 100 MB of output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import threading
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from tracer.errors import TracerError
from tracer.model import Command, Event, FileChange, FinalPatch, Note, Session, utc_now
from tracer.replay.keyframes import KeyframeIndex, ScreenStream, Seeker
from tracer.replay.search import Hit, SessionSearch
from tracer.replay.timeline import (
    CommandIndex,
    Item,
    Verdict,
    build_items,
    current_index,
    format_clock,
    format_duration,
    index_commands,
    running_command,
)
from tracer.replay.widgets import (
    Clock,
    CommandView,
    DiffView,
    HelpScreen,
    NoteDialog,
    NoteDraft,
    NotesPane,
    ScreenView,
    SearchBar,
    SeekBar,
    Timeline,
    VerifyPanel,
)
from tracer.store.cache import load_cache, save_cache

#: Playback speeds offered by ``[``/``]`` (and ``-``/``+``).
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: Idle-time caps offered by ``i`` (seconds; ``None``: no cap).
IDLE_CAPS = (0.5, 1.0, 2.0, 5.0, None)
#: Playback frames per second.
_FPS = 30
#: Seconds moved by shift+←/→.
_JUMP = 5.0

AppendFn = Callable[[list[Event]], None]


class ReplayApp(App[None]):
    """Replays ``session``; notes added here are saved with ``append``; ``v`` runs ``verify_argv``.

    Args:
        session: the session read from its file (see :class:`tracer.model.Session`).
        append: appends events to the session file; may raise :class:`~tracer.errors.SessionError` (shown,
            never fatal). ``None``: the replay is read-only and notes cannot be added.
        verify_argv: the command ``v`` runs (e.g. ``[python, -m, tracer, verify, PATH]``): exit status 0
            means passed, 1 failed, anything else error. ``None``: no verify.
        backend: terminal emulator backend (``"avt"``, ``"pyte"``; ``None``: the fastest available).
        idle_time_limit: longest pause played back (seconds; ``None``: play pauses as recorded).
        speed: initial playback speed, one of :data:`SPEEDS`.
        keyframe_bytes: output bytes between keyframes (``None``: the backend's default).
    """

    TITLE = "tracer replay"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/pause"),
        Binding("left", "prev_command", "Prev command", key_display="←"),
        Binding("right", "next_command", "Next command", key_display="→"),
        Binding("shift+left", "jump(-1)", "Back 5 s", show=False),
        Binding("shift+right", "jump(1)", "Forward 5 s", show=False),
        Binding("home", "seek_start", "Start", show=False),
        Binding("end", "seek_end", "End", show=False),
        Binding("c", "next_edit", "Next edit", show=False),
        Binding("C", "prev_edit", "Prev edit", show=False),
        Binding("m", "next_note", "Next note", show=False),
        Binding("M", "prev_note", "Prev note", show=False),
        Binding("left_square_bracket,minus", "slower", "Slower", key_display="["),
        Binding("right_square_bracket,plus,equals_sign", "faster", "Faster", key_display="]"),
        Binding("i", "cycle_idle_cap", "Idle cap", show=False),
        Binding("a", "add_note", "Note"),
        Binding("e", "edit_note", "Edit note", show=False),
        Binding("d", "delete_note", "Delete note", show=False),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "next_hit", "Next hit", show=False),
        Binding("N", "prev_hit", "Prev hit", show=False),
        Binding("v", "verify", "Verify"),
        Binding("1", "show_view('screen')", "Screen", show=False),
        Binding("2", "show_view('output')", "Output", show=False),
        Binding("3", "show_view('diff')", "Diff", show=False),
        Binding("4", "show_view('verify')", "Verify log", show=False),
        Binding("z", "zoom", "Zoom view", show=False),
        Binding("question_mark", "help", "All keys", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    CSS = """
    #banner {
        height: auto;
        padding: 0 1;
        background: $warning 25%;
        color: $text;
        display: none;
    }
    #banner.-shown {
        display: block;
    }
    #main {
        height: 1fr;
    }
    #timeline {
        width: 32%;
        min-width: 30;
        max-width: 72;
        border-right: solid $primary 40%;
    }
    #right {
        width: 1fr;
    }
    #views {
        height: 1fr;
    }
    #views > ContentSwitcher {
        height: 1fr;
    }
    #views TabPane {
        padding: 0;
        height: 1fr;
    }
    #status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $panel;
    }
    #bar {
        height: 2;
    }
    """

    class KeyframesProgress(Message):
        """The keyframe build fed ``done`` of ``total`` output items."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    def __init__(
        self,
        session: Session,
        *,
        append: AppendFn | None = None,
        verify_argv: Sequence[str] | None = None,
        backend: str | None = None,
        idle_time_limit: float | None = 2.0,
        speed: float = 1.0,
        keyframe_bytes: int | None = None,
        keyframe_cache: Path | None = None,
        reload: Callable[[], Session] | None = None,
    ) -> None:
        super().__init__()
        self.keyframe_cache = keyframe_cache
        self._reload = reload
        self.session = session
        self._append = append
        self.verify_argv = list(verify_argv) if verify_argv is not None else None
        self.backend = backend
        self.keyframe_bytes = keyframe_bytes
        self.idle_cap: float | None = idle_time_limit
        self.speed = speed if speed in SPEEDS else 1.0
        self.interrupted = session.interrupted
        self.duration = round(session.duration * 1e6)
        self.position = 0
        self.playing = False
        self.ready = False

        self.commands: list[Command] = []
        self._command_index = CommandIndex([], {})
        self._command_starts: list[int] = []
        self._edits: list[FileChange] = []
        self._edit_times: list[int] = []
        self._note_events: list[Note] = session.of_type(Note)
        self.notes: list[Note] = Session(session.path, session.header, list(self._note_events)).notes()
        self.items: list[Item] = []
        self._item_times: list[int] = []
        self._stream: ScreenStream | None = None
        self.keyframes: KeyframeIndex | None = None
        self._seeker: Seeker | None = None
        self._seek_pending = False
        self._last_tick = 0.0
        self._follow = True

        self._search: SessionSearch | None = None
        self.search_query: str | None = None
        self.hits: list[Hit] = []
        self.hit_index: int | None = None

        self.replay_verdict: Verdict | None = None
        self.verify_process: subprocess.Popen[bytes] | None = None
        self._verify_lock = threading.Lock()

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        banner = self._banner_text()
        yield Static(banner, id="banner", classes="-shown" if banner else "")
        with Horizontal(id="main"):
            yield Timeline(id="timeline")
            with Vertical(id="right"):
                with TabbedContent(id="views", initial="tab-screen"):
                    with TabPane("Screen", id="tab-screen"):
                        yield ScreenView(id="screen")
                    with TabPane("Output", id="tab-output"):
                        yield CommandView(id="output")
                    with TabPane("Diff", id="tab-diff"):
                        yield DiffView(id="diff")
                    with TabPane("Verify", id="tab-verify"):
                        yield VerifyPanel(id="verify")
                yield NotesPane(id="notes")
        yield Static("", id="status")
        with Horizontal(id="bar"):
            yield SeekBar(id="seekbar")
            yield Clock(id="clock")
        yield SearchBar(id="search")
        yield Footer()

    def _banner_text(self) -> str:
        lines = []
        if self.interrupted:
            lines.append(
                "⚠ This recording was interrupted (it has no end mark): everything recorded up to "
                f"{format_clock(self.duration)} is shown."
            )
        if self.session.problem:
            lines.append(
                f"⚠ The session file is damaged: {self.session.problem}. Showing the "
                f"{len(self.session.events)} events read before that point."
            )
        return "\n".join(lines)

    def on_mount(self) -> None:
        header = self.session.header
        self.sub_title = header.session_id + (f" — {header.task}" if header.task else "")
        self.query_one(Timeline).focus()
        self.query_one(ScreenView).show([Text(" " * header.cols) for _ in range(header.rows)], None)
        self.query_one(SeekBar).set_marks(self.duration, [])
        self.query_one(NotesPane).set_notes(self.notes)
        self._update_clock()
        self._set_status("Loading session…")
        self._timer = self.set_interval(1 / _FPS, self._tick, name="playback", pause=True)
        self.call_after_refresh(self._load)  # the first frame is drawn before the heavy work starts

    # --- loading ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        index = index_commands(self.session.events)
        edits = self.session.file_changes()
        items = self._compute_items(index.commands, edits)
        stream = ScreenStream.from_events(self.session.header, self.session.events)
        keyframes = None
        if self.keyframe_cache is not None and self.backend in (None, "avt"):
            keyframes = KeyframeIndex.from_cache(stream, load_cache(self.keyframe_cache), self.keyframe_bytes)
        if keyframes is None:
            keyframes = KeyframeIndex(stream, self.backend, every_bytes=self.keyframe_bytes)
        self.call_from_thread(self._loaded, index, edits, items, stream, keyframes)

    def _loaded(
        self,
        index: CommandIndex,
        edits: list[FileChange],
        items: list[Item],
        stream: ScreenStream,
        keyframes: KeyframeIndex,
    ) -> None:
        self._command_index = index
        self.commands = index.commands
        self._command_starts = [c.start for c in self.commands]
        self._edits = edits
        self._edit_times = [e.t for e in edits]
        self._stream = stream
        self.keyframes = keyframes
        self._seeker = Seeker(keyframes)
        self._apply_items(items)
        self.ready = True
        self._set_status("")
        self.set_position(self.position)
        if not keyframes.complete:
            self.call_after_refresh(self._build_keyframes, keyframes)  # after the first screen is drawn

    @work(thread=True, exclusive=True, group="keyframes")
    def _build_keyframes(self, index: KeyframeIndex) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()

        def progress(done: int, total: int) -> None:
            if self._seek_pending or done == total:  # only a waiting seek needs to hear about it
                self.post_message(self.KeyframesProgress(done, total))

        # Sleeping 1 ms per 64 KiB (~3 ms of emulation) leaves the UI thread the GIL for its frames.
        index.build(cancelled=lambda: worker.is_cancelled, progress=progress, yield_every=0.001)
        if index.complete and self.keyframe_cache is not None:
            data = index.to_cache()
            if data is not None:
                save_cache(self.keyframe_cache, data)

    def on_replay_app_keyframes_progress(self, message: KeyframesProgress) -> None:
        if self._seek_pending:
            self._show_screen()

    def _compute_items(self, commands: list[Command], edits: list[FileChange]) -> list[Item]:
        verdict = self.replay_verdict
        if verdict is None and self.session.verify_result is not None:
            verdict = Verdict.from_result(self.session.verify_result)
        return build_items(commands, edits, self.notes, self.session.final_patch, verdict, self.duration)

    def _rebuild_items(self) -> None:
        self._apply_items(self._compute_items(self.commands, self._edits))

    def _apply_items(self, items: list[Item]) -> None:
        timeline = self.query_one(Timeline)
        selected = self.items[timeline.selected] if timeline.selected is not None and self.items else None
        self.items = items
        self._item_times = [item.t for item in items]
        timeline.placeholder = "Nothing was recorded." if not items else ""
        timeline.set_items(items)
        if selected is not None:
            same = [i for i, item in enumerate(items) if item.ref is selected.ref]
            if same:
                timeline.select(same[0], notify=False)
        marks: list[tuple[int, str]] = [(c.start, "failed" if c.failed else "command") for c in self.commands]
        marks += [(t, "edit") for t in self._edit_times]
        marks += [(n.t, "note") for n in self.notes]
        self.query_one(SeekBar).set_marks(self.duration, marks)
        self.query_one(NotesPane).set_notes(self.notes)
        timeline.set_current(current_index(items, self._item_times, self.position))

    # --- position -----------------------------------------------------------------------------------

    def set_position(self, t: int, *, follow: bool = True) -> None:
        """Go to moment ``t`` (microseconds since session start, clamped to the session)."""
        self.position = max(0, min(int(t), self.duration))
        self._show_screen()
        self.query_one(SeekBar).set_position(self.position)
        self.query_one(NotesPane).set_position(self.position)
        self._update_clock()
        timeline = self.query_one(Timeline)
        current = current_index(self.items, self._item_times, self.position)
        timeline.set_current(current)
        if follow and current is not None:
            timeline.select(current)

    def _show_screen(self) -> None:
        seeker, index = self._seeker, self.keyframes
        if seeker is None or index is None:
            return
        view = self.query_one(ScreenView)
        if not index.complete and seeker.cost(self.position) > 4 * index.every_bytes:
            self._seek_pending = True
            done = 100 * index.built // max(1, len(index.stream))
            view.border_title = f"indexing the output… {done}%  (the screen shows this moment when done)"
            return
        self._seek_pending = False
        terminal = seeker.seek(self.position)
        view.show(terminal.lines(), terminal.cursor)
        view.border_title = f"{terminal.cols}×{terminal.rows}" + (" · alternate screen" if terminal.alternate else "")

    def _update_clock(self) -> None:
        self.query_one(Clock).set_state(self.position, self.duration, self.playing, self.speed, self.idle_cap)

    def _set_status(self, text: str | Text) -> None:
        self.query_one("#status", Static).update(text)

    def on_seek_bar_seeked(self, message: SeekBar.Seeked) -> None:
        self.set_position(message.t)

    # --- playback -----------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if not self.playing or not self.ready:
            return
        target = self.position + elapsed * self.speed * 1e6
        stream = self._stream
        if self.idle_cap is not None and stream is not None and stream.times:
            times = stream.times
            i = bisect_right(times, self.position)
            previous = times[i - 1] if i > 0 else 0
            following = times[i] if i < len(times) else self.duration
            cap = self.idle_cap * 1e6
            if following - previous > cap and target > previous + cap:
                target = max(target, following)
        if target >= self.duration:
            target = self.duration
            self._set_playing(False)
        try:
            self.set_position(round(target))
        except NoMatches:  # the app is closing: its widgets are gone
            self._timer.stop()

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if playing:
            self._last_tick = time.monotonic()
            self._timer.resume()
        else:
            self._timer.pause()
        self._update_clock()

    def action_toggle_play(self) -> None:
        """Play or pause (at the end, play starts again from the beginning)."""
        if not self.playing and self.position >= self.duration:
            self.set_position(0)
        self._set_playing(not self.playing)

    def action_faster(self) -> None:
        """Double the playback speed (up to 16×)."""
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[min(i + 1, len(SPEEDS) - 1)]
        self._update_clock()

    def action_slower(self) -> None:
        """Halve the playback speed (down to 0.25×)."""
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 2
        self.speed = SPEEDS[max(i - 1, 0)]
        self._update_clock()

    def action_cycle_idle_cap(self) -> None:
        """Next idle-time cap: 0.5 s, 1 s, 2 s, 5 s, off."""
        i = IDLE_CAPS.index(self.idle_cap) if self.idle_cap in IDLE_CAPS else 1
        self.idle_cap = IDLE_CAPS[(i + 1) % len(IDLE_CAPS)]
        self._update_clock()

    def action_seek_start(self) -> None:
        """Go to the start."""
        self.set_position(0)

    def action_seek_end(self) -> None:
        """Go to the end."""
        self.set_position(self.duration)

    def action_jump(self, direction: int) -> None:
        """Move 5 s back (``-1``) or forward (``1``)."""
        self.set_position(self.position + direction * round(_JUMP * 1e6))

    def _step(self, times: list[int], forward: bool, what: str) -> None:
        if forward:
            i = bisect_right(times, self.position)
            if i < len(times):
                self.set_position(times[i])
                return
        else:
            i = bisect_left(times, self.position) - 1
            if i >= 0:
                self.set_position(times[i])
                return
        self.notify(f"No {'next' if forward else 'previous'} {what}.", timeout=2)

    def action_next_command(self) -> None:
        """Go to the start of the next command."""
        self._step(self._command_starts, True, "command")

    def action_prev_command(self) -> None:
        """Go to the start of the previous command."""
        self._step(self._command_starts, False, "command")

    def action_next_edit(self) -> None:
        """Go to the next edit and show its diff."""
        self._step(self._edit_times, True, "edit")
        self._show_selected_diff()

    def action_prev_edit(self) -> None:
        """Go to the previous edit and show its diff."""
        self._step(self._edit_times, False, "edit")
        self._show_selected_diff()

    def _show_selected_diff(self) -> None:
        timeline = self.query_one(Timeline)
        if timeline.selected is not None and self.items[timeline.selected].kind in ("edit", "patch"):
            self.action_show_view("diff")

    def action_next_note(self) -> None:
        """Go to the next note."""
        self._step([n.t for n in self.notes], True, "note")

    def action_prev_note(self) -> None:
        """Go to the previous note."""
        self._step([n.t for n in self.notes], False, "note")

    # --- timeline and views -------------------------------------------------------------------------

    def on_timeline_selected(self, message: Timeline.Selected) -> None:
        self._show_item(message.item)

    def on_timeline_activated(self, message: Timeline.Activated) -> None:
        item = message.item
        self.set_position(item.t, follow=False)
        self.query_one(Timeline).select(message.index, notify=False)
        self._show_item(item)
        if item.kind in ("edit", "patch"):
            self.action_show_view("diff")
        elif item.kind == "verify":
            self.action_show_view("verify")

    def _show_item(self, item: Item) -> None:
        ref = item.ref
        if isinstance(ref, Command):
            self._show_command(ref)
        elif isinstance(ref, FileChange):
            title = Text.assemble(
                ("✎ ", "bold #d2a8ff"),
                (ref.path, "bold"),
                f"  {ref.op} at {format_clock(ref.t)}",
                (f"  +{ref.added}", "bold #56d364"),
                (f" −{ref.removed}", "bold #f85149"),
            )
            empty = "(binary file: no text diff)" if ref.binary else "(no text diff recorded)"
            if ref.oversized:
                empty = f"(file over the size limit: {ref.size} bytes, no diff recorded)"
            self.query_one(DiffView).show(title, ref.diff, empty)
        elif isinstance(ref, FinalPatch):
            title = Text.assemble(("± final patch", "bold #d2a8ff"), f"  {len(ref.files)} files")
            if ref.omitted:
                title.append("  omitted: " + ", ".join(ref.omitted), "#f85149")
            self.query_one(DiffView).show(title, ref.patch, "(nothing changed)")
        elif isinstance(ref, Note) and ref.command_id is not None:
            for c in self.commands:
                if c.id == ref.command_id:
                    self._show_command(c)
                    break

    def _show_command(self, command: Command) -> None:
        view = self.query_one(CommandView)
        if view.command_id == command.id:
            return
        title = Text(no_wrap=True, end="")
        if command.exit_status is None:
            title.append("… ", "bold #e3b341")
        elif command.failed:
            title.append(f"✗ exit {command.exit_status} ", "bold #f85149")
        else:
            title.append("✓ exit 0 ", "bold #56d364")
        title.append(f"{format_duration(command.duration)}  ", "#8b949e")
        title.append(f"{command.cwd} $ ", "#8b949e")
        title.append(command.command.replace("\n", " ⏎ "), "bold")
        view.show(command.id, title, self.command_output(command))
        self._highlight_hit_in_output()

    def command_output(self, command: Command) -> bytes:
        """The bytes ``command`` printed (gathered from the events when asked: the timeline's commands carry
        none, so that opening a 100 MB session copies nothing)."""
        return command.output or self._command_index.output(self.session.events, command.id)

    def action_show_view(self, view: str) -> None:
        """Show one of the views: ``screen``, ``output``, ``diff`` or ``verify``."""
        self.query_one(TabbedContent).active = f"tab-{view}"

    def action_zoom(self) -> None:
        """Give the current view the whole window, or give it back."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        active = self.query_one(TabbedContent).active
        widget = {
            "tab-screen": ScreenView,
            "tab-output": CommandView,
            "tab-diff": DiffView,
            "tab-verify": VerifyPanel,
        }.get(active)
        if widget is not None:
            self.screen.maximize(self.query_one(widget))

    # --- notes --------------------------------------------------------------------------------------

    def _selected_note(self) -> Note | None:
        timeline = self.query_one(Timeline)
        if timeline.selected is not None and self.items and self.items[timeline.selected].kind == "note":
            ref = self.items[timeline.selected].ref
            assert isinstance(ref, Note)
            return ref
        return self.query_one(NotesPane).current

    def action_add_note(self) -> None:
        """Write a note at the current moment (saved into the session)."""
        if self._append is None:
            self.notify("This replay is read-only: notes cannot be saved.", severity="warning")
            return
        t = self.position
        running = running_command(self.commands, self._command_starts, t)

        def save(draft: NoteDraft | None) -> None:
            if draft is not None:
                note = Note(
                    t=t,
                    id=uuid.uuid4().hex,
                    text=draft.text,
                    tags=draft.tags,
                    source="replay",
                    command_id=running.id if running else None,
                    written_at=utc_now(),
                )
                self._save_note(note, "Note saved.")

        self.push_screen(NoteDialog(f"New note at {format_clock(t)}"), save)

    def action_edit_note(self) -> None:
        """Edit the selected note (or the one at the current moment): saves a new version."""
        target = self._selected_note()
        if target is None or self._append is None:
            self.notify("No note to edit here." if target is None else "This replay is read-only.", timeout=3)
            return

        def save(draft: NoteDraft | None) -> None:
            if draft is not None:
                note = Note(
                    t=target.t,
                    id=uuid.uuid4().hex,
                    text=draft.text,
                    tags=draft.tags,
                    source="replay",
                    command_id=target.command_id,
                    replaces=target.id,
                    written_at=utc_now(),
                )
                self._save_note(note, "Note updated.")

        self.push_screen(NoteDialog(f"Edit note at {format_clock(target.t)}", target.text, target.tags), save)

    def action_delete_note(self) -> None:
        """Delete the selected note (or the one at the current moment): saves a tombstone."""
        target = self._selected_note()
        if target is None or self._append is None:
            self.notify("No note to delete here." if target is None else "This replay is read-only.", timeout=3)
            return
        tombstone = Note(
            t=target.t,
            id=uuid.uuid4().hex,
            text="",
            tags=(),
            source="replay",
            command_id=target.command_id,
            replaces=target.id,
            deleted=True,
            written_at=utc_now(),
        )
        self._save_note(tombstone, "Note deleted.")

    def _save_note(self, note: Note, done: str) -> None:
        assert self._append is not None
        try:
            self._append([note])
        except (TracerError, OSError) as e:
            self.notify(str(e), title="The note was not saved", severity="error", timeout=8)
            return
        self._note_events.append(note)
        self._note_events.sort(key=lambda n: n.t)
        self.notes = Session(self.session.path, self.session.header, list(self._note_events)).notes()
        self._rebuild_items()
        self.notify(done, timeout=2)

    # --- search -------------------------------------------------------------------------------------

    def action_search(self) -> None:
        """Search command lines and output (``n``/``N``: next/previous hit)."""
        self.query_one(SearchBar).open()

    def on_search_bar_search(self, message: SearchBar.Search) -> None:
        self.query_one(Timeline).focus()
        query = message.query.strip()
        if not query:
            self._clear_search()
            return
        self._set_status(f"Searching for “{query}”…")
        self._run_search(query)

    def on_search_bar_closed(self, message: SearchBar.Closed) -> None:
        self.query_one(Timeline).focus()

    @work(thread=True, exclusive=True, group="search")
    def _run_search(self, query: str) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        if self._search is None:
            self._search = SessionSearch(self.session.events)
        hits = self._search.find(query, cancelled=lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.call_from_thread(self._search_done, query, hits)

    def _search_done(self, query: str, hits: list[Hit]) -> None:
        self.search_query = query
        self.hits = hits
        self.query_one(ScreenView).highlight(query)
        if not hits:
            self.hit_index = None
            self.query_one(Timeline).set_hit(None)
            self._set_status(Text(f"No match for “{query}”.", style="#f85149"))
            return
        at = bisect_left([h.t for h in hits], self.position)
        self._show_hit(at if at < len(hits) else 0)

    def _clear_search(self) -> None:
        self.search_query = None
        self.hits = []
        self.hit_index = None
        self.query_one(ScreenView).highlight(None)
        self.query_one(CommandView).highlight(None)
        self.query_one(Timeline).set_hit(None)
        self._set_status("")

    def _show_hit(self, i: int) -> None:
        self.hit_index = i
        hit = self.hits[i]
        self.set_position(hit.t)
        if hit.command_id is not None:
            for index, item in enumerate(self.items):
                if item.kind == "command" and isinstance(item.ref, Command) and item.ref.id == hit.command_id:
                    timeline = self.query_one(Timeline)
                    timeline.set_hit(index)
                    timeline.select(index)
                    break
        else:
            self.query_one(Timeline).set_hit(None)
        self._highlight_hit_in_output()
        status = Text.assemble(
            (f"“{self.search_query}” {i + 1}/{len(self.hits)}", "bold #e3b341"),
            f"  {format_clock(hit.t)}  {hit.where}: ",
            hit.line.strip()[:200],
            "   (n/N: next/previous, / new search)",
        )
        self._set_status(status)

    def _highlight_hit_in_output(self) -> None:
        view = self.query_one(CommandView)
        if self.search_query is None or self.hit_index is None:
            view.highlight(None)
            return
        hit = self.hits[self.hit_index]
        line = None
        if hit.where == "output" and hit.command_id == view.command_id:
            line = view.find_line(self.search_query, hit.start, hit.end)
        view.highlight(self.search_query, line, hit.start, hit.end)

    def action_next_hit(self) -> None:
        """Go to the next search hit."""
        if not self.hits:
            self.notify("No search hits: press / to search.", timeout=2)
            return
        self._show_hit(0 if self.hit_index is None else (self.hit_index + 1) % len(self.hits))

    def action_prev_hit(self) -> None:
        """Go to the previous search hit."""
        if not self.hits:
            self.notify("No search hits: press / to search.", timeout=2)
            return
        self._show_hit(len(self.hits) - 1 if self.hit_index is None else (self.hit_index - 1) % len(self.hits))

    # --- verify -------------------------------------------------------------------------------------

    def action_verify(self) -> None:
        """Run verify on the session's final patch, its output live in the Verify view."""
        if self.verify_argv is None:
            self.notify("Verify is not available in this replay.", severity="warning")
            return
        if self.verify_process is not None and self.verify_process.poll() is None:
            self.notify("Verify is already running.", timeout=2)
            return
        self.action_show_view("verify")
        self.query_one(VerifyPanel).start(self.verify_argv)
        self.replay_verdict = Verdict("running", None, "started just now with v", source="replay")
        self._rebuild_items()
        self._set_status("Verifying… (q quits and stops it)")
        self._run_verify(self.verify_argv)

    @work(thread=True, exclusive=True, group="verify")
    def _run_verify(self, argv: list[str]) -> None:
        panel = self.query_one(VerifyPanel)
        try:
            with self._verify_lock:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self.verify_process = process
        except OSError as e:
            self.call_from_thread(panel.add_output, f"cannot start {argv[0]}: {e}")
            self.call_from_thread(self._verify_done, None)
            return
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not self._call_ui(panel.add_output, line):
                break
        process.stdout.close()
        status = process.wait()
        self._call_ui(self._verify_done, status)

    def _call_ui(self, callback: Callable[..., object], *args: object) -> bool:
        """Run ``callback`` on the UI thread; False when the app is gone."""
        if not self.is_running:
            return False
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            return False
        return True

    def _verify_done(self, status: int | None) -> None:
        verdict = "passed" if status == 0 else "failed" if status == 1 else "error"
        self.replay_verdict = self._recorded_verdict() or Verdict(
            verdict, status, "from v in this replay", source="replay"
        )
        self.query_one(VerifyPanel).finish(verdict, status)
        self._rebuild_items()
        self._set_status(Text(f"verify: {verdict}", style="bold #56d364" if status == 0 else "bold #f85149"))

    def _recorded_verdict(self) -> Verdict | None:
        """The verify result that the run just appended to the session (counts and all), if it can be read."""
        if self._reload is None:
            return None
        try:
            result = self._reload().verify_result
        except (TracerError, OSError):
            return None
        before = self.session.verify_result
        if result is None or (before is not None and (result.verified_at or "") <= (before.verified_at or "")):
            return None
        return dataclasses.replace(Verdict.from_result(result), source="replay")

    def kill_verify(self) -> None:
        """Kill the running verify command's whole process group at once (SIGKILL), if one runs."""
        with self._verify_lock:
            process = self.verify_process
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    async def action_quit(self) -> None:
        """Quit (a running verify is killed first)."""
        self.kill_verify()
        self.exit()

    def on_unmount(self) -> None:
        self.kill_verify()

    # --- help and palette ---------------------------------------------------------------------------

    def key_rows(self) -> list[tuple[str, str]]:
        """Every key of the replay with what it does, for ``?``."""
        rows = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            keys = ", ".join(self.get_key_display(Binding(k.strip(), "")) for k in binding.key.split(","))
            rows.append((keys, binding.description))
        rows += [
            ("↑, ↓", "Timeline: select the previous/next row (shows its output or diff)"),
            ("enter, click", "Timeline: go to the selected row"),
            ("pgup, pgdn", "Timeline: select a page up/down"),
            ("click, drag", "Seek bar: go to that moment"),
            ("ctrl+p", "Command palette: every action by name"),
            ("escape", "Close a dialog or the search field"),
        ]
        return rows

    def action_help(self) -> None:
        """List every key."""
        self.push_screen(HelpScreen(self.key_rows()))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in ("quit",):
                continue
            action = binding.action
            yield SystemCommand(
                binding.description,
                f"{binding.description} ({binding.key_display or binding.key})",
                partial(self.run_action, action),
            )


__all__ = ["IDLE_CAPS", "SPEEDS", "ReplayApp"]
