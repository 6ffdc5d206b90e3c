"""verify() on a real Python package with pytest, in real git repositories."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tracer.model import VerifyResult
from tracer.verify import (
    BaselineDoesNotApply,
    CommitNotFound,
    CopyNotFound,
    NoStartCommit,
    NotAGitRepository,
    PatchDoesNotApply,
    RepoNotFound,
    _worktree,
)

from .conftest import Repo, verify_patch

PYTEST_BARE = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {shlex.quote(sys.executable)} -m pytest -p no:cacheprovider"
PYTEST = f"{PYTEST_BARE} -q"

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
CALC_FIXED = CALC.replace("a - b", "a + b")
TESTS = (
    "from calc import add, mul\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_mul():\n    assert mul(2, 3) == 6\n"
)
ADD = "tests/test_calc.py::test_add"
MUL = "tests/test_calc.py::test_mul"


@pytest.fixture
def project(make_repo: Callable[..., Repo]) -> Repo:
    """A package whose add() is wrong: test_add fails, test_mul passes."""
    return make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})


def run_verify(repo: Repo, final_patch: str, /, **kwargs: object) -> VerifyResult:
    return verify_patch(repo, final_patch, **{"test_command": PYTEST, **kwargs})  # type: ignore[arg-type]


def test_a_patch_that_fixes_the_failing_test_passes(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC_FIXED})
    chunks: list[bytes] = []
    progress: list[str] = []
    result = run_verify(project, patch, on_output=chunks.append, on_progress=progress.append, clock_t=42)

    assert result.verdict == "passed", result.output
    assert result.t == 42
    assert result.exit_status == 0
    assert result.command == PYTEST
    assert result.command_source == "flag"
    assert result.patch_method == "git apply"
    assert result.runner == "pytest"
    assert (result.passed, result.failed, result.skipped, result.errors) == (2, 0, 0, 0)
    assert {t.name: t.status for t in result.tests} == {ADD: "passed", MUL: "passed"}
    assert all(t.duration is not None and t.duration >= 0 for t in result.tests)
    assert result.flagged is None
    assert result.fail_to_pass is None
    assert "2 passed" in result.output
    assert b"".join(chunks).decode() == result.output
    assert result.duration is not None and result.duration > 0
    assert result.overhead is not None and 0 < result.overhead < 30
    assert result.verified_at is not None and result.verified_at.endswith("Z")
    assert progress[0] == f"creating worktree at {project.head[:7]}"
    assert "applying patch (git apply)" in progress
    assert f"running: {PYTEST}" in progress
    assert progress[-1] == "removing worktree"
    assert project.worktrees() == [str(project.path)]


def test_compare_base_resolves_and_lists_fail_to_pass(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC_FIXED})
    progress: list[str] = []
    result = run_verify(project, patch, compare_base=True, on_progress=progress.append)

    assert result.verdict == "resolved", result.output
    assert result.fail_to_pass == (ADD,)
    assert result.pass_to_pass == (MUL,)
    assert result.pass_to_fail == ()
    assert f"running on the unpatched base: {PYTEST}" in progress
    assert progress.count("removing worktree") == 2
    assert project.worktrees() == [str(project.path)]


def test_a_wrong_patch_fails(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC.replace("return a - b", "return a - b  # fixed?")})
    result = run_verify(project, patch)

    assert result.verdict == "failed"
    assert result.exit_status == 1
    assert (result.passed, result.failed) == (1, 1)
    assert {t.name: t.status for t in result.tests} == {ADD: "failed", MUL: "passed"}
    assert result.flagged is None
    assert "1 failed, 1 passed" in result.output


def test_a_patch_that_breaks_another_test_is_pass_to_fail(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC_FIXED.replace("a * b", "a ** b")})
    result = run_verify(project, patch, compare_base=True)

    assert result.verdict == "failed"
    assert result.fail_to_pass == (ADD,)
    assert result.pass_to_fail == (MUL,)
    assert result.pass_to_pass == ()


def test_the_baseline_patch_is_applied_first(project: Repo) -> None:
    """The session started with an uncommitted new test; the final patch is on top of it."""
    baseline_files = {
        "tests/test_calc.py": TESTS + "\n\ndef test_sub():\n    from calc import sub\n\n    assert sub(5, 3) == 2\n"
    }
    baseline = project.patch_of(baseline_files)
    patch = project.patch_of({"calc.py": CALC_FIXED + "\n\ndef sub(a, b):\n    return a - b\n"}, on=baseline_files)
    progress: list[str] = []
    result = run_verify(project, patch, baseline_patch=baseline, compare_base=True, on_progress=progress.append)

    assert result.verdict == "resolved", result.output
    assert result.passed == 3
    assert set(result.fail_to_pass or ()) == {ADD, "tests/test_calc.py::test_sub"}
    assert "applying baseline patch (git apply)" in progress


def test_a_patch_that_does_not_apply_names_the_file_and_hunk(project: Repo) -> None:
    other = project.patch_of({"calc.py": CALC.replace("a * b", "a * b * 1")})
    patch = other.replace("-    return a * b\n", "-    return a // b\n")  # a line that is not in the file
    assert patch != other
    with pytest.raises(PatchDoesNotApply) as caught:
        run_verify(project, patch)
    message = str(caught.value)
    assert "calc.py hunk #1 (@@ -3," in message
    assert project.head[:7] in message
    assert "git apply, git apply --3way and patch" in message
    assert project.worktrees() == [str(project.path)]


def test_a_patch_whose_context_moved_applies_with_three_way_merge(make_repo: Callable[..., Repo]) -> None:
    lines = [f"X{i} = {i}\n" for i in range(1, 13)]
    base_source = "".join(lines)
    repo = make_repo({"calc.py": CALC + base_source, "tests/test_calc.py": TESTS})
    # The recorder's patch for a fix made on the commit, but the session started with line X6 changed.
    baseline_files = {"calc.py": CALC + base_source.replace("X6 = 6", "X6 = 60")}
    baseline = repo.patch_of(baseline_files)
    patch = repo.patch_of({"calc.py": CALC_FIXED + base_source.replace("X9 = 9", "X9 = 90")})
    result = run_verify(repo, patch, baseline_patch=baseline)

    assert result.patch_method == "git apply --3way"
    assert result.verdict == "passed", result.output


def test_a_patch_without_blob_ids_falls_back_to_patch_with_fuzz(make_repo: Callable[..., Repo]) -> None:
    lines = "".join(f"X{i} = {i}\n" for i in range(1, 13))
    repo = make_repo({"calc.py": CALC + lines, "tests/test_calc.py": TESTS})
    baseline_files = {"calc.py": CALC + lines.replace("X6 = 6", "X6 = 60")}
    baseline = repo.patch_of(baseline_files)
    patch = repo.patch_of({"calc.py": CALC_FIXED + lines.replace("X9 = 9", "X9 = 90")})
    plain = "".join(line for line in patch.splitlines(keepends=True) if not line.startswith("index "))
    progress: list[str] = []
    result = run_verify(repo, plain, baseline_patch=baseline, on_progress=progress.append)

    assert result.patch_method == "patch"
    assert result.verdict == "passed", result.output
    assert [p for p in progress if p.startswith("applying patch")] == [
        "applying patch (git apply)",
        "applying patch (git apply --3way)",
        "applying patch (patch --fuzz=3)",
    ]


def test_an_empty_patch_is_method_empty_and_the_tests_still_run(project: Repo) -> None:
    result = run_verify(project, "")
    assert result.patch_method == "empty"
    assert result.verdict == "failed"
    assert result.failed == 1


def test_a_timeout_kills_the_whole_process_group(project: Repo, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    command = f"echo $$ > {pidfile}; sleep 60 & sleep 60; echo never"
    started = time.monotonic()
    result = run_verify(project, "", test_command=command, timeout=1.0)

    assert result.verdict == "timeout"
    assert result.exit_status is None
    assert result.flagged is not None and "1 s" in result.flagged
    assert time.monotonic() - started < 20
    pgid = int(pidfile.read_text())
    left = []
    for p in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    assert left == []
    assert project.worktrees() == [str(project.path)]


def test_an_interrupt_ends_the_tests_and_removes_the_worktree(project: Repo) -> None:
    seen: list[str] = []

    def interrupt(chunk: bytes) -> None:
        seen.append(chunk.decode())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_verify(project, "", test_command='echo "$PWD $$"; sleep 60', on_output=interrupt)
    where, pgid = "".join(seen).split()[:2]
    assert not Path(where).exists()
    assert project.worktrees() == [str(project.path)]
    alive = [p for p in psutil.process_iter(["status"]) if _in_group(p, int(pgid))]
    assert alive == []


def _in_group(p: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.Error):
        return False


def test_the_users_working_tree_index_and_stash_are_untouched(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC_FIXED})
    # A busy working tree: a stash entry, a staged change, an unstaged change, an untracked file.
    project.write({"calc.py": CALC + "# stashed\n"})
    project.git("stash", "push", "-q", "-m", "mine")
    project.write({"tests/test_calc.py": TESTS + "# staged\n"})
    project.git("add", "tests/test_calc.py")
    project.write({"calc.py": CALC + "# unstaged\n", "notes.txt": "untracked\n"})
    index = project.path / ".git" / "index"
    before = (
        project.git("status", "--porcelain"),
        index.read_bytes(),
        project.git("stash", "list"),
        project.git("rev-parse", "HEAD", "stash@{0}"),
        (project.path / "calc.py").read_text(),
    )

    result = run_verify(project, patch, compare_base=True)

    assert result.verdict == "resolved", result.output
    after = (
        project.git("status", "--porcelain"),
        index.read_bytes(),
        project.git("stash", "list"),
        project.git("rev-parse", "HEAD", "stash@{0}"),
        (project.path / "calc.py").read_text(),
    )
    assert after == before
    assert project.worktrees() == [str(project.path)]


def test_untracked_files_are_copied_only_when_asked(project: Repo) -> None:
    patch = project.patch_of(
        {
            "tests/test_data.py": (
                "from pathlib import Path\n\n\ndef test_data():\n    assert Path('data.txt').exists()\n"
            )
        }
    )
    (project.path / "data.txt").write_text("needed by the tests\n")
    (project.path / "fixtures").mkdir()
    (project.path / "fixtures" / "a.json").write_text("{}")
    command = f"{PYTEST} tests/test_data.py"

    without = run_verify(project, patch, test_command=command)
    assert without.verdict == "failed"

    progress: list[str] = []
    copied = run_verify(
        project, patch, test_command=command, copy=["data.txt", "fixtures"], on_progress=progress.append
    )
    assert copied.verdict == "passed", copied.output
    assert "copying data.txt" in progress and "copying fixtures" in progress

    with pytest.raises(CopyNotFound, match=r"missing\.txt"):
        run_verify(project, patch, copy=["missing.txt"])
    with pytest.raises(CopyNotFound, match="inside"):
        run_verify(project, patch, copy=["../elsewhere"])
    assert project.worktrees() == [str(project.path)]


def test_a_package_in_src_is_imported_from_the_worktree(make_repo: Callable[..., Repo]) -> None:
    """With a src/ layout the patched code is tested, not an installed copy of the user's checkout."""
    repo = make_repo({"src/calc.py": CALC, "tests/test_calc.py": TESTS})
    patch = repo.patch_of({"src/calc.py": CALC_FIXED})
    result = run_verify(repo, patch)
    assert result.verdict == "passed", result.output


