"""``tracer insights`` as text a person reads: a few short tables, bars and sparklines, like ``atuin stats``.

:func:`render` returns the text; with ``color`` it carries ANSI styles (click's), which a terminal shows and
``rich.text.Text.from_ansi`` turns into a renderable (the replay's insights view).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence

import click

from tracer.insights._figures import Insights, Totals, change
from tracer.model import format_whole_seconds, visible

_SPARKS = "▁▂▃▄▅▆▇█"
_BAR = "█"
#: Columns a sparkline takes at most (days are grouped into as many buckets).
SPARK_WIDTH = 30

Style = Callable[..., str]


def render(ins: Insights, *, color: bool, width: int = 80) -> str:
    """The figures as text, at most ``width`` columns wide (long names are cut with ``…``)."""
    width = max(60, width)
    st: Style = click.style if color else _plain
    scope = f"repository {_home(ins.repository)}" if ins.repository else "all repositories"
    p = ins.period
    out = [
        st(f"tracer insights · {p.label}", bold=True) + st(f" · {scope}", dim=True),
        st(f"{_day(p.since)} → {_day(p.until)}, against {_day(p.previous)} → {_day(p.since)}", dim=True),
        "",
    ]
    if not ins.current.sessions and not ins.previous.sessions:
        out.append("no sessions recorded in this period or the one before: record one with `tracer shell`")
    else:
        out += _counts(ins, st, width)
        out += _debugging(ins, st, width)
        out += _ranking("Most run", [(r.program, r.runs, f"{r.runs:,}") for r in ins.top_commands], "cyan", st)
        failing = [(r.program, r.failed, f"{r.failed:,} of {r.runs:,}") for r in ins.top_failing]
        out += _ranking("Most failing", failing, "red", st)
        out += _patterns(ins, st, width)
        out += _failing_tests(ins, st, width)
        out += _repositories(ins, st, width)
    out += _notes(ins, st, width)
    return "\n".join(out) + "\n"


def _counts(ins: Insights, st: Style, width: int) -> list[str]:
    cur, prev = ins.current, ins.previous
    spark = _sparkline([d.sessions for d in ins.activity])
    rows: list[tuple[str, str, str, str]] = [
        ("sessions", f"{cur.sessions:,}", _trend(cur.sessions, prev.sessions, st), spark + " per day" if spark else ""),
        ("time recorded", duration(cur.seconds), _trend(cur.seconds, prev.seconds, st), ""),
        ("commands", f"{cur.commands:,}", _trend(cur.commands, prev.commands, st), ""),
        (
            "failed",
            f"{cur.failed:,}",
            _trend(cur.failed, prev.failed, st, bad_up=True),
            _rate(cur) + f" of commands (before: {_rate(prev)})",
        ),
        ("edits", f"{cur.edits:,}", _trend(cur.edits, prev.edits, st), ""),
        ("notes", f"{cur.notes:,}", _trend(cur.notes, prev.notes, st), ""),
    ]
    out = [
        f"  {name:<14}{st(f'{value:>9}', bold=True)}  {trend}  {_fit(extra, width - 37)}"
        for name, value, trend, extra in rows
    ]
    verdicts = " · ".join(f"{v} {n}" for v, n in ins.verdicts.items()) or "-"
    out.append(f"  {'verdicts':<14}{_fit(verdicts, width - 16)}")
    if cur.interrupted:
        out.append(f"  {'':<14}{_plural(cur.interrupted, 'interrupted recording')}")
    return out


def _debugging(ins: Insights, st: Style, width: int) -> list[str]:
    d, pd = ins.debugging, ins.previous_debugging
    out = ["", st("Debugging loop", bold=True)]
    if not d.sessions_with_tests:
        out.append("  no test command ran in this period (pytest, go test, cargo test, npm test, make test…)")
        return out
    if d.loops and d.median_seconds is not None and d.max_seconds is not None:
        loop = (
            f"median {st(duration(d.median_seconds), bold=True)}, slowest {duration(d.max_seconds)} "
            f"({_plural(d.loops, 'session')})"
        )
        if pd.loops and pd.median_seconds:
            loop += "  " + _trend(d.median_seconds, pd.median_seconds, st, bad_up=True)
    else:
        loop = "no failing test was followed by a passing one"
    out.append(f"  {'failing → passing test':<26}{loop}")
    per = d.cycles / d.sessions_with_tests
    out.append(f"  {'edit → test cycles':<26}{st(str(d.cycles), bold=True)} ({per:.1f} per session with tests)")
    out.append(
        f"  {'test runs':<26}{d.test_runs:,} in {_plural(d.sessions_with_tests, 'session')}, "
        f"{d.sessions_with_failures} with a failure"
    )
    ended = st(str(d.abandoned), bold=True, fg="red" if d.abandoned else None)
    out.append(f"  {'ended on a failing test':<26}{ended} " + ("session" if d.abandoned == 1 else "sessions"))
    for a in ins.abandoned[:5]:
        what = a.task or _fit_path(_home(a.repository), width - 36)
        out.append(f"      {st(_fit(a.session_name, 26), dim=True)}  {_fit(what, width - 36)}")
    return out


def _patterns(ins: Insights, st: Style, width: int) -> list[str]:
    if not ins.error_patterns:
        return []
    out = ["", st("Error patterns", bold=True) + st(f"  ({_plural(ins.current.failed, 'failed command')})", dim=True)]
    out.append(st(f"  {'':<34} {'count':>6} {'share':>6}  trend", dim=True))
    for p in ins.error_patterns:
        label = p.label + (f" ({', '.join(p.examples)})" if p.examples else "")
        trend = _trend(p.count, p.previous, st, bad_up=True)
        out.append(f"  {_fit(label, 34):<34} {p.count:>6,} {p.share:>6.0%}  {trend}")
        if p.suggestion:
            out.append("      " + st(_fit("→ " + p.suggestion, width - 6), dim=True))
    return out


def _failing_tests(ins: Insights, st: Style, width: int) -> list[str]:
    if not ins.failing_tests:
        return []
    out = ["", st("Failing tests", bold=True)]
    for t in ins.failing_tests:
        trend = _trend(t.count, t.previous, st, bad_up=True)
        name = _fit(t.test, width - 36)
        out.append(f"  {name:<{width - 36}} {t.count:>4}× in {_plural(t.sessions, 'session'):<12} {trend}")
    return out


def _repositories(ins: Insights, st: Style, width: int) -> list[str]:
    if len(ins.repositories) < 2:  # one repository: the counts above are its own
        return []
    out = ["", st("Repositories", bold=True)]
    top = ins.repositories[0].sessions
    for repo in ins.repositories:
        rate = f"{repo.failed / repo.commands:.0%} failed" if repo.commands else "no commands"
        bar = st(f"{_bar(repo.sessions, top, 8):<8}", fg="cyan")
        name = _fit_path(_home(repo.repository), width - 50)
        out.append(
            f"  {name:<{width - 50}} {repo.sessions:>4} {bar} {duration(repo.seconds):>7} "
            f"{repo.commands:>7,} cmds {rate:>9}"
        )
    return out


def _ranking(title: str, rows: list[tuple[str, int, str]], color: str, st: Style) -> list[str]:
    """A titled list of ``(name, value, value as shown)`` with a bar each, longest for the first row."""
    if not rows:
        return []
    top = rows[0][1]
    lines = ["", st(title, bold=True)]
    for name, value, shown in rows:
        lines.append(f"  {_fit(name, 24):<24} {shown:>14}  {st(_bar(value, top, 20), fg=color)}")
    return lines


def _notes(ins: Insights, st: Style, width: int) -> list[str]:
    lines = ["", *(st(_fit(note, width), dim=True) for note in ins.notes)] if ins.notes else []
    return [*lines, "", st("from " + _fit_path(_home(ins.source), width - 5), dim=True)]


def duration(seconds: float) -> str:
    """``42s``, ``6m12s``, ``4h12m``, ``3d04h`` (:func:`tracer.model.format_whole_seconds`)."""
    return format_whole_seconds(round(seconds))


def _trend(current: float, previous: float, st: Style, *, bad_up: bool = False) -> str:
    """``▲ 50%`` / ``▼ 23%`` against the previous period, ``new`` when it had none, ``=`` when equal, padded to
    7 columns. With ``bad_up`` (failures) a rise is red and a fall green."""
    if current == previous:
        return st(f"{'=':<7}", dim=True)
    c = change(current, previous)
    if c is None:
        return st(f"{'new':<7}", fg="yellow")
    up = c > 0
    color = ("red" if up else "green") if bad_up else None
    text = f"{'▲' if up else '▼'} {abs(c):.0%}" if abs(c) < 10 else f"▲ ×{1 + c:.0f}"  # over +999%: a factor
    return st(f"{text:<7}", fg=color)


def _rate(t: Totals) -> str:
    rate = t.failure_rate
    return "-" if rate is None else f"{rate:.1%}"


def _sparkline(values: Sequence[int]) -> str:
    """One character per value (``·`` for none; values grouped into at most :data:`SPARK_WIDTH` buckets); ``""``
    when all are 0."""
    if not values or not any(values):
        return ""
    if len(values) > SPARK_WIDTH:
        size = -(-len(values) // SPARK_WIDTH)
        values = [sum(values[i : i + size]) for i in range(0, len(values), size)]
    top = max(values)
    return "".join("·" if v == 0 else _SPARKS[min(len(_SPARKS) - 1, (v * len(_SPARKS) - 1) // top)] for v in values)


def _bar(value: int, top: int, width: int) -> str:
    return _BAR * max(1, round(width * value / top)) if top and value else ""


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _fit(text: str, width: int) -> str:
    """``text`` (from a session: escaped, see :func:`tracer.model.visible`) cut to ``width`` characters."""
    text = visible(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _fit_path(path: str, width: int) -> str:
    """``path`` (escaped) cut at its start (``…/src/project``) to ``width`` characters: its end names it."""
    path = visible(path)
    return path if len(path) <= width else "…" + path[len(path) - width + 1 :]


def _day(when: dt.datetime) -> str:
    return (when.replace(tzinfo=dt.UTC).astimezone()).strftime("%Y-%m-%d")


def _home(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + "/") else path


def _plain(text: str, **_: object) -> str:
    return text
