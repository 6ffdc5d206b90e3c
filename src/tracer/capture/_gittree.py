"""Trees of a repository's working tree, written through a private index file: the recording's baseline and the
trees compared with it. With :mod:`os` alone.

A snapshot copies the repository's index to a private file once (its stat data makes ``git add`` hash only files
that changed), then runs ``git add -A`` and ``git write-tree`` with ``GIT_INDEX_FILE`` pointing at the copy. A
recording writes its blobs and trees into an object directory of its own (:func:`private_store`), which reads the
repository's objects as an alternate: the user's index, working tree, refs and object database are never touched,
and a ``git gc --prune=now`` run during the recording cannot delete the baseline it compares with. Embedded
repositories (nested clones, submodules) never enter the trees, editor scratch files (vim swap and backup files,
emacs locks) are left out everywhere, and untracked files past a budget of bytes (a data set lying in the work
tree) are left out and listed.

:func:`baseline` (the work tree of a directory, its ``HEAD`` and branch, and the tree of its working tree) runs
before a ``tracer shell -c`` command starts, so this module imports nothing beyond :mod:`os` and the lean
:mod:`tracer._proc` (``git`` without :mod:`subprocess`): no ``pathlib``, ``typing``, ``re``, ``shutil`` or
``tempfile``; paths are ``str`` (docs/performance.md, run 14). Patches between trees are in
:mod:`tracer.capture._snapshot`.
"""

from __future__ import annotations

import os
import stat
import time

from tracer._proc import CommandFailed, git_env, run_git
from tracer.capture._dirsnapshot import inside
from tracer.errors import RecordingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from tracer._proc import Completed

