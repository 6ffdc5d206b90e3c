"""Process checks: how the work went, computed from a session's events alone (no model).

The words used here (docs/judge.md says the same for users):

- A **test run** is a finished or unfinished command whose line, stripped, is the session's test command (the
  header's ``--test-command``, else the newest ``tracer verify`` command), or one of whose simple commands runs
  tests as :func:`tracer.commandline.test_program` recognises them (pytest, ``go test``, ``cargo test``,
  ``npm test``, ``make test``, … behind wrappers such as ``uv run``).
- A test run's exit status **is the tests'** when the line is the session's test command or its last simple
  command runs the tests (``cd pkg && pytest`` yes; ``pytest | tee log`` or ``pytest; git diff`` no). It
  **failed** when that status is 1–125 (126, 127 and ≥ 128 are "cannot run", "not found" and signals) and
  **passed** when it is 0. When the status is not the tests' (``pytest -q | tail -3``), the summary the runner
  printed at the end of the output decides (:func:`tracer.commandline.tests_outcome`: ``1 failed, 2 passed
  in 0.3s``, ``test result: ok.``, …); without one, the run neither passed nor failed.
- An **edit** is a recorded file change, except those made while a test run was running (between its start
  and its end: a test run's own by-products, caches and reports). Times decide, not the change's
  ``command_id``: a write by a quick command (``printf … >> file``) can reach the file observer before the
  shell's mark of that command's start, and is then attributed to the command before it. An edit **of code**
  is an edit of a file that is not a test file (a file in a ``test``, ``tests``, ``testing``, ``__tests__``,
  ``spec`` or ``specs`` directory, or named ``test_*``, ``*_test.*``, ``*_tests.*``, ``*.test.*``, ``*.spec.*``
  or ``conftest.py``). An edit **of documentation** is an edit of a file that is not a test file and is named
  as documentation (``README``, ``CHANGELOG``, ``CHANGES``, ``HISTORY``, ``NEWS``, ``AUTHORS``, ``CONTRIBUTING``,
  ``LICENSE``, ``COPYING``, ``NOTICE``, ``CODE_OF_CONDUCT``, ``SECURITY``, in capitals, as they are, with a
  suffix such as ``LICENSE-MIT`` or ``.txt``), written in a
  documentation markup (``.md``, ``.markdown``, ``.rst``, ``.adoc``, ``.asciidoc``), or a text file or image in a
  ``doc`` or ``docs`` directory: it cannot change what the tests say, so the last edit the tests should have
  seen is the last one that is not of documentation.
- A **hypothesis** is a note tagged ``hypothesis`` or whose text starts with "hypothesis" (any case).

Evidence cites step ids (:mod:`tracer.store.steps`) with their moments; a check cites at most
:data:`MAX_EVIDENCE` steps.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from tracer.commandline import SUMMARY_TAIL, simple_commands, test_program, tests_outcome
from tracer.model import (
    Command,
    Event,
    FileChange,
    Note,
    Output,
    ProcessCheck,
    Session,
    StepRef,
    VerifyResult,
    pair_commands,
)
from tracer.store.steps import command_step, edit_steps, note_steps

#: The ids of the process checks, in the order they are computed and shown.
CHECK_IDS = (
    "reproduced_before_edit",
    "tested_after_last_edit",
    "hypotheses_noted",
    "hypotheses_tested",
    "repeated_failures",
    "dead_ends",
    "time_to_first_pass",
    "verified",
    "resolved",
)

#: Most steps a check cites as evidence.
MAX_EVIDENCE = 10

_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs"})
_TEST_FILE = re.compile(r"test_.*|.*_tests?\.[^/]*|.*\.(test|spec)\.[^/]*|conftest\.py", re.IGNORECASE)


def is_test_file(path: str) -> bool:
    """True when ``path`` (``/``-separated, relative to the workspace) is a test file, as the module says."""
    *dirs, name = path.split("/")
    return any(d.lower() in _TEST_DIRS for d in dirs) or _TEST_FILE.fullmatch(name) is not None


#: The project's own documents, named in capitals as they are by custom (``security.py`` is code).
_DOC_NAME = re.compile(
    r"(?:README|CHANGELOG|CHANGES|HISTORY|NEWS|AUTHORS|CONTRIBUTORS|CONTRIBUTING|LICEN[CS]E|COPYING|NOTICE|"
    r"CODE_OF_CONDUCT|SECURITY)(?:[-_][A-Za-z0-9.-]*)?(?:\.txt)?"
)
_DOC_MARKUP = re.compile(r".*\.(?:md|markdown|rst|adoc|asciidoc)", re.IGNORECASE)
_DOC_DIRS = frozenset({"doc", "docs"})
_DOC_DIR_FILE = re.compile(r".*\.(?:txt|png|svg|jpe?g|gif|webp)", re.IGNORECASE)


def is_doc_file(path: str) -> bool:
    """True when ``path`` (``/``-separated, relative to the workspace) is documentation, as the module says."""
    if is_test_file(path):
        return False
    *dirs, name = path.split("/")
    if _DOC_NAME.fullmatch(name) or _DOC_MARKUP.fullmatch(name):
        return True
    return any(d.lower() in _DOC_DIRS for d in dirs) and _DOC_DIR_FILE.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class _Run:
    """A test run: its command, step id, whether its exit status is the tests', and else what the summary at the
    end of its output said (``None``: nothing)."""

    command: Command
    step: str
    own_status: bool
    summary: bool | None = None

    @property
    def failed(self) -> bool:
        if not self.own_status:
            return self.summary is False
        status = self.command.exit_status
        return status is not None and 1 <= status <= 125

    @property
    def passed(self) -> bool:
        return self.command.exit_status == 0 if self.own_status else self.summary is True

    @property
    def finished(self) -> bool:
        return self.command.end is not None

    def ref(self) -> StepRef:
        return StepRef(self.step, self.command.start)


@dataclass(frozen=True, slots=True)
class _Edit:
    step: str
    change: FileChange

    def ref(self) -> StepRef:
        return StepRef(self.step, self.change.t)


def _ref(step: str, note: Note) -> StepRef:
    return StepRef(step, note.t)


class _Facts:
    """What the checks read from a session, computed once."""

    def __init__(self, session: Session) -> None:
        self.commands, spans = pair_commands(session.events)  # no output is copied
        self.verify: VerifyResult | None = session.verify_result
        named = session.header.test_command or (self.verify.command if self.verify is not None else None)
        test_command = named.strip() if named else None
        self.runs: list[_Run] = []
        for c in self.commands:
            line = c.command.strip()
            if line == test_command:
                self.runs.append(_Run(c, command_step(c.id), True))
                continue
            programs = [test_program(words) for words in simple_commands(line)]
            if any(programs):
                own = programs[-1] is not None
                summary = None if own else tests_outcome(_output_tail(session.events, *spans[c.id]))
                self.runs.append(_Run(c, command_step(c.id), own, summary))
        self.run_starts = [r.command.start for r in self.runs]
        self.edits = [_Edit(step, fc) for step, fc in edit_steps(session) if not self.during_a_run(fc.t)]
        self.edit_times = [e.change.t for e in self.edits]
        self.code_edits = [e for e in self.edits if not is_test_file(e.change.path)]
        self.hypotheses = [(step, n) for step, n in note_steps(session) if _is_hypothesis(n)]

    def during_a_run(self, t: int) -> bool:
        """True when a test run was running at ``t`` (its start ≤ t ≤ its end)."""
        i = bisect.bisect_right(self.run_starts, t) - 1
        end = self.runs[i].command.end if i >= 0 else None
        return end is not None and t <= end

    def edits_between(self, start: int, end: int) -> int:
        """How many edits happened at ``start`` ≤ t < ``end`` (microseconds)."""
        return bisect.bisect_left(self.edit_times, end) - bisect.bisect_left(self.edit_times, start)


def _how(run: _Run) -> str:
    """How a test run's outcome is known: ``exit status 1``, or ``its summary``."""
    return f"exit status {run.command.exit_status}" if run.own_status else "the summary it printed"


