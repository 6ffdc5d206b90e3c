"""What the replay knows of a session, without holding its output: an index built in one pass, and readers
that fetch output bytes by their position in the stream.

A session of 250 MB of output does not fit the replay's memory budget, so the replay never holds it. One pass
over the session (:meth:`SessionSource.scan`, in a worker) builds a :class:`SessionIndex`:

- the :class:`ScreenStream`: one item per PTY read (its time and where its bytes end in the output) and per
  resize, in arrays of 16 bytes an item;
- where each frame's output starts (a session file) so that :class:`FileOutput` can fetch any byte range by
  decompressing the one or two frames that hold it (a few kept in a small LRU);
- how many newlines come before every :data:`BLOCK` of output, so that a command's lines can be counted and
  found without reading its output (:class:`tracer.replay.lines.OutputLines`);
- every event but output (commands, edits, notes, …), each at its **moment**: the number of stream items before
  it. Commands, their ends and resizes are placed by their position in the stream as recorded (a fast command's
  start, output, end and next prompt can share one timestamp: its start is still before its output); edits,
  notes and the rest are placed by time.

Output positions count bytes from the start of the output (all ``output`` events back to back).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import zstandard

from tracer.errors import CorruptSession, NotASession, SessionError, SessionNotFound, UnsupportedVersion
from tracer.model import (
    FORMAT_VERSION,
    Command,
    CommandEnd,
    CommandStart,
    Event,
    Header,
    JudgeResult,
    Note,
    Output,
    Resize,
    Session,
    SessionEnd,
    VerifyResult,
    event_from_dict,
    pair_commands,
)
from tracer.replay.terminal import Clusters, Terminal, cluster_end
from tracer.store import EventUnpacker, UnpackError, read_header
from tracer.store.format import PREAMBLE_SIZE, parse_preamble
from tracer.store.reader import MAX_FRAME_BYTES

#: Output bytes per newline-count block (see :attr:`ScreenStream.newlines`).
BLOCK = 64 * 1024
#: Largest slice fed to an emulator in one call (bytes), so a background build never holds the GIL long.
SLICE = 64 * 1024
#: Largest decompressed frame read (bytes): the store's limit (a frame of output is at most 2 MiB, one of a large
#: start state or final patch holds that one event); a hostile file cannot ask for more.
MAX_FRAME = MAX_FRAME_BYTES
#: Compressed bytes fed to the decompressor at a time: at zstd's densest (an RLE block) 1 KiB gives 32 MiB, so a
#: frame that lies about its size is stopped before it costs more than that.
_FEED = 1 << 10
#: Decompressed content fed to the unpacker at a time (bytes).
_UNPACK_BYTES = 256 << 10
#: Most events other than output an index keeps, most resizes, most items one output event becomes (a session
#: tracer records has thousands of events; these bound what a hostile file can make the replay hold).
MAX_EVENTS, MAX_RESIZES, MAX_READS = 1_000_000, 100_000, 4096
#: Version of the index cache's data (:meth:`FileSource.scan`).
_CACHE_VERSION = 1
#: Decompressed frames a :class:`FileOutput` keeps.
_LRU_FRAMES = 3


class OutputReader(Protocol):
    """Output bytes by their position in the stream. One reader serves one thread (see :meth:`copy`)."""

    def read(self, start: int, stop: int) -> bytes:
        """The output bytes ``start`` (included) to ``stop`` (excluded), clamped to the output."""
        ...

    def copy(self) -> OutputReader:
        """A reader of the same output for another thread."""
        ...


class _Chunks:
    """Output in consecutive chunks: chunk ``i`` starts at output position ``_starts[i]``."""

    _starts: array[int]
    _total: int

    def _chunk(self, i: int) -> bytes:
        raise NotImplementedError

    def read(self, start: int, stop: int) -> bytes:
        """The output bytes ``start`` (included) to ``stop`` (excluded), clamped to the output."""
        stop = min(stop, self._total)
        if start >= stop:
            return b""
        i = bisect_right(self._starts, start) - 1
        parts = []
        while start < stop:
            piece = self._chunk(i)[start - self._starts[i] : stop - self._starts[i]]
            parts.append(piece)
            start += len(piece)
            i += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)


class MemoryOutput(_Chunks):
    """Output held in memory: the ``output`` events' bytes (not copied)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._starts = array("q")
        self._total = 0

    def add(self, data: bytes) -> None:
        self._chunks.append(data)
        self._starts.append(self._total)
        self._total += len(data)

    def _chunk(self, i: int) -> bytes:
        return self._chunks[i]

    def copy(self) -> MemoryOutput:
        return self


