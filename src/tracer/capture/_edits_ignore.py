"""Which workspace paths the file observer skips: ``.git``, ignored files, nested repositories, scratch files.

Decisions follow git: in a repository a long-running ``git check-ignore --stdin -z -v -n`` answers (so
every ``.gitignore``, ``.git/info/exclude`` and ``core.excludesFile`` rule counts, and tracked files are
never ignored); outside git the workspace's top-level ``.gitignore`` is read with pathspec's gitignore rules.
Directories are decided once and cached, so that nothing below an ignored directory (``node_modules/``,
``build/``) costs more than a few dictionary look-ups: :meth:`IgnoreRules.quick` runs on the observer's
thread and never does I/O.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer._proc import end_batch_process, git_env
from tracer.capture._dirsnapshot import ignore_lines
from tracer.capture._snapshot import SCRATCH_NAME

if TYPE_CHECKING:
    import subprocess  # (imported when the process starts: not on the way to a recording's shell)

_CHUNK = 200
_CACHE_MAX = 200_000


class IgnoreRules:
    """Skip decisions for workspace-relative, ``/``-separated paths.

    Args:
        root: the workspace root.
        git: the workspace is a git work tree (use ``git check-ignore``).
        exclude: workspace-relative paths skipped with everything below them.

    Thread-safe. :meth:`close` ends the ``git check-ignore`` process.
    """

    def __init__(self, root: Path, *, git: bool, exclude: Sequence[str] = ()) -> None:
        self._root = root
        self._git = git
        self._exclude = tuple(e.rstrip("/") for e in exclude)
        self._dirs: dict[str, bool] = {}
        self._files: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._spec: Any = None  # a pathspec.GitIgnoreSpec, when the workspace has a .gitignore
        if not git:
            self._load_spec()

    def _load_spec(self) -> None:
        lines = ignore_lines(os.fspath(self._root))
        if not lines:
            self._spec = None  # nothing to ignore (and pathspec, 30 ms of imports, is not needed)
            return
        import pathspec

        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def quick(self, rel: str) -> bool:
        """True when ``rel`` is certainly skipped, decided without I/O (``.git``, excluded, scratch names,
        below a directory already known to be skipped)."""
        parts = rel.split("/")
        if ".git" in parts or not rel or rel.startswith("../"):
            return True
        if SCRATCH_NAME.match(parts[-1]):
            return True
        for e in self._exclude:
            if rel == e or rel.startswith(e + "/"):
                return True
        dirs = self._dirs
        prefix = ""
        for part in parts[:-1]:
            prefix = f"{prefix}/{part}" if prefix else part
            if dirs.get(prefix):
                return True
        return False

    def skipped(self, rels: Iterable[str], *, dirs: Iterable[str] = ()) -> set[str]:
        """The paths among ``rels`` (files, or anything) and ``dirs`` (known directories) to skip.

        A directory is skipped when git ignores it, when it holds a ``.git`` (a nested repository or a
        submodule), or when it is below a skipped directory.
        """
        rels = list(rels)
        dir_set = set(dirs)
        with self._lock:
            out: set[str] = set()
            todo: list[str] = []
            for rel in [*rels, *dir_set]:
                if self.quick(rel):
                    out.add(rel)
                else:
                    todo.append(rel)
            if not todo:
                return out
            # Ancestor directories (and the given directories), top down; the files of one directory (a walk's)
            # share theirs, found once
            ancestors: set[str] = {d for d in todo if d in dir_set}
            for parent in {rel.rpartition("/")[0] for rel in todo} - {""}:
                parts = parent.split("/")
                ancestors.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            skipped_now = False  # a directory was found skipped: the paths below it are, too
            # A directory judged "not skipped" may have become a repository since (git init, git clone): its
            # .git can appear before the observer watches the new directory, so no event says so.
            for d in sorted(ancestors, key=lambda d: d.count("/")):
                if self._dirs.get(d) is False and os.path.lexists(os.path.join(self._root, d, ".git")):
                    self._nested(d)
                    skipped_now = True
            unknown = sorted((d for d in ancestors if d not in self._dirs), key=lambda d: d.count("/"))
            for depth_group in _by_depth(unknown):
                ask = []
                for d in depth_group:
                    below_skipped = self.quick(d + "/x")
                    if below_skipped or os.path.lexists(os.path.join(self._root, d, ".git")):
                        self._dirs[d] = True
                        skipped_now = True
                    else:
                        ask.append(d)
                for d, ignored in zip(ask, self._ask([d + "/" for d in ask]), strict=True):
                    self._dirs[d] = ignored
                    skipped_now = skipped_now or ignored
            below = {r for r in todo if self.quick(r)} if skipped_now else set()
            files = [r for r in todo if r not in dir_set and r not in below]
            unknown_files = [r for r in files if r not in self._files]
            for r, ignored in zip(unknown_files, self._ask(unknown_files), strict=True):
                self._files[r] = ignored
            for rel in todo:
                if rel in below or (rel in dir_set and self._dirs.get(rel)) or self._files.get(rel):
                    out.add(rel)
            if len(self._files) > _CACHE_MAX:
                self._files.clear()
            return out

    def _ask(self, rels: list[str]) -> list[bool]:
        if not rels:
            return []
        if not self._git:
            spec = self._spec
            return [False] * len(rels) if spec is None else [bool(spec.match_file(r)) for r in rels]
        out: list[bool] = []
        for i in range(0, len(rels), _CHUNK):
            out.extend(self._ask_git(rels[i : i + _CHUNK]))
        return out

    def _ask_git(self, rels: list[str]) -> list[bool]:
        for attempt in range(2):
            proc = self._ensure()
            if proc is None:
                return [False] * len(rels)
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(b"".join(os.fsencode(r) + b"\0" for r in rels))
                proc.stdin.flush()
                fields = _read_fields(proc.stdout.fileno(), 4 * len(rels))
            except OSError:
                fields = None
            if fields is not None:
                return [bool(fields[4 * k]) and not fields[4 * k + 2].startswith(b"!") for k in range(len(rels))]
            self._kill()
            if attempt:
                break
        return [False] * len(rels)

    def _ensure(self) -> subprocess.Popen[bytes] | None:
        if self._proc is None or self._proc.poll() is not None:
            import subprocess

            try:
                self._proc = subprocess.Popen(
                    ["git", "check-ignore", "--stdin", "-z", "-v", "-n"],
                    cwd=self._root,
                    env=git_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError:
                self._proc = None
        return self._proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            end_batch_process(proc, kill=True)

    def nested_repository(self, directory: str) -> None:
        """A ``.git`` appeared in ``directory`` (``git init``, ``git clone`` during the session): from now on
        it is a nested repository, skipped with everything below it, whatever was decided before."""
        with self._lock:
            self._nested(directory)

    def _nested(self, directory: str) -> None:
        self._dirs[directory] = True
        below = directory + "/"
        for cache in (self._dirs, self._files):
            for key in [k for k in cache if k.startswith(below)]:
                del cache[key]

    def forget(self) -> None:
        """Drop every cached decision (a ``.gitignore`` changed)."""
        with self._lock:
            self._dirs.clear()
            self._files.clear()
            if self._git:
                self._kill()  # check-ignore caches the rules it read
            else:
                self._load_spec()

    def close(self) -> None:
        """End the ``git check-ignore`` process."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                end_batch_process(proc)


def _by_depth(dirs: list[str]) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for d in dirs:
        groups.setdefault(d.count("/"), []).append(d)
    return [groups[k] for k in sorted(groups)]


def _read_fields(fd: int, count: int) -> list[bytes] | None:
    """Read ``count`` NUL-terminated fields from ``fd``; ``None`` if it closes first."""
    buf = bytearray()
    while buf.count(b"\0") < count:
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buf += chunk
    return bytes(buf).split(b"\0")[:count]
