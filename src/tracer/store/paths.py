"""Where a new session file goes: the sessions directory, session ids, the new file's path.

Light on purpose (no model, no reader, no :mod:`pathlib`): ``tracer shell`` calls it before the shell starts.
Sessions are ``<id>.tracer`` files, mode 0600, in a 0700 directory: ``$TRACER_DIR`` if set, else the platform's user
data directory + ``tracer/sessions`` (``~/.local/share/tracer/sessions`` on Linux, :func:`tracer.userdirs.user_dir`).
Ids are ``YYYY-MM-DDTHH-MM-SS-xxxx`` (UTC start time + 4 random hex digits), so names sort by start time.
"""

from __future__ import annotations

import os
import time

import tracer
from tracer.errors import SessionError
from tracer.userdirs import user_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

#: The first bytes of every session file (docs/format.md): magic, then the format version (uint16, big endian).
MAGIC = b"\x89TRACER\n"
PREAMBLE = MAGIC + tracer.FORMAT_VERSION.to_bytes(2, "big")

SUFFIX = ".tracer"


def sessions_root(override: str | os.PathLike[str] | None = None, *, create: bool = False) -> str:
    """The sessions directory as ``str`` (what :func:`sessions_dir` gives as a path): ``override``, else
    ``$TRACER_DIR``, else the user data dir's ``tracer/sessions``, with ``~`` expanded.

    Args:
        create: make the directory (mode 0700) if it is missing.

    Raises:
        SessionError: it cannot be created.
    """
    if override is not None:
        path = os.fspath(override)
    elif os.environ.get("TRACER_DIR"):
        path = os.environ["TRACER_DIR"]
    else:
        path = os.path.join(user_dir("data"), "sessions")
    path = os.path.expanduser(path)
    if create and not os.path.isdir(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as e:
            raise SessionError(f"cannot create the sessions directory {path}: {e.strerror}") from e
    return path


def sessions_dir(override: str | os.PathLike[str] | None = None, *, create: bool = False) -> Path:
    """The sessions directory: ``override``, else ``$TRACER_DIR``, else the user data dir's ``tracer/sessions``.

    Args:
        create: make the directory (mode 0700) if it is missing.

    Raises:
        SessionError: it cannot be created.
    """
    from pathlib import Path

    return Path(sessions_root(override, create=create))


def new_session_id(started: float) -> str:
    """A new id for a session that started at ``started`` (seconds since the epoch, as :func:`time.time` gives):
    its UTC time to the second and four random hex digits, ``2026-11-21T10-30-00-3f9a``."""
    return time.strftime("%Y-%m-%dT%H-%M-%S-", time.gmtime(started)) + os.urandom(2).hex()


def new_session_path(output: str | os.PathLike[str] | None, started: float) -> tuple[str, str]:
    """``(session_id, path)`` for a new recording that started at ``started`` (seconds since the epoch); the path
    as ``str`` (this runs before the shell starts: no :mod:`pathlib`).

    ``output`` (``tracer shell -o``) is a file path, or an existing directory to put the file in; ``None`` means
    the sessions directory. The parent directory is created (0700) when missing.

    Raises:
        SessionError: the file exists already or the directory cannot be created.
    """
    session_id = new_session_id(started)
    if output is None:
        path = os.path.join(sessions_root(create=True), session_id + SUFFIX)
    else:
        out = os.path.expanduser(os.fspath(output))
        if os.path.isdir(out):
            path = os.path.join(out, session_id + SUFFIX)
        else:
            path = out
            sessions_root(os.path.dirname(out) or ".", create=True)
            session_id = os.path.basename(out).removesuffix(SUFFIX)
    if os.path.lexists(path):
        raise SessionError(f"{path} exists already: choose another -o path")
    return session_id, path


def create_session_file(path: str | os.PathLike[str]) -> int:
    """Create the new session file ``path`` (mode 0600; it must not exist) with its :data:`PREAMBLE`, and return
    its descriptor, opened for appending (what :class:`tracer.store.writer.SessionWriter` takes as ``fd``). From
    here on, a reader sees a session that is starting (its header follows), never an empty file.

    Raises:
        SessionError: it exists already, or it cannot be created or written.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise SessionError(f"cannot create session file {os.fspath(path)}: {e.strerror}") from e
    try:
        if os.write(fd, PREAMBLE) != len(PREAMBLE):
            raise OSError(28, "No space left on device")
    except OSError as e:
        os.close(fd)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        raise SessionError(f"cannot write session file {os.fspath(path)}: {e.strerror}") from e
    return fd
