"""Writing a small private file whole or not at all: a temporary file in the same directory, renamed into place.

For files that can always be made again (caches): nothing here raises.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically, mode 0600, making its directory (mode 0700) if needed.

    Returns:
        True when written; False when it could not be (the file is then as it was).
    """
    import tempfile  # (here: a cache is written once, and its readers are on the way to a recording)

    tmp: str | None = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
