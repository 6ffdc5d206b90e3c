"""Where live recorders keep their private files, and who records what.

Every recorder has a private (0700) work directory for its notes socket, its hook files and its copies of the git
index, inside one per-user runtime directory:

- ``$XDG_RUNTIME_DIR/tracer`` when ``XDG_RUNTIME_DIR`` names a directory of the user's (systemd's tmpfs, emptied at
  logout), else ``<temp dir>/tracer-<uid>`` (made 0700; refused when another user owns it or others can enter it);
- named ``<pid>-<start time>`` after the recorder's process (start time in clock ticks since boot, from
  ``/proc/<pid>/stat``), so that a directory outlives its recorder only when that recorder was killed (SIGKILL, a
  power cut): :func:`sweep`, run by every recorder once its shell runs, removes the directories of recorders that
  no longer run. The start time tells a dead recorder from a new process that got the same pid.

Each recorder also publishes who it is (:class:`RecorderInfo`: session, workspace, socket) in its directory, so a
recorder that starts in a workspace another one is recording already finds it (:func:`sweep` returns the live
ones) and both can say so: inotify cannot tell whose process wrote a file, so each session would record the other's
edits as its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

from tracer.errors import RecordingError

__all__ = ["RecorderDir", "RecorderInfo", "overlaps", "runtime_dir", "sweep"]

#: The file in a recorder's directory that says who it is.
INFO_FILE = "recorder.json"
_NAME = re.compile(r"(\d+)-(\d+)")


#: Environment variable naming the recorder's notes socket (in its directory) inside the recorded shell.
SOCKET_ENV = "TRACER_SOCKET"


class RecorderInfo(NamedTuple):
    """A live recorder, as it describes itself to the others.

    Attributes:
        pid: the recorder's process.
        session_id: its session (``Header.session_id``).
        path: its session file.
        workspace: the directory whose edits it records (absolute; may hold bytes that are not UTF-8, as lone
            surrogates).
        socket: its notes socket, where other recorders can reach it; ``None`` when it has none.
    """

    pid: int
    session_id: str
    path: str
    workspace: str
    socket: str | None = None


def runtime_dir() -> Path:
    """The user's runtime directory for tracer (created 0700 if missing).

    Raises:
        RecordingError: it cannot be created, or it is not private (another user owns it, others may enter it, or
            it is a symbolic link).
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and _private(Path(xdg), create=False):
        base = Path(xdg) / "tracer"
    else:
        import tempfile  # (with shutil: not on the way to the shell where the runtime directory is set)

        base = Path(tempfile.gettempdir()) / f"tracer-{os.getuid()}"
    if not _private(base, create=True):
        raise RecordingError(
            f"{base} is not a private directory of yours (another user owns it, or others may enter it); "
            "remove it, or set XDG_RUNTIME_DIR to a directory only you can enter"
        )
    return base


def _private(path: Path, *, create: bool) -> bool:
    """True when ``path`` is a real directory owned by the user that no one else may enter (made so if asked)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22); ``None`` when it does
    not run (or there is no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: the fields after it follow the last ")"
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _running(pid: int, start: int) -> bool:
    """Whether the recorder that made the directory ``<pid>-<start>`` still runs."""
    if os.path.isdir("/proc/self"):
        return process_start(pid) == start
    try:  # no /proc: the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RecorderDir:
    """This recorder's private work directory, ``<runtime dir>/<pid>-<start time>`` (created at once).

    Args:
        base: the runtime directory (default :func:`runtime_dir`); when it cannot be used, a fresh private
            directory in the temp dir is taken instead (it is not swept after a SIGKILL).
    """

    def __init__(self, base: Path | None = None) -> None:
        pid = os.getpid()
        try:
            base = base or runtime_dir()
            path = base / f"{pid}-{process_start(pid) or 0}"
            if os.path.lexists(path):  # a directory of an earlier process with our pid (no /proc: start time 0)
                import shutil

                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(path)
            os.mkdir(path, 0o700)
        except (OSError, RecordingError):
            import tempfile

            base, path = None, Path(tempfile.mkdtemp(prefix="tracer-"))
        #: The directory (0700). ``base``: the runtime directory it is in, ``None`` for a temp dir of its own.
        self.path = path
        self.base = base

    def publish(self, info: RecorderInfo) -> None:
        """Say who this recorder is, for the recorders that start after it (written whole: write, then rename).

        Raises:
            OSError: the file cannot be written.
        """
        tmp = self.path / f".{INFO_FILE}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            import json  # (after the shell started)

            json.dump(info._asdict(), f)  # lone surrogates are written as \\udcXX escapes and read back the same
        os.replace(tmp, self.path / INFO_FILE)

    def remove(self) -> None:
        """Remove the directory and everything in it."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)


def sweep(base: Path, *, own: Path | None = None) -> list[RecorderInfo]:
    """Remove the work directories of recorders that no longer run; return the live recorders that published
    themselves (but ``own``, this recorder's directory).

    Never raises: a directory that cannot be read or removed is left alone.
    """
    live: list[RecorderInfo] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return live
    for entry in entries:
        m = _NAME.fullmatch(entry.name)
        if m is None or (own is not None and entry.path == os.fspath(own)):
            continue
        if not _running(int(m.group(1)), int(m.group(2))):
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
            continue
        info = _read_info(Path(entry.path) / INFO_FILE)
        if info is not None:
            live.append(info)
    return live


def _read_info(path: Path) -> RecorderInfo | None:
    import json  # (after the shell started)

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return RecorderInfo(
            pid=int(data["pid"]),
            session_id=str(data["session_id"]),
            path=str(data["path"]),
            workspace=str(data["workspace"]),
            socket=str(data["socket"]) if data.get("socket") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def overlaps(a: str, b: str) -> bool:
    """Whether two workspaces (absolute paths) share files: the same directory, or one inside the other."""
    a, b = a.rstrip(os.sep) + os.sep, b.rstrip(os.sep) + os.sep
    return a.startswith(b) or b.startswith(a)
