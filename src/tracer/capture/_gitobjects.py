"""Git object plumbing for edit capture: blob hashes, file modes, path quoting, binary patches, ``cat-file``.

Everything here follows git's own definitions so that what tracer writes is what ``git apply`` reads:

* a blob hash is SHA-1 of ``b"blob <len>\\0" + content`` (hex);
* a file is binary when a NUL byte occurs in its first 8000 bytes (git's ``buffer_is_binary``);
* modes are ``"100644"``, ``"100755"`` (owner execute bit set) and ``"120000"`` (symbolic link, whose
  content is the link target); they, the blob hash and the reading of a file are defined in
  :mod:`tracer.capture._dirsnapshot`, which runs before a ``tracer shell -c`` command starts;
* paths in diff headers are C-quoted as with ``core.quotePath=true``;
* binary patches are ``GIT binary patch`` blocks: zlib-deflated literals in git's base85 lines.
"""

from __future__ import annotations

import base64
import os
import threading
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from tracer._proc import end_batch_process
from tracer.capture._dirsnapshot import blob_hasher, read_file
from tracer.capture._gittree import GitRepo
from tracer.errors import RecordingError

if TYPE_CHECKING:
    import subprocess  # (imported when the process starts: not on the way to a recording's shell)

#: Bytes git inspects to decide whether content is binary (``FIRST_FEW_BYTES`` in git's xdiff-interface.c).
BINARY_PROBE = 8000

_NULL_SHA = "0" * 40

_CHUNK = 1 << 16


def blob_hash(data: bytes) -> str:
    """The git blob id (SHA-1, hex) of ``data``: SHA-1 of ``b"blob <len>\\0" + data``."""
    h = blob_hasher(len(data))
    h.update(data)
    return h.hexdigest()


def null_sha() -> str:
    """The all-zero object id git writes for a side that does not exist."""
    return _NULL_SHA


def is_binary(data: bytes) -> bool:
    """True when git would call ``data`` binary: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:BINARY_PROBE]


class FileState(NamedTuple):
    """One file as git sees it.

    Attributes:
        mode: git mode (``"100644"``, ``"100755"``, ``"120000"``).
        sha: git blob hash of the content (SHA-1 hex).
        size: content length in bytes.
        data: the content, ``None`` when it is over the size limit (or not kept).
    """

    mode: str
    sha: str
    size: int
    data: bytes | None


def read_file_state(path: Path, size_limit: int) -> FileState | None:
    """Read a workspace file as git would store it, without following a symlink.

    Args:
        path: absolute path.
        size_limit: bytes; content over it is hashed in chunks and not kept (``data`` is ``None``).

    Returns:
        The state, or ``None`` when nothing git would track is there (missing, a directory, a fifo) or the
        file cannot be read (:func:`tracer.capture._dirsnapshot.read_file`).
    """
    raw = read_file(os.fspath(path), size_limit)
    return None if raw is None else file_state(raw)


def file_state(raw: tuple[str, str | None, int, bytes | None]) -> FileState:
    """The :class:`FileState` of a file read by :mod:`tracer.capture._dirsnapshot`: its content hashed when it was
    kept unhashed (``sha`` ``None``)."""
    mode, sha, size, data = raw
    if sha is None:
        assert data is not None
        sha = blob_hash(data)
    return FileState(mode, sha, size, data)


_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def quote_path(prefixed: str) -> str:
    """A path as git writes it in diff headers (``core.quotePath=true``).

    ``prefixed`` is the path with its ``a/`` or ``b/`` prefix. It is returned as is unless it holds a
    control character, ``"``, ``\\`` or a byte over 0x7f; then it is wrapped in double quotes with C escapes
    and octal bytes, e.g. ``"b/caf\\303\\251"``.
    """
    raw = os.fsencode(prefixed)
    if not any(b < 0x20 or b >= 0x7F or b in (34, 92) for b in raw):
        return prefixed
    out = []
    for b in raw:
        if b in _ESCAPES:
            out.append(_ESCAPES[b])
        elif b < 0x20 or b >= 0x7F:
            out.append(f"\\{b:03o}")
        else:
            out.append(chr(b))
    return '"' + "".join(out) + '"'


def _base85_lines(data: bytes) -> list[str]:
    """Git's base85 lines: each starts with a length letter (A-Z 1-26, a-z 27-52) for up to 52 bytes."""
    lines = []
    for i in range(0, len(data), 52):
        chunk = data[i : i + 52]
        n = len(chunk)
        letter = chr(ord("A") + n - 1) if n <= 26 else chr(ord("a") + n - 27)
        lines.append(letter + base64.b85encode(chunk, pad=True).decode("ascii"))
    return lines


def binary_patch(old: bytes, new: bytes) -> str:
    """A ``GIT binary patch`` block turning ``old`` into ``new`` (forward literal, then the reverse).

    The text is ASCII, ends with a newline and is what ``git diff --binary`` writes after the ``index`` line.
    """
    parts = ["GIT binary patch\n"]
    for content in (new, old):
        parts.append(f"literal {len(content)}\n")
        parts.extend(line + "\n" for line in _base85_lines(zlib.compress(content, 9)))
        parts.append("\n")
    return "".join(parts)


class CatFile:
    """A long-running ``git cat-file --batch`` reading objects of one repository by id or ``<tree>:<path>``
    (``repo``: its top level, and a recording's own object directory, read first).

    Thread-safe (one request at a time). Start lazily on first use; :meth:`close` ends the process.
    """

    def __init__(self, repo: GitRepo) -> None:
        #: The repository it reads (with the recording's object directory first).
        self.repo = repo
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            import subprocess

            try:
                self._proc = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    cwd=self.repo.root,
                    env=self.repo.env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as e:
                raise RecordingError(
                    f"cannot start `git cat-file` in {self.repo.root} ({e}); check that git is installed"
                ) from e
        return self._proc

    def read(self, spec: str, size_limit: int) -> tuple[str, int, bytes | None] | None:
        """Read one object.

        Args:
            spec: an object id or ``<tree>:<path>`` (no newline in it).
            size_limit: bytes; larger content is streamed through a hash and not returned.

        Returns:
            ``(blob_hash, size, data)`` with ``data`` ``None`` over the limit, or ``None`` when the object is
            missing or ``spec`` cannot be asked for.
        """
        if "\n" in spec:
            return None
        with self._lock:
            for attempt in range(2):
                proc = self._ensure()
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
                    proc.stdin.flush()
                    header = proc.stdout.readline()
                    if not header:
                        raise BrokenPipeError
                    fields = header.split()
                    if len(fields) != 3 or fields[1] == b"missing":
                        return None
                    size = int(fields[2])
                    if size <= size_limit:
                        data = proc.stdout.read(size)
                        proc.stdout.read(1)
                        return blob_hash(data), size, data
                    h = blob_hasher(size)
                    left = size
                    while left:
                        chunk = proc.stdout.read(min(_CHUNK, left))
                        if not chunk:
                            raise BrokenPipeError
                        h.update(chunk)
                        left -= len(chunk)
                    proc.stdout.read(1)
                    return h.hexdigest(), size, None
                except (BrokenPipeError, OSError, ValueError):
                    self._kill()
                    if attempt:
                        return None
        return None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            end_batch_process(proc, kill=True)

    def close(self) -> None:
        """End the ``git cat-file`` process, if it runs."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                end_batch_process(proc)
