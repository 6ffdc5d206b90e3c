"""Reading session files: frame by frame, keeping everything before a cut-off or corrupt frame.

A frame that ends early (the recorder was killed mid-write) or does not decode is reported with the file and the
byte offset where it starts; all events before it are returned. A missing ``session_end`` means the recording
was interrupted (:attr:`tracer.model.Session.interrupted`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from tracer.errors import CorruptSession, NotASession, SessionError, SessionNotFound, UnsupportedVersion
from tracer.model import FORMAT_VERSION, Event, Header, Session, event_from_dict
from tracer.store import _msgpack
from tracer.store.format import PREAMBLE_SIZE, parse_preamble

_CHUNK = 1 << 16


def _open(path: Path) -> BinaryIO:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the callers
    except FileNotFoundError as e:
        raise SessionNotFound(f"no session file {path}: check the path, or run `tracer ls`") from e
    except IsADirectoryError as e:
        raise NotASession(f"{path} is a directory, not a tracer session file") from e
    except OSError as e:
        raise SessionError(f"cannot read session file {path}: {e.strerror}") from e
    version = parse_preamble(f.read(PREAMBLE_SIZE))
    if version is None:
        f.close()
        raise NotASession(f"{path} is not a tracer session (it does not start with tracer's preamble)")
    if version > FORMAT_VERSION:
        f.close()
        raise UnsupportedVersion(
            f"{path} is in session format {version}; this tracer reads up to format {FORMAT_VERSION}: "
            "upgrade tracer to read it"
        )
    return f


def iter_frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte_offset, decompressed_content)`` for each frame of the session file.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion: the file cannot be read as a session at all.
        CorruptSession: a frame is cut off or does not decode (raised after the good frames before it were
            yielded); the message names the file and the frame's byte offset.
    """
    with _open(path) as f:
        offset = PREAMBLE_SIZE
        carry = b""
        while True:
            data = carry or f.read(_CHUNK)
            carry = b""
            if not data:
                return
            frame_start = offset
            dobj = zstandard.ZstdDecompressor().decompressobj()
            parts: list[bytes] = []
            consumed = 0
            try:
                while True:
                    parts.append(dobj.decompress(data))
                    if dobj.eof:
                        carry = dobj.unused_data
                        consumed += len(data) - len(carry)
                        break
                    consumed += len(data)
                    data = f.read(_CHUNK)
                    if not data:
                        raise CorruptSession(
                            f"session file {path} is cut off at byte {frame_start} "
                            "(the recording was interrupted mid-write)"
                        )
            except zstandard.ZstdError as e:
                raise CorruptSession(f"session file {path} is corrupt at byte {frame_start}: {e}") from e
            offset = frame_start + consumed
            yield frame_start, b"".join(parts)


def _events(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for offset, content in iter_frames(path):
        try:
            maps = list(_msgpack.unpack_all(content))
        except _msgpack.UnpackError as e:
            raise CorruptSession(f"session file {path} has an undecodable frame at byte {offset}: {e}") from e
        for m in maps:
            yield offset, m


def _to_event(path: Path, offset: int, m: dict[str, Any]) -> Event | None:
    try:
        return event_from_dict(m)
    except KeyError:
        return None  # an event type from a newer tracer: skipped
    except (TypeError, ValueError) as e:
        raise CorruptSession(f"session file {path} has a malformed event at byte {offset}: {e}") from e


def read_header(path: Path) -> Header:
    """Only the header (the first frame): cheap, for listings.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, CorruptSession.
    """
    for offset, m in _events(path):
        event = _to_event(path, offset, m)
        if not isinstance(event, Header):
            break
        return event
    raise CorruptSession(f"session file {path} has no header: it is not a usable session")


def read_session(path: Path) -> Session:
    """Read every event of the session at ``path``, ordered by time.

    A cut-off or corrupt frame does not raise: the events before it are returned and
    :attr:`Session.problem` says what happened and where.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion: the file is not a readable session.
        CorruptSession: not even the header could be read.
    """
    header: Header | None = None
    events: list[Event] = []
    problem: str | None = None
    try:
        for offset, m in _events(path):
            event = _to_event(path, offset, m)
            if event is None:
                continue
            if header is None:
                if not isinstance(event, Header):
                    raise CorruptSession(f"session file {path} does not begin with a header event")
                header = event
            else:
                events.append(event)
    except CorruptSession as e:
        if header is None:
            raise
        problem = f"{e}; {len(events)} events before it are readable"
    if header is None:
        raise CorruptSession(f"session file {path} is empty after its preamble: nothing was recorded")
    events.sort(key=lambda e: e.t)
    return Session(path=os.fspath(path), header=header, events=events, problem=problem)
