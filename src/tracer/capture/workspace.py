"""Where a recording happens: the workspace, its repository, and the uncommitted changes it starts with.

:func:`workspace_info` runs before the shell starts and is on the prompt's critical path, so it does no
full hashing: it stages the working tree into a private copy of the repository's index (whose stat data
lets git hash only files that changed, see :mod:`tracer.capture._snapshot`), writes that tree, and diffs
it against ``HEAD``. The tree it writes is the recording's **baseline**: the state every file change and
the final patch start from.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracer._proc import CommandFailed, git_env, run
from tracer.capture._gitobjects import CatFile
from tracer.capture._snapshot import TreeSnapshots, empty_tree, tree_patch
from tracer.errors import RecordingError

#: Untracked files over this many bytes stay out of the baseline and the final patch (listed as omitted).
LARGE_UNTRACKED = 64 << 20

__all__ = ["WorkspaceInfo", "workspace_info"]


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    """The workspace of a recording and its git state at start.

    Attributes:
        workspace: the directory whose edits are recorded: the git top level, else the start directory.
        repo_root: the git top level, ``None`` outside git.
        head_commit: full id of ``HEAD``; ``None`` outside git or before the first commit.
        branch: the current branch (short name); ``None`` when detached or outside git.
        baseline_patch: the uncommitted changes present at start, tracked and untracked (not ignored)
            files alike, as ``git diff --binary`` from ``HEAD`` (from the empty tree before the first
            commit); "" when there are none. ``git apply`` of it on ``head_commit`` gives the start state.
        baseline_tree: id of the tree of the working tree at start (written into the repository's object
            database); ``None`` outside git.
        git_dir: the repository's git directory; ``None`` outside git.
        index_file: the repository's index file (it may not exist yet); ``None`` outside git.
        left_out: untracked files over :data:`LARGE_UNTRACKED` bytes kept out of the baseline (a data set in the
            work tree is not hashed into the object database, nor put in the header): path -> (size, mtime ns).
        baseline_omitted: changes present at start that ``baseline_patch`` leaves out, ``"path: why"`` (the patch
            would be over :data:`tracer.capture._snapshot.PATCH_BYTES`): verify cannot rebuild the start state
            of those files.
    """

    workspace: Path
    repo_root: Path | None = None
    head_commit: str | None = None
    branch: str | None = None
    baseline_patch: str = ""
    baseline_tree: str | None = None
    git_dir: Path | None = None
    index_file: Path | None = None
    left_out: dict[str, tuple[int, int]] = field(default_factory=dict)
    baseline_omitted: tuple[str, ...] = ()


def _git(args: Sequence[str], cwd: Path) -> tuple[int, str]:
    proc = run(["git", *args], cwd=cwd, env=git_env(), check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape").strip()


def workspace_info(start: Path, *, exclude: Sequence[Path] = (), tmp_dir: Path | None = None) -> WorkspaceInfo:
    """Find the workspace of ``start`` and take its baseline.

    Args:
        start: the directory the recording starts in.
        exclude: paths to keep out of the baseline (e.g. the session directory when it is inside).
        tmp_dir: a private directory for the copy of the git index (default: the system's temp dir).

    Returns:
        The workspace and, in a git repository, its ``HEAD``, branch, baseline tree and baseline patch.
        A directory that is not in a git work tree (or is inside ``.git``) is a plain workspace.

    Raises:
        RecordingError: ``start`` is not a directory, or git cannot read the repository.
    """
    start = Path(start).absolute()
    if not start.is_dir():
        raise RecordingError(f"{start} is not a directory; start the recording in an existing directory")
    try:
        status, out = _git(["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-path", "index"], start)
    except CommandFailed as e:  # git missing
        raise RecordingError(f"cannot run git ({e}); install git or record outside a repository") from e
    lines = out.splitlines()
    if status != 0 or len(lines) != 3 or not lines[0]:
        return WorkspaceInfo(workspace=start)
    root, git_dir, index = Path(lines[0]), Path(lines[1]), Path(lines[2])
    if not index.is_absolute():
        index = start / index
    status, head = _git(["rev-parse", "-q", "--verify", "HEAD^{commit}"], root)
    head_commit = head if status == 0 and head else None
    status, branch = _git(["symbolic-ref", "-q", "--short", "HEAD"], root)
    excluded = []
    for p in exclude:
        rel = os.path.relpath(Path(p).absolute(), root)
        if not rel.startswith(".."):
            excluded.append(rel.replace(os.sep, "/"))
    snaps = TreeSnapshots(root, index, excluded, large=LARGE_UNTRACKED, tmp_dir=tmp_dir)
    cat = CatFile(root)
    try:
        tree = snaps.snapshot()
        base = f"{head_commit}^{{tree}}" if head_commit else empty_tree(root)
        baseline = tree_patch(root, base, tree, cat, renames=False)
    except CommandFailed as e:
        raise RecordingError(f"cannot read the git state of {root} ({e}); check it with `git status`") from e
    finally:
        cat.close()
        snaps.close()
    return WorkspaceInfo(
        workspace=root,
        repo_root=root,
        head_commit=head_commit,
        branch=branch if status == 0 and branch else None,
        baseline_patch=baseline.text,
        baseline_tree=tree,
        git_dir=git_dir,
        index_file=index,
        left_out=dict(snaps.left_out),
        baseline_omitted=baseline.omitted,
    )
