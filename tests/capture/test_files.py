"""EditRecorder against real repositories, real editors and real tools: one save, one ``file_change``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import git, make_repo
from tracer.capture._gitobjects import blob_hash
from tracer.capture.files import EditRecorder
from tracer.capture.workspace import workspace_info
from tracer.model import FileChange

DEADLINE = 20.0
#: After the expected events arrived, this long with no further event proves there are no extras.
SETTLE = 0.6


class Recording:
    """An EditRecorder on ``root`` whose events land in :attr:`events`."""

    def __init__(self, root: Path, **kwargs: object) -> None:
        self.root = root
        self.events: list[FileChange] = []
        self.command: int | None = None
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self.info = workspace_info(root)
        kwargs.setdefault("tmp_dir", root.parent)  # (its private index: a directory that the test removes)
        self.recorder = EditRecorder(
            self.info,
            emit=self._emit,
            clock=lambda: int((time.monotonic() - self._t0) * 1e6),
            command_at=lambda t: self.command,
            **kwargs,  # type: ignore[arg-type]
        )
        self.arrived: list[float] = []
        self.recorder.start()

    def _emit(self, event: FileChange) -> None:
        assert threading.current_thread() is not threading.main_thread()
        with self._lock:
            self.events.append(event)
            self.arrived.append(time.monotonic())

    def wait(self, count: int, deadline: float = DEADLINE) -> list[FileChange]:
        """Wait until ``count`` events arrived, then SETTLE more seconds; exactly ``count`` must be there."""
        end = time.monotonic() + deadline
        while len(self.events) < count and time.monotonic() < end:
            time.sleep(0.01)
        settle = time.monotonic() + SETTLE
        while time.monotonic() < settle and len(self.events) <= count:
            time.sleep(0.02)
        got = list(self.events)
        assert len(got) == count, [(e.op, e.path) for e in got]
        return got

    def wait_until(self, pred: Callable[[list[FileChange]], bool], deadline: float = DEADLINE) -> None:
        end = time.monotonic() + deadline
        while not pred(list(self.events)):
            assert time.monotonic() < end, [(e.op, e.path) for e in self.events]
            time.sleep(0.01)

    def stop(self) -> None:
        self.recorder.stop()


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Callable[..., Recording]]:
    before = set(threading.enumerate())
    made: list[Recording] = []

    def start(
        files: dict[str, str | bytes] | None = None,
        *,
        git_repo: bool = True,
        prepare: Callable[[Path], None] | None = None,
        **kw: object,
    ) -> Recording:
        root = tmp_path / f"ws{len(made)}"
        if git_repo:
            make_repo(root, files or {})
            if prepare is not None:
                prepare(root)
        else:
            root.mkdir()
            for name, content in (files or {}).items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(content.encode() if isinstance(content, str) else content)
        rec = Recording(root, **kw)
        made.append(rec)
        return rec

    yield start
    for rec in made:
        rec.stop()
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked


def ready(rec: Recording, *, forget: bool = True) -> None:
    """Wait until the observer watches: a probe file's event arrives, then clear the events (unless not
    ``forget``)."""
    for attempt in range(100):
        probe = rec.root / f"probe{attempt}.ready"
        probe.write_text("x")
        end = time.monotonic() + 1.0
        while time.monotonic() < end and not any(e.path == probe.name for e in rec.events):
            time.sleep(0.01)
        probe.unlink()
        if any(e.path == probe.name for e in rec.events):
            break
    rec.wait_until(lambda evs: any(e.path == probe.name and e.op == "delete" for e in evs))
    time.sleep(SETTLE)  # let any late event of the probes arrive before the test starts counting
    if forget:
        rec.events.clear()


def test_script_write_gives_one_modify_with_git_form_diff(record: Callable[..., Recording]) -> None:
    rec = record({"src/a.py": "one\ntwo\nthree\n"})
    ready(rec)
    rec.command = 4
    (rec.root / "src/a.py").write_text("one\nTWO\nthree\n")
    [e] = rec.wait(1)
    assert (e.op, e.path, e.command_id, e.added, e.removed) == ("modify", "src/a.py", 4, 1, 1)
    assert e.diff.startswith("diff --git a/src/a.py b/src/a.py\nindex ")
    assert "--- a/src/a.py\n+++ b/src/a.py\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n" in e.diff
    assert e.before_hash == blob_hash(b"one\ntwo\nthree\n")
    assert e.after_hash == blob_hash(b"one\nTWO\nthree\n")
    assert (e.before_mode, e.after_mode, e.size, e.binary, e.oversized) == (
        "100644",
        "100644",
        14,
        False,
        False,
    )


def test_vim_saves_are_one_modify_each_and_swap_files_leave_no_event(
    record: Callable[..., Recording],
) -> None:
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    rec = record({"notes.txt": "alpha\nbeta\n"})
    ready(rec)
    # backup + writebackup + backupcopy=no: vim renames the file to notes.txt~ and writes a new one.
    vim = pexpect.spawn(
        "vim",
        ["-u", "NONE", "-N", "-c", "set backup writebackup backupcopy=no backupskip=", "notes.txt"],
        cwd=str(rec.root),
        env={**os.environ, "TERM": "xterm"},
        dimensions=(24, 80),
        timeout=DEADLINE,
    )
    try:
        vim.expect("notes.txt")
        vim.send(":%s/beta/gamma/\r:w\r")
        [first] = rec.wait(1)
        vim.send(":%s/alpha/delta/\r:w\r")
        events = rec.wait(2)
        vim.send(":q\r")
        vim.expect(pexpect.EOF)
    finally:
        vim.close(force=True)
    rec.wait(2)  # the swap file went away, the backup file stays: still no event
    assert [(e.op, e.path) for e in events] == [("modify", "notes.txt")] * 2
    assert "-beta\n+gamma\n" in first.diff
    assert "-alpha\n+delta\n" in events[1].diff
    assert (rec.root / "notes.txt~").exists()


def test_sed_in_place_and_write_temp_then_rename(record: Callable[..., Recording]) -> None:
    rec = record({"conf.ini": "a=1\nb=2\n"})
    ready(rec)
    subprocess.run(["sed", "-i", "s/b=2/b=3/", "conf.ini"], cwd=rec.root, check=True)
    [e] = rec.wait(1)
    assert (e.op, e.path) == ("modify", "conf.ini")
    assert "-b=2\n+b=3\n" in e.diff
    tmp = rec.root / ".conf.ini.tmp123"
    tmp.write_text("a=1\nb=3\nc=4\n")
    os.replace(tmp, rec.root / "conf.ini")
    events = rec.wait(2)
    assert (events[1].op, events[1].path, events[1].added) == ("modify", "conf.ini", 1)


def test_mv_and_git_mv_are_one_rename_each(record: Callable[..., Recording]) -> None:
    rec = record({"old.py": "x = 1\n", "lib/keep.py": "".join(f"line {i}\n" for i in range(20))})
    ready(rec)
    git(rec.root, "mv", "old.py", "new.py")
    [e] = rec.wait(1)
    assert (e.op, e.old_path, e.path) == ("rename", "old.py", "new.py")
    assert "similarity index 100%\nrename from old.py\nrename to new.py\n" in e.diff
    assert e.before_hash == e.after_hash
    # Nearly identical: moved and touched up in the same moment.
    src, dst = rec.root / "lib/keep.py", rec.root / "lib/moved.py"
    os.rename(src, dst)
    dst.write_text(dst.read_text() + "line 20\n")
    events = rec.wait(2)
    assert (events[1].op, events[1].old_path, events[1].path, events[1].added) == (
        "rename",
        "lib/keep.py",
        "lib/moved.py",
        1,
    )


def test_create_delete_mode_symlink_binary(record: Callable[..., Recording]) -> None:
    rec = record({"run.sh": "echo hi\n", "gone.txt": "bye\n"})
    ready(rec)
    os.chmod(rec.root / "run.sh", 0o755)
    [e] = rec.wait(1)
    assert (e.op, e.before_mode, e.after_mode) == ("mode", "100644", "100755")
    assert e.diff == "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    (rec.root / "gone.txt").unlink()
    e = rec.wait(2)[1]
    assert (e.op, e.after_hash, e.size) == ("delete", None, 0)
    assert "deleted file mode 100644" in e.diff and "-bye\n" in e.diff
    os.symlink("../outside/target", rec.root / "link")
    e = rec.wait(3)[2]
    assert (e.op, e.after_mode, e.after_hash) == ("create", "120000", blob_hash(b"../outside/target"))
    assert "+../outside/target\n\\ No newline at end of file\n" in e.diff
    (rec.root / "img.bin").write_bytes(b"\x89PNG\0\0\x01")
    e = rec.wait(4)[3]
    assert (e.op, e.binary, e.diff, e.size) == ("create", True, "", 7)


def test_oversized_files_get_hashes_only(record: Callable[..., Recording]) -> None:
    rec = record({}, size_limit=1000)
    ready(rec)
    data = b"x\n" * 2000
    (rec.root / "big.txt").write_bytes(data)
    [e] = rec.wait(1)
    assert (e.op, e.oversized, e.diff, e.size, e.after_hash) == ("create", True, "", 4000, blob_hash(data))


def test_ignored_nested_excluded_paths_leave_no_event(record: Callable[..., Recording], tmp_path: Path) -> None:
    rec = record({".gitignore": "node_modules/\n*.log\n", "a.txt": "a\n"}, exclude=[])
    nested = rec.root / "vendor/clone"
    make_repo(nested, {"x.txt": "x\n"})
    ready(rec)
    for i in range(300):
        d = rec.root / "node_modules" / f"p{i % 30}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i}.js").write_text("module.exports = 1\n")
    (rec.root / "debug.log").write_text("log\n")
    (nested / "x.txt").write_text("changed\n")
    (nested / "y.txt").write_text("new\n")
    (rec.root / "a.txt").write_text("a\nb\n")
    rec.wait_until(lambda evs: any(e.path == "a.txt" for e in evs))
    assert [(e.op, e.path) for e in rec.wait(1)] == [("modify", "a.txt")]
    rec.stop()
    assert [(e.op, e.path) for e in rec.events] == [("modify", "a.txt")]
    assert rec.recorder.final_patch().files == ("a.txt",)


def test_exclude_paths(record: Callable[..., Recording], tmp_path: Path) -> None:
    root = tmp_path / "ws0"
    rec = record({}, exclude=[root / "sessions"])
    ready(rec)
    (rec.root / "sessions").mkdir()
    (rec.root / "sessions/s.tracer").write_bytes(b"\0data")
    (rec.root / "real.txt").write_text("r\n")
    assert [e.path for e in rec.wait(1)] == ["real.txt"]


def test_directories_give_one_event_per_file(record: Callable[..., Recording], tmp_path: Path) -> None:
    rec = record({"pkg/a.py": "a\n", "pkg/sub/b.py": "b\n"})
    ready(rec)
    subprocess.run(["cp", "-r", "pkg", "copy"], cwd=rec.root, check=True)
    got = rec.wait(2)
    assert sorted((e.op, e.path) for e in got) == [("create", "copy/a.py"), ("create", "copy/sub/b.py")]
    subprocess.run(["rm", "-r", "copy"], cwd=rec.root, check=True)
    got = rec.wait(4)[2:]
    assert sorted((e.op, e.path) for e in got) == [("delete", "copy/a.py"), ("delete", "copy/sub/b.py")]
    # A directory moved out of the workspace: no event for its files from the kernel, only for the dir.
    shutil.move(str(rec.root / "pkg"), str(tmp_path / "elsewhere"))
    got = rec.wait(6)[4:]
    assert sorted((e.op, e.path) for e in got) == [("delete", "pkg/a.py"), ("delete", "pkg/sub/b.py")]


def test_git_checkout_burst_gives_a_correct_diff_per_file(record: Callable[..., Recording]) -> None:
    n = 4000  # the checkout changes 2,000 of them (issue 4)
    files: dict[str, str | bytes] = {f"m{i // 100}/f{i}.txt": f"file {i}\nsame\n" for i in range(n)}

    def branch(root: Path) -> None:
        git(root, "checkout", "-q", "-b", "other")
        for i in range(0, n, 2):
            (root / f"m{i // 100}/f{i}.txt").write_text(f"file {i}\nchanged on other\n")
        git(root, "commit", "-qam", "other")
        git(root, "checkout", "-q", "main")

    rec = record(files, prepare=branch)
    ready(rec)
    git(rec.root, "checkout", "-q", "other")
    rec.wait_until(lambda evs: len({e.path for e in evs}) >= n // 2 and _chain_ok(rec, evs))
    events = rec.wait(n // 2)
    for e in events:
        assert e.op == "modify" and e.added == 1 and e.removed == 1
        assert "-same\n+changed on other\n" in e.diff


def _chain_ok(rec: Recording, events: list[FileChange]) -> bool:
    """Each file's last after_hash is its content on disk now."""
    last: dict[str, str | None] = {}
    for e in events:
        last[e.path] = e.after_hash
    return all(blob_hash((rec.root / path).read_bytes()) == h for path, h in last.items())


