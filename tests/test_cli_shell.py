"""`tracer shell` starts without click: its own parser takes exactly what click takes, and leaves the rest to it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import stored_maps
from tracer.cli import note as click_note
from tracer.cli import shell as click_shell
from tracer.cli_shell import SHELL_OPTIONS, parse_note_args, parse_shell_args


def click_params(args: list[str], command: click.Command = click_shell) -> dict[str, object] | None:
    """What click gives ``command`` (``tracer shell``) for ``args``, ``None`` when it stops (an error, ``--help``)."""
    try:
        ctx = command.make_context(command.name or "", list(args))
    except (click.exceptions.Exit, click.ClickException):
        return None
    return dict(ctx.params)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-q"],
        ["-c", "echo hi"],
        ["-cecho hi"],
        ["-qc", "make test"],
        ["-lq", "--no-redact"],
        ["--command=ls -la", "-o", "out.tracer"],
        ["-oout.tracer", "--task", "fix #1", "--test-command", "pytest -q"],
        ["--shell", "/bin/zsh", "--login"],
        ["--task=", "-c", "-q"],  # -c takes the next argument, whatever it looks like
        ["-c", "--help"],
        ["-c", "a", "-c", "b"],  # the last one wins
        ["--quiet", "--"],
        ["-q", "--", "stray"],
        ["stray"],
        ["--help"],
        ["-h"],
        ["-x"],
        ["--unknown"],
        ["-c"],
        ["--output"],
        ["--quiet=yes"],
        ["--out", "x"],  # click does not take abbreviations
        ["-"],
    ],
)
def test_the_fast_parser_agrees_with_click(args: list[str]) -> None:
    ours = parse_shell_args(args)
    theirs = click_params(args)
    if ours is not None:  # what it takes, it takes as click does; what it leaves, click decides
        assert ours == theirs


TOKENS = st.one_of(
    st.sampled_from(sorted(SHELL_OPTIONS)),
    st.sampled_from(["-lq", "-qc", "-ql", "-oX", "--", "-", "--command=", "--task=t", "-h", "--help", "-z", "x"]),
    st.text(alphabet="-=aqlco ", max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=6))
def test_any_command_line_is_parsed_as_click_would_or_left_to_it(args: list[str]) -> None:
    ours = parse_shell_args(args)
    if ours is not None:
        assert ours == click_params(args)


@pytest.mark.parametrize(
    "args",
    [
        ["hypothesis:", "the", "regex", "strips", "non-ASCII"],
        ["-t", "hypothesis", "the regex"],
        ["the regex", "--tag", "fix", "works", "-tdead-end"],  # options among the words, every tag kept
        ["--tag=insight", "x"],
        ["--", "-t", "is", "a", "word", "here"],
        ["-", "a", "dash"],
        ["x", "-t"],  # a missing value
        ["-t", "x"],  # no text
        [],
        ["--help"],
        ["x", "-h"],
        ["x", "--tags", "y"],  # click does not take abbreviations, nor a wrong spelling
        ["-5", "minutes"],  # looks like an option to click: its error
        ["x", "-tt", "-t", "-q"],  # a value is whatever comes next
    ],
)
def test_the_fast_note_parser_agrees_with_click(args: list[str]) -> None:
    # here exactly: what click takes, it takes too (the fast path), what click refuses or answers, it leaves to it
    assert parse_note_args(args) == click_params(args, click_note)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["-t", "--tag", "--tag=", "-tx", "--", "-", "-h", "-q", "--"]),
            st.text(alphabet="-=tagx ", max_size=5),
        ),
        max_size=6,
    )
)
def test_any_note_line_is_parsed_as_click_would_or_left_to_it(args: list[str]) -> None:
    ours = parse_note_args(args)
    if ours is not None:
        assert ours == click_params(args, click_note)


def test_tracer_note_runs_without_click_and_answers_as_click_does(tmp_path: Path) -> None:
    """``tracer note`` outside a recorded shell: click's message and exit status, without importing click (or the
    model, which only an error message needs)."""
    env = {k: v for k, v in os.environ.items() if k != "TRACER_SOCKET"}
    fast = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracer", "note", "-t", "hypothesis", "the", "regex"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in fast.stderr.splitlines() if line.startswith("import time")]
    assert "click" not in imported and "tracer.cli" not in imported
    message = [line for line in fast.stderr.splitlines() if not line.startswith("import time")]
    slow = subprocess.run(  # the same note through click's command
        [sys.executable, "-c", "import sys; from tracer.cli import main; sys.argv = ['tracer', 'note', 'x']; main()"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert fast.returncode == slow.returncode == 3
    assert message == slow.stderr.splitlines()
    assert message[0].startswith("tracer: tracer note works only inside a shell recorded by `tracer shell`")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "TRACER_DIR": str(cwd / "sessions")},
    )


def test_help_and_mistakes_still_get_clicks_answers(tmp_path: Path) -> None:
    helped = run("shell", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "Record this one command line" in helped.stdout
    wrong = run("shell", "--colour", cwd=tmp_path)
    assert wrong.returncode == 2 and "No such option '--colour'" in wrong.stderr
    stray = run("shell", "-q", "extra", cwd=tmp_path)
    assert stray.returncode == 2 and "unexpected extra argument" in stray.stderr.lower()
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").iterdir())


def test_the_fast_path_records_reports_and_exits_with_the_commands_status(tmp_path: Path) -> None:
    proc = run("shell", "-c", "echo out; exit 7", "-o", str(tmp_path / "s.tracer"), cwd=tmp_path)
    assert proc.returncode == 7
    assert proc.stdout.replace("\r", "") == "out\n"
    assert proc.stderr.startswith(f"tracer: saved {tmp_path / 's.tracer'}: 1 command (1 failed)")
    again = run("shell", "-c", "true", "-o", str(tmp_path / "s.tracer"), cwd=tmp_path)
    assert again.returncode == 3 and again.stderr.strip().endswith("exists already: choose another -o path")
    assert "Traceback" not in again.stderr


def test_a_recording_starts_without_click_and_the_command_before_the_store(tmp_path: Path) -> None:
    """What `tracer shell -c` imports before the command starts (the interpreter's import log, in order): no click,
    no model, no store beyond the new file's path; the rest comes while the command runs."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracer", "shell", "-q", "-c", "true", "-o", str(tmp_path / "s")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")]
    assert "click" not in imported and "tracer.cli" not in imported
    assert "tracer.store.writer" in imported  # (made once the command runs)
    assert "tracer.app.crashlog" in imported  # warnings and thread tracebacks go to the log, as under tracer.cli
    interactive = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import tracer.app.recording, tracer.cli_shell"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    before_spawn = {line.rsplit("|", 1)[-1].strip() for line in interactive.stderr.splitlines() if "|" in line}
    assert not before_spawn & {"click", "dataclasses", "tracer.model", "tracer.store.writer", "zstandard", "re2"}


#: Runs the ``tracer`` script ARGV[1] (bin/tracer) with the arguments ARGV[2:] and says ``FORK`` on standard error
#: when the shell is forked.
_MARK_THE_FORK = """
import os, sys
fork = os.fork
def marked():
    sys.stderr.write("FORK\\n")
    sys.stderr.flush()
    return fork()
os.fork = marked
script = sys.argv[1]
sys.argv = ["tracer", *sys.argv[2:]]
with open(script, encoding="utf-8") as f:
    code = compile(f.read(), script, "exec")
exec(code, {"__name__": "__main__"})
"""

#: The ``tracer`` script.
SCRIPT = Path(__file__).resolve().parents[1] / "bin" / "tracer"


def _append_under_importtime(tmp_path: Path, *, git: bool) -> tuple[set[str], set[str], list[dict[str, Any]]]:
    """``tracer shell -c 'echo two >> a.txt'`` in a directory holding ``a.txt`` (a new repository with ``git``), from
    the ``tracer`` script under ``python -S -X importtime`` with the fork marked: the modules imported before the
    fork, those imported after it, and the session's events. The interpreter runs without ``site``, whose ``.pth``
    files may import anything first (this sandbox's imports tempfile)."""
    import tracer

    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    work = tmp_path / "work"
    work.mkdir()
    if git:
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "a.txt").write_text("one\n")
    src = str(Path(tracer.__file__).parent.parent)
    path = os.pathsep.join([src, *(p for p in sys.path if p)])  # (what site would have added, without its .pth)
    argv = [sys.executable, "-S", "-X", "importtime", "-c", _MARK_THE_FORK, str(SCRIPT)]
    proc = subprocess.run(
        [*argv, "shell", "-q", "-c", "echo two >> a.txt", "-o", str(tmp_path / "s.tracer")],
        cwd=work,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PYTHONPATH": path, "SHELL": "/bin/sh"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert "FORK" in lines, proc.stderr
    fork = lines.index("FORK")
    before = {line.rsplit("|", 1)[-1].strip() for line in lines[:fork] if "|" in line}
    after = {line.rsplit("|", 1)[-1].strip() for line in lines[fork:] if "|" in line}
    events = stored_maps(tmp_path / "s.tracer")
    assert [(e["type"], e.get("command", e.get("exit_status"))) for e in events if e["type"].startswith("command")] == [
        ("command_start", "echo two >> a.txt"),
        ("command_end", 0),
    ]
    (change,) = [e for e in events if e["type"] == "file_change"]
    assert (change["path"], change["op"], change["command_id"]) == ("a.txt", "modify", 1)
    assert " one\n+two\n" in change["diff"]  # (against the file as it was, whatever the baseline)
    return before, after, events


def test_outside_git_the_command_starts_with_what_the_first_prompt_imports_and_the_directory_snapshot(
    tmp_path: Path,
) -> None:
    """``tracer shell -c`` outside a repository takes the directory's snapshot before the command starts, with the
    modules the way to the first prompt imports and :mod:`tracer.capture._dirsnapshot` alone: no module of
    :data:`_NOT_BEFORE_THE_SHELL`, no edit recorder (``tracer.capture.files``, 20 ms of imports: docs/performance.md,
    run 14); the recorder adopts the snapshot once the command runs."""
    before, after, _ = _append_under_importtime(tmp_path, git=False)
    assert "tracer.capture._dirsnapshot" in before  # (the -c baseline comes first)
    assert not before & _NOT_BEFORE_THE_SHELL
    lean = {"tracer.capture._dirsnapshot", "tracer._files"}  # (_files: a workspace file read only when regular)
    assert {m for m in before if m.split(".")[0] == "tracer"} <= _THE_WAY_TO_THE_SHELL | lean
    assert {"tracer.store.writer", "tracer.capture.files"} <= after  # the recording went on as usual


def test_in_a_repository_the_command_starts_once_the_baseline_tree_is_written_with_os_alone(tmp_path: Path) -> None:
    """In a repository ``tracer shell -c`` writes the baseline tree before the command starts with the modules of the
    way to the first prompt and :mod:`tracer.capture._gittree` (``git`` run by :func:`tracer._proc.run_git`,
    without ``subprocess``): no module of :data:`_NOT_BEFORE_THE_SHELL`, no edit recorder, no ``tempfile`` (the
    private index goes in the recorder's directory); the recorder adopts the tree once the command runs."""
    before, after, events = _append_under_importtime(tmp_path, git=True)
    assert "tracer.capture._gittree" in before
    assert not before & _NOT_BEFORE_THE_SHELL
    lean = {"tracer.capture._dirsnapshot", "tracer.capture._gittree", "tracer._proc", "tracer._files"}
    assert {m for m in before if m.split(".")[0] == "tracer"} <= _THE_WAY_TO_THE_SHELL | lean
    assert {"tracer.capture.files", "tracer.capture.workspace"} <= after
    (header,) = [e for e in events if e["type"] == "header"]
    assert "+one" in header["baseline_patch"]  # (untracked at start: in the baseline, not the command's edit)


#: What the way to the first prompt must not import: each costs milliseconds of every ``tracer shell``'s start
#: (``typing`` ~10 ms, as it imports ``re``, ``functools`` and ``collections``; docs/performance.md, run 13).
_NOT_BEFORE_THE_SHELL = {
    "typing",
    "re",
    "enum",
    "functools",
    "collections",
    "pathlib",
    "contextlib",
    "threading",
    "signal",
    "shutil",
    "base64",
    "tempfile",
    "subprocess",
    "datetime",
    "json",
    "tomllib",
    "click",
}

#: The modules of tracer's own on the way to the first prompt.
_THE_WAY_TO_THE_SHELL = {
    "tracer",
    "tracer.__main__",
    "tracer.cli_shell",
    "tracer.errors",
    "tracer.userdirs",
    "tracer.app",
    "tracer.app.recording",
    "tracer.capture",
    "tracer.capture._relay",
    "tracer.capture.integration",
    "tracer.capture.marks",
    "tracer.capture.pty",
    "tracer.capture.runtime",
    "tracer.store",
    "tracer.store.paths",
}


def test_the_way_to_the_first_prompt_imports_only_what_it_needs(tmp_path: Path) -> None:
    """``tracer shell`` in a repository, on a real PTY, from the ``tracer`` script, without ``$XDG_RUNTIME_DIR`` (as
    in CI and over ssh): before the shell is forked, no module of :data:`_NOT_BEFORE_THE_SHELL` and no tracer
    module but those of :data:`_THE_WAY_TO_THE_SHELL` is imported; the rest (the writer, the baseline, the model)
    comes while the shell starts, and the recording is whole."""
    import pexpect

    import tracer

    assert SCRIPT.is_file()
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("PS1='@@P''ROMPT@@ '\n")
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    (work / "a.txt").write_text("one\n")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    src = str(Path(tracer.__file__).parent.parent)
    path = os.pathsep.join([src, *(p for p in sys.path if p)])  # (what site would have added, without its .pth)

    def record(name: str) -> list[str]:
        """Record a shell that appends to a.txt; the interpreter's import log, ``FORK`` where the shell forked."""
        log = tmp_path / f"{name}.log"
        argv = [sys.executable, "-S", "-X", "importtime", "-c", _MARK_THE_FORK, str(SCRIPT), "shell", "-q"]
        argv += ["--shell", "bash", "-o", str(tmp_path / f"{name}.tracer")]
        command = " ".join(map(shlex.quote, argv)) + " 2>" + shlex.quote(str(log))
        child = pexpect.spawn(
            "/bin/sh",
            ["-c", "exec " + command],
            cwd=str(work),
            env={
                **{k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"},  # (the temporary directory's)
                "HOME": str(home),
                "TMPDIR": str(runtime),
                "PYTHONPATH": path,
                "TRACER_CONFIG": str(tmp_path / "no-config.toml"),
            },
            encoding="utf-8",
            timeout=60,
        )
        child.expect_exact("@@PROMPT@@")
        child.sendline("echo two >> a.txt")
        child.expect_exact("@@PROMPT@@")
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, log.read_text()
        return log.read_text().splitlines()

    record("first")  # (asks this bash its version once: `bash --version` runs then, and is cached for the next)
    lines = record("s")
    assert "FORK" in lines, lines
    before = {line.rsplit("|", 1)[-1].strip() for line in lines[: lines.index("FORK")] if "|" in line}
    assert not before & _NOT_BEFORE_THE_SHELL
    assert {m for m in before if m.split(".")[0] == "tracer"} <= _THE_WAY_TO_THE_SHELL
    events = stored_maps(tmp_path / "s.tracer")
    assert [e.get("command") for e in events if e["type"] == "command_start"] == ["echo two >> a.txt", "exit"]
    assert any(e["type"] == "file_change" and e["path"] == "a.txt" for e in events)


def test_a_shell_that_does_not_exist_leaves_no_session_file(tmp_path: Path) -> None:
    import pexpect

    sessions = tmp_path / "sessions"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "tracer", "shell", "--shell", str(tmp_path / "no-such-shell")],
        cwd=str(tmp_path),
        env={**os.environ, "TRACER_DIR": str(sessions)},
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    assert "does not exist or is not executable" in (child.before or "")
    assert list(sessions.iterdir()) == []
