"""Snapshots of a git workspace as trees, written through a private index file, and patches between them.

A snapshot copies the repository's index to a temporary file once (its stat data makes ``git add`` hash only
files that changed), then runs ``git add -A`` and ``git write-tree`` with ``GIT_INDEX_FILE`` pointing at the
copy. Blobs and trees are written into the repository's object database; the user's index, working tree and
refs are never touched. Embedded repositories (nested clones, submodules) never enter the trees, and
editor scratch files (vim swap and backup files, emacs locks) are left out everywhere.

Patches between two trees are ``git diff-tree -p --binary --full-index`` output, with every section that is
not UTF-8 rewritten as a ``GIT binary patch`` so the patch is a ``str`` that ``git apply`` takes.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from tracer._proc import CommandFailed, git_env, run
from tracer.capture._dirsnapshot import MODE_GITLINK
from tracer.capture._edits_diff import file_diff
from tracer.capture._gitobjects import CatFile, FileState
from tracer.errors import RecordingError

#: Editor scratch files, as pathspecs (``*`` matches ``/`` too): never part of a snapshot.
SCRATCH_PATHSPECS = (
    "*.sw[a-p]",
    "*.swx",
    "*~",
    "4913",
    "*/4913",
    ".#*",
    "*/.#*",
    "#*#",
    "*/#*#",
)

#: The same files by base name, for the file observer.
SCRATCH_NAME = re.compile(r"(?s:.*\.sw[a-px]|.*~|4913|\.#.*|#.*#)\Z")

_EMBEDDED = re.compile(rb"adding embedded git repository: (.+)")


def _env(index: Path | None = None) -> dict[str, str]:
    env = git_env()
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    return env


def _excludes(paths: Sequence[str]) -> list[str]:
    return [f":(exclude){p}" for p in SCRATCH_PATHSPECS] + [f":(exclude,literal){p}" for p in paths]


class TreeSnapshots:
    """Trees of a repository's working tree (what ``git add -A`` would stage), through a private index.

    Args:
        repo_root: the git top level.
        index_file: the repository's real index (copied once, read only); it may not exist yet.
        exclude: workspace-relative paths to leave out (e.g. the session directory).
        large: untracked (not ignored) files over this many bytes are left out of the trees (see
            :attr:`left_out`), so that a data set lying in the work tree is not hashed into the object
            database at every start and end; ``None`` keeps everything.
        baseline_tree: files this tree holds are never left out (leaving them out would look like a deletion).
        tmp_dir: where to put the private index (in a directory of its own); default the system's temp dir.

    Not thread-safe: one snapshot at a time. :meth:`close` removes the private index.
    """

    def __init__(
        self,
        repo_root: Path,
        index_file: Path | None,
        exclude: Sequence[str] = (),
        *,
        large: int | None = None,
        baseline_tree: str | None = None,
        tmp_dir: Path | None = None,
    ) -> None:
        self._root = repo_root
        self._real_index = index_file
        self._exclude = list(exclude)
        self._large = large
        self._baseline_tree = baseline_tree
        #: Untracked files over ``large`` bytes that the last snapshot left out: path -> (size, mtime in ns).
        self.left_out: dict[str, tuple[int, int]] = {}
        self._dir = _private_dir(tmp_dir)
        self._index = self._dir / "index"
        self._seeded = False

    def snapshot(self) -> str:
        """Write the tree of the working tree as it is now and return its id.

        Raises:
            RecordingError: git cannot stage or write the tree.
        """
        if not self._seeded:
            self._seeded = True
            if self._real_index is not None:
                # No index yet (a fresh repository): git add builds one. The copy keeps the index's mtime: git
                # re-hashes an entry whose mtime is not older than its index file's ("racy git"), and a copy
                # dated now would hide a same-size change made in the second the user's index was written.
                import shutil

                with contextlib.suppress(OSError):
                    shutil.copy2(self._real_index, self._index)
        env = _env(self._index)
        self.left_out = self._large_untracked(env)
        if self.left_out:  # drop what an earlier snapshot staged of them
            run(
                ["git", "rm", "--cached", "-f", "-q", "--ignore-unmatch", "--", *self.left_out],
                cwd=self._root,
                env=dict(env, GIT_LITERAL_PATHSPECS="1"),
                check=False,
            )
        argv = [
            "git",
            "-c",
            "core.untrackedCache=true",
            "add",
            "-A",
            "--ignore-errors",
            "--",
            ".",
            *_excludes([*self._exclude, *self.left_out]),
        ]
        proc = run(argv, cwd=self._root, env=env, check=False)
        if proc.returncode not in (0, 1):
            raise RecordingError(
                f"cannot snapshot the working tree of {self._root}: "
                f"{proc.stderr.decode(errors='replace').strip()}; check the repository with `git status`"
            )
        embedded = [m.decode("utf-8", "surrogateescape") for m in _EMBEDDED.findall(proc.stderr)]
        try:
            if embedded:
                lit = dict(env, GIT_LITERAL_PATHSPECS="1")
                run(
                    ["git", "rm", "--cached", "-r", "-q", "--ignore-unmatch", "--", *embedded],
                    cwd=self._root,
                    env=lit,
                )
            return run(["git", "write-tree"], cwd=self._root, env=env).stdout.decode().strip()
        except CommandFailed as e:
            raise RecordingError(
                f"cannot snapshot the working tree of {self._root} ({e}); check it with `git status`"
            ) from e

    def _large_untracked(self, env: dict[str, str]) -> dict[str, tuple[int, int]]:
        """Untracked, not ignored files over ``large`` bytes, minus those the baseline tree holds."""
        if self._large is None:
            return {}
        # untracked for the user: listed against their own index, not the private one (an earlier snapshot may
        # have staged a file there while it was still small)
        proc = run(
            ["git", "-c", "core.untrackedCache=true", "ls-files", "-z", "--others", "--exclude-standard"],
            cwd=self._root,
            env=git_env(),
            check=False,
        )
        if proc.returncode != 0:
            return {}
        found: dict[str, tuple[int, int]] = {}
        for raw in proc.stdout.split(b"\0"):
            if not raw:
                continue
            rel = raw.decode("utf-8", "surrogateescape")
            try:
                st = os.lstat(fs_path(self._root, rel))
            except OSError:
                continue
            if st.st_size > self._large:
                found[rel] = (st.st_size, st.st_mtime_ns)
        if found and self._baseline_tree is not None:
            listed = run(
                ["git", "ls-tree", "-r", "-z", "--name-only", "--full-tree", self._baseline_tree, "--", *found],
                cwd=self._root,
                env=dict(env, GIT_LITERAL_PATHSPECS="1"),
                check=False,
            ).stdout
            for raw in listed.split(b"\0"):
                found.pop(raw.decode("utf-8", "surrogateescape"), None)
        return found

    def close(self) -> None:
        """Remove the private index."""
        import shutil

        shutil.rmtree(self._dir, ignore_errors=True)


def _private_dir(tmp_dir: Path | None) -> Path:
    """A new directory for a private index: ``index-<random>`` in ``tmp_dir`` (the recorder's own, private already:
    made with :func:`os.mkdir`, without importing :mod:`tempfile`, which is 6 ms of the way to a ``tracer shell -c``
    command in a repository), else a ``tracer-index-*`` directory of :func:`tempfile.mkdtemp`.

    Raises:
        OSError: it cannot be made.
    """
    if tmp_dir is None:
        import tempfile

        return Path(tempfile.mkdtemp(prefix="tracer-index-"))
    while True:
        path = Path(tmp_dir) / f"index-{os.urandom(6).hex()}"
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return path


def empty_tree(repo_root: Path) -> str:
    """The id of the empty tree in this repository's hash function."""
    return (
        run(["git", "hash-object", "-t", "tree", "--stdin"], cwd=repo_root, input=b"", env=_env())
        .stdout.decode()
        .strip()
    )


