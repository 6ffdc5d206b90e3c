"""The file observer: every saved change in the workspace as a ``file_change`` event, and the final patch.

A watchdog observer watches the workspace recursively. Its events only mark paths as *pending*; a worker
thread waits until a path has been quiet for ``quiet`` seconds (editors save through temp files, renames
and several writes: one save is one change), reads the file, and diffs it against the last content it
knew (:mod:`tracer.capture._edits_diff`). The first known content of a path is its **baseline**: from the
baseline tree that :func:`tracer.capture.workspace.workspace_info` wrote (``git cat-file --batch``, read
lazily), or, outside git, from a snapshot of the directory (:mod:`tracer.capture._dirsnapshot`) taken in the
background at :meth:`start`, or before it (:meth:`EditRecorder.take_snapshot`, or by the caller, before a
``tracer shell -c`` command started, and given to the recorder).
Deletions and creations seen together with the same (or nearly the same) content become renames.

Skipped: ``.git``, what git ignores, nested repositories and submodules, editor scratch files (vim swap,
backup and ``4913`` probe files, emacs locks) and the ``exclude`` paths (see
:mod:`tracer.capture._edits_ignore`).

At :meth:`EditRecorder.stop` the pending paths are processed at once and the working tree is compared
with the baseline once more (a tree snapshot, :mod:`tracer.capture._snapshot`), so edits made just before
the end, or lost by the kernel's event queue, still get their event: the per-edit diffs always chain from
the baseline to the final state. :meth:`EditRecorder.final_patch` is ``git diff --binary -M`` from the
baseline tree to that final tree.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tracer._proc import CommandFailed, run
from tracer.capture import _gittree
from tracer.capture._dirsnapshot import (
    MODE_EXEC,
    MODE_FILE,
    MODE_GITLINK,
    MODE_LINK,
    SIZE_LIMIT,
    DirSnapshot,
    inside,
    mode_of,
    take,
    walk,
)
from tracer.capture._edits_diff import file_diff
from tracer.capture._edits_ignore import IgnoreRules
from tracer.capture._gitobjects import CatFile, FileState, file_state, read_file_state
from tracer.capture._gittree import TreeSnapshots
from tracer.capture._snapshot import FILE_BYTES, fs_path, raw_changes, tree_patch
from tracer.capture.workspace import WorkspaceInfo
from tracer.errors import RecordingError, TracerError

if TYPE_CHECKING:  # (imported where events are made: the baseline of `tracer shell -c` is taken without them)
    from tracer.model import FileChange, FinalPatch

__all__ = ["EditRecorder"]


def _log() -> Any:
    """This module's logger (:mod:`logging` is imported when something goes wrong, not at start-up)."""
    import logging

    return logging.getLogger(__name__)


#: Seconds a path must be quiet before its change is read.
QUIET = 0.1
#: Seconds after which a path that never goes quiet (a growing log) is read anyway.
MAX_WAIT = 2.0
#: Files over this many bytes are left out of the final patch (and listed in ``FinalPatch.omitted``).
FINAL_FILE_LIMIT = FILE_BYTES
#: Rename detection by similarity is tried only for this many delete × create pairs in one batch.
_SIMILAR_PAIRS = 400
_SIMILAR_BYTES = 256 << 10


class _Pending:
    """A path with events not yet processed (a plain slotted class: ``dataclasses`` is not imported before a
    ``tracer shell -c`` command starts)."""

    __slots__ = ("first", "is_dir", "last", "partner", "seen", "since", "t")

    def __init__(
        self,
        first: float,
        last: float,
        t: int,
        seen: int,
        is_dir: bool = False,
        partner: str | None = None,
        since: int | None = None,
    ) -> None:
        self.first = first  # monotonic seconds of the first event in this window
        self.last = last  # monotonic seconds of the latest event
        self.t = t  # clock() at the latest event (microseconds since session start)
        self.seen = seen  # clock() at the first event: whose command it is is asked when the path is read
        self.is_dir = is_dir
        self.partner = partner  # the other end of a move: both are read in the same batch
        self.since = since  # found by comparison with the state then (clock()), not seen as it was made


