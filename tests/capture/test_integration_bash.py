"""bash's known traps: the user's PROMPT_COMMAND, DEBUG trap, bash-preexec, PS0, history settings, login."""

from __future__ import annotations

import re

import pytest

from tests.capture.conftest import PROMPT, Shell, StartShell

#: A small stand-in for bash-preexec (not packaged here), built on the same mechanisms: a DEBUG trap that
#: fires once per command line after the prompt, and PROMPT_COMMAND hooks first and last.
BASH_PREEXEC = r"""
preexec_functions=() precmd_functions=()
__bp_ready=
__bp_precmd_invoke() {
    local s=$? f
    for f in "${precmd_functions[@]}"; do (exit "$s"); "$f"; done
    (exit "$s")
}
__bp_interactive_mode() { __bp_ready=1; }
__bp_in_prompt_command() {
    local line
    while IFS= read -r line; do
        [[ $1 == "$line" ]] && return 0
    done <<<"${PROMPT_COMMAND[*]}"
    return 1
}
__bp_preexec_invoke() {
    [[ -n $COMP_LINE || -z $__bp_ready ]] && return
    if __bp_in_prompt_command "$BASH_COMMAND"; then
        __bp_ready=  # like bash-preexec: a PROMPT_COMMAND entry after __bp_interactive_mode disarms it
        return
    fi
    __bp_ready=
    local line f
    line=$(HISTTIMEFORMAT= builtin history 1)
    line=${line#*[0-9]  }
    for f in "${preexec_functions[@]}"; do "$f" "$line"; done
}
trap '__bp_preexec_invoke' DEBUG
PROMPT_COMMAND=$'__bp_precmd_invoke\n'"${PROMPT_COMMAND:-}"$'\n__bp_interactive_mode'
"""


def test_user_prompt_command_string_sees_the_exit_status(start_shell: StartShell) -> None:
    sh = start_shell("bash", "PROMPT_COMMAND='echo \"pc-saw-$?\"; history -a'\nHISTFILE=~/.hist\n")
    sh.prompt()
    for line in ("false", "true", "sh -c 'exit 7'"):
        sh.run(line)
    sh.finish()
    assert sh.commands() == [("false", 1), ("true", 0), ("sh -c 'exit 7'", 7), ("exit", None)]
    assert re.findall(rb"pc-saw-\d+", sh.output()) == [b"pc-saw-0", b"pc-saw-1", b"pc-saw-0", b"pc-saw-7"]
    assert (sh.home / ".hist").read_text() == "false\ntrue\nsh -c 'exit 7'\nexit\n"


def test_user_prompt_command_array_sees_the_exit_status(start_shell: StartShell) -> None:
    rc = "PROMPT_COMMAND=('echo \"pc1-$?\"' 'echo \"pc2-$?\"')\n"
    sh = start_shell("bash", rc)
    sh.prompt()
    sh.run("sh -c 'exit 3'")
    sh.run("declare -p PROMPT_COMMAND")
    sh.finish()
    assert sh.commands() == [("sh -c 'exit 3'", 3), ("declare -p PROMPT_COMMAND", 0), ("exit", None)]
    assert re.findall(rb"pc[12]-\d+", sh.output()) == [b"pc1-0", b"pc2-0", b"pc1-3", b"pc2-3", b"pc1-0", b"pc2-0"]


def test_an_existing_debug_trap_keeps_working(start_shell: StartShell) -> None:
    sh = start_shell("bash", "trap 'n_dbg=$((n_dbg + 1)); last_dbg=$BASH_COMMAND' DEBUG\n")
    sh.prompt()
    sh.run("true")
    sh.run('echo "last=$last_dbg"')
    sh.run("trap -p DEBUG")
    sh.finish()
    assert sh.commands() == [("true", 0), ('echo "last=$last_dbg"', 0), ("trap -p DEBUG", 0), ("exit", None)]
    assert b'last=echo "last=$last_dbg"' in sh.outputs()['echo "last=$last_dbg"']
    assert b"n_dbg=$((n_dbg + 1))" in sh.outputs()["trap -p DEBUG"]


