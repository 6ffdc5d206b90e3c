"""Patches between the trees of a git workspace (:mod:`tracer.capture._gittree` writes them).

The snapshots themselves (trees of the working tree, written through a private index) are
:class:`tracer.capture._gittree.TreeSnapshots`; here, the trees' differences and the editor scratch files by name.

Patches between two trees are ``git diff-tree -p --binary --full-index`` output, with every section that is
not UTF-8 rewritten as a ``GIT binary patch`` so the patch is a ``str`` that ``git apply`` takes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from tracer._proc import run
from tracer.capture._dirsnapshot import MODE_GITLINK
from tracer.capture._edits_diff import file_diff
from tracer.capture._gitobjects import CatFile, FileState
from tracer.capture._gittree import GitRepo, excludes, index_env
from tracer.errors import RecordingError

#: The editor scratch files of :data:`tracer.capture._gittree.SCRATCH_PATHSPECS` by base name, for the file observer.
SCRATCH_NAME = re.compile(r"(?s:.*\.sw[a-px]|.*~|4913|\.#.*|#.*#)\Z")


def empty_tree(repo_root: Path) -> str:
    """The id of the empty tree in this repository's hash function (computed, not written)."""
    return (
        run(["git", "hash-object", "-t", "tree", "--stdin"], cwd=repo_root, input=b"", env=index_env())
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


def raw_changes(repo: GitRepo, a: str, b: str, *, renames: bool, pathspecs: Sequence[str] = ()) -> list[RawChange]:
    """The changed entries between trees ``a`` and ``b`` of ``repo`` (recursive; renames paired when asked).

    Raises:
        CommandFailed: git failed (e.g. a tree id is unknown).
    """
    argv = ["git", "diff-tree", "-r", "-z", "--raw", "--full-index", "--no-ext-diff"]
    argv += ["-M"] if renames else ["--no-renames"]
    out = run([*argv, a, b, "--", *pathspecs], cwd=repo.root, env=repo.env()).stdout
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


def _sizes(repo: GitRepo, ids: Sequence[str]) -> dict[str, int]:
    if not ids:
        return {}
    out = run(
        ["git", "cat-file", "--batch-check"],
        cwd=repo.root,
        env=repo.env(),
        input="".join(i + "\n" for i in ids).encode(),
    ).stdout
    sizes = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes


#: Files whose content is over this many bytes are left out of the final patch and of the changes present at start
#: (and listed as omitted).
FILE_BYTES = 64 << 20
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
    cat: CatFile,
    a: str,
    b: str,
    *,
    renames: bool,
    file_limit: int | None = None,
    exclude: Sequence[str] = (),
    total_limit: int | None = None,
    secret: Callable[[bytes], str | None] | None = None,
) -> TreePatch:
    """``git diff --binary`` from tree ``a`` to tree ``b`` of ``cat``'s repository, as text ``git apply`` takes (the
    objects read where ``cat`` reads them: the recording's object directory first).

    Gitlinks (submodules, nested repositories), editor scratch files and the ``exclude`` paths (with
    everything below them) are left out. Files whose new content is over ``file_limit`` bytes are left out
    and listed in ``omitted``, and so are the files whose sections would take the patch over ``total_limit``
    bytes (default :data:`PATCH_BYTES`), in the order git lists them. With ``secret`` (record-time redaction: the
    id of a rule that finds a secret in a file's content, else ``None``), a binary file whose old or new content
    holds a secret is left out too: its binary patch is its content deflated, where redaction cannot mask it.

    Raises:
        CommandFailed: git failed.
    """
    repo = cat.repo
    first = raw_changes(repo, a, b, renames=False, pathspecs=[".", *excludes(exclude)] if exclude else ())
    skip: list[str] = []
    omitted: list[str] = []
    sizes = {}
    if file_limit is not None:
        sizes = _sizes(repo, [c.new_id for c in first if c.new_mode not in ("000000", MODE_GITLINK)])
    for c in first:
        if MODE_GITLINK in (c.old_mode, c.new_mode):
            skip.append(c.new_path)
        elif file_limit is not None and sizes.get(c.new_id, 0) > file_limit:
            skip.append(c.new_path)
            omitted.append(f"{c.new_path}: {sizes[c.new_id]} bytes, over the {file_limit}-byte limit")
    specs = [f":(exclude,literal){p}" for p in skip]
    if skip or exclude:
        specs = [".", *excludes(exclude), *specs]
    changes = first if not skip and not renames else raw_changes(repo, a, b, renames=renames, pathspecs=specs)
    if not changes:
        return TreePatch("", (), tuple(omitted))
    argv = ["git", "-c", "core.quotepath=true", "diff-tree", "-r", "-p", "--binary", "--full-index"]
    argv += ["--no-ext-diff", "--no-textconv", "-M" if renames else "--no-renames", a, b, "--", *specs]
    out = run(argv, cwd=repo.root, env=repo.env()).stdout
    whole, spans = _patch_text(out, changes, cat)
    del out  # (the patch is held once as text from here on: a start state may be hundreds of MB)
    budget = PATCH_BYTES if total_limit is None else total_limit
    kept: list[tuple[int, int]] = []
    files: list[str] = []
    for c, (start, end, size) in zip(changes, spans, strict=True):
        binary = secret is not None and whole.find("\nGIT binary patch\n", start, end) >= 0  # (else not looked for)
        found = _binary_secret(cat, c, secret) if binary and secret is not None else None
        if found is not None:
            omitted.append(f"{c.new_path}: a binary file holding a secret ({found}), left out")
            continue
        if size > budget:
            omitted.append(f"{c.new_path}: its part of the patch would take it over {_limit_words(total_limit)}")
            continue
        budget -= size
        kept.append((start, end))
        if c.status == "R":
            files.append(c.old_path)
        files.append(c.new_path)
    text = whole if len(kept) == len(spans) else "".join(whole[start:end] for start, end in kept)
    return TreePatch(text, tuple(files), tuple(omitted))


