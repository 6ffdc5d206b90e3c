"""Writing session files: a writer thread that turns queued events into zstd frames, off the PTY's hot path.

The recorder's PTY loop calls :meth:`SessionWriter.output` per read, or :meth:`SessionWriter.output_batch` per
batch of reads from its C part (an append to a deque: no disk, no compression, no lock held for long); other
threads call :meth:`SessionWriter.event`. The writer thread coalesces output chunks
that arrived close together into one :class:`~tracer.model.Output` event (keeping each read's timing in
``reads``), packs events with msgpack, and closes a frame every 150 ms of activity or 2 MiB (see
:mod:`tracer.store.format`; 512 KiB for output that does not compress: :data:`SMALL_FRAME_BYTES`).

When the writer thread falls behind a flood of output (it shares two busy CPUs with the shell's programs),
:meth:`SessionWriter.output_batch` makes the PTY loop wait once :data:`MAX_QUEUED` bytes are queued: the output
pauses as on a slow terminal, and the recorder's memory stays bounded.

Frames of output that barely compresses (base64, compressed or random bytes: under :data:`POOR_RATIO` at
:data:`~tracer.store.format.ZSTD_LEVEL`) make the writer use zstd's fast level (:data:`FAST_LEVEL`, 5 to 10
times less CPU) until a large frame compresses well again: output nobody could shrink much does not take CPU
from the shell's programs.

Record-time redaction (:mod:`tracer.redact`) happens in the writer thread, before a byte is written: given a
``redactor`` factory, a thread builds the redactor as soon as the writer exists (its rules load while the shell
starts), :meth:`SessionWriter.begin` masks the header with it, and the writer thread masks every event and
every output event as it is packed (length-preserving: ``reads`` offsets stay
right; the redactor keeps the last bytes of output in memory as context, so a secret cut across events is
still masked, and nothing is held back from the disk). ``session_end`` gets the counts per rule.

A failed write (a full disk) never stops the recording: the file is cut back to the last whole frame, the frame
is kept in memory and retried, one warning goes to ``on_warning``, and the warning ends up in ``session_end``.
What could still not be written when the file is closed (or was dropped past :data:`MAX_PENDING`) is told by
:attr:`SessionWriter.unwritten`, so the recorder never says "saved" of a file that lacks its end.
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import dataclasses
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.errors import NotASession, SessionError, SessionNotFound, UnsupportedVersion
from tracer.model import FORMAT_VERSION, Event, Header, Output, SessionEnd
from tracer.store import _msgpack
from tracer.store.format import (
    FRAME_MAX_AGE,
    FRAME_MAX_BYTES,
    PREAMBLE,
    PREAMBLE_SIZE,
    compressor,
    parse_preamble,
)
from tracer.store.paths import create_session_file
from tracer.store.signing import Signer

if TYPE_CHECKING:  # imported by the writer thread, through the factory: not on the way to the shell
    import zstandard

    from tracer.redact import Redactor

#: Output chunks closer than this (microseconds) to the first chunk of an event are coalesced into it.
COALESCE_US = 20_000
#: An output event takes no more reads once it holds this many bytes.
EVENT_MAX_BYTES = FRAME_MAX_BYTES // 4
#: Frames kept in memory while the disk refuses them (bytes); beyond, new output is dropped (and said so).
MAX_PENDING = 64 << 20
#: Output batches queued for the writer thread past which the PTY loop waits for it (bytes; see
#: :meth:`SessionWriter.output_batch`).
MAX_QUEUED = 2 << 20
#: The longest the PTY loop waits for the writer thread at a time (seconds).
QUEUE_WAIT = 1.0
#: zstd level for output that barely compresses: zstd's fast mode, which leaves base64 text as it is (1.0x
#: instead of 1.33x at level 4) at ~4 GB/s instead of ~0.8 GB/s (docs/performance.md).
FAST_LEVEL = -1
#: A large frame that compresses less than this (content bytes / frame bytes) switches to FAST_LEVEL; one
#: that compresses at least this, at either level, switches back.
POOR_RATIO = 1.5
#: Frames from this size (content bytes) decide the level; smaller ones (interactive work) always get the
#: normal level: their CPU is negligible and their ratio says little.
LARGE_FRAME = 256 << 10
#: A frame of output closes at this size unless a sample of its output compresses well; then at FRAME_MAX_BYTES.
#: Output that barely compresses (base64, compressed data) would gain nothing in ratio in a larger frame, and the
#: frame's content and its compressed copy are most of what the recorder holds through a flood of it (bytes;
#: docs/performance.md, run 27: ~3 MB less).
SMALL_FRAME_BYTES = 512 << 10
#: Bytes of output in that sample (its last ones): compressed at the normal level in ~0.05 ms, under 1 % of the
#: full frame's compression.
SAMPLE_BYTES = 16 << 10
#: Through a stream of output, the writer calls its ``release`` hook (the recorder gives the memory it freed back to
#: the kernel) after this many bytes of frames, at most once in RELEASE_SECONDS: buffers of every size, allocated
#: by one thread and freed by another, leave free pages between live blocks that malloc keeps, and the process grew
#: by 4-8 MB through 300 MB of ``yes`` (docs/performance.md, run 28). Each call takes 0.3-4 ms and gives back 2-3 MB,
#: whose pages fault in again when the buffers are reused (~0.6 ms per MB): on a fast stream, once a second.
RELEASE_BYTES = 16 << 20
RELEASE_SECONDS = 1.0
#: An event with a text field of this many characters or more (a start state's patch, a final patch, the diff of
#: a large file) is packed and compressed piece by piece, in a frame of its own: see :func:`packed_pieces`.
LARGE_TEXT = 1 << 20
#: Characters of such a text encoded at a time.
_TEXT_PIECE = 1 << 20


@dataclass
class Unwritten:
    """What a session file lacks because writing it failed (a full disk, a file size limit).

    Attributes:
        reason: why, e.g. ``"the disk is full"``.
        since: ``t`` (microseconds) of the earliest event that was not written.
        events: events not written, by type (``"command_start"``, ``"file_change"``, ``"session_end"``…).
        output_bytes: bytes of terminal output not written.
    """

    reason: str
    since: int
    events: dict[str, int] = field(default_factory=dict)
    output_bytes: int = 0

    def describe(self) -> str:
        """What is missing, in words: ``"2 commands, 1 edit, 3.5 KiB of output, the final patch and the
        session's end"``."""
        e = self.events
        starts, ends = e.get("command_start", 0), e.get("command_end", 0)
        parts = ["the header"] if e.get("header") else []
        if starts:
            parts.append(_plural(starts, "command"))
        if ends > starts:
            parts.append(f"the exit status of {_plural(ends - starts, 'command')}")
        for kind, word in (("file_change", "edit"), ("note", "note")):
            if e.get(kind):
                parts.append(_plural(e[kind], word))
        if self.output_bytes:
            parts.append(f"{self.output_bytes / 1024:.1f} KiB of output")
        if e.get("final_patch"):
            parts.append("the final patch")
        if e.get("session_end"):
            parts.append("the session's end")
        if not parts:
            parts.append(_plural(sum(e.values()), "event"))
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass
class _Contents:
    """What one frame holds, in case it cannot be written."""

    since: int | None = None
    events: collections.Counter[str] = field(default_factory=collections.Counter)
    output_bytes: int = 0

    def add(self, kind: str, t: int, size: int = 0) -> None:
        self.since = t if self.since is None else min(self.since, t)
        self.events[kind] += 1
        if kind == Output.type:
            self.output_bytes += size


