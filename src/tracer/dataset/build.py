"""``tracer dataset build``: sessions → a dataset directory in the Hugging Face layout, streaming.

::

    OUT/README.md                          the dataset card (configs, every column described)
    OUT/data/<config>/train-00000.parquet  sessions, commands, edits, notes, messages (or .jsonl)
    OUT/swe-bench/instances.jsonl          SWE-bench task instances
    OUT/swe-bench/predictions.jsonl        the recorded patches as predictions

Sessions are read one at a time, from the sessions directory or from an fsspec URL (each remote file copied
into a private temporary file first, and read by the store's reader like any hostile file); each is redacted
(one ``redact`` call per session) and its rows handed to the sinks, which write row groups as their buffers fill.
Memory is bounded by one session plus the sinks' buffers, whatever the number of sessions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tracer
from tracer.dataset import _fs
from tracer.dataset._sinks import ROW_GROUP_BYTES, SHARD_BYTES, SINKS
from tracer.dataset.card import CardFacts, dataset_card
from tracer.dataset.columns import CONFIGS
from tracer.dataset.rows import Checks, Redact, identity, session_rows
from tracer.dataset.swebench import instance, prediction
from tracer.errors import DatasetError, SessionBusy, SessionError, UsageError
from tracer.gitpaths import unsafe_paths
from tracer.model import Session, parse_rfc3339, utc_now
from tracer.store import list_sessions, read_header, read_session, resolve_session

FORMATS = tuple(SINKS)
#: Bytes of a command's output kept in the ``commands`` config (head and tail, the cut said).
MAX_OUTPUT = 1 << 20
#: Bytes of a command's output kept in a ``bash`` tool result of the ``messages`` config.
MAX_TOOL_OUTPUT = 16 << 10


@dataclass(frozen=True, slots=True)
class Selection:
    """Which sessions go into the dataset.

    Attributes:
        sessions: session arguments (paths, id prefixes; with ``source``, file names or prefixes there).
        all: every session (of the sessions directory, or under ``source``).
        since: only sessions started at or after this (aware) time.
        verified: only sessions whose newest verify verdict is ``passed`` or ``resolved``.
        resolved: only sessions whose newest verify verdict is ``resolved``.
        source: an fsspec URL (or directory) to read sessions from instead of the sessions directory.
    """

    sessions: tuple[str, ...] = ()
    all: bool = False
    since: dt.datetime | None = None
    verified: bool = False
    resolved: bool = False
    source: str | None = None

    def describe(self) -> str:
        """The selection in words, for the dataset card (a source URL only by its protocol: its host, user and
        path stay on the building machine)."""
        where = f" from {_fs.protocol_of(self.source)}:// storage" if self.source else ""
        what = "all sessions" if self.all else f"{len(self.sessions)} named session(s)"
        parts = [what + where]
        if self.since is not None:
            parts.append(f"started since {self.since.isoformat()}")
        if self.resolved:
            parts.append("resolved by tracer verify")
        elif self.verified:
            parts.append("verified (tests pass)")
        return ", ".join(parts)

    def keeps(self, session: Session) -> bool:
        """True when ``session`` passes the ``since`` / ``verified`` / ``resolved`` filters."""
        if self.since is not None and parse_rfc3339(session.header.started_at) < self.since:
            return False
        verdict = session.verify_result.verdict if session.verify_result is not None else None
        if self.resolved:
            return verdict == "resolved"
        if self.verified:
            return verdict in ("passed", "resolved")
        return True


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How to build.

    Attributes:
        fmt: ``parquet`` or ``jsonl``.
        overwrite: replace the dataset files already at OUT (else a non-empty OUT is an error).
        max_output: bytes of output kept per command in ``commands`` (<= 0: all).
        max_tool_output: bytes of output kept per ``bash`` tool result in ``messages`` (<= 0: all).
        row_group_bytes: in-memory size of a Parquet row group (bytes).
        shard_bytes: size at which a shard is closed (bytes).
        redact: export-time redaction, one call per session.
        redaction: what ``redact`` does, in words (for the card).
        masked: what ``redact`` masked, in words (counts per rule, never a value), asked once every session is
            written, for the card; ``None``: the card says nothing of it.
        checks: computes the process checks of a session never judged (``tracer.judge.process_checks``: the
            caller passes it, the dataset does not judge); ``None``: such sessions' check columns hold -1 and null.
        recording: the pid of the recorder writing a local session now (``tracer.app.live``, passed in by the
            caller), else ``None``: such a session is left out (in ``skipped``, saying why), not built in as if
            it had been interrupted. ``None``: none is asked about.
    """

    fmt: str = "parquet"
    overwrite: bool = False
    max_output: int = MAX_OUTPUT
    max_tool_output: int = MAX_TOOL_OUTPUT
    row_group_bytes: int = ROW_GROUP_BYTES
    shard_bytes: int = SHARD_BYTES
    redact: Redact = identity
    redaction: str = "none"
    masked: Callable[[], str] | None = None
    checks: Checks | None = None
    recording: Callable[[Path], int | None] | None = None


