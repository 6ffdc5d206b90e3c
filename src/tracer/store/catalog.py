"""Where sessions live and how a session argument ``S`` (path, id prefix, or nothing) finds one.

Sessions are ``<id>.tracer`` files, mode 0600, in a 0700 directory: ``$TRACER_DIR`` if set, else the platform's
user data directory + ``tracer/sessions`` (``~/.local/share/tracer/sessions`` on Linux, via platformdirs).
Ids are ``YYYY-MM-DDTHH-MM-SS-xxxx`` (UTC start time + 4 random hex digits), so names sort by start time.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from tracer.errors import CorruptSession, NotASession, SessionError, SessionNotFound, UnsupportedVersion, UsageError
from tracer.model import Summary
from tracer.store.cache import cache_path, load_cache, save_cache
from tracer.store.paths import SUFFIX, new_session_id, new_session_path, sessions_dir
from tracer.store.reader import read_outline

__all__ = [
    "SUFFIX",
    "list_sessions",
    "new_session_id",
    "new_session_path",
    "resolve_session",
    "session_summary",
    "sessions_dir",
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
    """The summary of the session at ``path``, cached in the user cache directory (see tracer.store.cache).

    The cache entry is keyed by the file's size and modification time, so an appended note or verdict (which
    changes both) is seen at once; a miss reads the session's outline once (:func:`read_outline`).

    A file that cannot be read for what it holds is remembered the same way (its error is raised again).

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError, CorruptSession: as :func:`read_outline`.
    """
    try:
        st = path.stat()
    except OSError:
        return read_outline(path).summary()  # raises the reader's clear error
    key = [_SUMMARY_VERSION, st.st_size, st.st_mtime_ns]
    where = cache_path("summaries", os.path.realpath(path))
    cached = load_cache(where)
    if isinstance(cached, dict) and cached.get("key") == key:
        if isinstance(cached.get("unreadable"), str):
            raise CorruptSession(cached["unreadable"])
        try:
            return Summary(**cached["summary"])
        except (TypeError, KeyError):
            pass
    try:
        summary = read_outline(path).summary()
    except (CorruptSession, NotASession, UnsupportedVersion) as e:
        # what is wrong is in the file itself: remembered, so a bad file (a bomb takes seconds to refuse) does not
        # slow down every `tracer ls`; errors of the surroundings (permissions, I/O) are not
        save_cache(where, {"key": key, "unreadable": str(e)})
        raise
    save_cache(where, {"key": key, "summary": dataclasses.asdict(summary)})
    return summary


_SUMMARY_VERSION = 2