def test_bash_preexec_loaded_by_the_user_keeps_working(start_shell: StartShell) -> None:
    rc = (
        "source ~/bash-preexec.sh\n"
        'preexec_functions+=(my_preexec); my_preexec() { echo "PRE[$1]"; }\n'
        'precmd_functions+=(my_precmd); my_precmd() { echo "POST[$?]"; }\n'
    )
    sh = start_shell("bash", rc, files={"bash-preexec.sh": BASH_PREEXEC})
    sh.prompt()
    sh.run("echo hello")
    sh.run("false")
    sh.finish()
    assert sh.commands() == [("echo hello", 0), ("false", 1), ("exit", None)]
    assert b"PRE[echo hello]" in sh.outputs()["echo hello"]
    assert b"PRE[false]" in sh.outputs()["false"]
    assert re.findall(rb"POST\[\d+\]", sh.output()) == [b"POST[0]", b"POST[0]", b"POST[1]"]


def test_prompts_that_set_ps0_and_ps1_themselves(start_shell: StartShell) -> None:
    # A prompt framework that rebuilds PS0 and PS1 at every prompt, after our precmd ran: the commands
    # are still recorded, with their statuses (their start marks come late, after their output).
    rc = f"PS0='[ps0-static]\\n'\nPROMPT_COMMAND='PS0=\"[ps0-\\#]\\n\"; PS1=\"[$?]{PROMPT}\"'\n"
    sh = start_shell("bash", rc)
    sh.prompt()
    sh.run("echo one")
    sh.run("false")
    sh.run("echo three")
    sh.finish()
    # (`exit` ends the shell before any precmd could notice it.)
    assert sh.commands() == [("echo one", 0), ("false", 1), ("echo three", 0)]
    output = sh.output()
    assert b"[ps0-1]\r\r\none" in output and b"[ps0-2]" in output


def test_ps0_and_prompt_command_replaced_by_the_user(start_shell: StartShell) -> None:
    sh = start_shell("bash")
    sh.prompt()
    sh.run("PS0='[mine]\\n'")  # put back at the next prompt
    sh.run("echo two")
    # Our precmd is gone: PS0 writes the previous command's end.
    for line in ("PROMPT_COMMAND='echo pc-$?'", "false", "echo four"):
        sh.send(line + "\r")
        sh.expect(PROMPT)
        sh.editing()
    sh.finish()
    assert sh.commands() == [
        ("PS0='[mine]\\n'", 0),
        ("echo two", 0),
        ("PROMPT_COMMAND='echo pc-$?'", 0),
        ("false", 1),
        ("echo four", 0),
        ("exit", None),
    ]
    assert sh.outputs()["echo two"] == b"[mine]\r\r\ntwo\r\n"
    assert b"pc-1" in sh.output()


HISTORY_RC = (
    "HISTFILE=~/.bash_history\nHISTSIZE=100\nHISTFILESIZE=100\n"
    "HISTCONTROL=ignorespace:ignoredups:erasedups\nHISTIGNORE='ls*:&'\n"
)
HISTORY_LINES = [
    "echo one",
    " echo secret",
    "echo two",
    "echo one",
    "echo one",
    "ls -d /",
    "  echo secret two",
    "for i in 1\rdo echo $i\rdone",
    "echo two",
    "history | wc -l",
]


def histories(
    start_shell: StartShell, rc: str, lines: list[str], last: str = "exit", files: dict[str, str] | None = None
) -> tuple[str, str, Shell]:
    """The history file bash writes for ``lines`` and then ``last`` (the line that ends the shell), plain and
    hooked; and the hooked shell."""
    out = []
    for hooks in (False, True):
        sh = start_shell("bash", rc, files=files, hooks=hooks)
        sh.prompt()
        for line in lines:
            sh.run(line)
        assert sh.finish(last) == 0
        out.append((sh.home / ".bash_history").read_text())
    return out[0], out[1], sh


