"""The insights index: an embedded DuckDB database in the cache directory, one row per session, command, edit,
note and failing test, kept up to date from the session files.

The index is a cache. The session files are the truth: the index is rebuilt from them when it is missing,
unreadable, or written by another version of its schema or of the error patterns; a session is (re)indexed
when its file is new or its size or modification time changed, and its rows are dropped when its file is gone.
The database file is ``<cache>/insights/insights.duckdb`` (``$TRACER_CACHE_DIR`` or ``~/.cache/tracer``), mode
0600 in a 0700 directory; when rows of sessions that are gone are dropped, the file is rewritten so that no
freed block keeps them.

Sessions are read one at a time (memory bounded by one session), their rows inserted in batches.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tracer.config import cache_dir
from tracer.errors import InsightsError, MissingExtra, TracerError
from tracer.insights._patterns import Rules
from tracer.insights._rows import Batch, add_session, session_key
from tracer.insights._sql import run as _run
from tracer.insights._sql import sql

#: Version of the index's tables; an index of another version is rebuilt.
SCHEMA_VERSION = 2
#: A batch is written once it holds this many rows or sessions.
BATCH_ROWS = 50_000
BATCH_SESSIONS = 1_000
#: Seconds to wait for another tracer process that holds the index.
LOCK_TIMEOUT = 15.0
#: DuckDB's memory limit for the index (it spills to disk beyond).
MEMORY_LIMIT = "1GB"

_SUFFIX = ".tracer"

#: ``progress(done, total)``: sessions read so far, of the sessions to read.
Progress = Callable[[int, int], None]


def index_path() -> Path:
    """Where the index lives: ``insights.duckdb`` in the ``insights`` cache directory."""
    return cache_dir("insights") / "insights.duckdb"


def require_duckdb() -> ModuleType:
    """The ``duckdb`` module.

    Raises:
        MissingExtra: it is not installed (says how to install it).
    """
    try:
        return importlib.import_module("duckdb")
    except ImportError as e:
        raise MissingExtra(
            "tracer insights needs DuckDB, which is not installed: pip install 'tracer[insights]' "
            "(or pip install duckdb)"
        ) from e


@dataclass(slots=True)
class Update:
    """What :meth:`Index.update` did.

    Attributes:
        rebuilt: why the index was built from nothing (``"there was none yet"``, ``"its schema changed, 0 → 1"``…),
            ``None`` when it was only brought up to date.
        indexed: sessions read and indexed now (new or changed files).
        dropped: sessions whose files are gone, removed from the index.
        sessions: sessions in the index after the update.
        unreadable: ``(path, why)`` of every session file that could not be read (they are retried when they
            change).
        seconds: wall time of the update.
    """

    rebuilt: str | None = None
    indexed: int = 0
    dropped: int = 0
    sessions: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


class Index:
    """An open index: one DuckDB connection to the database file; close it (or use ``with``) when done.

    Use :meth:`open`; :attr:`connection` runs the queries of ``queries.sql``.
    """

    def __init__(self, connection: Any, path: Path, rules: Rules, rebuilt: str | None) -> None:
        self.connection = connection
        self.path = path
        self.rules = rules
        self._rebuilt = rebuilt

    @classmethod
    def open(cls, rules: Rules, path: Path | None = None, *, lock_timeout: float = LOCK_TIMEOUT) -> Index:
        """Open the index at ``path`` (default :func:`index_path`), creating or rebuilding it as needed.

        Raises:
            MissingExtra: DuckDB is not installed.
            InsightsError: the directory cannot be made, or another tracer process holds the index for longer
                than ``lock_timeout`` seconds.
        """
        path = path or index_path()
        _private_dir(path.parent)
        con = _connect(path, lock_timeout)
        rebuilt = None
        try:
            meta = dict(con.execute(sql("read_meta")).fetchall())
        except require_duckdb().Error:
            meta = {}
        want = {"schema_version": str(SCHEMA_VERSION), "patterns": rules.digest}
        if any(meta.get(k) != v for k, v in want.items()):
            if not meta:
                rebuilt = "there was none yet"
            elif meta.get("schema_version") != want["schema_version"]:
                rebuilt = f"its schema changed, {meta.get('schema_version')} → {SCHEMA_VERSION}"
            else:
                rebuilt = "the error patterns changed"
            _run(con, "detach")
            _remove(path)
            _run(con, "attach", path=str(path))
            _run(con, "schema")
            for key, value in want.items():
                _run(con, "write_meta", key=key, value=value)
            _run(
                con,
                "write_meta",
                key="about",
                value="a cache of tracer's session files, rebuilt from them at will; the sessions are the truth",
            )
        _private_file(path)
        _run(con, "macros")
        return cls(con, path, rules, rebuilt)

    def close(self) -> None:
        """Close the connection (DuckDB checkpoints the file), and keep the files private."""
        with contextlib.suppress(Exception):
            self.connection.close()
        _private_file(self.path)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, directory: Path, *, progress: Progress | None = None) -> Update:
        """Bring the index up to date with the session files of ``directory``.

        New and changed files (by size and modification time) are read, one at a time, and their rows replace
        the old ones; files that are gone lose their rows (and the database file is rewritten without them).
        A file that is not a readable session is remembered with why, and retried when it changes.
        """
        started = time.monotonic()
        report = Update(rebuilt=self._rebuilt)
        self._rebuilt = None
        con = self.connection
        on_disk = _scan(directory)
        known = {row[0]: row[1:] for row in con.execute(sql("known_files")).fetchall()}
        changed = sorted(p for p, st in on_disk.items() if p not in known or tuple(known[p][:2]) != st)
        gone = [p for p in known if p not in on_disk]
        stale = [p for p in (*changed, *gone) if p in known]
        if stale:
            ids = [known[p][2] for p in stale if known[p][2] is not None]
            with _transaction(con):
                _run(con, "forget", ids=ids, paths=stale)
        report.dropped = sum(1 for p in gone if known[p][2] is not None)
        taken = {v[2] for p, v in known.items() if v[2] is not None and p not in stale}
        batch, files = Batch(), _files()
        for done, path in enumerate(changed):
            size, mtime_ns = on_disk[path]
            key, problem = self._index_one(batch, path, taken)
            files["path"].append(path)
            files["size"].append(size)
            files["mtime_ns"].append(mtime_ns)
            files["session_id"].append(key)
            files["problem"].append(problem)
            report.indexed += key is not None
            if batch.rows >= BATCH_ROWS or batch.sessions >= BATCH_SESSIONS or len(files["path"]) >= BATCH_SESSIONS:
                self._write(batch, files)
                batch, files = Batch(), _files()
            if progress is not None:
                progress(done + 1, len(changed))
        self._write(batch, files)
        if report.dropped:
            self._compact()
        report.unreadable = [(p, why) for p, why in con.execute(sql("unreadable_files")).fetchall()]
        report.sessions = con.execute(sql("count_sessions")).fetchone()[0]
        _private_file(self.path)
        report.seconds = time.monotonic() - started
        return report

    def forget(self, paths: Iterable[str | os.PathLike[str]]) -> int:
        """Remove the sessions of ``paths`` (as given, or through symlinks) from the index and rewrite the file
        without them; how many were in it."""
        wanted = {os.path.realpath(p) for p in paths}
        rows = self.connection.execute(sql("known_files")).fetchall()
        known = {row[0]: row[3] for row in rows}
        present = [p for p in known if p in wanted or os.path.realpath(p) in wanted]
        if not present:
            return 0
        with _transaction(self.connection):
            _run(self.connection, "forget", ids=[known[p] for p in present if known[p]], paths=present)
        self._compact()
        return len(present)

    def _index_one(self, batch: Batch, path: str, taken: set[str]) -> tuple[str | None, str | None]:
        """Read one session file into ``batch``: ``(its id, or None when unreadable; the problem, if any)``."""
        from tracer.store import read_session

        try:
            session = read_session(Path(path))
        except TracerError as e:
            return None, str(e)
        key = session_key(session, path, taken)
        add_session(batch, session, key=key, path=path, rules=self.rules)
        return key, session.problem

    def _write(self, batch: Batch, files: dict[str, list[Any]]) -> None:
        if not files["path"]:
            return
        con = self.connection
        with _transaction(con):
            for table, columns in batch.columns.items():
                if next(iter(columns.values())):
                    _run(con, f"insert_{table}", **columns)
            _run(con, "insert_files", **files)

    def _compact(self) -> None:
        """Rewrite the database file with only its live rows: DuckDB keeps deleted rows in freed blocks, and a
        session removed by the user must leave nothing behind."""
        con = self.connection
        fresh = self.path.with_name(self.path.name + ".compact")
        _remove(fresh)
        _run(con, "compact", path=str(fresh))
        os.replace(fresh, self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(self.path) + ".wal")  # the old file's log, if DuckDB left one
        _private_file(self.path)
        _run(con, "attach", path=str(self.path))
        _run(con, "macros")


def forget_sessions(
    paths: Iterable[str | os.PathLike[str]], *, index: Path | None = None, lock_timeout: float = 5.0
) -> None:
    """Remove the sessions at ``paths`` from the insights index, leaving no trace of them in its file.

    For ``tracer rm`` and ``tracer purge``: call it with the session files removed (before or after removing
    them). It never raises: when the index cannot be opened (DuckDB is missing, the file is unreadable, another
    process holds it past the lock timeout), the index file is deleted instead: it is a cache, rebuilt on the
    next ``tracer insights``.
    """
    path = index or index_path()
    if not path.exists():
        return
    try:
        from tracer.insights._patterns import load_rules, user_rules_path

        with Index.open(load_rules(user_rules_path()), path, lock_timeout=lock_timeout) as idx:
            idx.forget(paths)
    except Exception:  # whatever stops the index from forgetting, deleting it forgets everything
        _remove(path)


def _files() -> dict[str, list[Any]]:
    return {"path": [], "size": [], "mtime_ns": [], "session_id": [], "problem": []}


def _scan(directory: Path) -> dict[str, tuple[int, int]]:
    """``abspath -> (size, mtime_ns)`` of the session files (``*.tracer``) in ``directory``."""
    out: dict[str, tuple[int, int]] = {}
    base = os.path.abspath(directory)
    try:
        entries = os.scandir(base)
    except FileNotFoundError:
        return out
    except OSError as e:
        raise InsightsError(f"cannot list the sessions directory {base}: {e.strerror}") from e
    with entries:
        for entry in entries:
            if not entry.name.endswith(_SUFFIX):
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            out[entry.path] = (st.st_size, st.st_mtime_ns)
    return out


@contextlib.contextmanager
def _transaction(con: Any) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _connect(path: Path, lock_timeout: float) -> Any:
    """A DuckDB connection with the database file ``path`` attached as ``idx`` (the current database).

    Waits up to ``lock_timeout`` s for another process that holds the file; a file DuckDB cannot read (not a
    database, cut off, from an incompatible DuckDB) is deleted and made anew.

    Raises:
        MissingExtra: DuckDB is not installed.
        InsightsError: the lock was not had in time.
    """
    duckdb = require_duckdb()
    con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT, "threads": 2})
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            _run(con, "attach", path=str(path))
            return con
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                _remove(path)
                continue
            if time.monotonic() >= deadline:
                con.close()
                raise InsightsError(
                    f"the insights index {path} is in use by another tracer process ({_holder(e)}): "
                    "try again when it has finished"
                ) from e
            time.sleep(0.1)
        except duckdb.Error:
            if not path.exists():
                raise
            _remove(path)


def _holder(e: Exception) -> str:
    text = str(e)
    at = text.find("(PID ")
    return "PID " + text[at + 5 : text.find(")", at)] if at >= 0 else "it holds the lock"


def drop_index(path: Path | None = None) -> None:
    """Delete the index file (default :func:`index_path`); the next :meth:`Index.open` builds it anew."""
    _remove(path or index_path())


def _remove(path: Path) -> None:
    """Delete the database file ``path`` and its write-ahead log."""
    for p in (path, Path(str(path) + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def _private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as e:
        raise InsightsError(f"cannot create the insights cache directory {path}: {e.strerror}") from e


def _private_file(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        with contextlib.suppress(OSError):
            os.chmod(p, 0o600)
