"""Whose session is this? A session is trusted when this user recorded it on this machine, else untrusted.

Trusted means all of (see docs/verify.md for the threat model):

- the file is a regular file owned by this user and writable by nobody else;
- this user has a signing key, and the session's ``session_end.mac`` checks with it over every byte before it
  (:mod:`tracer.store.signing`): the recorder of this user wrote those bytes, and nobody changed them;
- the signed header says it was recorded by this uid on this machine (``uid``, ``host_id``).

A trusted session is read only up to its signature: what verify runs (the header's test command, the recorded
commands, the baseline and final patches) comes from the signed part, whatever was appended after it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tracer.errors import TracerError
from tracer.model import Session
from tracer.store import read_outline
from tracer.store.signing import host_id, key_path, read_signed, user_key


@dataclass(frozen=True, slots=True)
class Trust:
    """Whether a session may run without asking, and why.

    Attributes:
        trusted: this user recorded it on this machine, and it is unchanged since.
        reason: one sentence saying why (or why not): ``"recorded by you on this machine (signature checks)"``.
        session: what verify reads: the signed part when trusted, else the whole file; without output (and,
            untrusted, without diffs): verify reads the header, the command lines and the patches.
    """

    trusted: bool
    reason: str
    session: Session


def assess(path: Path) -> Trust:
    """Read the session at ``path`` and decide whether this user recorded it on this machine.

    Raises:
        SessionError: the file is not a readable session.
    """
    untrusted = _why_untrusted(path)
    if isinstance(untrusted, Session):
        return Trust(True, "recorded by you on this machine (its signature checks)", untrusted)
    return Trust(False, untrusted, read_outline(path))  # no output or diffs: verify reads neither


def _why_untrusted(path: Path) -> Session | str:
    """The signed part of the session when it is trusted, else why it is not (one clause)."""
    me = os.getuid()
    try:
        key = user_key(create=False)
    except TracerError as e:
        return f"your signing key cannot be used ({e})"
    if key is None:
        return f"you have no signing key yet ({key_path()}), so no session is signed by you"
    signed = read_signed(path, key)
    if signed.owner != me:
        return f"the file is owned by uid {signed.owner}, not by you (uid {me})"
    if signed.mode & 0o022:
        return f"the file is writable by others (mode {signed.mode:o})"
    if signed.session is None:
        return signed.problem or "it is not signed"
    header = signed.session.header
    if header.uid != me:
        return f"it was recorded by uid {header.uid}, not by you (uid {me})"
    here = host_id()
    if header.host_id != here:
        return f"it was recorded on another machine ({header.hostname or 'unknown host'}, id {header.host_id})"
    return signed.session