def test_edit_just_before_stop_is_not_lost(record: Callable[..., Recording]) -> None:
    rec = record({"a.txt": "1\n"})
    ready(rec)
    (rec.root / "a.txt").write_text("2\n")
    (rec.root / "b.txt").write_text("new\n")
    rec.stop()
    assert sorted((e.op, e.path) for e in rec.events) == [("create", "b.txt"), ("modify", "a.txt")]


def test_text_encodings_give_diffs_git_apply_takes(record: Callable[..., Recording], tmp_path: Path) -> None:
    start: dict[str, str | bytes] = {
        "latin1.txt": "caf\u00e9\n".encode("latin-1"),
        "crlf.txt": b"a\r\nb\r\n",
        "nonl.txt": b"no newline",
        "caf\u00e9 space.txt": b"x\n",
    }
    rec = record(start)
    ready(rec)
    new = {
        "latin1.txt": "caf\u00e9 cr\u00e8me\n".encode("latin-1"),
        "crlf.txt": b"a\r\nB\r\n",
        "nonl.txt": b"no newline\nstill none",
        "caf\u00e9 space.txt": b"x\ny\n",
    }
    for name, data in new.items():
        (rec.root / name).write_bytes(data)
    events = rec.wait(4)
    copy = tmp_path / "copy"
    subprocess.run(["git", "clone", "-q", str(rec.root), str(copy)], check=True)
    for e in events:
        assert e.diff, e
        subprocess.run(["git", "apply", "-"], cwd=copy, input=e.diff.encode(), check=True)
    for name, data in new.items():
        assert (copy / name).read_bytes() == data
    latin = next(e for e in events if e.path == "latin1.txt")
    assert (latin.binary, latin.added, latin.removed) == (False, 1, 1)


