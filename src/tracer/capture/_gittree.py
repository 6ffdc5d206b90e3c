"""Trees of a repository's working tree, written through a private index file: the recording's baseline and the
trees compared with it. With :mod:`os` alone.

A snapshot copies the repository's index to a private file once (its stat data makes ``git add`` hash only files
that changed), then runs ``git add -A`` and ``git write-tree`` with ``GIT_INDEX_FILE`` pointing at the copy. A
recording writes its blobs and trees into an object directory of its own (:func:`private_store`), which reads the
repository's objects as an alternate: the user's index, working tree, refs and object database are never touched,
and a ``git gc --prune=now`` run during the recording cannot delete the baseline it compares with. Embedded
repositories (nested clones, submodules) never enter the trees, editor scratch files (vim swap and backup files,
emacs locks) are left out everywhere, and untracked files over a size (a data set lying in the work tree) are left
out and listed.

:func:`baseline` (the work tree of a directory, its ``HEAD`` and branch, and the tree of its working tree) runs
before a ``tracer shell -c`` command starts, so this module imports nothing beyond :mod:`os` and the lean
:mod:`tracer._proc` (``git`` without :mod:`subprocess`): no ``pathlib``, ``typing``, ``re``, ``shutil`` or
``tempfile``; paths are ``str`` (docs/performance.md, run 14). Patches between trees are in
:mod:`tracer.capture._snapshot`.
"""

from __future__ import annotations

import os
import stat

from tracer._proc import CommandFailed, git_env, run_git
from tracer.capture._dirsnapshot import inside
from tracer.errors import RecordingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "LARGE_UNTRACKED",
    "SCRATCH_PATHSPECS",
    "GitBaseline",
    "GitRepo",
    "TreeSnapshots",
    "baseline",
    "excludes",
    "git_text",
    "index_env",
    "private_store",
    "remove_store",
    "repository",
]

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

#: Untracked files over this many bytes stay out of the baseline and the final patch (listed as omitted).
LARGE_UNTRACKED = 64 << 20

#: What ``git add`` says, on standard error, of a directory holding a repository of its own.
_EMBEDDED = b"adding embedded git repository: "


