"""``tracer push``: copy sessions to shared storage (a directory or an fsspec URL), redacted.

Each session is read (and so validated) by the store's reader, redacted, written as a fresh
session file in a private temporary directory, and uploaded as ``<uuid>.tracer``: the session's UUID names it,
so pushing the same session twice replaces the copy instead of adding a second one, and sessions of different
people never collide. A session recorded before tracer gave sessions a UUID gets its derived UUID written into
the copy's header, so every later build names it the same way.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tracer.dataset import _fs
from tracer.dataset.rows import Redact, identity
from tracer.errors import SessionError
from tracer.store import read_session, resolve_session
from tracer.store.facts import session_uuid
from tracer.store.writer import write_session


@dataclass(slots=True)
class PushReport:
    """What a push did: ``pushed`` as (session file, URL it went to); ``failed`` one sentence each."""

    pushed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def push_sessions(
    sessions: list[str],
    url: str,
    *,
    redact: Redact = identity,
    on_pushed: Callable[[str, str], None] | None = None,
) -> PushReport:
    """Upload the sessions named by ``sessions`` (paths or id prefixes) to ``url``.

    A session that cannot be read is reported in :attr:`PushReport.failed` and the others still go.

    Raises:
        SessionNotFound / UsageError: an argument names no session, or several.
        MissingExtra: fsspec or the URL's backend is not installed (names the extra).
        DatasetError: the URL cannot be reached or written.
    """
    paths = [resolve_session(arg) for arg in sessions]
    fs, root = _fs.filesystem(url)
    with _fs.remote_errors(f"cannot create {url}"):
        fs.makedirs(root, exist_ok=True)
    report = PushReport()
    with tempfile.TemporaryDirectory(prefix="tracer-push-") as scratch:
        for path in paths:
            try:
                session = read_session(path)
            except SessionError as e:
                report.failed.append(str(e))
                continue
            sid = session_uuid(session.header)
            session = redact(session)
            copy = Path(scratch) / f"{sid}.tracer"
            write_session(copy, dataclasses.replace(session.header, uuid=sid), session.events)
            target = f"{url.rstrip('/')}/{copy.name}"
            try:
                _fs.upload(fs, copy, _fs.join(fs, root, copy.name), target)
            finally:
                copy.unlink(missing_ok=True)
            report.pushed.append((str(path), target))
            if on_pushed is not None:
                on_pushed(str(path), target)
    return report
