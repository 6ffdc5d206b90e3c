"""The final patch: start commit + baseline patch + final patch, applied by git, is the workspace at the end.

Also a property test: random edits, creations, deletions, renames, mode changes and symlinks in a real
repository; the final patch and the chain of per-edit diffs must both rebuild the end state byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git, tree_of
from tracer.capture.files import EditRecorder
from tracer.capture.workspace import WorkspaceInfo, workspace_info
from tracer.model import FileChange


def start_state(info: WorkspaceInfo, dest: Path) -> Path:
    """A clone at the start commit with the baseline patch applied."""
    assert info.repo_root is not None
    git(dest.parent, "clone", "-q", str(info.repo_root), str(dest))
    if info.head_commit:
        git(dest, "checkout", "-q", info.head_commit)
    if info.baseline_patch:
        git(dest, "apply", "-", input=info.baseline_patch.encode())
    return dest


class Run:
    def __init__(self, root: Path, **kw: object) -> None:
        self.events: list[FileChange] = []
        t0 = time.monotonic()
        self.info = workspace_info(root)
        kw.setdefault("tmp_dir", root.parent)  # (its private index: a directory that the test removes)
        self.rec = EditRecorder(
            self.info,
            emit=self.events.append,
            clock=lambda: int((time.monotonic() - t0) * 1e6),
            **kw,  # type: ignore[arg-type]
        )
        self.rec.start()


def test_final_patch_rebuilds_the_end_state(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name, data in {
        "keep.txt": b"keep\n",
        "edit.py": b"def f():\n    return 1\n",
        "gone.txt": b"gone\n",
        "move/me.txt": b"".join(b"line %d\n" for i in range(30)),
        "tool.sh": b"echo\n",
        "img.bin": bytes(range(256)) * 4,
    }.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    os.symlink("keep.txt", repo / "link")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    (repo / "dirty.txt").write_text("untracked at start\n")  # baseline patch material
    (repo / "keep.txt").write_text("keep\nuncommitted\n")
    run = Run(repo, size_limit=1000)
    before = threading.active_count()
    (repo / "edit.py").write_text("def f():\n    return 2\n")
    (repo / "gone.txt").unlink()
    git(repo, "mv", "move/me.txt", "moved.txt")
    os.chmod(repo / "tool.sh", 0o755)
    (repo / "img.bin").write_bytes(bytes(range(255, -1, -1)) * 8)  # binary, over the size limit
    (repo / "link").unlink()
    os.symlink("edit.py", repo / "link")
    (repo / "dirty.txt").write_text("untracked at start\nand edited\n")
    (repo / "crlf.txt").write_bytes(b"a\r\nb")
    run.rec.stop()
    assert threading.active_count() <= before
    patch = run.rec.final_patch()
    assert patch.omitted == ()
    assert set(patch.files) >= {"edit.py", "gone.txt", "move/me.txt", "moved.txt", "tool.sh", "img.bin"}
    assert "rename from move/me.txt" in patch.patch and "GIT binary patch" in patch.patch
    clone = start_state(run.info, tmp_path / "clone")
    git(clone, "apply", "-", input=patch.patch.encode())
    assert tree_of(clone) == tree_of(repo)


def test_files_over_the_final_limit_are_omitted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    run = Run(repo, final_file_limit=100)
    (repo / "small.txt").write_text("s\n")
    (repo / "huge.dat").write_bytes(b"h" * 1000)
    run.rec.stop()
    patch = run.rec.final_patch()
    assert patch.files == ("small.txt",)
    assert patch.omitted and patch.omitted[0].startswith("huge.dat: 1000 bytes")


def test_outside_git_final_patch(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    (ws / "b.txt").write_text("b\n")
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(ws), str(copy)], check=True)
    run = Run(ws)
    time.sleep(0.3)  # outside git the baseline is a background snapshot; let it finish (documented race)
    (ws / "a.txt").write_text("a\nA\n")
    (ws / "b.txt").rename(ws / "c.txt")
    (ws / "new.bin").write_bytes(b"\0\1")
    run.rec.stop()
    patch = run.rec.final_patch()
    git(copy, "init", "-q")
    git(copy, "apply", "-", input=patch.patch.encode())
    assert tree_of(copy) == tree_of(ws)


# ------------------------------------------------------------------------------------------ property test

PATHS = ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt"]
LINES = st.sampled_from([b"x", b"y = 1", b"caf\xc3\xa9", b"caf\xe9", b"", b"tab\there", b"z\r"])
CONTENT = st.lists(LINES, max_size=6).flatmap(
    lambda lines: st.sampled_from([b"\n".join(lines), b"\n".join(lines) + b"\n", b"\r\n".join(lines)])
)
OPS = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), CONTENT),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.just(b"")),
    st.tuples(st.just("rename"), st.sampled_from(PATHS), st.sampled_from([p.encode() for p in PATHS])),
    st.tuples(st.just("chmod"), st.sampled_from(PATHS), st.just(b"")),
    st.tuples(st.just("symlink"), st.sampled_from(PATHS), st.sampled_from([b"a.txt", b"../x", b"d"])),
    st.tuples(st.just("pause"), st.just(""), st.just(b"")),
)


def _apply_op(root: Path, op: tuple[str, str, bytes]) -> None:
    kind, rel, arg = op
    path = root / rel
    if kind == "pause":
        time.sleep(0.15)  # let the observer see an intermediate state (the chain must still hold)
        return
    exists = path.is_symlink() or path.exists()
    if kind == "write":
        if path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(arg)
    elif kind == "delete" and exists:
        path.unlink()
    elif kind == "rename" and exists and arg.decode() != rel:
        dest = root / arg.decode()
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
    elif kind == "chmod" and exists and not path.is_symlink():
        os.chmod(path, os.stat(path).st_mode ^ 0o111)
    elif kind == "symlink":
        if exists:
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(arg.decode(), path)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    start=st.dictionaries(st.sampled_from(PATHS), CONTENT, max_size=4),
    dirty=st.lists(OPS, max_size=2),
    ops=st.lists(OPS, min_size=1, max_size=12),
)
def test_random_sessions_rebuild_the_end_state(
    start: dict[str, bytes],
    dirty: list[tuple[str, str, bytes]],
    ops: list[tuple[str, str, bytes]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="tracer-prop-") as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for rel, data in start.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_bytes(data)
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "start", "--allow-empty")
        for op in dirty:  # uncommitted changes at start
            _apply_op(repo, op)
        run = Run(repo)
        for op in ops:
            _apply_op(repo, op)
        run.rec.stop()
        end = tree_of(repo)
        final = run.rec.final_patch()
        clone = start_state(run.info, base / "final")
        if final.patch:
            git(clone, "apply", "-", input=final.patch.encode())
        assert tree_of(clone) == end
        chain = start_state(run.info, base / "chain")
        for e in run.events:
            if e.diff:
                git(chain, "apply", "-", input=e.diff.encode())
        assert tree_of(chain) == end, [(e.op, e.path, e.old_path) for e in run.events]


def test_large_untracked_files_stay_out_of_the_baseline_and_the_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 1 << 20)  # 1 MiB instead of 16, for speed
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "data.bin").write_bytes(os.urandom(2 << 20))  # a data set lying in the work tree, untracked
    (repo / "grows.txt").write_text("small at start\n")
    info = workspace_info(repo)
    assert "data.bin" not in info.baseline_patch and "grows.txt" in info.baseline_patch
    assert set(info.left_out) == {"data.bin"}
    before = set(threading.enumerate())
    events: list[FileChange] = []
    t0 = time.monotonic()
    rec = EditRecorder(info, emit=events.append, clock=lambda: int((time.monotonic() - t0) * 1e6), tmp_dir=tmp_path)
    rec.start()
    (repo / "a.txt").write_text("a\nb\n")
    (repo / "new.bin").write_bytes(os.urandom(2 << 20))  # a new large untracked file
    (repo / "grows.txt").write_bytes(os.urandom(2 << 20))  # in the baseline, grown past the budget: kept as it was
    rec.stop()
    final = rec.final_patch()
    assert set(final.files) == {"a.txt"}  # grows.txt neither changed nor deleted
    assert [o.split(":")[0] for o in final.omitted] == ["grows.txt", "new.bin"]  # data.bin did not change
    assert "grew to 2097152 bytes" in final.omitted[0]
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]


def test_untracked_files_are_kept_by_entry_smallest_first_up_to_their_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data set lying untracked in the work tree stays out of the session (200 MB of it made a 209 MB session
    and held `tracer shell -c true` 20 s): untracked files are kept as `git status` lists them (a new directory
    whole), the smallest first, up to UNTRACKED_BYTES; what is left out at start stays out, its changes are
    recorded without content, and the final patch names them."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 10_000)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "data/README": "tracked: data/ is not new\n"})
    (repo / "notes.txt").write_text("n" * 1000)
    (repo / "newpkg").mkdir()
    for name in ("a.py", "b.py"):
        (repo / "newpkg" / name).write_text("x = 1\n" * 400)  # 2,400 bytes each: the directory is one entry
    (repo / "big.txt").write_text("b" * 8000)
    (repo / "runs").mkdir()
    for i in range(40):
        (repo / "runs" / f"r{i:02}.csv").write_text("1,2\n" * 250)  # 40 KB in a new directory
    (repo / "data" / "loose.csv").write_text("9\n" * 3000)  # beside a tracked file: an entry of its own
    run = Run(repo)
    left = run.info.left_out
    assert set(left) == {"big.txt", "data/loose.csv", *(f"runs/r{i:02}.csv" for i in range(40))}
    for kept in ("notes.txt", "newpkg/a.py", "newpkg/b.py"):
        assert f"+++ b/{kept}\n" in run.info.baseline_patch
    assert "big.txt" not in run.info.baseline_patch and "runs/" not in run.info.baseline_patch
    (repo / "runs" / "r00.csv").write_text("changed\n")  # left out at start: recorded, without content
    (repo / "runs" / "new.csv").write_text("1\n")  # new, in a directory left out at start: stays out
    (repo / "fix.py").write_text("print('fixed')\n")  # new and small: in the final patch
    (repo / "newpkg" / "a.py").write_text("x = 2\n")  # kept at start: an ordinary edit
    run.rec.stop()
    final = run.rec.final_patch()
    assert set(final.files) == {"fix.py", "newpkg/a.py"}
    assert [o.split(":")[0] for o in final.omitted] == ["runs/new.csv", "runs/r00.csv"]
    assert all("left out with the untracked files past the" in o for o in final.omitted)
    by_path = {e.path: e for e in run.events}
    changed = by_path["runs/r00.csv"]
    assert changed.op == "modify" and changed.oversized and changed.before_hash is None and not changed.diff
    assert by_path["newpkg/a.py"].op == "modify" and "+x = 2" in by_path["newpkg/a.py"].diff
    end = start_state(run.info, tmp_path / "end")
    git(end, "apply", "-", input=final.patch.encode())
    assert (end / "fix.py").read_text() == "print('fixed')\n" and (end / "newpkg" / "a.py").read_text() == "x = 2\n"


def test_an_untracked_log_that_grows_through_the_session_keeps_its_start_in_the_final_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log lying untracked in the work tree (a server's, `nohup.out`) was carried whole in the final patch however
    far it grew: past the budget its growth is left out, and the file stays in the tree as the baseline has it
    (left out of the tree, it would look deleted)."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 50_000)
    repo = make_repo(tmp_path / "repo", {"app.py": "print(1)\n"})
    (repo / "server.log").write_text("started\n")
    run = Run(repo)
    assert "+++ b/server.log" in run.info.baseline_patch and not run.info.left_out
    with open(repo / "server.log", "a") as log:
        for i in range(8000):
            log.write(f"GET /item/{i} 200\n")  # ~150 KB
    (repo / "app.py").write_text("print(2)\n")
    run.rec.stop()
    final = run.rec.final_patch()
    assert final.files == ("app.py",) and "server.log" not in final.patch
    assert [o.split(":")[0] for o in final.omitted] == ["server.log"]
    end = start_state(run.info, tmp_path / "end")
    git(end, "apply", "-", input=final.patch.encode())
    assert (end / "server.log").read_text() == "started\n" and (end / "app.py").read_text() == "print(2)\n"


def test_a_repository_inside_the_work_tree_is_not_an_untracked_file(tmp_path: Path) -> None:
    """git lists an embedded repository among the untracked files as ``dir/``: it is never in a tree, so it is never
    counted, left out or named as one."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "vendored").mkdir()
    git(repo / "vendored", "init", "-q")
    (repo / "vendored" / "big.bin").write_bytes(os.urandom(5000))
    (repo / "notes.txt").write_text("n\n")
    found = _gittree.baseline(str(repo), untracked_bytes=1)  # every untracked file past the budget
    assert found is not None and set(found.left_out) == {"notes.txt"}


