"""The events of a recorded session, as plain dataclasses (standard library only).

A session is a sequence of events. Every event has a ``type`` (the msgpack/JSON key ``"type"``) and a time
``t``: integer **microseconds** since the session started, measured on the recorder's monotonic clock.
Wall-clock time appears once, in :class:`Header.started_at` (RFC 3339, UTC); absolute times are
``started_at + t``.

Events appended after the recording (notes added during replay, verify results) carry the moment they refer
to in ``t``, so readers order events by ``t`` and never by their position in the file.

Each event maps one to one onto a msgpack map (the on-disk form, see ``tracer.store``) and onto a JSON object
described by ``schemas/<type>.schema.json``: :meth:`Event.to_dict` and :func:`event_from_dict` convert.
Output bytes stay ``bytes`` (msgpack ``bin``); they are never decoded on write.

Text that names things of the system (paths, working directories, command lines) is bytes on Linux and need
not be UTF-8. In the model it is ``str`` as :func:`os.fsdecode` makes it: bytes that are not UTF-8 become lone
surrogates (U+DC80..U+DCFF, Python's ``surrogateescape``), so the text maps back to the same bytes. On disk
every text field is a msgpack ``str`` when it is valid UTF-8 and a ``bin`` of its bytes otherwise
(:func:`wire_text`); readers turn a ``bin`` in a text field back into such a ``str`` (:func:`text_of`). No byte of
a name is ever lost; printing and exporting such text is the job of the layers that print and export (they
quote it as git does).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import tracer

#: Version of the session file format (the preamble carries it; readers refuse newer majors). Defined with the
#: package (:data:`tracer.FORMAT_VERSION`), so that the recorder writes the preamble before this module is imported.
FORMAT_VERSION = tracer.FORMAT_VERSION


def rfc3339(when: _dt.datetime) -> str:
    """``when`` (an aware datetime) as RFC 3339 in UTC with microseconds: ``2026-11-21T10:30:00.123456Z``."""
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> _dt.datetime:
    """The aware datetime an RFC 3339 text (as :func:`rfc3339` writes it) names.

    Raises:
        ValueError: the text is not RFC 3339.
    """
    return _dt.datetime.fromisoformat(text)


def format_duration(seconds: float) -> str:
    """A duration as people read it in a listing: ``3.4s`` (under 10 s), ``42s``, ``6m12s``, ``1h02m``, ``3d04h``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    return format_whole_seconds(round(seconds))


def format_whole_seconds(s: int) -> str:
    """A whole number of seconds in its two largest units: ``42s``, ``6m12s``, ``1h02m``, ``3d04h`` (the listing's,
    the replay's and insights' long durations)."""
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def utc_now() -> str:
    """The current wall-clock time, as :func:`rfc3339` writes it."""
    return rfc3339(_dt.datetime.now(_dt.UTC))


def wire_text(text: str) -> str | bytes:
    """``text`` as a session file stores it: itself when it is valid UTF-8, else the bytes it stands for.

    Lone surrogates U+DC80..U+DCFF stand for the bytes 0x80..0xFF that were not UTF-8 (``surrogateescape``, as
    :func:`os.fsdecode` decodes file names); any other lone surrogate (only a hostile or broken source makes
    one) becomes U+FFFD.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8").encode("utf-8")
    return text


def text_of(value: str | bytes) -> str:
    """The text a stored text field holds (the inverse of :func:`wire_text`): ``bytes`` are decoded as UTF-8,
    bytes that are not UTF-8 becoming lone surrogates (``surrogateescape``)."""
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


_C_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
}


def quote_text(text: str) -> str:
    """``text`` quoted as git quotes a path (``core.quotePath=false``): ``"new\\376.txt"``.

    Between double quotes, ``"`` and ``\\`` are escaped with a backslash, control characters as ``\\n``,
    ``\\t``… or three octal digits, and each byte that is not UTF-8 (a lone surrogate of
    :func:`text_of`) as three octal digits; other characters stay as they are. Exports use it for text that is
    not valid UTF-8, which JSON cannot carry.
    """
    out = ['"']
    for c in text:
        code = ord(c)
        if c in _C_ESCAPES:
            out.append(_C_ESCAPES[c])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        elif 0xD800 <= code <= 0xDFFF:  # a byte that was not UTF-8 (U+DC80..U+DCFF), or a stray surrogate
            raw = bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else c.encode("utf-8", "surrogatepass")
            out.extend(f"\\{b:03o}" for b in raw)
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def visible(text: str) -> str:
    """``text`` (from a session file, or naming one) safe to print on a terminal, as ``ls`` and git print names:
    control and format characters (C0, DEL, C1: ESC, CSI, OSC…; bidirectional overrides, line separators) and
    bytes that were not UTF-8 (lone surrogates) as backslash escapes (``\\n``, ``\\x1b``, ``\\xfe``,
    ``\\u202e``), so a crafted session cannot move the cursor, clear the screen, set the title, write the clipboard
    (OSC 52), or hide a command line behind a carriage return or a right-to-left override. Everything tracer
    prints from a session goes through here."""
    if text.isprintable():
        return text
    import unicodedata

    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch != " " and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch)
            out.append(named or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"))
        else:
            out.append(ch)
    return "".join(out)


def is_utf8(text: str) -> bool:
    """True when ``text`` holds no lone surrogate, i.e. it is valid Unicode that UTF-8 can encode."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _wire(value: Any) -> Any:
    if isinstance(value, str):
        return wire_text(value)
    if isinstance(value, (tuple, list)):
        return [v.to_dict() if isinstance(v, _NESTED_TYPES) else _wire(v) for v in value]
    return value