class RawChange(NamedTuple):
    """One entry of ``git diff-tree --raw``: status letter, modes, object ids, paths, rename score."""

    status: str
    old_mode: str
    new_mode: str
    old_id: str
    new_id: str
    old_path: str
    new_path: str
    score: int | None


def raw_changes(repo_root: Path, a: str, b: str, *, renames: bool, pathspecs: Sequence[str] = ()) -> list[RawChange]:
    """The changed entries between trees ``a`` and ``b`` (recursive; renames paired when asked).

    Raises:
        CommandFailed: git failed (e.g. a tree id is unknown).
    """
    argv = ["git", "diff-tree", "-r", "-z", "--raw", "--full-index", "--no-ext-diff"]
    argv += ["-M"] if renames else ["--no-renames"]
    out = run([*argv, a, b, "--", *pathspecs], cwd=repo_root, env=_env()).stdout
    fields = out.split(b"\0")
    changes: list[RawChange] = []
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode()
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_id, new_id, status = meta[1:].split(" ")
        p1 = fields[i + 1].decode("utf-8", "surrogateescape")
        i += 2
        p2 = p1
        if status[0] in "RC":
            p2 = fields[i].decode("utf-8", "surrogateescape")
            i += 1
        score = int(status[1:]) if len(status) > 1 else None
        changes.append(RawChange(status[0], old_mode, new_mode, old_id, new_id, p1, p2, score))
    return changes


def _sizes(repo_root: Path, ids: Sequence[str]) -> dict[str, int]:
    if not ids:
        return {}
    out = run(
        ["git", "cat-file", "--batch-check"],
        cwd=repo_root,
        env=_env(),
        input="".join(i + "\n" for i in ids).encode(),
    ).stdout
    sizes = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes


#: The largest patch :func:`tree_patch` writes (bytes of text): half of what a reader takes in one event
#: (``tracer.store._msgpack.MAX_EVENT_BYTES``), so that a final patch or a header with its baseline patch is
#: always readable; files past it are left out and listed as omitted.
PATCH_BYTES = 256 << 20