def test_history_file_is_written_exactly_as_without_tracer(start_shell: StartShell) -> None:
    plain, hooked, sh = histories(
        start_shell, HISTORY_RC, HISTORY_LINES, files={".bash_history": "old one\necho one\nold two\n"}
    )
    assert sh.commands() == [
        ("echo one", 0),
        (" echo secret", 0),
        ("echo two", 0),
        ("echo one", 0),
        ("echo one", 0),
        ("ls -d /", 0),
        ("  echo secret two", 0),
        ("for i in 1; do echo $i; done", 0),
        ("echo two", 0),
        ("history | wc -l", 0),
        ("exit", None),
    ]
    assert hooked == plain
    assert "secret" not in plain and "ls -d" not in plain


def test_nested_bash_does_not_inherit_hooks_even_with_exported_settings(start_shell: StartShell) -> None:
    # The user exports PROMPT_COMMAND and PS0, and `set -a` is on: the nested bash must not break.
    rc = "set -a\nexport PROMPT_COMMAND='echo \"pc-saw-$?\"'\nexport PS0='[user-ps0]\\n'\nset -u\n"
    sh = start_shell("bash", rc)
    sh.prompt()
    sh.send("bash\r")
    sh.started()
    sh.expect(PROMPT)
    sh.editing()
    sh.send("sh -c 'exit 4'\r")
    sh.expect("pc-saw-4")
    sh.expect(PROMPT)
    sh.editing()
    sh.send("env | grep -c -e ^__tracer -e TRACER_\r")
    sh.expect(PROMPT)
    sh.editing()
    sh.send("exit 0\r")
    sh.prompt()
    sh.finish()
    assert sh.commands() == [("bash", 0), ("exit", None)]
    inner = sh.outputs()["bash"]
    assert b"not found" not in inner and b"unbound" not in inner and b"rror" not in inner
    assert b"[user-ps0]" in inner
    # No variable of ours travels (__tracer_precmd does, as a function that does nothing without our
    # nonce, because the user exports the PROMPT_COMMAND that names it).
    assert re.search(rb"TRACER_\r\n[^\n]*\[user-ps0\]\r+\n0\r\n", inner)


def test_login_shell_runs_the_login_files(start_shell: StartShell) -> None:
    files = {
        ".bashrc": "echo BASHRC-READ\n",
        ".profile": "echo PROFILE-READ\n",
    }
    sh = start_shell("bash", "alias hi='echo hi-from-login'\n", files=files, login=True)
    sh.prompt()
    sh.run("hi")
    sh.finish()
    assert sh.commands() == [("hi", 0), ("exit", None)]
    output = sh.output()
    assert b"hi-from-login" in output
    assert b"BASHRC-READ" not in output and b"PROFILE-READ" not in output


def test_non_login_shell_does_not_run_the_login_files(start_shell: StartShell) -> None:
    files = {".bash_profile": "echo PROFILE-READ\n"}
    sh = start_shell("bash", "echo BASHRC-READ\n", files=files)
    sh.prompt()
    sh.finish()
    assert b"BASHRC-READ" in sh.output() and b"PROFILE-READ" not in sh.output()


def test_lines_that_do_not_parse_are_commands_with_status_2(start_shell: StartShell) -> None:
    # bash prints its error and sets $? to 2, but never expands PS0 for them
    sh = start_shell("bash", "HISTFILE=~/.bash_history\nHISTCONTROL=ignoreboth\n")
    sh.prompt()
    for line in ("echo )", "if then fi", "# only a comment", "echo ok", " echo )", "echo ok", "echo ok", "fi"):
        sh.run(line)
    sh.finish()
    assert sh.commands() == [
        ("echo )", 2),
        ("if then fi", 2),
        ("echo ok", 0),
        (" echo )", 2),
        ("echo ok", 0),
        ("echo ok", 0),
        ("fi", 2),
        ("exit", None),
    ]
    assert b"syntax error" in sh.output()
    # and the history is the user's: the space-prefixed line and the duplicates are not in it
    assert (sh.home / ".bash_history").read_text() == "echo )\nif then fi\n# only a comment\necho ok\nfi\nexit\n"