@dataclass(slots=True)
class BuildReport:
    """What a build wrote.

    Attributes:
        out: the dataset's URL or directory. sessions: sessions written. filtered: sessions read but not
        selected (``since``, ``verified``, ``resolved``). skipped: sessions that could not be read, one sentence
        each. swe_bench: SWE-bench instances written. not_instances: sessions in the dataset but left out of the
        SWE-bench instances (their patch writes where git refuses to), one sentence each. files: config → shard
        paths (relative to ``out``).
    """

    out: str
    sessions: int = 0
    filtered: int = 0
    skipped: list[str] = field(default_factory=list)
    swe_bench: int = 0
    not_instances: list[str] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict)


#: Progress: (sessions done, sessions to do).
Progress = Callable[[int, int], None]


def build_dataset(
    out: str, selection: Selection, options: BuildOptions = BuildOptions(), on_progress: Progress | None = None
) -> BuildReport:
    """Build a dataset of the selected sessions at ``out`` (a local directory or an fsspec URL).

    Raises:
        UsageError: nothing selected, an unknown format, or OUT holds files already (without ``overwrite``).
        MissingExtra: pyarrow/fsspec or the URL's backend is not installed (the message names the extra).
        DatasetError: OUT or the source URL cannot be reached, read or written.
        SessionNotFound: a named session does not exist.
    """
    if options.fmt not in FORMATS:
        raise UsageError(f"unknown dataset format {options.fmt!r}: choose {' or '.join(FORMATS)}")
    if not selection.sessions and not selection.all:
        raise UsageError("name the sessions to put in the dataset, or pass --all")
    fs, root = _fs.filesystem(out)
    report = BuildReport(out=out)
    with _sources(selection, options.recording) as sources:  # named sessions are found before anything is written
        _prepare_out(fs, root, out, options.overwrite)
        sinks = _sinks(fs, root, out, options)
        instances = _open_text(fs, root, out, "swe-bench/instances.jsonl")
        predictions = _open_text(fs, root, out, "swe-bench/predictions.jsonl")
        try:
            for done, (label, load) in enumerate(sources, 1):
                _add_session(label, load, selection, options, sinks, report, instances, predictions)
                if on_progress is not None:
                    on_progress(done, len(sources))
            report.files = {name: sink.close() for name, sink in sinks.items()}
        finally:
            with _fs.remote_errors(f"cannot write {out}/swe-bench"):
                instances.close()
                predictions.close()
    facts = CardFacts(
        fmt=options.fmt,
        sessions=report.sessions,
        selection=selection.describe(),
        built_at=utc_now(),
        tracer_version=tracer.__version__,
        redaction=options.redaction if options.masked is None else f"{options.redaction}: masked {options.masked()}",
        swe_bench=report.swe_bench,
        skipped=len(report.skipped),
    )
    with _fs.remote_errors(f"cannot write {out}/README.md"):
        fs.pipe_file(_fs.join(fs, root, "README.md"), dataset_card(report.files, facts).encode("utf-8"))
    return report


def _add_session(
    label: str,
    load: Callable[[], Session],
    selection: Selection,
    options: BuildOptions,
    sinks: dict[str, Any],
    report: BuildReport,
    instances: Any,
    predictions: Any,
) -> None:
    try:
        session = load()
    except SessionError as e:
        report.skipped.append(str(e))
        return
    if not selection.keeps(session):
        report.filtered += 1
        return
    try:
        session = options.redact(session)
        rows = session_rows(
            session,
            output_limit=options.max_tool_output,
            command_output_limit=options.max_output,
            checks=options.checks,
        )
        inst = instance(session)
        bad = unsafe_paths(inst["patch"] + inst["test_patch"]) if inst is not None else []
        if bad:  # the harness falls back to GNU patch, which writes them
            report.not_instances.append(
                f"{label}: not a SWE-bench instance: its patch writes to {bad[0]!r}, inside a .git directory or "
                "outside the repository, where git refuses to write (the session was altered or crafted)"
            )
            inst = None
        prepared = {name: sinks[name].prepare(rows.rows[name]) for name in sinks}
    except (ValueError, TypeError) as e:  # a field a hostile file made malformed
        report.skipped.append(f"{label}: a malformed event ({type(e).__name__}: {e}); the session is left out")
        return
    for name, sink in sinks.items():
        sink.put(prepared[name])
    if inst is not None:
        instances.write(json.dumps(inst, ensure_ascii=False) + "\n")
        predictions.write(json.dumps(prediction(inst), ensure_ascii=False) + "\n")
        report.swe_bench += 1
    report.sessions += 1


