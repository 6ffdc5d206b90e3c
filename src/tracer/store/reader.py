"""Reading session files: event by event, validated, in memory bounded by the largest event.

Every session file a reader did not just write is hostile. Reading therefore:

- opens only regular files, without ever blocking (a FIFO, a device or a directory is refused at once);
- decompresses one zstd block (at most 128 KiB) at a time, so a small frame that claims or holds gigabytes is
  refused at :data:`MAX_FRAME_BYTES` without ever holding them; frames may not ask for a window over
  :data:`MAX_WINDOW`;
- unpacks msgpack one event at a time (at most :data:`~tracer.store._msgpack.MAX_EVENT_BYTES` each);
- checks every field of every event (:func:`tracer.model.event_from_dict`).

What cannot be read is reported, never raised past the header (docs/format.md, "Reading damaged files"):

- a frame that is cut off (the recorder was killed mid-write), fails its checksum, or is over a limit: reading
  stops there; every event before it is kept, and the problem names the file and the frame's byte offset;
- msgpack that does not decode inside a frame: the rest of that frame is skipped, the frames after it are read;
- a malformed event (a field of the wrong type…): that event is skipped, the problem names the file, the
  event's type, its frame's byte offset and index, and the field;
- an event type from a newer tracer: skipped silently.

A missing ``session_end`` means the recording was interrupted (:attr:`tracer.model.Session.interrupted`).

:class:`SessionReader` is the streaming reader (exports use it, in memory bounded by one event);
:func:`read_session` reads everything into memory (the replay), :func:`read_outline` everything but output and
diffs (``show``, ``ls``, ``verify``).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import zstandard

from tracer.errors import CorruptSession, NotASession, SessionError, SessionNotFound, UnsupportedVersion
from tracer.model import (
    FORMAT_VERSION,
    Event,
    FileChange,
    Header,
    Input,
    MalformedEvent,
    Output,
    Session,
    SessionEnd,
    event_from_dict,
    visible,
)
from tracer.store import _msgpack
from tracer.store.format import FRAME_MAX_BYTES, PREAMBLE_SIZE, parse_preamble

#: The most content one frame may decompress to (bytes): tracer closes a frame at
#: :data:`~tracer.store.format.FRAME_MAX_BYTES`, after the event that reached it, so its frames hold at most
#: that plus one event.
MAX_FRAME_BYTES = FRAME_MAX_BYTES + _msgpack.MAX_EVENT_BYTES
#: The largest zstd window a frame may ask for (bytes); tracer's levels use 2 MiB at most.
MAX_WINDOW = 16 << 20
#: :func:`read_session` holds at most this many bytes of events (msgpack size) in memory; past it, it stops and
#: says so (the streaming readers have no such limit: they hold one event at a time).
MAX_SESSION_BYTES = 2 << 30

#: Where an event is: ``(byte offset of its frame, index of the event in the frame)``. Refs order as the file.
Ref = tuple[int, int]

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BLOCK_MAX = 128 << 10  # zstd's largest block (content bytes): RFC 8878, Block_Maximum_Size
_READ = 256 << 10  # bytes read from the file at once
_HOLD_BYTES = 4 << 20  # a frame's events are held until its checksum is checked, up to this many bytes of them


class _FrameError(Exception):
    """A frame cannot be read; reading stops at it. ``str()`` says why, after "corrupt at byte N: "."""


class _CutOff(_FrameError):
    """The file ends inside the frame."""


class _OverLimit(_FrameError):
    """The frame is over a reader's limit. ``str()`` says which, after "the frame at byte N "."""


def _frame_problem(path: Path, frame: int, e: _FrameError) -> str:
    if isinstance(e, _CutOff):
        return f"session file {path} is cut off at byte {frame} (the recording was interrupted mid-write)"
    if isinstance(e, _OverLimit):
        return f'session file {path}: the frame at byte {frame} {e} (see "Limits" in tracer\'s docs/format.md)'
    return f"session file {path} is corrupt at byte {frame}: {e}"


