"""The fine print of the checks and of the document a judge gets, on sessions built event by event.

The recorded sessions (test_checks.py) show the checks on real work; these pin the rules docs/judge.md states
for cases a recording cannot produce on demand.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tests.judge.conftest import HEADER
from tracer.judge import cut, is_doc_file, is_test_file, judge_document, process_checks
from tracer.model import (
    CommandEnd,
    CommandStart,
    Event,
    FileChange,
    JudgeResult,
    Note,
    Output,
    ProcessCheck,
    Session,
    SessionEnd,
)
from tracer.store.schema import validate_trace


class Build:
    """A session, one event at a time; each command takes 10 ms from its start ``t``."""

    def __init__(self, test_command: str | None = None) -> None:
        self.header = dataclasses.replace(HEADER, test_command=test_command)
        self.events: list[Event] = []
        self.next_id = 1

    def command(self, t: int, line: str, status: int, output: bytes = b"") -> int:
        cid = self.next_id
        self.next_id += 1
        self.events += [CommandStart(t, cid, line, "/w"), Output(t + 1, output), CommandEnd(t + 10_000, cid, status)]
        return cid

    def edit(self, t: int, path: str, before: str | None, after: str | None, old_path: str | None = None) -> None:
        op = "rename" if old_path else "modify"
        self.events.append(FileChange(t, path, op, before_hash=before, after_hash=after, old_path=old_path))

    def note(self, t: int, text: str, tags: tuple[str, ...] = ()) -> None:
        self.events.append(Note(t, f"{t:032x}", text, tags))

    def session(self) -> Session:
        end = max((e.t for e in self.events), default=0) + 1
        return Session("s.tracer", self.header, [*sorted(self.events, key=lambda e: e.t), SessionEnd(end, 0)])

    def checks(self) -> dict[str, ProcessCheck]:
        return {c.id: c for c in process_checks(self.session())}


def test_a_test_run_whose_status_is_not_the_tests_neither_fails_nor_passes() -> None:
    b = Build()
    b.command(0, "pytest -q | tee log", 0)  # tee's status
    b.command(100_000, "pytest -q; git diff", 0)  # git's status
    b.edit(200_000, "src/a.py", "h0", "h1")
    b.command(300_000, "cd src && pytest -q", 0)  # pytest's status
    c = b.checks()
    assert (c["reproduced_before_edit"].ok, c["reproduced_before_edit"].count) == (False, 0)
    assert c["tested_after_last_edit"].ok is True
    assert c["time_to_first_pass"].evidence[0].step == "c3"


def test_the_session_test_command_is_a_test_run_whatever_it_is() -> None:
    b = Build(test_command="./check.sh")
    b.command(0, "./check.sh", 1)
    b.edit(100_000, "a.py", "h0", "h1")
    b.command(200_000, "./check.sh", 0)
    c = b.checks()
    assert c["reproduced_before_edit"].ok is True and c["time_to_first_pass"].ok is True


def test_edits_made_while_tests_run_are_not_edits() -> None:
    b = Build()
    b.edit(0, "a.py", "h0", "h1")
    b.command(100_000, "pytest", 0)
    b.edit(105_000, "report.xml", None, "x1")  # written by the test run
    c = b.checks()
    assert c["tested_after_last_edit"].ok is True and c["tested_after_last_edit"].evidence[0].step == "e1"


def test_a_test_file_written_first_is_not_the_first_edit_of_code() -> None:
    b = Build()
    b.edit(0, "tests/test_new.py", None, "t1")  # a test that shows the bug, written first
    b.command(100_000, "pytest tests/test_new.py", 1)
    b.edit(200_000, "pkg/core.py", "h0", "h1")
    c = b.checks()
    assert c["reproduced_before_edit"].ok is True
    assert [r.step for r in c["reproduced_before_edit"].evidence] == ["c1", "e2"]


@pytest.mark.parametrize(
    ("path", "test"),
    [
        ("tests/unit/x.py", True),
        ("pkg/test_core.py", True),
        ("core_test.go", True),
        ("src/app.spec.ts", True),
        ("src/button.test.jsx", True),
        ("conftest.py", True),
        ("spec/models/user_spec.rb", True),
        ("src/contest.py", False),
        ("pkg/testing_utils.py", False),
        ("latest/x.py", False),
    ],
)
def test_test_files(path: str, test: bool) -> None:
    assert is_test_file(path) is test


@pytest.mark.parametrize(
    ("path", "doc"),
    [
        ("README.md", True),
        ("README", True),
        ("CHANGELOG.rst", True),
        ("LICENSE-MIT", True),
        ("NEWS.txt", True),
        ("docs/guide/install.rst", True),
        ("doc/diagram.svg", True),
        ("docs/notes.txt", True),
        ("pkg/security.py", False),  # code, whatever its name
        ("pkg/history.py", False),
        ("requirements.txt", False),  # what gets installed
        ("docs/conf.py", False),
        ("tests/fixtures/input.md", False),  # a test's data
        ("CMakeLists.txt", False),
    ],
)
def test_doc_files(path: str, doc: bool) -> None:
    assert is_doc_file(path) is doc


def test_documentation_edited_after_the_last_test_run_does_not_leave_the_work_untested() -> None:
    b = Build()
    b.command(0, "pytest", 1)
    b.edit(100_000, "pkg/core.py", "h0", "h1")  # e1
    b.command(200_000, "pytest", 0)  # c2
    b.edit(300_000, "CHANGELOG.md", "d0", "d1")  # e2, e3: documentation only
    b.edit(400_000, "docs/usage.rst", "u0", "u1")
    c = b.checks()["tested_after_last_edit"]
    assert (c.ok, c.count, [r.step for r in c.evidence]) == (True, 1, ["e1", "c2"])
    assert (
        c.detail == "1 test run(s) after the last edit, e1; the last, c2, passed; after it, documentation only (e2, e3)"
    )

    b.edit(500_000, "pkg/core.py", "h1", "h2")  # code again: untested
    c = b.checks()["tested_after_last_edit"]
    assert (c.ok, c.detail) == (False, "no test ran after the last edit, e4")

    docs = Build()
    docs.edit(0, "README.md", "r0", "r1")
    c = docs.checks()["tested_after_last_edit"]
    assert (c.ok, c.detail) == (None, "only documentation was edited (1 edit(s))")


def test_loops_need_the_same_line_the_same_status_and_no_edit_between() -> None:
    b = Build()
    b.command(0, "make", 2)
    b.command(100_000, "make ", 2)  # the same line (white space aside): a repeat
    b.command(200_000, "make", 1)  # another status: not a repeat
    b.edit(300_000, "a.c", "h0", "h1")
    b.command(400_000, "make", 1)  # an edit since: not a repeat
    b.command(500_000, "make", 1)  # a repeat
    c = b.checks()["repeated_failures"]
    assert (c.count, [r.step for r in c.evidence]) == (2, ["c2", "c5"])


def test_dead_ends_follow_renames_and_back_and_forth() -> None:
    b = Build()
    b.edit(0, "a.py", "h0", "h1")
    b.edit(1, "a.py", "h1", "h2")
    b.edit(2, "a.py", "h2", "h0")  # back to the start: undid e1 (and e2)
    b.edit(3, "b.py", "h0", "h0", old_path="a.py")  # renamed, content kept
    b.edit(4, "b.py", "h0", "h3")
    b.edit(5, "b.py", "h3", "h0")  # back again, under its new name: undid e5
    b.edit(6, "c.py", None, "n1")
    b.edit(7, "c.py", "n1", None)  # a scratch file created and deleted: not a dead end
    c = b.checks()["dead_ends"]
    assert c.count == 2
    assert c.detail == "2 edit(s) returned a file to earlier content: e3 undid e1, e6 undid e5"
    assert [r.step for r in c.evidence] == ["e1", "e3", "e5", "e6"]


def test_a_hypothesis_is_tested_only_by_a_run_before_the_next_one() -> None:
    b = Build()
    b.note(0, "hypothesis: the cache is stale")
    b.note(100_000, "maybe the clock", ("Hypothesis",))
    b.command(200_000, "pytest", 1)
    b.note(300_000, "a plain note, not a hypothesis")
    c = b.checks()
    assert c["hypotheses_noted"].count == 2
    assert (c["hypotheses_tested"].ok, c["hypotheses_tested"].count) == (False, 1)
    assert c["hypotheses_tested"].detail.startswith("1 of 2 hypotheses followed by a test run; not: n")


def test_an_empty_session() -> None:
    c = Build().checks()
    assert all(c[i].ok is None for i in ("reproduced_before_edit", "tested_after_last_edit", "hypotheses_tested"))
    assert c["time_to_first_pass"].detail == "no test run was recorded"


def test_cut_keeps_the_start_and_more_of_the_end() -> None:
    text = "".join(f"{i:04d}" for i in range(1000))  # 4,000 characters
    short = cut(text, 400)
    assert short.startswith(text[:100]) and short.endswith(text[-300:])
    assert "\n[… 3600 characters cut …]\n" in short
    assert cut("short", 400) == "short"


def test_the_document_fits_its_budget_and_stays_a_trace() -> None:
    b = Build()
    for i in range(40):
        b.command(i * 100_000, f"cat big{i}", 0, output=b"\x1b[1m" + b"x" * 20_000 + b"\x1b[0m")
    session = b.session()
    document = judge_document(session, max_chars=30_000)
    validate_trace(document)
    size = len(json.dumps(document, ensure_ascii=False))
    assert size <= 30_000
    outputs = [e["output"] for e in document["events"]]
    assert all("characters cut" in o and "\x1b" not in o for o in outputs)
    whole = judge_document(session, max_chars=10_000_000)
    assert len(whole["events"][0]["output"]) < 4100  # one string is cut to 4,000 characters whatever the budget


def test_a_judge_is_not_shown_an_earlier_judgement() -> None:
    b = Build()
    b.command(0, "pytest", 1)
    b.events.append(JudgeResult(t=20_000, judged_at="2026-11-21T11:00:00Z", judge_kind="model", judge="m", overall=5))
    assert b.session().judge_result is not None
    document = judge_document(b.session())
    validate_trace(document)
    assert document["qa"]["judge"] is None


def test_text_that_is_not_utf8_goes_as_replacement_characters(tmp_path: Path) -> None:
    b = Build()
    b.command(0, "cat new\udcfe.txt", 0)
    document = judge_document(b.session())
    assert document["events"][0]["cmd"] == "cat new\ufffd.txt"
    json.dumps(document, ensure_ascii=False).encode("utf-8")
