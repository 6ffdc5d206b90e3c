"""Session files: the format (preamble + zstd frames of msgpack events), writing, reading, finding, exporting.

Public API::

    SessionWriter(path, header)        record: a writer thread turns queued events into frames (``unwritten``:
                                       what a full disk kept out of the file)
    append_events(path, events)        add notes / verify results to a finished session (new frames)
    SessionReader(path)                stream a session's events (validated, bounded memory), header first
    read_session(path) -> Session      everything readable, with ``problem`` set when something is not
    read_outline(path) -> Session      the same without output and diffs (show, ls, verify)
    sessions_dir(), resolve_session(), list_sessions(), new_session_path()
"""

from tracer.store.catalog import list_sessions, new_session_path, resolve_session, session_summary, sessions_dir
from tracer.store.reader import SessionReader, iter_frames, read_header, read_outline, read_session
from tracer.store.writer import SessionWriter, Unwritten, append_events

__all__ = [
    "SessionReader",
    "SessionWriter",
    "Unwritten",
    "append_events",
    "iter_frames",
    "list_sessions",
    "new_session_path",
    "read_header",
    "read_outline",
    "read_session",
    "resolve_session",
    "session_summary",
    "sessions_dir",
]
