"""``tracer insights``: what many sessions teach, computed on this machine only.

Sessions are indexed into an embedded DuckDB database in the cache directory (one row per session, command,
edit, note and failing test, with the error pattern of each failure; see ``_index``), kept up to date
incrementally and rebuilt from the sessions when needed: the sessions are the truth, the index is a cache. The
same named queries (``queries.sql``) run on the index or on a dataset of ``tracer dataset build``.

Public API::

    gather(since=, repository=, dataset=, progress=) -> Insights     the figures (updates the index first)
    render(insights, color=, width=) -> str                          the figures as text (ANSI styles if color)
    forget_sessions(paths)                                           for `tracer rm` / `tracer purge`
    parse_period(text) -> Period, load_rules() -> Rules, Index       the parts

DuckDB is an optional extra (``pip install 'tracer[insights]'``); it is imported only when insights run.
"""

from __future__ import annotations

import os
from pathlib import Path

from tracer.errors import UsageError
from tracer.insights._figures import (
    Abandoned,
    Day,
    Debugging,
    FailingTest,
    Insights,
    Pattern,
    Period,
    Ranked,
    Repository,
    Totals,
    compute,
    parse_period,
)
from tracer.insights._index import (
    Index,
    Progress,
    Update,
    drop_index,
    forget_sessions,
    index_path,
    require_duckdb,
)
from tracer.insights._patterns import Failure, Rule, Rules, load_rules, user_rules_path
from tracer.insights._render import duration, render

__all__ = [
    "Abandoned",
    "Day",
    "Debugging",
    "FailingTest",
    "Failure",
    "Index",
    "Insights",
    "Pattern",
    "Period",
    "Progress",
    "Ranked",
    "Repository",
    "Rule",
    "Rules",
    "Totals",
    "Update",
    "drop_index",
    "duration",
    "forget_sessions",
    "gather",
    "index_path",
    "load_rules",
    "parse_period",
    "render",
    "repository_of",
    "require_duckdb",
    "user_rules_path",
]


def repository_of(path: str) -> str:
    """What ``--repo PATH`` names: a remote URL as it is; a directory as its git top level (the nearest
    ancestor with ``.git``), else the directory itself, both resolved (symlinks followed).

    Raises:
        UsageError: ``path`` is neither a URL nor an existing directory.
    """
    if "://" in path or (path.count(":") == 1 and "@" in path.split(":")[0]):
        return path
    where = Path(path).expanduser()
    if not where.is_dir():
        raise UsageError(f"--repo {path}: no such directory (give a repository's directory or its remote URL)")
    real = Path(os.path.realpath(where))
    for candidate in (real, *real.parents):
        if (candidate / ".git").exists():
            return str(candidate)
    return str(real)


def gather(
    *,
    since: str | None = None,
    repository: str | None = None,
    sessions: Path | None = None,
    index: Path | None = None,
    dataset: Path | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> Insights:
    """The insights of a period (``--since``) against the one before it, of one repository or all.

    From the index (brought up to date with the sessions directory first), or from a dataset directory.

    Args:
        since: ``7d``, ``30d``, a date…; see :func:`parse_period` (default ``30d``).
        repository: what :func:`repository_of` returned for ``--repo``, or ``None`` for all repositories.
        sessions: the sessions directory (default: tracer's, see :func:`tracer.store.sessions_dir`).
        index: the index file (default :func:`index_path`).
        dataset: a dataset directory of ``tracer dataset build`` to read instead of the index.
        rebuild: drop the index and build it anew from the sessions.
        progress: called as sessions are indexed, ``(done, total)``.

    Raises:
        UsageError: a bad ``since``.
        MissingExtra: DuckDB is not installed.
        InsightsError: the index is held by another process, the dataset cannot be read, or the error patterns
            file is malformed.
    """
    period = parse_period(since)
    rules = load_rules(user_rules_path())
    if dataset is not None:
        from tracer.insights._dataset import open_dataset

        con = open_dataset(dataset, rules)
        try:
            return compute(con, rules, period, repository, source=os.path.abspath(dataset))
        finally:
            con.close()
    from tracer.store import sessions_dir

    path = index or index_path()
    if rebuild:
        drop_index(path)
    with Index.open(rules, path) as idx:
        update = idx.update(sessions or sessions_dir(), progress=progress)
        result = compute(idx.connection, rules, period, repository, source=str(path))
    result.notes.extend(_update_notes(update))
    return result


def _update_notes(update: Update) -> list[str]:
    notes = []
    if update.rebuilt:
        sessions = f"{update.sessions:,} session" + ("" if update.sessions == 1 else "s")
        notes.append(f"the index was built from {sessions} ({update.rebuilt})")
    for path, why in update.unreadable[:3]:
        notes.append(f"skipped {path}: {why}")
    if len(update.unreadable) > 3:
        notes.append(f"skipped {len(update.unreadable) - 3} more unreadable session files (see `tracer ls`)")
    return notes