class FileOutput(_Chunks):
    """Output read from a session file by frames: ``frames[i]`` is the file offset of frame ``i`` and ``starts[i]``
    the output position its output starts at. Frames whose output cannot be read again (the file changed) read as
    NUL bytes, which a terminal ignores."""

    def __init__(self, path: Path, frames: array[int], starts: array[int], total: int) -> None:
        self.path = path
        self._frames = frames
        self._starts = starts
        self._total = total
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._file: BinaryIO | None = None

    def _chunk(self, i: int) -> bytes:
        data = self._cache.get(i)
        if data is not None:
            self._cache.move_to_end(i)
            return data
        size = (self._starts[i + 1] if i + 1 < len(self._starts) else self._total) - self._starts[i]
        try:
            if self._file is None:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open while the reader lives
            frame = FrameEvents(self._file, self._frames[i])
            data = b"".join(e.data for m in frame if isinstance(e := _event(m), Output))
        except (OSError, CorruptSession):
            data = b""
        if len(data) != size:
            data = bytes(size)
        self._cache[i] = data
        if len(self._cache) > _LRU_FRAMES:
            self._cache.popitem(last=False)
        return data

    def copy(self) -> FileOutput:
        return FileOutput(self.path, self._frames, self._starts, self._total)

    def close(self) -> None:
        """Close the file (reading again opens it again)."""
        if self._file is not None:
            self._file.close()
            self._file = None


# --- frames of a session file -------------------------------------------------------------------------------


class FrameEvents:
    """The event maps of the zstd frame at byte ``offset`` of ``f``, decompressed and unpacked as they come: the
    frame is never held whole, only the event being read (a frame of a large start state or final patch holds one
    event of up to hundreds of MB). Iterate once; :attr:`length` is then the frame's length in the file (bytes).

    Maps stop at the first thing that is not a map or does not unpack (the rest of the frame is decompressed to
    find its end, not unpacked); with ``unpack=False`` there are none (the header's frame, read already).

    Raises:
        CorruptSession: (while iterating) the frame is cut off, does not decode, or holds more than
            :data:`MAX_FRAME` bytes.
        OSError: the file cannot be read.
    """

    def __init__(self, f: BinaryIO, offset: int, *, unpack: bool = True) -> None:
        self._f = f
        self.offset = offset
        self.length = 0
        self._unpack = unpack

    def __iter__(self) -> Iterator[dict[str, Any]]:
        f, offset = self._f, self.offset
        f.seek(offset)
        dobj = zstandard.ZstdDecompressor().decompressobj()
        # the store's unpacker and its limits (an event's size, and its items: a small event of nested empty arrays
        # cannot become gigabytes of objects)
        unpacker = EventUnpacker() if self._unpack else None
        held: list[bytes] = []  # content not fed yet: fed _UNPACK_BYTES at a time (a call per KiB cost a third more)
        held_size = size = consumed = 0
        name = getattr(f, "name", "session file")
        while True:
            data = f.read(64 * 1024)
            if not data:
                raise CorruptSession(f"session file {name} is cut off at byte {offset} (the recording was interrupted)")
            for i in range(0, len(data), _FEED):
                piece = data[i : i + _FEED]
                try:
                    out = dobj.decompress(piece)
                except zstandard.ZstdError as e:
                    raise CorruptSession(f"session file {name} is corrupt at byte {offset}: {e}") from e
                size += len(out)
                if size > MAX_FRAME:
                    raise CorruptSession(
                        f"session file {name} has a frame at byte {offset} larger than {MAX_FRAME >> 20} MiB: "
                        "tracer never writes one; the file is damaged or not tracer's"
                    )
                if out and unpacker is not None:
                    held.append(out)
                    held_size += len(out)
                if unpacker is not None and held and (held_size >= _UNPACK_BYTES or dobj.eof):
                    content = b"".join(held)
                    held.clear()
                    held_size = 0
                    try:
                        unpacker.feed(content)
                        for obj, _ in unpacker:
                            if not isinstance(obj, dict):
                                unpacker = None
                                break
                            yield obj
                    except UnpackError:  # (EventTooLarge among them)
                        unpacker = None
                if dobj.eof:
                    self.length = consumed + i + len(piece) - len(dobj.unused_data)
                    return
            consumed += len(data)