#: Operations of a :class:`FileChange`.
FILE_OPS = ("create", "modify", "delete", "rename", "mode")


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events. ``t`` is microseconds since session start (monotonic clock)."""

    type: ClassVar[str] = "event"
    t: int

    def to_dict(self) -> dict[str, Any]:
        """The event as its on-disk (msgpack) map, with ``"type"`` first and ``None`` fields left out.

        Tuples become lists; text that is not valid UTF-8 becomes the ``bytes`` it stands for
        (:func:`wire_text`).
        """
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = _wire(value)
        return out


@dataclass(frozen=True, slots=True)
class Header(Event):
    """First event of every session: who, where, what.

    Attributes:
        session_id: e.g. ``"2026-11-21T10-30-00-8f3a"``; also the file name stem (``-o`` may name it otherwise).
        uuid: a random UUID (RFC 9562 version 4, lowercase with hyphens) given at record time: the session's
            globally unique id, whatever its file is called. ``None`` in sessions of tracers before 0.2.
        started_at: wall-clock start, RFC 3339 in UTC (``"2026-11-21T10:30:00.123456Z"``).
        tracer_version: version of the recorder.
        shell: path of the shell that was started (``/bin/bash``), or the command of ``tracer shell -c``.
        shell_kind: ``"bash"``, ``"zsh"``, ``"fish"``, or ``"other"`` (output only, no command marks).
        mode: ``"interactive"`` (``tracer shell``) or ``"command"`` (``tracer shell -c CMD``).
        term: ``$TERM`` of the outer terminal.
        cols, rows: terminal size in cells at start.
        cwd: absolute working directory at start.
        repo_root: git top level of ``cwd`` (the watched workspace), ``None`` outside git.
        workspace: the directory whose edits are recorded (``repo_root`` or ``cwd``).
        head_commit: full hash of ``HEAD`` at start, ``None`` outside git or before the first commit.
        branch: current branch, ``None`` when detached or outside git.
        baseline_patch: uncommitted changes present at start, as a ``git diff --binary HEAD`` patch ("" if
            none); ``verify`` applies it before the final patch.
        task: what the session is about (``--task``).
        test_command: the command that decides the verdict (``--test-command``).
        os: ``platform.platform()`` of the recording machine.
        hostname: machine name; stays on the machine like everything else.
        uid: the user id that recorded the session.
        host_id: the recording machine's id, 32 hex digits: a keyed hash of its ``/etc/machine-id`` (the id
            itself never leaves the machine); ``None`` where the machine has none.
        redaction: how secrets were masked at record time: the rule set (``"rules v1"``, with the user's own
            rules: ``"rules v1 + 2 of ~/.config/tracer/config.toml"``), or ``"off"`` (``tracer shell
            --no-redact``); ``None`` in sessions of tracers before 0.2, which masked nothing.
        repository: the URL of the repository's remote (the current branch's upstream remote, else ``origin``,
            else the first), with any user name, password or token and any query removed; ``None`` outside git,
            without a remote, or in sessions of tracers before 0.2.
        editor: ``$VISUAL``, else ``$EDITOR``, of the recording shell's environment; ``None`` when neither is set.
        baseline_omitted: what the start state leaves out, ``"path: why"`` each: changes present at start that
            ``baseline_patch`` cannot carry (a file over 64 MiB), and untracked files past the 16 MiB a session
            keeps, by top-level entry (``"data/: untracked, 200 files, 209715200 bytes; …"``), at most 50 entries
            and one line for the rest. ``verify`` cannot rebuild them (``--copy`` brings untracked ones in).
            ``()`` when nothing was left out, and in sessions of tracers before 0.2.
    """

    type: ClassVar[str] = "header"
    session_id: str
    started_at: str
    tracer_version: str
    shell: str
    shell_kind: str
    mode: str
    term: str
    cols: int
    rows: int
    cwd: str
    workspace: str
    repo_root: str | None = None
    head_commit: str | None = None
    branch: str | None = None
    baseline_patch: str = ""
    task: str | None = None
    test_command: str | None = None
    os: str | None = None
    hostname: str | None = None
    uuid: str | None = None
    uid: int | None = None
    host_id: str | None = None
    redaction: str | None = None
    repository: str | None = None
    editor: str | None = None
    baseline_omitted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Output(Event):
    """Bytes the shell wrote to the terminal, exactly as read from the PTY master (recorder marks removed).

    Attributes:
        data: raw bytes, never decoded.
        reads: when several PTY reads were coalesced into this event, their boundaries as
            ``[end_offset_in_data, microseconds_after_t]`` pairs, so each read's timing is kept. ``None`` when
            the event is a single read.
    """

    type: ClassVar[str] = "output"
    data: bytes
    reads: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class Input(Event):
    """Bytes typed by the user (recorded only on request, and never while the terminal's echo is off)."""

    type: ClassVar[str] = "input"
    data: bytes


@dataclass(frozen=True, slots=True)
class Resize(Event):
    """The terminal was resized to ``cols`` × ``rows`` cells (SIGWINCH)."""

    type: ClassVar[str] = "resize"
    cols: int
    rows: int


@dataclass(frozen=True, slots=True)
class CommandStart(Event):
    """The shell began running a command line (from the shell integration's preexec mark).

    Attributes:
        id: 1, 2, 3… in order of start within the session.
        command: the command line as typed (multi-line commands keep their newlines).
        cwd: the shell's working directory when the command started.
    """

    type: ClassVar[str] = "command_start"
    id: int
    command: str
    cwd: str


@dataclass(frozen=True, slots=True)
class CommandEnd(Event):
    """The command ``id`` finished with ``exit_status`` (``$?``; 128+N when killed by signal N).

    ``cwd`` is the working directory after the command (a ``cd`` changes it).
    """

    type: ClassVar[str] = "command_end"
    id: int
    exit_status: int
    cwd: str | None = None


@dataclass(frozen=True, slots=True)
class FileChange(Event):
    """One saved change to one file of the workspace.

    Attributes:
        path: path relative to the workspace root, ``/``-separated.
        op: one of :data:`FILE_OPS`.
        old_path: the previous path, for ``rename``.
        diff: unified diff (``git diff`` form, ``a/`` and ``b/`` prefixes) from the previous content to the
            new one; ``""`` for binary or oversized files, whose content is not stored.
        before_hash, after_hash: git blob hashes (SHA-1 hex) of the content before and after; ``None`` where
            the file did not exist.
        before_mode, after_mode: git file modes (``"100644"``, ``"100755"``, ``"120000"`` for symlinks).
        size: size of the new content in bytes (``0`` after a delete).
        binary: the content is not text (it holds NUL bytes or is not UTF-8-like).
        oversized: the content is over the size limit; hashes and size only.
        command_id: the command running when the change was seen, or whose start mark came at most 30 ms
            after it, or that ended at most 100 ms before it (the observer hears of writes asynchronously, the
            marks come through the PTY); ``None`` for edits between commands.
        added, removed: counts of added and removed lines in ``diff``.
    """

    type: ClassVar[str] = "file_change"
    path: str
    op: str
    diff: str = ""
    old_path: str | None = None
    before_hash: str | None = None
    after_hash: str | None = None
    before_mode: str | None = None
    after_mode: str | None = None
    size: int = 0
    binary: bool = False
    oversized: bool = False
    command_id: int | None = None
    added: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True)
