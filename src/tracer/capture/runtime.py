"""Where live recorders keep their private files.

Every recorder has a private (0700) work directory for its notes socket, its hook files and its copies of the git
index, inside one per-user runtime directory:

- ``$XDG_RUNTIME_DIR/tracer`` when ``XDG_RUNTIME_DIR`` names a directory of the user's (systemd's tmpfs, emptied at
  logout), else ``<temp dir>/tracer-<uid>`` (made 0700; refused when another user owns it or others can enter it);
- named ``<pid>-<start time>`` after the recorder's process (start time in clock ticks since boot, from
  ``/proc/<pid>/stat``), so that a directory outlives its recorder only when that recorder was killed (SIGKILL, a
  power cut): :func:`tracer.capture.peers.sweep`, run by every recorder once its shell runs, removes the directories
  of recorders that no longer run. The start time tells a dead recorder from a new process that got the same pid.

The recorder makes its directory before the shell starts, so this module is on the way to the first prompt: it
imports nothing but :mod:`os` and :mod:`stat` (paths are ``str``). Who records what (the recorders that run, and
what each publishes in its directory) is :mod:`tracer.capture.peers`.
"""

from __future__ import annotations

import os
import stat

from tracer.errors import RecordingError

__all__ = [
    "SOCKET_ENV",
    "RecorderDir",
    "ancestors",
    "process_start",
    "recorder_name",
    "recorder_runs",
    "runtime_dir",
    "temp_dir",
]

#: Environment variable naming the recorder's notes socket (in its directory) inside the recorded shell.
SOCKET_ENV = "TRACER_SOCKET"


def runtime_dir() -> str:
    """The user's runtime directory for tracer (created 0700 if missing).

    Raises:
        RecordingError: it cannot be created, or it is not private (another user owns it, others may enter it, or
            it is a symbolic link).
    """
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and _private(xdg, create=False):
        base = os.path.join(xdg, "tracer")
    else:
        base = os.path.join(temp_dir(), f"tracer-{os.getuid()}")
    if not _private(base, create=True):
        raise RecordingError(
            f"{base} is not a private directory of yours (another user owns it, or others may enter it); "
            "remove it, or set XDG_RUNTIME_DIR to a directory only you can enter"
        )
    return base


def temp_dir() -> str:
    """The directory for temporary files, as :func:`tempfile.gettempdir` chooses it on POSIX: the first of
    ``$TMPDIR``, ``$TEMP``, ``$TMP``, ``/tmp``, ``/var/tmp``, ``/usr/tmp`` and the current directory that is a
    directory the user may write to, made absolute. Without importing :mod:`tempfile` (with :mod:`shutil`,
    :mod:`random` and :mod:`weakref` behind it) and without the test file it writes and removes in each candidate:
    5–10 ms of the way to the shell where ``$XDG_RUNTIME_DIR`` is not set (docs/performance.md, run 13).

    Raises:
        RecordingError: none of them can be written.
    """
    candidates = [os.environ.get(name, "") for name in ("TMPDIR", "TEMP", "TMP")]
    candidates += ["/tmp", "/var/tmp", "/usr/tmp", os.curdir]
    for candidate in candidates:
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            try:
                return os.path.abspath(candidate)
            except OSError:  # a relative one, and the current directory was deleted
                continue
    raise RecordingError("no directory for temporary files can be written: set TMPDIR to one of yours")


def _private(path: str, *, create: bool) -> bool:
    """True when ``path`` is a real directory owned by the user that no one else may enter (made so if asked)."""
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22); ``None`` when it does
    not run (or there is no ``/proc``)."""
    return _stat_field(pid, 22)


def ancestors() -> set[int]:
    """The pids of this process's parent, its parent's parent and so on up to init (``/proc/<pid>/stat`` field 4);
    empty without ``/proc``."""
    found: set[int] = set()
    pid = _stat_field(os.getpid(), 4)
    while pid is not None and pid > 1 and pid not in found and len(found) < 4096:
        found.add(pid)
        pid = _stat_field(pid, 4)
    return found


def _stat_field(pid: int, field: int) -> int | None:
    """Field ``field`` (numbered from 1, as proc(5) does) of ``/proc/<pid>/stat``, a number; ``None`` when the
    process does not run (or there is no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: the fields after it (from 3) follow the last ")"
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[field - 3])
    except (IndexError, ValueError):
        return None


def recorder_name() -> str:
    """This process's name as a recorder, ``<pid>-<start time>`` (:func:`process_start`; 0 without ``/proc``): what
    its work directory, and anything else it leaves to be swept after a SIGKILL, is called."""
    pid = os.getpid()
    return f"{pid}-{process_start(pid) or 0}"


def recorder_runs(pid: int, start: int) -> bool:
    """Whether the recorder named ``<pid>-<start>`` (:func:`recorder_name`) still runs: its pid with that start
    time; without ``/proc``, its pid alone."""
    if os.path.isdir("/proc/self"):
        return process_start(pid) == start
    try:
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

    def __init__(self, base: str | None = None) -> None:
        path: str
        try:
            base = base or runtime_dir()
            path = os.path.join(base, recorder_name())
            if os.path.lexists(path):  # a directory of an earlier process with our pid (no /proc: start time 0)
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            os.mkdir(path, 0o700)
        except (OSError, RecordingError):
            import tempfile

            base, path = None, tempfile.mkdtemp(prefix="tracer-")
        #: The directory (0700). ``base``: the runtime directory it is in, ``None`` for a temp dir of its own.
        self.path = path
        self.base = base

    def remove(self) -> None:
        """Remove the directory and everything in it."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
