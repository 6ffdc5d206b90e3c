"""The replayed screen against tmux's, the reference terminal: recordings made here with ``tracer shell`` inside a
tmux pane, tmux's own screen read with ``capture-pane``, and the replay of the recording compared with it."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.text import Text

from tracer.replay import FileSource, KeyframeIndex, Seeker, make_terminal
from tracer.replay.source import SessionIndex

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is the reference terminal"),
]

_names = itertools.count()


class Tmux:
    """A private tmux server (its own socket) with one pane of ``cols`` × ``rows`` running ``command``."""

    def __init__(self, tmp_path: Path, command: str, cols: int, rows: int) -> None:
        self.socket = str(tmp_path / f"tmux-{os.getpid()}-{next(_names)}")
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path / "home"),
            "LANG": "C.UTF-8",
            "TRACER_DIR": str(tmp_path / "sessions"),
            "TRACER_CACHE_DIR": str(tmp_path / "cache"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "SHELL": "/bin/bash",
        }
        (tmp_path / "home").mkdir(exist_ok=True)
        (tmp_path / "home" / ".bashrc").write_text("PS1='$ '\nunset PROMPT_COMMAND\n")
        self.sessions = tmp_path / "sessions"
        self.cwd = tmp_path
        self.release = tmp_path / f"release-{next(_names)}"
        self.start(command, cols, rows)

    def start(self, command: str, cols: int, rows: int) -> None:
        self.env["RELEASE"] = str(self.release)
        self.tmux(
            "-f", "/dev/null", "new-session", "-d", "-c", str(self.cwd), "-x", str(cols), "-y", str(rows), command
        )

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args], env=self.env, capture_output=True, text=True, timeout=20
        ).stdout

    def screen(self, colours: bool = False) -> list[str]:
        """The pane's rows (``-e``: with SGR escapes for the colours)."""
        out = self.tmux("capture-pane", "-p", "-t", "0", *(["-e"] if colours else []))
        return out.split("\n")[:-1]

    def wait_for(self, text: str, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.screen()
            if any(text in row for row in rows):
                return rows
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on tmux's screen within {timeout} s: {self.screen()}")

    def session(self, timeout: float = 30) -> Path:
        """The recording, once tracer has finished writing it (the recorded script is told to end)."""
        from tracer.errors import TracerError
        from tracer.store import read_session

        self.release.touch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            paths = list(self.sessions.glob("*.tracer"))
            try:
                if paths and not read_session(paths[0]).interrupted:
                    return paths[0]
            except TracerError:  # the recording is starting: its header is not written yet
                pass
            time.sleep(0.05)
        raise AssertionError("the recording did not end")

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def tmux_factory(tmp_path: Path) -> Callable[..., Tmux]:
    made: list[Tmux] = []

    def make(command: str, cols: int, rows: int) -> Tmux:
        made.append(Tmux(tmp_path, command, cols, rows))
        return made[-1]

    yield make  # type: ignore[misc]
    for t in made:
        t.close()


#: Ends a recorded script: it waits until the test has read tmux's screen (see :meth:`Tmux.session`).
HOLD = "while [ ! -e $RELEASE ]; do sleep 0.02; done"


def tracer_c(script: str) -> str:
    """A tmux command running ``script`` (bash) recorded by ``tracer shell -q -c``."""
    quoted = script.replace("'", "'\\''")
    return f"{sys.executable} -m tracer shell -q -c '{quoted}'"


def index_of(path: Path) -> SessionIndex:
    index = FileSource(path).scan()
    assert index is not None
    return index


def replayed(index: SessionIndex, count: int | None = None) -> list[str]:
    """The replay's screen after ``count`` stream items (all: the end), rows as capture-pane gives them."""
    keyframes = KeyframeIndex(index.stream, every_bytes=512)
    keyframes.build()
    terminal = Seeker(keyframes).seek(len(index.stream) if count is None else count)
    return [line.plain.rstrip() for line in terminal.lines()]


def tmux_rows(rows: list[str]) -> list[str]:
    return [row.rstrip() for row in rows]


def test_wide_and_zero_width_characters_take_the_cells_tmux_gives_them(tmux_factory: Callable[..., Tmux]) -> None:
    samples = [
        "e\u0301" * 50,  # combining acute: no cell of its own
        "日" * 25 + "x",  # wide: wraps a column early
        "\u2764\ufe0f" * 45,  # VS16
        "\U0001f468\u200d\U0001f469\u200d\U0001f467|" * 15,  # a ZWJ sequence: one wide cell pair
        "\U0001f389" * 30,  # wide emoji runs
        "\u0e01\u0e31" * 50,  # Thai with a nonspacing vowel
        "a\u200bb\u00adc\u1100\u1161d",  # zero-width space, soft hyphen (a cell), Hangul jamo
    ]
    script = "".join(f"printf '%s\\n' '{s}'; " for s in samples) + "printf 'END\\n'; " + HOLD
    tmux = tmux_factory(tracer_c(script), 40, 40)
    expected = tmux_rows(tmux.wait_for("END"))
    index = index_of(tmux.session())
    got = replayed(index)
    assert got[: len(expected)] == expected[: len(got)]


def test_colours_and_attributes_as_tmux_has_them(tmux_factory: Callable[..., Tmux]) -> None:
    script = (
        "printf '\\033[31mred \\033[1;31mbold red\\033[0m \\033[34mblue\\033[0m \\033[33myellow\\033[0m\\n'; "
        "printf '\\033[38;5;208morange\\033[0m \\033[48;2;10;20;30mtrue\\033[0m \\033[4;3munder\\033[0m\\n'; "
        "printf '\\033[7mreverse\\033[0m \\033[92mbright green\\033[0m END\\n'; " + HOLD
    )
    tmux = tmux_factory(tracer_c(script), 60, 8)
    tmux.wait_for("END")
    expected = tmux.screen(colours=True)
    index = index_of(tmux.session())
    ours = make_terminal(60, 8)
    index.stream.apply(ours, 0, len(index.stream))
    # tmux's capture (its cells as SGR + text) fed to a fresh terminal: the same cells, the same styles
    reference = make_terminal(60, 8)
    reference.feed("\r\n".join(expected).encode())
    for mine, theirs in zip(ours.lines()[:3], reference.lines()[:3], strict=True):
        assert mine.plain.rstrip() == theirs.plain.rstrip()
        assert _styles(mine) == _styles(theirs)


def _styles(line: Text) -> list[str]:
    plain = line.plain.rstrip()
    return [str(line.get_style_at_offset(_console(), i)) for i in range(len(plain)) if plain[i] != " "]


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(color_system="truecolor")


def test_a_window_that_grows_pulls_lines_back_from_the_scrollback(tmux_factory: Callable[..., Tmux]) -> None:
    # the recorded command waits until its own terminal has grown: tracer has recorded the resize by then
    script = (
        'seq 1 60; printf WAIT; while [ "$(stty size)" != "20 50" ]; do sleep 0.02; done; printf \' GREW\\n\'; ' + HOLD
    )
    tmux = tmux_factory(tracer_c(script), 40, 10)
    tmux.wait_for("WAIT")
    tmux.tmux("resize-window", "-t", "0", "-x", "50", "-y", "20")
    expected = tmux_rows(tmux.wait_for("GREW"))
    assert len(expected) == 20 and expected[0] != ""  # tmux pulled lines back: the screen is full from the top
    index = index_of(tmux.session())
    assert index.stream.resizes, "the resize was recorded"
    assert replayed(index) == expected


def test_a_fast_command_starts_before_its_output(tmux_factory: Callable[..., Tmux]) -> None:
    tmux = tmux_factory(f"{sys.executable} -m tracer shell -q", 60, 12)
    tmux.wait_for("$")
    tmux.tmux("send-keys", "-t", "0", "echo fast-output-here", "Enter")
    tmux.wait_for("$ echo fast-output-here")
    rows = tmux.screen()
    deadline = time.monotonic() + 10
    while sum("fast-output-here" in row for row in rows) < 2:
        assert time.monotonic() < deadline
        rows = tmux.screen()
    at_end = tmux_rows(rows)
    tmux.tmux("send-keys", "-t", "0", "exit", "Enter")
    index = index_of(tmux.session())
    (command,) = [c for c in index.commands if c.command == "echo fast-output-here"]
    start, end = index.moments[command.id]
    before = replayed(index, start)
    assert any(row.endswith("$ echo fast-output-here") for row in before)
    assert "fast-output-here" not in [row.strip() for row in before]  # its output is not on the screen yet
    assert end is not None
    after = replayed(index, end)
    assert "fast-output-here" in [row.strip() for row in after]
    assert after[: at_end.index("fast-output-here") + 1] == at_end[: at_end.index("fast-output-here") + 1]


def test_seeking_through_keyframes_gives_what_playing_through_gives_on_a_real_recording(
    tmux_factory: Callable[..., Tmux],
) -> None:
    script = (
        "for i in $(seq 1 40); do "
        "printf '\\033[3%dm%s %s\\033[0m\\n' $((i % 8)) $i '🎉🎉🎉🎉🎉🎉🎉🎉 日日日日日日 e\u0301e\u0301'; "
        "[ $((i % 4)) = 0 ] && sleep 0.05; done; "
        "printf '\\033[?1049h\\033[2;5Hfull screen \\033[1mbold\\033[0m'; sleep 0.2; printf '\\033[?1049l'; "
        "printf '\\033[2;6r\\033[6;1H'; seq 1 10; printf '\\033[r'; printf 'END\\n'; " + HOLD
    )
    tmux = tmux_factory(tracer_c(script), 60, 15)
    expected = tmux_rows(tmux.wait_for("END"))
    index = index_of(tmux.session())
    stream = index.stream
    keyframes = KeyframeIndex(stream, every_bytes=300)
    keyframes.build()
    assert len(keyframes) >= 6  # reads far enough apart are items of their own: keyframes between them
    seeker = Seeker(keyframes)
    for count in range(len(stream) + 1):
        seeker.seek(0)
        seeked = seeker.seek(count)
        played = make_terminal(stream.cols, stream.rows, scrollback=stream.scrollback, clusters=stream.clusters)
        stream.apply(played, 0, count)
        assert seeked.text() == played.text(), count
        assert [line.spans for line in seeked.lines()] == [line.spans for line in played.lines()], count
        assert seeked.cursor == played.cursor, count
    assert [row.rstrip() for row in seeker.seek(len(stream)).text()] == expected
