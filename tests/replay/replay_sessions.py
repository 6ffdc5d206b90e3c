"""Sessions for the replay tests, built from model events (a real recording made with ``tracer shell -c``
can replace :func:`build_demo` once the recorder exists)."""

from __future__ import annotations

import difflib
from pathlib import Path

from tracer.model import (
    Command,
    CommandEnd,
    CommandStart,
    Event,
    FileChange,
    FinalPatch,
    Header,
    Note,
    Output,
    Resize,
    Session,
    SessionEnd,
)

SECOND = 1_000_000


def unified_diff(path: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff of one file."""
    old = "/dev/null" if not before else f"a/{path}"
    new = "/dev/null" if not after else f"b/{path}"
    body = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=old, tofile=new
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(body)


class SessionBuilder:
    """Builds a :class:`Session` event by event on a clock in microseconds."""

    def __init__(self, cols: int = 80, rows: int = 24, task: str | None = "fix slugify") -> None:
        self.t = 0
        self.header = Header(
            t=0,
            session_id="2026-11-21T10-30-00-8f3a",
            started_at="2026-11-21T10:30:00.000000Z",
            tracer_version="0.1.0",
            shell="/bin/bash",
            shell_kind="bash",
            mode="interactive",
            term="xterm-256color",
            cols=cols,
            rows=rows,
            cwd="/home/dev/slugify",
            workspace="/home/dev/slugify",
            task=task,
        )
        self.events: list[Event] = []
        self.next_id = 1
        self.files: dict[str, str] = {}

    def wait(self, seconds: float) -> SessionBuilder:
        self.t += round(seconds * SECOND)
        return self

    def output(self, data: bytes, after: float = 0.05) -> SessionBuilder:
        self.wait(after)
        self.events.append(Output(t=self.t, data=data))
        return self

    def prompt(self) -> SessionBuilder:
        return self.output(b"\x1b[1;32mdev@box\x1b[0m:\x1b[1;34m~/slugify\x1b[0m$ ")

    def command(self, line: str, chunks: list[bytes], status: int = 0, step: float = 0.2, finish: bool = True) -> int:
        cid = self.next_id
        self.next_id += 1
        self.output(line.encode() + b"\r\n", after=0.4)
        self.events.append(CommandStart(t=self.t, id=cid, command=line, cwd="/home/dev/slugify"))
        for chunk in chunks:
            self.output(chunk, after=step)
        if finish:
            self.wait(0.05)
            self.events.append(CommandEnd(t=self.t, id=cid, exit_status=status, cwd="/home/dev/slugify"))
            self.prompt()
        return cid

    def edit(self, path: str, after: str, command_id: int | None = None) -> SessionBuilder:
        before = self.files.get(path, "")
        diff = unified_diff(path, before, after)
        added = sum(1 for x in diff.splitlines() if x.startswith("+") and not x.startswith("+++"))
        removed = sum(1 for x in diff.splitlines() if x.startswith("-") and not x.startswith("---"))
        self.wait(0.1)
        self.events.append(
            FileChange(
                t=self.t,
                path=path,
                op="modify" if before else "create",
                diff=diff,
                command_id=command_id,
                added=added,
                removed=removed,
                size=len(after),
            )
        )
        self.files[path] = after
        return self

    def note(self, text: str, tags: tuple[str, ...] = (), note_id: str = "n1", **kw: object) -> SessionBuilder:
        self.wait(0.1)
        self.events.append(Note(t=self.t, id=note_id, text=text, tags=tags, **kw))  # type: ignore[arg-type]
        return self

    def resize(self, cols: int, rows: int) -> SessionBuilder:
        self.wait(0.1)
        self.events.append(Resize(t=self.t, cols=cols, rows=rows))
        return self

    def final_patch(self, baseline: dict[str, str]) -> SessionBuilder:
        patch = "".join(unified_diff(p, baseline.get(p, ""), text) for p, text in self.files.items())
        self.events.append(FinalPatch(t=self.t, patch=patch, files=tuple(self.files)))
        return self

    def end(self, status: int = 0) -> SessionBuilder:
        self.wait(0.2)
        self.events.append(SessionEnd(t=self.t, exit_status=status))
        return self

    def session(self, path: str = "/tmp/demo.tracer", problem: str | None = None) -> Session:
        events = sorted(self.events, key=lambda e: e.t)
        return Session(path=path, header=self.header, events=events, problem=problem)


CORE_BEFORE = """import re


def slugify(text):
    text = re.sub(r"[^a-z0-9]+", "-", text.lower())
    return text.strip("-")
"""

CORE_AFTER = """import re
import unicodedata


def slugify(text):
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower())
    return text.strip("-")