def _output_tail(events: list[Event], first: int, stop: int) -> str:
    """The last :data:`~tracer.commandline.SUMMARY_TAIL` bytes of the output between ``events[first:stop]``, as
    text."""
    parts: list[bytes] = []
    size = 0
    for e in reversed(events[first:stop]):
        if isinstance(e, Output):
            parts.append(e.data)
            size += len(e.data)
            if size >= SUMMARY_TAIL:
                break
    return b"".join(reversed(parts))[-SUMMARY_TAIL:].decode("utf-8", "replace")


def _is_hypothesis(note: Note) -> bool:
    return any(tag.lower() == "hypothesis" for tag in note.tags) or note.text.lstrip().lower().startswith("hypothesis")


def process_checks(session: Session) -> tuple[ProcessCheck, ...]:
    """The process checks of ``session``, one per id of :data:`CHECK_IDS`, in that order.

    Reads command lines, exit statuses and times, file changes, notes and the newest verify result; never the
    output. Linear in the number of events (plus a sort of the edits' times).
    """
    facts = _Facts(session)
    return (
        _reproduced_before_edit(facts),
        _tested_after_last_edit(facts),
        *_hypotheses(facts),
        _repeated_failures(facts),
        _dead_ends(facts),
        _time_to_first_pass(facts),
        *_verified(facts),
    )


