"""The figures of ``tracer insights``: the named queries run for a period and the one before it, as plain data.

Everything here works on a DuckDB connection whose tables are the index's (or a dataset's, see ``_dataset``);
nothing reads a session file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tracer.errors import UsageError
from tracer.insights._patterns import Rules
from tracer.insights._sql import execute, sql
from tracer.model import CARRIED_STATUS

#: Rows of each ranking (commands, error patterns, failing tests, repositories, abandoned sessions).
LIMIT = 10

_SPAN = re.compile(r"(\d+)\s*([hdwmy])")
_UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open period of wall-clock time [``since``, ``until``) and the period of the same length before it.

    Attributes:
        since, until, previous: naive datetimes in UTC (``previous`` starts the period before).
        label: how it was asked for (``"last 30 days"``, ``"since 2026-11-01"``).
    """

    since: dt.datetime
    until: dt.datetime
    previous: dt.datetime
    label: str

    @property
    def days(self) -> float:
        """Length in days."""
        return (self.until - self.since).total_seconds() / 86400


def parse_period(text: str | None, now: dt.datetime | None = None) -> Period:
    """The period ``--since TEXT`` asks for: ``7d``, ``30d``, ``12h``, ``2w``, ``6m`` (30-day months), ``1y``
    (365 days), or a date (``2026-11-01``, local midnight) or date and time (ISO 8601, local unless it has an
    offset); ``None`` means ``30d``. It ends at ``now`` (default: the current time).

    Raises:
        UsageError: the text is none of these, or the date is in the future.
    """
    now = now or dt.datetime.now(dt.UTC)
    until = now.astimezone(dt.UTC).replace(tzinfo=None)
    text = (text or "30d").strip()
    m = _SPAN.fullmatch(text.lower())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n <= 0:
            raise UsageError(f"--since {text}: the period must be longer than zero")
        step = _UNITS.get(unit) or dt.timedelta(days=30 if unit == "m" else 365)
        since = until - n * step
        words = {"h": "hour", "d": "day", "w": "week", "m": "month", "y": "year"}[unit]
        label = f"last {n} {words}" + ("s" if n != 1 else "")
    else:
        try:
            start = dt.datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"--since {text!r} is neither a period (7d, 30d, 12h, 2w, 6m, 1y) nor a date (2026-11-01)"
            ) from None
        if start.tzinfo is None:
            start = start.astimezone()  # the user's local time
        since = start.astimezone(dt.UTC).replace(tzinfo=None)
        if since >= until:
            raise UsageError(f"--since {text}: that is not in the past")
        label = f"since {text}"
    return Period(since=since, until=until, previous=since - (until - since), label=label)


@dataclass(frozen=True, slots=True)
class Totals:
    """Counts of a period. ``seconds``: time recorded; ``failed``: commands with a non-zero exit status."""

    sessions: int = 0
    seconds: float = 0.0
    commands: int = 0
    failed: int = 0
    edits: int = 0
    notes: int = 0
    interrupted: int = 0
    repositories: int = 0

    @property
    def failure_rate(self) -> float | None:
        """``failed / commands``, ``None`` without commands."""
        return self.failed / self.commands if self.commands else None


@dataclass(frozen=True, slots=True)
class Debugging:
    """The debugging loop of a period.

    Attributes:
        sessions_with_tests: sessions that ran at least one test command; ``test_runs``: how many they ran.
        sessions_with_failures: sessions where a test run failed.
        loops: sessions where a passing test run followed the first failing one.
        median_seconds, max_seconds: time from the end of the first failing test run to the end of the first
            passing one after it, over those sessions (``None`` without any).
        cycles: edit → test cycles: test runs with at least one edit since the previous test run (or the start).
        abandoned: sessions whose last test run failed.
    """

    sessions_with_tests: int = 0
    test_runs: int = 0
    sessions_with_failures: int = 0
    loops: int = 0
    median_seconds: float | None = None
    max_seconds: float | None = None
    cycles: int = 0
    abandoned: int = 0


@dataclass(frozen=True, slots=True)
class Ranked:
    """A command as insights counts it (``program``: ``pytest``, ``git commit``) with its runs and failures."""

    program: str
    runs: int
    failed: int