class _FrameBuffer:
    """The content of the frame being built, in one buffer kept from frame to frame.

    Each piece is copied in once, through a memoryview (a bytearray's own slice assignment copies a value that is
    not a bytearray first; growing by ``extend`` at every piece reallocates and copies): the frame is compressed
    straight from the buffer. The buffer starts small (a shell's frames are a few KiB), doubles when a frame needs
    more (up to :data:`KEEP` bytes, beyond only as much as a frame needs), and keeps what it grew to; after a frame
    larger than :data:`KEEP` bytes (an event with a large patch) it shrinks back, so its memory stays bounded.
    """

    #: Bytes the buffer may keep between frames beyond the frame's size: the event that closes it.
    SLACK = 256 << 10
    #: Bytes the buffer may keep between frames: a full frame of output and the event that closes it.
    KEEP = FRAME_MAX_BYTES + SLACK
    #: Bytes it starts with.
    FIRST = 64 << 10

    def __init__(self) -> None:
        self._buf = bytearray(self.FIRST)
        self._view = memoryview(self._buf)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (any bytes-like object of bytes)."""
        end = self.size + len(data)
        if end > len(self._buf):
            # doubled, but not past what it keeps: a full frame of output (a little over FRAME_MAX_BYTES) grows it
            # to KEEP, not to twice FRAME_MAX_BYTES that take() then shrinks back (a 4 MiB spike in every flood)
            self._resize(max(end, min(2 * len(self._buf), self.KEEP)))
        self._view[self.size : end] = data
        self.size = end

    def take(self, use: Callable[[memoryview], None]) -> None:
        """Call ``use`` with the content (a view, valid during the call only), then empty the buffer."""
        with self._view[: self.size] as content:
            use(content)
        self.size = 0
        self.shrink(self.KEEP)

    def shrink(self, keep: int) -> None:
        """Keep at most ``keep`` bytes (when empty: the frames to come are that small)."""
        if len(self._buf) > keep:
            self._resize(keep)

    def _resize(self, size: int) -> None:
        self._view.release()
        if size > len(self._buf):
            self._buf.extend(bytes(size - len(self._buf)))
        else:
            del self._buf[size:]
        self._view = memoryview(self._buf)


def _bin_header(n: int) -> bytes:
    """The header of a msgpack ``bin`` of ``n`` bytes (the msgpack specification, "bin format family": bin 8,
    bin 16 or bin 32, big-endian lengths), as ``msgpack.Packer(use_bin_type=True)`` writes it."""
    if n < 0x100:
        return b"\xc4" + n.to_bytes(1, "big")
    if n < 0x10000:
        return b"\xc5" + n.to_bytes(2, "big")
    return b"\xc6" + n.to_bytes(4, "big")


#: An output event's map up to its time: a fixmap of 3 (``type``, ``t``, ``data``) or 4 (and ``reads``) entries,
#: ``"type": "output"``, and the key ``"t"`` (msgpack fixmap and fixstr), in the order ``Output.to_dict`` has them.
_OUTPUT_HEAD = (b"\x83\xa4type\xa6output\xa1t", b"\x84\xa4type\xa6output\xa1t")
#: The key ``"reads"`` (a fixstr), packed.
READS_KEY = b"\xa5reads"


def output_head(pack: Callable[[Any], bytes], t: int, size: int, reads: bool) -> bytes:
    """The msgpack of an output event up to its bytes, for ``size`` bytes of data: what msgpack makes of the map
    ``{"type": "output", "t": t, "data": data}`` starts with; with ``reads``, the map has a fourth entry, and
    :data:`READS_KEY` and the packed reads follow the bytes. ``pack``: a :func:`tracer.store._msgpack.packer`'s
    ``pack``."""
    return _OUTPUT_HEAD[reads] + pack(t) + b"\xa4data" + _bin_header(size)


def is_large(d: dict[str, Any]) -> bool:
    """Whether the event ``d`` (``Event.to_dict()``) holds a text of :data:`LARGE_TEXT` characters or more (or as
    many bytes: text that is not UTF-8 is stored as ``bin``)."""
    return any(isinstance(v, (str, bytes)) and len(v) >= LARGE_TEXT for v in d.values())


def packed_pieces(d: dict[str, Any], pack: Callable[[Any], bytes]) -> tuple[int, Iterable[bytes]]:
    """The msgpack of the map ``d`` in pieces, without packing it whole: ``(its size in bytes, the pieces)``,
    joined the same bytes as ``pack(d)`` (a :func:`tracer.store._msgpack.packer`'s ``pack``). A text of
    :data:`LARGE_TEXT` characters or more is encoded a piece at a time after its ``str 32`` header, and bytes as
    many (text that is not UTF-8) follow their ``bin 32`` header as they are (the msgpack specification, "str
    format family", "bin format family"), so that a start state of 100 MB is held once, not three or four times
    (the packer's growing buffer, its result, zstd's output bound).

    Raises:
        UnicodeEncodeError: a text holds a lone surrogate (as ``pack`` would).
    """
    size = 0
    plan: list[bytes | str] = []  # packed pieces, and large texts to encode a piece at a time
    n = len(d)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
    for k, v in d.items():
        if isinstance(v, bytes) and len(v) >= LARGE_TEXT:  # (``bin 32``: the bytes themselves are a piece)
            plan += [pack(k) + b"\xc6" + len(v).to_bytes(4, "big"), v]
            size += len(plan[-2]) + len(v)
        elif isinstance(v, str) and len(v) >= LARGE_TEXT:
            length = len(v) if v.isascii() else sum(len(_piece(v, i)) for i in range(0, len(v), _TEXT_PIECE))
            plan += [pack(k) + b"\xdb" + length.to_bytes(4, "big"), v]
            size += len(plan[-2]) + length
        else:
            plan.append(pack(k) + pack(v))
            size += len(plan[-1])

    def pieces() -> Iterable[bytes]:
        yield head
        for item in plan:
            if isinstance(item, bytes):  # (packed, or a large ``bin``'s bytes)
                yield item
            else:
                for i in range(0, len(item), _TEXT_PIECE):
                    yield _piece(item, i)

    return len(head) + size, pieces()


def _piece(text: str, i: int) -> bytes:
    return text[i : i + _TEXT_PIECE].encode("utf-8")


def event_frame(d: dict[str, Any], pack: Callable[[Any], bytes], cctx: zstandard.ZstdCompressor) -> bytes:
    """A zstd frame (``cctx``'s) holding the event ``d`` (``Event.to_dict()``) alone, packed with ``pack``; a large
    one (:func:`is_large`) packed and compressed piece by piece (:func:`packed_pieces`), the frame declaring its
    size as any other.

    Raises:
        UnicodeEncodeError: a text holds a lone surrogate.
    """
    if not is_large(d):
        return cctx.compress(pack(d))
    size, pieces = packed_pieces(d, pack)
    stream = cctx.compressobj(size=size)
    frame = [stream.compress(piece) for piece in pieces]
    frame.append(stream.flush())
    return b"".join(frame)


class _FrameCompressor:
    """zstd for frames: :data:`~tracer.store.format.ZSTD_LEVEL`, or :data:`FAST_LEVEL` after a large frame
    that compressed poorly (see :data:`POOR_RATIO`)."""

    def __init__(self) -> None:
        self.normal = compressor()
        self._fast = compressor(FAST_LEVEL)
        #: Whether the last large frame compressed well; ``None`` before the first.
        self.last_compressed: bool | None = None

    @property
    def fast(self) -> bool:
        """The last large frame compressed poorly: the next ones are compressed at :data:`FAST_LEVEL`."""
        return self.last_compressed is False

    @property
    def compresses(self) -> bool:
        """The last large frame compressed well: the frames to come are likely full-size."""
        return self.last_compressed is True

    def compresses_well(self, chunks: list[Any]) -> bool:
        """Whether the last :data:`SAMPLE_BYTES` of ``chunks`` (bytes-like, in order) compress at least
        :data:`POOR_RATIO` at the normal level: how the rest of a frame of such output will."""
        sample: list[Any] = []
        size = 0
        for chunk in reversed(chunks):
            sample.append(chunk[-(SAMPLE_BYTES - size) :])
            size += len(sample[-1])
            if size >= SAMPLE_BYTES:
                break
        data = b"".join(reversed(sample))
        return len(data) >= POOR_RATIO * len(self.normal.compress(data))

    def compress(self, content: bytes | bytearray | memoryview) -> bytes:
        """One frame holding ``content``."""
        if len(content) < LARGE_FRAME:
            return self.normal.compress(content)
        frame = (self._fast if self.fast else self.normal).compress(content)
        self.last_compressed = len(content) >= POOR_RATIO * len(frame)
        return frame


class SessionWriter:
    """Writes one new session file.

    Args:
        path: the file to create (must not exist); created with mode 0600, with the preamble.
        header: the session's header, written at once in a frame of its own; or ``None`` to give it later
            with :meth:`begin` (events queued meanwhile are kept).
        on_warning: called (from the writer thread) with a one-sentence warning the first time writing fails.
        redactor: makes the record-time :class:`~tracer.redact.Redactor` (called once, in the writer thread);
            ``None``: nothing is masked (``tracer shell --no-redact``).
        key: the user's signing key (:func:`tracer.store.signing.user_key`), with ``header``: the file is
            signed (``session_end.mac``, see :mod:`tracer.store.signing`).
        fd: the file, already created by :func:`tracer.store.paths.create_session_file` (holding its preamble,
            for appending; the writer closes it); ``None``: the writer creates ``path``.
        release: called (from the writer thread) where the process may give the memory it freed back to the
            kernel (:func:`tracer.app.malloc.give_back_freed_memory`): through a stream of output (see
            :data:`RELEASE_BYTES`), and when the writer is done with its frame buffer and is about to read its file
            back (values learnt late, at the end), so that the reading does not raise its peak.

    Raises:
        SessionError: the file cannot be created.
    """

    def __init__(
        self,
        path: Path,
        header: Header | None = None,
        *,
        on_warning: Callable[[str], None] | None = None,
        redactor: Callable[[], Redactor] | None = None,
        key: bytes | None = None,
        fd: int | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self._on_warning = on_warning
        self._release = release
        self.redactor: Redactor | None = None
        self._redaction_warnings: list[str] = []
        self._redactor_ready: threading.Thread | None = None
        if redactor is not None:
            self._redactor_ready = threading.Thread(
                target=self._build_redactor, args=(redactor,), name="tracer-redact", daemon=True
            )
            self._redactor_ready.start()
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        # bytes of output batches queued by the PTY loop / taken by the writer thread (each counter is written by
        # one thread only), and the event the loop waits on when too much is queued (see output_batch)
        self._batched = 0
        self._taken = 0
        self._room = threading.Event()
        self._wake = threading.Event()
        self._closing = False
        self._compressor = _FrameCompressor()
        self._packer = _msgpack.packer()
        self._pending_frames: list[tuple[bytes, _Contents]] = []
        self._pending_bytes = 0
        self._lost: list[_Contents] = []  # frames dropped, or still pending at close
        self._why = ""
        self._signer: Signer | None = None
        self.warnings: list[str] = []
        #: Set by :meth:`close` when some events could not be written (``None``: the file is whole).
        self.unwritten: Unwritten | None = None
        #: How many values the session holds unmasked, written before record-time redaction learnt them (their
        #: sites are in ``session_end.unmasked``); known once :meth:`close` returns.
        self.unmasked = 0
        self._learnt = 0  # the record-time redactor's values learnt when the last frame was written
        self._learnt_by: int | None = None  # the file's end then: where a value learnt late can be, at most
        self._fd = create_session_file(path) if fd is None else fd  # (with its preamble)
        self._offset = len(PREAMBLE)
        self._thread = threading.Thread(target=self._run, name="tracer-writer", daemon=True)
        self.begun = False
        if header is not None:
            self.begin(header, key=key)

    def begin(self, header: Header, *, key: bytes | None = None) -> None:
        """Write ``header`` (in a frame of its own) and start writing what was queued before and after it.

        Events queued before :meth:`begin` wait in memory: the recorder starts the shell at once and writes
        the header when the workspace baseline is known. With a redactor, the header is masked first (this waits
        for the redactor, which is being built since the writer was made). Call once. With ``key``, every byte
        of the file is signed from the preamble on, and :meth:`close` writes the MAC in ``session_end``.
        """
        if self._redactor_ready is not None:
            self._redactor_ready.join()
            if self.redactor is not None:
                self._learnt = self.redactor.learnt  # (values it knew before this: none can be in the file unmasked)
                try:
                    header = self.redactor.event(header)  # type: ignore[assignment]
                    header = dataclasses.replace(header, redaction=self.redactor.rules.label)
                except Exception as e:
                    self._redaction_failed(e)
            if self.redactor is None:
                header = dataclasses.replace(header, redaction="off (failed to start)")
        if key is not None:
            self._signer = Signer(key)
            self._signer.update(PREAMBLE)
        contents = _Contents()
        contents.add(header.type, header.t)
        self._write_event_frame(header.to_dict(), contents)
        self.begun = True
        self._thread.start()

    def _build_redactor(self, make: Callable[[], Redactor]) -> None:
        try:
            self.redactor = make()
        except Exception as e:
            self._redaction_failed(e)

    def _redaction_failed(self, e: Exception) -> None:
        """A bug in the redactor (a user rule that does not compile is caught before the recording): say so, and
        record unmasked — the alternative is to lose the session."""
        self.redactor = None
        self._warn_once(f"tracer: redaction could not start ({e}); this session is recorded unmasked")

    # -- producers (any thread) -------------------------------------------------------------------------

    def output(self, t: int, data: bytes) -> None:
        """Queue ``data`` read from the PTY at ``t`` microseconds. Cheap: the PTY loop calls it per read."""
        queue = self._queue
        queue.append((t, data))
        if len(queue) > 256:
            self._wake.set()

    def output_batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        """Queue several reads at once: ``data`` holds them back to back, ``reads`` is ``(end offset in data, t)``
        per read, in order (the PTY loop's C part hands output over this way, every 50 ms or 1 MiB).

        Backpressure: when more than :data:`MAX_QUEUED` bytes of batches wait for the writer thread (a flood of
        output while the writer shares two busy CPUs), this waits until half of that is taken, at most
        :data:`QUEUE_WAIT` seconds at a time: the shell's output pauses as on a slow terminal, and the recorder's
        memory stays bounded. A writer that does not take them (stuck on a disk) never stops the shell for longer.
        """
        self._batched += len(data)
        self._queue.append((data, reads, None))
        self._wake.set()
        if self._batched - self._taken > MAX_QUEUED and self.begun:
            self._room.clear()
            if self._batched - self._taken > MAX_QUEUED:  # (checked again: the writer may have just taken them)
                self._room.wait(QUEUE_WAIT)

    def event(self, event: Event) -> None:
        """Queue any event (commands, edits, notes…). Events are written in the order they were queued."""
        self._queue.append((event,))
        self._wake.set()

    def close(self, end: SessionEnd) -> None:
        """Write everything queued, then ``end`` (with the writer's warnings added), and close the file.

        Blocks until the writer thread is done; call once, after :meth:`begin`.
        """
        if not self.begun:
            raise RuntimeError("SessionWriter.close() before begin(): the session has no header")
        self._queue.append((end,))
        self._closing = True
        self._wake.set()
        self._thread.join()
        self.unwritten = self._unwritten()
        # no fsync: the file is as safe as any other the user just wrote (in the page cache, written back by the
        # kernel); a crash of tracer loses nothing written. fsync would make the user wait for the disk at the end
        # of every recording (tens of milliseconds, more for large sessions), as script and asciinema do not.
        os.close(self._fd)

    # -- the writer thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        redactor = self.redactor
        buf = _FrameBuffer()
        contents = _Contents()  # what buf holds
        frame_started: float | None = None
        out_t: int | None = None
        out_chunks: list[bytes | memoryview] = []
        out_reads: list[list[int]] = []
        out_size = 0
        compressor = self._compressor
        limit = SMALL_FRAME_BYTES  # where this frame closes: FRAME_MAX_BYTES once a sample compressed well

        def flush_output() -> None:
            nonlocal out_t, out_chunks, out_reads, out_size
            if out_t is None:
                return
            # packed here, as Output.to_dict would be, so that the output is copied only into the frame: the map's
            # head, the bytes (the reads as they came, or masked: the same length), then the reads' offsets and times
            reads = len(out_reads) > 1
            pack = self._packer.pack  # (looked up each time: a packer that failed on an event is replaced)
            buf.add(output_head(pack, out_t, out_size, reads))
            if redactor is not None:
                buf.add(self._masked(redactor, out_chunks))
            else:
                for chunk in out_chunks:
                    buf.add(chunk)
            if reads:
                buf.add(READS_KEY + pack(out_reads))
            contents.add(Output.type, out_t, out_size)
            out_t, out_chunks, out_reads, out_size = None, [], [], 0

        def event_for(t: int) -> int:
            """The open output event a read at ``t`` joins (its ``t``): the one open now while ``t`` is close
            enough and it is under its size, else a new one."""
            nonlocal out_t
            if out_t is not None and (t - out_t > COALESCE_US or out_size >= EVENT_MAX_BYTES):
                flush_output()
            if out_t is None:
                out_t = t
            return out_t

        def add_read(t: int, data: bytes | memoryview) -> None:
            nonlocal out_size
            t0 = event_for(t)
            out_chunks.append(data)
            out_size += len(data)
            out_reads.append([out_size, t - t0])

        def add_batch(data: bytes, reads: list[tuple[int, int]]) -> None:
            """add_read for each read, a run of reads at a time: a run is what joins one event (found by
            bisection: reads are in time order), so the work per read is one list item."""
            nonlocal out_size, frame_started
            view = memoryview(data)
            ends = [end for end, _ in reads]
            times = [t for _, t in reads]
            pos, start, n = 0, 0, len(reads)
            while pos < n:
                t0 = event_for(times[pos])
                # the run ends at the first read too late for this event, or after the read that fills the
                # event or the frame (as add_read: a read joins while the event is under its size)
                room = min(EVENT_MAX_BYTES - out_size, limit - len(buf) - out_size)
                stop = min(
                    bisect.bisect_right(times, t0 + COALESCE_US, pos, n),
                    bisect.bisect_left(ends, start + room, pos, n) + 1,
                    n,
                )
                shift = out_size - start
                out_reads.extend([end + shift, t - t0] for end, t in reads[pos:stop])
                end = ends[stop - 1]
                out_chunks.append(view[start:end])
                out_size += end - start
                pos, start = stop, end
                if close_full_frame():
                    frame_started = time.monotonic()

        since_release = 0  # bytes of frames written since release() was last called
        released_at = time.monotonic()

        def write_frame() -> None:
            nonlocal contents, limit, since_release, released_at
            frame_contents = contents
            since_release += len(buf)
            if self._release is not None and since_release >= RELEASE_BYTES:
                now = time.monotonic()
                if now - released_at >= RELEASE_SECONDS:
                    since_release, released_at = 0, now
                    self._release()
            buf.take(lambda content: self._write_frame(content, frame_contents))  # compressed straight from it
            if not compressor.compresses:  # the next frames are likely small: so is what the buffer keeps
                buf.shrink(SMALL_FRAME_BYTES + buf.SLACK)
            limit = SMALL_FRAME_BYTES
            contents = _Contents()

        def close_full_frame() -> bool:
            """Write the frame when it holds ``limit`` bytes; True when it did. At SMALL_FRAME_BYTES, a frame whose
            output compresses well (a sample of it, unless the last frame barely compressed) grows to a full one."""
            nonlocal limit
            if len(buf) + out_size < limit:
                return False
            if limit < FRAME_MAX_BYTES and not compressor.fast and compressor.compresses_well(out_chunks):
                limit = FRAME_MAX_BYTES
                return False
            flush_output()
            write_frame()
            return True

        while True:
            closing = self._closing
            queue = self._queue
            while queue:
                item = queue.popleft()
                if frame_started is None:
                    frame_started = time.monotonic()
                if len(item) == 2:
                    add_read(item[0], item[1])
                elif len(item) == 3:
                    self._taken += len(item[0])
                    if self._batched - self._taken <= MAX_QUEUED // 2:
                        self._room.set()
                    add_batch(item[0], item[1])
                else:
                    flush_output()
                    event = item[0]
                    if isinstance(event, SessionEnd):  # the last event: every warning is known now
                        if redactor is not None and redactor.learnt:  # (read back: every frame before it written)
                            if buf:
                                write_frame()
                            buf.shrink(0)  # (the last event's frame needs little)
                            if self._release is not None:
                                self._release()
                            event = self._with_unmasked(event, redactor)
                        event = self._with_warnings(event)
                        if self._signer is not None:  # alone in the last frame, signing every byte before it
                            if buf:
                                write_frame()
                            event = dataclasses.replace(event, mac=self._signer.mac())
                    try:
                        if redactor is not None:
                            event = redactor.event(event)
                        d = event.to_dict()
                        if is_large(d):  # in a frame of its own, packed and compressed piece by piece
                            if buf:
                                write_frame()
                            alone = _Contents()
                            alone.add(event.type, event.t)
                            self._write_event_frame(d, alone)
                        else:
                            buf.add(self._packer.pack(d))
                            contents.add(event.type, event.t)
                    except Exception as e:  # a bad event must not stop the writer: skip it, say so
                        self._packer = _msgpack.packer()
                        self._skipped(item[0], e)
                if close_full_frame():
                    frame_started = None
            if frame_started is not None and (closing or time.monotonic() - frame_started >= FRAME_MAX_AGE):
                flush_output()
                if buf:
                    write_frame()
                frame_started = None
            if closing and not queue:
                self._retry_pending()
                self._lost += [c for _, c in self._pending_frames]
                return
            self._wake.wait(0.05)
            self._wake.clear()

    def _masked(self, redactor: Redactor, chunks: list[Any]) -> Any:
        """The output ``chunks`` (bytes-like) joined and masked; if the redactor fails (a bug), every byte of them
        masked: no secret reaches the disk."""
        try:
            return redactor.output(chunks)
        except Exception as e:
            data = b"".join(chunks)
            logging.getLogger("tracer.redact").exception("masking %d bytes of output failed: %s", len(data), e)
            self._warn_once(
                "tracer: redaction failed on some output (see tracer's log); what it could not check is masked whole"
            )
            from tracer.redact import mask_whole

            return mask_whole(data)

    def _warn_once(self, message: str) -> None:
        if message in self._redaction_warnings:
            return
        self._redaction_warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _with_warnings(self, end: SessionEnd) -> SessionEnd:
        warnings = tuple(dict.fromkeys((*end.warnings, *self.warnings, *self._redaction_warnings)))
        dropped = self._unwritten()
        if dropped is not None:
            warnings += (
                f"tracer: {dropped.describe()} recorded from {dropped.since / 1e6:.1f}s on were dropped while the "
                f"session file could not be written ({dropped.reason})",
            )
        redactions = dict(self.redactor.counts) if self.redactor is not None else None
        return dataclasses.replace(end, warnings=warnings, redactions=redactions)

    def _with_unmasked(self, end: SessionEnd, redactor: Redactor) -> SessionEnd:
        """``end`` with where the values ``redactor`` learnt occur unmasked in the file written so far (written
        before it learnt them: :func:`tracer.redact.find_sites`), read back through the writer's own descriptor
        (the path may have been moved). A failure is warned and logged: the session is kept as it is."""
        from tracer.redact import find_sites
        from tracer.store.reader import SessionReader

        try:
            with SessionReader(Path(f"/dev/fd/{self._fd}")) as reader:
                # (not the frames written once every value was known)
                sites = find_sites(reader.every_event(stop=self._learnt_by), redactor.known)
        except Exception as e:
            logging.getLogger("tracer.redact").exception("looking for values written before they were learnt: %s", e)
            self._warn_once(
                "tracer: this session could not be searched for secrets written before they were recognised (see "
                "tracer's log); an export masks only what it finds itself"
            )
            return end
        self.unmasked = len(sites)
        return dataclasses.replace(end, unmasked=sites) if sites else end

    def _skipped(self, event: Event, error: Exception) -> None:
        message = f"tracer: a {event.type} event at {event.t} µs could not be written ({error}); it was skipped"
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _write_event_frame(self, d: dict[str, Any], contents: _Contents) -> None:
        """The event ``d`` (``Event.to_dict()``) in a frame of its own; a large one (:func:`is_large`) packed and
        compressed piece by piece."""
        self._write_compressed(event_frame(d, self._packer.pack, self._compressor.normal), contents)

    def _write_frame(self, content: bytes | bytearray | memoryview, contents: _Contents) -> None:
        self._write_compressed(self._compressor.compress(content), contents)

    def _write_compressed(self, frame: bytes, contents: _Contents) -> None:
        if self._signer is not None:  # signed in file order (frames kept while the disk is full go first)
            self._signer.update(frame)
        if self._pending_frames:
            self._retry_pending()
        if self._pending_frames or not self._write(frame):
            self._keep(frame, contents)
        redactor = self.redactor
        if redactor is not None and redactor.learnt != self._learnt:
            # values learnt while this frame's events were masked: written unmasked in it or before, never after
            self._learnt = redactor.learnt
            self._learnt_by = self._offset

    def _keep(self, frame: bytes, contents: _Contents) -> None:
        if self._pending_bytes + len(frame) > MAX_PENDING:
            self._lost.append(contents)
            return
        self._pending_frames.append((frame, contents))
        self._pending_bytes += len(frame)

    def _retry_pending(self) -> None:
        while self._pending_frames:
            if not self._write(self._pending_frames[0][0]):
                return
            self._pending_bytes -= len(self._pending_frames.pop(0)[0])

    def _unwritten(self) -> Unwritten | None:
        """What the lost frames held, all together; ``None`` when nothing was lost."""
        lost = [c for c in self._lost if c.since is not None]
        if not lost:
            return None
        events: collections.Counter[str] = collections.Counter()
        for c in lost:
            events.update(c.events)
        return Unwritten(
            reason=self._why or "writing failed",
            since=min(c.since for c in lost if c.since is not None),
            events=dict(events),
            output_bytes=sum(c.output_bytes for c in lost),
        )

    def _write(self, data: bytes) -> bool:
        """Write ``data`` whole or not at all (the file is cut back on failure). True when written."""
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError as e:
            if written:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._offset)
            self._warn(e)
            return False
        self._offset += written
        return True

    def _warn(self, e: OSError) -> None:
        if self._why:
            return
        why = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or "writing failed")
        self._why = why = why[:1].lower() + why[1:]  # "file too large"
        message = (
            f"tracer: cannot write {self.path}: {why}; recording continues in memory "
            "(up to 64 MiB) and will be written when space is free"
        )
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)


def append_events(path: Path, events: Iterable[Event], *, redact: bool = True) -> None:
    """Append ``events`` to an existing session file as one new frame (append-only: nothing is rewritten).

    With ``redact`` (the default), the record-time rules (and the user's, from the configuration file) mask
    secrets in them first, as in a recording: a note written during replay, a verify run's output.

    Raises:
        SessionNotFound: ``path`` does not exist.
        NotASession / UnsupportedVersion: ``path`` is not a session this tracer writes.
        SessionError: the file cannot be written.
        ConfigError: the configuration file is invalid.
    """
    if redact:
        from tracer.config import load_config
        from tracer.redact import record_redactor

        redactor = record_redactor(load_config())
        events = [redactor.event(e) for e in events]
    content = b"".join(_msgpack.packer().pack(e.to_dict()) for e in events)
    if not content:
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise SessionNotFound(f"no session file {path}") from e
    except OSError as e:
        raise SessionError(f"cannot open session file {path} for appending: {e.strerror}") from e
    try:
        version = parse_preamble(os.pread(fd, PREAMBLE_SIZE, 0))
        if version is None:
            raise NotASession(f"{path} is not a tracer session (it does not start with tracer's preamble)")
        if version > FORMAT_VERSION:
            raise UnsupportedVersion(
                f"{path} is in session format {version}; this tracer writes format {FORMAT_VERSION}: "
                "upgrade tracer to add to it"
            )
        frame = compressor().compress(content)
        try:
            os.write(fd, frame)
            os.fsync(fd)
        except OSError as e:
            raise SessionError(f"cannot append to session file {path}: {e.strerror}") from e
    finally:
        os.close(fd)


def write_session(path: Path, header: Header, events: Iterable[Event]) -> None:
    """Write a whole session at once to a new file ``path`` (mode 0600): the preamble, the header alone in the
    first frame, then ``events`` in frames of up to :data:`~tracer.store.format.FRAME_MAX_BYTES`. For copies of
    sessions (a redacted copy to push), not for recording.

    Raises:
        SessionError: ``path`` exists already or cannot be written.
    """
    pack = _msgpack.packer().pack
    cctx = compressor()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError as e:
        raise SessionError(f"{path} exists already: a session copy is never written over a file") from e
    except OSError as e:
        raise SessionError(f"cannot create {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(PREAMBLE)
            f.write(event_frame(header.to_dict(), pack, cctx))
            content = bytearray()
            for event in events:
                d = event.to_dict()
                if is_large(d):  # alone, piece by piece
                    if content:
                        f.write(cctx.compress(content))
                        content.clear()
                    f.write(event_frame(d, pack, cctx))
                    continue
                content += pack(d)
                if len(content) >= FRAME_MAX_BYTES:
                    f.write(cctx.compress(content))
                    content.clear()
            if content:
                f.write(cctx.compress(content))
    except OSError as e:
        raise SessionError(f"cannot write {path}: {e.strerror}") from e
