"""Files tracer reads and writes for itself: reading only what is a regular file, without blocking; writing a small
private file whole or not at all.

- :func:`open_regular` and :func:`read_regular`: a FIFO (or a device) where a file should be (``mkfifo
  .gitignore``, a configuration file, a cache) would wait in ``open`` for a writer, and hold a recording's start,
  its shell's input or a command with it; these open without blocking and refuse what is not a regular file.
- :func:`write_private`: a temporary file in the same directory, renamed into place. For files that can always be
  made again (caches): it never raises.

Imports nothing beyond :mod:`os`, :mod:`errno` and :mod:`stat` until a file is written: it is on the way to the
shell.
"""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def open_regular(path: str | os.PathLike[str], *, follow: bool = True) -> int:
    """A file descriptor of the regular file at ``path``, open for reading (close it, or give it to :func:`open`).

    ``follow``: follow a symbolic link at ``path`` (``False``: one there is an error, for a file ``lstat``'ed a
    regular file a moment before).

    Raises:
        OSError: it cannot be opened (``FileNotFoundError`` when missing), or it is not a regular file
            (``EINVAL``, "not a regular file").
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """The content of the regular file at ``path`` (symbolic links followed).

    Raises:
        OSError: as :func:`open_regular`, or it cannot be read.
    """
    with open(open_regular(path), "rb") as f:
        return f.read()


def write_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically, mode 0600, making its directory (mode 0700) if needed.

    Returns:
        True when written; False when it could not be (the file is then as it was).
    """
    import contextlib
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