def open_session_file(path: Path) -> int:
    """A read-only descriptor on the session file at ``path``, checked to be a regular file that starts with the
    preamble of a format this tracer reads. Never blocks (a FIFO is opened non-blocking, then refused); the
    caller closes it.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError as e:
        if os.path.islink(path):
            raise SessionNotFound(
                f"session file {path} is a symbolic link to {os.readlink(path)}, which does not exist"
            ) from e
        raise SessionNotFound(f"no session file {path}: check the path, or run `tracer ls`") from e
    except PermissionError as e:
        raise SessionError(
            f"cannot read session file {path}: permission denied (check the file's permissions and that you may "
            "enter its directories)"
        ) from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SessionError(f"cannot read session file {path}: too many levels of symbolic links") from e
        if e.errno in (errno.ENXIO, errno.EOPNOTSUPP):  # a socket
            raise NotASession(f"{path} is a socket, not a tracer session file") from e
        raise SessionError(f"cannot read session file {path}: {e.strerror}") from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            hint = ": tracer reads a session from a file (save the stream to one first)" if stat.S_ISFIFO(mode) else ""
            raise NotASession(f"{path} is {_kind(mode)}, not a tracer session file{hint}")
        version = parse_preamble(_pread(fd, PREAMBLE_SIZE, 0, path))
        if version is None:
            raise NotASession(f"{path} is not a tracer session (it does not start with tracer's preamble)")
        if version > FORMAT_VERSION:
            raise UnsupportedVersion(
                f"{path} is in session format {version}; this tracer reads up to format {FORMAT_VERSION}: "
                "upgrade tracer to read it"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _pread(fd: int, size: int, offset: int, path: Path) -> bytes:
    try:
        return os.pread(fd, size, offset)
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise NotASession(f"{path} is a directory, not a tracer session file") from e
        raise SessionError(f"cannot read session file {path}: {e.strerror}") from e


class _Bytes:
    """Sequential reads from ``offset`` on in a shared descriptor (``pread``: readers never move each other)."""

    def __init__(self, fd: int, offset: int, path: Path) -> None:
        self._fd, self._path = fd, path
        self.offset = offset  # of the next byte read() returns
        self._buf = b""
        self._at = 0  # position in _buf of self.offset

    def peek(self, n: int) -> bytes:
        """Up to ``n`` bytes from here on (fewer only at the end of the file), without moving."""
        if self._at + n > len(self._buf):
            rest = self._buf[self._at :]
            more = _pread(self._fd, max(_READ, n - len(rest)), self.offset + len(rest), self._path)
            self._buf, self._at = rest + more, 0
        return self._buf[self._at : self._at + n]

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the file)."""
        data = self.peek(n)
        self._at += len(data)
        self.offset += len(data)
        return data