class _Change(NamedTuple):
    """One path's change, ready to be written as a ``file_change`` event."""

    path: str
    old: FileState | None
    new: FileState | None
    t: int
    command: int | None
    old_path: str | None = None
    similarity: int | None = None


class EditRecorder:
    """Records each saved change of the workspace as a :class:`~tracer.model.FileChange`.

    Args:
        info: the workspace and its baseline, from :func:`~tracer.capture.workspace.workspace_info`.
        emit: called with each :class:`FileChange`, only from the recorder's own threads (it should just
            enqueue).
        clock: microseconds since the session started (the ``t`` of events).
        command_at: the id of the command an edit seen at ``t`` microseconds belongs to, ``None`` between
            commands (:meth:`tracer.capture.commands.CommandTracker.command_at`); asked when the path is read,
            after its quiet period, so that a command whose start mark came through the PTY just after the
            observer saw its write is known.
        command_since: ``(since, t)``: the command an edit found at ``t`` by comparing the work tree with its state
            at ``since`` belongs to (the edits made before the observer watched, found by comparison with the
            baseline: made some time since the start; ``CommandTracker.command_at(t, since=since)``); without it,
            ``command_at(t)``.
        exclude: paths never recorded (e.g. the session directory), with everything below them.
        size_limit: bytes; larger files get hashes and sizes only (``oversized``), no diff.
        quiet: seconds a path must be quiet before its change is read (debounce).
        final_file_limit: bytes; files over it are left out of the final patch and listed as omitted.
        tmp_dir: a private directory for the copy of the git index (default: the system's temp dir).
        snapshot: outside git, the directory's snapshot taken already (:func:`tracer.capture._dirsnapshot.take`,
            with this ``size_limit``, before a ``tracer shell -c`` command started), adopted instead of taking one.
        secret: record-time redaction's search of a binary file's content: a binary file holding a secret is left
            out of the final patch (:func:`tracer.capture._snapshot.tree_patch`); ``None``: redaction is off.

    Lifecycle: :meth:`start` once, :meth:`stop` once, then :meth:`final_patch`.
    """

    def __init__(
        self,
        info: WorkspaceInfo,
        *,
        emit: Callable[[FileChange], None],
        clock: Callable[[], int],
        command_at: Callable[[int], int | None] = lambda t: None,
        command_since: Callable[[int, int], int | None] | None = None,
        exclude: Iterable[Path] = (),
        size_limit: int = SIZE_LIMIT,
        quiet: float = QUIET,
        final_file_limit: int = FINAL_FILE_LIMIT,
        tmp_dir: Path | None = None,
        snapshot: DirSnapshot | None = None,
        secret: Callable[[bytes], str | None] | None = None,
    ) -> None:
        if snapshot is not None and snapshot.size_limit != size_limit:
            raise ValueError(f"the snapshot kept files up to {snapshot.size_limit} bytes, not {size_limit}")
        self._info = info
        self._root = Path(info.workspace)
        self._root_str = str(self._root)
        self._emit = emit
        self._clock = clock
        self._command_at = command_at
        self._command_since = command_since
        self._size_limit = size_limit
        self._quiet = quiet
        self._final_limit = final_file_limit
        self._secret = secret
        self._git = info.repo_root is not None and info.baseline_tree is not None
        excluded = inside(self._root_str, exclude)
        self._excluded = excluded
        self._rules = IgnoreRules(self._root, git=self._git, exclude=excluded)
        #: The repository and the recording's object directory that holds its baseline (used in git workspaces).
        self._repo = _gittree.GitRepo(self._root, info.git_store)
        self._cat = CatFile(self._repo) if self._git else None
        self._snaps = (
            TreeSnapshots(
                self._repo,
                info.index_file,
                excluded,
                untracked_bytes=_gittree.UNTRACKED_BYTES,
                baseline_tree=info.baseline_tree,
                left_out_at_start=info.left_out,
                tmp_dir=tmp_dir,
            )
            if self._git
            else None
        )
        # Known content by path: a FileState, or None for "absent". Paths not in it are at their baseline.
        self._state: dict[str, FileState | None] = {}
        # Outside git: the directory as it was at start, and the states of the files it read
        self._plain = DirSnapshot(size_limit)
        self._given = snapshot
        self._final_tree: str | None = None
        self._pending: dict[str, _Pending] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._observer: Any = None  # a watchdog observer (tracer.capture._edits_watch)
        self._caught_up = False  # the edits made before the watches were found (_take_baseline)
        self._thread: threading.Thread | None = None
        self._warnings: list[str] = []
        self._started = False
        self._stopped = False
        self._snapshotted = False

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def warnings(self) -> list[str]:
        """Problems met while recording (one sentence each), e.g. the observer could not watch a directory."""
        return list(self._warnings)

    def take_snapshot(self) -> None:
        """Outside git, snapshot the directory now, blocking (the baseline of every later change); in a git
        repository nothing is left to do (the baseline is the ``WorkspaceInfo``'s tree).

        :meth:`start` takes the snapshot in the background when this was not called first: call it before
        anything can change the workspace when nothing holds the user back (``tracer shell -c``), unless the
        snapshot was given. Call it once, before :meth:`start`.
        """
        if not self._git and not self._snapshotted:
            self._snapshotted = True
            self._snapshot_plain()

    def start(self, *, watch: bool = True) -> None:
        """Start watching; returns at once (watches, and outside git the snapshot unless
        :meth:`take_snapshot` took it, are set up in the background). ``watch=False``: no watches (the command is
        over already): :meth:`stop` finds every edit in its comparison with the baseline.

        Raises:
            RecordingError: called twice.
        """
        if self._started:
            raise RecordingError("the edit recorder was already started; create a new one per session")
        self._started = True
        self._thread = threading.Thread(target=self._run, args=(watch,), name="tracer-edits", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Process what is pending, compare the working tree with the baseline a last time (emitting any
        change not seen yet), stop the observer and every thread. Blocks until done; idempotent."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        assert self._thread is not None
        self._thread.join()

    def final_patch(self) -> FinalPatch:
        """Baseline → final state of every changed path, in ``git diff --binary`` form.

        ``git apply`` of it on the start commit plus ``WorkspaceInfo.baseline_patch`` gives the working tree
        as it was at :meth:`stop` (outside git: on a copy of the directory as it was at start). Files over
        ``final_file_limit`` (outside git: also files whose baseline content was not kept) are listed in
        ``omitted``. Call after :meth:`stop`.

        Raises:
            RecordingError: git cannot write or compare the trees.
        """
        t = self._clock()
        if not self._git:
            return self._final_patch_plain(t)
        assert self._snaps is not None and self._cat is not None and self._info.baseline_tree is not None
        try:
            final = self._final_tree or self._snaps.snapshot()
            patch = tree_patch(
                self._cat,
                self._info.baseline_tree,
                final,
                renames=True,
                file_limit=self._final_limit,
                exclude=self._excluded,
                secret=self._secret,
            )
        except CommandFailed as e:
            raise RecordingError(f"cannot compute the final patch of {self._root} ({e})") from e
        finally:
            self._cat.close()
            self._snaps.close()
        changed = [
            (path, stat[0])
            for path, stat in sorted(self._snaps.left_out.items())
            if self._info.left_out.get(path) != stat  # new or changed during the session
        ]
        why = _gittree.UNTRACKED_WHY
        grown = tuple(
            f"{path}: untracked, grew to {stat[0]} bytes; its change is {why}"
            for path, stat in sorted(self._snaps.frozen.items())
        )
        listed = _gittree.OMITTED_LISTED
        left_out = grown + tuple(f"{path}: untracked, {size} bytes; {why}" for path, size in changed[:listed])
        if len(changed) > listed:
            rest = changed[listed:]
            left_out += (f"{len(rest)} more untracked files ({sum(size for _, size in rest)} bytes); {why}",)
        from tracer.model import FinalPatch

        return FinalPatch(t=t, patch=patch.text, files=patch.files, omitted=(*patch.omitted, *left_out))

    # ------------------------------------------------------------------------------------ observer side

    def _relative(self, path: str) -> str | None:
        root = self._root_str
        if not path.startswith(root) or len(path) <= len(root) + 1 or path[len(root)] != os.sep:
            return None
        rel = path[len(root) + 1 :]
        return rel.replace(os.sep, "/") if os.sep != "/" else rel

    def _note(self, path: str, is_dir: bool, other_end: str | None) -> None:
        """Called on the observer's thread for each event: mark the path pending (no I/O)."""
        rel = self._relative(path)
        if rel is not None and rel.endswith("/.git"):
            self._rules.nested_repository(rel[: -len("/.git")])
        if rel is None or self._rules.quick(rel):
            return
        partner = self._relative(other_end) if other_end is not None else None
        if partner is not None and self._rules.quick(partner):
            partner = None
        self._mark(rel, is_dir, partner)

    def _mark(self, rel: str, is_dir: bool, partner: str | None = None, since: int | None = None) -> None:
        now = time.monotonic()
        t = self._clock()
        with self._cond:
            p = self._pending.get(rel)
            if p is None:
                self._pending[rel] = _Pending(now, now, t, t, is_dir, partner, since)
                if len(self._pending) == 1:
                    self._cond.notify_all()
            else:
                p.last = now
                p.t = t
                p.is_dir = p.is_dir or is_dir
                p.partner = partner or p.partner

    # -------------------------------------------------------------------------------------- worker side

    def _run(self, watch: bool) -> None:
        try:
            self.take_snapshot()  # before watching: what changes from now on is not in it
            with self._cond:
                stopping = self._stopping
            if watch and not stopping:  # (a command over already: the end's comparison sees its edits)
                self._start_observer()
                with self._cond:
                    stopping = self._stopping
                if not stopping:  # (over while the watches were set up: the same comparison sees them)
                    self._take_baseline()
                    self._caught_up = True
            while True:
                batch, done = self._next_batch()
                if batch:
                    self._guard(self._process, batch)
                if done:
                    break
            self._stop_observer()
            with self._cond:
                rest, self._pending = self._pending, {}
            if rest:
                self._guard(self._process, rest)
            self._guard(self._reconcile_at_end)
        except Exception as e:  # a bug must not take the recording down: say it and stop watching
            _log().exception("edit recorder failed")
            self._warnings.append(f"file changes stopped being recorded after an internal error: {e}")
            self._stop_observer()
        finally:
            self._rules.close()

    def _guard(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except TracerError as e:
            _log().warning("%s", e)
            self._warnings.append(str(e))

    def _start_observer(self) -> None:
        from tracer.capture._edits_watch import watch  # watchdog: imported here, off the start-up path

        try:
            observer = watch(self._root_str, note=self._note, prune=self._prune)
        except OSError as e:
            self._warnings.append(
                f"cannot watch {self._root} for file changes ({e}); edits are only in the final patch "
                "(raise fs.inotify.max_user_watches to fix this)"
            )
            return
        self._observer = observer

    def _prune(self, path: bytes) -> bool:
        """For the observer: True when the directory at absolute ``path`` is not to be watched (none is once the
        recording ends: the end's comparison with the baseline sees every edit, and a large tree's watches took
        ~0.5 s after a short ``tracer shell -c`` command)."""
        if self._stopping:
            return True
        rel = self._relative(os.fsdecode(path))
        return rel is not None and rel in self._rules.skipped((), dirs=[rel])

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join()

    def _take_baseline(self) -> None:
        """Find the edits made between the baseline and the moment the watches were in place."""
        if self._git:
            self._guard(self._catch_up)
        else:
            for rel in self._changed_since_snapshot():
                self._mark(rel, False, since=0)  # (made some time since the snapshot)

    def _catch_up(self) -> None:
        assert self._snaps is not None and self._info.baseline_tree is not None
        try:
            tree = self._snaps.snapshot()
            changes = raw_changes(self._repo, self._info.baseline_tree, tree, renames=False)
        except CommandFailed as e:
            raise RecordingError(f"cannot compare {self._root} with its baseline ({e})") from e
        for c in changes:
            if MODE_GITLINK not in (c.old_mode, c.new_mode) and not self._rules.quick(c.new_path):
                self._mark(c.new_path, False, since=0)  # (made some time since the baseline)

    def _next_batch(self) -> tuple[dict[str, _Pending], bool]:
        """Wait for ripe paths (quiet long enough) or the stop request; return them and whether to stop."""
        with self._cond:
            while True:
                if self._stopping:
                    return {}, True
                now = time.monotonic()
                wake = None
                ripe = []
                for rel, p in self._pending.items():
                    due = min(p.last + self._quiet, p.first + MAX_WAIT)
                    if due <= now:
                        ripe.append(rel)
                    elif wake is None or due < wake:
                        wake = due
                if ripe:
                    ripe_set = set(ripe)
                    for rel in ripe:  # both ends of a move go together, when both are quiet
                        partner = self._pending[rel].partner
                        if partner in self._pending and partner not in ripe_set:
                            ripe_set.discard(rel)
                    if ripe_set:
                        return {rel: self._pending.pop(rel) for rel in ripe_set}, False
                    wake = now + self._quiet / 4 if wake is None else min(wake, now + self._quiet / 4)
                self._cond.wait(None if wake is None else max(wake - now, 0.01))

    # ------------------------------------------------------------------------------------ diffing paths

    def _process(self, batch: dict[str, _Pending], *, trusted: bool = False) -> None:
        """Read each path of ``batch``, diff it against what was known, emit the changes."""
        rels = list(batch)
        if not trusted:
            skip = self._rules.skipped(
                [r for r in rels if not batch[r].is_dir], dirs=[r for r in rels if batch[r].is_dir]
            )
            rels = [r for r in rels if r not in skip]
        files: dict[str, _Pending] = {}
        for rel in rels:
            p = batch[rel]
            try:
                st = os.lstat(fs_path(self._root, rel))
            except OSError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):
                for f in walk(self._root_str, rel, self._skipped):
                    files.setdefault(f, p)
                for f in self._known_below(rel):
                    files.setdefault(f, p)
            elif st is None and p.is_dir:
                for f in self._known_below(rel):
                    files.setdefault(f, p)
            else:
                files[rel] = p
        if not files:
            return
        self._load_baselines([f for f in files if f not in self._state])
        changes: list[_Change] = []
        for rel, p in files.items():
            old = self._state.get(rel)
            if (old is None or isinstance(old, _Unread)) and self._unchanged_unread(rel):
                continue  # content at start never read (too large for the snapshot, or left out of the baseline
                # tree), and nothing wrote it since
            new = read_file_state(fs_path(self._root, rel), self._size_limit)
            if old is None and new is None:
                continue
            if old is not None and new is not None and old.mode == new.mode and old.sha == new.sha:
                continue
            old = self._loaded(rel, old)
            if old is not None and new is not None and old.mode == new.mode and old.sha == new.sha:
                continue
            since, command_since = p.since, self._command_since
            command = (
                self._command_at(p.seen) if since is None or command_since is None else command_since(since, p.seen)
            )
            changes.append(_Change(rel, old, new, p.t, command))
        if any(c.path.rsplit("/", 1)[-1] == ".gitignore" for c in changes):
            self._rules.forget()
        for change in _pair_renames(changes):
            self._emit_change(change)

    def _emit_change(self, c: _Change) -> None:
        old, new = c.old, c.new
        if c.old_path is not None:
            op = "rename"
        elif old is None:
            op = "create"
        elif new is None:
            op = "delete"
        elif old.sha == new.sha:
            op = "mode"
        else:
            op = "modify"
        oversized = (old is not None and old.data is None) or (new is not None and new.data is None)
        text, added, removed, binary = "", 0, 0, False
        if not oversized or (old is not None and new is not None and old.sha == new.sha):
            # (an event keeps no binary patch: it is not even made; the final patch has one)
            d = file_diff(c.old_path or c.path, c.path, old, new, similarity=c.similarity, binary_patch_text=False)
            text, added, removed, binary = d.text, d.added, d.removed, d.binary
            if binary:
                text = ""
        if c.old_path is not None:
            self._state[c.old_path] = None
        self._state[c.path] = new
        from tracer.model import FileChange

        event = FileChange(
            t=c.t,
            path=c.path,
            op=op,
            diff=text,
            old_path=c.old_path,
            before_hash=old.sha if old and old.sha else None,  # (no sha: its content at start was not read)
            after_hash=new.sha if new else None,
            before_mode=old.mode if old else None,
            after_mode=new.mode if new else None,
            size=new.size if new else 0,
            binary=binary,
            oversized=oversized,
            command_id=c.command,
            added=added,
            removed=removed,
        )
        try:
            self._emit(event)
        except Exception:  # the caller's queue: never let it kill the observer
            _log().exception("emit failed for %s", c.path)

    # ---------------------------------------------------------------------------------------- baselines

    def _load_baselines(self, rels: Sequence[str]) -> None:
        """Put the baseline state (mode and object id, content not read yet) of ``rels`` into the state."""
        if not rels:
            return
        if not self._git:
            base = self._plain
            for rel in rels:
                state = self._plain_file(rel)
                if state is None and rel in base.stats:  # there at start, content not read
                    size, _, _, st_mode, _ = base.stats[rel]
                    link = stat.S_ISLNK(st_mode)
                    mode = MODE_LINK if link else MODE_EXEC if st_mode & stat.S_IXUSR else MODE_FILE
                    state = _Unread(mode, "", size, None)
                self._state[rel] = state
            return
        found = self._ls_tree(rels)
        left_out = self._info.left_out
        for rel in rels:
            state = found.get(rel)
            if state is None and rel in left_out:  # there at start, left out of the baseline tree
                state = _Unread(_mode_now(fs_path(self._root, rel)), "", left_out[rel][0], None)
            self._state[rel] = state

    def _ls_tree(self, rels: Sequence[str]) -> dict[str, FileState]:
        """Baseline tree entries at or below ``rels`` as unloaded states (``data`` None, ``sha`` the id)."""
        assert self._info.baseline_tree is not None
        found: dict[str, FileState] = {}
        env = dict(self._repo.env(), GIT_LITERAL_PATHSPECS="1")
        for i in range(0, len(rels), 500):
            chunk = list(rels[i : i + 500])
            try:
                out = run(
                    ["git", "ls-tree", "-r", "-z", "--full-tree", self._info.baseline_tree, "--", *chunk],
                    cwd=self._root,
                    env=env,
                ).stdout
            except CommandFailed as e:
                raise RecordingError(f"cannot read the baseline of {self._root} ({e})") from e
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, _, name = entry.partition(b"\t")
                mode, kind, oid = meta.decode().split(" ")
                if kind != "blob":
                    continue
                found[name.decode("utf-8", "surrogateescape")] = _Unloaded(mode, oid, -1, None)
        return found

    def _loaded(self, rel: str, state: FileState | None) -> FileState | None:
        """``state`` with its content read, if it is an unloaded baseline entry."""
        if not isinstance(state, _Unloaded):
            return state
        assert self._cat is not None
        got = self._cat.read(state.sha, self._size_limit)
        if got is None:
            raise RecordingError(f"the baseline of {rel} is missing from the repository; run `git fsck`")
        sha, size, data = got
        loaded = FileState(state.mode, sha, size, data)
        self._state[rel] = loaded
        return loaded

    def _known_below(self, rel: str) -> list[str]:
        """Paths under directory ``rel`` that exist in the state or the baseline."""
        prefix = rel + "/"
        out = [p for p, s in self._state.items() if s is not None and p.startswith(prefix)]
        if self._git:
            out += [p for p in self._ls_tree([rel]) if p not in self._state]
        else:
            out += [p for p in self._plain.stats if p.startswith(prefix) and p not in self._state]
        return out

    def _skipped(self, files: list[str], dirs: list[str]) -> set[str]:
        """What :func:`tracer.capture._dirsnapshot.walk` leaves out: what the ignore rules skip."""
        return self._rules.skipped(files, dirs=dirs)

    # ------------------------------------------------------------------------------------ outside of git

    def _snapshot_plain(self) -> None:
        """The directory's snapshot, taken now or adopted (made before the command started: what the ignore rules
        skip, that the early walk did not know of, is dropped). Its content is hashed when a file is first met
        (:meth:`_plain_file`)."""
        snap, self._given = self._given, None
        if snap is None:
            snap = take(self._root_str, self._skipped, self._size_limit)
        else:
            snap.drop(self._rules.skipped(list(snap.stats)))
        self._plain = snap
        self._warnings.extend(snap.warnings)

    def _plain_file(self, rel: str) -> FileState | None:
        """Outside git: the state of ``rel`` in the snapshot, its content hashed the first time it is asked for (a
        file the session never touches is never hashed; the snapshot keeps the hashed state in its place); ``None``
        when its content was not read (or it was not there)."""
        raw = self._plain.files.get(rel)
        if raw is None or isinstance(raw, FileState):
            return raw
        state = self._plain.files[rel] = file_state(raw)
        return state

    def _reconcile_at_end(self) -> None:
        """Emit what the events missed: compare the final working tree with the baseline and the state. Where no
        watch was put (a command over before they were), this comparison is the only one: each edit was made some
        time since the baseline, and belongs to the command that ran then, as :meth:`_take_baseline`'s do."""
        t = self._clock()
        since = None if self._caught_up else 0
        paths: set[str] = {p for p in self._state if not isinstance(self._state[p], _Unloaded)}
        if self._git:
            assert self._snaps is not None and self._info.baseline_tree is not None
            try:
                self._final_tree = self._snaps.snapshot()
                changes = raw_changes(self._repo, self._info.baseline_tree, self._final_tree, renames=False)
            except CommandFailed as e:
                raise RecordingError(f"cannot compare {self._root} with its baseline ({e})") from e
            paths |= {
                c.new_path
                for c in changes
                if MODE_GITLINK not in (c.old_mode, c.new_mode) and not self._rules.quick(c.new_path)
            }
            # untracked files left out of both trees (past UNTRACKED_BYTES at start): changed if their stat did
            paths |= {rel for rel in self._info.left_out if not self._unchanged_unread(rel)}
        else:
            paths |= self._changed_since_snapshot()
        if paths:
            self._process({p: _Pending(0.0, 0.0, t, t, since=since) for p in sorted(paths)}, trusted=self._git)

    def _changed_since_snapshot(self) -> set[str]:
        """Outside git: files whose size, mtime or mode differ from the snapshot, or that are gone."""
        base = self._plain
        seen = set()
        changed = set()
        for rel in walk(self._root_str, "", self._skipped):
            seen.add(rel)
            try:
                st = os.lstat(os.path.join(self._root_str, rel))  # (not a Path: a walk of a home directory)
            except OSError:
                continue
            if not base.unchanged(rel, st):
                changed.add(rel)
        changed |= {p for p in base.stats if p not in seen}
        return changed

    def _unchanged_unread(self, rel: str) -> bool:
        """Whether ``rel``, whose content at start was not read (outside git: past the snapshot's limits; in git: an
        untracked file left out of the baseline tree), is still as it was then."""
        try:
            st = os.lstat(fs_path(self._root, rel))
        except OSError:
            # gone, and it was not there at start either
            return rel not in (self._info.left_out if self._git else self._plain.stats)
        if self._git:
            return self._info.left_out.get(rel) == (st.st_size, st.st_mtime_ns)
        return self._plain.unchanged(rel, st)

    def _final_patch_plain(self, t: int) -> FinalPatch:
        changes: list[_Change] = []
        omitted: list[str] = []
        for rel in sorted(self._state):
            new = self._state[rel]
            if isinstance(new, _Unread):  # as at start
                continue
            old = self._plain_file(rel)
            if old is None and new is None:
                continue
            if old is None and rel in self._plain.stats:
                omitted.append(f"{rel}: changed, but its content at start was not kept (over the snapshot's budget)")
                continue
            if old is not None and new is not None and (old.mode, old.sha) == (new.mode, new.sha):
                continue
            changes.append(_Change(rel, old, new, t, None))
        texts: list[str] = []
        files: list[str] = []
        for c in _pair_renames(changes):
            old_path = c.old_path or c.path
            try:
                text = file_diff(old_path, c.path, c.old, c.new, similarity=c.similarity).text
            except ValueError:
                size = c.new.size if c.new else (c.old.size if c.old else 0)
                omitted.append(f"{c.path}: {size} bytes; its content was over the size limit, not kept")
                continue
            texts.append(text)
            if c.old_path:
                files.append(c.old_path)
            files.append(c.path)
        from tracer.model import FinalPatch

        return FinalPatch(t=t, patch="".join(texts), files=tuple(files), omitted=tuple(omitted))


class _Unloaded(FileState):
    """A baseline tree entry whose content was not read yet: ``sha`` is the git object id."""

    __slots__ = ()


class _Unread(FileState):
    """A file that was there at start but whose content was not read (``sha`` is ""): outside git, past the
    snapshot's limits; in git, an untracked file left out of the baseline tree (past ``UNTRACKED_BYTES``)."""

    __slots__ = ()


def _mode_now(path: str | os.PathLike[str]) -> str:
    """The git mode of the file at ``path`` now (``100644`` when it is gone or not a file)."""
    try:
        return mode_of(os.lstat(path)) or MODE_FILE
    except OSError:
        return MODE_FILE


def _pair_renames(changes: list[_Change]) -> list[_Change]:
    """Pair deletions with creations of the same content (or text at least 50% similar, as git -M) into renames.

    Returns the changes in an order that applies cleanly one after the other: deletions, renames,
    modifications, creations.
    """
    deletes = [c for c in changes if c.new is None]
    creates = [c for c in changes if c.old is None]
    others = [c for c in changes if c.old is not None and c.new is not None]
    renames: list[_Change] = []
    if deletes and creates:
        by_sha: dict[str, list[_Change]] = {}
        for d in deletes:
            assert d.old is not None
            by_sha.setdefault(d.old.sha, []).append(d)
        left: list[_Change] = []
        for c in creates:
            assert c.new is not None
            match = by_sha.get(c.new.sha)
            if match:
                d = match.pop(0)
                deletes.remove(d)
                renames.append(_renamed(d, c, 100))
            else:
                left.append(c)
        creates = left
        if deletes and creates and len(deletes) * len(creates) <= _SIMILAR_PAIRS:
            for c in list(creates):
                best, score = None, 0.5
                for d in deletes:
                    r = _similarity(d.old, c.new)
                    if r >= score:
                        best, score = d, r
                if best is not None:
                    deletes.remove(best)
                    creates.remove(c)
                    renames.append(_renamed(best, c, int(score * 100)))
    return [*deletes, *renames, *others, *creates]


def _renamed(d: _Change, c: _Change, similarity: int) -> _Change:
    return _Change(c.path, d.old, c.new, max(c.t, d.t), c.command, old_path=d.path, similarity=similarity)


def _similarity(a: FileState | None, b: FileState | None) -> float:
    if a is None or b is None or a.data is None or b.data is None:
        return 0.0
    if a.mode != b.mode or len(a.data) > _SIMILAR_BYTES or len(b.data) > _SIMILAR_BYTES:
        return 0.0
    if b"\0" in a.data[:8000] or b"\0" in b.data[:8000]:
        return 0.0
    import difflib

    m = difflib.SequenceMatcher(None, a.data.split(b"\n"), b.data.split(b"\n"))
    if m.real_quick_ratio() < 0.5 or m.quick_ratio() < 0.5:
        return 0.0
    return m.ratio()