def test_the_tests_run_in_the_subdirectory_the_session_was_recorded_in(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo({"py/calc.py": CALC, "py/tests/test_calc.py": TESTS, "README": "mono repo\n"})
    patch = repo.patch_of({"py/calc.py": CALC_FIXED})
    result = run_verify(repo, patch, repo=repo.path / "py")
    assert result.verdict == "passed", result.output
    assert {t.name for t in result.tests} == {ADD, MUL}


@pytest.mark.parametrize(
    ("command", "verdict", "flag"),
    [
        ("echo '3 skipped in 0.01s'", "passed", "exited 0 but no test passed (3 skipped)"),
        ("echo '2 passed in 0.01s'; exit 2", "failed", "exited with status 2 but pytest reported no failing"),
        ("echo '1 failed, 1 passed in 0.01s'", "failed", "exited 0 although pytest reported 1 failing"),
        ("echo '1 failed, 1 passed in 0.01s'; exit 1", "failed", None),
        ("echo 'all good'", "passed", None),
        ("echo 'broken'; exit 3", "failed", None),
    ],
)
def test_outcomes_that_contradict_the_exit_status_are_flagged(
    project: Repo, command: str, verdict: str, flag: str | None
) -> None:
    result = run_verify(project, "", test_command=command)
    assert result.verdict == verdict
    if flag is None:
        assert result.flagged is None
    else:
        assert result.flagged is not None and flag in result.flagged


def test_pytest_that_collects_nothing_fails_with_a_flag(project: Repo) -> None:
    result = run_verify(project, "", test_command=f"{PYTEST} -k no_such_test")
    assert result.verdict == "failed"
    assert result.exit_status == 5
    assert result.runner == "pytest"
    assert result.flagged is not None and "no failing test" in result.flagged


def test_pytest_through_a_pipe_is_read_from_its_output(project: Repo) -> None:
    patch = project.patch_of({"calc.py": CALC_FIXED})
    result = run_verify(project, patch, test_command=f"{PYTEST_BARE} -v 2>&1 | cat")
    assert result.verdict == "passed"
    assert result.runner == "pytest"
    assert {t.name: t.status for t in result.tests} == {ADD: "passed", MUL: "passed"}


def test_long_output_keeps_the_last_mebibyte(project: Repo) -> None:
    total = 0

    def count(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)

    command = "head -c 3000000 /dev/zero | tr '\\0' 'a'; echo; echo the end"
    result = run_verify(project, "", test_command=command, on_output=count)
    assert total == 3000000 + 1 + len("the end\n")
    assert result.output.startswith("[tracer: the first ")
    assert result.output.endswith("the end\n")
    assert len(result.output) <= (1 << 20) + 100


NOT_APPLYING = "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n"


def test_errors_before_any_worktree_is_made(project: Repo, tmp_path: Path) -> None:
    with pytest.raises(NoStartCommit, match="start commit"):
        run_verify(project, "", start_commit=None)
    with pytest.raises(RepoNotFound, match="does not exist"):
        run_verify(project, "", repo=tmp_path / "gone")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotAGitRepository, match="not a git repository"):
        run_verify(project, "", repo=tmp_path / "plain")
    with pytest.raises(CommitNotFound, match="deadbeef"):
        run_verify(project, "", start_commit="deadbeef" * 5)
    # a damaged or crafted header: never given to git (a NUL stopped it with an internal error; a leading dash or
    # a revision expression would read as an option or name another commit)
    for crafted in ("\x00", "--output=/tmp/x", "HEAD~1", "main", ""):
        with pytest.raises(CommitNotFound, match="is not a commit id"):
            _worktree.resolve_commit(project.path, crafted)
    with pytest.raises(BaselineDoesNotApply, match="do not apply"):
        run_verify(
            project,
            "",
            baseline_patch=NOT_APPLYING,
        )
    assert project.worktrees() == [str(project.path)]


def test_binary_files_renames_and_deletions_apply(project: Repo) -> None:
    project.commit({"old_name.txt": "moved\n", "doomed.txt": "bye\n"})
    (project.path / "blob.bin").write_bytes(bytes(range(256)) * 4)
    project.git("mv", "old_name.txt", "new_name.txt")
    project.git("rm", "-q", "doomed.txt")
    project.git("add", "-A")
    patch = project.git("diff", "--binary", "--cached", "-M", "HEAD")
    project.git("reset", "-q", "--hard", "HEAD")
    assert "GIT binary patch" in patch and "rename from old_name.txt" in patch
    check = (
        "test -f new_name.txt && ! test -e old_name.txt && ! test -e doomed.txt && "
        'python3 -c \'import sys; sys.exit(open("blob.bin", "rb").read() != bytes(range(256)) * 4)\''
    )
    result = run_verify(project, patch, test_command=check)
    assert result.patch_method == "git apply"
    assert result.verdict == "passed", result.output


def test_tmpdir_is_honoured_for_the_worktree(project: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    result = run_verify(project, "", test_command="pwd")
    assert result.output.startswith(str(scratch / "tracer-verify-"))
    assert list(scratch.iterdir()) == []