def _reproduced_before_edit(facts: _Facts) -> ProcessCheck:
    """A test run failed before the first edit of code."""
    cid = "reproduced_before_edit"
    if not facts.code_edits:
        return ProcessCheck(cid, detail="no edit of code (outside test files) was recorded")
    first = facts.code_edits[0]
    failing = [r for r in facts.runs if r.failed and r.command.end is not None and r.command.end <= first.change.t]
    if not failing:
        return ProcessCheck(
            cid,
            ok=False,
            count=0,
            evidence=(first.ref(),),
            detail=f"no test run failed before the first edit of code, {first.step}",
        )
    last = failing[-1]
    return ProcessCheck(
        cid,
        ok=True,
        count=len(failing),
        evidence=(last.ref(), first.ref()),
        detail=f"{last.step} failed ({_how(last)}) before the first edit of code, {first.step}",
    )


def _tested_after_last_edit(facts: _Facts) -> ProcessCheck:
    """A test run started after the last edit that is not of documentation, and finished."""
    cid = "tested_after_last_edit"
    if not facts.edits:
        return ProcessCheck(cid, detail="no edit was recorded")
    tested = [e for e in facts.edits if not is_doc_file(e.change.path)]
    if not tested:
        return ProcessCheck(cid, detail=f"only documentation was edited ({len(facts.edits)} edit(s))")
    last = tested[-1]
    docs = facts.edits[facts.edits.index(last) + 1 :]  # after it: documentation only
    later = f"; after it, documentation only ({', '.join(e.step for e in docs[:MAX_EVIDENCE])})" if docs else ""
    after = [r for r in facts.runs if r.command.start >= last.change.t and r.finished]
    if not after:
        return ProcessCheck(
            cid,
            ok=False,
            count=0,
            evidence=(last.ref(),),
            detail=f"no test ran after the last edit, {last.step}{later}",
        )
    final = after[-1]
    outcome = "passed" if final.passed else "failed" if final.failed else f"ended with {final.command.exit_status}"
    return ProcessCheck(
        cid,
        ok=True,
        count=len(after),
        evidence=(last.ref(), *(r.ref() for r in after[-(MAX_EVIDENCE - 1) :])),
        detail=f"{len(after)} test run(s) after the last edit, {last.step}; the last, {final.step}, {outcome}{later}",
    )


def _hypotheses(facts: _Facts) -> tuple[ProcessCheck, ProcessCheck]:
    """Hypotheses noted; and each followed by a test run before the next hypothesis."""
    hyps = facts.hypotheses
    noted = ProcessCheck(
        "hypotheses_noted",
        ok=bool(hyps),
        count=len(hyps),
        evidence=tuple(_ref(step, n) for step, n in hyps[:MAX_EVIDENCE]),
        detail=f"{len(hyps)} hypothesis note(s)" if hyps else "no note states a hypothesis",
    )
    if not hyps:
        return noted, ProcessCheck("hypotheses_tested", detail="no hypothesis was noted")
    tested: list[StepRef] = []
    untested: list[str] = []
    for i, (step, note) in enumerate(hyps):
        until = hyps[i + 1][1].t if i + 1 < len(hyps) else None
        run = next(
            (
                r
                for r in facts.runs
                if r.command.start >= note.t and (until is None or r.command.start < until) and r.finished
            ),
            None,
        )
        if run is None:
            untested.append(step)
        else:
            tested += [_ref(step, note), run.ref()]
    detail = f"{len(hyps) - len(untested)} of {len(hyps)} hypotheses followed by a test run"
    if untested:
        detail += "; not: " + ", ".join(untested[:MAX_EVIDENCE])
    return noted, ProcessCheck(
        "hypotheses_tested",
        ok=not untested,
        count=len(hyps) - len(untested),
        evidence=tuple(tested[:MAX_EVIDENCE]),
        detail=detail,
    )


