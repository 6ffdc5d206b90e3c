"""The one place tracer calls msgpack: fixed options, and msgpack's failures turned into tracer errors.

Options follow borg's wrapper: ``use_bin_type=True`` on write (bytes stay ``bin``, text stays ``str``) and
``raw=False`` on read, with buffer limits so a hostile file cannot ask for unbounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack

#: The unpacker's buffer for a frame (bytes): at least this, and at least the frame's decompressed size.
MAX_BUFFER = 64 << 20


class UnpackError(ValueError):
    """The bytes are not a valid sequence of msgpack maps."""


def packer() -> msgpack.Packer:
    """A reusable packer with tracer's options."""
    return msgpack.Packer(use_bin_type=True)


def unpack_all(data: bytes) -> Iterator[dict[str, Any]]:
    """Yield every map packed back to back in ``data``.

    Raises:
        UnpackError: the data is not msgpack, holds something other than maps, or ends mid-object.
    """
    # The whole frame is in memory already: the buffer must hold it, however large one event is (a header
    # with a big baseline patch, a final patch with a binary file). MAX_BUFFER is the floor, not a cap.
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=max(MAX_BUFFER, len(data)), strict_map_key=True)
    try:
        unpacker.feed(data)
        for obj in unpacker:
            if not isinstance(obj, dict):
                raise UnpackError(f"expected an event map, found {type(obj).__name__}")
            yield obj
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, msgpack.BufferFull, ValueError) as e:
        raise UnpackError(str(e) or type(e).__name__) from e
    if unpacker.tell() != len(data):
        raise UnpackError(f"frame ends inside an event ({len(data) - unpacker.tell()} bytes left over)")