@dataclass(frozen=True, slots=True)
class Pattern:
    """One row of the error patterns: a rule (and a detail, for rules grouped by detail).

    Attributes:
        rule: the rule's id, ``None`` for failures no rule recognised.
        detail: the detail of this row (an exception type, an error code) or ``None``.
        label: what to show. examples: the most frequent details, for rules grouped as one row.
        count, previous: failed commands in the period and in the one before.
        share: ``count`` / failed commands of the period. suggestion: one line, ``""`` when none is known.
    """

    rule: str | None
    detail: str | None
    label: str
    count: int
    previous: int
    share: float
    suggestion: str
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FailingTest:
    """A test that failed: failed test runs naming it in the period, in the one before, and its sessions."""

    test: str
    count: int
    previous: int
    sessions: int


@dataclass(frozen=True, slots=True)
class Repository:
    """The figures of one repository (its remote URL when known, else its directory)."""

    repository: str
    sessions: int
    seconds: float
    commands: int
    failed: int
    edits: int
    last_started: dt.datetime


@dataclass(frozen=True, slots=True)
class Abandoned:
    """A session whose last test run failed."""

    session_id: str
    session_name: str
    started_at: dt.datetime
    task: str | None
    repository: str


@dataclass(frozen=True, slots=True)
class Day:
    """Activity of one local day."""

    day: dt.date
    sessions: int
    commands: int
    failed: int