def _patch_text(out: bytes, changes: list[RawChange], cat: CatFile) -> tuple[str, list[tuple[int, int, int]]]:
    """``git diff-tree -p`` output ``out`` for ``changes`` as one text, and where each change's part of it is:
    ``(start, end, size in bytes)``. The output decoded once when it is UTF-8 and has a section per change (two
    for a type change), as it nearly always has; else each section decoded alone, and those that are not UTF-8
    (a file's content in another encoding) written by :func:`file_diff` (which escapes such bytes)."""
    parts = []  # each change's sections: (index of its first, index after its last)
    k = 0
    for c in changes:
        n = 2 if c.status == "T" else 1
        parts.append((k, k + n))
        k += n
    starts = _section_starts(out)
    if len(starts) == k:
        bounds = [*starts, len(out)]
        try:
            whole = out.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            chars = [*(m.start() for m in _DIFF_HEADER.finditer(whole)), len(whole)]  # (the header is ASCII)
            if len(chars) == len(bounds):
                return whole, [(chars[a], chars[b], bounds[b] - bounds[a]) for a, b in parts]
        texts = []
        for c, (a, b) in zip(changes, parts, strict=True):
            try:
                texts.append(out[bounds[a] : bounds[b]].decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(_own_section(c, cat))
    else:  # unexpected shape: write every section ourselves
        texts = [_own_section(c, cat) for c in changes]
    spans = []
    at = 0
    for section in texts:
        size = len(section) if section.isascii() else len(section.encode("utf-8", "surrogatepass"))
        spans.append((at, at + len(section), size))
        at += len(section)
    return "".join(texts), spans


def _binary_secret(cat: CatFile, c: RawChange, secret: Callable[[bytes], str | None]) -> str | None:
    """What ``secret`` finds in the old or the new content of ``c`` (a binary file: its patch is its content
    deflated)."""
    for oid in (c.old_id, c.new_id):
        if oid.strip("0"):
            got = cat.read(oid, FILE_BYTES)
            if got is not None and got[2] is not None:
                found = secret(got[2])
                if found is not None:
                    return found
    return None


def _limit_words(total_limit: int | None) -> str:
    """The patch limit in words: ``"the 256 MiB limit"``."""
    limit = PATCH_BYTES if total_limit is None else total_limit
    return f"the {limit >> 20} MiB limit" if limit >= 1 << 20 else f"the {limit}-byte limit"


#: A section's first line (such a line can only be a header: every line of a hunk starts with " ", "+" or "-").
_DIFF_HEADER = re.compile(r"^diff --git ", re.M)
_DIFF_HEADER_BYTES = re.compile(rb"^diff --git ", re.M)


def _section_starts(patch: bytes) -> list[int]:
    """Where each section of a patch starts (each ``diff --git`` line)."""
    return [m.start() for m in _DIFF_HEADER_BYTES.finditer(patch)]


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
