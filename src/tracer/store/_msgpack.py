"""The one place tracer calls msgpack: fixed options, and msgpack's failures turned into tracer errors.

Options follow borg's wrapper: ``use_bin_type=True`` on write (bytes stay ``bin``, text stays ``str``) and
``raw=False`` on read. Reading is bounded, because every session file tracer did not just write is hostile:
one event may take at most :data:`MAX_EVENT_BYTES` of msgpack and hold at most :data:`MAX_ITEMS` array items
and map entries (so a small event of nested empty arrays cannot become gigabytes of Python objects).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack

#: The largest event a reader takes (bytes of msgpack): a header with a large baseline patch or a final patch
#: with large binary files is the largest event tracer writes (64 MiB per file, several files: see
#: docs/format.md, "Limits").
MAX_EVENT_BYTES = 512 << 20
#: The most arrays, maps, array items and map entries one event may hold, all levels together. An output event
#: of 512 KiB made of 1-byte reads would have 2 million (its ``reads`` pairs); everything else tracer writes has
#: far fewer.
MAX_ITEMS = 1 << 23
#: The most keys one map may have (an event has about 20 fields).
MAX_MAP_LEN = 1 << 16


class UnpackError(ValueError):
    """The bytes are not a valid sequence of msgpack objects (the stream cannot be followed past this point)."""


class EventTooLarge(UnpackError):
    """An event is over :data:`MAX_EVENT_BYTES` or :data:`MAX_ITEMS` (the message names the limit)."""


def packer() -> msgpack.Packer:
    """A reusable packer with tracer's options."""
    return msgpack.Packer(use_bin_type=True)


class EventUnpacker:
    """Turns msgpack fed in pieces into objects, one event at a time, in bounded memory.

    Feed the decompressed content of a frame piece by piece with :meth:`feed`, and take the objects complete so
    far after each piece (iterate): the buffer then holds at most one incomplete event. Text that is not valid
    UTF-8 becomes lone surrogates (``surrogateescape``, as :func:`tracer.model.text_of` reads ``bin`` text);
    arrays become tuples.
    """

    def __init__(self) -> None:
        self._items = items = [0]  # items of the event being read; the hook holds this list, never self (a cycle
        self._fed = 0  # would keep every unpacker and its buffer alive until the garbage collector runs)
        self._boundary = 0  # where the last whole object ended (msgpack's tell() also counts a partial object)
        self._last = b""  # the piece fed last
        self._head = b""  # the first bytes of the incomplete event (up to _HEAD)
        self._head_at = -1  # where that event starts in the stream

        def count(obj: Any) -> Any:
            items[0] += 1 + len(obj)  # the container and its items: a million empty maps count too
            if items[0] > MAX_ITEMS:
                raise EventTooLarge(f"an event holds more than {MAX_ITEMS:,} items, the limit")
            return obj

        self._unpacker = msgpack.Unpacker(
            raw=False,
            use_list=False,
            unicode_errors="surrogateescape",
            strict_map_key=True,
            max_buffer_size=MAX_EVENT_BYTES,
            max_array_len=MAX_ITEMS,
            max_map_len=MAX_MAP_LEN,
            list_hook=count,
            object_hook=count,
        )

    def feed(self, data: bytes) -> None:
        """Add the next piece of content.

        Raises:
            EventTooLarge: the event being read grows over :data:`MAX_EVENT_BYTES`.
        """
        try:
            self._unpacker.feed(data)
        except msgpack.BufferFull:
            raise EventTooLarge(f"an event is larger than {MAX_EVENT_BYTES >> 20} MiB, the limit") from None
        self._fed += len(data)
        self._last = data

    def __iter__(self) -> Iterator[tuple[Any, int]]:
        """Each object complete so far, with its size in bytes.

        Raises:
            UnpackError: the content is not msgpack (or breaks a limit) at this point.
        """
        unpacker = self._unpacker
        while True:
            try:
                obj = next(unpacker)
            except StopIteration:
                self._watch()
                return
            except UnpackError:
                raise
            except (msgpack.FormatError, msgpack.StackError, ValueError, TypeError) as e:
                raise UnpackError(_reason(e)) from e
            end = unpacker.tell()
            self._items[0] = 0
            size, self._boundary = end - self._boundary, end
            yield obj, size

    def _watch(self) -> None:
        """Keep the first bytes of the incomplete event; once it is large, refuse it at once when its map declares
        a text or bytes field over the limit (no need to buffer 512 MiB of a bomb first)."""
        start = self._boundary
        pending = self._fed - start
        if pending == 0:
            self._head = b""
        elif start != self._head_at:  # a new event: it began in the piece fed last (the one before it ended there)
            self._head, self._head_at = self._last[len(self._last) - pending :][:_HEAD], start
        elif len(self._head) < _HEAD:
            self._head += self._last[: _HEAD - len(self._head)]
        if pending > _WATCH_FROM and (declared := _declared_too_large(self._head)) is not None:
            raise EventTooLarge(
                f"an event declares a field of {declared:,} bytes, more than the limit of {MAX_EVENT_BYTES >> 20} MiB"
            )

    @property
    def pending(self) -> int:
        """Bytes fed that do not make a whole object yet (0 at the end of a frame that ends cleanly)."""
        return self._fed - self._boundary


