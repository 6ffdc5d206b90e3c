"""Sessions from someone else: nothing runs without consent, and what runs is sandboxed.

Every session here is crafted (written without this user's key), as a file someone sent would be; each test
checks that a marker outside the worktree is not written unless the user said so, and that the sandbox holds.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import git, make_repo
from tracer.app.verifying import VerifyPlan, verify_session
from tracer.verify import NeedsConsent, PatchDoesNotApply, SandboxUnavailable, find_sandbox, verify

from .conftest import craft

BUG = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n"
)

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def add_file(path: str, content: str) -> str:
    """A ``git diff`` patch creating ``path`` with ``content``."""
    lines = content.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def add_link(path: str, target: Path) -> str:
    """A ``git diff`` patch creating the symbolic link ``path`` to ``target``."""
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": BUG, "test_calc.py": TEST})


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$HOME for the tests under test: a directory of this test, so a write there is seen, not the real one.
    Not below /tmp, which the sandbox replaces with its own: below /var/tmp, which it keeps, read-only."""
    path = Path(tempfile.mkdtemp(prefix="tracer-home-", dir="/var/tmp"))
    monkeypatch.setenv("HOME", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_header_command_does_not_run_without_consent(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command=f"id > {marker} && python -m pytest -q")
    with pytest.raises(NeedsConsent) as caught:
        verify_session(session, timeout=60)
    message = str(caught.value)
    assert f"test command: id > {marker} && python -m pytest -q" in message
    assert "from the session header's test_command" in message
    assert "final patch to calc.py" in message
    assert "--yes" in message
    assert not marker.exists()
    assert git(repo, "worktree", "list").count("\n") == 1  # nothing was even checked out


def test_a_recorded_command_runs_only_its_test_part_and_only_with_consent(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    line = f"id > {marker} && python -m pytest -q"
    session = craft(tmp_path / "s.tracer", repo, FIX, commands=("ls", line))
    asked: list[VerifyPlan] = []
    with pytest.raises(NeedsConsent, match="you did not confirm"):
        verify_session(session, timeout=60, confirm=lambda plan: asked.append(plan) or False)
    (plan,) = asked
    assert plan.test.command == "python -m pytest -q"
    assert plan.test.origin == f"the test-like part of recorded command 2 of 2: `{line}`"
    assert not plan.trust.trusted and "carries no signature" in plan.trust.reason
    assert not any("leaves out" in line for line in plan.lines())
    assert not marker.exists()
    # a start state that left files out says so before anyone agrees to run it
    data = craft(tmp_path / "data.tracer", repo, FIX, commands=("ls", line), baseline_omitted=("data/: untracked",))
    with pytest.raises(NeedsConsent):
        verify_session(data, timeout=60, confirm=lambda plan: asked.append(plan) or False)
    assert "  - 1 entry the start state leaves out (`tracer show` lists it; --copy brings untracked ones in)" in (
        asked[-1].lines()
    )


def test_control_characters_cannot_hide_the_command(repo: Path, tmp_path: Path) -> None:
    hidden = "rm -rf ~/x #\r\x1b[2Kpython -m pytest -q\u202e"
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command=hidden)
    with pytest.raises(NeedsConsent) as caught:
        verify_session(session, timeout=60)
    assert "test command: rm -rf ~/x #\\r\\x1b[2Kpython -m pytest -q\\u202e" in str(caught.value)


@needs_bwrap
def test_confirmed_it_runs_sandboxed_by_default(repo: Path, tmp_path: Path) -> None:
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command="python -m pytest -q")
    result = verify_session(session, timeout=60, confirm=lambda plan: True)
    assert (result.verdict, result.trusted, result.isolation, result.passed) == ("passed", False, "bubblewrap", 1)