EXIT_RC = "HISTFILE=~/.bash_history\nHISTCONTROL=ignorespace\nHISTIGNORE='exit:ls*'\n"


@pytest.mark.parametrize("last", ["exit", " echo bye; exit", "ls >/dev/null; exit"])
def test_the_line_that_ends_the_shell_stays_out_of_history_as_without_tracer(
    start_shell: StartShell, last: str
) -> None:
    plain, hooked, _ = histories(start_shell, EXIT_RC, ["echo one", "ls -d /", " echo two"], last)
    assert hooked == plain == "echo one\n"


def test_the_users_exit_trap_still_runs_after_ours(start_shell: StartShell) -> None:
    sh = start_shell("bash", EXIT_RC + "trap 'echo \"user-trap-saw-$?\"' EXIT\n")
    sh.prompt()
    sh.run("trap 'echo \"user-trap2-saw-$?\"' EXIT")  # set again, interactively
    sh.run("echo one")
    assert sh.finish("exit 5") == 5
    assert b"user-trap2-saw-5" in sh.output() and b"user-trap-saw" not in sh.output()
    assert (sh.home / ".bash_history").read_text() == "trap 'echo \"user-trap2-saw-$?\"' EXIT\necho one\nexit 5\n"


#: What bash-preexec does to history settings, in a stand-in (not packaged here): when it installs (at the first
#: prompt) it takes `ignorespace` out of HISTCONTROL and turns `ignoreboth` into `ignoredups`, by editing the
#: text of the value; from 0.4 on it then deletes space-prefixed lines from history itself, in its DEBUG trap,
#: when it took `ignorespace` out (``DELETES=1``); earlier versions leave them in history (``DELETES=``).
BASH_PREEXEC_HISTORY = r"""
__bp_hist_installed= __bp_ignorespace=
__bp_adjust_histcontrol() {
    local hc
    if [[ -n $DELETES && ( $HISTCONTROL == *ignorespace* || $HISTCONTROL == *ignoreboth* ) ]]; then
        __bp_ignorespace=yes
    fi
    hc=${HISTCONTROL//ignorespace:}
    hc=${hc//:ignorespace}
    hc=${hc//ignorespace}
    if [[ $hc == *ignoreboth* ]]; then
        hc=${hc//ignoreboth:}
        hc=${hc//:ignoreboth}
        hc=${hc//ignoreboth}
        hc=ignoredups${hc:+:}$hc
    fi
    HISTCONTROL=$hc
}
__bp_forget_spaced() {
    if [[ -n $__bp_ignorespace && $1 == " "* ]]; then
        local n
        n=$(HISTTIMEFORMAT= builtin history 1)
        n=${n#"${n%%[0-9]*}"}
        builtin history -d "${n%%[!0-9]*}"
    fi
}
preexec_functions+=(__bp_forget_spaced)
precmd_functions+=(__bp_install_once)
__bp_install_once() { [[ -n $__bp_hist_installed ]] || { __bp_hist_installed=1; __bp_adjust_histcontrol; }; }
"""


@pytest.mark.parametrize("deletes", ["1", ""], ids=["bash-preexec-0.4+", "bash-preexec-older"])
def test_history_with_bash_preexec_is_as_without_tracer(start_shell: StartShell, deletes: str) -> None:
    files = {"bash-preexec.sh": BASH_PREEXEC + BASH_PREEXEC_HISTORY}
    rc = f"HISTFILE=~/.bash_history\nHISTCONTROL=ignoreboth\nDELETES={deletes}\nsource ~/bash-preexec.sh\n"
    lines = ["echo one", " echo spaced", "echo one", "echo two", " echo spaced two"]
    plain, hooked, _ = histories(start_shell, rc, lines, files=files)
    assert hooked == plain
    assert ("spaced" in plain) == (not deletes)