class Note(Event):
    """A thought, at moment ``t``.

    Attributes:
        id: unique id (hex), so later notes can replace or delete it.
        text: the note.
        tags: free-form labels such as ``hypothesis``, ``dead-end``, ``fix``, ``insight``.
        source: ``"live"`` (``tracer note`` during the recording) or ``"replay"`` (added afterwards).
        command_id: the command running at that moment, if any.
        replaces: id of the note this one edits (the newest version wins); an edit or tombstone carries
            the ``t`` of the note it replaces, so the note stays at its moment.
        deleted: a tombstone: the note ``replaces`` is deleted. Nothing is ever rewritten.
        written_at: wall-clock time the note was written (RFC 3339, UTC).
    """

    type: ClassVar[str] = "note"
    id: str
    text: str
    tags: tuple[str, ...] = ()
    source: str = "live"
    command_id: int | None = None
    replaces: str | None = None
    deleted: bool = False
    written_at: str | None = None


@dataclass(frozen=True, slots=True)
class FinalPatch(Event):
    """Baseline → final state of every changed file, in ``git diff --binary`` form.

    ``git apply`` takes it on the start commit plus :attr:`Header.baseline_patch`.

    Attributes:
        patch: the patch text ("" when nothing changed).
        files: changed paths, relative to the workspace root (a rename's two).
        omitted: paths that changed but could not be included (e.g. over the size limit), with why.
    """

    type: ClassVar[str] = "final_patch"
    patch: str
    files: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()

    @property
    def changes(self) -> int:
        """How many files the patch changes, as ``git diff --stat`` counts them (a rename is one): its file
        diffs, else (a patch without git's headers) its paths."""
        return file_diffs(self.patch) or len(self.files)


