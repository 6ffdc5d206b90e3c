"""Verify (``v``): runs the verify command in a worker, its output live here, then its verdict.

A session this user did not record on this machine runs its tests only after a yes: the panel asks in a
dialog, showing what would run and where, and runs the command with ``--yes`` once confirmed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import RichLog

from tracer.replay.palette import rgb_text
from tracer.replay.widgets._confirm_dialog import ConfirmDialog

#: What the panel asks before a verify run: ``None`` when nothing needs a yes (the session is the user's own),
#: else the lines that say what would run and where (called from a worker thread; may take a moment).
ConsentCheck = Callable[[], "list[str] | None"]


class VerifyPanel(RichLog, inherit_bindings=False):
    """A log of the verify command's output (ANSI colours kept), newest at the bottom.

    Owns the verify run: ``v`` starts ``argv`` (exit status 0: passed, 1: failed, anything else: error) in its own
    process group, which :meth:`kill` (and quitting) kills whole. Posts :class:`Started` and :class:`Finished`.
    With ``consent``, ``v`` first asks it whether the run needs a yes; if so, a dialog shows its lines, and a yes
    runs ``argv`` with ``--yes`` (a no runs nothing).
    Scrolls with up/down/page keys; left/right are left to the app (they step commands).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]
    #: Keys that work wherever the focus is (the app routes them here).
    APP_BINDINGS: ClassVar[list[BindingType]] = [Binding("v", "verify", "Verify")]

    DEFAULT_CSS = """
    VerifyPanel {
        background: black;
        color: #d0d0d0;
    }
    """

    class Started(Message):
        """A verify run started."""

    class Finished(Message):
        """The verify run ended: ``verdict`` is ``passed``, ``failed`` or ``error``; ``exit_status`` its status
        (``None``: it could not start)."""

        def __init__(self, verdict: str, exit_status: int | None) -> None:
            super().__init__()
            self.verdict = verdict
            self.exit_status = exit_status

    def __init__(
        self, argv: Sequence[str] | None = None, *, consent: ConsentCheck | None = None, id: str | None = None
    ) -> None:
        super().__init__(id=id, wrap=False, markup=False, highlight=False)
        self.argv = list(argv) if argv is not None else None
        self.consent = consent
        self.lines_written: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def action_verify(self) -> None:
        """Run verify on the session's final patch, its output live here."""
        if self.argv is None:
            self.notify("Verify is not available in this replay.", severity="warning")
            return
        if self.process is not None and self.process.poll() is None:
            self.notify("Verify is already running.", timeout=2)
            return
        if self.consent is None:
            self._start(self.argv)
        else:
            self._ask(self.consent, self.argv)

    @work(thread=True, exclusive=True, group="verify")
    def _ask(self, consent: ConsentCheck, argv: list[str]) -> None:
        lines = consent()
        self._call_ui(self._asked, lines, argv)

    def _asked(self, lines: list[str] | None, argv: list[str]) -> None:
        if lines is None:
            self._start(argv)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._start([*argv, "--yes"])
            else:
                self.notify("Verify did not run: you did not confirm.", timeout=3)

        question = "\n".join(lines) + "\n\nRun these tests?"
        self.app.push_screen(ConfirmDialog(question, "Run"), answer)

    def _start(self, argv: list[str]) -> None:
        self.clear()
        self.lines_written = []
        self.write(Text("$ " + " ".join(argv), style="bold"))
        self.post_message(self.Started())
        self._run(argv)

    @work(thread=True, exclusive=True, group="verify")
    def _run(self, argv: list[str]) -> None:
        try:
            with self._lock:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                self.process = process
        except OSError as e:
            self._call_ui(self.add_output, f"cannot start {argv[0]}: {e}")
            self._call_ui(self._finish, None)
            return
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not self._call_ui(self.add_output, line):
                break
        process.stdout.close()
        status = process.wait()
        self._call_ui(self._finish, status)

    def _call_ui(self, callback: Callable[..., object], *args: object) -> bool:
        """Run ``callback`` on the UI thread; False when the app is gone."""
        if not self.app.is_running:
            return False
        try:
            self.app.call_from_thread(callback, *args)
        except RuntimeError:
            return False
        return True

    def add_output(self, line: str) -> None:
        """Add one line of output (may hold ANSI escape sequences)."""
        self.lines_written.append(line)
        self.write(rgb_text(Text.from_ansi(line)))

    def _finish(self, exit_status: int | None) -> None:
        verdict = "passed" if exit_status == 0 else "failed" if exit_status == 1 else "error"
        ok = verdict == "passed"
        status = "" if exit_status is None else f" (exit {exit_status})"
        self.write(Text(f"verify: {verdict}{status}", style="bold #56d364" if ok else "bold #f85149"))
        self.post_message(self.Finished(verdict, exit_status))

    def kill(self) -> None:
        """Kill the running verify command's whole process group at once (SIGKILL), if one runs."""
        with self._lock:
            process = self.process
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


__all__ = ["VerifyPanel"]
