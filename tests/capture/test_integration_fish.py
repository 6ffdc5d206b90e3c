"""fish: the user's config runs (login or not), and their own event handlers keep working."""

from __future__ import annotations

import re

from tests.capture.conftest import StartShell, exit_line

LOGIN_RC = "if status is-login\n    echo IS-LOGIN\nelse\n    echo NOT-LOGIN\nend\n"


def test_login_and_non_login(start_shell: StartShell) -> None:
    for login, expected in ((True, b"IS-LOGIN"), (False, b"NOT-LOGIN")):
        sh = start_shell("fish", LOGIN_RC, login=login)
        sh.prompt()
        sh.run("echo hello")
        sh.finish()
        assert expected in sh.output()
        assert sh.commands() == [("echo hello", 0), exit_line("fish")]


def test_users_event_handlers_see_the_right_status(start_shell: StartShell) -> None:
    rc = (
        'function my_pre --on-event fish_preexec; echo "pre[$argv[1]]"; end\n'
        'function my_post --on-event fish_postexec; echo "post-saw-$status"; end\n'
    )
    sh = start_shell("fish", rc)
    sh.prompt()
    sh.run("false")
    sh.run("sh -c 'exit 6'")
    sh.run("echo 'a; b' | string upper")
    sh.finish()
    assert sh.commands() == [("false", 1), ("sh -c 'exit 6'", 6), ("echo 'a; b' | string upper", 0), exit_line("fish")]
    assert re.findall(rb"post-saw-\d+", sh.output()) == [b"post-saw-1", b"post-saw-6", b"post-saw-0", b"post-saw-0"]
    assert b"pre[false]" in sh.output()
    assert b"A; B" in sh.outputs()["echo 'a; b' | string upper"]


def test_status_of_the_last_command_is_kept_in_prompt_marks(start_shell: StartShell) -> None:
    sh = start_shell("fish")
    sh.prompt()
    sh.run("false")
    sh.run("")  # an empty line: a prompt, no command
    sh.run("true")
    sh.finish()
    assert sh.commands() == [("false", 1), ("true", 0), exit_line("fish")]
    statuses = [m.exit_status for m in sh.parse()[1] if m.kind == "end"]
    # first prompt; `false` ends (postexec), its prompt; the empty line's prompt; `true`, its prompt; `exit`
    assert statuses == [0, 1, 1, 1, 0, 0, 0]


def test_the_end_of_line_padding_is_the_prompts_not_the_commands_output(start_shell: StartShell) -> None:
    # fish prints ⏎ and a line of spaces after each command (visible when its output lacks a final newline),
    # after fish_postexec, before fish_prompt
    sh = start_shell("fish")
    sh.prompt()
    sh.run("printf no-newline")
    sh.run("echo hi")
    sh.run("cd /tmp")
    sh.finish()
    outputs = sh.outputs()
    assert outputs["printf no-newline"].endswith(b"\rno-newline")
    assert outputs["echo hi"].endswith(b"\rhi\r\n")
    assert all("⏎".encode() not in out for out in outputs.values())
    assert "no-newline\x1b[2m⏎".encode() in sh.output()  # still in the stream, as the terminal shows it
    marks = sh.parse()[1]
    cd_start = next(i for i, m in enumerate(marks) if m.command == "cd /tmp")
    assert next(m for m in marks[cd_start:] if m.kind == "end").cwd == "/tmp"
