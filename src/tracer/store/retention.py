"""Removing sessions: ``tracer rm``, ``tracer purge``, and ``retention_days`` at the start of ``tracer shell``.

A session is its file and everything derived from it that tracer keeps: the summary ``tracer ls`` caches, the
replay's terminal keyframes (see :mod:`tracer.store.cache`). :func:`derived_files` is the one list of them;
whatever else is derived from sessions later (an insights index) belongs there too.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from tracer.errors import SessionError, TracerError, UsageError
from tracer.model import parse_rfc3339
from tracer.store.cache import cache_path
from tracer.store.catalog import forget_summaries, list_sessions
from tracer.store.reader import read_header


@dataclass(frozen=True)
class Victim:
    """A session to remove: its file, its id, and when it started (``None`` when its header is unreadable)."""

    path: Path
    session_id: str
    started: dt.datetime | None


def describe(path: Path) -> Victim:
    """What :func:`remove` needs to know of the session at ``path`` (its header; the file name if unreadable)."""
    try:
        header = read_header(path)
        return Victim(path, header.session_id, parse_rfc3339(header.started_at))
    except (TracerError, ValueError, OSError):
        return Victim(path, path.name.removesuffix(".tracer"), None)


def derived_files(victim: Victim) -> list[Path]:
    """The files tracer derived from a session alone: the replay's index and keyframe caches (and its summary as
    tracer cached it before the summaries of a directory shared one file,
    :func:`tracer.store.catalog.forget_summaries`)."""
    try:
        resolved = str(victim.path.resolve())
    except OSError:
        resolved = str(victim.path)
    return [
        cache_path("index", victim.session_id),
        cache_path("keyframes", victim.session_id),
        cache_path("summaries", resolved),
    ]


def remove(victims: list[Victim]) -> int:
    """Delete each session file and what was derived from it; the number of sessions deleted.

    Raises:
        SessionError: a file cannot be deleted (the ones before it are gone; the message names it).
    """
    removed = 0
    for v in victims:
        forget_summaries([v.path])  # first: a cache never outlives its session
        for derived in derived_files(v):
            try:
                derived.unlink(missing_ok=True)
            except OSError as e:
                raise SessionError(f"cannot delete {derived} (derived from {v.path}): {e.strerror}") from e
        try:
            v.path.unlink()
        except FileNotFoundError:
            continue
        except OSError as e:
            raise SessionError(f"cannot delete session file {v.path}: {e.strerror}") from e
        removed += 1
    return removed


def parse_age(text: str) -> dt.timedelta:
    """``"30d"``, ``"12h"``, ``"2w"``, ``"0d"`` (a bare number is days) as a duration.

    Raises:
        UsageError: it is not such a duration.
    """
    t = text.strip().lower()
    unit = t[-1:] if t[-1:] in ("d", "h", "w") else "d"
    number = t[:-1] if t[-1:] in ("d", "h", "w") else t
    try:
        n = float(number)
    except ValueError:
        n = -1.0
    if n < 0 or n != n:
        raise UsageError(f"--older-than {text!r} is not an age: give days, hours or weeks, e.g. 30d, 12h, 2w, 0d")
    return dt.timedelta(days=n * 7) if unit == "w" else dt.timedelta(hours=n) if unit == "h" else dt.timedelta(days=n)


def _named_start(path: Path) -> dt.datetime | None:
    """When a session started, from its file name when tracer named it (``2026-11-21T10-30-00-8f3a.tracer``:
    UTC); ``None`` for other names."""
    try:
        return dt.datetime.strptime(path.name[:19], "%Y-%m-%dT%H-%M-%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def older_than(age: dt.timedelta, directory: Path | None = None, now: dt.datetime | None = None) -> list[Victim]:
    """The sessions (in ``directory``, default the sessions directory) that started more than ``age`` ago,
    oldest first. A session whose name says it started later is not opened (``retention_days`` runs at the
    start of every ``tracer shell``); one whose header cannot be read is judged by its modification time."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - age
    victims = []
    for path in list_sessions(directory):
        named = _named_start(path)
        if named is not None and named > cutoff + dt.timedelta(days=1):  # a day's slack: -o may name it so
            continue
        v = describe(path)
        started = v.started
        if started is None:
            try:
                started = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC)
            except OSError:
                continue
        if started <= cutoff:
            victims.append(v)
    return victims[::-1]