def test_a_file_that_grows_by_lines_gets_gits_own_hunk(record: Callable[..., Recording], tmp_path: Path) -> None:
    """A log appended to (one line in three blank, so the line matcher's junk heuristic is in play), a two-line
    file that grows (less context than three lines; its new last line has no line end), and one whose last line
    had no line end (not a pure append): each diff is the hunk `git diff` writes, and `git apply` takes it."""
    log = "".join(f"{i} GET /items/{i} 200\n\n-\n" for i in range(3000))
    start: dict[str, str | bytes] = {"app.log": log, "short.txt": "a\nb\n", "open.txt": "x\npartial"}
    rec = record(start)
    ready(rec)
    new = {
        "app.log": log + "".join(f"{i} GET /items/{i} 500\n\n-\n" for i in range(3000, 3100)),
        "short.txt": "a\nb\nc\nd",
        "open.txt": "x\npartial line\nnext\n",
    }
    for name, data in new.items():
        (rec.root / name).write_text(data)
    events = {e.path: e for e in rec.wait(3)}
    for name in new:
        theirs = git(rec.root, "diff", "--", name)
        assert events[name].diff.partition("@@")[2] == theirs.partition("@@")[2], name
    assert (events["app.log"].added, events["app.log"].removed) == (300, 0)
    assert (events["open.txt"].added, events["open.txt"].removed) == (2, 1)
    copy = tmp_path / "copy"
    subprocess.run(["git", "clone", "-q", str(rec.root), str(copy)], check=True)
    for e in events.values():
        subprocess.run(["git", "apply", "-"], cwd=copy, input=e.diff.encode(), check=True)
    for name, data in new.items():
        assert (copy / name).read_text() == data


