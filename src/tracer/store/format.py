"""The session file format, version 1 (the byte layout; see docs/format.md).

::

    preamble   10 bytes: MAGIC (8 bytes, b"\\x89TRACER\\n") + format version (uint16, big endian)
    frame*     independent zstd frames (RFC 8878), each with a content checksum; the decompressed content of a
               frame is a sequence of msgpack maps, one per event (see tracer.model)

The first frame holds the header event alone, so a recording killed at once still names itself. The writer
closes a frame when 150 ms have passed since its first event or its content reaches :data:`FRAME_MAX_BYTES`,
so a recorder killed with SIGKILL loses at most the last quarter second (output waits up to 50 ms in the PTY
loop's batch, 150 ms in the open frame, and up to 50 ms for the writer thread to look at the clock). Frames
appended later (notes, verify results) are just more frames: the format is append-only.
"""

from __future__ import annotations

import struct

import zstandard

from tracer.store.paths import MAGIC as MAGIC  # (the preamble is written by create_session_file)
from tracer.store.paths import PREAMBLE as PREAMBLE

PREAMBLE_SIZE = len(PREAMBLE)

#: A frame is closed this long after its first event (seconds): with the PTY loop's batches (≤ 50 ms) and the
#: writer's wake-ups (every 50 ms), nothing older than 250 ms is ever only in memory.
FRAME_MAX_AGE = 0.15
#: ... or when its uncompressed content reaches this size (bytes). 2 MiB rather than DESIGN's 256 KiB: at
#: 256 KiB, zstd cannot reach the 20x ratio on `seq` output that issue 3 asks for (19.5x measured).
FRAME_MAX_BYTES = 2 << 20
#: zstd compression level: level 4 measured ~300 MB/s and 23x on `seq 1 3000000` output.
ZSTD_LEVEL = 4
#: log2 of the number of entries in the match finder's hash table and chain table at :data:`ZSTD_LEVEL` (zstd's
#: ``ZSTD_c_hashLog`` and ``ZSTD_c_chainLog``; level 4's own are 18 and 18). On 2 MiB frames, 17 and 17 lose
#: little ratio (`seq` output 23.0x instead of 23.6x, source diffs 4.32x instead of 4.36x) for ~30 % less CPU
#: and a context of 1.6 MB instead of 2.6 MB (docs/performance.md, run 17).
ZSTD_TABLE_LOGS = (17, 17)


def compressor(level: int = ZSTD_LEVEL) -> zstandard.ZstdCompressor:
    """A compressor for frames: content size and checksum in each frame; zstd ``level`` (any level reads back
    the same way), with :data:`ZSTD_TABLE_LOGS` at :data:`ZSTD_LEVEL`."""
    if level != ZSTD_LEVEL:
        return zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=True)
    hash_log, chain_log = ZSTD_TABLE_LOGS
    params = zstandard.ZstdCompressionParameters.from_level(
        level, hash_log=hash_log, chain_log=chain_log, write_checksum=1, write_content_size=1
    )
    return zstandard.ZstdCompressor(compression_params=params)


def parse_preamble(data: bytes) -> int | None:
    """The format version in a preamble, or ``None`` when ``data`` does not start with :data:`MAGIC`."""
    if len(data) < PREAMBLE_SIZE or not data.startswith(MAGIC):
        return None
    version: int = struct.unpack(">H", data[len(MAGIC) : PREAMBLE_SIZE])[0]
    return version