"""

PYTEST_FAIL = [
    b"\x1b[1mcollected 3 items\x1b[0m\r\n\r\n",
    b"tests/test_core.py \x1b[32m.\x1b[0m\x1b[32m.\x1b[0m\x1b[31mF\x1b[0m\r\n\r\n",
    b"\x1b[31m\x1b[1m___ test_unicode ___\x1b[0m\r\n"
    b"\x1b[1m\x1b[31mE       AssertionError: assert '' == 'unicode'\x1b[0m\r\n",
    b"\x1b[31m=== \x1b[31m\x1b[1m1 failed\x1b[0m, \x1b[32m2 passed\x1b[0m\x1b[31m in 0.03s ===\x1b[0m\r\n",
]

PYTEST_PASS = [
    b"\x1b[1mcollected 3 items\x1b[0m\r\n\r\n",
    b"tests/test_core.py \x1b[32m...\x1b[0m\r\n\r\n",
    b"\x1b[32m=== \x1b[32m\x1b[1m3 passed\x1b[0m\x1b[32m in 0.02s ===\x1b[0m \xe4\xb8\xad\xe6\x96\x87 ok\r\n",
]

VIM_ENTER = (
    b"\x1b[?1049h\x1b[22;0;0t\x1b[H\x1b[2J"
    b"\x1b[38;5;214mimport\x1b[0m re\r\n~\r\n~\r\n"
    b"\x1b[24;1H\x1b[1m-- INSERT --\x1b[0m\x1b[1;1H"
)
VIM_LEAVE = b"\x1b[24;1H\x1b[2K\x1b[?1049l\x1b[23;0;0t"


def build_demo(cols: int = 80, rows: int = 24, interrupted: bool = False) -> SessionBuilder:
    """A small session: ls, a failing pytest, a live note, vim (alternate screen), an edit, a passing
    pytest (with CJK text), the final patch; about 25 s long with one 10 s idle gap."""
    b = SessionBuilder(cols, rows)
    b.files["slugify/core.py"] = CORE_BEFORE
    b.prompt()
    b.command(
        "ls --color",
        [b"\x1b[1;34mslugify\x1b[0m  \x1b[1;34mtests\x1b[0m  \x1b[38;2;255;128;0mREADME.md\x1b[0m\r\n"],
    )
    failing = b.command("pytest -q", PYTEST_FAIL, status=1)
    b.note("hypothesis: the regex strips non-ASCII before transliteration", ("hypothesis",), command_id=failing)
    b.wait(10)  # thinking: an idle gap
    vim = b.command("vim slugify/core.py", [VIM_ENTER, b"\x1b[2;1Himport unicodedata\x1b[2;19H", VIM_LEAVE])
    b.wait(-0.3)
    b.edit("slugify/core.py", CORE_AFTER, command_id=vim)
    b.wait(1.0)
    b.command("pytest -q", PYTEST_PASS, status=0)
    b.final_patch({"slugify/core.py": CORE_BEFORE})
    if interrupted:
        b.command("sleep 100", [b"zzz\r\n"], finish=False)
    else:
        b.end()
    return b


def write_session(session: Session, path: Path) -> Path:
    """Write ``session`` as a session file at ``path`` with tracer's own writer (output coalesced as recorded)."""
    from tracer.store import SessionWriter

    writer = SessionWriter(path, session.header)
    end = SessionEnd(t=session.events[-1].t if session.events else 0, exit_status=0)
    for e in session.events:
        if isinstance(e, Output):
            writer.output(e.t, e.data)
        elif isinstance(e, SessionEnd):
            end = e
        else:
            writer.event(e)
    writer.close(end)
    return path


def commands_of(session: Session) -> list[Command]:
    """The session's commands with their output (the model's pairing)."""
    return session.commands()
