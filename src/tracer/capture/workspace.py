"""Where a recording happens: the workspace, its repository, and the uncommitted changes it starts with.

:func:`workspace_info` runs before the shell starts and is on the prompt's critical path, so it does no
full hashing: it stages the working tree into a private copy of the repository's index (whose stat data
lets git hash only files that changed, see :mod:`tracer.capture._gittree`), writes that tree, and diffs
it against ``HEAD``. The tree it writes is the recording's **baseline**: the state every file change and
the final patch start from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from tracer._proc import CommandFailed
from tracer.capture._dirsnapshot import _plural, may_be_in_git
from tracer.capture._gitobjects import CatFile
from tracer.capture._gittree import OMITTED_LISTED, UNTRACKED_WHY, GitBaseline, GitRepo, baseline, git_text
from tracer.capture._snapshot import FILE_BYTES, empty_tree, tree_patch
from tracer.errors import RecordingError

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
        baseline_tree: id of the tree of the working tree at start (written into ``git_store``'s object
            directory, else the repository's); ``None`` outside git.
        git_dir: the repository's git directory; ``None`` outside git.
        index_file: the repository's index file (it may not exist yet); ``None`` outside git.
        left_out: untracked files kept out of the baseline, past :data:`tracer.capture._gittree.UNTRACKED_BYTES` of
            them in all (a data set in the work tree is not hashed into the object database, nor put in the
            header): path -> (size, mtime ns).
        remote_url: the URL of the repository's remote (:func:`public_url` of the current branch's upstream remote,
            else of ``origin``, else of the first); ``None`` without a remote.
        baseline_omitted: changes present at start that ``baseline_patch`` leaves out, ``"path: why"`` (a file over
            :data:`tracer.capture._snapshot.FILE_BYTES`, or the patch would be over
            :data:`tracer.capture._snapshot.PATCH_BYTES`): verify cannot rebuild the start state of those files.
        git_store: the recording's own object directory, as the environment of the git calls that read its trees
            (:func:`tracer.capture._gittree.private_store`); ``None``: the repository's object database.
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
    git_store: Mapping[str, str] | None = None

    @property
    def omitted(self) -> tuple[str, ...]:
        """What the start state leaves out, one ``"path: why"`` line each, as the header keeps it
        (:attr:`tracer.model.Header.baseline_omitted`): :attr:`baseline_omitted`, then the untracked files of
        :attr:`left_out` by their top-level entry (``data/: untracked, 200 files, 209715200 bytes; …``: what
        ``tracer verify --copy`` takes), the largest first, :data:`OMITTED_LISTED` of them, then one line for the
        rest."""
        if not self.left_out:
            return self.baseline_omitted
        entries: dict[str, list[int]] = {}  # top-level entry -> [files, bytes]
        for path, (size, _) in self.left_out.items():
            top, slash, _ = path.partition("/")
            entry = entries.setdefault(top + slash, [0, 0])
            entry[0] += 1
            entry[1] += size
        why = UNTRACKED_WHY
        ranked = sorted(entries.items(), key=lambda e: (-e[1][1], e[0]))
        lines = [
            f"{top}: untracked, {_plural(n, 'file') + ', ' if top.endswith('/') else ''}{size} bytes; {why}"
            for top, (n, size) in ranked[:OMITTED_LISTED]
        ]
        if len(ranked) > OMITTED_LISTED:
            rest = ranked[OMITTED_LISTED:]
            n, size = sum(e[1][0] for e in rest), sum(e[1][1] for e in rest)
            lines.append(f"{len(rest)} more untracked entries ({_plural(n, 'file')}, {size} bytes); {why}")
        return (*self.baseline_omitted, *lines)


def workspace_info(
    start: Path,
    *,
    exclude: Sequence[Path] = (),
    tmp_dir: Path | None = None,
    describe: bool = True,
    private: bool = False,
) -> WorkspaceInfo:
    """Find the workspace of ``start`` and take its baseline.

    Args:
        start: the directory the recording starts in.
        exclude: paths to keep out of the baseline (e.g. the session directory when it is inside).
        tmp_dir: a private directory for the copy of the git index (default: the system's temp dir).
        describe: also write the baseline patch and find the remote; ``False`` leaves them to
            :func:`described` (a ``tracer shell -c`` command waits for the baseline tree, not for its patch).
        private: write the baseline into an object directory of the recording's own (``git_store``; a recorder's,
            removed with :func:`tracer.capture._gittree.remove_store`), not into the repository's.

    Returns:
        The workspace and, in a git repository, its ``HEAD``, branch, baseline tree and baseline patch.
        A directory that is not in a git work tree (or is inside ``.git``) is a plain workspace.

    Raises:
        RecordingError: ``start`` is not a directory, or git cannot read the repository.
    """
    start = Path(start).absolute()
    if not start.is_dir():
        raise RecordingError(f"{start} is not a directory; start the recording in an existing directory")
    found = None
    if may_be_in_git(os.fspath(start)):
        found = baseline(
            os.fspath(start),
            exclude=[os.fspath(p) for p in exclude],
            tmp_dir=None if tmp_dir is None else os.fspath(tmp_dir),
            private=private,
        )
    info = from_baseline(start, found)
    return described(info) if describe else info


def from_baseline(start: Path, found: GitBaseline | None) -> WorkspaceInfo:
    """The workspace of the directory ``start``: the repository and baseline tree of ``found``
    (:func:`tracer.capture._gittree.baseline`, its patch and remote not yet written: :func:`described`), or a plain
    workspace without it."""
    if found is None:
        return WorkspaceInfo(workspace=start)
    root = Path(found.root)
    return WorkspaceInfo(
        workspace=root,
        repo_root=root,
        head_commit=found.head_commit,
        branch=found.branch,
        baseline_tree=found.tree,
        git_dir=Path(found.git_dir),
        index_file=Path(found.index_file),
        left_out=found.left_out,
        git_store=found.store,
    )


def described(info: WorkspaceInfo, *, secret: Callable[[bytes], str | None] | None = None) -> WorkspaceInfo:
    """``info`` with its baseline patch (``git diff`` from ``HEAD``'s tree to the baseline tree, whose objects
    are already written) and its remote URL; ``info`` itself outside git. ``secret``: record-time redaction's
    search of a binary file's content (:func:`tracer.capture._snapshot.tree_patch`).

    Raises:
        RecordingError: git cannot read the repository.
    """
    root, tree = info.repo_root, info.baseline_tree
    if root is None or tree is None:
        return info
    cat = CatFile(GitRepo(root, info.git_store))
    try:
        base = f"{info.head_commit}^{{tree}}" if info.head_commit else empty_tree(root)
        patch = tree_patch(cat, base, tree, renames=False, file_limit=FILE_BYTES, secret=secret)
    except CommandFailed as e:
        raise RecordingError(f"cannot read the git state of {root} ({e}); check it with `git status`") from e
    finally:
        cat.close()
    return info._replace(
        baseline_patch=patch.text,
        baseline_omitted=patch.omitted,
        remote_url=_remote_url(root, info.branch or ""),
    )


def _remote_url(root: Path, branch: str) -> str | None:
    """The URL of the remote of ``branch``'s upstream, else of ``origin``, else of the first remote (by name), as
    :func:`public_url` writes it; ``None`` without a remote (or when git cannot say)."""
    status, out = git_text(["config", "-z", "--get-regexp", r"^(remote\..*\.url|branch\..*\.remote)$"], root)
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