def test_a_binary_file_holding_a_secret_is_left_out_of_both_patches(tmp_path: Path) -> None:
    """A binary patch is the file deflated and base85-encoded: redaction cannot mask a secret in it. With record-time
    redaction's search, a binary file whose content holds one is left out, and named."""
    from tests.conftest import make_repo
    from tracer.redact import record_redactor

    def secret(data: bytes) -> str | None:
        hits = record_redactor().rules.find(data)
        return hits[0].rule.id if hits else None

    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "at-start.db").write_bytes(b"SQLite\0" + f"token={token}".encode() + bytes(range(256)))
    (repo / "clean.bin").write_bytes(bytes(range(256)) * 4)
    run = Run(repo, secret=secret)
    info = workspace_info(repo)  # (again, with the search: Run's is without it)
    from tracer.capture.workspace import described

    start = described(info, secret=secret)
    assert "at-start.db" not in start.baseline_patch and "clean.bin" in start.baseline_patch
    assert start.baseline_omitted == ("at-start.db: a binary file holding a secret (github-pat), left out",)
    (repo / "mod.cpython-311.pyc").write_bytes(b"\xa7\r\r\n\0\0" + token.encode() + b"\0")
    (repo / "a.txt").write_text(f"a\n{token}\n")  # text: masked by the writer's redactor, kept here
    run.rec.stop()
    final = run.rec.final_patch()
    assert set(final.files) == {"a.txt"} and "mod.cpython-311.pyc" not in final.patch
    assert final.omitted == ("mod.cpython-311.pyc: a binary file holding a secret (github-pat), left out",)
    without = described(info)
    assert "at-start.db" in without.baseline_patch  # redaction off: as it is