_HEAD = 64 << 10  # bytes of an incomplete event kept to look at
_WATCH_FROM = 1 << 20  # an incomplete event this large is looked at
# bytes taken by msgpack scalars, by their first byte (fixints, nil, booleans, ints and floats)
_SCALAR = {b: 1 for b in (*range(0x00, 0x80), *range(0xE0, 0x100), 0xC0, 0xC2, 0xC3)} | {
    0xCC: 2, 0xD0: 2, 0xCD: 3, 0xD1: 3, 0xCA: 5, 0xCE: 5, 0xD2: 5, 0xCB: 9, 0xCF: 9, 0xD3: 9,
}  # fmt: skip
_LENGTH_BYTES = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}  # bin 8/16/32, str 8/16/32


def _declared_too_large(head: bytes) -> int | None:
    """The length of a text or bytes key or value over :data:`MAX_EVENT_BYTES` that the map at the start of
    ``head`` (the first bytes of an event) declares, if it has one before anything else than scalars, text and
    bytes; else ``None``."""
    if not head:
        return None
    first = head[0]
    if 0x80 <= first <= 0x8F:
        count, i = first & 0x0F, 1
    elif first in (0xDE, 0xDF):
        i = 3 if first == 0xDE else 5
        count = int.from_bytes(head[1:i], "big")
    else:
        return None
    for _ in range(2 * count):  # keys and values
        if i >= len(head):
            return None
        b = head[i]
        if 0xA0 <= b <= 0xBF:
            length, i = b & 0x1F, i + 1
        elif b in _LENGTH_BYTES:
            size = _LENGTH_BYTES[b]
            if i + 1 + size > len(head):
                return None
            length, i = int.from_bytes(head[i + 1 : i + 1 + size], "big"), i + 1 + size
            if length > MAX_EVENT_BYTES:
                return length
        elif b in _SCALAR:
            i += _SCALAR[b]
            continue
        else:
            return None  # an array, a map or an extension: not followed
        i += length
    return None


def unpack_all(data: bytes) -> Iterator[dict[str, Any]]:
    """Every map packed back to back in ``data`` (a frame's content), with the limits of :class:`EventUnpacker`.

    Raises:
        UnpackError: the data is not msgpack, holds something other than maps, breaks a limit, or ends inside an
            object.
    """
    unpacker = EventUnpacker()
    view = memoryview(data)
    for start in range(0, len(data), _PIECE):
        unpacker.feed(bytes(view[start : start + _PIECE]))
        for obj, _ in unpacker:
            if not isinstance(obj, dict):
                raise UnpackError(f"expected an event map, found {type(obj).__name__}")
            yield obj
    if unpacker.pending:
        raise UnpackError(f"the frame ends inside an event ({unpacker.pending} bytes left over)")


_PIECE = 128 << 10  # bytes fed at once by unpack_all (as the reader feeds a zstd block's content)


def _reason(e: Exception) -> str:
    if isinstance(e, msgpack.StackError):
        return "objects nested too deeply"
    if isinstance(e, msgpack.FormatError):
        return "bytes that are not msgpack"
    text = str(e)
    if "exceeds max_" in text:  # e.g. "2147483648 exceeds max_array_len(8388608)"
        return f"an array or map longer than the limit ({text})"
    return text or type(e).__name__
