"""A real full-screen session: vim in the alternate screen, resized while it runs, recorded by `tracer shell`
in a real terminal and played back in the replay app (Textual's Pilot)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pexpect
import pytest

from tests.conftest import User, make_repo
from tracer.model import Output, Resize
from tracer.replay import ReplayApp
from tracer.replay.widgets import ScreenView
from tracer.store import read_session

PROMPT = "VIM$ "

pytestmark = pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")


def record_vim_session(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", {"notes.txt": "first line\n"})
    user = User(tmp_path, {".bashrc": f"PS1='{PROMPT}'\n", ".vimrc": "set nocompatible\nset noswapfile\n"})
    child = user.tracer_shell(repo)
    child.expect_exact(PROMPT)
    child.sendline("echo before-vim")
    child.expect_exact(PROMPT)
    child.sendline("vim notes.txt")
    child.expect_exact("first line")
    child.setwinsize(30, 100)  # the terminal is resized while vim runs
    child.send("Gosecond line from vim\x1b")
    child.expect_exact("second line from vim")
    child.send(":wq\r")
    child.expect_exact(PROMPT)
    child.sendline("cat notes.txt")
    child.expect_exact(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    return user.session()


def test_vim_is_recorded_and_replayed_in_the_alternate_screen(tmp_path: Path) -> None:
    path = record_vim_session(tmp_path)
    session = read_session(path)
    commands = session.commands()
    assert [(c.command, c.exit_status) for c in commands] == [
        ("echo before-vim", 0),
        ("vim notes.txt", 0),
        ("cat notes.txt", 0),
        ("exit", 0),
    ]
    vim = commands[1]
    assert b"\x1b[?1049h" in vim.output  # vim entered the alternate screen
    assert [(r.cols, r.rows) for r in session.of_type(Resize)] == [(100, 30)]
    assert vim.start < session.of_type(Resize)[0].t < vim.end  # type: ignore[operator]
    (change,) = [c for c in session.file_changes() if c.path == "notes.txt"]
    assert "+second line from vim" in change.diff and change.command_id == vim.id

    async def replay() -> None:
        app = ReplayApp(session)
        async with app.run_test(size=(120, 45)) as pilot:
            deadline = asyncio.get_running_loop().time() + 20
            while not (app.ready and app.keyframes is not None and app.keyframes.complete):
                assert asyncio.get_running_loop().time() < deadline, "keyframes were not built in time"
                await pilot.pause(0.05)
            screen = app.query_one(ScreenView)
            # inside vim, after the edit: the alternate screen shows the buffer, not the shell
            echo = next(e for e in session.of_type(Output) if vim.start <= e.t and b"second line from vim" in e.data)
            # the moment the whole event was shown: its last read's time (each coalesced read keeps its own)
            typed = echo.t + (echo.reads[-1][1] if echo.reads else 0)
            app.set_position(typed)
            await pilot.pause()
            inside = "\n".join(screen.plain_lines)
            assert "second line from vim" in inside and "before-vim" not in inside
            # after vim: the main screen is back, with what was there before
            app.set_position(commands[2].end)  # type: ignore[arg-type]
            await pilot.pause()
            after = "\n".join(screen.plain_lines)
            assert "before-vim" in after and "VIM$ cat notes.txt" in after
            assert "first line\nsecond line from vim" in after
            await pilot.press("q")

    asyncio.run(replay())
