"""Signed sessions: proof that a session file is what this user's recorder wrote on this machine.

The recorder of a user holds a secret key, 32 random bytes created on the first recording in the file
``$XDG_DATA_HOME/tracer/key`` (``~/.local/share/tracer/key``), mode 0600 in a 0700 directory. While it records,
the writer feeds every byte it puts in the session file (the preamble and each compressed frame, in file order)
to a keyed BLAKE3 (the BLAKE3 paper's keyed mode, a MAC by construction; its key derived from the user's key in
BLAKE3's key derivation mode, context :data:`_BLAKE3_CONTEXT`). Before the last frame it writes the digest into
``session_end.mac`` (``"blake3-256:"`` + 64 hex digits), alone in that last frame. So the MAC covers every byte
before the frame that carries it: the header (with the recorder's ``uid`` and ``host_id``), every command, edit
and the final patch. Frames appended later (replay notes, verify results) are outside it, and
:func:`read_signed` returns only the signed part, so nothing appended can change what a verify of the session
runs.

BLAKE3 runs at 3–5 GB/s on one core here, BLAKE2b at 0.9 GB/s: with BLAKE2b the MAC of a flood of output took as
much CPU as its compression (docs/performance.md). Sessions signed before (``"blake2b-256:"``: a keyed
BLAKE2b-256, RFC 7693, personalised ``tracer-session``) are checked as they were signed; where the ``blake3``
package cannot be installed, the recorder signs that way.

``host_id`` is this machine's ``/etc/machine-id`` as systemd's application-specific ids are made: a keyed hash
(here BLAKE2b-128 keyed ``tracer host id``), so the machine's own id never leaves it.

BLAKE2 comes from CPython's built-in ``_blake2`` module (:mod:`tracer._hashes`): :mod:`hashlib` would load OpenSSL
(~4 ms) on the way to the shell.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer._hashes import blake2b
from tracer.errors import SessionError, TracerError
from tracer.model import Event, Header, Session, SessionEnd, event_from_dict
from tracer.store import _msgpack
from tracer.store.reader import iter_frames, open_session_file

#: Bytes of the user's key.
KEY_SIZE = 32
#: The MAC the recorder writes: its name, the prefix of ``session_end.mac``.
MAC_ALGORITHM = "blake3-256"
#: The MAC of sessions signed before the MAC became BLAKE3 (and where ``blake3`` is missing): still checked.
BLAKE2B_MAC = "blake2b-256"
#: Every MAC :func:`read_signed` checks.
MAC_ALGORITHMS = (MAC_ALGORITHM, BLAKE2B_MAC)
_PERSON = b"tracer-session"
#: BLAKE3's key derivation context for the session MAC's key (hard-coded and unique, as BLAKE3 asks).
_BLAKE3_CONTEXT = "tracer 2026-12-02 session file MAC key"
_HOST_KEY = b"tracer host id"
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
_CHUNK = 1 << 20


def key_path() -> Path:
    """Where the user's key lives: ``key`` in tracer's user data directory (``~/.local/share/tracer/key`` on
    Linux, :func:`tracer.config.user_dir`)."""
    from tracer.config import user_dir

    return user_dir("data") / "key"


def user_key(*, create: bool) -> bytes | None:
    """The user's key (:data:`KEY_SIZE` bytes); made (mode 0600, in a 0700 directory) when missing and ``create``.

    Two recorders starting at once get the same key: a new key is written to a temporary file and linked into
    place, and whoever loses the race reads the winner's.

    Returns:
        the key; ``None`` when there is none and ``create`` is false.

    Raises:
        SessionError: the key file cannot be read or made, or is not a regular file of :data:`KEY_SIZE` bytes
            owned by this user and readable by nobody else.
    """
    path = key_path()
    key = _read_key(path)
    if key is not None or not create:
        return key
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".key-{os.getpid()}-{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, os.urandom(KEY_SIZE))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError as e:
        raise SessionError(f"cannot make the signing key {path}: {e.strerror or e}") from e
    return _read_key(path)


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise SessionError(f"cannot read the signing key {path}: {e.strerror or e}; remove it to make a new one") from e
    try:
        st = os.fstat(fd)
        data = os.read(fd, KEY_SIZE + 1)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077 or len(data) != KEY_SIZE:
        raise SessionError(
            f"the signing key {path} is not a {KEY_SIZE}-byte file that only you can read (mode "
            f"{stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid}, {len(data)} bytes); remove it, and record again: "
            "sessions signed with it will no longer count as yours"
        )
    return data


def host_id() -> str | None:
    """This machine's id as tracer records it: 32 hex digits, a keyed hash of ``/etc/machine-id``.

    ``None`` when the machine has no machine id (no systemd or D-Bus id file).
    """
    for name in _MACHINE_ID_FILES:
        with contextlib.suppress(OSError):
            with open(name, "rb") as f:
                raw = f.read(256).strip()
            if raw:
                return blake2b(raw, digest_size=16, key=_HOST_KEY).hexdigest()
    return None


def _blake3() -> Any:
    """The ``blake3`` module, or ``None`` where it is not installed."""
    try:
        import blake3
    except ImportError:
        return None
    return blake3


class Signer:
    """The running MAC of a session file's bytes (see the module docstring).

    Args:
        key: the user's key (:data:`KEY_SIZE` bytes).
        algorithm: one of :data:`MAC_ALGORITHMS`; default :data:`MAC_ALGORITHM`, or :data:`BLAKE2B_MAC` where the
            ``blake3`` package is missing.

    Raises:
        ValueError: an unknown algorithm, or ``"blake3-256"`` without the ``blake3`` package.
    """

    def __init__(self, key: bytes, algorithm: str | None = None) -> None:
        blake3 = _blake3()
        if algorithm is None:
            algorithm = MAC_ALGORITHM if blake3 is not None else BLAKE2B_MAC
        self.algorithm = algorithm
        if algorithm == MAC_ALGORITHM:
            if blake3 is None:
                raise ValueError("the blake3 package is not installed")
            mac_key = blake3.blake3(key, derive_key_context=_BLAKE3_CONTEXT).digest()
            self._mac: Any = blake3.blake3(key=mac_key, max_threads=1)
        elif algorithm == BLAKE2B_MAC:
            self._mac = blake2b(key=key, digest_size=32, person=_PERSON)
        else:
            raise ValueError(f"unknown MAC {algorithm!r}")

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes written to the file."""
        self._mac.update(data)

    def mac(self) -> str:
        """The MAC of everything added so far, as ``session_end.mac`` holds it."""
        return f"{self.algorithm}:{self._mac.hexdigest()}"