class TreePatch(NamedTuple):
    """A patch between two trees: text, the paths it changes, and what was left out (``"path: why"``)."""

    text: str
    files: tuple[str, ...]
    omitted: tuple[str, ...]


def tree_patch(
    repo_root: Path,
    a: str,
    b: str,
    cat: CatFile,
    *,
    renames: bool,
    file_limit: int | None = None,
    exclude: Sequence[str] = (),
    total_limit: int | None = None,
) -> TreePatch:
    """``git diff --binary`` from tree ``a`` to tree ``b``, as text ``git apply`` takes.

    Gitlinks (submodules, nested repositories), editor scratch files and the ``exclude`` paths (with
    everything below them) are left out. Files whose new content is over ``file_limit`` bytes are left out
    and listed in ``omitted``, and so are the files whose sections would take the patch over ``total_limit``
    bytes (default :data:`PATCH_BYTES`), in the order git lists them.

    Raises:
        CommandFailed: git failed.
    """
    first = raw_changes(repo_root, a, b, renames=False, pathspecs=[".", *_excludes(exclude)] if exclude else ())
    skip: list[str] = []
    omitted: list[str] = []
    sizes = {}
    if file_limit is not None:
        sizes = _sizes(repo_root, [c.new_id for c in first if c.new_mode not in ("000000", MODE_GITLINK)])
    for c in first:
        if MODE_GITLINK in (c.old_mode, c.new_mode):
            skip.append(c.new_path)
        elif file_limit is not None and sizes.get(c.new_id, 0) > file_limit:
            skip.append(c.new_path)
            omitted.append(f"{c.new_path}: {sizes[c.new_id]} bytes, over the {file_limit}-byte limit")
    specs = [f":(exclude,literal){p}" for p in skip]
    if skip or exclude:
        specs = [".", *_excludes(exclude), *specs]
    changes = first if not skip and not renames else raw_changes(repo_root, a, b, renames=renames, pathspecs=specs)
    if not changes:
        return TreePatch("", (), tuple(omitted))
    argv = ["git", "-c", "core.quotepath=true", "diff-tree", "-r", "-p", "--binary", "--full-index"]
    argv += ["--no-ext-diff", "--no-textconv", "-M" if renames else "--no-renames", a, b, "--", *specs]
    out = run(argv, cwd=repo_root, env=_env()).stdout
    sections = _sections(out)
    want = sum(2 if c.status == "T" else 1 for c in changes)
    texts: list[str] = []
    if len(sections) == want:
        k = 0
        for c in changes:
            n = 2 if c.status == "T" else 1
            raw = b"".join(sections[k : k + n])
            k += n
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(_own_section(c, cat))
    else:  # unexpected shape: write every section ourselves
        texts = [_own_section(c, cat) for c in changes]
    budget = PATCH_BYTES if total_limit is None else total_limit
    kept: list[str] = []
    files: list[str] = []
    for c, section in zip(changes, texts, strict=True):
        size = len(section) if section.isascii() else len(section.encode("utf-8", "surrogatepass"))
        if size > budget:
            omitted.append(f"{c.new_path}: its part of the patch would take it over {_limit_words(total_limit)}")
            continue
        budget -= size
        kept.append(section)
        if c.status == "R":
            files.append(c.old_path)
        files.append(c.new_path)
    return TreePatch("".join(kept), tuple(files), tuple(omitted))


def _limit_words(total_limit: int | None) -> str:
    """The patch limit in words: ``"the 256 MiB limit"``."""
    limit = PATCH_BYTES if total_limit is None else total_limit
    return f"the {limit >> 20} MiB limit" if limit >= 1 << 20 else f"the {limit}-byte limit"


def _sections(patch: bytes) -> list[bytes]:
    """Cut a patch before each ``diff --git`` line (such a line can only be a header)."""
    if not patch:
        return []
    starts = [m.start() for m in re.finditer(rb"^diff --git ", patch, re.M)]
    return [patch[s:e] for s, e in zip(starts, [*starts[1:], len(patch)], strict=True)]


def _state(cat: CatFile, mode: str, oid: str) -> FileState | None:
    if set(mode) == {"0"}:
        return None
    got = cat.read(oid, 1 << 62)
    if got is None:
        raise RecordingError(f"object {oid} is missing from the repository; run `git fsck`")
    _, size, data = got
    return FileState(mode, oid, size, data)


def _own_section(c: RawChange, cat: CatFile) -> str:
    old = _state(cat, c.old_mode, c.old_id)
    new = _state(cat, c.new_mode, c.new_id)
    return file_diff(c.old_path, c.new_path, old, new, similarity=c.score).text


def fs_path(root: Path, rel: str) -> Path:
    """The absolute path of a workspace-relative, ``/``-separated path."""
    return root / rel.replace("/", os.sep)
