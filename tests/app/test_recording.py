"""`tracer shell` as a user runs it: a real terminal (pexpect), a real bash, resizes, other shells."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, git, make_repo, shell_c, shell_user
from tracer.capture._gittree import UNTRACKED_WHY
from tracer.model import Resize, Session
from tracer.store import read_session

PROMPT = "REC$ "


def spawn(tmp_path: Path, *args: str, rc: str = f"PS1='{PROMPT}'\n") -> tuple[pexpect.spawn, Path]:
    user = User(tmp_path, {".bashrc": rc})
    return user.tracer_shell(tmp_path, *args), user.sessions


def finish(child: pexpect.spawn, sessions: Path) -> Path:
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    (path,) = sessions.glob("*.tracer")
    return path


def test_resizes_reach_the_shell_and_the_recording(tmp_path: Path) -> None:
    child, sessions = spawn(tmp_path)
    child.expect_exact(PROMPT)
    child.setwinsize(40, 120)  # the outer terminal is resized: SIGWINCH to tracer
    child.sendline("stty size")
    child.expect_exact("40 120")
    child.expect_exact(PROMPT)
    session = read_session(finish(child, sessions))
    assert (session.header.cols, session.header.rows) == (80, 24)
    assert [(r.cols, r.rows) for r in session.of_type(Resize)] == [(120, 40)]
    (cmd, _) = session.commands()
    resize_t = session.of_type(Resize)[0].t
    assert resize_t < cmd.start


def test_users_own_startup_file_runs(tmp_path: Path) -> None:
    rc = f"PS1='{PROMPT}'\nalias greet='echo hello-from-alias'\nPROMPT_COMMAND='LAST=$?'\n"
    child, sessions = spawn(tmp_path, rc=rc)
    child.expect_exact(PROMPT)
    child.sendline("greet")
    child.expect_exact("hello-from-alias")
    child.expect_exact(PROMPT)
    child.sendline("false")
    child.expect_exact(PROMPT)
    child.sendline('echo "last=$LAST"')
    child.expect_exact("last=1")  # the user's PROMPT_COMMAND saw the command's status
    child.expect_exact(PROMPT)
    session = read_session(finish(child, sessions))
    assert [(c.command, c.exit_status) for c in session.commands()] == [
        ("greet", 0),
        ("false", 1),
        ('echo "last=$LAST"', 0),
        ("exit", 0),
    ]


@pytest.mark.skipif(shutil.which("dash") is None and not Path("/bin/sh").exists(), reason="no plain sh")
def test_an_unsupported_shell_is_recorded_as_output_only(tmp_path: Path) -> None:
    sh = shutil.which("dash") or "/bin/sh"
    child, sessions = spawn(tmp_path, "--shell", sh)
    child.expect("recording output only")
    child.sendline("PS1='SH$ '")
    child.expect_exact("SH$ ")
    child.sendline("echo plain-output")
    child.expect_exact("plain-output")
    child.expect_exact("SH$ ")
    path = finish(child, sessions)
    session = read_session(path)
    assert session.header.shell_kind == "other"
    assert session.commands() == []
    assert b"plain-output" in b"".join(e.data for e in session.events if hasattr(e, "data"))


def test_typed_ahead_commands_wait_for_the_baseline(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "before\n"})
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    child = user.tracer_shell(repo)
    child.sendline("echo after > a.txt")  # typed before the prompt, before the baseline is taken
    child.expect_exact(PROMPT)
    child.expect_exact(PROMPT)
    path = finish(child, tmp_path / "sessions")
    session = read_session(path)
    assert session.header.baseline_patch == ""  # the start state is the committed one
    assert session.final_patch is not None and "+after" in session.final_patch.patch
    assert next(c.command for c in session.commands()) == "echo after > a.txt"


def tracer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``tracer ARGS`` in ``cwd``, with no terminal: its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def record_one_command(command: str, *, cwd: Path, out: Path) -> Session:
    """:func:`shell_c`, which must succeed; the session."""
    proc = shell_c(command, cwd=cwd, out=out)
    assert proc.returncode == 0, proc.stderr
    return read_session(out)


def test_one_command_mode_takes_the_baseline_before_the_command_runs(tmp_path: Path) -> None:
    # `tracer shell -c`: the command's own edits are recorded, never mistaken for the start state
    repo = make_repo(tmp_path / "repo", {"a.txt": "before\n"})
    session = record_one_command("echo after > a.txt; echo new > b.txt", cwd=repo, out=tmp_path / "c.tracer")
    assert session.header.baseline_patch == ""
    assert session.final_patch is not None
    assert sorted(session.final_patch.files) == ["a.txt", "b.txt"]
    assert "+after" in session.final_patch.patch


def test_a_commands_end_is_when_it_ended_not_when_the_recorder_was_ready(tmp_path: Path) -> None:
    # `tracer shell -c true` recorded `true` as taking as long as the recorder's set-up after it started (60 ms
    # here; seconds beside thousands of untracked files): its end was stamped once the set-up was joined.
    # Here git is slowed by 2 s where only the set-up calls it (reading the remotes for the header).
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    real_git = shutil.which("git")
    assert real_git is not None
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "git").write_text(f'#!/bin/sh\ncase "$*" in *--get-regexp*remote*) sleep 2;; esac\nexec {real_git} "$@"\n')
    (slow / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{slow}:{os.environ['PATH']}"}
    out = tmp_path / "c.tracer"
    proc = shell_c("echo b > a.txt", cwd=repo, out=out, env=env)
    assert proc.returncode == 0, proc.stderr
    session = read_session(out)
    (command,) = session.commands()
    assert session.end is not None and command.end is not None
    assert session.end.t - command.end > 1_500_000  # (microseconds) it ended before the set-up was done
    # its edit, found once the file observer was up (after its end), is still its own
    (change,) = session.file_changes()
    assert change.path == "a.txt" and change.command_id == command.id == 1 and change.t > command.end


def test_a_data_set_lying_untracked_stays_out_of_the_session_and_the_user_is_told(tmp_path: Path) -> None:
    # 200 MB of untracked data made a 209 MB session, and held `tracer shell -c true` 20 s while git hashed it
    repo = make_repo(tmp_path / "repo", {"a.txt": "before\n"})
    (repo / "data").mkdir()
    for i in range(3):
        with open(repo / "data" / f"shard-{i}.bin", "wb") as f:
            f.truncate(12 << 20)  # 36 MiB, sparse: nothing to write, and nothing git should read
    (repo / "todo.txt").write_text("small and new: kept\n")
    out = tmp_path / "c.tracer"
    proc = shell_c("echo after > a.txt", cwd=repo, out=out)
    assert proc.returncode == 0, proc.stderr
    said = "3 untracked files (36.0 MiB) past the 16 MiB of untracked files a session keeps are left out of it"
    assert said in proc.stderr
    session = read_session(out)
    assert "todo.txt" in session.header.baseline_patch and "shard" not in session.header.baseline_patch
    assert session.final_patch is not None and session.final_patch.files == ("a.txt",)
    assert out.stat().st_size < 64 << 10
    assert session.end is not None and any(said in w for w in session.end.warnings)
    # the header says what the start state leaves out, and `tracer show` and `tracer verify` tell the user
    assert session.header.baseline_omitted == (f"data/: untracked, 3 files, {36 << 20} bytes; {UNTRACKED_WHY}",)
    shown = tracer("show", str(out), cwd=repo)
    assert "start     1 left out of the start state" in shown.stdout
    assert f"  omitted  data/: untracked, 3 files, {36 << 20} bytes" in shown.stdout
    trace = json.loads(tracer("export", str(out), "--format", "json", cwd=repo).stdout)  # and so does a trace
    assert trace["artifacts"]["baseline_omitted"] == list(session.header.baseline_omitted)
    test = ["--test-command", "test -e data/shard-2.bin"]
    without = tracer("verify", str(out), *test, cwd=repo)
    assert without.returncode == 1, without.stderr
    assert "if the tests need them, verify again with --copy data/\n" in without.stderr
    copied = tracer("verify", str(out), *test, "--copy", "data", cwd=repo)
    assert copied.returncode == 0, copied.stderr
    assert "leaves out" not in copied.stderr  # they passed: nothing to hint


@pytest.mark.parametrize("redact", [True, False])
def test_a_pyc_holding_a_token_stays_out_of_the_final_patch(tmp_path: Path, redact: bool) -> None:
    # without a .gitignore, __pycache__/*.pyc are files of the work tree; a .pyc holds its module's strings as they
    # are, and its binary patch (deflated, base85) is beyond masking: it carried the token out of the session
    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
    repo = make_repo(tmp_path / "repo", {"main.py": "import mod\n", "mod.py": f"TOKEN = {token!r}\n"})
    out = tmp_path / "c.tracer"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    args = ["shell", "-q", "-o", str(out), *([] if redact else ["--no-redact"]), "-c", f"{sys.executable} main.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", *args], cwd=repo, env=env, stdin=subprocess.DEVNULL, capture_output=True
    )
    assert proc.returncode == 0, proc.stderr
    assert token.encode() in next((repo / "__pycache__").glob("mod.*.pyc")).read_bytes()
    final = read_session(out).final_patch
    assert final is not None
    pyc = [f for f in final.files if f.endswith(".pyc")]
    if redact:
        assert not pyc and ".pyc: a binary file holding a secret (github-pat), left out" in " ".join(final.omitted)
    else:
        assert pyc and not final.omitted
    # an export searches binary patches too, and its trace says what its final patch leaves out
    doc = json.loads(tracer("export", str(out), "--format", "json", cwd=repo).stdout)
    assert "mod." in doc["artifacts"]["omitted"][0] and "(github-pat), left out" in doc["artifacts"]["omitted"][0]
    assert "__pycache__/mod." not in doc["artifacts"]["final_patch"]


def test_one_command_mode_keeps_the_start_state_of_a_command_that_commits_and_switches_branch(tmp_path: Path) -> None:
    # with -c the baseline's patch is written while the command runs: it must still be the start state's
    repo = make_repo(tmp_path / "repo", {"a.txt": "committed\n"})
    start_head = git(repo, "rev-parse", "HEAD").strip()
    branch = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    (repo / "a.txt").write_text("dirty at start\n")
    command = (
        "git -c user.name=T -c user.email=t@e.invalid commit -qam moved && git checkout -qb elsewhere"
        " && echo after > a.txt"
    )
    session = record_one_command(command, cwd=repo, out=tmp_path / "c.tracer")
    assert (session.header.head_commit, session.header.branch) == (start_head, branch)
    assert "-committed\n+dirty at start" in session.header.baseline_patch
    assert session.final_patch is not None
    assert "-dirty at start\n+after" in session.final_patch.patch


def test_one_command_mode_outside_git_snapshots_the_directory_before_the_command_runs(tmp_path: Path) -> None:
    # outside git the baseline is a snapshot of the directory; many files ahead of sub/a.txt make that
    # snapshot slower than the command's start, so a snapshot taken beside the command would see its edit
    work = tmp_path / "plain"
    (work / "sub").mkdir(parents=True)
    for i in range(3000):
        (work / f"f{i:04}.txt").write_text(f"{i}\n")
    (work / "sub" / "a.txt").write_text("before\n")
    session = record_one_command("echo after > sub/a.txt", cwd=work, out=tmp_path / "c.tracer")
    assert session.final_patch is not None
    assert session.final_patch.files == ("sub/a.txt",)
    assert "-before\n+after" in session.final_patch.patch
    (change,) = session.file_changes()
    assert change.path == "sub/a.txt"


def test_one_command_mode_outside_git_records_against_the_directory_as_it_was(tmp_path: Path) -> None:
    # the snapshot taken before the command (os alone), adopted by the edit recorder once the command runs: a
    # modified, a deleted and a large (hashed, not kept) file, a symbolic link retargeted; what is never recorded
    # (an editor's swap file, a nested repository, the session file itself) stays out
    work = tmp_path / "plain"
    (work / "nested" / ".git").mkdir(parents=True)
    (work / "nested" / "inner.txt").write_text("inner\n")
    (work / "keep.txt").write_text("a\n")
    (work / "gone.txt").write_text("x\n")
    (work / "big.bin").write_bytes(bytes(range(256)) * (5 << 10))  # 1.25 MiB: over the 1 MiB kept per file
    (work / "link").symlink_to("keep.txt")
    (work / ".keep.txt.swp").write_text("swap\n")
    big_hash = subprocess.run(["git", "hash-object", "big.bin"], cwd=work, capture_output=True, text=True).stdout
    command = (
        "echo b >> keep.txt; rm gone.txt; echo more >> big.bin; rm .keep.txt.swp; echo y > nested/inner.txt;"
        " ln -sfn gone.txt link"
    )
    session = record_one_command(command, cwd=work, out=work / "s.tracer")
    changes = {c.path: c for c in session.file_changes()}
    assert sorted(changes) == ["big.bin", "gone.txt", "keep.txt", "link"]
    assert (changes["keep.txt"].op, changes["keep.txt"].diff.endswith(" a\n+b\n")) == ("modify", True)
    assert changes["gone.txt"].op == "delete" and "-x\n" in changes["gone.txt"].diff
    assert changes["big.bin"].oversized and changes["big.bin"].before_hash == big_hash.strip()
    assert changes["link"].op == "modify" and "-keep.txt" in changes["link"].diff
    assert all(c.command_id == 1 for c in changes.values())
    assert session.final_patch is not None
    assert sorted(session.final_patch.files) == ["gone.txt", "keep.txt", "link"]
    assert [o.split(":")[0] for o in session.final_patch.omitted] == ["big.bin"]


@pytest.mark.parametrize("fault", ["corrupt index", "no git"])
def test_one_command_mode_in_a_repository_git_cannot_read_runs_the_command_and_says_edits_are_not_recorded(
    tmp_path: Path, fault: str
) -> None:
    # the baseline tree is written before the command (git without subprocess): a failure is one line, then the
    # command runs and is recorded without edits
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    env = {**os.environ}
    if fault == "corrupt index":
        (repo / ".git" / "index").write_bytes(b"DIRC garbage")
    else:
        env["PATH"] = str(Path(sys.executable).parent)  # python, but no git
    out = tmp_path / "c.tracer"
    proc = shell_c("echo b >> a.txt; echo ran", cwd=repo, out=out, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ran")
    (line,) = [ln for ln in proc.stderr.splitlines() if "edits are not recorded" in ln]
    assert ("cannot snapshot the working tree" if fault == "corrupt index" else "cannot run git") in line
    assert "Traceback" not in proc.stderr
    session = read_session(out)
    assert [c.command for c in session.commands()] == ["echo b >> a.txt; echo ran"]
    assert session.file_changes() == [] and session.final_patch is None


def test_one_command_mode_inside_git_directory_asks_git_once_and_records_the_plain_directory(tmp_path: Path) -> None:
    # in .git, git finds no work tree: the directory is recorded as a plain one, and git is asked that once
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    log = tmp_path / "git.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = shutil.which("git")
    assert real_git is not None
    (bin_dir / "git").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real_git} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    out = tmp_path / "c.tracer"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = shell_c("echo note > description", cwd=repo / ".git", out=out, env=env)
    assert proc.returncode == 0, proc.stderr
    # the work tree is looked up once (its first question is this one; the lookup asks again, more simply, when it
    # fails): before, the recorder looked it up a second time
    asked = [line for line in log.read_text().splitlines() if "--symbolic-full-name HEAD" in line]
    assert len(asked) == 1, asked
    session = read_session(out)
    assert session.header.workspace == str(repo / ".git") and session.header.head_commit is None
    assert [c.path for c in session.file_changes()] == ["description"]


def test_one_command_mode_outside_git_with_a_gitignore_leaves_out_what_it_ignores(tmp_path: Path) -> None:
    work = tmp_path / "plain"
    (work / "build").mkdir(parents=True)
    (work / ".gitignore").write_text("build/\n*.log\n")
    (work / "build" / "out.o").write_text("old\n")
    (work / "a.txt").write_text("a\n")
    session = record_one_command(
        "echo new > build/out.o; echo l > run.log; echo b >> a.txt", cwd=work, out=tmp_path / "s"
    )
    assert [c.path for c in session.file_changes()] == ["a.txt"]
    assert session.final_patch is not None and session.final_patch.files == ("a.txt",)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_records_commands_with_their_exit_statuses(tmp_path: Path, shell: str) -> None:
    user = shell_user(tmp_path, shell, PROMPT)
    sessions = user.sessions
    child = user.tracer_shell(tmp_path)
    child.expect_exact(PROMPT)
    for line in ["echo one", "false", "true && echo two | tr a-z A-Z"]:
        child.sendline(line)
        child.expect_exact(PROMPT)
    path = finish(child, sessions)
    session = read_session(path)
    assert session.header.shell_kind == shell
    assert [(c.command, c.exit_status) for c in session.commands()] == [
        ("echo one", 0),
        ("false", 1),
        ("true && echo two | tr a-z A-Z", 0),
        ("exit", 0),
    ]
    assert b"TWO" in session.commands()[2].output


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(("last", "failed"), [("exit", 1), ("exit 3", 2)], ids=["bare-exit", "exit-3"])
def test_a_bare_exit_after_a_failure_is_recorded_with_its_status_and_not_counted_as_a_failure(
    tmp_path: Path, shell: str, last: str, failed: int
) -> None:
    """The shell ends with the status of the command before a bare ``exit``: the session keeps that status (it is
    what the shell did), and the closing line, ``tracer show`` and ``tracer ls`` count one failure, not two. An
    ``exit 3`` is a failure of its own."""
    user = shell_user(tmp_path, shell, PROMPT)
    child = user.tracer_shell(tmp_path)
    child.expect_exact(PROMPT)
    child.sendline("false")
    child.expect_exact(PROMPT)
    child.sendline(last)
    child.expect(pexpect.EOF)
    closing = child.before or ""
    child.close()
    assert child.exitstatus == (1 if last == "exit" else 3)
    (path,) = user.sessions.glob("*.tracer")
    session = read_session(path)
    assert [(c.command, c.exit_status, c.failed) for c in session.commands()] == [
        ("false", 1, True),
        (last, 1 if last == "exit" else 3, last != "exit"),
    ]
    assert f"2 commands ({failed} failed)" in closing, closing
    shown = subprocess.run(
        [sys.executable, "-m", "tracer", "show"], env=user.env, capture_output=True, text=True, check=True
    ).stdout
    assert f"2 commands ({failed} failed)" in shown, shown
    listed = subprocess.run(
        [sys.executable, "-m", "tracer", "ls"], env=user.env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert listed[1].split()[4:6] == ["2", str(failed)], listed


@pytest.mark.parametrize(
    ("shell", "prompt_rc", "error"),
    [
        ("bash", f"PS1='{PROMPT}'", b"syntax error near unexpected token"),
        ("bash", f"PS1='two lines\\n{PROMPT}'", b"syntax error near unexpected token"),
        ("zsh", f"PS1='{PROMPT}'", b"parse error near"),
        ("zsh", f"PS1=$'two lines\\n{PROMPT}'", b"parse error near"),
    ],
    ids=["bash", "bash-two-line-prompt", "zsh", "zsh-two-line-prompt"],
)
def test_a_line_that_does_not_parse_has_the_shells_error_as_its_output(
    tmp_path: Path, shell: str, prompt_rc: str, error: bytes
) -> None:
    """bash and zsh print the error before precmd, the only hook that runs for such a line, writes its start mark:
    the error is the command's output all the same, not the prompt's (nor the next command's), and the line's
    own echo is not in it. Of a line continued over several, zsh's history says how many lines were echoed;
    bash's joins them (``cmdhist``), so their echo after the first stays with the error."""
    user = shell_user(tmp_path, shell, PROMPT)
    (user.home / (".bashrc" if shell == "bash" else ".zshrc")).write_text(prompt_rc + "\n")
    child = user.tracer_shell(tmp_path)
    child.expect_exact(PROMPT)
    for line in ["echo one", "", "echo )", "echo two", "if true; then\necho ok\nfi )"]:  # "": a prompt of its own
        child.send(line.replace("\n", "\r") + "\r")
        child.expect_exact(PROMPT)
    session = read_session(finish(child, user.sessions))
    commands = session.commands()
    assert [c.command for c in commands][:3] == ["echo one", "echo )", "echo two"]
    assert [c.exit_status != 0 for c in commands][:4] == [False, True, False, True]
    one, bad, two, bad_block, _ = (c.output for c in commands)
    assert one.strip() == b"one" and two.strip() == b"two"
    assert bad.startswith(f"{shell}: ".encode() + error)  # nothing before it (nor readline's paste-off)
    assert b"echo" not in bad and PROMPT.encode() not in bad and b"two lines" not in bad
    assert error in bad_block and b"if true" not in bad_block
    if shell == "zsh":
        assert b"echo ok" not in bad_block
    assert error not in one + two


def test_a_prompt_framework_that_rebuilds_ps0_keeps_each_commands_output_its_own(tmp_path: Path) -> None:
    """A framework that sets PS0 in PROMPT_COMMAND, after tracer's precmd, runs every line without tracer's PS0:
    each start mark comes late, after the command's output, which is the command's all the same."""
    rc = f'PROMPT_COMMAND=\'PS0="[ps0-\\#]\\n"; PS1="[$?]{PROMPT}"\'\n'
    child, sessions = spawn(tmp_path, rc=rc)
    child.expect_exact(PROMPT)
    for line in ["echo one", "false", "echo three"]:
        child.sendline(line)
        child.expect_exact(PROMPT)
    session = read_session(finish(child, sessions))
    commands = session.commands()[:3]
    assert [(c.command, c.exit_status) for c in commands] == [("echo one", 0), ("false", 1), ("echo three", 0)]
    assert [c.output.replace(b"\r", b"") for c in commands] == [b"[ps0-1]\none\n", b"[ps0-2]\n", b"[ps0-3]\nthree\n"]


def test_the_closing_line_counts_files_as_tracer_show_does(tmp_path: Path) -> None:
    """ "Files" is the number of distinct paths edited, in the closing line and in `tracer show` alike (here 3
    edits in 2 files, though the final patch changes only one of them)."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    script = "echo x > scratch.txt; sleep 0.5; rm scratch.txt; sleep 0.5; echo b >> a.txt; sleep 0.5"
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "shell", "-c", script], cwd=repo, env=user.env, capture_output=True
    )
    assert proc.returncode == 0, proc.stderr
    closing = proc.stderr.decode()
    assert "3 edits in 2 files" in closing, closing
    shown = subprocess.run(
        [sys.executable, "-m", "tracer", "show"], env=user.env, capture_output=True, text=True, check=True
    ).stdout
    assert "3 edits in 2 files" in shown, shown
    (path,) = user.sessions.glob("*.tracer")
    final = read_session(path).final_patch
    assert final is not None and final.files == ("a.txt",)


def test_the_secrets_of_the_newest_history_are_learnt_and_nothing_of_it_is_written(tmp_path: Path) -> None:
    """The last HISTORY_BYTES of a history file, from its first whole line: a value in an older line is not
    learnt (bounded time and memory for a history of any size), one in a newer line is."""
    from tracer.app.recording import HISTORY_BYTES, learn_history
    from tracer.redact import record_redactor

    old, new = "Zo8" + "a1" * 6, "Yn3" + "b2" * 6
    history = tmp_path / "history"
    filler = "git status\n" * (HISTORY_BYTES // 11 + 10)
    history.write_text(f"sshpass -p {old} ssh host\n{filler}ssh-keygen -p -P {new} -f k\n")
    redactor = record_redactor()
    assert learn_history(redactor, str(history)) == 1
    assert set(redactor.known) == {new.encode()}
    assert learn_history(redactor, str(tmp_path / "none")) == 1  # (a file that cannot be read: passed over)
    assert b"*" * len(new) in redactor.output(b"old suggestion: " + new.encode() + b"\r\n")


def test_a_history_file_that_is_a_fifo_is_passed_over_without_waiting(tmp_path: Path) -> None:
    """A FIFO in the history file's place (put there after history_file looked: it takes regular files only)
    would block an ordinary open until a writer came, and the session's output waits for this redactor."""
    import threading

    from tracer.app.recording import learn_history
    from tracer.redact import record_redactor

    fifo = tmp_path / "history"
    os.mkfifo(fifo)
    redactor = record_redactor()
    learnt: list[int] = []
    reader = threading.Thread(target=lambda: learnt.append(learn_history(redactor, str(fifo))), daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # (let the blocked open go, so that the test ends)
        with open(fifo, "wb"):
            pass
        pytest.fail("learn_history waited for a writer of the FIFO")
    assert learnt == [0]


def test_a_git_that_does_not_finish_is_stopped_and_the_command_runs_without_edits(tmp_path: Path) -> None:
    """A FIFO where the repository's .gitignore should be: git waits for a writer for ever (`git status` too). The
    start state's git commands are stopped after TRACER_GIT_TIMEOUT seconds; the command runs and is recorded, and
    the user is told which git command did not finish."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    os.mkfifo(repo / ".gitignore")
    out = tmp_path / "s.tracer"
    env = os.environ | {"TRACER_GIT_TIMEOUT": "1"}
    done = shell_c("echo ran", cwd=repo, out=out, env=env)
    assert done.returncode == 0, done.stderr
    assert "ran" in done.stdout
    assert "edits are not recorded" in done.stderr
    assert "--exclude-standard` did not finish within 1 s and was stopped" in done.stderr
    session = read_session(out)
    assert [(c.command, c.exit_status) for c in session.commands()] == [("echo ran", 0)]


def test_the_shell_s_input_is_released_when_the_start_state_s_git_does_not_finish(tmp_path: Path) -> None:
    """What is typed while the start state is read waits for it (so that it cannot change the start state); a git
    that never finishes must not keep it waiting for good: past TRACER_GIT_TIMEOUT the line typed runs."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    os.mkfifo(repo / ".gitignore")
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n"})
    user.env["TRACER_GIT_TIMEOUT"] = "2"
    child = user.tracer_shell(repo)
    child.expect_exact(PROMPT)
    child.sendline("echo typed-$((6 * 7))")
    child.expect_exact("typed-42")  # (pexpect's timeout, 30 s: well past the 2 s)
    child.expect_exact(PROMPT)
    path = finish(child, user.sessions)
    session = read_session(path)
    assert ("echo typed-$((6 * 7))", 0) in [(c.command, c.exit_status) for c in session.commands()]
    assert session.end is not None and any("edits are not recorded" in w for w in session.end.warnings)


def test_a_fifo_for_a_gitignore_outside_git_is_passed_over(tmp_path: Path) -> None:
    """Outside git, the directory's own .gitignore is read by tracer: a FIFO there is not a file to read (an open
    of it waited for a writer for ever, before the command could start)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("a\n")
    os.mkfifo(work / ".gitignore")
    out = tmp_path / "s.tracer"
    done = shell_c("echo b > b.txt", cwd=work, out=out)
    assert done.returncode == 0, done.stderr
    session = read_session(out)
    assert session.final_patch is not None and session.final_patch.files == ("b.txt",)


def test_a_file_read_as_regular_that_is_a_fifo_by_then_is_not_waited_for(tmp_path: Path) -> None:
    """A regular file replaced by a FIFO between its lstat and its open (a program's own churn, or a hostile one)
    is an error to read, not an open that waits for a writer."""
    from tracer._files import open_regular
    from tracer.capture._dirsnapshot import MODE_FILE, _read

    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        _read(str(fifo), MODE_FILE, 0, 1 << 20)
    with pytest.raises(OSError, match="not a regular file"):
        open_regular(str(fifo))
    (tmp_path / "link").symlink_to(tmp_path / "missing")
    with pytest.raises(OSError):
        open_regular(str(tmp_path / "link"), follow=False)
