"""Private cache files that can always be rebuilt (e.g. the replay's terminal keyframes).

A cache file is msgpack, mode 0600 in a 0700 directory under the user cache directory
(``~/.cache/tracer/<kind>/`` on Linux, :func:`tracer.config.user_dir`; ``$TRACER_CACHE_DIR`` overrides). Writes
are atomic (a temporary file renamed into place). Nothing here raises: a cache that cannot be read or written is simply
not there, and its owner rebuilds what it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack

from tracer._files import read_regular, write_private
from tracer.config import cache_dir
from tracer.store import _msgpack


def cache_path(kind: str, key: str) -> Path:
    """Where the cache of ``kind`` (``"keyframes"``) for ``key`` (a session id) lives."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    return cache_dir(kind) / f"{safe}.msgpack"


def load_cache(path: Path) -> Any | None:
    """What :func:`save_cache` wrote at ``path``, or ``None`` when it is missing or unreadable."""
    try:
        return msgpack.unpackb(read_regular(path), raw=False, strict_map_key=False)
    except Exception:  # a cache is never worth an error: whatever is wrong with it, rebuild
        return None


def save_cache(path: Path, value: Any) -> bool:
    """Write ``value`` (msgpack-able) to ``path`` atomically, privately. True when written."""
    try:
        data = _msgpack.packer().pack(value)
    except (TypeError, ValueError):
        return False
    return write_private(path, data)
