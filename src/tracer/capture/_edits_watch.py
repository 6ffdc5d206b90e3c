"""The watchdog side of the edit recorder: a recursive observer of the workspace that reports each event's
paths, and does not watch skipped directories (``node_modules/``, ``build/``).

This is the only module that imports watchdog; :mod:`tracer.capture.files` imports it when its worker thread
starts watching, so watchdog's import (about 7 ms) is never on the path to the shell's start.

watchdog's recursive inotify watch puts a watch on every directory, so 50,000 files written below an ignored
directory cost 50,000 × several events parsed in Python, on the recorder's process (and its GIL). On
watchdog's inotify backend (7.x) this module prunes skipped directories when watches are added, at start
and when directories appear; anything created below a pruned directory never reaches Python. On any other
backend or watchdog version, :func:`make_observer` returns watchdog's plain ``Observer`` and the recorder
filters those events instead (correct, only costlier).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

#: The events the recorder needs (opened and closed-without-writing are never asked for).
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    FileAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]


def watch(root: str, *, note: Callable[[str, bool, str | None], None], prune: Callable[[bytes], bool]) -> BaseObserver:
    """Start watching ``root`` recursively; return the running observer (``stop()`` and ``join()`` it).

    ``note(path, is_dir, other_end)`` is called on the observer's thread for every event that may change a
    path (absolute ``path``; ``other_end`` the other path of a move, else ``None``). Directories that
    ``prune(abs_path_bytes)`` says to skip are not watched (see :func:`make_observer`).

    Raises:
        OSError: the watches cannot be set up (e.g. ``fs.inotify.max_user_watches`` is reached).
    """
    observer = make_observer(prune)
    observer.schedule(_Handler(note), root, recursive=True, event_filter=_EVENTS)
    observer.start()
    return observer


class _Handler(FileSystemEventHandler):
    def __init__(self, note: Callable[[str, bool, str | None], None]) -> None:
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write") or (event.is_directory and kind in ("modified", "attrib")):
            return
        src = os.fsdecode(event.src_path)
        if kind == "moved" and event.dest_path:
            dest = os.fsdecode(event.dest_path)
            self._note(src, event.is_directory, dest)
            self._note(dest, event.is_directory, src)
        else:
            self._note(src, event.is_directory, None)


def make_observer(prune: Callable[[bytes], bool]) -> BaseObserver:
    """An observer whose recursive watches skip the directories ``prune(abs_path_bytes)`` says to skip."""
    try:
        from watchdog.observers import inotify as wd_inotify
    except ImportError:  # not Linux
        return Observer()
    group_cls: Any = getattr(wd_inotify, "InotifyWatchGroup", None)
    emitter_cls: Any = getattr(wd_inotify, "InotifyEmitter", None)
    observer_cls: Any = getattr(wd_inotify, "InotifyObserver", None)
    needed = (
        group_cls is not None
        and emitter_cls is not None
        and observer_cls is not None
        and hasattr(group_cls, "_add_all_callbacks")
        and hasattr(group_cls, "_add_callback")
        and hasattr(emitter_cls, "on_thread_start")
    )
    if not needed:
        return Observer()

    class _Group(group_cls):  # type: ignore[misc]
        def _add_all_callbacks(self, path: bytes) -> None:
            if path != self.path and prune(path):
                return
            is_dir = os.path.isdir(path)
            self._add_callback(path)
            if not (is_dir and self.is_recursive):
                return
            for root, dirnames, _ in os.walk(path, followlinks=self.follow_symlink):
                keep = []
                for name in dirnames:
                    full = os.path.join(root, name)
                    if (not self.follow_symlink and os.path.islink(full)) or prune(full):
                        continue
                    self._add_callback(full)
                    keep.append(name)
                dirnames[:] = keep

    class _Emitter(emitter_cls):  # type: ignore[misc]
        def on_thread_start(self) -> None:
            self._inotify = _Group(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
            )

    class _Observer(observer_cls):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self._emitter_class = _Emitter

    try:
        observer = _Observer()
    except Exception:  # internals differ from what this was written for
        return Observer()
    if getattr(observer, "_emitter_class", None) is not _Emitter:
        return Observer()
    result: BaseObserver = observer
    return result