@pytest.fixture
def server() -> Iterator[tuple[int, list[object]]]:
    """A real TCP server on 127.0.0.1: (its port, the connections it accepted)."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=5)
    sock.close()


def escape_tests(port: int, home: Path) -> str:
    """A patch adding tests that try the network and a write to $HOME, and a conftest hook that tries too."""
    tests = (
        "import os, socket\n"
        "def test_network():\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=10).close()\n"
        "def test_home():\n"
        f"    open({str(home / 'from-test')!r}, 'w').write('x')\n"
    )
    hook = (
        "def pytest_configure(config):\n"
        "    try:\n"
        f"        open({str(home / 'from-hook')!r}, 'w').write('x')\n"
        "    except OSError as e:\n"
        "        print('hook could not write:', e)\n"
    )
    return add_file("test_escape.py", tests) + add_file("conftest.py", hook)


@needs_bwrap
def test_the_sandbox_has_no_network_and_a_read_only_home(
    repo: Path, tmp_path: Path, home: Path, server: tuple[int, list[object]]
) -> None:
    port, accepted = server
    session = craft(tmp_path / "s.tracer", repo, FIX + escape_tests(port, home))
    # the user gave the command: consent for it, but the code under test is the session's, so it is sandboxed
    result = verify_session(session, timeout=120, test_command="python -m pytest -q")
    statuses = {t.name: t.status for t in result.tests}
    assert statuses == {
        "test_calc.py::test_add": "passed",
        "test_escape.py::test_network": "failed",
        "test_escape.py::test_home": "failed",
    }
    assert "ConnectionRefusedError" in result.output or "Network is unreachable" in result.output
    assert "Read-only file system" in result.output
    assert "hook could not write: [Errno 30] Read-only file system" in result.output
    assert accepted == []
    assert list(home.iterdir()) == []
    assert (result.isolation, result.command_source) == ("bubblewrap", "flag")


def test_without_the_sandbox_the_same_tests_reach_both(
    repo: Path, tmp_path: Path, home: Path, server: tuple[int, list[object]]
) -> None:
    """The control: the same session with --no-sandbox and --yes does reach the server and $HOME."""
    port, accepted = server
    session = craft(tmp_path / "s.tracer", repo, FIX + escape_tests(port, home), test_command="python -m pytest -q")
    result = verify_session(session, timeout=120, yes=True, sandbox=False)
    assert (result.verdict, result.passed, result.isolation) == ("passed", 3, None)
    assert len(accepted) == 1
    assert sorted(p.name for p in home.iterdir()) == ["from-hook", "from-test"]


@needs_bwrap
def test_a_symlink_out_of_the_worktree_is_not_writable_in_the_sandbox(repo: Path, tmp_path: Path, home: Path) -> None:
    link = add_link("out", home)
    writes = add_file("test_link.py", "def test_write():\n    open('out/marker', 'w').write('x')\n")
    session = craft(tmp_path / "s.tracer", repo, FIX + link + writes, test_command="python -m pytest -q")
    result = verify_session(session, timeout=60, yes=True)
    assert {t.name: t.status for t in result.tests}["test_link.py::test_write"] == "failed"
    assert list(home.iterdir()) == []


def test_path_tricks_in_the_patch_are_refused(repo: Path, tmp_path: Path) -> None:
    link = add_link("up", tmp_path)
    for i, patch in enumerate([add_file("../outside.py", "x = 1\n"), link + add_file("up/outside.py", "x = 1\n")]):
        session = craft(tmp_path / f"s{i}.tracer", repo, patch, test_command="true")
        with pytest.raises(PatchDoesNotApply):
            verify_session(session, timeout=60, yes=True, sandbox=False)
    assert not (tmp_path / "outside.py").exists()


@pytest.mark.parametrize(
    "path",
    [
        "sub/.git/config",
        "sub/.GIT/hooks/pre-commit",
        "sub/.git. /config",  # NTFS drops trailing dots and spaces
        "sub/git~1/config",  # NTFS's short name of .git
        "sub/.g\u200cit/config",  # HFS+ ignores the zero-width non-joiner
        ".git/hooks/post-checkout",
    ],
)
def test_a_patch_writing_into_a_git_directory_is_refused_before_anything_is_applied(
    repo: Path, tmp_path: Path, path: str
) -> None:
    """git apply refuses these paths, and GNU patch, its fallback, wrote them: a nested ``sub/.git`` whose
    ``core.fsmonitor`` runs a command as soon as git looks at ``sub``. Refused up front, before the user is asked,
    naming the path and the session file."""
    config = "[core]\n\tfsmonitor = touch /tmp/tracer-fsmonitor-ran\n"
    nested = FIX + add_file(path, config) + add_file("sub/ok.txt", "fine\n")
    session = craft(tmp_path / "s.tracer", repo, nested, test_command="true")
    with pytest.raises(PatchDoesNotApply, match=r"inside a \.git directory") as caught:
        verify_session(session, timeout=60, confirm=lambda plan: pytest.fail("asked about a hostile patch"))
    assert repr(path) in str(caught.value) and str(session) in str(caught.value)
    with pytest.raises(PatchDoesNotApply):  # and below the app, where the worktree applies a final patch
        verify(
            repo=repo,
            start_commit=git(repo, "rev-parse", "HEAD").strip(),
            baseline_patch="",
            final_patch=nested,
            test_command="true",
            command_source="flag",
            timeout=60,
        )
    assert not (repo / "sub").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_a_rename_into_a_git_directory_is_refused_too() -> None:
    from tracer.gitpaths import unsafe_paths

    rename = "diff --git a/x b/sub/.Git/config\nsimilarity index 100%\nrename from x\nrename to sub/.Git/config\n"
    assert unsafe_paths(rename) == ["sub/.Git/config"]
    quoted = 'diff --git "a/sub/.g\\342\\200\\214it/c" "b/sub/.g\\342\\200\\214it/c"\nnew file mode 100644\n'
    assert unsafe_paths(quoted) == ["sub/.g\u200cit/c"]
    spaced = "diff --git a/my dir/.git/x b/my dir/.git/x\nnew file mode 100644\n"
    assert unsafe_paths(spaced) == ["my dir/.git/x"]
    fine = FIX + add_file(".gitignore", "*.pyc\n") + add_file("a.git/x", "1\n") + add_file("b/.github/x", "1\n")
    assert unsafe_paths(fine) == []


def test_files_named_like_git_but_not_git_still_verify(repo: Path, tmp_path: Path) -> None:
    patch = FIX + add_file(".gitignore", "*.pyc\n") + add_file("vendor.git/notes.txt", "1\n")
    session = craft(tmp_path / "s.tracer", repo, patch, test_command="python -m pytest -q")
    assert verify_session(session, timeout=60, yes=True, sandbox=False).verdict == "passed"


def test_a_sandbox_that_cannot_run_is_refused_with_a_way_out(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "bash", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SandboxUnavailable, match=r"bubblewrap is not installed.*apt-get install bubblewrap"):
        find_sandbox()
    # a bwrap that cannot make namespaces (user namespaces off) says so, as the real one does
    fake = bin_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command="true")
    with pytest.raises(SandboxUnavailable) as caught:
        verify_session(session, timeout=60, yes=True)
    message = str(caught.value)
    assert "No permissions to creating new namespace" in message and "user namespaces" in message
    assert "--no-sandbox" in message and "--image" in message
    with pytest.raises(SandboxUnavailable):
        verify_session(session, timeout=60, yes=True, sandbox=True)


def tracer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_the_cli_without_a_terminal_stops_with_exit_3(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command=f"touch {marker}; python -m pytest -q")
    done = tracer("verify", str(session), cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert f"test command: touch {marker}; python -m pytest -q" in done.stderr
    assert "Nothing was run" in done.stderr
    assert not marker.exists()


@needs_bwrap
def test_the_cli_asks_on_a_terminal(repo: Path, tmp_path: Path) -> None:
    session = craft(tmp_path / "s.tracer", repo, FIX, test_command="python -m pytest -q")
    child = pexpect.spawn(
        sys.executable, ["-m", "tracer", "verify", str(session)], cwd=str(tmp_path), encoding="utf-8", timeout=60
    )
    child.expect("is not trusted: it carries no signature")
    child.expect("runs in: a bubblewrap sandbox")
    child.expect(r"run it\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    child = pexpect.spawn(
        sys.executable, ["-m", "tracer", "verify", str(session)], cwd=str(tmp_path), encoding="utf-8", timeout=120
    )
    child.expect(r"run it\? \[y/N\]")
    child.sendline("y")
    child.expect(r"ran in\s+a bubblewrap sandbox")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
