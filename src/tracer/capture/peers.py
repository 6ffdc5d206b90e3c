"""Who records what: the recorders that run on this machine, and what each says about itself.

Each recorder publishes who it is (:class:`RecorderInfo`: session, workspace, socket) in its work directory
(:class:`tracer.capture.runtime.RecorderDir`), so a recorder that starts in a workspace another one is recording
already finds it (:func:`sweep` returns the live ones) and both can say so: inotify cannot tell whose process wrote
a file, so each session would record the other's edits as its own. :func:`sweep` also removes the directories of
recorders that were killed (their ``<pid>-<start time>`` names no running process). All of it runs once the shell
runs, off the way to the first prompt.
"""

from __future__ import annotations

import json
import os
import re
from typing import NamedTuple

from tracer.capture.runtime import recorder_runs, runtime_dir
from tracer.errors import RecordingError

__all__ = ["INFO_FILE", "RecorderInfo", "live_sessions", "overlaps", "publish", "sweep"]

#: The file in a recorder's directory that says who it is.
INFO_FILE = "recorder.json"
_NAME = re.compile(r"(\d+)-(\d+)")


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


def publish(directory: str, info: RecorderInfo) -> None:
    """Say who this recorder is in its ``directory``, for the recorders that start after it (written whole: write,
    then rename).

    Raises:
        OSError: the file cannot be written.
    """
    tmp = os.path.join(directory, f".{INFO_FILE}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info._asdict(), f)  # lone surrogates are written as \\udcXX escapes and read back the same
    os.replace(tmp, os.path.join(directory, INFO_FILE))


def sweep(base: str, *, own: str | None = None) -> list[RecorderInfo]:
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
        if m is None or (own is not None and entry.path == own):
            continue
        if not recorder_runs(int(m.group(1)), int(m.group(2))):
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
            continue
        info = _read_info(os.path.join(entry.path, INFO_FILE))
        if info is not None:
            live.append(info)
    return live


def live_sessions() -> dict[tuple[int, int], RecorderInfo]:
    """The session files this user's recorders are writing now, by their ``(st_dev, st_ino)`` (a file's identity
    whatever path names it), with the recorder of each: what ``tracer ls`` shows as "recording", and what
    ``tracer rm``, a note from the replay or a verify result must not touch until its recorder ends.

    Never raises: without a usable runtime directory there are none.
    """
    try:
        base = runtime_dir()
    except RecordingError:
        return {}
    live: dict[tuple[int, int], RecorderInfo] = {}
    for info in sweep(base):
        try:
            st = os.stat(info.path)
        except OSError:
            continue
        live[(st.st_dev, st.st_ino)] = info
    return live


def _read_info(path: str) -> RecorderInfo | None:
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
