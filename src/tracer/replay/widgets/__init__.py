"""The replay's widgets, one per module, re-exported here."""

from __future__ import annotations

from tracer.replay.widgets._clock import Clock
from tracer.replay.widgets._command_view import CommandView
from tracer.replay.widgets._confirm_dialog import ConfirmDialog
from tracer.replay.widgets._diff_view import DiffView
from tracer.replay.widgets._help_screen import HelpScreen
from tracer.replay.widgets._lines_view import LinesView
from tracer.replay.widgets._note_dialog import TAGS, NoteDialog, NoteDraft
from tracer.replay.widgets._notes_pane import NotesPane
from tracer.replay.widgets._player import IDLE_CAPS, SPEEDS, Player
from tracer.replay.widgets._report_screen import ReportScreen
from tracer.replay.widgets._screen_view import ScreenView
from tracer.replay.widgets._search_bar import SearchBar
from tracer.replay.widgets._seek_bar import MARK_KINDS, SeekBar
from tracer.replay.widgets._timeline import Timeline, render_item
from tracer.replay.widgets._verify_panel import VerifyPanel

__all__ = [
    "IDLE_CAPS",
    "MARK_KINDS",
    "SPEEDS",
    "TAGS",
    "Clock",
    "CommandView",
    "ConfirmDialog",
    "DiffView",
    "HelpScreen",
    "LinesView",
    "NoteDialog",
    "NoteDraft",
    "NotesPane",
    "Player",
    "ReportScreen",
    "ScreenView",
    "SearchBar",
    "SeekBar",
    "Timeline",
    "VerifyPanel",
    "render_item",
]
