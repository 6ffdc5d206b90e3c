"""Outside git: the directory as it was at start, taken with :mod:`os` alone; and git's file modes and blob hash.

A workspace that is not in a git work tree has no tree to start from: its **baseline** is a snapshot of the
directory. :func:`take` walks it (skipping what ``skipped`` says: ``.git``, nested repositories, the session's own
files, what a ``.gitignore`` ignores) and keeps, per file, its stat key (:func:`stat_key`: what tells later that it
changed without reading it) and its content up to ``size_limit`` bytes, or the git blob hash of larger files, within
budgets of files and bytes (:data:`SNAPSHOT_FILES`, :data:`SNAPSHOT_BYTES`, the smallest files read first): a home
directory or ``/tmp`` is not read whole.

With ``tracer shell -c`` the snapshot is taken before the command starts (nothing holds a command back, and its
own edits must not become the baseline), so this module imports nothing beyond :mod:`os`, :mod:`stat` and
:mod:`time`: no ``pathlib``, ``typing``, ``re``, ``threading`` or ``hashlib`` (imported when a file over
``size_limit`` must be hashed); paths are ``str``. The content it keeps is not hashed: the edit recorder
(:mod:`tracer.capture.files`) adopts the snapshot once the command runs and hashes it there (docs/performance.md,
run 14).

Git's definitions, shared with :mod:`tracer.capture._gitobjects`: a mode is ``"100644"``, ``"100755"`` (owner
execute bit set) or ``"120000"`` (a symbolic link, whose content is its target); a blob hash is SHA-1 of
``b"blob <len>\\0" + content``.
"""

from __future__ import annotations

import os
import stat
import time

from tracer._files import open_regular

TYPE_CHECKING = False
if TYPE_CHECKING:
    import hashlib
    from collections.abc import Callable, Iterable

__all__ = [
    "MODE_EXEC",
    "MODE_FILE",
    "MODE_GITLINK",
    "MODE_LINK",
    "SIZE_LIMIT",
    "DirSnapshot",
    "blob_hasher",
    "hash_file",
    "ignore_lines",
    "inside",
    "may_be_in_git",
    "mode_of",
    "outside_git",
    "read_file",
    "stat_key",
    "take",
    "walk",
]

MODE_FILE = "100644"
MODE_EXEC = "100755"
MODE_LINK = "120000"
MODE_GITLINK = "160000"

#: Bytes: the content of files up to this size is kept (diffs are made of it); larger files are hashed.
SIZE_LIMIT = 1 << 20
#: At most this many bytes of files are read, the smallest files first (the content of those up to SIZE_LIMIT kept,
#: the others hashed); the files past it are only stat'ed. As much as a session keeps of untracked files in git
#: (``tracer.capture._gittree.UNTRACKED_BYTES``). (At 256 MiB kept and every file under SIZE_LIMIT read whatever
#: the total, `tracer shell -c true` in /usr, 129,000 files, read for 25 s and held 410 MB.)
SNAPSHOT_BYTES = 16 << 20
#: At most this many files are snapshotted.
SNAPSHOT_FILES = 200_000

_CHUNK = 1 << 16


def mode_of(st: os.stat_result) -> str | None:
    """The git mode of a file from its ``lstat`` result; ``None`` for what git does not track (dirs)."""
    if stat.S_ISLNK(st.st_mode):
        return MODE_LINK
    if stat.S_ISREG(st.st_mode):
        return MODE_EXEC if st.st_mode & stat.S_IXUSR else MODE_FILE
    return None


#: Blobs from this size (bytes) are hashed by OpenSSL's SHA-1 (:mod:`hashlib`, ~1.2 GB/s here), smaller ones by
#: CPython's own (``_sha1``, ~270 MB/s: under 4 ms for a file under this size). Importing hashlib loads OpenSSL's
#: libcrypto, 3.4 MB resident in the recorder for the rest of the recording: the edits of source files never do.
OPENSSL_FROM = 1 << 20


def blob_hasher(size: int) -> hashlib._Hash:
    """A SHA-1 fed with the git blob header of ``size`` bytes: ``update`` it with the content (``size`` bytes of it:
    see :data:`OPENSSL_FROM` for which SHA-1).

    The hash is imported here, when the first blob is hashed: nothing is hashed before the shell starts unless a
    file over the size limit must be.
    """
    header = b"blob %d\0" % size
    if size < OPENSSL_FROM:
        from tracer._hashes import sha1

        small: hashlib._Hash = sha1(header, usedforsecurity=False)
        return small
    import hashlib

    return hashlib.sha1(header, usedforsecurity=False)