@dataclass(frozen=True, slots=True)
class Signed:
    """What :func:`read_signed` found.

    Attributes:
        session: the signed part of the session (its events up to the signed ``session_end``), ``None`` when the
            file carries no valid signature.
        problem: why ``session`` is ``None``, one sentence; ``None`` when the signature checks.
        owner: the file's owner (uid). mode: its permission bits.
        appended: events after the signed part (notes, verify results added later): not in ``session``.
    """

    session: Session | None
    problem: str | None
    owner: int
    mode: int
    appended: int = 0


def read_signed(path: Path, key: bytes) -> Signed:
    """The part of the session at ``path`` that this user's recorder signed with ``key``, if it checks.

    The file is opened once, and everything (owner, bytes, frames) is read from that one open file, so a file
    renamed over it meanwhile is not read instead.

    Raises:
        SessionNotFound, NotASession, UnsupportedVersion, SessionError: the file cannot be read as a session.
    """
    import hmac  # not at start-up: it loads OpenSSL

    f = os.fdopen(open_session_file(path), "rb")  # a regular file only: never blocks on a FIFO
    with f:
        st = os.fstat(f.fileno())
        owner, mode = st.st_uid, stat.S_IMODE(st.st_mode)
        proc = Path(f"/proc/self/fd/{f.fileno()}")
        source = proc if proc.exists() else path
        maps: list[dict[str, Any]] = []
        try:
            frames = iter_frames(source)
            for offset, content in frames:
                found = list(_msgpack.unpack_all(content))
                end = next((m for m in found if m.get("type") == SessionEnd.type and "mac" in m), None)
                if end is None:  # output is not kept: verify reads the commands, the patches and the header
                    maps.extend(m for m in found if m.get("type") not in ("output", "input"))
                    continue
                mac = end.get("mac")
                if not isinstance(mac, str) or ":" not in mac:
                    return Signed(None, _MISMATCH, owner, mode)
                algorithm = mac.partition(":")[0]
                try:
                    signer = Signer(key, algorithm)
                except ValueError as e:
                    problem = (
                        f"its signature cannot be checked here ({e}): `pip install blake3`, then verify again"
                        if algorithm == MAC_ALGORITHM
                        else f"its signature ({algorithm[:40]!r}) is of a kind this tracer does not know"
                    )
                    return Signed(None, problem, owner, mode)
                _feed(signer, f.fileno(), 0, offset)
                if not hmac.compare_digest(mac.encode("utf-8", "surrogatepass"), signer.mac().encode()):
                    return Signed(None, _MISMATCH, owner, mode)
                appended = sum(1 for m in found if m is not end) + _count_rest(frames)
                return Signed(_session(path, [*maps, end]), None, owner, mode, appended)
        except TracerError as e:
            return Signed(None, f"it cannot be read up to its signature ({e})", owner, mode)
        except _msgpack.UnpackError as e:
            return Signed(None, f"a frame before its signature does not decode ({e})", owner, mode)
    if any(m.get("type") == SessionEnd.type for m in maps):
        return Signed(None, "it carries no signature (recorded by a tracer before 0.2, or without a key)", owner, mode)
    return Signed(
        None,
        "the recording was interrupted (no session_end), so it never got its signature",
        owner,
        mode,
    )


_MISMATCH = (
    "its signature does not match: the file was changed after it was recorded, or it was signed with another user's key"
)


def _feed(signer: Signer, fd: int, start: int, stop: int) -> None:
    """Hash the file's bytes ``[start, stop)`` (``0`` is the preamble's first byte)."""
    pos = start
    while pos < stop:
        data = os.pread(fd, min(_CHUNK, stop - pos), pos)
        if not data:
            break
        signer.update(data)
        pos += len(data)


def _count_rest(frames: Any) -> int:
    n = 0
    with contextlib.suppress(TracerError, _msgpack.UnpackError):
        for _, content in frames:
            n += sum(1 for _ in _msgpack.unpack_all(content))
    return n


def _session(path: Path, maps: list[dict[str, Any]]) -> Session:
    events: list[Event] = []
    for m in maps:
        try:
            events.append(event_from_dict(m))
        except KeyError:
            continue  # an event type of a newer tracer
        except (TypeError, ValueError) as e:
            raise SessionError(f"session file {path} has a signed event that does not decode ({e})") from e
    if not events or not isinstance(events[0], Header):
        raise SessionError(f"session file {path} does not begin with a header event")
    rest = sorted(events[1:], key=lambda e: e.t)
    return Session(path=os.fspath(path), header=events[0], events=rest)
