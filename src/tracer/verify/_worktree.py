"""The temporary git worktree the tests run in, and putting the session's patches and files into it.

The worktree is a ``git worktree add --detach`` of the start commit in a temporary directory outside the
repository. It has its own HEAD and index: nothing here reads or writes the user's working tree, index or
stash (``git stash`` is shared by all worktrees, so it is never used). git hooks are switched off for every
call (``core.hooksPath=/dev/null``), so a ``post-checkout`` hook of the project does not run. The worktree is
removed with ``git worktree remove --force`` and ``git worktree prune`` whatever happens.

Patches follow git's diff format (``git diff --binary``) and apply with ``git apply``, falling back to
``git apply --3way`` (a merge with the blobs the patch names, found in the repository) and then to
GNU ``patch -p1 --forward --fuzz=3``. A patch is hostile input: one that names a path git itself refuses (a
``.git`` component, in any of the spellings git's ``verify_path`` knows, or ``..``) is refused before anything is
applied, because GNU ``patch`` would write it (a ``sub/.git/config`` makes a nested repository whose
``core.fsmonitor`` runs a command when git runs there).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from tracer._proc import CommandFailed, git, git_env, run
from tracer.gitpaths import unsafe_paths
from tracer.verify.errors import (
    BaselineDoesNotApply,
    CommitNotFound,
    CopyNotFound,
    NotAGitRepository,
    PatchDoesNotApply,
    RepoNotFound,
    WorktreeError,
)

_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
_FUZZ = 3


def toplevel(repo: Path) -> Path:
    """The top directory of the git work tree holding ``repo``.

    Raises:
        RepoNotFound: ``repo`` does not exist or is not a directory.
        NotAGitRepository: ``repo`` is not inside a git work tree.
    """
    if not repo.is_dir():
        raise RepoNotFound(
            f"repository {repo} does not exist (the session was recorded there); pass the directory it was moved to"
        )
    try:
        out = git("rev-parse", "--show-toplevel", cwd=repo)
    except CommandFailed as e:
        raise NotAGitRepository(
            f"{repo} is not a git repository ({_detail(e)}); verify needs the repository the session was recorded in"
        ) from e
    return Path(out.decode().strip())


#: An object id as git writes it (SHA-1 or SHA-256, in full or abbreviated): what a session's start commit is.
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{4,64}")


def resolve_commit(repo: Path, commit: str) -> str:
    """The full hash of ``commit`` (an object id, as a session's header gives it) in ``repo``.

    Raises:
        CommitNotFound: ``repo`` has no such commit, or ``commit`` is not an object id (a damaged or crafted header:
            it is never given to git, where it could read as an option or a revision expression).
    """
    if not _OBJECT_ID.fullmatch(commit):
        raise CommitNotFound(
            f"the session's start commit {commit[:80]!r} is not a commit id (the session file is damaged or was "
            "edited); verify cannot check its patch out"
        )
    out = git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=repo, check=False)
    full = out.decode().strip()
    if not full:
        raise CommitNotFound(
            f"commit {commit[:12]} is not in the repository {repo} (the session was recorded in another "
            "clone, or history was rewritten); fetch it, or verify in the clone it was recorded in"
        )
    return full


@contextlib.contextmanager
def worktree(repo: Path, commit: str, path: Path, *, progress: Callable[[str], None]) -> Iterator[Path]:
    """A detached worktree of ``commit`` at ``path`` (which must not exist), removed on leaving.

    Yields:
        ``path``, holding the files of ``commit``.

    Raises:
        WorktreeError: git cannot create it.
    """
    progress(f"creating worktree at {commit[:7]}")
    try:
        try:
            git(*_NO_HOOKS, "worktree", "add", "--detach", "--quiet", str(path), commit, cwd=repo)
        except CommandFailed as e:
            raise WorktreeError(
                f"cannot create a worktree of {commit[:7]} at {path} ({_detail(e)}); "
                "check `git worktree list` and the free space of the temporary directory"
            ) from e
        yield path
    finally:
        progress("removing worktree")
        remove_worktree(repo, path)


@contextlib.contextmanager
def empty_start(path: Path, *, progress: Callable[[str], None]) -> Iterator[tuple[Path, str]]:
    """A new repository at ``path`` (which must not exist) with one empty commit, removed on leaving: where a
    session recorded in a repository without a commit yet is checked out (its start state, all of it in the
    baseline patch, is applied on top as for any session).

    Yields:
        ``(path, the commit's hash)``.

    Raises:
        WorktreeError: git cannot create it.
    """
    progress("creating an empty repository (the session's repository had no commit yet)")
    try:
        try:
            git("init", "--quiet", str(path), cwd=path.parent)
            identity = ("-c", "user.name=tracer", "-c", "user.email=tracer@localhost")
            git(*_NO_HOOKS, *identity, "commit", "--quiet", "--allow-empty", "-m", "the empty start", cwd=path)
            commit = git("rev-parse", "HEAD", cwd=path).decode().strip()
        except CommandFailed as e:
            raise WorktreeError(
                f"cannot create a repository at {path} ({_detail(e)}); check the free space of the temporary directory"
            ) from e
        yield path, commit
    finally:
        progress("removing the repository")
        _rmtree(path)


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove the worktree at ``path`` and git's record of it; never raises, even for a worktree gone already.

    The directory is deleted first (read-only directories that tests left are made writable), then
    ``git worktree prune`` drops git's record; ``git worktree remove --force --force`` is the fallback when
    the directory could not be deleted. This is what ``git worktree remove --force`` does, without its checks.
    """
    _rmtree(path)
    if path.exists():
        git(*_NO_HOOKS, "worktree", "remove", "--force", "--force", str(path), cwd=repo, check=False)
    git("worktree", "prune", cwd=repo, check=False)


def _rmtree(path: Path) -> None:
    def retry(function: Callable[..., object], name: str, _: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)

    if not (path.exists() or path.is_symlink()):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


#: Bytes that must be free on /dev/shm, at least, before worktrees are made there.
SHM_MIN_FREE = 2 << 30


def scratch_parent(repo: Path, commit: str) -> Path | None:
    """Where to make the temporary directory for worktrees.

    ``TMPDIR`` when it is set to a directory. Else ``/dev/shm`` when it is a tmpfs mounted without ``noexec``
    (test binaries run there) with at least :data:`SHM_MIN_FREE` bytes and eight times the checkout's size
    free: checking out thousands of files costs seconds on a disk and a fraction of that in memory. Else
    ``None``, the system's default temporary directory.
    """
    chosen = os.environ.get("TMPDIR")
    if chosen and Path(chosen).is_dir():
        return Path(chosen)  # read here: tempfile keeps the first value it saw
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
        return None
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
        free = os.statvfs(shm)
    except OSError:
        return None
    fields = next((m.split() for m in mounts if m.split()[1:2] == [str(shm)]), None)
    if fields is None or len(fields) < 4 or fields[2] != "tmpfs" or "noexec" in fields[3].split(","):
        return None
    available = free.f_bavail * free.f_frsize
    if available < SHM_MIN_FREE:
        return None
    listing = git("ls-tree", "-r", "-l", "--full-tree", commit, cwd=repo, check=False)
    size = 0
    for line in listing.split(b"\n"):
        meta = line.split(b"\t", 1)[0].split()
        if len(meta) == 4 and meta[3].isdigit():
            size += int(meta[3])
    return shm if available >= 8 * size else None


def apply_baseline(worktree: Path, patch: str, *, commit: str) -> None:
    """Apply the session's baseline patch (uncommitted changes at start) to the worktree and its index.

    The index is updated too (``git apply --index``) so that a later ``git apply --3way`` of the final patch
    sees the baseline as the current state.

    Raises:
        BaselineDoesNotApply: ``git apply --index`` refuses it.
    """
    if not patch.strip():
        return
    try:
        _git_apply(worktree, patch, "--index")
    except CommandFailed as e:
        raise BaselineDoesNotApply(
            f"the uncommitted changes recorded at the session's start do not apply to commit {commit[:7]} "
            f"({_detail(e)}); the session file may be damaged, or the start commit was rewritten"
        ) from e


def apply_final(worktree: Path, patch: str, *, baseline: str, commit: str, progress: Callable[[str], None]) -> str:
    """Apply the final patch, trying ``git apply``, ``git apply --3way`` and ``patch --fuzz=3`` in turn.

    After a failed ``--3way`` (which can leave conflict markers) the worktree is reset to the commit and
    the baseline applied again before ``patch`` is tried (first with ``--dry-run``, so it never half-applies).

    Returns:
        the method that worked: ``"git apply"``, ``"git apply --3way"``, ``"patch"``, or ``"empty"`` when the
        patch holds nothing.

    Raises:
        PatchDoesNotApply: no method applies it; the message names the files and hunks that failed.
    """
    if not patch.strip():
        return "empty"
    refuse_unsafe_paths(patch)
    failures: list[str] = []
    progress("applying patch (git apply)")
    try:
        _git_apply(worktree, patch)
        return "git apply"
    except CommandFailed as e:
        first = e
    progress("applying patch (git apply --3way)")
    try:
        _git_apply(worktree, patch, "--3way")
        return "git apply --3way"
    except CommandFailed as e:
        failures.append(_detail(e))
    git("reset", "--quiet", "--hard", cwd=worktree, check=False)
    git("clean", "-fdq", cwd=worktree, check=False)
    apply_baseline(worktree, baseline, commit=commit)
    patch_failure = ""
    if shutil.which("patch"):
        progress(f"applying patch (patch --fuzz={_FUZZ})")
        argv = [
            "patch",
            "-p1",
            "--forward",
            f"--fuzz={_FUZZ}",
            "--batch",
            "--no-backup-if-mismatch",
            "-r",
            "-",
        ]
        data = patch.encode("utf-8", "surrogateescape")
        dry = run([*argv, "--dry-run"], cwd=worktree, input=data, check=False)
        done = run(argv, cwd=worktree, input=data, check=False) if dry.returncode == 0 else dry
        if done.returncode == 0:
            return "patch"
        # a dry run can pass where the real one fails: a file below a symbolic link the patch itself makes
        patch_failure = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        tried = f"git apply, git apply --3way and patch --fuzz={_FUZZ}"
    else:
        tried = "git apply and git apply --3way (patch is not installed)"
    where = describe_failure(patch, first.stderr.decode(errors="replace"), patch_failure)
    raise PatchDoesNotApply(
        f"the final patch does not apply to commit {commit[:7]}"
        + (" with the session's starting changes" if baseline.strip() else "")
        + f": {where}; tried {tried}. The files were probably changed outside the recorded session: check "
        "the start commit, or apply the patch by hand (`tracer export S --format patch`)"
    )


def _git_apply(worktree: Path, patch: str, *options: str) -> None:
    run(
        ["git", *_NO_HOOKS, "apply", "--whitespace=nowarn", *options, "-"],
        cwd=worktree,
        input=patch.encode("utf-8", "surrogateescape"),
        env=git_env(),
    )


def refuse_unsafe_paths(patch: str, *, session: str = "S") -> None:
    """Raise when the final patch ``patch`` names a path git refuses (:func:`unsafe_paths`): nothing is applied.

    Args:
        session: how the message names the session file (in the ``tracer export`` it suggests).

    Raises:
        PatchDoesNotApply: the message names the paths and says why the patch is not applied.
    """
    bad = unsafe_paths(patch)
    if bad:
        shown = ", ".join(repr(p) for p in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise PatchDoesNotApply(
            f"the final patch writes to {shown}: inside a .git directory or outside the worktree, which git refuses "
            "and tracer will not apply (such a file can make git run a command). The session was altered or "
            f"crafted: do not verify it; read its patch with `tracer export {session} --format patch`"
        )


_GIT_HUNK = re.compile(r"^error: patch failed: (.+):(\d+)$")
_GIT_FILE = re.compile(r"^error: (.+?): (.+)$")
_PATCH_FILE = re.compile(r"^(?:checking|patching) file (.+)$")
_PATCH_HUNK = re.compile(r"^Hunk #(\d+) FAILED at (\d+)")
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def describe_failure(patch: str, git_stderr: str, patch_output: str = "") -> str:
    """Which files and hunks of ``patch`` failed, from ``git apply`` errors and ``patch --dry-run`` output.

    Returns:
        e.g. ``"src/app.py hunk #2 (@@ -10,7 +10,8 @@) does not match; docs/x.md does not exist"``.
    """
    hunks = _hunk_headers(patch)
    problems: dict[str, list[str]] = {}
    for line in git_stderr.splitlines():
        m = _GIT_HUNK.match(line.strip())
        if m:
            path, start = m.group(1), int(m.group(2))
            headers = hunks.get(path, [])
            number = next((i for i, (s, _) in enumerate(headers, 1) if s == start), None)
            what = f"hunk #{number} ({headers[number - 1][1]})" if number else f"hunk at line {start}"
            problems.setdefault(path, []).append(f"{what} does not match")
            continue
        m = _GIT_FILE.match(line.strip())
        if m and not m.group(2).startswith("patch does not apply"):
            reason = m.group(2).lower()
            reason = {"no such file or directory": "does not exist"}.get(reason, reason)
            problems.setdefault(m.group(1), []).append(reason)
        elif m:
            problems.setdefault(m.group(1), [])
    if patch_output:
        current = None
        for line in patch_output.splitlines():
            m = _PATCH_FILE.match(line.strip())
            if m:
                current = m.group(1)
                continue
            m = _PATCH_HUNK.match(line.strip())
            if m and current is not None and not problems.get(current):
                number = int(m.group(1))
                headers = hunks.get(current, [])
                header = f" ({headers[number - 1][1]})" if 0 < number <= len(headers) else ""
                problems.setdefault(current, []).append(f"hunk #{number}{header} does not match")
    if not problems:
        text = (git_stderr.strip() or patch_output.strip()).splitlines()
        return text[0] if text else "git apply gave no reason"
    return "; ".join(
        f"{path} {', '.join(what)}" if what else f"{path} does not match" for path, what in problems.items()
    )


def _hunk_headers(patch: str) -> dict[str, list[tuple[int, str]]]:
    """Path → the (old start line, ``@@ … @@``) of each of its hunks, in order."""
    out: dict[str, list[tuple[int, str]]] = {}
    path: str | None = None
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            path = None
        elif line.startswith("--- ") and line[4:].startswith("a/"):
            path = line[6:].rstrip("\t")
        elif line.startswith("+++ ") and (path is None or line[4:].startswith("b/")):
            if line[4:].startswith("b/"):
                path = line[6:].rstrip("\t")
        elif path is not None:
            m = _HUNK_HEADER.match(line)
            if m:
                out.setdefault(path, []).append((int(m.group(1)), line[: line.index("@@", 2) + 2]))
    return out


def copy_into(repo: Path, worktree: Path, paths: Sequence[str], *, progress: Callable[[str], None]) -> None:
    """Copy files or directories ``paths`` (relative to ``repo``) to the same places in ``worktree``.

    Existing files in the worktree are overwritten; symlinks are copied as symlinks.

    Raises:
        CopyNotFound: a path does not exist, is absolute, or leads outside ``repo``.
    """
    for rel in paths:
        parts = PurePosixPath(rel).parts
        if not rel or PurePosixPath(rel).is_absolute() or ".." in parts:
            raise CopyNotFound(f"cannot copy {rel!r} into the worktree: give a path inside {repo}, relative to it")
        source = repo / rel
        target = worktree / rel
        if not source.exists() and not source.is_symlink():
            raise CopyNotFound(f"cannot copy {rel} into the worktree: {source} does not exist")
        progress(f"copying {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if source.is_dir() and not source.is_symlink():
                shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            else:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                shutil.copy2(source, target, follow_symlinks=False)
        except OSError as e:
            raise CopyNotFound(f"cannot copy {rel} into the worktree: {e}") from e


def _detail(e: CommandFailed) -> str:
    text = e.stderr.decode(errors="replace").strip() or e.stdout.decode(errors="replace").strip()
    lines = [line.removeprefix("fatal: ").removeprefix("error: ") for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:5]) or f"exit status {e.status}"