def file_diffs(patch: str) -> int:
    """How many ``diff --git`` sections ``patch`` has: one per file it changes (such a line can only be a header;
    a hunk's lines start with " ", "+", "-" or "\\", a binary patch's with a letter and no space)."""
    return patch.count("\ndiff --git ") + patch.startswith("diff --git ")


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test's outcome in a verify run: ``status`` is ``passed``, ``failed``, ``error`` or ``skipped``, or for
    pytest ``xfailed`` (an expected failure: counted as skipped) or ``xpassed`` (an unexpected, non-strict
    pass: counted as passed)."""

    __test__ = False  # not a pytest class

    name: str
    status: str
    duration: float | None = None  # seconds

    def to_dict(self) -> dict[str, Any]:
        """The test case as a map."""
        out: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.duration is not None:
            out["duration"] = self.duration
        return out


@dataclass(frozen=True, slots=True)
class VerifyResult(Event):
    """The verdict of ``tracer verify`` on the session's final patch.

    Attributes:
        verdict: ``"resolved"``, ``"passed"``, ``"failed"``, ``"timeout"`` or ``"error"``.
        command: the test command that was run.
        command_source: where it came from: ``flag``, ``header``, ``config``, ``session``.
        exit_status: the test command's exit status (``None`` on timeout).
        patch_method: how the patch applied: ``git apply``, ``git apply --3way``, ``patch``, or ``empty``.
        verified_at: wall-clock time of the run (RFC 3339, UTC).
        duration: seconds the test command ran.
        overhead: seconds verify spent outside the test run (worktree, apply, cleanup).
        runner: the test runner recognised (``pytest``, ``go``, ``cargo``, ``node``, …) or ``None``.
        passed, failed, skipped, errors: counts, ``None`` when the runner's output gave none.
        tests: per-test outcomes, where the runner reports them.
        fail_to_pass, pass_to_pass, pass_to_fail: with ``--compare-base``: test names by transition
            between the unpatched and the patched start commit (SWE-bench's names).
        flagged: why the outcome is not to be believed as-is, e.g. "exited 0 but no test passed".
        output: the test command's combined output (text, ANSI kept, may be cut to a limit).
        base_output: with ``--compare-base``: the unpatched run's output, as ``output``.
        base_exit_status: with ``--compare-base``: the unpatched run's exit status (``None`` on timeout).
        command_origin: where exactly the command came from, for a person: ``"--test-command"``,
            ``"the test-like part of recorded command 7 of 9: `pytest -q | tail -3`"``, …
        isolation: what the tests ran in: ``"bubblewrap"`` (a sandbox), ``"podman"`` or ``"docker"`` (a
            container of ``image``); ``None`` when they ran as they are.
        image: the container image the tests ran in (``--image``); ``qa.tests.image`` in a trace.
        trusted: whether the session verified as recorded by this user on this machine (``None``: not asked).
    """

    type: ClassVar[str] = "verify_result"
    verdict: str
    command: str
    exit_status: int | None = None
    command_source: str | None = None
    patch_method: str | None = None
    verified_at: str | None = None
    duration: float | None = None
    overhead: float | None = None
    runner: str | None = None
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None
    errors: int | None = None
    tests: tuple[TestCase, ...] = ()
    fail_to_pass: tuple[str, ...] | None = None
    pass_to_pass: tuple[str, ...] | None = None
    pass_to_fail: tuple[str, ...] | None = None
    flagged: str | None = None
    output: str = ""
    base_output: str | None = None
    base_exit_status: int | None = None
    command_origin: str | None = None
    isolation: str | None = None
    image: str | None = None
    trusted: bool | None = None

    def counts(self) -> str:
        """``"3 passed, 1 failed, 2 skipped"``: the counts the runner gave, zeros left out; ``""`` with none."""
        pairs = (("passed", self.passed), ("failed", self.failed), ("errors", self.errors), ("skipped", self.skipped))
        return ", ".join(f"{n} {what}" for what, n in pairs if n)


def _nested_map(value: Any) -> dict[str, Any]:
    """A nested record's map (a test case, a process check, …) with ``None`` left out and text wired."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        if v is not None:
            out[f.name] = _wire(v)
    return out


@dataclass(frozen=True, slots=True)
class StepRef:
    """One step of a session that a process check rests on.

    Attributes:
        step: the step's id: ``c<N>`` the command of id N, ``e<N>`` the N-th edit (file change) in time order,
            ``n<hex>`` a note (the first 8 hex digits of its original's id); see :mod:`tracer.store.steps`.
        t: the step's moment, microseconds since session start (a command's start, an edit's or note's ``t``).
    """

    step: str
    t: int

    def to_dict(self) -> dict[str, Any]:
        """The reference as a map (text wired, as every event's)."""
        return _nested_map(self)


@dataclass(frozen=True, slots=True)
class ProcessCheck:
    """One process check of a judged session (``tracer judge``), computed from its events without a model.

    Attributes:
        id: the check's stable id, e.g. ``reproduced_before_edit``, ``repeated_failures`` (docs/judge.md lists them).
        ok: the yes/no answer, ``None`` where it does not apply (no edits, no hypothesis noted) or the check is a
            count.
        count: how many times it happened, for the checks that count.
        seconds: a duration (``time_to_first_pass``), in seconds.
        evidence: the steps the answer rests on, in time order.
        detail: one sentence saying what was found.
    """

    id: str
    ok: bool | None = None
    count: int | None = None
    seconds: float | None = None
    evidence: tuple[StepRef, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The check as a map (``None`` fields left out)."""
        return _nested_map(self)

    @property
    def mark(self) -> str:
        """``✓`` (yes), ``✗`` (no) or ``·`` (does not apply, or a count)."""
        return "·" if self.ok is None else "✓" if self.ok else "✗"

    @property
    def figure(self) -> str:
        """Its duration or count as text (``"4m10s"``, ``"2"``), ``""`` when it has neither."""
        if self.seconds is not None:
            return format_duration(self.seconds)
        return "" if self.count is None else str(self.count)


@dataclass(frozen=True, slots=True)
class JudgeScore:
    """A rubric judge's score of one criterion.

    Attributes:
        criterion: the rubric criterion's id (``problem_understanding``, …).
        score: 1 (poor) to 5 (excellent).
        steps: ids of the steps the score rests on (as :attr:`StepRef.step`); each exists in the session.
        reason: the judge's one or two sentences for the score.
    """

    criterion: str
    score: int
    steps: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The score as a map."""
        return _nested_map(self)


@dataclass(frozen=True, slots=True)
class JudgeResult(Event):
    """The judgement of ``tracer judge``: process checks always, a rubric judge's scores when one was asked.

    Attributes:
        judged_at: wall-clock time of the judgement (RFC 3339, UTC).
        checks: the process checks, computed from the session's events.
        judge_kind: ``"checks"`` (process checks only), ``"model"`` (an OpenAI-compatible chat-completions
            endpoint) or ``"command"`` (``--command``).
        judge: the model's name, or the command line; ``None`` for checks only.
        endpoint: the chat-completions URL the model was asked at (no credentials, no query), for model judges.
        rubric_id, rubric_version: the rubric the scores follow; ``None`` for checks only.
        scores: one score per rubric criterion, in the rubric's order.
        overall: the overall score, 1 to 5.
        comments: the judge's comments.
        strengths, weaknesses, recommendations: short sentences, each list possibly empty.
        duration: seconds the model or command took.
    """

    type: ClassVar[str] = "judge_result"
    judged_at: str
    checks: tuple[ProcessCheck, ...] = ()
    judge_kind: str = "checks"
    judge: str | None = None
    endpoint: str | None = None
    rubric_id: str | None = None
    rubric_version: str | None = None
    scores: tuple[JudgeScore, ...] = ()
    overall: int | None = None
    comments: str | None = None
    strengths: tuple[str, ...] = ()
    weaknesses: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    duration: float | None = None

    def check(self, check_id: str) -> ProcessCheck | None:
        """The process check of that id, ``None`` when the result has none."""
        return next((c for c in self.checks if c.id == check_id), None)

    def headline(self) -> str:
        """One line for a verdict panel: ``"overall 4/5 (model qwen2.5), 5 of 7 checks ok"``."""
        decided = [c for c in self.checks if c.ok is not None]
        ok = sum(1 for c in decided if c.ok)
        checks = f"{ok} of {len(decided)} checks ok"
        if self.overall is None:
            return checks
        return f"overall {self.overall}/5 ({self.judge_kind} {self.judge}), {checks}"

    @property
    def judged_by(self) -> str:
        """``model NAME`` or ``command `CMD```; ``process checks`` for checks only."""
        if self.judge_kind == "model":
            return f"model {self.judge}"
        return f"command `{self.judge}`" if self.judge_kind == "command" else "process checks"

    def report(self) -> list[str]:
        """The whole judgement as lines of text for a terminal: the process checks (mark, id, figure, detail), then
        the rubric's scores with their reasons and cited steps, the overall score, comments, strengths, weaknesses
        and recommendations. Text from the judge or the session has its control characters escaped."""
        lines = ["process checks"]
        width = max((len(c.id) for c in self.checks), default=0)
        lines += [visible(f"  {c.mark} {c.id:<{width}} {c.figure:>6}  {c.detail}") for c in self.checks]
        if self.overall is None:
            return lines
        by = self.judged_by + (f" at {self.endpoint}" if self.endpoint else "")
        took = f" in {format_duration(self.duration)}" if self.duration is not None else ""
        lines += ["", visible(f"rubric {self.rubric_id} v{self.rubric_version}, scored by {by}{took}")]
        width = max((len(s.criterion) for s in self.scores), default=0)
        for sc in self.scores:
            cited = f"  [{' '.join(sc.steps)}]" if sc.steps else ""
            lines.append(visible(f"  {sc.criterion:<{width}} {sc.score}/5  {sc.reason}{cited}"))
        lines.append(f"  {'overall':<{width}} {self.overall}/5")
        if self.comments:
            lines += ["", *(visible(line) for line in self.comments.splitlines())]
        for title, items in (
            ("strengths", self.strengths),
            ("weaknesses", self.weaknesses),
            ("recommendations", self.recommendations),
        ):
            if items:
                lines += ["", title, *(f"  - {visible(item)}" for item in items)]
        return lines


@dataclass(frozen=True, slots=True)
class UnmaskedSite:
    """Where a value that record-time redaction masked occurs unmasked in the session, written before the recorder
    learnt it was a secret (``cat token.txt``, later ``export TOKEN=…``): one site per such value, never the value.
    An export reads the value there and masks it wherever it comes (:meth:`tracer.redact.Redactor.know`).

    Attributes:
        event: the event's ordinal in file order (the header is 0).
        field: the field that holds it (``"data"`` of output and input, a text field of any other event).
        start, end: its byte offsets in that field (text as UTF-8, undecodable bytes as they were).
        rule: the id of the rule that found it.
        item: the item of a field that is a list of text (``None``: the field is text or bytes).
    """

    event: int
    field: str
    start: int
    end: int
    rule: str
    item: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The site as a map (text wired, as every event's)."""
        return _nested_map(self)


@dataclass(frozen=True, slots=True)
class SessionEnd(Event):
    """The recording ended normally at ``t``.

    Attributes:
        exit_status: the shell's exit status (what ``tracer shell`` itself returned).
        reason: ``"exit"`` (the shell exited), or the signal that stopped the recorder (``"SIGTERM"``,
            ``"SIGHUP"``), or ``"error"``.
        warnings: problems met while recording (e.g. the disk filled up), one sentence each.
        concurrent_sessions: ids of other sessions that recorded the same workspace (or a directory inside or
            around it) at the same time: a file change cannot be told apart by who made it, so their edits are
            in this session's too, and this session's in theirs.
        mac: the recorder's signature of every byte of the file before the frame holding this event,
            ``"blake3-256:"`` (``"blake2b-256:"`` before) and 64 hex digits (see ``tracer.store.signing``); ``None``
            when unsigned.
        redactions: how many values record-time redaction masked, per rule id (``{"github-pat": 2}``); never
            the values. ``None`` when redaction was off.
        unmasked: where values record-time redaction learnt only after writing them occur unmasked, one
            :class:`UnmaskedSite` per value (at most :data:`MAX_UNMASKED_SITES`); never the values. ``None``:
            there are none (and in an export or a copy, which mask them: they are not unmasked there).
    """

    type: ClassVar[str] = "session_end"
    exit_status: int
    reason: str = "exit"
    warnings: tuple[str, ...] = field(default=())
    concurrent_sessions: tuple[str, ...] = field(default=())
    mac: str | None = None
    redactions: dict[str, int] | None = None
    unmasked: tuple[UnmaskedSite, ...] | None = None


#: The most :class:`UnmaskedSite` a session's end holds (the most values record-time redaction learns).
MAX_UNMASKED_SITES = 4096


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Header,
        Output,
        Input,
        Resize,
        CommandStart,
        CommandEnd,
        FileChange,
        Note,
        FinalPatch,
        VerifyResult,
        JudgeResult,
        SessionEnd,
    )
}

#: Records nested in events (as maps, in lists): read back by event_from_dict's checks like events.
_NESTED_TYPES = (TestCase, StepRef, ProcessCheck, JudgeScore, UnmaskedSite)


class MalformedEvent(ValueError):
    """A map read from a session file is not a valid event.

    Attributes:
        field: the field that is wrong, as a path (``"tags"``, ``"tests[3].name"``); ``""`` for the map itself.
        reason: what is wrong with it (``"must be an integer, not text ('80')"``).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field!r} {reason}" if field else reason)
        self.field = field
        self.reason = reason


#: The largest ``t`` an event may carry (microseconds): 100 years, so ``started_at + t`` is always a date.
MAX_T = 100 * 366 * 86_400 * 1_000_000
#: Terminal sizes are what the kernel's window size holds: 1 to 65535 cells.
MAX_CELLS = 0xFFFF
#: Years a header's ``started_at`` may name: with :data:`MAX_T`, every moment of a session stays in range.
STARTED_AT_YEARS = (1970, 9800)


def event_from_dict(data: Any) -> Event:
    """Build the event a map describes (the inverse of :meth:`Event.to_dict`), checking every field.

    Each field must have the type its dataclass annotation says (``int`` fields take no ``bool``; ``float``
    fields take integers too; tuples are msgpack arrays, lists or tuples); text fields also take ``bytes``
    (:func:`text_of`); ``t`` and sizes and counts are not negative; ``t`` is at most :data:`MAX_T`; ``cols`` and
    ``rows`` are 1 to :data:`MAX_CELLS`; a header's ``started_at`` is an RFC 3339 time in the years
    :data:`STARTED_AT_YEARS` and its ``uuid`` a UUID (read in lowercase); ``reads`` are pairs of non-negative
    integers. Unknown keys are ignored (newer recorders may add fields). The checks are compiled once per class
    from its annotations.

    Raises:
        KeyError: the map's ``type`` is text but no event type tracer knows (a newer tracer's).
        MalformedEvent: ``data`` is not a map, has no ``type``, lacks a required field or a field is wrong;
            it names the field.
    """
    if not isinstance(data, dict):
        raise MalformedEvent("", f"is not a map but {_describe(data)}")
    kind = data.get("type")
    if kind == "output" and len(data) == 3:  # the most common event, in its most common form: checked inline
        t, out = data.get("t"), data.get("data")
        if type(t) is int and 0 <= t <= MAX_T and type(out) is bytes:
            return Output(t, out)
    if not isinstance(kind, str):
        raise MalformedEvent("type", "is missing" if kind is None else f"must be text, not {_describe(kind)}")
    cls = EVENT_TYPES[kind]
    checks = _CHECKS.get(cls) or _CHECKS.setdefault(cls, _compile(cls))
    return cls(**_fields_of(checks, data, ""))


#: A field's check: ``(value, path) -> the value as the dataclass holds it``, or :class:`MalformedEvent`.
_Check = Callable[[Any, str], Any]
_MISSING = object()


def _describe(value: Any) -> str:
    """``value`` in a few words for an error message: its msgpack kind and a short, cut repr."""
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "text", bytes: "bytes", dict: "a map"}
    if value is None:
        return "nil"
    kind = kinds.get(type(value), "a list" if isinstance(value, (list, tuple)) else type(value).__name__)
    if isinstance(value, (list, tuple)) and len(value) <= 4 and all(type(v) in (int, bool) for v in value):
        return f"{kind} {list(value)}"
    if isinstance(value, (dict, list, tuple)):
        return f"{kind} of {len(value)}"
    cut = isinstance(value, (str, bytes)) and len(value) > 40
    shown = repr(value[:40] if cut else value)  # never the repr of a whole 500 MB field
    return f"{kind} ({shown[:60]}…)" if cut or len(shown) > 60 else f"{kind} ({shown})"


def _fields_of(checks: tuple[tuple[str, _Check, bool], ...], data: dict[str, Any], prefix: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name, check, required in checks:
        value = data.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise MalformedEvent(prefix + name, "is missing")
            continue
        kwargs[name] = check(value, prefix + name)
    return kwargs


def _check_type(kind: type, what: str) -> _Check:
    def check(value: Any, path: str) -> Any:
        if type(value) is not kind:  # exactly: a bool is no integer here
            raise MalformedEvent(path, f"must be {what}, not {_describe(value)}")
        return value

    return check


_any_int = _check_type(int, "an integer")
_check_bytes = _check_type(bytes, "bytes (msgpack bin)")
_check_bool = _check_type(bool, "true or false")


def _check_int(low: int, high: int | None) -> _Check:
    def check(value: Any, path: str) -> int:
        number: int = _any_int(value, path)
        if number < low or (high is not None and number > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise MalformedEvent(path, f"must be {bound}, not {number}")
        return number

    return check


def _check_float(value: Any, path: str) -> float:
    if type(value) not in (float, int) or not (0 <= value < float("inf")):
        what = _describe(value) if type(value) not in (float, int) else repr(value)
        raise MalformedEvent(path, f"must be a number of seconds (0 or more), not {what}")
    return float(value)


def _check_text(value: Any, path: str) -> str:
    if type(value) is str:
        return value
    if type(value) is bytes:
        return text_of(value)
    raise MalformedEvent(path, f"must be text, not {_describe(value)}")


def _check_started_at(value: Any, path: str) -> str:
    text = _check_text(value, path)
    try:
        when = parse_rfc3339(text)
    except ValueError:
        when = None
    if when is None or not STARTED_AT_YEARS[0] <= when.year <= STARTED_AT_YEARS[1]:
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
        raise MalformedEvent(path, f"must be an RFC 3339 date and time (2026-11-21T10:30:00Z), not {shown}")
    return text


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _check_uuid(value: Any, path: str) -> str:
    text = _check_text(value, path).lower()
    if not _UUID.fullmatch(text):
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
        raise MalformedEvent(path, f"must be a UUID (8-4-4-4-12 hexadecimal digits), not {shown}")
    return text


def _check_reads(value: Any, path: str) -> tuple[tuple[int, int], ...]:
    if type(value) not in (tuple, list):
        raise MalformedEvent(path, f"must be a list of [offset, microseconds] pairs, not {_describe(value)}")
    for i, pair in enumerate(value):
        if (
            type(pair) not in (tuple, list)
            or len(pair) != 2
            or type(pair[0]) is not int
            or type(pair[1]) is not int
            or pair[0] < 0
            or pair[1] < 0
        ):
            raise MalformedEvent(f"{path}[{i}]", f"must be a pair of integers (0 or more), not {_describe(pair)}")
    return tuple((end, delay) for end, delay in value)


def _check_counts(value: Any, path: str) -> dict[str, int]:
    """A map of names to counts (``session_end.redactions``: rule id → values masked)."""
    if type(value) is not dict:
        raise MalformedEvent(path, f"must be a map of names to counts, not {_describe(value)}")
    count = _check_int(0, None)
    return {_check_text(k, f"{path} (a key)"): count(v, f"{path}.{k!s:.40}") for k, v in value.items()}


def _check_tuple(item: _Check, what: str) -> _Check:
    def check(value: Any, path: str) -> tuple[Any, ...]:
        if type(value) not in (tuple, list):
            raise MalformedEvent(path, f"must be a list of {what}, not {_describe(value)}")
        return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))

    return check


def _check_optional(check: _Check) -> _Check:
    def optional(value: Any, path: str) -> Any:
        return None if value is None else check(value, path)

    return optional


def _check_record(cls: type) -> _Check:
    """The check of a record nested in an event (a test case, a process check…): a map of its fields."""
    fields = ", ".join(f.name for f in dataclasses.fields(cls))

    def check(value: Any, path: str) -> Any:
        if type(value) is not dict:
            raise MalformedEvent(path, f"must be a map ({fields}), not {_describe(value)}")
        checks = _CHECKS.get(cls) or _CHECKS.setdefault(cls, _compile(cls))
        return cls(**_fields_of(checks, value, path + "."))

    return check


#: Fields whose integers are counts, sizes or ids: never negative.
_COUNTS = frozenset(
    {"size", "added", "removed", "id", "command_id", "passed", "failed", "skipped", "errors", "count"}
    | {"event", "start", "end", "item"}
)


def _compile(cls: type) -> tuple[tuple[str, _Check, bool], ...]:
    """The checks of each field of ``cls``, from its annotations (``from __future__ import annotations`` makes them
    text: they are resolved here, once per class, on first use: not on the way to the shell's prompt)."""
    hints = typing.get_type_hints(cls)
    checks = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        optional = False
        args = typing.get_args(hint)
        if type(None) in args:  # X | None
            optional = True
            (hint,) = (a for a in args if a is not type(None))
        check = _check_for(f.name, hint)
        if optional:
            check = _check_optional(check)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        checks.append((f.name, check, required))
    return tuple(checks)


def _check_for(name: str, hint: Any) -> _Check:
    if name == "started_at":
        return _check_started_at
    if name == "uuid":
        return _check_uuid
    if name == "reads":
        return _check_reads
    if hint is int:
        if name == "t":
            return _check_int(0, MAX_T)
        if name in ("cols", "rows"):
            return _check_int(1, MAX_CELLS)
        return _check_int(0, None) if name in _COUNTS else _any_int
    simple = {str: _check_text, bytes: _check_bytes, bool: _check_bool, float: _check_float}
    if hint in simple:
        return simple[hint]
    if hint in _NESTED_TYPES:
        return _check_record(hint)
    if typing.get_origin(hint) is dict:
        return _check_counts
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return _check_tuple(_check_for(name, item), f"maps ({item.__name__})" if item in _NESTED_TYPES else "text")
    raise TypeError(f"no check for the annotation {hint!r} of field {name!r}")  # a new field type: add its check


_CHECKS: dict[type, tuple[tuple[str, _Check, bool], ...]] = {}


#: Command lines that end the shell with the exit status of the command before them (``$?``): ``exit`` and
#: ``logout`` without an argument, in bash, zsh and fish.
CARRIED_STATUS = ("exit", "logout")


def carries_status(command: str) -> bool:
    """Whether the command line ``command`` is a bare ``exit`` or ``logout`` (:data:`CARRIED_STATUS`), whose exit
    status is the previous command's: it is recorded as it was, and not counted as a failure of its own (a session
    whose last test run failed, then ``exit``, has one failed command, not two)."""
    return command.strip() in CARRIED_STATUS


@dataclass(frozen=True, slots=True)
class Command:
    """A command line paired with its end: the unit that timelines and exports show.

    Attributes:
        id, command, cwd: from :class:`CommandStart`.
        start: microseconds since session start.
        end: microseconds since session start, ``None`` if the command never finished (interrupted recording).
        exit_status: ``None`` if the command never finished.
        output: the bytes the terminal showed between the start and the end of the command.
    """

    id: int
    command: str
    cwd: str
    start: int
    end: int | None
    exit_status: int | None
    output: bytes

    @property
    def duration(self) -> float | None:
        """Seconds the command ran, ``None`` if it never finished."""
        return None if self.end is None else (self.end - self.start) / 1e6

    @property
    def failed(self) -> bool:
        """True when the command finished with a non-zero exit status, but for a bare ``exit`` or ``logout``
        (:func:`carries_status`): its status is the one of the command before it, whose failure it is."""
        return self.exit_status not in (None, 0) and not carries_status(self.command)


@dataclass(frozen=True, slots=True)
class Summary:
    """What one line of ``tracer ls`` shows of a session.

    Attributes:
        duration: seconds. edits: file changes; files: distinct paths changed.
        verdict: the newest verify verdict, ``None`` if never verified.
        damaged: a part of the file could not be read (:attr:`Session.problem`).
        task, workspace, repo_root, repository, branch: the header's (what the session is about, and where), each
            cut to :data:`SUMMARY_TEXT` characters.
    """

    session_id: str
    started_at: str
    duration: float
    commands: int
    failed: int
    edits: int
    files: int
    notes: int
    verdict: str | None
    interrupted: bool
    damaged: bool = False
    task: str | None = None
    workspace: str | None = None
    repo_root: str | None = None
    repository: str | None = None
    branch: str | None = None


#: The characters of a header's text that a :class:`Summary` keeps (a listing's line; the summaries are cached).
SUMMARY_TEXT = 500


def _listed(text: str | None) -> str | None:
    return text if text is None or len(text) <= SUMMARY_TEXT else text[: SUMMARY_TEXT - 1] + "…"


def pair_commands(events: list[Event]) -> tuple[list[Command], dict[int, tuple[int, int]]]:
    """Pair command starts with their ends in one pass, without copying any output.

    Output belongs to the running command: from its start to its end, or to the next start when it never
    ended (an interrupted recording).

    Returns:
        The commands in order of start, each with ``output=b""``, and for each command id the
        ``(first, stop)`` indices into ``events`` between which its output lies.
    """
    starts: dict[int, CommandStart] = {}
    ends: dict[int, CommandEnd] = {}
    spans: dict[int, tuple[int, int]] = {}
    running: int | None = None
    for i, e in enumerate(events):
        kind = type(e)
        if kind is Output:
            continue
        if kind is CommandStart:
            assert isinstance(e, CommandStart)
            if running is not None:
                spans[running] = (spans[running][0], i)
            starts[e.id] = e
            spans[e.id] = (i + 1, len(events))
            running = e.id
        elif kind is CommandEnd:
            assert isinstance(e, CommandEnd)
            ends[e.id] = e
            if running == e.id:
                spans[e.id] = (spans[e.id][0], i)
                running = None
    commands = []
    for cid, s in starts.items():
        end = ends.get(cid)
        commands.append(
            Command(
                id=cid,
                command=s.command,
                cwd=s.cwd,
                start=s.t,
                end=end.t if end else None,
                exit_status=end.exit_status if end else None,
                output=b"",
            )
        )
    return commands, spans


def current_notes(notes: list[Note]) -> list[Note]:
    """The notes as they stand now: edits applied (newest wins), tombstones removed; in time order.

    Args:
        notes: every note event of a session, in time order (stable: file order breaks ties).

    Originals are placed first, then edits and tombstones in the order they were written (``written_at``, then
    file order), whatever their ``t``.
    """
    current: dict[str, Note] = {n.id: n for n in notes if not n.replaces}
    origin: dict[str, str] = {n: n for n in current}  # note id -> id of the original it stands for
    changes = sorted((n for n in notes if n.replaces), key=lambda n: n.written_at or "")
    for n in changes:
        assert n.replaces is not None
        root = origin.get(n.replaces, n.replaces)
        origin[n.id] = root
        if n.deleted:
            current.pop(root, None)
        elif root in current:
            current[root] = n
    return sorted(current.values(), key=lambda n: n.t)


@dataclass(slots=True)
class Session:
    """Everything read from one session file, in time order.

    Attributes:
        path: the file it was read from (as given).
        header: the first event.
        events: every event after the header, ordered by ``t`` (stable: file order breaks ties).
        problem: what could not be read (a truncated or corrupt frame, malformed events that were skipped),
            with the file and where; ``None`` when the whole file was read.
        output_until: when the output events were left out (an outline, see
            :func:`tracer.store.read_outline`), the ``t`` of the last of them, so :attr:`duration` stays right;
            else 0.
    """

    path: str
    header: Header
    events: list[Event]
    problem: str | None = None
    output_until: int = 0

    def of_type(self, cls: type[Event]) -> list[Any]:
        """The events of one class, in time order."""
        return [e for e in self.events if isinstance(e, cls)]

    @property
    def end(self) -> SessionEnd | None:
        """The ``session_end`` event, ``None`` when the recording was interrupted."""
        ends = self.of_type(SessionEnd)
        return ends[-1] if ends else None

    @property
    def interrupted(self) -> bool:
        """True when the recording has no ``session_end`` (the recorder was killed or crashed)."""
        return self.end is None

    @property
    def duration(self) -> float:
        """Seconds from the start to the end (or to the last event recorded)."""
        end = self.end
        if end is not None:
            return end.t / 1e6
        recorded = [e.t for e in self.events if not isinstance(e, (Note, VerifyResult, JudgeResult))]
        return max(max(recorded, default=0), self.output_until) / 1e6

    def commands(self) -> list[Command]:
        """Commands paired with their ends and their output, in order of start."""
        commands, spans = pair_commands(self.events)
        events = self.events
        return [
            dataclasses.replace(
                c, output=b"".join(e.data for e in events[slice(*spans[c.id])] if isinstance(e, Output))
            )
            for c in commands
        ]

    def notes(self) -> list[Note]:
        """The notes as they stand now (see :func:`current_notes`), in time order."""
        return current_notes(self.of_type(Note))

    def file_changes(self) -> list[FileChange]:
        """The recorded edits, in time order."""
        return self.of_type(FileChange)

    @property
    def final_patch(self) -> FinalPatch | None:
        """The final patch, ``None`` if the recording ended before it was computed."""
        patches = self.of_type(FinalPatch)
        return patches[-1] if patches else None

    def summary(self) -> Summary:
        """The counts a listing shows."""
        commands, _ = pair_commands(self.events)
        changes = self.file_changes()
        result = self.verify_result
        return Summary(
            session_id=self.header.session_id,
            started_at=self.header.started_at,
            duration=self.duration,
            commands=len(commands),
            failed=sum(1 for c in commands if c.failed),
            edits=len(changes),
            files=len({c.path for c in changes}),
            notes=len(self.notes()),
            verdict=result.verdict if result is not None else None,
            interrupted=self.interrupted,
            damaged=self.problem is not None,
            task=_listed(self.header.task),
            workspace=_listed(self.header.workspace),
            repo_root=_listed(self.header.repo_root),
            repository=_listed(self.header.repository),
            branch=_listed(self.header.branch),
        )

    @property
    def verify_result(self) -> VerifyResult | None:
        """The newest verdict, ``None`` if the session was never verified."""
        results = self.of_type(VerifyResult)
        return max(results, key=lambda r: r.verified_at or "") if results else None

    @property
    def judge_result(self) -> JudgeResult | None:
        """The newest judgement (``tracer judge``), ``None`` if the session was never judged."""
        results = self.of_type(JudgeResult)
        return max(results, key=lambda r: r.judged_at) if results else None