def test_thousands_of_untracked_files_left_out_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 256 left-out files that no directory holds whole, git reads their pathspecs from its standard input (a
    data set's names may not fit in a command line)."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 1000)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    for i in range(3000):
        (repo / f"sample-{i:04}.json").write_text("{}\n" * 25)  # 75 bytes each, top-level: an entry each
    info = workspace_info(repo)
    kept = [f"sample-{i:04}.json" for i in range(13)]  # 13 x 75 = 975 bytes, in name order among equals
    assert len(info.left_out) == 3000 - 13
    assert [line[6:] for line in info.baseline_patch.splitlines() if line.startswith("+++ b/")] == kept


def test_a_large_tracked_file_changed_at_start_stays_out_of_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changes present at start had no limit per file (the final patch has FILE_BYTES): a tracked 200 MB data file
    modified before the recording went whole into the header."""
    from tests.conftest import make_repo
    from tracer.capture import workspace

    monkeypatch.setattr(workspace, "FILE_BYTES", 4000)
    repo = make_repo(tmp_path / "repo", {"small.txt": "a\n", "weights.bin": "w\n"})
    (repo / "small.txt").write_text("b\n")
    (repo / "weights.bin").write_bytes(os.urandom(8000))
    info = workspace_info(repo)
    assert "small.txt" in info.baseline_patch and "weights.bin" not in info.baseline_patch
    assert info.baseline_omitted == ("weights.bin: 8000 bytes, over the 4000-byte limit",)


def test_patches_stay_under_their_total_limit_and_say_what_they_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file has its limit, and the patch a total one too (PATCH_BYTES, half of what a reader takes in one
    event): past it, files are left out and named, so the final patch and the header stay readable."""
    from tests.conftest import make_repo
    from tracer.capture import _snapshot

    monkeypatch.setattr(_snapshot, "PATCH_BYTES", 6000)
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n"})
    (repo / "a.txt").write_text("A\n" * 1000)  # ~2 KB of patch, at start
    (repo / "b.txt").write_text("B\n" * 2000)  # ~4 KB: together over the limit
    run = Run(repo)
    assert "a.txt" in run.info.baseline_patch and "b.txt" not in run.info.baseline_patch
    assert run.info.baseline_omitted == ("b.txt: its part of the patch would take it over the 6000-byte limit",)
    (repo / "c.txt").write_text("C\n" * 1000)
    (repo / "d.txt").write_text("D\n" * 2000)
    run.rec.stop()
    final = run.rec.final_patch()
    assert len(final.patch) <= 6000
    assert [o.split(":")[0] for o in final.omitted] == ["d.txt"] and "d.txt" not in final.files


def test_thousands_left_out_beside_tracked_files_are_left_out_by_their_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files left out one by one (in a directory that holds a tracked ``.gitkeep``) made ``git add -A`` match every
    path against every exclude pathspec: 11.7 s a snapshot for 31,808 of them. Past ``_BY_DIRECTORY`` their
    directory is staged path by path and left out whole: the trees are the same, snapshot after snapshot."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 1000)
    repo = make_repo(
        tmp_path / "repo",
        {"a.txt": "a\n", "out/.gitkeep": "", "out/keep.txt": "k\n", "out/gone.txt": "g\n", "out/sub/t.txt": "t\n"},
    )
    for i in range(40):
        (repo / "out" / f"sample-{i:02}.json").write_text("{}\n" * 25)  # 75 bytes each: 13 kept, 27 left out
    (repo / "out" / "sub" / "deep.json").write_text("{}\n" * 30)
    (repo / "out" / ".keep.txt.swp").write_text("vim's")  # scratch: never in a tree
    (repo / "out" / "keep.txt").write_text("changed\n")
    (repo / "out" / "gone.txt").unlink()
    (repo / "top.bin").write_bytes(b"x" * 900)  # a top-level file left out too
    (repo / "out" / "raw").mkdir()  # untracked whole, and left out whole, inside the directory staged path by path
    (repo / "out" / "raw" / "dump.bin").write_bytes(b"d" * 2000)
    hour_ago = time.time() - 3600
    for path in repo.rglob("*"):
        if ".git" not in path.parts:
            os.utime(path, (hour_ago, hour_ago))  # files of a data set: not changed for long

    real_run_git = _gittree.run_git
    left_out_by: list[int] = []  # the paths `git add -A` is told to leave out, per call
    staged_by: list[int] = []  # the paths `update-index --add` is given, per call

    def run_git(args: list[str], **kwargs: Any) -> Any:
        if "add" in args:
            left_out_by.append(sum(a.startswith(":(exclude,literal)") for a in args))
        if "--add" in args and "update-index" in args:
            staged_by.append(kwargs["input"].count(b"\0"))
        return real_run_git(args, **kwargs)

    monkeypatch.setattr(_gittree, "run_git", run_git)

    def trees(by_directory: int, changes: Callable[[], None]) -> list[str]:
        monkeypatch.setattr(_gittree, "_BY_DIRECTORY", by_directory)
        snaps = _gittree.TreeSnapshots(_gittree.GitRepo(str(repo)), str(repo / ".git" / "index"), untracked_bytes=1000)
        try:
            first = snaps.snapshot()
            changes()
            return [first, snaps.snapshot(), *sorted(snaps.left_out)]
        finally:
            snaps.close()

    def during() -> None:  # a tracked file deleted, a kept one changed, a new small one
        (repo / "out" / "sub" / "t.txt").unlink()
        (repo / "out" / "sample-00.json").write_text("{}\n")
        (repo / "out" / "new.txt").write_text("n\n")

    def undo() -> None:
        (repo / "out" / "sub" / "t.txt").write_text("t\n")
        (repo / "out" / "sample-00.json").write_text("{}\n" * 25)
        (repo / "out" / "new.txt").unlink()

    slow = trees(10**9, during)
    undo()
    monkeypatch.setattr(_gittree, "_RACY_NS", 0)  # (every file's times here are recent: see the end)
    fast = trees(5, during)
    assert fast == slow
    # one by one (27 then 26 samples, deep.json, top.bin) and out/raw/; then out/, top.bin and out/raw/
    assert left_out_by == [30, 29, 3, 3]
    assert len(slow) == 2 + 26 + 1 + 1 + 1  # the two trees; 26 samples (one shrank), deep.json, dump.bin, top.bin
    listed = git(repo, "ls-tree", "-r", "--name-only", slow[1]).split()
    assert "out/keep.txt" in listed and "out/new.txt" in listed and "out/.keep.txt.swp" not in listed
    assert "out/gone.txt" not in listed and "out/sub/t.txt" not in listed and "top.bin" not in listed
    assert not [p for p in listed if p.startswith("out/raw/")]  # it was staged path by path into the trees
    # the second snapshot hashes again only what changed since the first: sub/t.txt and gone.txt (gone: removed),
    # sample-00, new.txt and sample-13 (kept now that sample-00 shrank); not the 13 other files it staged
    assert staged_by == [17, 5]
    # ... unless their times are too close to the snapshot to tell a change (here their ctimes, which are now)
    undo()
    monkeypatch.setattr(_gittree, "_RACY_NS", 2_000_000_000)
    assert trees(5, during) == slow and staged_by[2:] == [17, 19]


def test_thousands_left_out_at_the_top_level_are_staged_path_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files left out at the top level have no directory to leave out whole: one pathspec each made every snapshot
    match every path against each (20,000 log files at the top level, 6,964 left out: 1.2-1.5 s a snapshot). Past
    ``_BY_DIRECTORY`` the top level is staged path by path, and ``git add -A`` takes only what is in a directory:
    the trees are the same."""
    from tests.conftest import make_repo
    from tracer.capture import _gittree

    monkeypatch.setattr(_gittree, "UNTRACKED_BYTES", 1000)
    repo = make_repo(
        tmp_path / "repo",
        {"a.txt": "a\n", "gone.txt": "g\n", "src/m.py": "m\n", ".github/ci.yml": "c\n", "run.sh": "r\n"},
    )
    for i in range(40):
        (repo / f"out-{i:02}.log").write_text("x\n" * 37)  # 74 bytes each: 13 kept, 27 left out
    (repo / "src" / "m.py").write_text("changed\n")
    (repo / "gone.txt").unlink()
    (repo / ".a.txt.swp").write_text("vim's")  # scratch: never in a tree
    (repo / "data").mkdir()
    (repo / "data" / "big.bin").write_bytes(b"d" * 2000)  # a directory left out whole

    adds: list[list[str]] = []
    real_run_git = _gittree.run_git

    def run_git(args: list[str], **kwargs: Any) -> Any:
        if "add" in args:
            adds.append(args)
        return real_run_git(args, **kwargs)

    monkeypatch.setattr(_gittree, "run_git", run_git)

    def trees(by_directory: int) -> list[str]:
        monkeypatch.setattr(_gittree, "_BY_DIRECTORY", by_directory)
        snaps = _gittree.TreeSnapshots(_gittree.GitRepo(str(repo)), str(repo / ".git" / "index"), untracked_bytes=1000)
        try:
            first = snaps.snapshot()
            (repo / "a.txt").unlink()  # a tracked top-level file deleted, one changed, a new small one, a new dir
            os.chmod(repo / "run.sh", 0o755)
            (repo / "out-00.log").write_text("x\n")
            (repo / "new.txt").write_text("n\n")
            (repo / "docs").mkdir()
            (repo / "docs" / "d.md").write_text("d\n")
            second = snaps.snapshot()
            return [first, second, *sorted(snaps.left_out)]
        finally:
            snaps.close()
            (repo / "a.txt").write_text("a\n")
            os.chmod(repo / "run.sh", 0o644)
            (repo / "out-00.log").write_text("x\n" * 37)
            (repo / "new.txt").unlink()
            shutil.rmtree(repo / "docs")

    slow = trees(10**9)
    assert all(sum(a.startswith(":(exclude,literal)out-") for a in args) >= 26 for args in adds)
    adds.clear()
    fast = trees(5)
    assert fast == slow
    assert all(not any(a.startswith(":(exclude,literal)out-") for a in args) for args in adds)  # none one by one
    listed = git(repo, "ls-tree", "-r", "--name-only", slow[1]).split()
    assert {"new.txt", "docs/d.md", "src/m.py", ".github/ci.yml", "run.sh", "out-00.log"} <= set(listed)
    assert not {"a.txt", "gone.txt", ".a.txt.swp", "data/big.bin", "out-39.log"} & set(listed)
    assert git(repo, "ls-tree", slow[1], "run.sh").split()[0] == "100755"
