"""``tracer replay``: a Textual app that plays a recorded session back.

Layout: the timeline (commands, edits, notes, final patch, verdict) on the left; on the right the views
(Screen: the terminal at the current moment; Output: the selected command's output; Diff: the selected edit
or the final patch; Verify: a verify run's live output) above the notes near the current moment; the player
(seek bar and clock) at the bottom.

Each feature lives in its widget, which owns its state, its keys and its messages: :class:`Player` (the moment,
playback), :class:`Timeline` (rows, stepping between commands, edits and notes), :class:`ScreenView` (the screen,
keyframes), :class:`CommandView` (a command's output, paged), :class:`NotesPane` (notes), :class:`SearchBar`
(search) and :class:`VerifyPanel` (verify). The app composes them, routes each feature's app-wide keys
(``APP_BINDINGS``) to it whatever has the focus, and passes the current moment and selection between them. A new
panel is a widget of its own file with its ``APP_BINDINGS`` and messages, named in ``_FEATURES`` and composed in
:meth:`ReplayApp.compose`; the app handles its messages (``on_<widget>_<message>``) to move the others.

The app reads the session through a :class:`~tracer.replay.source.SessionSource` and writes only through
``append`` (new notes). The session is indexed in a worker without holding its output (see
:mod:`tracer.replay.source`), so the first screen shows at once and a 250 MB session stays light.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.actions import parse
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane, Tabs

from tracer.model import Command, Event, FileChange, FinalPatch, JudgeResult, Note, Session, VerifyResult
from tracer.replay import pacing
from tracer.replay.keyframes import KeyframeIndex
from tracer.replay.lines import OutputLines
from tracer.replay.search import Hit
from tracer.replay.source import SessionIndex, SessionSource, open_source
from tracer.replay.terminal import prepare
from tracer.replay.timeline import Item, StartState, Verdict, build_items, current_index, format_clock, format_duration
from tracer.replay.widgets import (
    IDLE_CAPS,
    SPEEDS,
    CommandView,
    DiffView,
    HelpScreen,
    NotesPane,
    Player,
    ReportScreen,
    ScreenView,
    SearchBar,
    Timeline,
    VerifyPanel,
)

AppendFn = Callable[[list[Event]], None]
#: What the final patch's (or the start state's) title names of the files it left out; the rest are counted.
_OMITTED_SHOWN = 3


def _append_omitted(title: Text, omitted: tuple[str, ...]) -> None:
    """``title`` with the first :data:`_OMITTED_SHOWN` of ``omitted`` and a count of the rest (a session from
    elsewhere may list thousands)."""
    if omitted:
        shown = ", ".join(omitted[:_OMITTED_SHOWN])
        more = len(omitted) - _OMITTED_SHOWN
        title.append(f"  omitted: {shown}" + (f" … and {more} more" if more > 0 else ""), "#f85149")


#: The features whose keys work wherever the focus is: widget id -> its class (its ``APP_BINDINGS``).
_FEATURES: dict[str, type[Widget]] = {
    "player": Player,
    "timeline": Timeline,
    "notes": NotesPane,
    "search": SearchBar,
    "verify": VerifyPanel,
}


def _routed(features: dict[str, type[Widget]]) -> list[BindingType]:
    """Each feature's app-wide bindings, as app bindings that run the action on the feature's widget."""
    out: list[BindingType] = []
    for widget_id, feature in features.items():
        for binding in getattr(feature, "APP_BINDINGS", []):
            assert isinstance(binding, Binding)
            action = f"feature({widget_id!r}, {binding.action!r})"
            out.append(dataclasses.replace(binding, action=action))
    return out


class ReplayApp(App[None]):
    """Replays a session; notes added here are saved with ``append``; ``v`` runs ``verify_argv``.

    Args:
        session: the session: a :class:`~tracer.model.Session` in memory, a session file's path, or a source.
        append: appends events to the session file; may raise :class:`~tracer.errors.SessionError` (shown,
            never fatal). ``None``: the replay is read-only and notes cannot be added.
        insights: makes the text of ``I``, the insights of the session's repository (ANSI styles kept; called in
            a worker thread; may raise :class:`~tracer.errors.TracerError`). ``None``: no insights.
        verify_consent: asked before ``v`` runs: ``None`` when the run needs no yes, else the lines a dialog shows
            (an untrusted session); a yes adds ``--yes`` to ``verify_argv``. ``None``: never asked.
        verify_argv: the command ``v`` runs (e.g. ``[python, -P, -m, tracer, verify, PATH]``): exit status 0
            means passed, 1 failed, anything else error. ``None``: no verify.
        backend: terminal emulator backend (``"avt"``, ``"pyte"``; ``None``: the fastest available).
        idle_time_limit: longest pause played back (seconds; ``None``: play pauses as recorded).
        speed: initial playback speed, one of :data:`SPEEDS`.
        keyframe_bytes: output bytes between keyframes (``None``: the backend's default).
        keyframe_cache: where the keyframes are cached between runs (``None``: not cached).
        recording: the pid of the recorder writing the session now (the banner says what is shown of it);
            ``None``: it is not being recorded.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, CorruptSession: a session file cannot be read at all.
    """

    TITLE = "tracer replay"

    BINDINGS: ClassVar[list[BindingType]] = [
        *_routed(_FEATURES),
        Binding("1", "show_view('screen')", "Screen", show=False),
        Binding("2", "show_view('output')", "Output", show=False),
        Binding("3", "show_view('diff')", "Diff", show=False),
        Binding("4", "show_view('verify')", "Verify log", show=False),
        Binding("z", "zoom", "Zoom view", show=False),
        Binding("I", "insights", "Insights", show=False),
        Binding("question_mark", "help", "Keys", key_display="?"),
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
    """

    def __init__(
        self,
        session: Session | Path | str | SessionSource,
        *,
        append: AppendFn | None = None,
        verify_argv: Sequence[str] | None = None,
        verify_consent: Callable[[], list[str] | None] | None = None,
        insights: Callable[[], str] | None = None,
        backend: str | None = None,
        idle_time_limit: float | None = 2.0,
        speed: float = 1.0,
        keyframe_bytes: int | None = None,
        keyframe_cache: Path | None = None,
        recording: int | None = None,
    ) -> None:
        super().__init__()
        self.recording = recording
        self.source = session if isinstance(session, SessionSource) else open_source(session)
        self.header = self.source.header
        self._append = append
        self.verify_argv = list(verify_argv) if verify_argv is not None else None
        self._insights = insights
        self.backend = backend
        self.keyframe_bytes = keyframe_bytes
        self.keyframe_cache = keyframe_cache
        self.index: SessionIndex | None = None
        self.ready = False
        self.items: list[Item] = []
        self._moments: list[tuple[int, int]] = []
        self.replay_verdict: Verdict | None = None
        # the feature widgets live as long as the app (a running verify is killed after they are unmounted)
        self.player = Player(idle_time_limit=idle_time_limit, speed=speed, id="player")
        self.verify_panel = VerifyPanel(self.verify_argv, consent=verify_consent, id="verify")

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner")
        with Horizontal(id="main"):
            yield Timeline(lambda: (self.player.count, self.player.t), id="timeline")
            with Vertical(id="right"):
                with TabbedContent(id="views", initial="tab-screen"):
                    with TabPane("Screen", id="tab-screen"):
                        yield ScreenView(id="screen")
                    with TabPane("Output", id="tab-output"):
                        yield CommandView(id="output")
                    with TabPane("Diff", id="tab-diff"):
                        yield DiffView(id="diff")
                    with TabPane("Verify", id="tab-verify"):
                        yield self.verify_panel
                if self.recording is None:
                    yield NotesPane(self._append, id="notes")
                else:  # (its recorder signs the file as it writes: nothing may be appended before it ends)
                    busy = "This session is being recorded now: add notes with `tracer note` in its shell."
                    yield NotesPane(None, read_only=busy, id="notes")
        yield Static("", id="status")
        yield self.player
        yield SearchBar(id="search")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        header = self.header
        self.sub_title = header.session_id + (f" — {header.task}" if header.task else "")
        # The tabs are clicked, never focused: ←/→ keep stepping commands whatever was clicked.
        self.query_one(Tabs).can_focus = False
        self.query_one(Timeline).focus()
        self.query_one(ScreenView).show([Text(" " * header.cols) for _ in range(header.rows)], None)
        self._set_status("Reading the session…")
        self.call_after_refresh(self._load)  # the first frame is drawn before the heavy work starts

    # --- loading ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        last = [0.0]

        def progress(done: float) -> None:
            if done - last[0] >= 0.05:
                last[0] = done
                self.call_from_thread(self._set_status, f"Reading the session… {done:.0%}")

        prepare()  # the terminals' tables, here rather than on the UI thread's first screen
        index = self.source.scan(progress, cancelled=pacing.pausing(lambda: worker.is_cancelled))
        if index is not None and not worker.is_cancelled:
            self.call_from_thread(self._loaded, index)

    def _loaded(self, index: SessionIndex) -> None:
        self.index = index
        session = index.session
        self._show_banner(index)
        self.query_one(NotesPane).load(session, index.commands)
        self.query_one(SearchBar).set_index(index)
        self.query_one(ScreenView).load(index.stream, self.backend, self.keyframe_bytes, self.keyframe_cache)
        if session.verify_result is not None:
            self.replay_verdict = None
        self._rebuild_items()
        self.ready = True
        self._set_status("")
        player = self.player
        marks = [(c.start, "failed" if c.failed else "command") for c in index.commands]
        marks += [(e.t, "edit") for e in session.file_changes()]
        marks += [(n.t, "note") for n in self.notes]
        player.set_stream(index.stream.times, index.duration, marks)
        if player.t == 0 and player.count == 0 and not player.playing:
            self._open_at_start_of_story()
        else:  # a key pressed while the session was read (end, play) said where to be
            self._moved(player.t, player.count, True)

    def _open_at_start_of_story(self) -> None:
        """Go where the session's story starts, its first command (else its first timeline row), selected as if
        ``→`` had been pressed: the moment 0:00.0 is the blank screen before the shell's first prompt, which looks
        like an empty recording. When nothing was on the screen yet as that command started (the one command of
        ``tracer shell -c``), at the command's end: the screen it left. A session with no row at all opens at its
        end, the screen as it was left."""
        items = self.items
        if not items:
            self.player.go_to(self.player.end_count, self.duration)
            return
        first = next((i for i, item in enumerate(items) if item.kind == "command"), 0)
        item = items[first]
        count, t = item.count, item.t
        ref = item.ref
        if count == 0 and isinstance(ref, Command) and self.index is not None:
            end = self.index.moments.get(ref.id, (0, None))[1]
            count, t = (
                (end, ref.end) if end is not None and ref.end is not None else (self.player.end_count, self.duration)
            )
        self.player.go_to(count, t, follow=False)
        self.query_one(Timeline).select(first, notify=False)
        self._show_item(item)

    def _show_banner(self, index: SessionIndex) -> None:
        lines = []
        session = index.session
        if session.interrupted and self.recording is not None:
            lines.append(
                f"● This session is being recorded now (tracer pid {self.recording}): its first "
                f"{format_clock(index.duration)} are shown. Add notes with `tracer note` in its shell."
            )
        elif session.interrupted:
            lines.append(
                "⚠ This recording was interrupted (it has no end mark): everything recorded up to "
                f"{format_clock(index.duration)} is shown."
            )
        if session.problem:
            lines.append(f"⚠ The session file is damaged: {session.problem}. Showing what was read before it.")
        banner = self.query_one("#banner", Static)
        banner.update("\n".join(lines))
        banner.set_class(bool(lines), "-shown")

    def _rebuild_items(self) -> None:
        index = self.index
        if index is None:
            return
        session = index.session
        verdict = self.replay_verdict
        if verdict is None and session.verify_result is not None:
            verdict = Verdict.from_result(session.verify_result)
        moments = index.moments

        def moment_of(ref: Command | FileChange | Note | FinalPatch) -> int:
            return moments[ref.id][0] if isinstance(ref, Command) else index.moment_of(ref)

        end = (len(index.stream), index.duration)
        h = session.header
        items = build_items(
            index.commands,
            session.file_changes(),
            self.notes,
            session.final_patch,
            verdict,
            end,
            moment_of,
            judgement=session.judge_result,
            start=StartState(h.baseline_patch, h.baseline_omitted) if h.baseline_patch or h.baseline_omitted else None,
        )
        timeline = self.query_one(Timeline)
        selected = self.items[timeline.selected] if timeline.selected is not None and self.items else None
        self.items = items
        self._moments = [item.moment for item in items]
        timeline.set_items(items)
        if selected is not None:
            for i, item in enumerate(items):
                if item.ref is selected.ref or item.ref == selected.ref:
                    timeline.select(i, scroll=False, notify=False)
                    break
        player = self.player
        timeline.set_current(current_index(self._moments, (player.count, player.t)))

    # --- the moment ---------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The current moment's time (microseconds since session start)."""
        return self.player.t

    @property
    def moment(self) -> int:
        """The current moment in the stream (items shown)."""
        return self.player.count

    @property
    def duration(self) -> int:
        """The session's length (microseconds; 0 until it is read)."""
        return self.index.duration if self.index is not None else 0

    @property
    def commands(self) -> list[Command]:
        """The session's commands (without their output)."""
        return self.index.commands if self.index is not None else []

    @property
    def notes(self) -> list[Note]:
        """The notes as they stand now."""
        return self.query_one(NotesPane).notes

    @property
    def keyframes(self) -> KeyframeIndex | None:
        """The screen's keyframes (``None`` until the session is read)."""
        return self.query_one(ScreenView).keyframes

    @property
    def hits(self) -> list[Hit]:
        """The search's hits so far."""
        return self.query_one(SearchBar).hits

    @property
    def hit_index(self) -> int | None:
        """The hit shown."""
        return self.query_one(SearchBar).hit_index

    @property
    def search_query(self) -> str | None:
        """The text searched for."""
        return self.query_one(SearchBar).searched

    def set_position(self, t: int, follow: bool = True) -> None:
        """Go to time ``t`` (microseconds; clamped to the session)."""
        self.player.seek(t, follow)

    def on_player_moved(self, message: Player.Moved) -> None:
        with contextlib.suppress(NoMatches):  # NoMatches: the app is closing, its widgets are gone
            self._moved(message.t, message.count, message.follow)

    def _moved(self, t: int, count: int, follow: bool) -> None:
        if self.index is None:
            return
        timeline = self.query_one(Timeline)
        timeline.moved((count, t))
        current = current_index(self._moments, (count, t))
        timeline.set_current(current)
        if follow and current is not None:
            timeline.select(current)
        self.query_one(NotesPane).set_position(t)
        self.query_one(SearchBar).position = self.index.stream.offsets[count]
        self.query_one(ScreenView).show_moment(count)

    def _set_status(self, text: str | Text) -> None:
        self.query_one("#status", Static).update(text)

    # --- feature keys ---------------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)):
            pacing.hold()  # background work steps aside while this is answered
        await super().on_event(event)

    async def action_feature(self, widget_id: str, action: str) -> None:
        """Run ``action`` on the feature widget ``widget_id`` (its app-wide keys come here)."""
        await self.run_action(action, self.query_one(f"#{widget_id}"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "feature" and len(parameters) == 2:
            widget_id, inner = parameters
            try:
                widget = self.query_one(f"#{widget_id}")
            except Exception:
                return True
            _, name, params = parse(str(inner))
            return widget.check_action(name, params)
        return True

    # --- timeline and views -------------------------------------------------------------------------

    def on_timeline_selected(self, message: Timeline.Selected) -> None:
        self._show_item(message.item)

    def on_timeline_activated(self, message: Timeline.Activated) -> None:
        item = message.item
        self.player.go_to(item.count, item.t, follow=False)
        self.query_one(Timeline).select(message.index, notify=False)
        self._show_item(item)
        if item.kind in ("start", "edit", "patch"):
            self.action_show_view("diff")
        elif item.kind == "verify":
            self.action_show_view("verify")
        elif isinstance(item.ref, JudgeResult):
            self.push_screen(ReportScreen("tracer judge", "\n".join(item.ref.report())))

    def _show_item(self, item: Item) -> None:
        ref = item.ref
        notes = self.query_one(NotesPane)
        notes.selected = ref if isinstance(ref, Note) else None
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
            _append_omitted(title, ref.omitted)
            self.query_one(DiffView).show(title, ref.patch, "(nothing changed)")
        elif isinstance(ref, StartState):
            title = Text.assemble(
                ("± start state", "bold #8b949e"),
                f"  {ref.files} file{'s' if ref.files != 1 else ''} uncommitted at start, beside the start commit",
            )
            _append_omitted(title, ref.omitted)
            self.query_one(DiffView).show(title, ref.patch, "(no uncommitted change at start)")
        elif isinstance(ref, Note) and ref.command_id is not None:
            for c in self.commands:
                if c.id == ref.command_id:
                    self._show_command(c)
                    break

    def _show_command(self, command: Command) -> None:
        view = self.query_one(CommandView)
        if view.command_id == command.id or self.index is None:
            return
        title = Text(no_wrap=True, end="")
        if command.exit_status is None:
            title.append("… ", "bold #e3b341")
        elif command.failed:
            title.append(f"✗ exit {command.exit_status} ", "bold #f85149")
        elif command.exit_status:  # a bare `exit` (tracer.model.carries_status)
            title.append(f"↩ exit {command.exit_status}, the status of the command before it ", "bold #8b949e")
        else:
            title.append("✓ exit 0 ", "bold #56d364")
        title.append(f"{format_duration(command.duration)}  ", "#8b949e")
        title.append(f"{command.cwd} $ ", "#8b949e")
        title.append(command.command.replace("\n", " ⏎ "), "bold")
        view.show(command.id, title, OutputLines(self.index.stream, *self.index.output_range(command.id)))
        self._highlight_hit_in_output()

    def action_show_view(self, view: str) -> None:
        """Show one of the views: ``screen``, ``output``, ``diff`` or ``verify``."""
        self.query_one(TabbedContent).active = f"tab-{view}"

    def action_zoom(self) -> None:
        """Give the current view the whole window, or give it back."""
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        active = self.query_one(TabbedContent).active
        view_id = {"tab-screen": "screen", "tab-output": "output", "tab-diff": "diff", "tab-verify": "verify"}.get(
            active
        )
        if view_id is not None:
            self.screen.maximize(self.query_one(f"#{view_id}"))

    # --- notes --------------------------------------------------------------------------------------

    def on_notes_pane_changed(self, message: NotesPane.Changed) -> None:
        self._rebuild_items()

    # --- search -------------------------------------------------------------------------------------

    def on_search_bar_closed(self, message: SearchBar.Closed) -> None:
        self.query_one(Timeline).focus()

    def on_search_bar_updated(self, message: SearchBar.Updated) -> None:
        self._set_status(message.status)
        bar = self.query_one(SearchBar)
        self.query_one(ScreenView).highlight(bar.searched)
        hit = message.hit
        timeline = self.query_one(Timeline)
        if bar.searched is None:
            self.query_one(CommandView).highlight(None)
            timeline.set_hit(None)
            return
        if hit is None:
            return
        self.player.go_to(hit.count, hit.t)
        row = None
        if hit.command_id is not None:
            for i, item in enumerate(self.items):
                if item.kind == "command" and isinstance(item.ref, Command) and item.ref.id == hit.command_id:
                    row = i
                    break
        timeline.set_hit(row)
        if row is not None:
            timeline.select(row)
        self._highlight_hit_in_output()

    def _highlight_hit_in_output(self) -> None:
        view = self.query_one(CommandView)
        bar = self.query_one(SearchBar)
        if bar.searched is None or bar.hit_index is None:
            view.highlight(None)
            return
        hit = bar.hits[bar.hit_index]
        line = view.line_of(hit.position) if hit.where == "output" and hit.command_id == view.command_id else None
        view.highlight(bar.searched, line, hit.start, hit.end)

    # --- verify -------------------------------------------------------------------------------------

    def on_verify_panel_started(self, message: VerifyPanel.Started) -> None:
        self.action_show_view("verify")
        self.replay_verdict = Verdict("running", None, "started just now with v", source="replay")
        self._rebuild_items()
        self._set_status("Verifying… (q quits and stops it)")

    def on_verify_panel_finished(self, message: VerifyPanel.Finished) -> None:
        self.replay_verdict = self._recorded_verdict() or Verdict(
            message.verdict, message.exit_status, "from v in this replay", source="replay"
        )
        self._rebuild_items()
        ok = message.verdict == "passed"
        self._set_status(Text(f"verify: {message.verdict}", style="bold #56d364" if ok else "bold #f85149"))

    def _recorded_verdict(self) -> Verdict | None:
        """The verify result that the run just appended to the session (counts and all), if it can be read."""
        appended = self.source.appended()
        notes = [e for e in appended if isinstance(e, Note)]
        self.query_one(NotesPane).add_events(notes)
        results = [e for e in appended if isinstance(e, VerifyResult)]
        if not results:
            return None
        result = max(results, key=lambda r: r.verified_at or "")
        return dataclasses.replace(Verdict.from_result(result), source="replay")

    @property
    def verify_process(self) -> Any:
        """The verify command's process, while one runs."""
        return self.verify_panel.process

    def kill_verify(self) -> None:
        """Kill a running verify command (its whole process group)."""
        self.verify_panel.kill()

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

    def action_insights(self) -> None:
        """Show the insights of the session's repository (``tracer insights --repo``)."""
        if self._insights is None:
            self.notify("Insights are not available in this replay.", severity="warning")
            return
        self.push_screen(ReportScreen(f"tracer insights — {self.header.workspace}", load=self._insights))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if binding.action in ("quit",):
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.description} ({binding.key_display or binding.key})",
                partial(self.run_action, binding.action),
            )


__all__ = ["IDLE_CAPS", "SPEEDS", "ReplayApp"]
