"""The one place tracer calls msgpack: fixed options, and msgpack's failures turned into tracer errors.

Options follow borg's wrapper: ``use_bin_type=True`` on write (bytes stay ``bin``, text stays ``str``) and
``raw=False`` on read, with buffer limits so a hostile file cannot ask for unbounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack

#: Largest object the reader accepts (bytes): one frame's decompressed content is at most this.
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
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_BUFFER, strict_map_key=True)
    unpacker.feed(data)
    try:
        for obj in unpacker:
            if not isinstance(obj, dict):
                raise UnpackError(f"expected an event map, found {type(obj).__name__}")
            yield obj
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as e:
        raise UnpackError(str(e)) from e
    if unpacker.tell() != len(data):
        raise UnpackError(f"frame ends inside an event ({len(data) - unpacker.tell()} bytes left over)")
