"""Session files: the format (preamble + zstd frames of msgpack events), writing, reading, finding, exporting.

Public API::

    SessionWriter(path, header)        record: a writer thread turns queued events into frames (``unwritten``:
                                       what a full disk kept out of the file)
    append_events(path, events)        add notes / verify results to a finished session (new frames)
    SessionReader(path)                stream a session's events (validated, bounded memory), header first
    read_session(path) -> Session      everything readable, with ``problem`` set when something is not
    read_outline(path) -> Session      the same without output and diffs (show, ls, verify)
    EventUnpacker, UnpackError         msgpack fed in pieces, an event at a time, with the readers' limits (for a
                                       reader of frames of its own: the replay's index)
    sessions_dir(), resolve_session(), list_sessions(), new_session_path()

The names are loaded when first used (:pep:`562`): ``tracer shell`` imports :mod:`tracer.store.paths` on its way
to the shell without the reader, the writer and the model.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing is not imported on the way to the shell: tracer.store.paths is)
if TYPE_CHECKING:
    from typing import Any

    from tracer.store._msgpack import EventUnpacker, UnpackError
    from tracer.store.catalog import list_sessions, resolve_session, session_summaries, session_summary
    from tracer.store.paths import new_session_path, sessions_dir
    from tracer.store.reader import SessionReader, iter_frames, read_header, read_outline, read_session
    from tracer.store.writer import SessionWriter, Unwritten, append_events

#: Public name → the module that defines it.
_HOMES = {
    "EventUnpacker": "_msgpack",
    "UnpackError": "_msgpack",
    "SessionReader": "reader",
    "SessionWriter": "writer",
    "Unwritten": "writer",
    "append_events": "writer",
    "iter_frames": "reader",
    "list_sessions": "catalog",
    "new_session_path": "paths",
    "read_header": "reader",
    "read_outline": "reader",
    "read_session": "reader",
    "resolve_session": "catalog",
    "session_summaries": "catalog",
    "session_summary": "catalog",
    "sessions_dir": "paths",
}

__all__ = [
    "EventUnpacker",
    "SessionReader",
    "SessionWriter",
    "UnpackError",
    "Unwritten",
    "append_events",
    "iter_frames",
    "list_sessions",
    "new_session_path",
    "read_header",
    "read_outline",
    "read_session",
    "resolve_session",
    "session_summaries",
    "session_summary",
    "sessions_dir",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tracer.store' has no attribute {name!r}")
    import importlib  # (here: with warnings behind it, 1 ms of the way to the shell)

    value = getattr(importlib.import_module(f"tracer.store.{home}"), name)
    globals()[name] = value
    return value