def test_outside_git(record: Callable[..., Recording], tmp_path: Path) -> None:
    rec = record({"a.txt": "a\n", ".gitignore": "build/\n"}, git_repo=False)
    assert rec.info.repo_root is None
    ready(rec)
    (rec.root / "a.txt").write_text("a\nb\n")
    (rec.root / "build").mkdir()
    (rec.root / "build/out.o").write_bytes(b"\0")
    [e] = rec.wait(1)
    assert (e.op, e.path, e.added) == ("modify", "a.txt", 1)


def test_outside_git_only_the_files_the_session_touches_are_hashed(record: Callable[..., Recording]) -> None:
    # the snapshot keeps each file's content; its blob hash is computed when the file is first met (an edit, the
    # end): a directory of many files costs its reads at start, not their hashes
    files = {f"f{i}.txt": f"{i}\n" for i in range(50)}
    rec = record(files, git_repo=False)
    ready(rec)
    (rec.root / "f7.txt").write_text("7\nmore\n")
    [e] = rec.wait(1)
    assert (e.path, e.before_hash) == ("f7.txt", blob_hash(b"7\n"))
    rec.stop()
    assert "f7.txt" in rec.recorder.final_patch().files  # (with ready()'s probe, when the snapshot met it)
    # the snapshot's files not met are still as read, without a hash (sha None); the one met holds its hash
    snapshot = rec.recorder._plain.files
    unhashed = [f for f, (_, sha, _, _) in snapshot.items() if sha is None]
    assert sorted(f for f in unhashed if f.endswith(".txt")) == sorted(f for f in files if f != "f7.txt")
    assert snapshot["f7.txt"][1] == blob_hash(b"7\n")


