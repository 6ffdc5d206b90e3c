"""One session → the rows it puts in the index: a ``sessions`` row, and ``commands``, ``edits``, ``notes`` and
``failed_tests`` rows.

Column names, types and conventions are those of the dataset configs of ``tracer dataset build`` (docs/datasets.md):
integers are never null (``-1`` where unknown), times since the session start are integer microseconds
(``*_us``), wall-clock times are UTC. The index adds what insights derives: each command's ``program`` (the
command as insights groups it), whether it runs tests, the error pattern of each failure, and the failing tests.

Rows are built column-wise (one list per column), the shape the index inserts fastest.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import os
import re
import uuid
from typing import Any

from tracer.commandline import SUMMARY_TAIL, simple_commands, test_programs, test_run_outcome, unwrap
from tracer.insights._patterns import HEAD_BYTES, TAIL_BYTES, Rules
from tracer.model import Event, FileChange, Output, Session, is_utf8, pair_commands, parse_rfc3339, quote_text

#: Columns of each table, in order (the index's CREATE TABLE statements list the same).
COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": (
        "session_id",
        "session_name",
        "path",
        "started_at",
        "duration",
        "task",
        "repository",
        "workspace",
        "base_commit",
        "branch",
        "verdict",
        "commands",
        "failed_commands",
        "edits",
        "notes",
        "interrupted",
        "problem",
        "shell_kind",
        "tracer_version",
    ),
    "commands": (
        "session_id",
        "command_id",
        "start_us",
        "end_us",
        "duration",
        "command",
        "cwd",
        "exit_status",
        "finished",
        "program",
        "is_test",
        "tests_failed",
        "error_rule",
        "error_detail",
    ),
    "failed_tests": ("session_id", "command_id", "test"),
    "edits": ("session_id", "t_us", "path", "op", "command_id", "added", "removed"),
    "notes": ("session_id", "note_id", "t_us", "text", "tags", "source", "command_id"),
}

#: Characters of a command line, a task or a note kept in the index (it is for counting and showing).
MAX_TEXT = 2000

#: Old sessions (no UUID in the header) get a UUID 5 of their path in this namespace.
_NAMESPACE = uuid.UUID("b0f4a0a2-3c1e-5d8e-9f7a-2e6c1d4b8a93")

# Programs whose first argument says what they do: `git commit` and `git status` are different commands.
_SUBCOMMANDS = frozenset(
    {
        "git",
        "cargo",
        "go",
        "npm",
        "pnpm",
        "yarn",
        "bun",
        "deno",
        "pip",
        "pip3",
        "uv",
        "poetry",
        "pdm",
        "hatch",
        "docker",
        "podman",
        "kubectl",
        "helm",
        "terraform",
        "make",
        "gmake",
        "just",
        "tracer",
        "gh",
        "conda",
        "mamba",
        "brew",
        "apt",
        "apt-get",
        "dnf",
        "systemctl",
        "dotnet",
        "rustup",
        "nix",
        "mvn",
        "gradle",
    }
)
_PYTHON_MODULE_RUNNERS = frozenset({"python", "python3", "py"})


class Batch:
    """Rows of several sessions, column-wise: ``columns[table][column] -> list``."""

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, list[Any]]] = {t: {c: [] for c in cols} for t, cols in COLUMNS.items()}
        self.sessions = 0

    @property
    def rows(self) -> int:
        """Rows held, all tables together."""
        return sum(len(next(iter(cols.values()))) for cols in self.columns.values())

    def add(self, table: str, *values: Any) -> None:
        """Append one row to ``table``, its values in the order of :data:`COLUMNS`."""
        for column, value in zip(self.columns[table].values(), values, strict=True):
            column.append(value)


def name(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """A name (path, command line) as the index stores it, as the dataset does: itself when it is valid UTF-8,
    else git's quoted form of its bytes (:func:`tracer.model.quote_text`); at most ``limit`` characters."""
    if value is None:
        return None
    return (value if is_utf8(value) else quote_text(value))[:limit]