# --- the stream ---------------------------------------------------------------------------------------------


class ScreenStream:
    """What changes the screen, in stream order: output (one item per PTY read) and resizes.

    Attributes:
        cols, rows: the size at the start (from the header).
        times: microseconds since session start, one per item, non-decreasing.
        offsets: ``offsets[i]`` is the number of output bytes before item ``i`` (``len(self) + 1`` entries).
        resizes: item index -> ``(cols, rows)`` for the items that are resizes (they hold no bytes).
        newlines: ``newlines[j]`` is the number of ``\\n`` bytes in the output before position ``j * BLOCK``.
        reader: the output's bytes (for the thread that made the stream; :meth:`copy` for others).
        clusters: stand-ins of zero-width clusters shared by every terminal of this stream.
    """

    def __init__(self, cols: int, rows: int, reader: OutputReader | None = None) -> None:
        self.cols = cols
        self.rows = rows
        self.times = array("q")
        self.offsets = array("q", [0])
        self.resizes: dict[int, tuple[int, int]] = {}
        self._resize_items: list[int] = []
        self.newlines = array("q", [0])
        self.reader: OutputReader = reader if reader is not None else MemoryOutput()
        self.clusters = Clusters()
        self.max_rows = rows

    @classmethod
    def from_events(cls, header: Header, events: list[Event]) -> ScreenStream:
        """The stream of events in memory (in stream order, as :class:`tracer.model.Session` keeps them)."""
        builder = IndexBuilder(header)
        for e in events:
            builder.add(e)
        return builder.stream

    def __len__(self) -> int:
        return len(self.times)

    @property
    def total_bytes(self) -> int:
        """Output bytes in the whole stream."""
        return self.offsets[-1]

    @property
    def scrollback(self) -> int:
        """Lines of scrollback a terminal replaying this stream keeps: enough for the largest window it grows to
        (0 when it never grows)."""
        return self.max_rows if self.max_rows > self.rows or self.resizes else 0

    def copy(self) -> ScreenStream:
        """The same stream with its own reader, for another thread (the arrays are shared, read-only)."""
        other = ScreenStream.__new__(ScreenStream)
        other.__dict__.update(self.__dict__)
        other.reader = self.reader.copy()
        return other

    def count_at(self, t: int) -> int:
        """How many items happened at or before ``t`` (microseconds)."""
        return bisect_right(self.times, t)

    def count_after_byte(self, position: int) -> int:
        """How many items it takes for the output byte at ``position`` to be shown."""
        return min(len(self), bisect_right(self.offsets, position))

    def time_of(self, count: int) -> int:
        """The time of the ``count``-th item (microseconds; 0 before the first)."""
        return self.times[count - 1] if count > 0 else 0

    def size_at(self, count: int) -> tuple[int, int]:
        """The window size after ``count`` items."""
        i = bisect_left(self._resize_items, count) - 1
        return self.resizes[self._resize_items[i]] if i >= 0 else (self.cols, self.rows)

    def resize_between(self, start: int, stop: int) -> int | None:
        """The index of the last resize item in ``start`` (included) to ``stop`` (excluded), if any."""
        i = bisect_left(self._resize_items, stop) - 1
        return self._resize_items[i] if i >= 0 and self._resize_items[i] >= start else None

    def data(self, start: int, stop: int) -> bytes:
        """The output bytes of items ``start`` to ``stop``."""
        return self.reader.read(self.offsets[start], self.offsets[stop])

    def fingerprint(self) -> list[int]:
        """A cheap identity of the stream (size, length, total bytes, last time, resizes, first and last bytes), so
        a cached index is used only for the stream it was built from."""
        import zlib

        total = self.total_bytes
        crc = zlib.crc32(self.reader.read(0, 4096) + self.reader.read(max(0, total - 4096), total))
        last = self.times[-1] if len(self.times) else 0
        return [self.cols, self.rows, len(self), total, last, len(self.resizes), crc]

    def apply(self, terminal: Terminal, start: int, stop: int) -> None:
        """Feed items ``start`` (included) to ``stop`` (excluded) to ``terminal``."""
        offsets, resize_items = self.offsets, self._resize_items
        i = bisect_left(resize_items, start)
        while start < stop:
            resize = resize_items[i] if i < len(resize_items) else stop
            end = min(stop, resize)
            if end > start:
                self.feed(terminal, offsets[start], offsets[end])
            if end == resize < stop:
                terminal.resize(*self.resizes[resize])
                end += 1
                i += 1
            start = end

    def feed(self, terminal: Terminal, position: int, stop: int) -> None:
        """Feed output bytes ``position`` to ``stop`` to ``terminal`` in slices of at most :data:`SLICE` bytes,
        cut where no character or cluster is split."""
        read = self.reader.read
        while position < stop:
            chunk = read(position, min(stop, position + SLICE + 8))
            if position + len(chunk) < stop and len(chunk) > SLICE:
                cut = chunk.rfind(b"\n", 0, SLICE) + 1 or cluster_end(chunk, SLICE)
                chunk = chunk[:cut]
            terminal.feed(chunk)
            position += len(chunk)


