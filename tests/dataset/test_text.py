"""The text rules of a dataset: names quoted as git quotes paths, content valid UTF-8, output as plain text, cuts
said; which command lines are editors or notes."""

from __future__ import annotations

import os

import pytest

from tracer.dataset._text import content_text, cut_text, name_text
from tracer.dataset.messages import _editor, _note_command
from tracer.dataset.swebench import is_test_path, split_patch


def test_names_that_are_not_utf8_are_quoted_as_git_does() -> None:
    assert name_text("src/café.py") == "src/café.py"
    assert name_text(os.fsdecode(b"new\xfe.txt")) == '"new\\376.txt"'
    assert name_text(os.fsdecode(b'a"b\\c\xff\n')) == '"a\\"b\\\\c\\377\\n"'
    assert name_text("x\ud800") == "x\ufffd"  # a surrogate no file name decodes to: a crafted file


def test_content_keeps_utf8_and_replaces_the_rest() -> None:
    assert content_text("ok ✓") == "ok ✓"
    assert content_text(os.fsdecode(b"caf\xe9")) == "caf\ufffd"


def test_cuts_keep_head_and_tail_and_say_so() -> None:
    text = "".join(f"{i}\n" for i in range(10_000))
    cut = cut_text(text, 1000)
    assert cut.startswith("0\n1\n") and cut.endswith("9999\n")
    assert "bytes cut …]" in cut and len(cut.encode()) < 1100
    assert cut_text(text, 0) == text and cut_text("short", 1000) == "short"
    head, said, tail = cut_text("é" * 1000, 11).split("\n")  # a cut never halves a character
    assert head == tail == "é" * 2 and said == "[… 1,992 bytes cut …]"


@pytest.mark.parametrize(
    ("command", "editor"),
    [
        ("vim src/a.py", True),
        ("/usr/bin/nvim +12 a.py", True),
        ("EDITOR=x sudo nano /etc/hosts", True),
        ("code .", True),
        ("git commit", False),
        ("sed -i s/a/b/ a.py", False),
        ("echo 'unclosed", False),
    ],
)
def test_interactive_editors_are_recognised(command: str, editor: bool) -> None:
    assert _editor(command) is editor


def test_note_commands_are_recognised() -> None:
    assert _note_command('tracer note --tag x "why"')
    assert not _note_command("tracer notes") and not _note_command("echo tracer note")


def test_patches_are_split_as_swe_bench_splits_gold_patches() -> None:
    assert all(map(is_test_path, ["tests/test_a.py", "pkg/test_b.py", "a_test.go", "src/x.spec.ts", "conftest.py"]))
    assert not any(map(is_test_path, ["src/testing_utils.py", "latest.py", "contest/a.py"]))
    patch = (
        "diff --git a/src/a.py b/src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-a\n+b\n"
        "diff --git a/tests/test_a.py b/tests/test_a.py\n--- a/tests/test_a.py\n+++ b/tests/test_a.py\n"
        "@@ -1 +1 @@\n-x\n+y\n"
    )
    code, tests = split_patch(patch)
    assert code.startswith("diff --git a/src/a.py") and "tests/" not in code
    assert tests.startswith("diff --git a/tests/test_a.py") and code + tests == patch
