"""workspace_info on real repositories: the workspace, HEAD, branch, and a baseline patch git applies."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import git, tree_of
from tracer.capture.workspace import described, workspace_info
from tracer.errors import RecordingError


def test_outside_git_is_a_plain_workspace(tmp_path: Path) -> None:
    info = workspace_info(tmp_path)
    assert (info.workspace, info.repo_root, info.head_commit, info.branch) == (tmp_path, None, None, None)
    assert (info.baseline_patch, info.baseline_tree) == ("", None)


def test_outside_git_no_git_process_is_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``.git`` above the directory: a plain workspace, known without asking git (with no git on PATH here,
    asking would fail). With a ``.git`` (a directory, or the file of a linked worktree) above it, git is asked."""
    plain = tmp_path / "plain" / "sub"
    plain.mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    assert workspace_info(plain).workspace == plain
    for kind in ("dir", "file"):
        repo = tmp_path / kind
        (repo / "sub").mkdir(parents=True)
        if kind == "dir":
            (repo / ".git").mkdir()
        else:
            (repo / ".git").write_text("gitdir: /elsewhere\n")
        with pytest.raises(RecordingError, match="cannot run git"):
            workspace_info(repo / "sub")


def test_clean_repository_from_a_subdirectory(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/a.txt").write_text("a\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    info = workspace_info(tmp_path / "sub")
    assert info.workspace == tmp_path and info.repo_root == tmp_path
    assert info.head_commit == git(tmp_path, "rev-parse", "HEAD").strip()
    assert info.branch == "trunk" and info.baseline_patch == ""
    git(tmp_path, "checkout", "-q", "--detach")
    assert workspace_info(tmp_path).branch is None


def test_baseline_patch_rebuilds_the_start_state_and_leaves_the_index_alone(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("build/\n")
    (repo / "a.txt").write_text("a\n")
    (repo / "gone.txt").write_text("gone\n")
    (repo / "run.sh").write_text("echo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    (repo / "a.txt").write_text("a\nchanged\n")
    (repo / "gone.txt").unlink()
    os.chmod(repo / "run.sh", 0o755)
    (repo / "new dir").mkdir()
    (repo / "new dir/caf\u00e9.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    (repo / "img.bin").write_bytes(bytes(range(256)))
    os.symlink("a.txt", repo / "link")
    (repo / "build").mkdir()
    (repo / "build/out.o").write_bytes(b"\0ignored")
    (repo / "x.swp").write_text("vim swap\n")
    nested = repo / "nested"
    nested.mkdir()
    git(nested, "init", "-q")
    (nested / "n.txt").write_text("n\n")
    git(repo, "add", "a.txt")  # something staged: the index must stay exactly as it is
    index_before = (repo / ".git/index").read_bytes()
    status_before = git(repo, "status", "--porcelain")

    info = workspace_info(repo)

    assert (repo / ".git/index").read_bytes() == index_before
    assert git(repo, "status", "--porcelain") == status_before
    assert "build/out.o" not in info.baseline_patch and "nested" not in info.baseline_patch
    assert "x.swp" not in info.baseline_patch
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "apply", "-", input=info.baseline_patch.encode())
    expected = {k: v for k, v in tree_of(repo).items() if not k.startswith(("build/", "nested/", "x.swp"))}
    assert tree_of(clone) == expected


def test_the_baseline_stores_its_files_in_one_pack_not_a_file_each(tmp_path: Path) -> None:
    # 15,832 untracked files kept at start, one loose object each: ~2.5 s of file creation (63 MiB of 4 KiB blocks)
    from tracer.capture._gittree import remove_store

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "tracked.txt").write_text("t\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@e.invalid", "commit", "-qm", "one")
    (repo / "data").mkdir()
    for i in range(300):
        (repo / "data" / f"{i:03}.txt").write_text(f"{i}\n" * 50)
    (repo / "tracked.txt").write_text("changed\n")
    (repo / "empty.txt").write_text("")
    info = workspace_info(repo, private=True)
    try:
        assert info.git_store is not None
        objects = Path(info.git_store["GIT_OBJECT_DIRECTORY"])
        stored = [p.relative_to(objects).parts[0] for p in objects.rglob("*") if p.is_file()]
        assert stored.count("pack") == 2 and len(stored) == 5  # a pack and its index; the empty blob, two trees
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(repo), str(clone))
        git(clone, "apply", "-", input=info.baseline_patch.encode())
        assert tree_of(clone) == {k: v for k, v in tree_of(repo).items()}  # the patch is the start state, whole
    finally:
        remove_store(info.git_store)


def test_a_branch_whose_name_has_slashes_and_a_detached_head(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "feature/deep/x")
    (tmp_path / "a.txt").write_text("a\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    assert workspace_info(tmp_path).branch == "feature/deep/x"
    git(tmp_path, "tag", "v1")
    git(tmp_path, "checkout", "-q", "v1")
    info = workspace_info(tmp_path)
    assert info.branch is None and info.head_commit == git(tmp_path, "rev-parse", "HEAD").strip()


def test_the_patch_written_later_is_the_start_states(tmp_path: Path) -> None:
    """``describe=False`` (``tracer shell -c``): the baseline tree now, its patch and remote later — after the
    work tree, the index and ``HEAD`` moved on — are those ``describe=True`` gives at once."""
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "remote", "add", "origin", "https://token@example.com/org/repo.git")
    (tmp_path / "a.txt").write_text("committed\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "one")
    (tmp_path / "a.txt").write_text("dirty at start\n")
    (tmp_path / "new.txt").write_text("untracked at start\n")
    at_once = workspace_info(tmp_path)
    later = workspace_info(tmp_path, describe=False)
    assert (later.baseline_patch, later.remote_url) == ("", None)
    assert later.baseline_tree == at_once.baseline_tree
    (tmp_path / "a.txt").write_text("after\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "two")
    git(tmp_path, "checkout", "-qb", "other")
    assert described(later) == at_once
    assert "+dirty at start" in at_once.baseline_patch and at_once.remote_url == "https://example.com/org/repo.git"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    assert described(workspace_info(outside, describe=False)) == workspace_info(outside)


def test_unborn_repository(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "first.txt").write_text("first\n")
    info = workspace_info(tmp_path)
    assert info.head_commit is None and info.branch is not None
    assert "new file mode 100644" in info.baseline_patch and "+first\n" in info.baseline_patch


def test_a_change_racily_clean_in_the_index_is_in_the_baseline(tmp_path: Path) -> None:
    """A file changed in place to content of the same size, in the second its index entry was written, has the
    stat data the entry holds; git finds the change only because the entry is racily clean (its mtime is not
    older than the index file's), so it hashes the file again. The baseline's private copy of the index must
    keep that rule: a copy dated now made such changes vanish from the baseline (seen under load)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "core.trustctime", "false")  # only the mtime tells, as when the ctimes share a second
    old = time.time_ns() - 100 * 10**9
    (repo / "b.txt").write_bytes(b"z\r\r\ny = 1")
    os.utime(repo / "b.txt", ns=(old, old))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "start")
    (repo / "b.txt").write_bytes(b"tab\there\n")  # the same 9 bytes' size, the same inode
    os.utime(repo / "b.txt", ns=(old, old))
    os.utime(repo / ".git" / "index", ns=(old, old))  # the index written in the same second as the entry
    info = workspace_info(repo)
    assert git(repo, "diff-files", "--name-only") == "b.txt\n"  # git itself sees it (and writes no index)
    assert "+tab\there" in info.baseline_patch


def test_the_remote_url_is_the_upstreams_without_credentials(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    assert workspace_info(tmp_path).remote_url is None  # no remote
    git(tmp_path, "remote", "add", "backup", "https://backup.example/team/calc.git")
    assert workspace_info(tmp_path).remote_url == "https://backup.example/team/calc.git"  # the only one
    git(tmp_path, "remote", "add", "origin", "https://ghp_s3cret@github.com/team/calc.git?private_token=x")
    assert workspace_info(tmp_path).remote_url == "https://github.com/team/calc.git"  # origin, token removed
    git(tmp_path, "remote", "add", "fork", "https://me:pa55@example.org:8443/me/calc")
    git(tmp_path, "config", "branch.main.remote", "fork")  # the branch's upstream wins
    assert workspace_info(tmp_path).remote_url == "https://example.org:8443/me/calc"


def test_public_url_keeps_what_holds_no_secret() -> None:
    from tracer.capture.workspace import public_url

    assert public_url("git@github.com:team/calc.git") == "git@github.com:team/calc.git"
    assert public_url("ssh://git@host.example/team/calc") == "ssh://host.example/team/calc"
    assert public_url("/srv/git/calc.git") == "/srv/git/calc.git"
    assert public_url("https://user:pw@[::1]:99/x#frag") == "https://[::1]:99/x"
    assert public_url("http://tok:en@host:notaport/p?q=1") == "http://host:notaport/p"


def test_the_untracked_files_left_out_are_named_by_their_top_level_entry(tmp_path: Path) -> None:
    """What the header keeps of the left-out untracked files: one line per top-level entry (what ``tracer verify
    --copy`` takes), the largest first, 50 of them, then one line for the rest."""
    from tracer.capture._gittree import UNTRACKED_WHY

    left_out = {"data/a.bin": (300, 0), "data/deep/b.bin": (200, 0), "big.csv": (400, 0)}
    left_out |= {f"shard-{i:02}/x": (10, 0) for i in range(52)}
    info = workspace_info(tmp_path)._replace(left_out=left_out, baseline_omitted=("huge.bin: over 64 MiB",))
    omitted = info.omitted
    assert omitted[:4] == (
        "huge.bin: over 64 MiB",
        f"data/: untracked, 2 files, 500 bytes; {UNTRACKED_WHY}",
        f"big.csv: untracked, 400 bytes; {UNTRACKED_WHY}",
        f"shard-00/: untracked, 1 file, 10 bytes; {UNTRACKED_WHY}",
    )
    assert len(omitted) == 1 + 50 + 1
    assert omitted[-1] == f"4 more untracked entries (4 files, 40 bytes); {UNTRACKED_WHY}"
    assert workspace_info(tmp_path).omitted == ()


def test_verify_names_the_untracked_entries_to_copy() -> None:
    from tracer.app.verifying import left_out_hint
    from tracer.capture._gittree import UNTRACKED_WHY

    omitted = [
        "huge.bin: over 64 MiB",
        *(f"d{i}/: untracked, 1 file, 9 bytes; {UNTRACKED_WHY}" for i in range(6)),
        f"it's here\x1b[2J: untracked, 9 bytes; {UNTRACKED_WHY}",
        f"3 more untracked entries (3 files, 27 bytes); {UNTRACKED_WHY}",
    ]
    hint = left_out_hint(omitted)
    assert hint.startswith("the session's start state leaves out 9 entries, which the worktree will not have")
    assert hint.endswith("verify again with --copy d0/ --copy d1/ --copy d2/ --copy d3/ --copy d4/ (and 2 more)")
    hint = left_out_hint(omitted, copy=["d0", "d1/", "d2", "d3", "d4", "d5"])
    assert hint.endswith("verify again with --copy 'it'\"'\"'s here\\x1b[2J'")
    assert "--copy" not in left_out_hint(omitted[:1])
    assert "leaves out 1 entry, which the worktree will not have (`tracer show` lists it)" in left_out_hint(omitted[:1])
