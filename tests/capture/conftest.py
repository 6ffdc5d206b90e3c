"""A harness for the shell-integration tests: a real shell, hooked by prepare_shell(), on a real PTY.

Each test gets a fresh HOME holding the "user's" startup files; the shell shows a fixed prompt (PROMPT) so
the test can wait for it; every byte the shell writes is kept; at the end the raw output goes through
MarkParser and the marks are paired into ``(command, exit status)`` with the recorder's rule: a start opens
a command, an end closes the open one, an end with none open is ignored, a command still open at the end
has status ``None``.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tracer.capture.integration import ShellLaunch, prepare_shell
from tracer.capture.marks import Mark, MarkParser

#: The prompt every test shell shows (set in the user's rc file the harness writes).
PROMPT = "<tp> "
#: Deadline (seconds) for any single wait; generous for a loaded 2-core machine.
DEADLINE = 20.0

PROMPT_SETUP = {
    "bash": f"PS1='{PROMPT}'\nPS2='> '\n",
    "zsh": f"PROMPT='{PROMPT}'\nPS2='> '\nRPROMPT=\nunsetopt PROMPT_SP\n",
    # A counter makes every repaint visible (fish redraws a prompt only when it changed).
    "fish": (
        "set -g __tp_n 0\n"
        f"function fish_prompt; set __tp_n (math $__tp_n + 1); printf '[%s]{PROMPT}' $__tp_n; end\n"
        "set -g fish_greeting ''\n"
    ),
}
_RC_FILE = {
    ("bash", False): ".bashrc",
    ("bash", True): ".bash_profile",
    ("zsh", False): ".zshrc",
    ("zsh", True): ".zshrc",
    ("fish", False): ".config/fish/config.fish",
    ("fish", True): ".config/fish/config.fish",
}


def exit_line(kind: str, line: str = "exit", status: int = 0) -> tuple[str, int | None]:
    """How the line that ends the shell is recorded: fish ends it (fish_postexec runs for ``exit``) with the shell's
    exit status; bash and zsh show no prompt after it, so it stays open (the recorder ends it with the shell's
    status)."""
    return (line, status if kind == "fish" else None)


def pair_commands(marks: list[Mark]) -> list[tuple[str | None, int | None]]:
    """Pair marks into commands, as the recorder does (see the module docstring)."""
    out: list[tuple[str | None, int | None]] = []
    open_cmd: Mark | None = None
    for mark in marks:
        if mark.kind == "start":
            if open_cmd is not None:
                out.append((open_cmd.command, None))
            open_cmd = mark
        elif open_cmd is not None:
            out.append((open_cmd.command, mark.exit_status))
            open_cmd = None
    if open_cmd is not None:
        out.append((open_cmd.command, None))
    return out


class Shell:
    """A shell on a PTY, with the raw bytes it wrote kept in :attr:`raw`."""

    def __init__(self, argv: list[str], env: dict[str, str], nonce: str | None, home: Path) -> None:
        self.nonce = nonce
        self.home = home
        self._log = io.BytesIO()
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(home), dimensions=(24, 200), timeout=DEADLINE)
        self.child.delaybeforesend = None
        self.child.logfile_read = self._log
        mark = rb"\x1b\]6973;" + (nonce or "x").encode() + rb";D;[0-9]+;[A-Za-z0-9+/=]*\x07"
        self._end_mark = re.compile(mark)
        self._start_mark = re.compile(mark.replace(b";D;[0-9]+;", b";C;[A-Za-z0-9+/=]*;"))

    @property
    def raw(self) -> bytes:
        return self._log.getvalue()

    def send(self, text: str | bytes) -> None:
        """Write bytes to the terminal as if typed (or pasted)."""
        self.child.send(text.encode() if isinstance(text, str) else text)

    def expect(self, pattern: str | bytes | re.Pattern[bytes]) -> None:
        """Wait (up to DEADLINE) for ``pattern``: a literal text, or a compiled bytes regex."""
        if isinstance(pattern, re.Pattern):
            self.child.expect(pattern)
        else:
            self.child.expect_exact(pattern.encode() if isinstance(pattern, str) else pattern)

    def prompt(self) -> None:
        """Wait for the next prompt: our D mark, then PROMPT (just PROMPT for a shell without hooks), then
        for the line editor to be reading (see :meth:`editing`)."""
        if self.nonce is not None:
            self.child.expect(self._end_mark)
        self.child.expect_exact(PROMPT.encode())
        self.editing()

    def editing(self) -> None:
        """Wait until the terminal stopped echoing: the shell's line editor (or ``read -s``) is reading.

        Keys sent earlier reach a terminal in cooked mode: a Ctrl-C there is a SIGINT that flushes the
        input queue, which no user typing at a prompt ever sees."""
        deadline = time.monotonic() + DEADLINE
        while termios.tcgetattr(self.child.child_fd)[3] & termios.ECHO:
            if time.monotonic() > deadline:
                raise TimeoutError("the terminal still echoes: the shell is not reading its line editor")
            time.sleep(0.002)

    def started(self) -> None:
        """Wait for the next command-start mark."""
        self.child.expect(self._start_mark)

    def run(self, line: str) -> None:
        """Type ``line`` and Enter; wait for the next prompt."""
        self.send(line + "\r")
        self.prompt()

    def finish(self, line: str | None = "exit") -> int | None:
        """Type ``line`` (``exit`` by default), read to end of file, reap the shell; its exit status."""
        if line is not None:
            self.send(line + "\r")
        self.child.expect(pexpect.EOF)
        self.child.close()
        status: int | None = self.child.exitstatus
        return status

    def parse(self) -> tuple[bytes, list[Mark]]:
        """All raw output through a MarkParser in small uneven chunks: (cleaned output, marks), the marks'
        offsets made absolute (positions in the whole cleaned output)."""
        assert self.nonce is not None
        parser = MarkParser(self.nonce)
        raw = self.raw
        out = bytearray()
        marks: list[Mark] = []
        pos = 0
        for size in _chunk_sizes(len(raw)):
            clean, found = parser.feed(raw[pos : pos + size])
            pos += size
            marks.extend(m._replace(offset=len(out) + m.offset) for m in found)
            out += clean
        out += parser.flush()
        return bytes(out), marks

    def commands(self) -> list[tuple[str | None, int | None]]:
        """The recorded commands: ``(command line, exit status or None)``."""
        return pair_commands(self.parse()[1])

    def outputs(self) -> dict[str | None, bytes]:
        """The cleaned output of each recorded command (between its start and end marks), by command line."""
        clean, marks = self.parse()
        out: dict[str | None, bytes] = {}
        open_cmd: Mark | None = None
        for mark in [*marks, Mark("end", len(clean))]:
            if mark.kind == "start":
                open_cmd = mark
            elif open_cmd is not None:
                out[open_cmd.command] = clean[open_cmd.offset : mark.offset]
                open_cmd = None
        return out

    def output(self) -> bytes:
        """What the user's terminal is sent: the raw output without our marks."""
        return self.parse()[0]

    def kill(self) -> None:
        if self.child.isalive():
            self.child.close(force=True)


