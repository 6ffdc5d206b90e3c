"""The terminal emulator adapter: the same tests for every backend."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text

from tracer.replay.terminal import make_terminal, split_incomplete


def style_at(line: Text, index: int) -> dict[str, object]:
    """The style of character ``index``: colours as RGB triplets (theme-independent), attributes."""
    style = line.get_style_at_offset(_console(), index)
    return {
        "fg": style.color.get_truecolor() if style.color else None,
        "bg": style.bgcolor.get_truecolor() if style.bgcolor else None,
        "bold": bool(style.bold),
        "italic": bool(style.italic),
        "underline": bool(style.underline),
        "reverse": bool(style.reverse),
    }


def _console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(color_system="truecolor")


def test_plain_text_and_cursor(backend: str) -> None:
    term = make_terminal(20, 4, backend)
    term.feed(b"hello\r\nworld")
    assert term.text() == ["hello", "world", "", ""]
    assert (term.cursor.row, term.cursor.col, term.cursor.visible) == (1, 5, True)
    assert term.backend == backend
    assert (term.cols, term.rows) == (20, 4)
    assert all(line.cell_len == 20 for line in term.lines())


def test_colours_16_256_truecolour_and_attributes(backend: str) -> None:
    term = make_terminal(40, 3, backend)
    term.feed(
        b"\x1b[1;31mR\x1b[0m\x1b[38;5;196mX\x1b[48;2;1;2;3mY\x1b[0m\x1b[4;3mU\x1b[0m\x1b[7mV\x1b[0m\x1b[92mG\x1b[0mn"
    )
    line = term.lines()[0]
    assert line.plain.startswith("RXYUVGn")
    assert style_at(line, 0) == {**_plain(), "fg": (205, 0, 0), "bold": True}  # xterm's red, bold or not
    assert style_at(line, 1)["fg"] == (255, 0, 0)
    assert style_at(line, 2)["fg"] == (255, 0, 0)
    assert style_at(line, 2)["bg"] == (1, 2, 3)
    assert style_at(line, 3) == {**_plain(), "underline": True, "italic": True}
    assert style_at(line, 4) == {**_plain(), "reverse": True}
    assert style_at(line, 5)["fg"] == (0, 255, 0)  # bright green
    assert style_at(line, 6) == _plain()


def _plain() -> dict[str, object]:
    return {"fg": None, "bg": None, "bold": False, "italic": False, "underline": False, "reverse": False}


def test_wide_characters_take_two_cells(backend: str) -> None:
    term = make_terminal(10, 2, backend)
    term.feed("中文ab".encode())
    line = term.lines()[0]
    assert line.plain.rstrip() == "中文ab"
    assert line.cell_len == 10
    assert term.cursor.col == 6


def test_alternate_screen_is_blank_and_leaving_restores_the_main_screen(backend: str) -> None:
    term = make_terminal(20, 5, backend)
    term.feed(b"main one\r\nmain two")
    assert not term.alternate
    term.feed(b"\x1b[?1049h")
    assert term.alternate
    assert term.text() == ["", "", "", "", ""]
    term.feed(b"\x1b[H\x1b[2Jvim here\x1b[5;1H-- INSERT --")
    assert term.text()[0] == "vim here"
    term.feed(b"\x1b[?1049l")
    assert not term.alternate
    assert term.text() == ["main one", "main two", "", "", ""]
    assert (term.cursor.row, term.cursor.col) == (1, 8)


def test_snapshot_restores_both_screens(backend: str) -> None:
    term = make_terminal(20, 5, backend)
    term.feed(b"\x1b[32mmain\x1b[0m")
    main_state = term.snapshot()
    term.feed(b"\x1b[?1049hALT")
    alt_state = term.snapshot()
    term.feed(b"\x1b[?1049lmore")
    other = make_terminal(20, 5, backend)
    other.restore(alt_state)
    assert other.alternate
    assert other.text()[0].endswith("ALT")
    other.feed(b"\x1b[?1049l")
    assert other.text()[0] == "main"
    other.restore(main_state)
    assert not other.alternate
    assert other.text()[0] == "main"
    assert style_at(other.lines()[0], 0)["fg"] == (0, 205, 0)


def test_hidden_cursor_survives_a_snapshot(backend: str) -> None:
    term = make_terminal(10, 2, backend)
    term.feed(b"x\x1b[?25l")
    assert not term.cursor.visible
    other = make_terminal(10, 2, backend)
    other.restore(term.snapshot())
    assert not other.cursor.visible


def test_resize(backend: str) -> None:
    term = make_terminal(10, 3, backend)
    term.feed(b"abc")
    term.resize(30, 6)
    assert (term.cols, term.rows) == (30, 6)
    assert len(term.lines()) == 6
    assert term.lines()[0].cell_len == 30
    assert term.text()[0] == "abc"
    restored = make_terminal(10, 3, backend)
    restored.restore(term.snapshot())
    assert (restored.cols, restored.rows) == (30, 6)


def test_state_of_another_backend_is_refused(backend: str) -> None:
    from tracer.replay.terminal import TerminalState

    term = make_terminal(10, 2, backend)
    with pytest.raises(ValueError, match="cannot be restored"):
        term.restore(TerminalState("other", 10, 2, b"", None))


def test_split_incomplete() -> None:
    assert split_incomplete(b"abc") == (b"abc", b"")
    assert split_incomplete(b"ab\x1b[1;3") == (b"ab", b"\x1b[1;3")
    assert split_incomplete(b"ab\x1b[1;31m") == (b"ab\x1b[1;31m", b"")
    assert split_incomplete(b"ab\x1b]0;title") == (b"ab", b"\x1b]0;title")
    assert split_incomplete(b"ab\x1b]0;title\x07") == (b"ab\x1b]0;title\x07", b"")
    assert split_incomplete(b"ab\x1b") == (b"ab", b"\x1b")
    assert split_incomplete("x中".encode()[:-1]) == (b"x", "中".encode()[:-1])
    assert split_incomplete("x中".encode()) == ("x中".encode(), b"")


SAMPLE = (
    "prompt$ ls\r\n\x1b[1;34mdir\x1b[0m  file 中文\r\n"
    "\x1b]0;title\x07\x1b[?1049h\x1b[H\x1b[2J\x1b[38;5;214mvim\x1b[0m ü\x1b[3;1H~\x1b[?1049l"
    "\x1b[38;2;10;20;30mtrue\x1b[0m colour\r\nend ✓"
).encode()


@pytest.mark.parametrize("name", ["avt", "pyte"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(SAMPLE)), max_size=6))
def test_any_chunking_and_any_snapshot_point_give_the_same_screen(name: str, cuts: list[int]) -> None:
    from tracer.replay.terminal import available_backends

    if name not in available_backends():
        pytest.skip(f"{name} is not installed")
    whole = make_terminal(30, 5, name)
    whole.feed(SAMPLE)
    bounds = sorted({0, *cuts, len(SAMPLE)})
    chunks = [SAMPLE[a:b] for a, b in itertools.pairwise(bounds)]
    pieces = make_terminal(30, 5, name)
    for i, chunk in enumerate(chunks):
        pieces.feed(chunk)
        if i == len(chunks) // 2:  # move to a new terminal through a snapshot, mid-stream
            fresh = make_terminal(30, 5, name)
            fresh.restore(pieces.snapshot())
            pieces = fresh
    assert pieces.text() == whole.text()
    assert [line.spans for line in pieces.lines()] == [line.spans for line in whole.lines()]
    assert pieces.cursor == whole.cursor