# --- the index ----------------------------------------------------------------------------------------------

#: Events placed by their position in the stream; the others are placed by time.
_STREAM_ORDERED = (CommandStart, CommandEnd, Resize)


@dataclass(slots=True)
class SessionIndex:
    """A session as the replay uses it (see the module's docstring).

    Attributes:
        session: the session without its output (``events`` hold no ``output`` event): notes, edits, the final
            patch, verify results, as :class:`tracer.model.Session` gives them.
        stream: the screen's stream, its reader for the UI thread.
        commands: commands in order of start (``output`` empty: see :meth:`output_range`).
        moments: command id -> ``(start, end)``: the stream counts at its start and end (``None``: never ended).
        ranges: command id -> ``(start, stop)``: its output's positions.
        duration: microseconds from the start to the end of the session.
    """

    session: Session
    stream: ScreenStream
    commands: list[Command]
    moments: dict[int, tuple[int, int | None]]
    ranges: dict[int, tuple[int, int]]
    duration: int
    event_counts: dict[int, int] = field(default_factory=dict)

    @property
    def header(self) -> Header:
        """The session's header."""
        return self.session.header

    def output_range(self, command_id: int) -> tuple[int, int]:
        """Where the output of command ``command_id`` lies (output positions)."""
        return self.ranges.get(command_id, (0, 0))

    def moment_of(self, event: Event) -> int:
        """The stream count at ``event``: its place in the stream, or the items at or before its time."""
        count = self.event_counts.get(id(event))
        return count if count is not None else self.stream.count_at(event.t)