def index_env(index: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The environment of git calls (:func:`tracer._proc.git_env`), with ``GIT_INDEX_FILE`` set to ``index``."""
    env = git_env()
    if index is not None:
        env["GIT_INDEX_FILE"] = os.fspath(index)
    return env


class GitRepo:
    """A repository as a recording's git calls reach it: the top level of its work tree (their working directory)
    and the recording's own object directory (``store``, :func:`private_store`), which they write into and read
    first, the repository's objects behind it; ``store`` ``None``: the repository's object database alone.

    Everything that runs git on a recording's trees takes one (:class:`TreeSnapshots`,
    :class:`tracer.capture._gitobjects.CatFile`, :func:`tracer.capture._snapshot.raw_changes`), so that no call
    can leave the object directory out: the recording's trees are found nowhere else.
    """

    __slots__ = ("root", "store")

    def __init__(self, root: str | os.PathLike[str], store: Mapping[str, str] | None = None) -> None:
        self.root = os.fspath(root)
        self.store = store

    def env(self, index: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """The environment of a git call in this repository: :func:`index_env` (``GIT_INDEX_FILE`` set to ``index``
        when given), pointed at the object directory of ``store``."""
        env = index_env(index)
        if self.store:
            env.update(self.store)
        return env


#: The directory, beside a repository's ``objects``, that holds the object directories of its recordings.
STORE_DIR = "tracer"


def private_store(objects: str, fallback: str | None = None) -> dict[str, str]:
    """A new object directory for this recording's blobs and trees, ``<git dir>/tracer/<pid>-<start>-<random>`` beside
    the repository's ``objects`` directory (same disk, where git never looks), as the environment that points git's
    writes there and its reads there and then at ``objects`` (``GIT_OBJECT_DIRECTORY``,
    ``GIT_ALTERNATE_OBJECT_DIRECTORIES``; git's environment variables, ``git help git``). What a ``git gc`` or
    ``git prune`` of the user's removes is only the repository's own unreachable objects; tracer's baseline tree and
    the blobs of uncommitted files are nowhere in the repository, before or after. The directories of recorders
    that no longer run (killed) are removed on the way. :func:`remove_store` removes it.

    Args:
        objects: the repository's object directory (``git rev-parse --git-path objects``), absolute.
        fallback: a private directory of the recorder's own, where the object directory goes (``objects-<random>``)
            when none can be made in the git directory (a repository of another user's, a read-only one).

    Raises:
        OSError: the directory cannot be made (the git directory is not writable, and there is no ``fallback``).
    """
    try:
        path = _new_store(os.path.join(os.path.dirname(objects), STORE_DIR))
    except OSError:
        if fallback is None:
            raise
        path = os.path.join(fallback, f"objects-{os.urandom(4).hex()}")
        os.mkdir(path, 0o700)
    return {"GIT_OBJECT_DIRECTORY": path, "GIT_ALTERNATE_OBJECT_DIRECTORIES": _alternate_entry(objects)}


def _alternate_entry(path: str) -> str:
    """``path`` as one entry of ``GIT_ALTERNATE_OBJECT_DIRECTORIES``, a ``:``-separated list: C-quoted when it holds
    a ``:`` (a repository in ``proj:v2/``) or starts with ``"``, as git reads such entries (``git help git``)."""
    if ":" not in path and not path.startswith('"'):
        return path
    out = ['"']
    for ch in path:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _new_store(parent: str) -> str:
    """A new directory ``<pid>-<start time>-<random>`` in ``parent`` (made if missing), after the sweep.

    Raises:
        OSError: it cannot be made, or ``parent`` is not a directory of the user's own (a symbolic link, as a
            repository unpacked from someone else's archive may hold: nothing is made or removed through it).
    """
    from tracer.capture.runtime import recorder_name

    try:
        st = os.lstat(parent)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise NotADirectoryError(f"{parent} is not a directory of tracer's")
        _sweep(parent)
    path = os.path.join(parent, f"{recorder_name()}-{os.urandom(4).hex()}")
    for _ in range(3):  # (another recorder that ends may remove the parent, once empty, between the two)
        try:
            os.mkdir(parent, 0o700)
        except FileExistsError:
            pass
        try:
            os.mkdir(path, 0o700)
            break
        except FileNotFoundError:
            continue
    else:
        os.mkdir(path, 0o700)  # (raises)
    return path


def remove_store(store: Mapping[str, str] | None) -> None:
    """Remove the object directory of :func:`private_store` (and its parent once empty); nothing when ``None``."""
    path = (store or {}).get("GIT_OBJECT_DIRECTORY")
    if path:
        _remove_object_dir(path)


def _remove_object_dir(path: str) -> None:
    """Remove a recording's object directory ``path``, and the ``tracer`` directory it is in once empty."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    if os.path.basename(os.path.dirname(path)) == STORE_DIR:
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:  # another recording's directory is in it
            pass


def _sweep(parent: str) -> None:
    """Remove the object directories in ``parent`` whose recorder no longer runs (``<pid>-<start time>-…``)."""
    from tracer.capture.runtime import recorder_runs

    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid, _, rest = name.partition("-")
        start = rest.partition("-")[0]
        if pid.isdigit() and start.isdigit() and not recorder_runs(int(pid), int(start)):
            _remove_object_dir(os.path.join(parent, name))


def excludes(paths: Sequence[str]) -> list[str]:
    """Pathspecs that leave out the editor scratch files and the workspace-relative ``paths`` (literally)."""
    return [f":(exclude){p}" for p in SCRATCH_PATHSPECS] + [f":(exclude,literal){p}" for p in paths]


def git_text(args: Sequence[str], cwd: str | os.PathLike[str]) -> tuple[int, str]:
    """``(exit status, standard output)`` of ``git ARGS`` in ``cwd`` (the user's ``GIT_*`` variables left out), its
    output decoded (undecodable bytes kept as surrogates) and stripped.

    Raises:
        CommandFailed: git cannot be run.
    """
    done = run_git(args, cwd=cwd, env=git_env(), check=False)
    return done.returncode, done.stdout.decode("utf-8", "surrogateescape").strip()


def repository(start: str) -> tuple[str, str, str, str | None, str | None, str] | None:
    """``(top level, git directory, index file, HEAD's commit, branch, object directory)`` of the work tree the
    directory ``start`` is in, with one ``git rev-parse`` (three before an unborn ``HEAD``); ``None`` when ``start``
    is not in a work tree.

    Raises:
        RecordingError: git cannot be run.
    """
    facts = ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-path", "index", "--git-path", "objects"]
    try:
        status, out = git_text([*facts, "HEAD^{commit}", "--symbolic-full-name", "HEAD"], start)
        lines = out.splitlines()
        if status == 0 and len(lines) == 6 and lines[0]:
            head_commit: str | None = lines[4]
            ref = lines[5]
            branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else None
        else:  # no commit yet, or not a work tree: what can be known, one question at a time
            status, out = git_text(facts, start)
            lines = out.splitlines()
            if status != 0 or len(lines) != 4 or not lines[0]:
                return None
            status, head = git_text(["rev-parse", "-q", "--verify", "HEAD^{commit}"], start)
            head_commit = head if status == 0 and head else None
            status, short = git_text(["symbolic-ref", "-q", "--short", "HEAD"], start)
            branch = short if status == 0 and short else None
    except CommandFailed as e:  # git missing
        raise RecordingError(f"cannot run git ({e}); install git or record outside a repository") from e
    root, git_dir, index, objects = lines[0], lines[1], lines[2], lines[3]
    return root, git_dir, os.path.join(start, index), head_commit or None, branch or None, os.path.join(start, objects)


class GitBaseline:
    """The repository a recording starts in and the tree of its working tree then (:func:`baseline`).

    Attributes:
        root: the top level of the work tree.
        git_dir: the repository's git directory.
        index_file: the repository's index file (it may not exist yet).
        head_commit: the full id of ``HEAD``'s commit; ``None`` before the first commit.
        branch: the current branch (short name); ``None`` when detached.
        tree: the id of the tree of the working tree, written into the repository's object database, or into
            ``store``'s.
        left_out: untracked files the tree leaves out for their size: path -> (size in bytes, mtime in ns).
        store: the environment of the recording's own object directory (:func:`private_store`), for every git call
            that reads ``tree``; ``None``: the repository's.
    """

    __slots__ = ("branch", "git_dir", "head_commit", "index_file", "left_out", "root", "store", "tree")

    def __init__(
        self,
        root: str,
        git_dir: str,
        index_file: str,
        head_commit: str | None,
        branch: str | None,
        tree: str,
        left_out: dict[str, tuple[int, int]],
        store: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.git_dir = git_dir
        self.index_file = index_file
        self.head_commit = head_commit
        self.branch = branch
        self.tree = tree
        self.left_out = left_out
        self.store = store


def baseline(
    start: str,
    *,
    exclude: Sequence[str] = (),
    tmp_dir: str | None = None,
    large: int | None = None,
    private: bool = False,
) -> GitBaseline | None:
    """Find the work tree the directory ``start`` (absolute) is in and write the tree of its working tree.

    Args:
        start: the directory the recording starts in.
        exclude: absolute paths to leave out of the tree (e.g. the session file, when it is inside).
        tmp_dir: a private directory for the copy of the index (default: the system's temp dir).
        large: untracked files over this many bytes are left out (:class:`TreeSnapshots`); default
            :data:`LARGE_UNTRACKED`.
        private: write the tree into an object directory of its own (:func:`private_store`; the recorder's, which
            removes it with :func:`remove_store` at its end), not into the repository's.

    Returns:
        ``None`` when ``start`` is not in a work tree (or is inside ``.git``).

    Raises:
        RecordingError: git cannot be run, or cannot read the repository.
    """
    found = repository(start)
    if found is None:
        return None
    root, git_dir, index, head_commit, branch, objects = found
    store = None
    if private:
        try:
            store = private_store(objects, tmp_dir)
        except OSError as e:
            raise RecordingError(
                f"cannot make tracer's object directory beside {objects} ({e.strerror}); check that you may write "
                "to the repository's git directory"
            ) from e
    snaps = TreeSnapshots(
        GitRepo(root, store),
        index,
        inside(root, exclude),
        large=LARGE_UNTRACKED if large is None else large,
        tmp_dir=tmp_dir,
    )
    try:
        tree = snaps.snapshot()
    except BaseException as e:
        remove_store(store)
        if isinstance(e, CommandFailed):
            raise RecordingError(f"cannot read the git state of {root} ({e}); check it with `git status`") from e
        raise
    finally:
        snaps.close()
    return GitBaseline(root, git_dir, index, head_commit, branch, tree, dict(snaps.left_out), store)


class TreeSnapshots:
    """Trees of a repository's working tree (what ``git add -A`` would stage), through a private index.

    Args:
        repo: the repository (its top level, and the object directory the trees are written into).
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
        repo: GitRepo,
        index_file: str | os.PathLike[str] | None,
        exclude: Sequence[str] = (),
        *,
        large: int | None = None,
        baseline_tree: str | None = None,
        tmp_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._repo = repo
        self._root = repo.root
        self._real_index = None if index_file is None else os.fspath(index_file)
        self._exclude = list(exclude)
        self._large = large
        self._baseline_tree = baseline_tree
        #: Untracked files over ``large`` bytes that the last snapshot left out: path -> (size, mtime in ns).
        self.left_out: dict[str, tuple[int, int]] = {}
        self._dir = _private_dir(None if tmp_dir is None else os.fspath(tmp_dir))
        self._index = os.path.join(self._dir, "index")
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
                _copy_with_times(self._real_index, self._index)
        env = self._repo.env(self._index)
        self.left_out = self._large_untracked(env)
        if self.left_out:  # drop what an earlier snapshot staged of them
            run_git(
                ["rm", "--cached", "-f", "-q", "--ignore-unmatch", "--", *self.left_out],
                cwd=self._root,
                env=dict(env, GIT_LITERAL_PATHSPECS="1"),
                check=False,
            )
        args = [
            "-c",
            "core.untrackedCache=true",
            "add",
            "-A",
            "--ignore-errors",
            "--",
            ".",
            *excludes([*self._exclude, *self.left_out]),
        ]
        added = run_git(args, cwd=self._root, env=env, check=False)
        if added.returncode not in (0, 1):
            raise RecordingError(
                f"cannot snapshot the working tree of {self._root}: "
                f"{added.stderr.decode(errors='replace').strip()}; check the repository with `git status`"
            )
        embedded = _embedded(added.stderr)
        try:
            if embedded:
                lit = dict(env, GIT_LITERAL_PATHSPECS="1")
                run_git(["rm", "--cached", "-r", "-q", "--ignore-unmatch", "--", *embedded], cwd=self._root, env=lit)
            return run_git(["write-tree"], cwd=self._root, env=env).stdout.decode().strip()
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
        listed = run_git(
            ["-c", "core.untrackedCache=true", "ls-files", "-z", "--others", "--exclude-standard"],
            cwd=self._root,
            env=git_env(),
            check=False,
        )
        if listed.returncode != 0:
            return {}
        found: dict[str, tuple[int, int]] = {}
        for raw in listed.stdout.split(b"\0"):
            if not raw:
                continue
            rel = raw.decode("utf-8", "surrogateescape")
            try:
                st = os.lstat(os.path.join(self._root, rel))
            except OSError:
                continue
            if st.st_size > self._large:
                found[rel] = (st.st_size, st.st_mtime_ns)
        if found and self._baseline_tree is not None:
            in_tree = run_git(
                ["ls-tree", "-r", "-z", "--name-only", "--full-tree", self._baseline_tree, "--", *found],
                cwd=self._root,
                env=dict(env, GIT_LITERAL_PATHSPECS="1"),
                check=False,
            ).stdout
            for raw in in_tree.split(b"\0"):
                found.pop(raw.decode("utf-8", "surrogateescape"), None)
        return found

    def close(self) -> None:
        """Remove the private index."""
        for name in os.listdir(self._dir) if os.path.isdir(self._dir) else ():
            try:
                os.unlink(os.path.join(self._dir, name))
            except OSError:
                pass
        try:
            os.rmdir(self._dir)
        except OSError:
            pass


def _embedded(stderr: bytes) -> list[str]:
    """The directories ``git add`` reported as embedded repositories (``warning: adding embedded git repository:
    PATH``), workspace-relative."""
    out = []
    for line in stderr.splitlines():
        at = line.find(_EMBEDDED)
        if at >= 0 and line[at + len(_EMBEDDED) :]:
            out.append(line[at + len(_EMBEDDED) :].decode("utf-8", "surrogateescape"))
    return out


def _copy_with_times(src: str, dst: str) -> None:
    """Copy the file ``src`` to ``dst`` with its access and modification times (as :func:`shutil.copy2` does for
    them); nothing when ``src`` cannot be read."""
    try:
        st = os.stat(src)
        with open(src, "rb") as f, open(dst, "wb") as out:
            while chunk := f.read(1 << 20):
                out.write(chunk)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError:
        pass


def _private_dir(tmp_dir: str | None) -> str:
    """A new directory for a private index: ``index-<random>`` in ``tmp_dir`` (the recorder's own, private already:
    made with :func:`os.mkdir`, without importing :mod:`tempfile`, which is 6 ms of the way to a ``tracer shell -c``
    command in a repository), else a ``tracer-index-*`` directory of :func:`tempfile.mkdtemp`.

    Raises:
        OSError: it cannot be made.
    """
    if tmp_dir is None:
        import tempfile

        return tempfile.mkdtemp(prefix="tracer-index-")
    while True:
        path = os.path.join(tmp_dir, f"index-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