class _Frame:
    """The zstd frame at ``src.offset``: iterate for its decompressed content, one block (≤ 128 KiB) at a time;
    ``src`` is left at the frame's end.

    The frame's structure (RFC 8878: header, blocks, checksum) is followed here, so that no call decompresses
    more than one block: a frame of highly compressible blocks cannot expand unchecked. Set :attr:`skipping` to
    walk the rest of the frame's blocks without decompressing them (its content is not wanted any more).

    Raises:
        _FrameError: (when made or iterated) cut off, not zstd, corrupt, or over :data:`MAX_FRAME_BYTES` /
            :data:`MAX_WINDOW`.
    """

    def __init__(self, src: _Bytes) -> None:
        head = src.peek(18)  # the longest frame header: magic 4 + descriptor 1 + window 1 + dictionary 4 + size 8
        if len(head) < 6 or not head.startswith(_ZSTD_MAGIC):
            if len(head) < 6 and _ZSTD_MAGIC.startswith(head[:4]):
                raise _CutOff()
            raise _FrameError("no zstd frame starts there")
        try:
            header_size = zstandard.frame_header_size(head)
            params = zstandard.get_frame_parameters(head)
        except zstandard.ZstdError as e:
            raise (_CutOff() if len(head) < 18 else _FrameError(str(e))) from e
        if params.dict_id:
            raise _FrameError("the frame asks for a compression dictionary")
        declared = params.content_size
        if declared not in (zstandard.CONTENTSIZE_UNKNOWN, zstandard.CONTENTSIZE_ERROR) and declared > MAX_FRAME_BYTES:
            raise _OverLimit(f"declares {_size(declared)} of content, more than the limit of {_size(MAX_FRAME_BYTES)}")
        if params.window_size > MAX_WINDOW:
            window = _size(params.window_size)
            raise _OverLimit(f"asks for a {window} window, more than the limit of {_size(MAX_WINDOW)}")
        self._src = src
        self._header = src.read(header_size)
        self._checksum = params.has_checksum
        self.skipping = False

    def __iter__(self) -> Iterator[bytes]:
        src = self._src
        dobj = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
        total = 0
        pending = self._header
        last = False
        try:
            while not last:
                block_header = src.read(3)
                if len(block_header) < 3:
                    raise _CutOff()
                value = int.from_bytes(block_header, "little")
                last, kind, size = bool(value & 1), (value >> 1) & 3, value >> 3
                if kind == 3 or size > _BLOCK_MAX:
                    raise _FrameError("a block of the frame is invalid")
                body = src.read(1 if kind == 1 else size)  # an RLE block stores its byte once
                if len(body) < (1 if kind == 1 else size):
                    raise _CutOff()
                if self.skipping:
                    continue
                content = dobj.decompress(pending + block_header + body)
                pending = b""
                total += len(content)
                if total > MAX_FRAME_BYTES:
                    raise _OverLimit(f"holds more than {_size(MAX_FRAME_BYTES)} of content, the limit")
                if content:
                    yield content
            if self._checksum:
                checksum = src.read(4)
                if len(checksum) < 4:
                    raise _CutOff()
                if not self.skipping:
                    dobj.decompress(checksum)
        except zstandard.ZstdError as e:
            if "memory" in str(e):  # "Allocation error : not enough memory": not the file's fault
                raise MemoryError(str(e)) from e
            raise _FrameError(str(e)) from e
        if not self.skipping and not dobj.eof:
            raise _FrameError("the frame does not end where its blocks say")


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


