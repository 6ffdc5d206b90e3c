"""Where sessions live and how a session argument ``S`` (path, id prefix, or nothing) finds one.

Sessions are ``<id>.tracer`` files, mode 0600, in a 0700 directory: ``$TRACER_DIR`` if set, else the platform's
user data directory + ``tracer/sessions`` (``~/.local/share/tracer/sessions`` on Linux, :func:`tracer.config.user_dir`).
Ids are ``YYYY-MM-DDTHH-MM-SS-xxxx`` (UTC start time + 4 random hex digits), so names sort by start time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracer.errors import (
    CorruptSession,
    NotASession,
    SessionError,
    SessionNotFound,
    TracerError,
    UnsupportedVersion,
    UsageError,
)
from tracer.model import Summary
from tracer.store.cache import cache_path, load_cache, save_cache
from tracer.store.paths import SUFFIX, new_session_id, new_session_path, sessions_dir
from tracer.store.reader import read_outline

__all__ = [
    "SUFFIX",
    "forget_summaries",
    "list_sessions",
    "new_session_id",
    "new_session_path",
    "resolve_session",
    "session_summaries",
    "session_summary",
    "sessions_dir",
    "summary_cache_path",
]


def list_sessions(directory: Path | None = None) -> list[Path]:
    """Every ``*.tracer`` entry of the sessions directory, newest first (by file name, i.e. start time).

    Entries that are not regular files (a FIFO, a directory, a dangling symbolic link) are listed too: whoever
    reads them says what is wrong with each.

    Raises:
        SessionError: the directory cannot be listed.
    """
    directory = directory or sessions_dir()
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.name.endswith(SUFFIX)]
    except FileNotFoundError:
        return []
    except OSError as e:
        raise SessionError(f"cannot list the sessions directory {directory}: {e.strerror}") from e
    return [directory / name for name in sorted(names, reverse=True)]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def resolve_session(arg: str | None, directory: Path | None = None) -> Path:
    """The session file ``arg`` names: a path (it exists, holds a ``/`` or ends in ``.tracer``), else a unique id
    prefix, else (``None``) the latest regular file of the sessions directory.

    Raises:
        SessionNotFound: nothing matches, or there is no session yet.
        UsageError: the prefix matches several sessions (they are listed).
    """
    directory = directory or sessions_dir()
    if arg is None:
        sessions = list_sessions(directory)
        if not sessions:
            raise SessionNotFound(f"no sessions in {directory} yet: record one with `tracer shell`")
        return next((p for p in sessions if _is_file(p)), sessions[0])
    path = Path(arg).expanduser()
    if os.sep in arg or arg.endswith(SUFFIX) or os.path.lexists(path):  # lexists: False, never an error
        return path
    matches = [p for p in list_sessions(directory) if p.name.startswith(arg)]
    if not matches:
        raise SessionNotFound(f"no session file {arg!r} and no session id starting with it in {directory}")
    if len(matches) > 1:
        names = ", ".join(p.name.removesuffix(SUFFIX) for p in matches[:5])
        raise UsageError(f"session id prefix {arg!r} matches {len(matches)} sessions ({names}): give more of it")
    return matches[0]


def session_summary(path: Path) -> Summary:
    """The summary of the session at ``path`` (one of :func:`session_summaries`).

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError, CorruptSession: as :func:`read_outline`.
    """
    ((_, summary),) = session_summaries([path])
    if isinstance(summary, Summary):
        return summary
    raise summary


def session_summaries(paths: Sequence[Path]) -> list[tuple[Path, Summary | TracerError]]:
    """The summary of each session in ``paths`` (in that order), or the error that reading it raised.

    Summaries are cached per directory in one file of the user cache directory (see tracer.store.cache), keyed
    per session by the file's size and modification time, so an appended note or verdict (which changes both) is
    seen at once; a miss reads the session's outline once (:func:`read_outline`). ``tracer ls`` of 1,000 sessions
    reads one cache file, not 1,000 (docs/performance.md). Entries of sessions no longer there are dropped when the
    cache is written again.

    A file that cannot be read for what it holds is remembered the same way (its error is given again); errors of
    its surroundings (permissions, I/O) are not.
    """
    by_dir: dict[Path, list[int]] = {}
    for i, path in enumerate(paths):
        by_dir.setdefault(path.parent, []).append(i)
    out: list[tuple[Path, Summary | TracerError] | None] = [None] * len(paths)
    for directory, indexes in by_dir.items():
        where = summary_cache_path(directory)
        cached = load_cache(where)
        entries: dict[str, Any] = cached if isinstance(cached, dict) else {}
        if entries.get("version") != _SUMMARY_VERSION:
            entries = {"version": _SUMMARY_VERSION}
        changed = False
        for i in indexes:
            path = paths[i]
            result, entry = _summary(path, entries.get(path.name))
            out[i] = (path, result)
            if entry is not None:
                entries[path.name] = entry
                changed = True
        if changed:
            names = {paths[i].name for i in indexes}
            if len(indexes) > 1:  # a whole listing: what is not in it is gone
                entries = {k: v for k, v in entries.items() if k == "version" or k in names}
            save_cache(where, entries)
    return [x for x in out if x is not None]


def summary_cache_path(directory: Path) -> Path:
    """The cache file of the summaries of the sessions in ``directory``."""
    return cache_path("summaries", "dir" + os.path.realpath(directory))


def forget_summaries(paths: Sequence[Path]) -> None:
    """Drop the cached summaries of the sessions at ``paths`` (they are being deleted).

    Raises:
        SessionError: a cache file that holds one of them cannot be rewritten or removed.
    """
    by_dir: dict[Path, set[str]] = {}
    for path in paths:
        by_dir.setdefault(path.parent, set()).add(path.name)
    for directory, names in by_dir.items():
        where = summary_cache_path(directory)
        entries = load_cache(where)
        if not isinstance(entries, dict) or not names & entries.keys():
            continue
        kept = {k: v for k, v in entries.items() if k not in names}
        if not save_cache(where, kept):
            try:
                where.unlink(missing_ok=True)
            except OSError as e:
                raise SessionError(f"cannot forget the summaries of sessions in {where}: {e.strerror}") from e


def _summary(path: Path, cached: Any) -> tuple[Summary | TracerError, dict[str, Any] | None]:
    """One session's summary (or error), from ``cached`` when its key still holds; and the new cache entry, or
    ``None`` when the cached one is still right (or the error is not the file's own)."""
    try:
        st = path.stat()
    except OSError:
        try:
            return read_outline(path).summary(), None  # raises the reader's clear error
        except TracerError as e:
            return e, None
    key = [st.st_size, st.st_mtime_ns]
    if isinstance(cached, dict) and cached.get("key") == key:
        if isinstance(cached.get("unreadable"), str):
            return CorruptSession(cached["unreadable"]), None
        try:
            return Summary(**cached["summary"]), None
        except (TypeError, KeyError):
            pass
    try:
        summary = read_outline(path).summary()
    except (CorruptSession, NotASession, UnsupportedVersion) as e:
        # what is wrong is in the file itself: remembered, so a bad file (a bomb takes seconds to refuse) does not
        # slow down every `tracer ls`; errors of the surroundings (permissions, I/O) are not
        return e, {"key": key, "unreadable": str(e)}
    except TracerError as e:
        return e, None
    return summary, {"key": key, "summary": dataclasses.asdict(summary)}


#: The cache entries' layout: a cache of another version is rebuilt.
_SUMMARY_VERSION = 4