def _chunk_sizes(total: int) -> Iterator[int]:
    sizes = (1, 7, 64, 3, 4096, 13)
    i = done = 0
    while done < total:
        yield sizes[i % len(sizes)]
        done += sizes[i % len(sizes)]
        i += 1


StartShell = Callable[..., Shell]


@pytest.fixture
def start_shell(tmp_path: Path) -> Iterator[StartShell]:
    """Start a hooked shell: ``start_shell(kind, rc="...", files={...}, login=False, hooks=True)``.

    ``rc`` goes into the user's main startup file (~/.bashrc, or ~/.bash_profile for a bash login shell;
    ~/.zshrc; ~/.config/fish/config.fish) after the harness's prompt setup; ``files`` are more files
    relative to HOME. ``hooks=False`` starts the same shell plainly (``SHELL -i``), for comparisons.
    ``env`` adds variables. Returns a :class:`Shell`; it is killed at teardown if still running.
    """
    started: list[Shell] = []
    count = 0

    def start(
        kind: str,
        rc: str = "",
        *,
        files: dict[str, str] | None = None,
        login: bool = False,
        hooks: bool = True,
        env: dict[str, str] | None = None,
    ) -> Shell:
        nonlocal count
        count += 1
        path = shutil.which(kind)
        if path is None:
            pytest.skip(f"{kind} is not installed")
        base = tmp_path / f"shell{count}"
        home = base / "home"
        home.mkdir(parents=True)
        workdir = base / "work"
        workdir.mkdir(mode=0o700)
        rc_file = home / _RC_FILE[(kind, login)]
        rc_file.parent.mkdir(parents=True, exist_ok=True)
        rc_file.write_text(PROMPT_SETUP[kind] + rc)
        if kind == "fish":
            # Else fish's first start forks a man-page scan that holds the terminal open for seconds.
            (home / ".local/share/fish/generated_completions").mkdir(parents=True)
        for name, text in (files or {}).items():
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            (home / name).write_text(text)
        full_env = {
            "HOME": str(home),
            "PATH": os.environ["PATH"],
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "USER": os.environ.get("USER", "tester"),
            "SHELL": path,
            **(env or {}),
        }
        nonce: str | None = None
        if hooks:
            nonce = secrets.token_hex(16)
            launch: ShellLaunch = prepare_shell(path, nonce=nonce, workdir=workdir, login=login)
            assert launch.kind == kind
            argv = launch.argv
            full_env.update(launch.env)
        else:
            argv = [path, "-i"]
        shell = Shell(argv, full_env, nonce, home)
        started.append(shell)
        return shell

    yield start
    for shell in started:
        shell.kill()