@dataclass(slots=True)
class Insights:
    """Everything ``tracer insights`` shows, for a period and against the one before it.

    Attributes:
        period: the period. repository: the ``--repo`` filter, ``None`` for all.
        source: where the figures come from (the index file, or the dataset directory).
        current, previous: totals of the period and of the one before.
        verdicts, previous_verdicts: sessions by their newest verify verdict (``unverified`` when none).
        activity: one :class:`Day` per local day of the period, zeros included.
        debugging: the debugging loop. abandoned: the newest sessions that ended on a failing test run.
        top_commands, top_failing: commands most often run, and most often failing.
        error_patterns: failures grouped by error pattern, most frequent first. failing_tests: likewise by test.
        repositories: per repository (only when ``repository`` is ``None``).
        notes: remarks about the data (unreadable sessions, a rebuilt index), one sentence each.
    """

    period: Period
    repository: str | None
    source: str
    current: Totals
    previous: Totals
    verdicts: dict[str, int]
    previous_verdicts: dict[str, int]
    activity: list[Day]
    debugging: Debugging
    previous_debugging: Debugging
    abandoned: list[Abandoned]
    top_commands: list[Ranked]
    top_failing: list[Ranked]
    error_patterns: list[Pattern]
    failing_tests: list[FailingTest]
    repositories: list[Repository]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-ready data: times as RFC 3339 (UTC, ``Z``), dates as ``YYYY-MM-DD``, rates as
        fractions, durations in seconds; trends as ``{"current", "previous", "change"}`` (change: a fraction, or
        ``null`` when the previous period had none)."""
        data: dict[str, Any] = _plain(asdict(self))
        data["period"]["days"] = self.period.days
        for totals, name in ((self.current, "current"), (self.previous, "previous")):
            data[name]["failure_rate"] = totals.failure_rate
        data["trends"] = {
            key: {"current": getattr(self.current, key), "previous": getattr(self.previous, key)}
            | {"change": change(getattr(self.current, key), getattr(self.previous, key))}
            for key in ("sessions", "seconds", "commands", "failed", "edits", "notes")
        }
        for p in data["error_patterns"]:
            p["change"] = change(p["count"], p["previous"])
        for t in data["failing_tests"]:
            t["change"] = change(t["count"], t["previous"])
        return data


def change(current: float, previous: float) -> float | None:
    """``(current - previous) / previous``, ``None`` when ``previous`` is zero."""
    return (current - previous) / previous if previous else None


def compute(con: Any, rules: Rules, period: Period, repository: str | None, *, source: str) -> Insights:
    """Run the named queries on ``con`` for ``period`` (and the one before it), of ``repository`` or all.

    Args:
        con: a DuckDB connection with the index's tables and the ``macros`` block run.
        rules: the error patterns (labels and suggestions of the rules the rows name).
        repository: a repository's directory (or a directory inside it, or its remote URL), ``None`` for all.
        source: where the tables come from, for the reader.
    """
    now = {"since": period.since, "until": period.until, "repo": repository}
    before = {"since": period.previous, "until": period.since, "repo": repository}
    both = {**now, "previous": period.previous}
    offset = dt.datetime.now().astimezone().utcoffset() or dt.timedelta()
    current = _totals(con, now)
    activity = _rows(con, "activity", {**now, "utc_offset": int(offset.total_seconds())})
    return Insights(
        period=period,
        repository=repository,
        source=source,
        current=current,
        previous=_totals(con, before),
        verdicts=dict(_rows(con, "verdicts", now)),
        previous_verdicts=dict(_rows(con, "verdicts", before)),
        activity=_days(period, offset, activity),
        debugging=Debugging(*_rows(con, "debugging", now)[0]),
        previous_debugging=Debugging(*_rows(con, "debugging", before)[0]),
        abandoned=[Abandoned(*r) for r in _rows(con, "abandoned", {**now, "limit": LIMIT})],
        top_commands=[Ranked(*r) for r in _rows(con, "top_commands", {**now, "limit": LIMIT})],
        top_failing=[Ranked(p, runs, failed) for p, failed, runs in _rows(con, "top_failing", {**now, "limit": LIMIT})],
        error_patterns=_patterns(
            _rows(con, "error_patterns", {**both, "carried": list(CARRIED_STATUS)}), rules, current.failed
        ),
        failing_tests=[FailingTest(*r) for r in _rows(con, "failing_tests", {**both, "limit": LIMIT})],
        repositories=(
            [Repository(*r) for r in _rows(con, "repositories", {**now, "limit": LIMIT})] if repository is None else []
        ),
    )


def _rows(con: Any, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = execute(con, sql(name), params).fetchall()
    return rows


def _totals(con: Any, params: dict[str, Any]) -> Totals:
    sessions, seconds, commands, failed, edits, notes, interrupted, repositories = _rows(con, "totals", params)[0]
    return Totals(
        int(sessions),
        float(seconds),
        int(commands),
        int(failed),
        int(edits),
        int(notes),
        int(interrupted),
        int(repositories),
    )


def _days(period: Period, offset: dt.timedelta, rows: list[tuple[Any, ...]]) -> list[Day]:
    first = (period.since + offset).date()
    last = (period.until + offset).date()
    found = {day: Day(day, int(s), int(c), int(f)) for day, s, c, f in rows}
    out = []
    day = first
    while day <= last:
        out.append(found.get(day, Day(day, 0, 0, 0)))
        day += dt.timedelta(days=1)
    return out


def _patterns(rows: list[tuple[Any, ...]], rules: Rules, failed: int) -> list[Pattern]:
    """Group ``(rule, detail, count, previous)`` rows as the rules say (by detail or as one row)."""
    groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for rule_id, detail, count, previous in rows:
        rule = rules[rule_id] if rule_id is not None else None
        by_rule = rule_id is None or rule is None or rule.group == "rule"
        key = (rule_id, None if by_rule else detail)
        g = groups.setdefault(key, {"count": 0, "previous": 0, "examples": {}})
        g["count"] += count
        g["previous"] += previous
        if by_rule and detail and count and (rule is None or rule.kind != "tests"):  # tests have their own table
            g["examples"][detail] = g["examples"].get(detail, 0) + count
    out = []
    for (rule_id, detail), g in groups.items():
        if not g["count"]:
            continue
        rule = rules[rule_id] if rule_id is not None else None
        if rule_id is None:
            label, suggestion = "not recognised", ""
        elif rule is None:
            label, suggestion = rule_id, ""
        else:
            label, suggestion = rule.label_for(detail), rule.suggestion_for(detail)
        examples = sorted(g["examples"], key=lambda d: (-g["examples"][d], d))[:3]
        out.append(
            Pattern(
                rule=rule_id,
                detail=detail,
                label=label,
                count=g["count"],
                previous=g["previous"],
                share=g["count"] / failed if failed else 0.0,
                suggestion=suggestion,
                examples=examples,
            )
        )
    out.sort(key=lambda p: (p.rule is None, -p.count, -p.previous, p.label))
    return out[:LIMIT]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value.tzinfo is None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
