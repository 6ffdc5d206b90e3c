"""The rows of the replay's timeline: commands, edits, notes, final patch and verdict, in time order."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

from tracer.model import (
    Command,
    Event,
    FileChange,
    FinalPatch,
    Note,
    Output,
    VerifyResult,
    pair_commands,
)

ItemKind = Literal["command", "edit", "note", "patch", "verify"]

_KIND_ORDER = {"command": 0, "edit": 1, "note": 2, "patch": 3, "verify": 4}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verdict to show: from the session (``source="session"``) or from ``v`` in this replay.

    Attributes:
        verdict: ``resolved``, ``passed``, ``failed``, ``timeout``, ``error`` or ``running``.
        exit_status: the verify command's (or test command's) exit status, ``None`` while running.
        detail: one line saying more (test counts, the command).
    """

    verdict: str
    exit_status: int | None
    detail: str = ""
    source: str = "session"

    @classmethod
    def from_result(cls, result: VerifyResult) -> Verdict:
        """The verdict a recorded :class:`~tracer.model.VerifyResult` gives."""
        return cls(result.verdict, result.exit_status, result.counts() or result.command)


@dataclass(frozen=True, slots=True)
class Item:
    """One row of the timeline.

    Attributes:
        kind: what the row shows.
        t: microseconds since session start (the moment a click seeks to).
        ref: the thing itself.
    """

    kind: ItemKind
    t: int
    ref: Command | FileChange | Note | FinalPatch | Verdict


def build_items(
    commands: list[Command],
    edits: list[FileChange],
    notes: list[Note],
    final_patch: FinalPatch | None,
    verdict: Verdict | None,
    end: int,
) -> list[Item]:
    """All rows, ordered by time (commands before edits before notes at the same moment); the verdict last.

    Args:
        end: microseconds since start of the session's end (where the verdict row seeks to).
    """
    items = [Item("command", c.start, c) for c in commands]
    items += [Item("edit", e.t, e) for e in edits]
    items += [Item("note", n.t, n) for n in notes]
    if final_patch is not None:
        items.append(Item("patch", final_patch.t, final_patch))
    items.sort(key=lambda i: (i.t, _KIND_ORDER[i.kind]))
    if verdict is not None:
        items.append(Item("verify", max(end, items[-1].t if items else 0), verdict))
    return items


@dataclass(slots=True)
class CommandIndex:
    """The session's commands without their output, and where each one's output lies in the events.

    Attributes:
        commands: as :meth:`tracer.model.Session.commands` gives them, but with ``output=b""``.
        spans: command id -> ``(first, stop)``: indices into the events between which its output lies.
    """

    commands: list[Command]
    spans: dict[int, tuple[int, int]]

    def output(self, events: list[Event], command_id: int) -> bytes:
        """The bytes the command printed (what :attr:`tracer.model.Command.output` holds)."""
        first, stop = self.spans.get(command_id, (0, 0))
        return b"".join(e.data for e in events[first:stop] if isinstance(e, Output))


def index_commands(events: list[Event]) -> CommandIndex:
    """Pair command starts and ends in one pass, without copying any output (cheap for 100 MB sessions).

    Output belongs to the running command, as in :meth:`tracer.model.Session.commands`.
    """
    return CommandIndex(*pair_commands(events))


def current_index(items: list[Item], times: list[int], t: int) -> int | None:
    """Index of the last row at or before ``t`` (``times``: each row's ``t``), ``None`` before the first."""
    i = bisect_right(times, t) - 1
    return i if i >= 0 else None


def patch_counts(patch: str) -> tuple[int, int]:
    """Added and removed lines of a unified diff (``+++``/``---`` headers not counted)."""
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def running_command(commands: list[Command], starts: list[int], t: int) -> Command | None:
    """The command running at ``t`` (started at or before it, not yet ended), if any."""
    i = bisect_right(starts, t) - 1
    while i >= 0:
        c = commands[i]
        if c.end is None or c.end > t:
            return c
        if c.end <= t:
            return None
        i -= 1
    return None


def format_clock(us: int | float) -> str:
    """``m:ss.s`` or ``h:mm:ss`` for a duration in microseconds."""
    seconds = max(0.0, us / 1e6)
    if seconds >= 3600:
        h, rest = divmod(int(seconds), 3600)
        return f"{h}:{rest // 60:02d}:{rest % 60:02d}"
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def format_duration(seconds: float | None) -> str:
    """A short duration: ``850ms``, ``1.2s``, ``3m05s``, ``1h02m``; ``…`` when unknown."""
    if seconds is None:
        return "…"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


__all__ = [
    "CommandIndex",
    "Item",
    "ItemKind",
    "Verdict",
    "build_items",
    "current_index",
    "format_clock",
    "format_duration",
    "index_commands",
    "patch_counts",
    "running_command",
]