__all__ = [
    "SCRATCH_PATHSPECS",
    "UNTRACKED_BYTES",
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

#: Untracked (not ignored) files go into a snapshot up to this many bytes in all, the smallest first; the rest stay
#: out of the baseline and the final patch (listed as omitted). Untracked files the baseline holds do not count
#: again at later snapshots. Without it, a data set lying untracked in the work tree was hashed into every
#: recording's object directory and carried whole in its header (200 MB of files: a 209 MB session and 20 s
#: before `tracer shell -c true` ran).
UNTRACKED_BYTES = 16 << 20
#: Why an untracked file is left out, as the lines that name it say (the header's and the final patch's omitted).
UNTRACKED_WHY = f"left out with the untracked files past the {UNTRACKED_BYTES >> 20} MiB a session keeps"
#: Untracked files (or entries) left out that a list of omitted files names one by one; the rest share one line.
OMITTED_LISTED = 50
#: Past this many pathspecs, git reads them from its standard input (``--pathspec-from-file``), not its command line.
_ARGV_PATHSPECS = 256
#: Past this many files left out one by one, their directories are staged with ``update-index`` and left out of
#: ``git add -A`` whole (:meth:`TreeSnapshots._stage_by_directory`).
_BY_DIRECTORY = 256

#: How a snapshot stages files into the recording's object directory: each new blob streamed into one pack file
#: (git's bulk check-in, for files over ``core.bigFileThreshold``), not written as a loose object. With thousands
#: of files to store (untracked files kept at start), one file per object cost ~2.5 s of file creation for 15,832
#: files of 1 KiB (63 MiB of 4 KiB blocks) where the pack takes ~0.8 s (816 KiB). The setting applies to the
#: staging commands of a baseline only: diffs would take such files for binary.
_PACKED = ("-c", "core.bigFileThreshold=1")

#: A file whose times are this close to a snapshot (nanoseconds) is hashed again at the next one, whatever its
#: times say then: a change within a file system's time granularity would not show in them (git's "racy git").
_RACY_NS = 2_000_000_000

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


def pathspec_args(specs: Sequence[str]) -> tuple[list[str], bytes | None]:
    """Arguments that give git the pathspecs ``specs`` (after its other options), and its standard input: on the
    command line while they are few, else NUL-separated on standard input (``--pathspec-from-file=-
    --pathspec-file-nul``, git ≥ 2.25: thousands of left-out files would not fit in a command line)."""
    if len(specs) <= _ARGV_PATHSPECS:
        return ["--", *specs], None
    data = "\0".join(specs).encode("utf-8", "surrogateescape")
    return ["--pathspec-from-file=-", "--pathspec-file-nul"], data


#: Seconds one git command of the recorder may take before it is stopped (``TRACER_GIT_TIMEOUT`` sets another):
#: git waits for ever where a FIFO stands for a file it reads (``mkfifo .gitignore``: ``git status`` hangs too) or on
#: a file system that does not answer, and the shell's input waits for the start state; past it, the session goes
#: on without its edits, saying which command did not finish.
GIT_TIMEOUT = 30.0


def git_timeout() -> float:
    """:data:`GIT_TIMEOUT`, or the seconds ``TRACER_GIT_TIMEOUT`` gives (a positive number; else the default)."""
    try:
        seconds = float(os.environ.get("TRACER_GIT_TIMEOUT", ""))
    except ValueError:
        return GIT_TIMEOUT
    return seconds if 0 < seconds < float("inf") else GIT_TIMEOUT


def _git(args: Sequence[str], **kwargs: Any) -> Completed:
    """:func:`~tracer._proc.run_git` within :func:`git_timeout` seconds.

    Raises:
        CommandFailed: as ``run_git`` (:class:`~tracer._proc.CommandTimedOut` past the time).
    """
    return run_git(args, timeout=git_timeout(), **kwargs)


def git_text(args: Sequence[str], cwd: str | os.PathLike[str]) -> tuple[int, str]:
    """``(exit status, standard output)`` of ``git ARGS`` in ``cwd`` (the user's ``GIT_*`` variables left out), its
    output decoded (undecodable bytes kept as surrogates) and stripped.

    Raises:
        CommandFailed: git cannot be run.
    """
    done = _git(args, cwd=cwd, env=git_env(), check=False)
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
        left_out: untracked files the tree leaves out (past :data:`UNTRACKED_BYTES`): path -> (size in bytes, mtime
            in ns).
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
    untracked_bytes: int | None = None,
    private: bool = False,
) -> GitBaseline | None:
    """Find the work tree the directory ``start`` (absolute) is in and write the tree of its working tree.

    Args:
        start: the directory the recording starts in.
        exclude: absolute paths to leave out of the tree (e.g. the session file, when it is inside).
        tmp_dir: a private directory for the copy of the index (default: the system's temp dir).
        untracked_bytes: untracked files past this many bytes in all are left out (:class:`TreeSnapshots`); default
            :data:`UNTRACKED_BYTES`.
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
        untracked_bytes=UNTRACKED_BYTES if untracked_bytes is None else untracked_bytes,
        tmp_dir=tmp_dir,
        packed=True,
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
        untracked_bytes: untracked (not ignored) files go into a tree up to this many bytes in all, the smallest
            first, and those the baseline tree holds do not count; the rest are left out (see :attr:`left_out`), so
            that a data set lying in the work tree is not hashed into the object database at every start and end;
            ``None`` keeps everything.
        baseline_tree: files this tree holds are never left out (leaving them out would look like a deletion).
        left_out_at_start: the baseline's :attr:`left_out`: those files stay out of every tree (the session never
            had their content at start; in a tree they would look created).
        tmp_dir: where to put the private index (in a directory of its own); default the system's temp dir.
        packed: write the blobs a snapshot stores into a pack (:data:`_PACKED`), for the first snapshot of a work
            tree, which stores all of it; later ones find most blobs stored already, which a pack would compress
            again before it finds them there.

    Not thread-safe: one snapshot at a time. :meth:`close` removes the private index.
    """

    def __init__(
        self,
        repo: GitRepo,
        index_file: str | os.PathLike[str] | None,
        exclude: Sequence[str] = (),
        *,
        untracked_bytes: int | None = None,
        baseline_tree: str | None = None,
        left_out_at_start: Mapping[str, tuple[int, int]] | None = None,
        tmp_dir: str | os.PathLike[str] | None = None,
        packed: bool = False,
    ) -> None:
        self._repo = repo
        self._packed = _PACKED if packed else ()
        self._root = repo.root
        self._real_index = None if index_file is None else os.fspath(index_file)
        self._exclude = list(exclude)
        self._budget = untracked_bytes
        self._baseline_tree = baseline_tree
        self._at_start = left_out_at_start or {}
        #: Untracked files that the last snapshot left out: path -> (size, mtime in ns).
        self.left_out: dict[str, tuple[int, int]] = {}
        #: Untracked files of the baseline tree that grew past the budget, which the last snapshot kept as the
        #: baseline has them: path -> (size, mtime in ns).
        self.frozen: dict[str, tuple[int, int]] = {}
        self._dir = _private_dir(None if tmp_dir is None else os.fspath(tmp_dir))
        self._index = os.path.join(self._dir, "index")
        self._seeded = False
        #: What :meth:`_stage_by_directory` staged into the private index, as it was: path -> its stat key.
        self._staged: dict[str, tuple[int, ...]] = {}

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
        self.left_out, whole, frozen = self._left_out_untracked(env)
        self.frozen = {path: (size, mtime) for path, (size, mtime, _) in frozen.items()}
        if self.left_out:  # drop what an earlier snapshot staged of them (one path at a time: no pathspec matching)
            _git(
                ["update-index", "-z", "--force-remove", "--stdin"],
                cwd=self._root,
                env=env,
                input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in self.left_out),
                check=False,
            )
        if frozen:  # as the baseline has them (the private index was copied from the user's, without them)
            _git(
                ["update-index", "-z", "--index-info"],
                cwd=self._root,
                env=env,
                input=b"".join(
                    entry + b"\t" + p.encode("utf-8", "surrogateescape") + b"\0" for p, (*_, entry) in frozen.items()
                ),
                check=False,
            )
        in_whole = set(whole)
        one_by_one = [p for p in self.left_out if not any(d in in_whole for d in _parents(p))] + list(self.frozen)
        scope = ["."]  # what `git add -A` stages: everything, or what is in a directory (no top-level file)
        staged: dict[str, tuple[int, ...]] = {}  # what update-index staged, for the next snapshot
        if len(one_by_one) > _BY_DIRECTORY:
            one_by_one, dirs = self._stage_by_directory(env, one_by_one, whole, staged)
            whole += dirs
        top_level = len(one_by_one) > _BY_DIRECTORY and not any("/" in rel for rel in one_by_one)
        if top_level and self._stage_top_level(env, whole, staged):
            one_by_one, scope = [], [".", ":(exclude,glob)*"]
        self._staged = staged  # (what `git add -A` stages this time is not in it: it is given again next time)
        specs, stdin = pathspec_args([*scope, *excludes([*self._exclude, *whole, *one_by_one])])
        args = [*self._packed, "-c", "core.untrackedCache=true", "add", "-A", "--ignore-errors", *specs]
        added = _git(args, cwd=self._root, env=env, input=stdin, check=False)
        if added.returncode not in (0, 1):
            raise RecordingError(
                f"cannot snapshot the working tree of {self._root}: "
                f"{added.stderr.decode(errors='replace').strip()}; check the repository with `git status`"
            )
        embedded = _embedded(added.stderr)
        try:
            if embedded:
                lit = dict(env, GIT_LITERAL_PATHSPECS="1")
                _git(["rm", "--cached", "-r", "-q", "--ignore-unmatch", "--", *embedded], cwd=self._root, env=lit)
            return _git(["write-tree"], cwd=self._root, env=env).stdout.decode().strip()
        except CommandFailed as e:
            raise RecordingError(
                f"cannot snapshot the working tree of {self._root} ({e}); check it with `git status`"
            ) from e

    def _stage_by_directory(
        self, env: dict[str, str], one_by_one: list[str], whole: list[str], staged: dict[str, tuple[int, ...]]
    ) -> tuple[list[str], list[str]]:
        """Stage the directories that hold the files of ``one_by_one`` (left out of ``git add -A``) but for those
        files, with ``git update-index`` of each of their other paths (:meth:`_update_index`), so that ``git add
        -A`` can leave each directory out with one pathspec. Returns ``(the files still to leave out one by one:
        those at the top level, or all of them when staging failed, the directories staged)``.

        Why: ``git add -A`` matches every path against every exclude pathspec, so thousands of files left out one
        by one cost time in their number squared (40,000 files beside a tracked ``.gitkeep``, 31,808 of them
        left out: 11.7 s a snapshot, three snapshots a recording). ``update-index`` takes paths, not pathspecs.
        """
        parents = {rel.rpartition("/")[0] + "/" for rel in one_by_one if "/" in rel}
        dirs = sorted(d for d in parents if not any(p in parents for p in _parents(d[:-1])))
        if not dirs:
            return one_by_one, []
        # (few pathspecs: matched in linear time; "dir", not "dir/": git 2.39 lists nothing for ":(literal)dir/"
        # beside ":(exclude).#*")
        if not self._update_index(env, [f":(literal){d[:-1]}" for d in dirs], whole, staged):
            return one_by_one, []  # (a path changed under it): each file by its own pathspec, slowly but surely
        return [rel for rel in one_by_one if "/" not in rel], dirs

    def _stage_top_level(self, env: dict[str, str], whole: list[str], staged: dict[str, tuple[int, ...]]) -> bool:
        """Stage every file at the top level of the work tree but those left out, with ``git update-index``
        (:meth:`_update_index`), so that ``git add -A`` can stage only what is in a directory (``:(exclude,glob)*``)
        instead of leaving out thousands of top-level files one pathspec each (20,000 log files at the top level,
        6,964 of them left out: 1.2–1.5 s a snapshot). False when staging failed."""
        return self._update_index(env, [":(glob)*"], whole, staged)

    def _update_index(
        self, env: dict[str, str], where: list[str], whole: list[str], staged: dict[str, tuple[int, ...]]
    ) -> bool:
        """Stage with ``git update-index`` the paths ``where`` (pathspecs) holds, as they are now (gone ones
        removed): those tracked for the user, those an earlier snapshot staged, those untracked now; but nothing
        left out (:attr:`left_out`, :attr:`frozen`, what is in a directory of ``whole``) and nothing excluded.

        ``update-index --add`` hashes every file it is given, so a file staged by an earlier snapshot and not
        changed since (its size, times, inode and mode; its times older than :data:`_RACY_NS` before that
        snapshot, as git's "racy" entries are) is not given again. What it stages goes into ``staged`` (for the
        next snapshot). Returns whether git took it all.
        """
        specs = [*where, *excludes(self._exclude)]
        listed = (
            _git(["ls-files", "-z", "--", *specs], cwd=self._root, env=index, check=False).stdout
            for index in (git_env(), env)  # tracked for the user, and staged by an earlier snapshot
        )
        paths = {raw.decode("utf-8", "surrogateescape") for stdout in listed for raw in stdout.split(b"\0") if raw}
        paths.update(self._others("--", *specs))  # untracked now
        out = {*self.left_out, *self.frozen}
        whole_dirs = set(whole)
        stage = []
        settled = time.time_ns() - _RACY_NS  # changed before this: a later change shows in its times
        for rel in sorted(paths - out):
            if rel.endswith("/") or any(d in whole_dirs for d in _parents(rel)):  # (a repository: see _embedded)
                continue
            try:
                st = os.lstat(os.path.join(self._root, rel))
            except OSError:
                st = None  # gone: --remove takes it out of the index
            if st is not None:
                if stat.S_ISDIR(st.st_mode):
                    continue  # a file become a directory: its files are listed themselves
                key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
                if self._staged.get(rel) == key:
                    staged[rel] = key
                    continue
                if st.st_mtime_ns < settled and st.st_ctime_ns < settled:
                    staged[rel] = key
            stage.append(rel.encode("utf-8", "surrogateescape") + b"\0")
        options = ["-z", "--add", "--remove", "--replace", "--ignore-skip-worktree-entries", "--stdin"]
        done = _git(
            [*self._packed, "update-index", *options],
            cwd=self._root,
            env=env,
            input=b"".join(stage),
            check=False,
        )
        if done.returncode != 0:
            staged.clear()  # (what it did stage is unknown: all of it is given again next time)
            self._staged = {}
            return False
        return True

    def _left_out_untracked(
        self, env: dict[str, str]
    ) -> tuple[dict[str, tuple[int, int]], list[str], dict[str, tuple[int, int, bytes]]]:
        """The untracked, not ignored files to leave out of the tree, the directories they fill, and the files of
        the baseline tree to keep as the baseline has them.

        Untracked files are kept by the entries ``git status`` lists them in (a file, or a directory holding no
        tracked file, whole), the smallest entries first, up to the budget of bytes. The files left out at start
        are always left out, and so is what is new in a directory that held some of those. An untracked file of the
        baseline tree that grew (a log written through the session) competes for the budget at its new size, and
        when it does not fit it keeps its baseline content in the tree (*frozen*), where leaving it out would look
        like a deletion.

        Returns:
            ``(left_out, dirs, frozen)``: path -> (size, mtime in ns) of each file left out; the entries (``dir/``)
            whose files are all left out, none of them in the baseline tree (one pathspec leaves each out); and
            path -> (size, mtime in ns, its baseline tree entry ``<mode> <id>``) of each file frozen.
        """
        if self._budget is None:
            return {}, [], {}
        # untracked for the user: listed against their own index, not the private one (an earlier snapshot may
        # have staged a file there)
        found = self._stat(self._others())
        at_start = {rel: found.pop(rel) for rel in self._at_start if rel in found}
        if not at_start and sum(size for size, _ in found.values()) <= self._budget:
            return {}, [], {}
        in_tree: dict[str, tuple[bytes, int]] = {}  # path -> its baseline entry (``<mode> <id>``), blob size
        if self._baseline_tree is not None:
            listed = _git(
                ["ls-tree", "-r", "-z", "-l", "--full-tree", self._baseline_tree],
                cwd=self._root,
                env=env,
                check=False,
            ).stdout
            for entry in filter(None, listed.split(b"\0")):
                meta, _, name = entry.partition(b"\t")
                parts = meta.split()  # <mode> <type> <id> <size, or "-">
                if len(parts) != 4:
                    continue
                mode, _, oid, blob_size = parts
                size = int(blob_size) if blob_size.isdigit() else -1
                in_tree[name.decode("utf-8", "surrogateescape")] = (mode + b" " + oid, size)
        grown: dict[str, tuple[int, int]] = {}  # in the baseline, and larger now (as it was or smaller: kept)
        for rel in [r for r in found if r in in_tree]:
            stat_key = found.pop(rel)
            if stat_key[0] > in_tree[rel][1]:
                grown[rel] = stat_key
        dirs = set(self._others("--directory", "--no-empty-directory"))
        # a directory holding files of the baseline tree is never left out whole (its files would keep their
        # baseline content in every tree, whatever happens to them): only its other files, one by one
        holding = {d for rel in in_tree for d in _parents(rel) if d in dirs} if dirs else set()
        units: dict[str, list[str]] = {rel: [rel] for rel in grown}
        for rel in [*found, *at_start]:
            unit = next((d for d in _parents(rel) if d in dirs), rel)
            units.setdefault(unit, []).append(rel)
        sizes = {**found, **grown}
        weighed = sorted((sum(sizes[r][0] for r in rels if r in sizes), unit, rels) for unit, rels in units.items())
        room = self._budget
        left_out = dict(at_start)
        whole: list[str] = []
        frozen: dict[str, tuple[int, int, bytes]] = {}
        for size, unit, rels in weighed:
            if size <= room and not any(r in at_start for r in rels):
                room -= size
            elif unit in grown:
                frozen[unit] = (*grown[unit], in_tree[unit][0])
            else:
                left_out.update((r, found[r]) for r in rels if r in found)
                if unit.endswith("/") and unit not in holding:
                    whole.append(unit)
        return left_out, whole, frozen

    def _others(self, *options: str) -> list[str]:
        """``git ls-files --others --exclude-standard OPTIONS``: the untracked, not ignored paths of the work tree
        for the user's own index (``--directory``: a directory holding no tracked file as one ``dir/`` entry); none
        when git fails."""
        args = ["-c", "core.untrackedCache=true", "ls-files", "-z", "--others", "--exclude-standard", *options]
        listed = _git(args, cwd=self._root, env=git_env(), check=False)
        if listed.returncode != 0:
            return []
        return [raw.decode("utf-8", "surrogateescape") for raw in listed.stdout.split(b"\0") if raw]

    def _stat(self, rels: list[str]) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime in ns) of the files among ``rels`` (a ``dir/`` that git lists is a repository of its
        own, never in a tree: see :func:`_embedded`; a file gone meanwhile is passed over)."""
        found: dict[str, tuple[int, int]] = {}
        for rel in rels:
            if rel.endswith("/"):
                continue
            try:
                st = os.lstat(os.path.join(self._root, rel))
            except OSError:
                continue
            found[rel] = (st.st_size, st.st_mtime_ns)
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


def _parents(rel: str) -> list[str]:
    """The directories above the workspace-relative path ``rel``, outermost first, each with its ``/``
    (``a/b/c`` -> ``a/``, ``a/b/``)."""
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


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