class SessionReader:
    """One session file, read event by event in file order, in memory bounded by the largest event.

    Opening reads the header (the first event); :meth:`events` yields the others, validated, as often as asked
    (from any frame on: exports read a session in more than one pass). What cannot be read is collected in
    :attr:`problem` as reading goes, never raised. Use as a context manager (it holds a file descriptor).

    Args:
        path: the session file.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError: the file is not a session this tracer
            reads (missing, not a regular file, not readable, no preamble, a newer format).
        CorruptSession: its header cannot be read (nothing after the preamble, a cut-off or corrupt first frame,
            a malformed header).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = open_session_file(path)
        #: True once a ``session_end`` was read (False: the recording was interrupted, or not read that far yet).
        self.ended = False
        #: Bytes of the file covered so far (the end of the last whole frame read, or where reading stopped).
        self.end = PREAMBLE_SIZE
        self._frontier: Ref = (-1, -1)  # problems at or before this were already counted (an earlier pass)
        self._stopped: str | None = None
        self._events_before_stop = 0
        self._stop_counting = False
        self._skipped = 0
        self._first_skip: str | None = None
        try:
            self.header = self._read_header()
        except BaseException:
            os.close(self._fd)
            raise

    def __enter__(self) -> SessionReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _read_header(self) -> Header:
        first = next(self._objects(PREAMBLE_SIZE, None), None)
        if first is None:
            if self._stopped is not None:
                raise CorruptSession(f"{self._stopped}: not even the session's header is readable")
            if self._first_skip is not None:
                raise CorruptSession(f"{self._first_skip}: not even the session's header is readable")
            raise CorruptSession(f"session file {self.path} is empty after its preamble: nothing was recorded")
        _, _, obj = first
        try:
            header = event_from_dict(obj)
        except MalformedEvent as e:
            raise CorruptSession(
                f"session file {self.path} has a malformed header (the first event, at byte {PREAMBLE_SIZE}): {e}; "
                "it is not a usable session"
            ) from e
        except KeyError:
            header = None
        if not isinstance(header, Header):
            raise CorruptSession(
                f"session file {self.path} does not begin with a header event (it begins with "
                f"{_type_of(obj)}): it is not a usable session"
            )
        return header

    def every_event(self, stop: int | None = None) -> Iterator[Event]:
        """The header, then every valid event after it (:meth:`events` from the first frame on, ``stop`` as there),
        in file order: a session as one sequence, the header's ordinal 0."""
        yield self.header
        for _, _, event in self.events(stop=stop):
            yield event

    def events(self, start: int = PREAMBLE_SIZE, stop: int | None = None) -> Iterator[tuple[Ref, int, Event]]:
        """Every valid event after the header, in file order, as ``(ref, size in bytes, event)``.

        Args:
            start: the byte offset of the frame to start at (a ref's first half); the preamble's end by default.
            stop: do not read frames that start at or after this byte offset (e.g. :attr:`end` of an earlier
                pass, so a session still being recorded is read as it was).

        Malformed events are skipped and reading stops at a frame that cannot be read; both are noted in
        :attr:`problem`.
        """
        count = 0
        for ref, size, obj in self._objects(start, stop):
            try:
                event = event_from_dict(obj)
            except KeyError:
                continue  # an event type from a newer tracer
            except MalformedEvent as e:
                self._skip(ref, f"the {_type_of(obj)} at byte {ref[0]} (event {ref[1]} of its frame) is malformed: {e}")
                continue
            kind = type(event)
            if kind is Header:
                if ref != (PREAMBLE_SIZE, 0):
                    self._skip(ref, f"a second header at byte {ref[0]} (event {ref[1]} of its frame) was skipped")
                continue
            if kind is SessionEnd:
                self.ended = True
            count += 1
            yield ref, size, event
        if self._stop_counting:
            self._events_before_stop, self._stop_counting = count, False

    def _objects(self, start: int, stop: int | None) -> Iterator[tuple[Ref, int, object]]:
        """Every msgpack object of the frames from ``start`` on, with its ref and size.

        A frame's objects are held until its checksum has been checked (a frame that is cut off or corrupt gives
        none), unless they grow over :data:`_HOLD_BYTES` (a frame with a large final patch): then they are
        passed on as they come, and memory stays bounded by the largest event. Past msgpack that does not
        decode, the rest of the frame is walked to its end without being decompressed (so the objects before it
        are given even if the frame's checksum, no longer checked, would fail).
        """
        src = _Bytes(self._fd, start, self.path)
        while (stop is None or src.offset < stop) and src.peek(1):
            frame = src.offset
            unpacker = _msgpack.EventUnpacker()
            held: list[tuple[Ref, int, object]] = []
            held_bytes = 0
            index = 0
            try:
                blocks = _Frame(src)
                for content in blocks:
                    try:
                        unpacker.feed(content)
                        for obj, size in unpacker:
                            held.append(((frame, index), size, obj))
                            held_bytes += size
                            index += 1
                    except _msgpack.UnpackError as e:
                        what = f"the frame at byte {frame} cannot be read from its event {index} on ({e})"
                        self._skip((frame, index), what + "; the rest of it was skipped")
                        blocks.skipping = True  # on to the frame's end, without decompressing the rest
                    if held_bytes > _HOLD_BYTES:
                        yield from held
                        held.clear()
                if unpacker.pending and not blocks.skipping:
                    left = f"its last {unpacker.pending} bytes are not a whole event"
                    self._skip(
                        (frame, index), f"the frame at byte {frame} ends inside an event ({left}); they were skipped"
                    )
            except _FrameError as e:
                self._stop(frame, _frame_problem(self.path, frame, e))
                return
            except SessionError as e:  # an I/O error while reading
                self._stop(frame, str(e))
                return
            yield from held
            self.end = max(self.end, src.offset)

    def _skip(self, ref: Ref, what: str) -> None:
        if ref <= self._frontier:
            return  # seen in an earlier pass
        self._frontier = ref
        self._skipped += 1
        if self._first_skip is None:
            self._first_skip = f"session file {self.path}: {what}"

    def _stop(self, frame: int, message: str) -> None:
        if (frame, 1 << 62) <= self._frontier:
            return  # seen in an earlier pass
        self._frontier = (frame, 1 << 62)
        self.end = frame
        self._stopped = message
        self._stop_counting = True  # events() counts what it yielded before the stop

    @property
    def problem(self) -> str | None:
        """What could not be read so far, in a sentence or two naming the file and where; ``None`` if nothing."""
        parts = []
        if self._first_skip is not None:
            more = self._skipped - 1
            parts.append(self._first_skip + (f" ({more} more unreadable events were skipped)" if more else ""))
        if self._stopped is not None:
            parts.append(f"{self._stopped}; {self._events_before_stop} events before it are readable")
        return "; ".join(parts) if parts else None


