"""The rows of the replay's timeline: the start state, commands, edits, notes, final patch and verdict, in time
order."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tracer.model import (
    Command,
    FileChange,
    FinalPatch,
    JudgeResult,
    Note,
    VerifyResult,
    file_diffs,
    format_whole_seconds,
)

ItemKind = Literal["start", "command", "edit", "note", "patch", "verify", "judge"]

_KIND_ORDER = {"start": -1, "command": 0, "edit": 1, "note": 2, "patch": 3, "verify": 4, "judge": 5}


@dataclass(frozen=True, slots=True)
class StartState:
    """What the work tree held at the start beside the start commit (the header's ``baseline_patch``), and what
    that patch leaves out (``baseline_omitted``, ``"path: why"`` each).

    Attributes:
        patch: the uncommitted changes present at start, in ``git diff --binary`` form.
        omitted: what the start state leaves out.
    """

    patch: str
    omitted: tuple[str, ...] = ()

    @property
    def files(self) -> int:
        """Files the patch changes (its ``diff --git`` lines)."""
        return file_diffs(self.patch)


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
        count: its moment in the stream (stream items before it; see :class:`tracer.replay.source.SessionIndex`).
    """

    kind: ItemKind
    t: int
    ref: Command | FileChange | Note | FinalPatch | Verdict | JudgeResult | StartState
    count: int = 0

    @property
    def moment(self) -> tuple[int, int]:
        """``(count, t)``: the order of moments."""
        return (self.count, self.t)


def build_items(
    commands: list[Command],
    edits: list[FileChange],
    notes: list[Note],
    final_patch: FinalPatch | None,
    verdict: Verdict | None,
    end: tuple[int, int],
    moment_of: Callable[[Command | FileChange | Note | FinalPatch], int] = lambda ref: 0,
    judgement: JudgeResult | None = None,
    start: StartState | None = None,
) -> list[Item]:
    """All rows, ordered by moment (commands before edits before notes at the same moment); the start state first,
    the verdict and the judgement last.

    Args:
        end: ``(count, t)`` of the session's end (where the verdict and judgement rows seek to).
        moment_of: the stream count of a row's thing.
        judgement: the newest ``tracer judge`` result, if any.
        start: the start state, when the session started with uncommitted changes (or left some out).
    """
    items = [Item("start", 0, start, 0)] if start is not None else []
    items += [Item("command", c.start, c, moment_of(c)) for c in commands]
    items += [Item("edit", e.t, e, moment_of(e)) for e in edits]
    items += [Item("note", n.t, n, moment_of(n)) for n in notes]
    if final_patch is not None:
        items.append(Item("patch", final_patch.t, final_patch, moment_of(final_patch)))
    items.sort(key=lambda i: (i.count, i.t, _KIND_ORDER[i.kind]))
    last = max([end, *(i.moment for i in items[-1:])])
    if verdict is not None:
        items.append(Item("verify", last[1], verdict, last[0]))
    if judgement is not None:
        items.append(Item("judge", last[1], judgement, last[0]))
    return items


def current_index(moments: list[tuple[int, int]], moment: tuple[int, int]) -> int | None:
    """Index of the last row at or before ``moment`` (``moments``: each row's ``(count, t)``), ``None`` before the
    first."""
    i = bisect_right(moments, moment) - 1
    return i if i >= 0 else None


def patch_counts(patch: str) -> tuple[int, int]:
    """Added and removed lines of a unified diff (lines starting ``+++``/``---``, the headers, not counted).

    Counted by ``str.count`` of the line starts, without splitting the patch into lines: a start state of 3.2 million
    lines took 0.6 s and a string object per line."""
    text = "\n" + patch
    added = text.count("\n+") - text.count("\n+++")
    removed = text.count("\n-") - text.count("\n---")
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
    """A short duration: ``850ms``, ``1.2s``, ``3m05s``, ``1h02m``, ``3d04h``; ``…`` when unknown."""
    if seconds is None:
        return "…"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return format_whole_seconds(int(seconds))


__all__ = [
    "Item",
    "ItemKind",
    "Verdict",
    "build_items",
    "current_index",
    "format_clock",
    "format_duration",
    "patch_counts",
    "running_command",
]