def test_outside_git_a_directory_of_large_files_is_not_read_whole(
    record: Callable[..., Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracer.capture._dirsnapshot as dirsnapshot

    monkeypatch.setattr(dirsnapshot, "SNAPSHOT_BYTES", 3 << 20)  # 3 MiB instead of 16 MiB, for speed
    big = b"x" * (2 << 20)
    rec = record({"a.txt": "a\n", "big1.bin": big, "big2.bin": big, "big3.bin": big}, git_repo=False)
    ready(rec)
    (rec.root / "a.txt").write_text("a\nb\n")  # small files are still recorded, with their diff
    [e] = rec.wait(1)
    assert (e.op, e.path, e.added) == ("modify", "a.txt", 1)
    rec.stop()
    warnings = rec.recorder.warnings
    assert len(warnings) == 1 and "the largest 2 files, from 2097152 bytes up, were not read" in warnings[0]
    assert "git repository" in warnings[0]


def test_outside_git_the_snapshot_reads_the_smallest_files_first_and_no_more_than_its_budget(
    record: Callable[..., Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file under the size limit was read whatever their total (`tracer shell -c true` in /usr: 25 s, 410 MB):
    now the smallest are read first, up to SNAPSHOT_BYTES, and the rest are only stat'ed."""
    import tracer.capture._dirsnapshot as dirsnapshot

    monkeypatch.setattr(dirsnapshot, "SNAPSHOT_BYTES", 10_000)
    files = {f"a-large-{i:02}.txt": "x" * 999 + "\n" for i in range(20)}  # first in the walk, 20 KB
    files |= {f"z-small-{i:02}.txt": f"{i}\n" for i in range(20)}  # last in the walk, 60 bytes
    rec = record(files, git_repo=False)
    ready(rec)
    snapshot = rec.recorder._plain
    assert set(snapshot.stats) >= set(files)
    read = {f for f in snapshot.files if f.endswith(".txt")}
    assert read == {f"z-small-{i:02}.txt" for i in range(20)} | {f"a-large-{i:02}.txt" for i in range(9)}
    (rec.root / "z-small-07.txt").write_text("7\nseven\n")  # read at start: a diff
    (rec.root / "a-large-15.txt").write_text("y\n")  # not read: a change of unknown content
    rec.wait_until(lambda evs: {e.path for e in evs} >= {"z-small-07.txt", "a-large-15.txt"})
    rec.stop()
    by_path = {e.path: e for e in rec.events}
    assert by_path["z-small-07.txt"].op == "modify" and "+seven" in by_path["z-small-07.txt"].diff
    unread = by_path["a-large-15.txt"]
    assert (unread.op, unread.oversized, unread.before_hash, unread.diff) == ("modify", True, None, "")
    assert [w for w in rec.recorder.warnings if "the largest 11 files, from 1000 bytes up, were not read" in w]


def test_outside_git_files_past_the_snapshot_budget_are_edits_only_when_they_change(
    record: Callable[..., Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files the start snapshot did not read (a temp dir of big files) are never edits unless written."""
    import tracer.capture._dirsnapshot as dirsnapshot

    monkeypatch.setattr(dirsnapshot, "SNAPSHOT_BYTES", 3 << 20)  # 3 MiB instead of 16 MiB, for speed
    big = b"x" * (2 << 20)
    rec = record({"a.txt": "a\n", "big1.bin": big, "big2.bin": big, "big3.bin": big, "big4.bin": big}, git_repo=False)
    ready(rec)
    os.close(os.open(rec.root / "big2.bin", os.O_WRONLY))  # opened for writing and closed: nothing written
    os.utime(rec.root / "big3.bin")  # touched: a change of its times only
    with open(rec.root / "big4.bin", "ab") as f:
        f.write(b"more")
    (rec.root / "a.txt").write_text("a\nb\n")
    rec.wait_until(lambda evs: {e.path for e in evs} >= {"a.txt", "big3.bin", "big4.bin"})
    rec.stop()  # the last comparison with the start: still nothing about big1/big2
    by_path = {e.path: e for e in rec.events}
    assert sorted(by_path) == ["a.txt", "big3.bin", "big4.bin"], [(e.op, e.path) for e in rec.events]
    for name in ("big3.bin", "big4.bin"):  # there at start, content never read: a change of unknown content
        e = by_path[name]
        assert (e.op, e.oversized, e.before_hash, e.diff) == ("modify", True, None, ""), e
    final = rec.recorder.final_patch()
    assert "a.txt" in final.files and not [f for f in final.files if f.startswith("big")]
    assert sorted(o.split(":")[0] for o in final.omitted) == ["big3.bin", "big4.bin"]


def test_outside_git_files_past_the_snapshot_file_count_are_not_edits(
    record: Callable[..., Recording], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracer.capture._dirsnapshot as dirsnapshot

    monkeypatch.setattr(dirsnapshot, "SNAPSHOT_FILES", 5)
    rec = record({f"f{i:02}.txt": f"{i}\n" for i in range(20)}, git_repo=False)
    ready(rec, forget=False)  # every event from the start counts
    (rec.root / "new.txt").write_text("new\n")
    rec.stop()
    assert [(e.op, e.path) for e in rec.events if not e.path.startswith("probe")] == [("create", "new.txt")]


def test_a_write_seen_before_its_commands_start_mark_is_that_commands(tmp_path: Path) -> None:
    """The observer can hear of a write before the command's start mark comes through the PTY: whose edit it
    is, is asked when the path is read (after its quiet period), not when the write is heard of."""
    from tests.conftest import make_repo
    from tracer.capture.commands import CommandTracker

    repo = make_repo(tmp_path / "repo", {"f.txt": "a\n"})
    tracker = CommandTracker(lambda e: None)
    t0 = time.monotonic()
    clock = lambda: int((time.monotonic() - t0) * 1e6)  # noqa: E731
    events: list[FileChange] = []
    rec = EditRecorder(
        workspace_info(repo), emit=events.append, clock=clock, command_at=tracker.command_at, tmp_dir=tmp_path
    )
    rec.start()
    try:
        tracker.start(clock(), "pytest -q", str(repo))
        tracker.end(clock(), 1)
        (repo / "f.txt").write_text("a\nb\n")  # the write of `printf b >> f.txt`, a builtin, at once
        tracker.start(clock(), "printf b >> f.txt", str(repo))  # its start mark, a moment later
        deadline = time.monotonic() + DEADLINE
        while not events and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        rec.stop()
    assert [(e.path, e.command_id) for e in events] == [("f.txt", 2)]


def test_a_binary_change_gets_its_patch_only_where_it_is_kept(tmp_path: Path) -> None:
    """An edit event keeps no binary patch, so none is made for it (zlib over the whole file at each read of a
    binary file that grows); the final patch, which keeps it, still gets git's ``GIT binary patch``."""
    from tracer.capture._edits_diff import file_diff
    from tracer.capture._gitobjects import read_file_state

    (tmp_path / "a").write_bytes(b"\x00\x01" * 5000)
    (tmp_path / "b").write_bytes(b"\x00\x01" * 5000 + b"\x02" * 100)
    old, new = read_file_state(tmp_path / "a", 1 << 20), read_file_state(tmp_path / "b", 1 << 20)
    whole = file_diff("db.bin", "db.bin", old, new)
    assert whole.binary and "GIT binary patch" in whole.text
    event = file_diff("db.bin", "db.bin", old, new, binary_patch_text=False)
    assert event.binary and "GIT binary patch" not in event.text
    assert whole.text.startswith(event.text) and event.text.endswith(" 100644\n")  # the same header lines


def test_blob_ids_are_gits_on_both_sides_of_the_openssl_size_and_small_ones_leave_openssl_unloaded(
    tmp_path: Path,
) -> None:
    """Blobs under ``OPENSSL_FROM`` bytes are hashed by CPython's own SHA-1 (importing hashlib loads OpenSSL, 3.4
    MB resident for the rest of a recording), larger ones by OpenSSL's: the same ids as ``git hash-object``."""
    from tracer.capture._dirsnapshot import OPENSSL_FROM, hash_file

    for size in (0, 1, OPENSSL_FROM - 1, OPENSSL_FROM, 3 * OPENSSL_FROM + 7):
        path = tmp_path / f"f{size}"
        path.write_bytes(os.urandom(size))
        expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
        assert blob_hash(path.read_bytes()) == expected.stdout.strip() == hash_file(str(path))[0]
    code = (
        "import sys; from tracer.capture._gitobjects import blob_hash; "
        "blob_hash(b'x' * 100_000); print('_hashlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stdout + done.stderr