class IndexBuilder:
    """Builds a :class:`SessionIndex` from events given in stream order (:meth:`add`), in one pass.

    Args:
        header: the session's header.
        reader: where the output's bytes will be read from (``None``: kept in memory from the events).
    """

    def __init__(self, header: Header, reader: OutputReader | None = None) -> None:
        self.header = header
        self._memory = reader is None
        self.stream = ScreenStream(header.cols, header.rows, reader)
        self.events: list[Event] = []
        self.counts: list[int] = []
        self.dropped = 0
        self._last_t = 0
        self._newlines = 0

    def add(self, e: Event) -> None:
        """Take the next event of the stream.

        A hostile file cannot make the index large: past :data:`MAX_EVENTS` events other than output and
        :data:`MAX_RESIZES` resizes, more are left out (:attr:`dropped` counts them), and an output event's reads
        are merged into at most :data:`MAX_READS` items.
        """
        kind = type(e)
        if kind is Output:
            assert isinstance(e, Output)
            self._output(e)
            return
        if len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        if kind is Resize:
            assert isinstance(e, Resize)
            stream = self.stream
            if len(stream.resizes) >= MAX_RESIZES:
                self.dropped += 1
                return
            self._last_t = max(self._last_t, e.t)
            index = len(stream.times)
            stream.times.append(self._last_t)
            stream.offsets.append(stream.offsets[-1])
            stream.resizes[index] = (max(1, e.cols), max(1, e.rows))
            stream._resize_items.append(index)
            stream.max_rows = max(stream.max_rows, e.rows)
        self.events.append(e)
        self.counts.append(len(self.stream.times))

    def _output(self, e: Output) -> None:
        data = e.data
        size = len(data)
        if not size:
            return
        stream = self.stream
        times, offsets = stream.times, stream.offsets
        base = offsets[-1]
        if self._memory:
            stream.reader.add(data)  # type: ignore[attr-defined]
        start = 0
        reads = e.reads or ((size, 0),)
        step = len(reads) // MAX_READS + 1  # a hostile event's million reads become at most MAX_READS items
        for end, delay in reads[step - 1 :: step]:
            end = min(end, size)
            if end <= start:
                continue
            if end < size and data[end] >= 0x80:
                end = cluster_end(data, end)  # a read never ends inside a character or a cluster
            self._last_t = max(self._last_t, e.t + delay)
            times.append(self._last_t)
            offsets.append(base + end)
            start = end
        if start < size:
            self._last_t = max(self._last_t, e.t)
            times.append(self._last_t)
            offsets.append(base + size)
        newlines = stream.newlines
        boundary = len(newlines) * BLOCK
        while boundary <= base + size:
            newlines.append(self._newlines + data.count(b"\n", 0, boundary - base))
            boundary += BLOCK
        self._newlines += data.count(b"\n")

    def state(self) -> dict[str, Any]:
        """What the builder has taken so far, as plain data (see :meth:`restore`)."""
        stream = self.stream
        return {
            "times": stream.times.tobytes(),
            "offsets": stream.offsets.tobytes(),
            "newlines": stream.newlines.tobytes(),
            "resizes": [[i, c, r] for i, (c, r) in stream.resizes.items()],
            "last": [self._last_t, self._newlines, self.dropped],
            "events": [e.to_dict() for e in self.events],
            "counts": list(self.counts),
        }

    @classmethod
    def restore(cls, header: Header, reader: OutputReader, state: dict[str, Any]) -> IndexBuilder:
        """A builder that has taken what :meth:`state` describes and can take more.

        Raises:
            ValueError, KeyError, TypeError: the data is not a builder's state.
        """
        builder = cls(header, reader)
        stream = builder.stream
        for name in ("times", "offsets", "newlines"):
            values = array("q")
            values.frombytes(state[name])
            setattr(stream, name, values)
        for i, cols, rows in state["resizes"]:
            stream.resizes[int(i)] = (int(cols), int(rows))
        stream._resize_items = sorted(stream.resizes)
        stream.max_rows = max([header.rows, *(r for _, r in stream.resizes.values())])
        builder._last_t, builder._newlines, builder.dropped = (int(x) for x in state["last"])
        events = [_event(m) for m in state["events"]]
        if any(e is None for e in events) or len(events) != len(state["counts"]):
            raise ValueError("the cached events do not read back")
        builder.events = [e for e in events if e is not None]
        builder.counts = [int(c) for c in state["counts"]]
        if len(stream.offsets) != len(stream.times) + 1:
            raise ValueError("the cached stream is inconsistent")
        return builder

    def finish(self, path: str, problem: str | None = None) -> SessionIndex:
        """The index of everything added so far."""
        if self.dropped:
            left_out = f"{self.dropped} events past the replay's limits were left out"
            problem = f"{problem}; {left_out}" if problem else left_out
        stream = self.stream
        offsets = stream.offsets
        counts = self.counts
        event_counts = {
            id(e): count for e, count in zip(self.events, counts, strict=True) if type(e) in _STREAM_ORDERED
        }
        commands, spans = pair_commands(self.events)  # the model's pairing, on the events in stream order
        end_counts: dict[int, int] = {}
        for e, count in zip(self.events, counts, strict=True):
            if isinstance(e, CommandEnd):
                end_counts.setdefault(e.id, count)
        moments: dict[int, tuple[int, int | None]] = {}
        ranges: dict[int, tuple[int, int]] = {}
        for c in commands:
            first, stop = spans[c.id]
            start = counts[first - 1]  # the command_start event's
            moments[c.id] = (start, end_counts.get(c.id) if c.end is not None else None)
            ranges[c.id] = (offsets[start], offsets[counts[stop]] if stop < len(counts) else stream.total_bytes)
        events = sorted(self.events, key=lambda e: e.t)
        session = Session(path=path, header=self.header, events=events, problem=problem)
        end_event = session.end
        if end_event is not None:
            duration = end_event.t
        else:
            recorded = [e.t for e in events if not isinstance(e, (Note, VerifyResult, JudgeResult))]
            duration = max([stream.times[-1] if len(stream.times) else 0, *recorded])
        return SessionIndex(session, stream, commands, moments, ranges, duration, event_counts)


