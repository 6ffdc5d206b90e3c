"""Where a recording happens: the workspace, its repository, and the uncommitted changes it starts with.

:func:`workspace_info` runs before the shell starts and is on the prompt's critical path, so it does no
full hashing: it stages the working tree into a private copy of the repository's index (whose stat data
lets git hash only files that changed, see :mod:`tracer.capture._snapshot`), writes that tree, and diffs
it against ``HEAD``. The tree it writes is the recording's **baseline**: the state every file change and
the final patch start from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from tracer._proc import CommandFailed, git_env, run
from tracer.capture._dirsnapshot import may_be_in_git
from tracer.capture._gitobjects import CatFile
from tracer.capture._snapshot import TreeSnapshots, empty_tree, tree_patch
from tracer.errors import RecordingError

#: Untracked files over this many bytes stay out of the baseline and the final patch (listed as omitted).
LARGE_UNTRACKED = 64 << 20

#: ``WorkspaceInfo.left_out`` outside git (read only).
_NOTHING_LEFT_OUT: Mapping[str, tuple[int, int]] = MappingProxyType({})

__all__ = ["WorkspaceInfo", "described", "public_url", "workspace_info"]


class WorkspaceInfo(NamedTuple):
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
        remote_url: the URL of the repository's remote (:func:`public_url` of the current branch's upstream remote,
            else of ``origin``, else of the first); ``None`` without a remote.
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
    left_out: Mapping[str, tuple[int, int]] = _NOTHING_LEFT_OUT
    remote_url: str | None = None
    baseline_omitted: tuple[str, ...] = ()


def _git(args: Sequence[str], cwd: Path) -> tuple[int, str]:
    proc = run(["git", *args], cwd=cwd, env=git_env(), check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape").strip()


def workspace_info(
    start: Path, *, exclude: Sequence[Path] = (), tmp_dir: Path | None = None, describe: bool = True
) -> WorkspaceInfo:
    """Find the workspace of ``start`` and take its baseline.

    Args:
        start: the directory the recording starts in.
        exclude: paths to keep out of the baseline (e.g. the session directory when it is inside).
        tmp_dir: a private directory for the copy of the git index (default: the system's temp dir).
        describe: also write the baseline patch and find the remote; ``False`` leaves them to
            :func:`described` (a ``tracer shell -c`` command waits for the baseline tree, not for its patch).

    Returns:
        The workspace and, in a git repository, its ``HEAD``, branch, baseline tree and baseline patch.
        A directory that is not in a git work tree (or is inside ``.git``) is a plain workspace.

    Raises:
        RecordingError: ``start`` is not a directory, or git cannot read the repository.
    """
    start = Path(start).absolute()
    if not start.is_dir():
        raise RecordingError(f"{start} is not a directory; start the recording in an existing directory")
    if not may_be_in_git(os.fspath(start)):
        return WorkspaceInfo(workspace=start)
    found = _repository(start)
    if found is None:
        return WorkspaceInfo(workspace=start)
    root, git_dir, index, head_commit, branch = found
    excluded = []
    for p in exclude:
        rel = os.path.relpath(Path(p).absolute(), root)
        if not rel.startswith(".."):
            excluded.append(rel.replace(os.sep, "/"))
    snaps = TreeSnapshots(root, index, excluded, large=LARGE_UNTRACKED, tmp_dir=tmp_dir)
    try:
        tree = snaps.snapshot()
    except CommandFailed as e:
        raise RecordingError(f"cannot read the git state of {root} ({e}); check it with `git status`") from e
    finally:
        snaps.close()
    info = WorkspaceInfo(
        workspace=root,
        repo_root=root,
        head_commit=head_commit,
        branch=branch,
        baseline_tree=tree,
        git_dir=git_dir,
        index_file=index,
        left_out=dict(snaps.left_out),
    )
    return described(info) if describe else info


def described(info: WorkspaceInfo) -> WorkspaceInfo:
    """``info`` with its baseline patch (``git diff`` from ``HEAD``'s tree to the baseline tree, whose objects
    are already in the repository) and its remote URL; ``info`` itself outside git.

    Raises:
        RecordingError: git cannot read the repository.
    """
    root, tree = info.repo_root, info.baseline_tree
    if root is None or tree is None:
        return info
    cat = CatFile(root)
    try:
        base = f"{info.head_commit}^{{tree}}" if info.head_commit else empty_tree(root)
        baseline = tree_patch(root, base, tree, cat, renames=False)
    except CommandFailed as e:
        raise RecordingError(f"cannot read the git state of {root} ({e}); check it with `git status`") from e
    finally:
        cat.close()
    return info._replace(
        baseline_patch=baseline.text,
        baseline_omitted=baseline.omitted,
        remote_url=_remote_url(root, info.branch or ""),
    )


def _repository(start: Path) -> tuple[Path, Path, Path, str | None, str | None] | None:
    """``(top level, git directory, index file, HEAD's commit, branch)`` of the work tree ``start`` is in, with
    one ``git rev-parse`` (three before an unborn ``HEAD``); ``None`` when ``start`` is not in a work tree.

    Raises:
        RecordingError: git cannot be run.
    """
    facts = ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-path", "index"]
    try:
        status, out = _git([*facts, "HEAD^{commit}", "--symbolic-full-name", "HEAD"], start)
        lines = out.splitlines()
        if status == 0 and len(lines) == 5 and lines[0]:
            head_commit: str | None = lines[3]
            ref = lines[4]
            branch = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else None
        else:  # no commit yet, or not a work tree: what can be known, one question at a time
            status, out = _git(facts, start)
            lines = out.splitlines()
            if status != 0 or len(lines) != 3 or not lines[0]:
                return None
            status, head = _git(["rev-parse", "-q", "--verify", "HEAD^{commit}"], start)
            head_commit = head if status == 0 and head else None
            status, short = _git(["symbolic-ref", "-q", "--short", "HEAD"], start)
            branch = short if status == 0 and short else None
    except CommandFailed as e:  # git missing
        raise RecordingError(f"cannot run git ({e}); install git or record outside a repository") from e
    root, git_dir, index = Path(lines[0]), Path(lines[1]), Path(lines[2])
    if not index.is_absolute():
        index = start / index
    return root, git_dir, index, head_commit or None, branch or None


def _remote_url(root: Path, branch: str) -> str | None:
    """The URL of the remote of ``branch``'s upstream, else of ``origin``, else of the first remote (by name), as
    :func:`public_url` writes it; ``None`` without a remote (or when git cannot say)."""
    status, out = _git(["config", "-z", "--get-regexp", r"^(remote\..*\.url|branch\..*\.remote)$"], root)
    if status != 0:
        return None
    urls: dict[str, str] = {}
    upstream = None
    for entry in out.split("\0"):
        key, _, value = entry.partition("\n")
        if key.startswith("remote.") and key.endswith(".url"):
            urls.setdefault(key[len("remote.") : -len(".url")], value)
        elif branch and key == f"branch.{branch}.remote":
            upstream = value
    name = next((n for n in (upstream, "origin", *sorted(urls)) if n in urls), None)
    return public_url(urls[name]) if name is not None else None


def public_url(url: str) -> str:
    """``url`` without what may be a credential: the user name, password or token of a URL (``https://TOKEN@host/``,
    ``https://user:pass@host/``) and its query and fragment (``?access_token=…``). A scp-like address
    (``git@github.com:org/repo.git``) and a local path are kept as they are: they hold no secret."""
    if "://" not in url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a port that is not a number: keep what cannot be a credential
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2].split('?')[0].split('#')[0]}"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