def text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Content (a task, a note, a test name) as the index stores it, as the dataset does: lone surrogates (bytes
    that were not UTF-8) replaced by U+FFFD; at most ``limit`` characters."""
    if value is None:
        return None
    return (value if is_utf8(value) else _SURROGATE.sub("\ufffd", value))[:limit]


_SURROGATE = re.compile("[\ud800-\udfff]")


def session_key(session: Session, path: str, taken: set[str]) -> str:
    """The session's id in the index: its UUID; a UUID 5 of ``path`` for sessions without one, and for a copy of
    a session already in the index (its UUID in ``taken``). The id is added to ``taken``."""
    key = session.header.uuid
    if not key or key in taken:
        key = str(uuid.uuid5(_NAMESPACE, path))
    taken.add(key)
    return key


def add_session(batch: Batch, session: Session, *, key: str, path: str, rules: Rules) -> None:
    """Append the rows of ``session`` (read from ``path``) to ``batch``, under the id ``key``."""
    h = session.header
    events = session.events
    commands, spans = pair_commands(events)
    changes = [e for e in events if isinstance(e, FileChange)]
    notes = session.notes()
    result = session.verify_result
    failed = 0
    for c in commands:
        status = -1 if c.exit_status is None else c.exit_status
        rule = detail = None
        output: bytes | None = None
        if c.failed:
            failed += 1
            output = _head_and_tail(events, *spans[c.id])
            failure = rules.classify(output, status, c.command)
            rule, detail = failure.rule, text(failure.detail)
            for test in failure.tests:
                batch.add("failed_tests", key, c.id, text(test))
        program, is_test = command_kind(c.command)
        tests_failed = None
        if is_test:
            if output is None:
                output = _head_and_tail(events, *spans[c.id])
            outcome = test_run_outcome(c.command, c.exit_status, output[-SUMMARY_TAIL:].decode("utf-8", "replace"))
            tests_failed = None if outcome is None else not outcome
        batch.add(
            "commands",
            key,
            c.id,
            c.start,
            -1 if c.end is None else c.end,
            c.duration,
            name(c.command),
            name(c.cwd),
            status,
            c.exit_status is not None,
            name(program),
            is_test,
            tests_failed,
            rule,
            detail,
        )
    for fc in changes:
        batch.add("edits", key, fc.t, name(fc.path), name(fc.op, 16), _id(fc.command_id), fc.added, fc.removed)
    for n in notes:
        tags = [t for t in (text(tag, 100) for tag in n.tags) if t is not None]
        batch.add("notes", key, name(n.id, 64), n.t, text(n.text), tags, name(n.source, 16), _id(n.command_id))
    batch.add(
        "sessions",
        key,
        name(h.session_id),
        name(path),
        _utc(h.started_at),
        session.duration,
        text(h.task),
        name(getattr(h, "repository", None)),
        name(h.workspace),
        name(h.head_commit, 64),
        name(h.branch),
        name(result.verdict, 16) if result is not None else None,
        len(commands),
        failed,
        len(changes),
        len(notes),
        session.interrupted,
        text(session.problem),
        name(h.shell_kind, 16),
        text(h.tracer_version, 100),
    )
    batch.sessions += 1


def _id(value: int | None) -> int:
    return -1 if value is None else value


def _utc(when: str) -> dt.datetime:
    """RFC 3339 text as a naive datetime in UTC (the index's TIMESTAMP columns hold UTC)."""
    try:
        parsed = parse_rfc3339(when)
    except ValueError:
        return dt.datetime(1970, 1, 1)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _head_and_tail(events: list[Event], first: int, stop: int) -> bytes:
    """The first :data:`HEAD_BYTES` and the last :data:`TAIL_BYTES` of the output between ``events[first:stop]``,
    without joining more than that (a failed command's output may be hundreds of megabytes)."""
    head: list[bytes] = []
    head_size = 0
    tail: collections.deque[bytes] = collections.deque()
    tail_size = 0
    for e in events[first:stop]:
        if type(e) is not Output:
            continue
        data = e.data
        if head_size < HEAD_BYTES:
            head.append(data[: HEAD_BYTES - head_size])
            head_size += len(head[-1])
            data = data[len(head[-1]) :]
            if not data:
                continue
        tail.append(data)
        tail_size += len(data)
        while tail_size - len(tail[0]) >= TAIL_BYTES:
            tail_size -= len(tail.popleft())
    out = b"".join(head)
    if tail:
        rest = b"".join(tail)
        out += rest[-TAIL_BYTES:] if tail_size > TAIL_BYTES else rest
    return out


@functools.lru_cache(maxsize=8192)
def command_kind(line: str) -> tuple[str, bool]:
    """``(program, runs_tests)`` of a command line.

    ``program`` is what insights counts the line as: the test run's program where the line runs tests, else the
    first simple command that is not a ``cd``; wrappers and assignments removed (``uv run pytest`` → ``pytest``),
    with the subcommand for programs that have them (``git commit``, ``cargo build``, ``make test``) and the
    module for ``python -m X``. ``runs_tests`` comes from :func:`tracer.commandline.test_programs`.
    """
    tests = test_programs(line)
    if tests:
        return _key(list(tests[-1].words)), True
    for words in simple_commands(line):
        rest = unwrap(words)
        if rest and os.path.basename(rest[0]) not in ("cd", "pushd", "popd"):
            return _key(rest), False
    return (name(line.strip().split(" ", 1)[0], 100) or ""), False


def _key(words: list[str]) -> str:
    prog = os.path.basename(words[0])
    args = words[1:]
    if prog in _PYTHON_MODULE_RUNNERS or prog.startswith("python"):
        if len(args) >= 2 and args[0] == "-m":
            return name(f"{prog} -m {args[1]}", 100) or prog
        return name(prog, 100) or ""
    if prog in _SUBCOMMANDS:
        if prog == "git":  # git -C DIR / -c NAME=VALUE come before the subcommand
            while len(args) >= 2 and args[0] in ("-C", "-c"):
                args = args[2:]
        sub = next((a for a in args if not a.startswith("-") and "=" not in a), None)
        if sub is not None:
            return name(f"{prog} {sub}", 100) or prog
    return name(prog, 100) or ""