# --- sources ------------------------------------------------------------------------------------------------


def _mask_late_values(builder: IndexBuilder, every_event: Iterable[Event]) -> None:
    """Mask in ``builder``'s events and output what its session's end says was written before it was recognised
    (:mod:`tracer.replay.masked`); ``every_event``: the session's header and events in file order, read only when
    there is such a value."""
    end = next((e for e in reversed(builder.events) if isinstance(e, SessionEnd)), None)
    if end is None or not end.unmasked:
        return
    from tracer.redact import values_at  # (RE2, Hyperscan: only for such a session)
    from tracer.replay import masked

    values = values_at(end.unmasked, every_event)
    if values:
        label = builder.header.redaction or ""
        redactor = masked.values_redactor(values, label)
        builder.header = masked.masked_header(builder.header, redactor)
        builder.events = masked.masked_events(builder.events, redactor)
        builder.stream.reader = masked.MaskedOutput(builder.stream.reader, values, label)


def _file_events(path: Path) -> Iterator[Event]:
    """The header and events of the session file at ``path``, in file order, as far as they can be read."""
    from tracer.store import SessionReader

    try:
        with SessionReader(path) as reader:
            yield from reader.every_event()
    except SessionError:
        return


class SessionSource(ABC):
    """A session to replay: its header at once, the rest by :meth:`scan`.

    Attributes:
        header: the session's header.
        path: where it comes from (a file path, or a name for a session in memory).
    """

    header: Header
    path: str

    @abstractmethod
    def scan(
        self, progress: Callable[[float], None] | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> SessionIndex | None:
        """Read the whole session once and index it (seconds for hundreds of MB: call it from a worker).

        ``progress(fraction)`` is called now and then; ``None`` is returned when ``cancelled()`` turned true.
        """

    def appended(self) -> list[Event]:
        """Events added to the session since :meth:`scan` (notes, verify results), output left out."""
        return []


class MemorySource(SessionSource):
    """A session already in memory (tests, benchmarks, sessions built by other tools)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.header = session.header
        self.path = session.path

    def scan(
        self, progress: Callable[[float], None] | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> SessionIndex:
        builder = IndexBuilder(self.header)
        for e in self.session.events:
            builder.add(e)
        _mask_late_values(builder, [self.header, *self.session.events])
        return builder.finish(self.path, self.session.problem)


class FileSource(SessionSource):
    """A session file, read frame by frame: its output stays in the file (:class:`FileOutput`).

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, CorruptSession: the file is not a readable session.
    """

    def __init__(self, path: Path, cache: Path | None = None) -> None:
        """``cache``: where the index is kept between runs (``None``: not kept). A cached index is used when the
        file still starts with what was indexed (session files only grow: appended frames are indexed on top)."""
        self.file = Path(path)
        self.path = os.fspath(path)
        self.header = read_header(self.file)
        self.cache = cache
        self._scanned = PREAMBLE_SIZE  # file offset up to which frames were read
        self._lock = threading.Lock()

    def _frames(self, start: int) -> Iterator[FrameEvents]:
        """Each frame from ``start`` (iterate each before the next), the header's (read already) without its events;
        stops (raising) at a damaged frame."""
        try:
            f = open(self.file, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise SessionError(f"cannot read session file {self.path}: {e.strerror}") from e
        with f:
            if start == PREAMBLE_SIZE:
                version = parse_preamble(f.read(PREAMBLE_SIZE))
                if version is None:
                    raise NotASession(f"{self.path} is not a tracer session (it does not start with tracer's preamble)")
                if version > FORMAT_VERSION:
                    raise UnsupportedVersion(f"{self.path} is in session format {version}: upgrade tracer to read it")
            size = os.fstat(f.fileno()).st_size
            offset = start
            while offset < size:
                frame = FrameEvents(f, offset, unpack=offset != PREAMBLE_SIZE)
                yield frame
                if not frame.length:  # (not read to its end by the caller)
                    for _ in frame:
                        pass
                offset += frame.length
                self._scanned = offset

    def scan(
        self, progress: Callable[[float], None] | None = None, cancelled: Callable[[], bool] = lambda: False
    ) -> SessionIndex | None:
        frames, starts = array("q"), array("q")
        reader = FileOutput(self.file, frames, starts, 0)
        builder, start = self._cached(reader, frames, starts)
        self._scanned = start
        output = builder.stream.offsets
        problem = None
        size = max(1, self.file.stat().st_size)
        try:
            for frame in self._frames(start):
                if cancelled():
                    return None
                before, offset = output[-1], frame.offset
                for m in frame:
                    event = _event(m)
                    if event is not None:
                        builder.add(event)
                if output[-1] > before:  # a frame with output: where its output starts
                    frames.append(offset)
                    starts.append(before)
                if progress is not None:
                    progress(offset / size)
        except (CorruptSession, SessionError) as e:
            problem = f"{e}; the events before it are readable"
        except SessionNotFound as e:
            problem = str(e)
        reader._total = output[-1]
        if problem is None and start != self._scanned:
            self._save(builder, frames, starts)
        _mask_late_values(builder, _file_events(self.file))
        return builder.finish(self.path, problem)

    def _identity(self, size: int) -> list[Any]:
        """What says that the file still starts as it did at ``size`` bytes: the header and its last 4 KiB."""
        import zlib

        with open(self.file, "rb") as f:
            f.seek(max(0, size - 4096))
            tail = f.read(min(size, 4096))
        return [_CACHE_VERSION, self.header.session_id, self.header.uuid, size, zlib.crc32(tail)]

    def _cached(self, reader: FileOutput, frames: array[int], starts: array[int]) -> tuple[IndexBuilder, int]:
        """The builder and file offset to go on from: the cached index's when it still holds, else a new one."""
        from tracer.store.cache import load_cache

        data = load_cache(self.cache) if self.cache is not None else None
        try:
            if isinstance(data, dict) and data["file"] == self._identity(int(data["file"][3])):
                builder = IndexBuilder.restore(self.header, reader, data["builder"])
                frames.frombytes(data["frames"])
                starts.frombytes(data["starts"])
                if len(frames) == len(starts):
                    return builder, int(data["file"][3])
        except (KeyError, TypeError, ValueError, IndexError, OSError):
            pass
        del frames[:], starts[:]
        return IndexBuilder(self.header, reader), PREAMBLE_SIZE

    def _save(self, builder: IndexBuilder, frames: array[int], starts: array[int]) -> None:
        from tracer.store.cache import save_cache

        if self.cache is not None:
            state = {"builder": builder.state(), "frames": frames.tobytes(), "starts": starts.tobytes()}
            save_cache(self.cache, state | {"file": self._identity(self._scanned)})

    def appended(self) -> list[Event]:
        events: list[Event] = []
        with self._lock:
            try:
                for frame in self._frames(self._scanned):
                    events.extend(e for m in frame if (e := _event(m)) and not isinstance(e, Output))
            except (CorruptSession, SessionError):
                pass
        return events


def _event(m: dict[str, Any]) -> Event | None:
    """The event a map describes; ``None`` for an unknown type or a malformed map (skipped, as a reader would)."""
    try:
        event = event_from_dict(m)
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(event.t, int) or isinstance(event.t, bool):
        return None
    if isinstance(event, Output) and not isinstance(event.data, bytes):
        return None
    if isinstance(event, Output) and event.reads is not None and not _pairs_of_ints(event.reads):
        event = Output(t=event.t, data=event.data)  # unusable read boundaries: one read
    if isinstance(event, Resize) and not (isinstance(event.cols, int) and isinstance(event.rows, int)):
        return None
    if isinstance(event, Header):
        return None
    return event


def _pairs_of_ints(reads: Any) -> bool:
    try:
        return all(isinstance(a, int) and isinstance(b, int) for a, b in reads)
    except (TypeError, ValueError):
        return False


def open_source(session: Session | Path | str) -> SessionSource:
    """The source of a session: one in memory, or a session file (whose header is read now).

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, CorruptSession: the file is not a readable session.
    """
    if isinstance(session, Session):
        return MemorySource(session)
    return FileSource(Path(session))


__all__ = [
    "BLOCK",
    "MAX_EVENTS",
    "MAX_READS",
    "MAX_RESIZES",
    "FileOutput",
    "FileSource",
    "FrameEvents",
    "IndexBuilder",
    "MemoryOutput",
    "MemorySource",
    "OutputReader",
    "ScreenStream",
    "SessionIndex",
    "SessionSource",
    "open_source",
]