def hash_file(path: str) -> tuple[str, int]:
    """``(git blob hash, size in bytes)`` of the file at ``path``, read in chunks (a file too large to keep); a file
    that shrinks while it is read is hashed as it was read again, whole.

    Raises:
        OSError: it cannot be opened or read.
    """
    with open(open_regular(path, follow=False), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h = blob_hasher(size)
        seen = 0
        while seen < size:
            chunk = f.read(min(_CHUNK, size - seen))
            if not chunk:
                break
            h.update(chunk)
            seen += len(chunk)
        if seen != size:  # the file shrank while read: hash what is there
            f.seek(0)
            data = f.read()
            h = blob_hasher(len(data))
            h.update(data)
            return h.hexdigest(), len(data)
    return h.hexdigest(), size


def stat_key(st: os.stat_result) -> tuple[int, ...]:
    """What tells that a file changed without reading it: size, mtime, ctime, mode and inode (a write, a chmod
    or a replacement changes one of them; ``touch -r`` keeps the mtime but not the ctime)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino)


def may_be_in_git(start: str) -> bool:
    """Whether git could find a work tree from the absolute directory ``start``: a ``.git`` (directory or file) in
    it or in a directory above it (git runs without the user's ``GIT_*`` variables, :func:`tracer._proc.git_env`).
    ``False`` spares a recording outside any repository the git process that would say so."""
    directory = start
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return True
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent


def ignore_lines(root: str) -> list[str]:
    """The lines of ``root``'s top-level ``.gitignore`` that are not blank (what a workspace outside git ignores,
    with git's rules; a blank line matches nothing); ``[]`` when there is none or it cannot be read."""
    try:
        with open(open_regular(os.path.join(root, ".gitignore")), encoding="utf-8", errors="replace") as f:
            return [line for line in f.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []


def inside(root: str, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Those of ``paths`` (absolute, or relative to the current directory) that are in the directory ``root`` or are
    it, relative to it (``/``-separated; ``"."`` for ``root`` itself)."""
    out = []
    for p in paths:
        rel = os.path.relpath(os.path.abspath(p), root)
        if rel != ".." and not rel.startswith("../"):
            out.append(rel)
    return out


def outside_git(root: str, exclude: Iterable[str]) -> Callable[[list[str], list[str]], set[str]]:
    """What a workspace outside git with no ``.gitignore`` skips, decided with ``os`` alone, as ``skipped(files,
    dirs)`` for :func:`take`: ``.git``, directories that hold one (nested repositories), and ``exclude`` (absolute
    paths: the session file, the recorder's directory) with everything below them. Editor scratch files are not
    skipped here: :class:`tracer.capture.files.EditRecorder` drops them when it adopts the snapshot."""
    excluded = inside(root, exclude)

    def is_excluded(rel: str) -> bool:
        return any(rel == e or rel.startswith(e + "/") for e in excluded)

    def skipped(files: list[str], dirs: list[str]) -> set[str]:
        out = {f for f in files if f.rpartition("/")[2] == ".git" or is_excluded(f)}
        for d in dirs:
            if d.rpartition("/")[2] == ".git" or is_excluded(d) or os.path.lexists(os.path.join(root, d, ".git")):
                out.add(d)
        return out

    return skipped


def walk(root: str, top: str, skipped: Callable[[list[str], list[str]], set[str]]) -> list[str]:
    """The files (and symbolic links) below ``top`` (workspace-relative, ``/``-separated; ``""`` for the root) of the
    workspace ``root``, not following symbolic links, without what ``skipped(files, dirs)`` names (a skipped
    directory is not entered). Unreadable directories are passed over."""
    out: list[str] = []
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(os.path.join(root, d) if d else root) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        except OSError:
            continue
        files: list[str] = []
        subdirs: list[str] = []
        for name, is_dir in entries:
            (subdirs if is_dir else files).append(f"{d}/{name}" if d else name)
        skip = skipped(files, subdirs)
        stack.extend(s for s in subdirs if s not in skip)
        out.extend(f for f in files if f not in skip)
    return out


class DirSnapshot:
    """The directory as it was at start.

    Attributes:
        stats: every file met, read or not: workspace-relative path -> :func:`stat_key`.
        files: the files read: path -> ``(mode, sha, size, data)``, as :class:`tracer.capture._gitobjects.FileState`
            but ``sha`` ``None`` where ``data`` (the content, bytes) is kept and not hashed yet; ``data`` ``None``
            for a file over the size limit (``sha`` its blob hash). The edit recorder puts the hashed ``FileState``
            in an entry's place when it first meets the file.
        complete: every file was met (:data:`SNAPSHOT_FILES` was not reached) and read (:data:`SNAPSHOT_BYTES`).
        started_ns: wall-clock time the snapshot began (ns): a file the snapshot did not reach whose inode has not
            changed since (``st_ctime``) is as it was at start.
        size_limit: the content of files up to this many bytes is in ``files``.
        warnings: what the snapshot left out, one sentence each.
    """

    __slots__ = ("complete", "files", "size_limit", "started_ns", "stats", "warnings")

    def __init__(self, size_limit: int = SIZE_LIMIT) -> None:
        self.stats: dict[str, tuple[int, ...]] = {}
        self.files: dict[str, tuple[str, str | None, int, bytes | None]] = {}
        self.complete = True
        self.started_ns = 0
        self.size_limit = size_limit
        self.warnings: list[str] = []

    def unchanged(self, rel: str, st: os.stat_result) -> bool:
        """Whether the file ``rel``, now ``st``, is known to be as it was at start without reading it."""
        known = self.stats.get(rel)
        if known is not None:
            return known == stat_key(st)
        return not self.complete and st.st_ctime_ns < self.started_ns

    def drop(self, rels: Iterable[str]) -> None:
        """Forget ``rels`` (paths found to be skipped after all)."""
        for rel in rels:
            self.stats.pop(rel, None)
            self.files.pop(rel, None)


def take(root: str, skipped: Callable[[list[str], list[str]], set[str]], size_limit: int = SIZE_LIMIT) -> DirSnapshot:
    """Snapshot the directory ``root`` (absolute) now: see the module's docstring. Every file met is stat'ed first;
    then they are read the smallest first (the most files for the bytes: source files before data), until
    :data:`SNAPSHOT_BYTES` are read. Files that vanish or cannot be read while it runs are passed over; nothing is
    raised."""
    snap = DirSnapshot(size_limit)
    snap.started_ns = time.time_ns()
    met: list[tuple[int, str, str]] = []
    for rel in walk(root, "", skipped):
        if len(met) >= SNAPSHOT_FILES:
            snap.complete = False
            snap.warnings.append(f"{root} has over {SNAPSHOT_FILES} files; only the first were snapshotted")
            break
        try:
            st = os.lstat(os.path.join(root, rel))
        except OSError:
            continue
        mode = mode_of(st)
        if mode is None:
            continue
        met.append((st.st_size, rel, mode))
        snap.stats[rel] = stat_key(st)
    met.sort()
    read = 0
    for i, (size, rel, mode) in enumerate(met):
        if read + size > SNAPSHOT_BYTES:
            # a home directory, /tmp: not read whole at start; the size, times and inode of the rest tell later
            # whether they changed (a change is then recorded without content)
            snap.complete = False
            snap.warnings.append(
                f"{root} holds over {SNAPSHOT_BYTES >> 20} MiB of files outside git; the largest "
                f"{_plural(len(met) - i, 'file')}, from {size} bytes up, were not read at start (a change to them "
                "is recorded without its content): record inside a git repository"
            )
            break
        try:
            state = _read(os.path.join(root, rel), mode, size, size_limit)
        except OSError:
            continue
        read += state[2]
        snap.files[rel] = state
    return snap


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def read_file(path: str, size_limit: int) -> tuple[str, str | None, int, bytes | None] | None:
    """The file at ``path`` as git would store it, without following a symbolic link: ``(mode, sha, size, data)`` as
    in :attr:`DirSnapshot.files`; ``None`` when nothing git would track is there (missing, a directory, a fifo) or it
    cannot be read."""
    try:
        st = os.lstat(path)
        mode = mode_of(st)
        return None if mode is None else _read(path, mode, st.st_size, size_limit)
    except OSError:
        return None


def _read(path: str, mode: str, size: int, size_limit: int) -> tuple[str, str | None, int, bytes | None]:
    """One file's ``(mode, sha, size, data)``: the content when it is at most ``size_limit`` bytes (a symbolic link's
    target always), else the blob hash (``data`` ``None``).

    Raises:
        OSError: it cannot be read.
    """
    if mode == MODE_LINK:
        target = os.fsencode(os.readlink(path))
        return mode, None, len(target), target
    if size <= size_limit:
        with open(open_regular(path, follow=False), "rb") as f:
            data = f.read(size_limit + 1)
        if len(data) <= size_limit:
            return mode, None, len(data), data
    sha, size = hash_file(path)
    return mode, sha, size, None
