"""zsh's traps: the ZDOTDIR trick must leave the user's ZDOTDIR, startup files and HISTFILE as they were."""

from __future__ import annotations

import re

import pytest

from tests.capture.conftest import PROMPT, PROMPT_SETUP, StartShell

ZSH_PROMPT = PROMPT_SETUP["zsh"]


@pytest.fixture(autouse=True)
def _no_user_zdotdir(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare_shell() reads the user's ZDOTDIR from the recorder's environment."""
    monkeypatch.delenv("ZDOTDIR", raising=False)


def test_startup_files_run_and_zdotdir_is_unset_again(start_shell: StartShell) -> None:
    files = {".zshenv": "export FROM_ZSHENV=yes\n", ".zprofile": "echo ZPROFILE-READ\n"}
    sh = start_shell("zsh", "alias hi='echo hi-from-''alias'\n", files=files)
    sh.prompt()
    sh.run("hi")
    sh.run('echo "zd=${ZDOTDIR-unset} env=$FROM_ZSHENV"')
    sh.finish()
    assert sh.commands() == [("hi", 0), ('echo "zd=${ZDOTDIR-unset} env=$FROM_ZSHENV"', 0), ("exit", None)]
    assert b"hi-from-alias" in sh.output()
    assert b"zd=unset env=yes" in sh.output()
    assert b"ZPROFILE-READ" not in sh.output()


def test_the_users_zdotdir_is_used_and_kept(
    start_shell: StartShell, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    zdotdir = tmp_path_factory.mktemp("zdot")
    (zdotdir / ".zshrc").write_text(ZSH_PROMPT + "alias hi='echo hi-from-''zdotdir'\n")
    monkeypatch.setenv("ZDOTDIR", str(zdotdir))
    sh = start_shell("zsh", "echo HOME-ZSHRC-READ\n")
    sh.prompt()
    sh.run("hi")
    sh.run('echo "zd=$ZDOTDIR"; zsh -c \'echo "child-zd=$ZDOTDIR"\'')
    sh.finish()
    output = sh.output()
    assert b"hi-from-zdotdir" in output and b"HOME-ZSHRC-READ" not in output
    assert f"zd={zdotdir}\r\nchild-zd={zdotdir}\r\n".encode() in output


def test_a_zdotdir_set_in_the_users_zshenv(start_shell: StartShell) -> None:
    files = {".zshenv": "ZDOTDIR=~/cfg\n", "cfg/.zshrc": ZSH_PROMPT + "alias hi='echo hi-from-''cfg'\n"}
    sh = start_shell("zsh", "echo HOME-ZSHRC-READ\n", files=files)
    sh.prompt()
    sh.run("hi")
    sh.run('echo "zd=$ZDOTDIR"')
    sh.finish()
    assert b"hi-from-cfg" in sh.output() and b"HOME-ZSHRC-READ" not in sh.output()
    assert f"zd={sh.home}/cfg\r\n".encode() in sh.output()


def test_login_shell_runs_every_login_file_in_order(start_shell: StartShell) -> None:
    files = {
        ".zshenv": "echo ZSHENV-READ\n",
        ".zprofile": "echo ZPROFILE-READ\n",
        ".zlogin": "echo ZLOGIN-READ\nalias hi='echo hi-from-''zlogin'\n",
    }
    sh = start_shell("zsh", "echo ZSHRC-READ\n", files=files, login=True)
    sh.prompt()
    sh.run("hi")
    sh.run("[[ -o login ]] && echo is-login")
    sh.finish()
    output = sh.output()
    assert re.search(rb"ZSHENV-READ.*ZPROFILE-READ.*ZSHRC-READ.*ZLOGIN-READ", output, re.S)
    assert b"hi-from-zlogin" in output and b"is-login" in output
    assert sh.commands() == [("hi", 0), ("[[ -o login ]] && echo is-login", 0), ("exit", None)]


HISTORY_RC = (
    'HISTFILE="${ZDOTDIR:-$HOME}/.zsh_history"\nHISTSIZE=100\nSAVEHIST=100\nsetopt HIST_IGNORE_SPACE HIST_IGNORE_DUPS\n'
)


def test_history_file_is_the_users_and_written_as_without_tracer(start_shell: StartShell) -> None:
    histories = []
    for hooks in (False, True):
        sh = start_shell("zsh", HISTORY_RC, files={".zsh_history": "old one\n"}, hooks=hooks)
        sh.prompt()
        for line in ("echo one", " echo secret", "echo one", "echo two"):
            sh.run(line)
        sh.finish()
        histories.append((sh.home / ".zsh_history").read_text())
        if hooks:
            assert sh.commands() == [
                ("echo one", 0),
                (" echo secret", 0),
                ("echo one", 0),
                ("echo two", 0),
                ("exit", None),
            ]
    plain, hooked = histories
    assert hooked == plain
    assert "echo two" in plain and "secret" not in plain


def test_users_hooks_see_the_right_status(start_shell: StartShell) -> None:
    rc = (
        "autoload -Uz add-zsh-hook\n"
        'precmd() { echo "pc-saw-$?" }\n'
        'my_precmd() { echo "hook-saw-$?" }\nadd-zsh-hook precmd my_precmd\n'
        'preexec() { echo "pre[$1]" }\n'
    )
    sh = start_shell("zsh", rc)
    sh.prompt()
    sh.run("false")
    sh.run("sh -c 'exit 6'")
    sh.finish()
    assert sh.commands() == [("false", 1), ("sh -c 'exit 6'", 6), ("exit", None)]
    output = sh.output()
    assert re.findall(rb"(?:pc|hook)-saw-\d+", output) == [
        b"pc-saw-0",
        b"hook-saw-0",
        b"pc-saw-1",
        b"hook-saw-1",
        b"pc-saw-6",
        b"hook-saw-6",
    ]
    # (zsh runs the `precmd`/`preexec` functions before the hook arrays, so their output falls just
    # outside the command.)
    assert b"pre[false]" in output


def test_hooks_removed_by_the_user_come_back(start_shell: StartShell) -> None:
    sh = start_shell("zsh")
    sh.prompt()
    sh.send("precmd_functions=()\r")  # our precmd is gone: no end mark at this prompt
    sh.expect(PROMPT)
    sh.editing()
    sh.run("false")  # its preexec writes the end of the previous command and puts precmd back
    sh.run("preexec_functions=()")
    sh.run("true")  # precmd put preexec back
    sh.finish()
    assert sh.commands() == [
        ("precmd_functions=()", 0),
        ("false", 1),
        ("preexec_functions=()", 0),
        ("true", 0),
        ("exit", None),
    ]


def test_lines_that_do_not_parse_are_commands(start_shell: StartShell) -> None:
    # zsh prints its error and sets $? to 1, but never runs preexec for them; zshaddhistory sees them
    rc = HISTORY_RC + "setopt interactive_comments\n"
    histories = []
    for hooks in (False, True):
        sh = start_shell("zsh", rc, hooks=hooks)
        sh.prompt()
        for line in ("echo )", "echo ok", " echo )", "# only a comment", "", "fi"):
            sh.run(line)
        sh.finish()
        histories.append((sh.home / ".zsh_history").read_text())
    assert sh.commands() == [("echo )", 1), ("echo ok", 0), (" echo )", 1), ("fi", 1), ("exit", None)]
    assert b"parse error" in sh.output()
    plain, hooked = histories
    assert hooked == plain  # (zshaddhistory is only listened to: the history is the user's)


@pytest.mark.parametrize("eol_mark", [None, "<EOL>", ""])
def test_the_end_of_line_padding_is_the_prompts_not_the_commands_output(
    start_shell: StartShell, eol_mark: str | None
) -> None:
    # PROMPT_SP (zsh's default) prints PROMPT_EOL_MARK and a line of spaces before each prompt, before precmd
    rc = "setopt prompt_sp prompt_cr\n" + (f"PROMPT_EOL_MARK='{eol_mark}'\n" if eol_mark is not None else "")
    sh = start_shell("zsh", rc)
    sh.prompt()
    sh.run("printf no-newline")
    sh.run("echo hi")
    sh.run("cd /tmp")
    sh.run("PROMPT_EOL_MARK='<NEW>'")  # the user changes it: the next prompts show theirs
    sh.run("printf again")
    sh.finish()
    outputs = sh.outputs()
    assert outputs["printf no-newline"] == b"no-newline"
    assert outputs["echo hi"] == b"hi\r\n"
    assert outputs["cd /tmp"] == b""
    assert outputs["printf again"] == b"again"
    shown = sh.output()  # the padding is still in the stream, as the terminal shows it
    assert b"no-newline" + (b"<EOL>" if eol_mark == "<EOL>" else b"") in shown
    assert b"again<NEW>" + b" " * 150 in shown
    marks = sh.parse()[1]
    cd_start = next(i for i, m in enumerate(marks) if m.command == "cd /tmp")
    cd_end = next(m for m in marks[cd_start:] if m.kind == "end")
    assert cd_end.cwd == "/tmp"  # the end mark in PROMPT_EOL_MARK follows `cd`