def _prepare_out(fs: Any, root: str, url: str, overwrite: bool) -> None:
    ours = ("README.md", "data", "swe-bench")
    with _fs.remote_errors(f"cannot prepare {url}"):
        if fs.exists(root) and not fs.isdir(root):
            raise UsageError(f"{url} is a file: give a directory (new, empty, or a dataset built before)")
        existing = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)] if fs.exists(root) else []
        if existing and not overwrite:
            raise UsageError(f"{url} is not empty: build into a new directory, or pass --overwrite to replace it")
        for name in ours:
            if name in existing:
                fs.rm(_fs.join(fs, root, name), recursive=True)
        fs.makedirs(root, exist_ok=True)


def _sinks(fs: Any, root: str, url: str, options: BuildOptions) -> dict[str, Any]:
    kind = SINKS[options.fmt]
    return {
        name: kind(
            fs, root, url, name, columns, row_group_bytes=options.row_group_bytes, shard_bytes=options.shard_bytes
        )
        for name, columns in CONFIGS.items()
    }


def _open_text(fs: Any, root: str, url: str, relative: str) -> Any:
    directory, name = relative.rsplit("/", 1)
    with _fs.remote_errors(f"cannot write {url}/{relative}"):
        fs.makedirs(_fs.join(fs, root, directory), exist_ok=True)
        return fs.open(_fs.join(fs, root, directory, name), "w", encoding="utf-8")


#: The sessions to read, in order: ``(label, load)`` pairs; ``load`` reads one session.
_Sources = list[tuple[str, Callable[[], Session]]]


@contextlib.contextmanager
def _sources(selection: Selection, recording: Callable[[Path], int | None] | None = None) -> Iterator[_Sources]:
    if selection.source is None:
        if selection.all:
            paths = list(reversed(list_sessions()))  # oldest first
        else:
            paths = [resolve_session(arg) for arg in selection.sessions]
        yield [(str(p), _local_loader(p, selection, recording)) for p in paths]
        return
    fs, root = _fs.filesystem(selection.source)
    remote = _fs.list_sessions(fs, root, selection.source)
    if not selection.all:
        remote = [p for p in remote if any(p.rsplit("/", 1)[-1].startswith(arg) for arg in selection.sessions)]
        if not remote:
            raise DatasetError(f"no session at {selection.source} is named {', '.join(selection.sessions)}")
    with tempfile.TemporaryDirectory(prefix="tracer-fetch-") as scratch:
        yield [
            (_remote_url(selection.source, root, p), _remote_loader(fs, p, root, selection, Path(scratch)))
            for p in remote
        ]


def _remote_url(url: str, root: str, path: str) -> str:
    """The URL of the remote file ``path`` found under ``root`` (which ``url`` names)."""
    return url.rstrip("/") + path[len(root.rstrip("/")) :] if path.startswith(root.rstrip("/")) else path


def _local_loader(
    path: Path, selection: Selection, recording: Callable[[Path], int | None] | None
) -> Callable[[], Session]:
    def load() -> Session:
        pid = recording(path) if recording is not None else None
        if pid is not None:
            raise SessionBusy(
                f"{path} is being recorded now (tracer pid {pid}): build again once its shell exits to have it"
            )
        return _read(path, selection)

    return load


def _remote_loader(fs: Any, path: str, root: str, selection: Selection, scratch: Path) -> Callable[[], Session]:
    url = _remote_url(selection.source or "", root, path)

    def load() -> Session:
        local = _fs.fetch(fs, path, url, scratch)
        try:
            session = _read(local, selection)
        except SessionError as e:
            raise type(e)(str(e).replace(str(local), url)) from e
        finally:
            local.unlink(missing_ok=True)
        session.path = url
        return session

    return load


def _read(path: Path, selection: Selection) -> Session:
    if selection.since is not None:
        header = read_header(path)
        if parse_rfc3339(header.started_at) < selection.since:
            return Session(path=str(path), header=header, events=[])  # ruled out: nothing more is read
    return read_session(path)


def parse_since(text: str) -> dt.datetime:
    """A ``--since`` value as an aware time: ``2026-11-01`` (midnight, local time), or an ISO 8601 date and time
    (local time unless it names its zone).

    Raises:
        UsageError: it is neither.
    """
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise UsageError(f"--since {text!r} is not a date: give YYYY-MM-DD or an ISO 8601 time") from e
    return when if when.tzinfo is not None else when.astimezone()
