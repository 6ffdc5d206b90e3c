"""The notes channel: ``tracer note`` inside a recorded shell talks to its recorder over a Unix socket.

The recorder listens on a socket in its private (0700) runtime directory and exports the path to the shell as
``TRACER_SOCKET``. A client sends one JSON line, ``{"text": str, "tags": [str]}``, and reads one JSON line
back: ``{"ok": true, "id": "<note id>"}`` or ``{"ok": false, "error": "<sentence>"}``. The recorder stamps the
note with the moment it arrived and the command running then, so the note sits exactly where it was written.

The same socket tells a recorder that another one started recording the same workspace (:func:`announce`):
``{"peer": {"session_id": str, "pid": int, "workspace": str}}``, answered ``{"ok": true}``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.capture.runtime import SOCKET_ENV
from tracer.errors import NoteError

if TYPE_CHECKING:
    from tracer.model import Note

#: How long ``tracer note`` waits for a recorder that is still starting (seconds): its socket is named in the
#: shell's environment before it listens.
STARTING = 2.0
#: Longest request accepted (bytes).
MAX_REQUEST = 1 << 20


class NoteServer:
    """Accepts notes for one recording.

    Args:
        path: where to create the socket (its directory must be private to the user).
        emit: receives each :class:`Note` (the session writer's ``event``).
        clock: microseconds since the session started.
        current_command: id of the running command, ``None`` at the prompt.
        on_peer: called (on the server's thread) with the session id, pid and workspace of a recorder that
            announced itself (:func:`announce`).

    Raises:
        NoteError: the socket cannot be created.
    """

    def __init__(
        self,
        path: Path,
        *,
        emit: Callable[[Note], None],
        clock: Callable[[], int],
        current_command: Callable[[], int | None],
        on_peer: Callable[[str, int, str], None] | None = None,
    ) -> None:
        self.path = path
        self._on_peer = on_peer
        self._emit = emit
        self._clock = clock
        self._current = current_command
        self.count = 0
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(os.fspath(path))
            os.chmod(path, 0o600)
            self._sock.listen(8)
        except OSError as e:
            self._sock.close()
            raise NoteError(f"cannot listen for notes on {path}: {e.strerror}") from e
        self._thread = threading.Thread(target=self._serve, name="tracer-notes", daemon=True)

    def start(self) -> None:
        """Start accepting notes in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting notes and remove the socket."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _serve(self) -> None:
        import json  # (in the server's thread, not at start-up)

        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    reply = self._handle(conn)
                except Exception as e:  # a bad client must never stop the recording
                    reply = {"ok": False, "error": f"the recorder could not take the note: {e}"}
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def _handle(self, conn: socket.socket) -> dict[str, object]:
        import json

        t = self._clock()
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        request = json.loads(data)
        peer = request.get("peer")
        if isinstance(peer, dict):
            return self._peer(peer)
        text = request.get("text")
        tags = request.get("tags", [])
        if not isinstance(text, str) or not text.strip():
            return {"ok": False, "error": "a note needs some text"}
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            return {"ok": False, "error": "tags must be a list of strings"}
        import uuid

        from tracer.model import Note, utc_now

        note = Note(
            t=t,
            id=uuid.uuid4().hex,
            text=text,
            tags=tuple(tags),
            source="live",
            command_id=self._current(),
            written_at=utc_now(),
        )
        self._emit(note)
        self.count += 1
        return {"ok": True, "id": note.id}

    def _peer(self, peer: dict[str, object]) -> dict[str, object]:
        session_id, pid, workspace = peer.get("session_id"), peer.get("pid"), peer.get("workspace")
        if not (isinstance(session_id, str) and isinstance(pid, int) and isinstance(workspace, str)):
            return {"ok": False, "error": "a peer needs session_id, pid and workspace"}
        if self._on_peer is not None:
            self._on_peer(session_id[:200], pid, workspace[:4096])
        return {"ok": True}


def announce(socket_path: str, session_id: str, pid: int, workspace: str, *, timeout: float = 1.0) -> bool:
    """Tell the recorder listening on ``socket_path`` that this one (``session_id``, ``pid``) records ``workspace``
    too. Returns whether it took the message; never raises."""
    request = {"peer": {"session_id": session_id, "pid": pid, "workspace": workspace}}
    try:
        return bool(_exchange(socket_path, request, timeout).get("ok"))
    except (OSError, ValueError):
        return False


def _exchange(path: str, request: Mapping[str, object], timeout: float, *, starting: float = 0.0) -> dict[str, object]:
    """Send one JSON line to the recorder on ``path`` and read its one-line answer.

    ``starting``: seconds to keep trying while the socket is not there yet (the recorder of ``tracer shell -c``
    listens once the command runs, so that its start-up is not on the command's way); a socket that refuses is
    tried for 0.1 s more at most (it was just bound, or its recorder is dead).

    Raises:
        OSError: the recorder cannot be reached. ValueError: its answer is not a JSON object.
    """
    import json
    import time

    deadline = time.monotonic() + starting
    pause = 0.002
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        while True:
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError) as e:
                if isinstance(e, ConnectionRefusedError):  # bound, not yet listening; or a dead recorder's socket
                    deadline = min(deadline, time.monotonic() + 0.1)
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)  # the recorder is starting: a bounded wait, doubling up to 50 ms
                pause = min(pause * 2, 0.05)
        sock.sendall(json.dumps(request).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    answer = json.loads(reply)
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer


def send_note(text: str, tags: Sequence[str] = (), *, socket_path: str | None = None, timeout: float = 5.0) -> str:
    """Send a note to the recorder of the shell this runs in; return the note's id.

    Args:
        socket_path: the recorder's socket (default: ``$TRACER_SOCKET``).
        timeout: seconds to wait for the recorder.

    Raises:
        NoteError: not inside a recorded shell, or the recorder did not take the note.
    """
    path = socket_path or os.environ.get(SOCKET_ENV)
    if not path:
        raise NoteError(
            "tracer note works only inside a shell recorded by `tracer shell` "
            f"(${SOCKET_ENV} is not set): start one with `tracer shell`"
        )
    try:
        answer = _exchange(path, {"text": text, "tags": list(tags)}, timeout, starting=STARTING)
    except OSError as e:
        raise NoteError(
            f"the recorder of this shell does not answer on {path} ({e.strerror or e}): was its `tracer shell` stopped?"
        ) from e
    except ValueError as e:
        raise NoteError(f"the recorder on {path} gave an unreadable answer") from e
    if not answer.get("ok"):
        raise NoteError(str(answer.get("error", "the recorder refused the note")))
    return str(answer["id"])
