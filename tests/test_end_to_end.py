"""The main job, end to end: record a real debugging session in bash, replay it, verify it.

A small Python project in a real git repository; a real bash with the user's own ~/.bashrc in a real PTY
(pexpect) running `tracer shell`; pytest fails, a note is added, an edit fixes the bug, pytest passes, exit.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo, stored_maps
from tracer.store import SessionReader, read_session
from tracer.store.export import export_json
from tracer.store.schema import validate_event, validate_trace

PROMPT = "TRACER-TEST$ "

SLUGIFY = '''import re


def slugify(text):
    """Lower-case words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
'''

TEST_SLUGIFY = """from slug import slugify


def test_ascii():
    assert slugify("Hello World") == "hello-world"


def test_unicode():
    assert slugify("Crème Brûlée") == "crème-brûlée"
"""

FIX = "s/\\[^a-z0-9\\]/[^\\\\w]/"  # sed: keep word characters, unicode included


def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "slugproject", {"slug.py": SLUGIFY, "test_slug.py": TEST_SLUGIFY})


BASHRC = (
    f"PS1='{PROMPT}'\n"
    "alias ll='ls -l'\n"
    "PROMPT_COMMAND='echo -n \"\" > /dev/null'\n"  # the user's own PROMPT_COMMAND keeps working
)


def run(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect_exact(PROMPT)
    return child.before


def record_session(tmp_path: Path, fix: str, exit_status: int = 0) -> tuple[Path, Path, str]:
    """Record the debugging session; `exit` ends the shell with the last command's status."""
    repo = project(tmp_path)
    user = User(tmp_path, {".bashrc": BASHRC})
    child = user.tracer_shell(repo, "--task", "fix: slugify drops unicode", rows=30, cols=100)
    screen = io.StringIO()
    child.logfile_read = screen  # everything the user's terminal was sent
    child.expect_exact("recording to")
    child.expect_exact(PROMPT)
    run(child, "python -m pytest -q -p no:cacheprovider test_slug.py")
    run(child, 'tracer note --tag hypothesis "the regex strips non-ASCII"')
    run(child, f"sed -i '{fix}' slug.py")
    out = run(child, "python -m pytest -q -p no:cacheprovider test_slug.py")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == exit_status  # tracer shell exits with the shell's own status
    saved = re.search(r"saved (\S+\.tracer)", child.before or "")
    path = user.session()
    assert saved is not None and Path(saved.group(1)).name == path.name
    # what the user saw is what they would see without tracer: no marker bytes, no nonce
    assert "\x1b]6973;" not in screen.getvalue() and "6973;" not in screen.getvalue()
    return repo, path, out


def as_user(repo: Path) -> dict[str, str]:
    """The environment of the user who recorded (``User``'s HOME is beside the project): their signing key."""
    return {"XDG_DATA_HOME": str(repo.parent / "home" / ".local" / "share")}


def tracer_cli(*args: str, cwd: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_record_replay_verify_a_real_fix(tmp_path: Path) -> None:
    repo, path, last_output = record_session(tmp_path, FIX)
    assert "2 passed" in last_output

    session = read_session(path)
    assert not session.interrupted and session.problem is None
    h = session.header
    assert h.task == "fix: slugify drops unicode"
    assert h.repo_root == str(repo) and h.branch == "main"
    assert h.head_commit == git(repo, "rev-parse", "HEAD").strip()
    assert (h.shell_kind, h.cols, h.rows) == ("bash", 100, 30)

    commands = session.commands()
    assert [(c.command, c.exit_status) for c in commands] == [
        ("python -m pytest -q -p no:cacheprovider test_slug.py", 1),
        ('tracer note --tag hypothesis "the regex strips non-ASCII"', 0),
        (f"sed -i '{FIX}' slug.py", 0),
        ("python -m pytest -q -p no:cacheprovider test_slug.py", 0),
        ("exit", 0),
    ]
    assert b"1 failed, 1 passed" in re.sub(rb"\x1b\[[0-9;]*m", b"", commands[0].output)
    assert all(c.duration is not None and c.duration >= 0 for c in commands)
    assert all(c.cwd == str(repo) for c in commands)

    (note,) = session.notes()
    assert (note.text, note.tags, note.source, note.command_id) == (
        "the regex strips non-ASCII",
        ("hypothesis",),
        "live",
        commands[1].id,
    )

    changes = [c for c in session.file_changes() if c.path == "slug.py"]
    assert len(changes) == 1
    assert changes[0].op == "modify" and changes[0].command_id == commands[2].id
    assert '-    return re.sub(r"[^a-z0-9]+"' in changes[0].diff
    assert '+    return re.sub(r"[^\\w]+"' in changes[0].diff

    final = session.final_patch
    assert final is not None and final.files == ("slug.py",)
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    subprocess.run(["git", "apply", "--check", "-"], cwd=clean, input=final.patch, text=True, check=True)

    # every event of the real recording validates against its schema, and so does the export
    for event in stored_maps(path):
        validate_event(event)
    with SessionReader(path) as reader:
        validate_trace(json.loads(b"".join(export_json(reader))))

    # no marker bytes reached the screen or the recording
    assert all(b"\x1b]6973;" not in c.output for c in commands)

    status_before = git(repo, "status", "--porcelain")
    verified = tracer_cli(
        "verify",
        str(path),
        "--test-command",
        "python -m pytest -q -p no:cacheprovider",
        cwd=repo,
        env_extra=as_user(repo),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASSED" in verified.stdout
    assert git(repo, "status", "--porcelain") == status_before
    result = read_session(path).verify_result
    assert result is not None and result.verdict == "passed" and result.passed == 2
    assert result.trusted and result.isolation is None  # signed by the user's recorder: theirs, not sandboxed

    shown = tracer_cli("show", str(path), cwd=repo, env_extra={"TRACER_DIR": str(path.parent)})
    assert "5 commands (1 failed), 1 edit in 1 file, 1 note" in shown.stdout
    assert "verdict   passed" in shown.stdout


def test_a_wrong_fix_fails_verification(tmp_path: Path) -> None:
    wrong = "s/text.lower()/text.upper().lower()/"  # changes nothing that matters
    _, path, last_output = record_session(tmp_path, wrong, exit_status=1)
    assert "1 failed" in last_output
    repo = Path(read_session(path).header.workspace)
    # the test command comes from the session: the last test-like command
    verified = tracer_cli("verify", str(path), cwd=repo, env_extra=as_user(repo))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "FAILED" in verified.stdout
    assert read_session(path).verify_result.verdict == "failed"  # type: ignore[union-attr]


def test_a_fix_in_a_repository_without_a_commit_is_verified_from_its_start_state(tmp_path: Path) -> None:
    """A first project: ``git init``, files written, no commit yet. Its start state is all in the session's
    baseline patch, so verify builds it in an empty repository and runs the tests there; it said "no start commit"
    and ran nothing. Recorded outside git (no start state), it still says why it cannot."""
    repo = tmp_path / "first"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "slug.py").write_text(SLUGIFY)
    (repo / "test_slug.py").write_text(TEST_SLUGIFY)
    path = tmp_path / "first.tracer"
    recorded = tracer_cli("shell", "-q", "-o", str(path), "-c", f"sed -i '{FIX}' slug.py", cwd=repo)
    assert recorded.returncode == 0, recorded.stderr
    assert read_session(path).header.head_commit is None
    pytest_cmd = "python -m pytest -q -p no:cacheprovider test_slug.py"
    verified = tracer_cli("verify", str(path), "--compare-base", "--test-command", pytest_cmd, "-y", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "an empty repository" in verified.stderr and "RESOLVED" in verified.stdout.upper()
    assert "test_slug.py::test_unicode" in verified.stdout  # FAIL_TO_PASS
    assert read_session(path).verify_result.verdict == "resolved"  # type: ignore[union-attr]

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("a\n")
    outside = tmp_path / "outside.tracer"
    assert tracer_cli("shell", "-q", "-o", str(outside), "-c", "echo b >> a.txt", cwd=plain).returncode == 0
    refused = tracer_cli("verify", str(outside), "--test-command", "true", "-y", cwd=tmp_path)
    assert refused.returncode != 0 and "not recorded in a git repository" in refused.stderr


def test_replay_opens_the_real_recording(tmp_path: Path) -> None:
    import asyncio

    from tracer.app.replaying import build_app

    _, path, _ = record_session(tmp_path, FIX)

    async def drive() -> None:
        app = build_app(path)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("q")

    asyncio.run(drive())


@pytest.mark.parametrize(
    "command", ["note", "ls", "show", "export", "replay", "verify", "shell", "judge", "rm", "purge"]
)
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    out = tracer_cli(command, "--help", cwd=tmp_path)
    assert out.returncode == 0 and "Usage:" in out.stdout and len(out.stdout) > 200