def _type_of(obj: object) -> str:
    """``"output event"``: the type a stored event says it has, escaped (:func:`tracer.model.visible`: a file from
    elsewhere may name any text), or ``"event"``."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    return f"{visible(kind)} event" if isinstance(kind, str) and len(kind) <= 40 else "event"


def iter_frames(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte_offset, decompressed_content)`` for each frame of the session file (for tests and tools).

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError: the file cannot be read as a session.
        CorruptSession: a frame cannot be read (raised after the frames before it were yielded); the message
            names the file and the frame's byte offset.
    """
    fd = open_session_file(path)
    try:
        src = _Bytes(fd, PREAMBLE_SIZE, path)
        while src.peek(1):
            frame = src.offset
            try:
                content = b"".join(_Frame(src))
            except _FrameError as e:
                raise CorruptSession(_frame_problem(path, frame, e)) from e
            yield frame, content
    finally:
        os.close(fd)


def read_header(path: Path) -> Header:
    """Only the header (the first event): cheap, for listings.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError, CorruptSession.
    """
    with SessionReader(path) as reader:
        return reader.header


def read_session(path: Path, *, max_bytes: int = MAX_SESSION_BYTES) -> Session:
    """Read every event of the session at ``path`` into memory, ordered by time.

    What cannot be read does not raise: the events before a cut-off or corrupt frame are returned, malformed
    events are skipped, and :attr:`Session.problem` says what happened and where. Reading stops after
    ``max_bytes`` of events (msgpack size), with a problem saying so.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError: the file is not a readable session.
        CorruptSession: not even the header could be read.
    """
    with SessionReader(path) as reader:
        events: list[Event] = []
        held = 0
        problem = None
        for _, size, event in reader.events():
            held += size
            if held > max_bytes:
                problem = (
                    f"session file {path} holds more than {_size(max_bytes)} of events, more than tracer reads into "
                    f"memory: only the first {len(events)} events are read (`tracer export` streams all of it)"
                )
                break
            events.append(event)
        problem = "; ".join(p for p in (reader.problem, problem) if p) or None
        header = reader.header
    events.sort(key=lambda e: e.t)
    return Session(path=os.fspath(path), header=header, events=events, problem=problem)


def read_outline(path: Path) -> Session:
    """The session at ``path`` without its bulk: output and input events are left out and file changes keep no
    diff (counts, hashes and sizes stay). What ``tracer show``, ``tracer ls`` and ``tracer verify`` need, in
    memory bounded by the largest event plus a little per command, edit and note.

    :attr:`Session.output_until` keeps the time of the last output, so :attr:`Session.duration` is the same as
    the whole session's. Problems are reported as :func:`read_session` does.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError, CorruptSession: as :func:`read_session`.
    """
    with SessionReader(path) as reader:
        events: list[Event] = []
        output_until = 0
        for _, _, event in reader.events():
            kind = type(event)
            if kind is Output or kind is Input:
                output_until = max(output_until, event.t)
                continue
            if isinstance(event, FileChange) and event.diff:
                event = dataclasses.replace(event, diff="")
            events.append(event)
        problem, header = reader.problem, reader.header
    events.sort(key=lambda e: e.t)
    return Session(path=os.fspath(path), header=header, events=events, problem=problem, output_until=output_until)