def _repeated_failures(facts: _Facts) -> ProcessCheck:
    """Commands that failed again, identically, with no edit since the same line last failed (loops)."""
    last_failure: dict[str, Command] = {}
    repeats: list[Command] = []
    for c in facts.commands:
        if not c.failed or c.end is None:
            continue
        line = c.command.strip()
        before = last_failure.get(line)
        if (
            before is not None
            and before.end is not None
            and before.exit_status == c.exit_status
            and not facts.edits_between(before.end, c.start)
        ):
            repeats.append(c)
        last_failure[line] = c
    return ProcessCheck(
        "repeated_failures",
        ok=not repeats,
        count=len(repeats),
        evidence=tuple(StepRef(command_step(c.id), c.start) for c in repeats[:MAX_EVIDENCE]),
        detail=(
            f"{len(repeats)} command(s) failed again as before with no edit in between: "
            + ", ".join(command_step(c.id) for c in repeats[:MAX_EVIDENCE])
            if repeats
            else "no command failed twice the same way without an edit in between"
        ),
    )


def _dead_ends(facts: _Facts) -> ProcessCheck:
    """Edits that returned a file to content it had earlier in the session (the edits since were undone)."""
    history: dict[str, list[tuple[str, _Edit | None]]] = {}  # path -> [(blob hash, the edit that made it)]
    reverts: list[tuple[_Edit, _Edit]] = []  # (the edit that went back, the first edit it undid)
    for e in facts.edits:
        fc = e.change
        states = history.pop(fc.old_path, None) if fc.old_path is not None else None
        if states is None:
            states = history.get(fc.path) or ([(fc.before_hash, None)] if fc.before_hash else [])
        history[fc.path] = states
        after = fc.after_hash
        if after is None or after == fc.before_hash:
            continue
        earlier = next((i for i, (h, _) in enumerate(states) if h == after), None)
        if earlier is None:
            states.append((after, e))
            continue
        undone = states[earlier + 1][1] if earlier + 1 < len(states) else None
        reverts.append((e, undone or e))
        del states[earlier + 1 :]
    evidence = [ref for e, first in reverts for ref in (first.ref(), e.ref())]
    said = ", ".join(f"{e.step} undid {first.step}" for e, first in reverts[:MAX_EVIDENCE])
    return ProcessCheck(
        "dead_ends",
        count=len(reverts),
        evidence=tuple(evidence[:MAX_EVIDENCE]),
        detail=f"{len(reverts)} edit(s) returned a file to earlier content: {said}"
        if reverts
        else "no file returned to earlier content",
    )


def _time_to_first_pass(facts: _Facts) -> ProcessCheck:
    """Seconds from the session's start to the end of the first test run that passed after the first edit."""
    cid = "time_to_first_pass"
    if not facts.runs:
        return ProcessCheck(cid, detail="no test run was recorded")
    since = facts.edits[0].change.t if facts.edits else 0
    first = next((r for r in facts.runs if r.passed and r.command.start >= since and r.finished), None)
    after = " after the first edit" if facts.edits else ""
    if first is None or first.command.end is None:
        return ProcessCheck(cid, ok=False, detail=f"no test run passed{after}")
    seconds = first.command.end / 1e6
    return ProcessCheck(
        cid,
        ok=True,
        seconds=seconds,
        evidence=(first.ref(),),
        detail=f"{first.step} passed{after}, {seconds:.1f} s into the session",
    )


def _verified(facts: _Facts) -> tuple[ProcessCheck, ProcessCheck]:
    """Whether ``tracer verify`` ran, and whether its newest verdict is ``resolved`` or ``passed``."""
    r = facts.verify
    if r is None:
        return (
            ProcessCheck("verified", ok=False, detail="the session was never verified (tracer verify)"),
            ProcessCheck("resolved", detail="the session was never verified"),
        )
    said = f"verdict {r.verdict}" + (f" ({r.counts()})" if r.counts() else "")
    return (
        ProcessCheck("verified", ok=True, detail=f"verified: {said}"),
        ProcessCheck("resolved", ok=r.verdict in ("resolved", "passed"), detail=said),
    )
