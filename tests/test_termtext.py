"""Terminal output as the plain text a person saw: what a dataset's output columns and a judge get."""

from __future__ import annotations

import pytest

from tracer.termtext import plain_text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"\x1b[1;31mFAILED\x1b[0m test_a\r\n", "FAILED test_a\n"),
        (b"\x1b]0;title\x07\x1b]133;A\x1b\\$ ls\r\n", "$ ls\n"),
        (b"  10%\r 100%\r\ndone\r\n", " 100%\ndone\n"),
        (b"abcdef\rxy\n", "xycdef\n"),
        (b"bell\x07 and \x00nul", "bell and nul"),
        (b"\xff\xfe", "\ufffd\ufffd"),
        (b"\x1b]0;a\x01b\x07x\x1bP1;2\x0bq\x1b\\y", "xy"),  # control characters inside string sequences: theirs
        (b"a\x1b", "a"),  # a lone ESC
        (b"1\r\x01\n2\x7f\r\n\x1b[K3\r\n", "1\n2\n3\n"),  # CRLF once what was between is gone
        (b"1\r\n2\r\n", "1\n2\n"),  # (most output: no escape, no other control character)
    ],
)
def test_output_becomes_the_plain_text_a_terminal_shows(raw: bytes, text: str) -> None:
    assert plain_text(raw) == text
    assert plain_text(raw.decode("utf-8", "replace")) == text  # the same from text


def test_plain_text_is_what_a_person_saw() -> None:
    raw = "\x1b[31mFAILED\x1b[0m test\r\n\x1b]0;title\x07 50%\r100%\nab\bc\x00\x1b[?2004h done"
    assert plain_text(raw) == "FAILED test\n100%\nac done"
    assert plain_text("no controls at all\n") == "no controls at all\n"
