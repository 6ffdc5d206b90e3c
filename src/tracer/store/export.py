"""Export formats, streamed: the trace JSON document, JSON Lines, asciicast v2 and v3, and the patch.

- ``json``: one document described by ``schemas/trace.schema.json`` (version 1.2), in the shape of the trace format
  our users exchange: ``trace_id`` (the session's UUID, :func:`tracer.store.facts.session_uuid`), ``task``,
  ``environment``, ``events`` of ``terminal_command`` / ``edit`` / ``thought`` (each with its step id as ``id``,
  :mod:`tracer.store.steps`), ``artifacts`` (the baseline and the final patch, the newest test counts), ``qa``
  (every verify run, the newest first, and the newest judgement); written as ``json.dumps(document, indent=2,
  ensure_ascii=False)`` would. Every key is present in every document; integers are never null (-1: unknown).
- ``jsonl``: JSON Lines, one event per line in the order the file holds them: each event's JSON form as
  ``schemas/<type>.schema.json`` describes it (bytes as base64), plus ``trace_id`` and ``time`` (RFC 3339).
- ``asciicast``: asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
  ``[seconds, code, data]`` lines: output ``"o"``, resizes ``"r"``, and markers ``"m"`` at every command start
  (labelled ``$ <command line>``) and at every note (labelled with its text). Plays in ``asciinema play`` 2.x.
- ``asciicast-v3``: asciicast v3 (https://docs.asciinema.org/manual/asciicast/v3/), asciinema 3's format: the
  header's ``term`` object, each event's time as the interval since the one before, the same events, and an
  exit event ``"x"`` with the shell's exit status at the end of a recording that ended.
- ``patch``: the final patch, ``git apply``-ready, byte for byte; with ``from_commit``, the baseline patch before
  it (:func:`tracer.store.facts.patch_from_commit`), which applies to a clean checkout of the start commit.

Every exporter reads the session through a :class:`~tracer.store.reader.SessionReader` (or anything with its
``header``, ``events()`` and ``end``, such as a redacting reader) and yields the export as ``bytes`` chunks, in
memory bounded by the largest event, not the session: a first pass notes where each command, edit, note and
verify run is (their refs, a few numbers each), a second pass reads them in the document's order (time order),
streaming each command's output through an incremental UTF-8 decoder. What the reader could not read is in
``reader.problem`` afterwards; the export holds everything readable.

Text that is not valid UTF-8 (a path or command line holding such bytes, see :func:`tracer.model.text_of`) is
written C-quoted as git quotes such a path (``"new\\376.txt"``, :func:`tracer.model.quote_text`): JSON cannot
carry those bytes.
"""

from __future__ import annotations

import base64
import codecs
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from tracer.commandline import shell_words
from tracer.model import (
    CommandEnd,
    CommandStart,
    Event,
    FileChange,
    FinalPatch,
    Header,
    JudgeResult,
    Note,
    Output,
    Resize,
    Session,
    SessionEnd,
    VerifyResult,
    is_utf8,
    parse_rfc3339,
    quote_text,
    rfc3339,
)
from tracer.store.facts import patch_from_commit, session_uuid
from tracer.store.reader import Ref, SessionReader
from tracer.store.steps import command_step, edit_steps, note_steps

FORMATS = ("json", "jsonl", "asciicast", "asciicast-v3", "patch")
TRACE_FORMAT_VERSION = "1.2"

#: An exporter: a session reader in, the export's bytes out, chunk by chunk.
Exporter = Callable[[SessionReader], Iterator[bytes]]


def _q(text: str) -> str:
    """``text`` as an export writes it: itself, or git's C-quoted form when it is not valid UTF-8."""
    return text if is_utf8(text) else quote_text(text)


def _clean(value: Any) -> Any:
    """``value`` (JSON-ready: dicts, lists, text, numbers) with every text that is not UTF-8 quoted (:func:`_q`)."""
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _dumps(value: Any, level: int = 0) -> str:
    """``value`` as ``json.dumps(indent=2)`` writes it at nesting ``level`` of an indented document."""
    text = json.dumps(_clean(value), indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + "  " * level) if level else text


def _line(value: Any) -> bytes:
    return (json.dumps(_clean(value), ensure_ascii=False) + "\n").encode("utf-8")


def _int(n: int | None) -> int:
    """An integer of the document: never null, -1 for unknown (so no reader turns the column into floats)."""
    return -1 if n is None else n


class _Cursor:
    """Events of a session in file order, fetched by ref: moves forward through the file, jumps ahead to a later
    frame without decompressing the ones between, and starts again at a frame only when asked for an event
    behind it."""

    def __init__(self, reader: SessionReader) -> None:
        self._reader = reader
        self._stop = reader.end  # as far as the first pass read: a session still being recorded stays as it was
        self._it: Iterator[tuple[Ref, int, Event]] | None = None
        self._last: Ref = (-1, -1)
        self._back: tuple[Ref, Event] | None = None

    def _pull(self) -> tuple[Ref, Event] | None:
        if self._back is not None:
            pulled, self._back = self._back, None
            return pulled
        if self._it is not None:
            for ref, _, event in self._it:
                self._last = ref
                return ref, event
            self._it = None
        return None

    def push_back(self, ref: Ref, event: Event) -> None:
        """Give back the event just pulled: the next pull returns it again."""
        self._back = (ref, event)

    def seek(self, ref: Ref) -> Event | None:
        """The event at ``ref`` (``None`` if it is gone: the file changed); the cursor then stands after it."""
        if self._back is not None and self._back[0] == ref:
            return self.pull_event()
        if self._it is None or ref <= self._last or ref[0] > self._last[0]:
            self._back = None
            self._it = self._reader.events(start=ref[0], stop=self._stop)
            self._last = (-1, -1)
        while (pulled := self._pull()) is not None:
            if pulled[0] == ref:
                return pulled[1]
            if pulled[0] > ref:
                self.push_back(*pulled)
                return None
        return None

    def pull_event(self) -> Event | None:
        pulled = self._pull()
        return None if pulled is None else pulled[1]

    def follow(self) -> Iterator[tuple[Ref, Event]]:
        """The events after the cursor, in file order."""
        while (pulled := self._pull()) is not None:
            yield pulled


# --- the trace document -------------------------------------------------------------------------------------------


def trace_document(session: Session) -> dict[str, Any]:
    """The session (read into memory) as a trace document: a JSON-ready dict following
    ``schemas/trace.schema.json``, each event with its step id (:mod:`tracer.store.steps`). Text is as read:
    :func:`export_json` writes the same document, streamed, with text that is not UTF-8 quoted."""
    h = session.header
    at = _clock(h)
    runs = _newest_first(session.of_type(VerifyResult))
    latest = runs[0] if runs else None
    items: list[tuple[int, int, dict[str, Any]]] = []
    for c in session.commands():
        end = None if c.end is None or c.exit_status is None else (c.end, c.exit_status)
        item = _command_fields(c.id, c.start, c.command, c.cwd, end, at)
        item["output"] = c.output.decode("utf-8", "replace")
        items.append((c.start, 0, item))
    items += [(fc.t, 1, _edit_item(step, fc, at)) for step, fc in edit_steps(session)]
    items += [(n.t, 2, _thought_item(step, n, at)) for step, n in note_steps(session)]
    items.sort(key=lambda x: (x[0], x[1]))
    final = session.final_patch
    return {
        **_document_head(h, latest),
        "events": [item for _, _, item in items],
        "artifacts": _artifacts(h, final, latest),
        "interrupted": session.interrupted,
        "qa": {
            "tests": _short_tests(latest),
            "verify": [_verify_run(r) for r in runs],
            "judge": _judgement(session.judge_result, at),
        },
    }


def _newest_first(results: list[VerifyResult]) -> list[VerifyResult]:
    """Verify runs (in time order) newest first by ``verified_at``; runs of one moment keep their time order, so the
    first is :attr:`Session.verify_result`."""
    return sorted(results, key=lambda r: r.verified_at or "", reverse=True)


def _clock(h: Header) -> Callable[[int], str]:
    """RFC 3339 (UTC, microseconds) of ``t`` microseconds after the session's start."""
    start = parse_rfc3339(h.started_at)
    return lambda t: rfc3339(start + dt.timedelta(microseconds=t))


def _document_head(h: Header, latest: VerifyResult | None) -> dict[str, Any]:
    return {
        "trace_id": session_uuid(h),
        "created_at": h.started_at,
        "version": TRACE_FORMAT_VERSION,
        "task": {
            "description": h.task,
            "repository": h.repository,
            "workspace": h.workspace,
            "branch": h.branch,
            "commit": h.head_commit,
            "test_command": h.test_command,
            "test_image": latest.image if latest is not None else None,
        },
        "environment": {
            "os": h.os,
            "shell": h.shell,
            "shell_kind": h.shell_kind,
            "term": h.term,
            "editor": h.editor,
            "tracer_version": h.tracer_version,
        },
    }


def _artifacts(h: Header, final: FinalPatch | None, latest: VerifyResult | None) -> dict[str, Any]:
    return {
        "baseline_patch": h.baseline_patch,
        "baseline_omitted": list(h.baseline_omitted),
        "final_patch": final.patch if final is not None else None,
        "omitted": list(final.omitted) if final is not None else [],
        "test_results": {
            k: _int(getattr(latest, k)) if latest else -1 for k in ("passed", "failed", "skipped", "errors")
        },
    }


def _short_tests(r: VerifyResult | None) -> dict[str, Any] | None:
    """``qa.tests``: the newest verify run in the trace format's short form."""
    if r is None:
        return None
    return {
        "runner": r.runner,
        "command": r.command,
        "ok": r.verdict in ("passed", "resolved"),
        "verdict": r.verdict,
        "exit_code": _int(r.exit_status),
        "output": r.output,
        "image": r.image,
    }


def _verify_run(r: VerifyResult) -> dict[str, Any]:
    """One item of ``qa.verify``: a verify run whole (docs/verify.md)."""
    return {
        "verdict": r.verdict,
        "ok": r.verdict in ("passed", "resolved"),
        "verified_at": r.verified_at,
        "command": r.command,
        "command_source": r.command_source,
        "command_origin": r.command_origin,
        "runner": r.runner,
        "patch_method": r.patch_method,
        "isolation": r.isolation,
        "image": r.image,
        "trusted": r.trusted,
        "exit_code": _int(r.exit_status),
        "duration": r.duration,
        "overhead": r.overhead,
        "passed": _int(r.passed),
        "failed": _int(r.failed),
        "skipped": _int(r.skipped),
        "errors": _int(r.errors),
        "tests": [{"name": c.name, "status": c.status, "duration": c.duration} for c in r.tests],
        "fail_to_pass": _texts(r.fail_to_pass),
        "pass_to_pass": _texts(r.pass_to_pass),
        "pass_to_fail": _texts(r.pass_to_fail),
        "flagged": r.flagged,
        "output": r.output,
        "base_exit_code": _int(r.base_exit_status),
        "base_output": r.base_output,
    }


def _texts(names: tuple[str, ...] | None) -> list[str] | None:
    return None if names is None else list(names)


def _judgement(j: JudgeResult | None, at: Callable[[int], str]) -> dict[str, Any] | None:
    """``qa.judge``: a judgement (docs/judge.md), scores and checks as lists (one shape whatever the rubric)."""
    if j is None:
        return None
    return {
        "judged_at": j.judged_at,
        "kind": j.judge_kind,
        "judge": j.judge,
        "endpoint": j.endpoint,
        "rubric": None if j.rubric_id is None else {"id": j.rubric_id, "version": j.rubric_version or ""},
        "overall": _int(j.overall),
        "scores": [
            {"criterion": s.criterion, "score": s.score, "steps": list(s.steps), "reason": s.reason} for s in j.scores
        ],
        "comments": j.comments,
        "strengths": list(j.strengths),
        "weaknesses": list(j.weaknesses),
        "recommendations": list(j.recommendations),
        "checks": [
            {
                "id": c.id,
                "ok": c.ok,
                "count": _int(c.count),
                "seconds": c.seconds,
                "evidence": [{"step": ref.step, "t": at(ref.t)} for ref in c.evidence],
                "detail": c.detail,
            }
            for c in j.checks
        ],
        "duration": j.duration,
    }


def _command_fields(
    command_id: int, start: int, command: str, cwd: str, end: tuple[int, int] | None, at: Callable[[int], str]
) -> dict[str, Any]:
    """A ``terminal_command`` item but its output (``end``: the command's end ``t`` and exit status, if any)."""
    return {
        "id": command_step(command_id),
        "t": at(start),
        "type": "terminal_command",
        "cmd": command,
        "args": shell_words(command),
        "cwd": cwd,
        "exit_code": end[1] if end else -1,
        "duration_ms": None if end is None else round((end[0] - start) / 1000, 3),
    }


def _edit_item(step: str, fc: FileChange, at: Callable[[int], str]) -> dict[str, Any]:
    return {
        "id": step,
        "t": at(fc.t),
        "type": "edit",
        "file_path": fc.path,
        "old_path": fc.old_path,
        "op": "modify" if fc.op == "mode" else fc.op,
        "patch_unified": fc.diff,
        "before_hash": fc.before_hash,
        "after_hash": fc.after_hash,
        "range": _edit_range(fc),
    }


# A hunk header of a unified diff; at most 18 digits, so a crafted diff cannot make int() work on a huge number.
_HUNK = re.compile(r"^@@ -(\d{1,18})(?:,(\d{1,18}))? \+(\d{1,18})(?:,(\d{1,18}))? @@", re.MULTILINE)


def _edit_range(fc: FileChange) -> dict[str, int]:
    """The lines an edit touched, from its diff's hunk headers: the first and last line (1-based, inclusive) of the
    hunks in the file after the edit (before it, for a delete); -1 and -1 without a hunk. A hunk that only
    removes lines touches the line it names (the one before the removed lines, or 1)."""
    start = end = -1
    side = 1 if fc.op == "delete" else 3
    for m in _HUNK.finditer(fc.diff):
        first = int(m[side])
        count = int(m[side + 1]) if m[side + 1] is not None else 1
        last = first + count - 1
        if count == 0:
            first = last = max(first, 1)
        start = first if start < 0 else min(start, first)
        end = max(end, last)
    return {"start_line": start, "end_line": end}


def _thought_item(step: str, n: Note, at: Callable[[int], str]) -> dict[str, Any]:
    return {"id": step, "t": at(n.t), "type": "thought", "raw": n.text, "tags": list(n.tags), "source": n.source}


@dataclasses.dataclass(slots=True)
class _Index:
    """Where the parts of a session are (the first pass of an export): refs and a few numbers, no content but
    the newest verify run and judgement (one event each)."""

    commands: list[tuple[int, Ref]] = dataclasses.field(default_factory=list)  # (start t, ref of its start)
    ends: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)  # id -> (t, exit status)
    edits: list[tuple[str, int, Ref]] = dataclasses.field(default_factory=list)  # (step id, t, ref), time order
    notes: list[tuple[str, int, Ref]] = dataclasses.field(default_factory=list)  # the current notes, time order
    final_patch: tuple[int, Ref] | None = None
    runs: list[Ref] = dataclasses.field(default_factory=list)  # every verify run, newest first
    result: VerifyResult | None = None  # the newest verify run (runs[0])
    judgement: JudgeResult | None = None  # the newest judgement
    end: SessionEnd | None = None


def _index(reader: SessionReader) -> _Index:
    """Pass one: every event read once; edits and notes kept without their content (a diff, a note's text),
    enough to give them their step ids as :mod:`tracer.store.steps` does for a whole session."""
    index = _Index()
    light: list[Event] = []  # edits and notes, content left out
    refs: dict[int, Ref] = {}
    runs: list[tuple[str, int, Ref]] = []
    judged: tuple[str, int] = ("", 0)
    for ref, _, e in reader.events():
        kind = type(e)
        if kind is Output:
            continue
        if kind is CommandStart:
            index.commands.append((e.t, ref))
        elif kind is CommandEnd:
            assert isinstance(e, CommandEnd)
            index.ends[e.id] = (e.t, e.exit_status)
        elif isinstance(e, (FileChange, Note)):
            e = (
                dataclasses.replace(e, diff="")
                if isinstance(e, FileChange)
                else dataclasses.replace(e, text="", tags=())
            )
            refs[id(e)] = ref
            light.append(e)
        elif kind is FinalPatch:
            if index.final_patch is None or e.t >= index.final_patch[0]:  # the last in time order
                index.final_patch = (e.t, ref)
        elif kind is VerifyResult:
            assert isinstance(e, VerifyResult)
            runs.append((e.verified_at or "", e.t, ref))
        elif kind is JudgeResult:
            assert isinstance(e, JudgeResult)
            if index.judgement is None or e.judged_at > judged[0] or (e.judged_at == judged[0] and e.t < judged[1]):
                index.judgement, judged = e, (e.judged_at, e.t)
        elif kind is SessionEnd:
            assert isinstance(e, SessionEnd)
            index.end = e
    light.sort(key=lambda e: e.t)
    outline = Session(path=str(reader.path), header=reader.header, events=light)
    index.edits = [(step, fc.t, refs[id(fc)]) for step, fc in edit_steps(outline)]
    index.notes = [(step, n.t, refs[id(n)]) for step, n in note_steps(outline)]
    runs.sort(key=lambda r: (r[1], r[2]))  # time order, as a whole session holds them
    index.runs = [ref for _, _, ref in sorted(runs, key=lambda r: r[0], reverse=True)]  # as _newest_first
    if index.runs:
        newest = _Cursor(reader).seek(index.runs[0])
        index.result = newest if isinstance(newest, VerifyResult) else None
    return index


def export_json(reader: SessionReader) -> Iterator[bytes]:
    """The session as a trace document (:func:`trace_document`), JSON text in chunks (UTF-8, 2-space indent, a
    final newline), streamed: memory holds one event (a command's output goes through in pieces)."""
    h = reader.header
    index = _index(reader)
    at = _clock(h)
    yield ("{\n" + "".join(f'  "{k}": {_dumps(v, 1)},\n' for k, v in _document_head(h, index.result).items())).encode()

    items = [(t, 0, i, ref, "") for i, (t, ref) in enumerate(index.commands)]
    items += [(t, 1, i, ref, step) for i, (step, t, ref) in enumerate(index.edits)]
    items += [(t, 2, i, ref, step) for i, (step, t, ref) in enumerate(index.notes)]
    items.sort(key=lambda x: x[:3])
    commands, others = _Cursor(reader), _Cursor(reader)
    yield b'  "events": '
    yield from _streamed_list(_event_items(items, commands, others, index, at), 1)

    final = others.seek(index.final_patch[1]) if index.final_patch is not None else None
    artifacts = _artifacts(h, final if isinstance(final, FinalPatch) else None, index.result)
    yield f',\n  "artifacts": {_dumps(artifacts, 1)},\n  "interrupted": {_dumps(index.end is None)}'.encode()
    yield b',\n  "qa": {\n'
    yield f'    "tests": {_dumps(_short_tests(index.result), 2)},\n    "verify": '.encode()
    runs = (others.seek(ref) for ref in index.runs)
    yield from _streamed_list(
        (iter((_dumps(_verify_run(r), 3).encode(),)) for r in runs if isinstance(r, VerifyResult)), 2
    )
    yield f',\n    "judge": {_dumps(_judgement(index.judgement, at), 2)}\n  }}\n}}\n'.encode()


def _streamed_list(items: Iterator[Iterator[bytes]], level: int) -> Iterator[bytes]:
    """A JSON list at nesting ``level`` as ``json.dumps(indent=2)`` writes it, each item given as chunks (an item
    that gives none is left out)."""
    inner = "\n" + "  " * (level + 1)
    first = True
    for chunks in items:
        head = next(chunks, None)
        if head is None:
            continue
        yield (("[" if first else ",") + inner).encode() + head
        yield from chunks
        first = False
    yield b"[]" if first else ("\n" + "  " * level + "]").encode()


def _event_items(
    items: list[tuple[int, int, int, Ref, str]],
    commands: _Cursor,
    others: _Cursor,
    index: _Index,
    at: Callable[[int], str],
) -> Iterator[Iterator[bytes]]:
    """The ``events`` of the document in time order, each as chunks at nesting level 2."""
    for _, kind, _, ref, step in items:
        if kind == 0:
            yield _command_item(commands, ref, index, at)
            continue
        event = others.seek(ref)
        if isinstance(event, FileChange):
            yield iter((_dumps(_edit_item(step, event, at), 2).encode(),))
        elif isinstance(event, Note):
            yield iter((_dumps(_thought_item(step, event, at), 2).encode(),))
        # else: the file changed since the first pass


def _command_item(cursor: _Cursor, ref: Ref, index: _Index, at: Callable[[int], str]) -> Iterator[bytes]:
    """A ``terminal_command`` item at nesting level 2: its fields, then its output streamed from the events that
    follow its start, up to its end or the next command's start (the output of the command, as
    :func:`tracer.model.pair_commands` delimits it)."""
    start = cursor.seek(ref)
    if not isinstance(start, CommandStart):
        return
    head = _dumps(_command_fields(start.id, start.t, start.command, start.cwd, index.ends.get(start.id), at), 2)
    yield (head[: -len("\n    }")] + ',\n      "output": "').encode()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for ref_after, event in cursor.follow():
        kind = type(event)
        if kind is Output:
            assert isinstance(event, Output)
            text = decoder.decode(event.data)
            if text:
                yield json.dumps(text, ensure_ascii=False)[1:-1].encode()
        elif kind is CommandStart:
            cursor.push_back(ref_after, event)
            break
        elif kind is CommandEnd and event.id == start.id:  # type: ignore[attr-defined]
            break
    rest = decoder.decode(b"", final=True)
    yield (json.dumps(rest, ensure_ascii=False)[1:-1] + '"\n    }').encode()


# --- JSON Lines ---------------------------------------------------------------------------------------------------


def export_jsonl(reader: SessionReader) -> Iterator[bytes]:
    """The session's events as JSON Lines, one event per line, in the order the file holds them (the header first;
    notes, verify and judge results appended after the recording come where they were appended: sort by ``t`` for
    time order). Each line is the event's JSON form (``schemas/<type>.schema.json``: fields as the session file
    holds them, ``None`` left out, bytes as base64, text that is not UTF-8 C-quoted) with two more keys first:
    ``trace_id`` (the session's UUID, on every line, so lines of many sessions can be merged) and ``time`` (the
    event's moment, RFC 3339 UTC). One pass, one event in memory."""
    h = reader.header
    at = _clock(h)
    trace_id = session_uuid(h)
    yield _line({"trace_id": trace_id, "time": at(h.t), **_json_form(h)})
    for _, _, e in reader.events():
        yield _line({"trace_id": trace_id, "time": at(e.t), **_json_form(e)})


def _json_form(record: Any) -> dict[str, Any]:
    """An event (or a record nested in one) as its schema's JSON form: ``type`` first for an event, fields that are
    ``None`` left out, tuples as lists, bytes as base64 (text is quoted later by :func:`_clean`)."""
    out: dict[str, Any] = {"type": record.type} if isinstance(record, Event) else {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if value is not None:
            out[f.name] = _json_value(value)
    return out


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if dataclasses.is_dataclass(value):
        return _json_form(value)
    return value


# --- asciicast ----------------------------------------------------------------------------------------------------


def _screen(reader: SessionReader, index: _Index) -> Iterator[tuple[int, str, str]]:
    """The asciicast event stream of a session as ``(t, code, data)``: output (``"o"``, decoded as UTF-8
    incrementally so a character split across reads stays whole), resizes (``"r"``), markers (``"m"``) at each
    command start (``$ <command line>``) and at each note (its text). ``t`` never goes back (an event recorded
    out of order is given the moment of the one before)."""
    notes = index.notes
    next_note = 0
    lookup = _Cursor(reader)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    last = 0
    for _, _, e in reader.events(stop=reader.end):
        kind = type(e)
        if kind is not Output and kind is not Resize and kind is not CommandStart:
            continue
        while next_note < len(notes) and notes[next_note][1] <= e.t:
            yield from _marker(lookup, notes[next_note][2], last)
            next_note += 1
        last = max(last, e.t)
        if kind is Output:
            text = decoder.decode(e.data)  # type: ignore[attr-defined]
            if text:  # decoded with replacement: always UTF-8, nothing to quote
                yield last, "o", text
        elif kind is Resize:
            yield last, "r", f"{e.cols}x{e.rows}"  # type: ignore[attr-defined]
        else:
            yield last, "m", "$ " + _q(e.command)  # type: ignore[attr-defined]
    for _, _, ref in notes[next_note:]:
        yield from _marker(lookup, ref, last)


def _marker(lookup: _Cursor, ref: Ref, last: int) -> Iterator[tuple[int, str, str]]:
    note = lookup.seek(ref)
    if isinstance(note, Note):
        yield max(last, note.t), "m", _q(note.text)


def _event_line(t: int, code: str, data: str) -> bytes:
    """An asciicast event line, its time (``t`` microseconds, not negative) written as seconds with six decimals,
    as asciinema writes them (``0.000250``, never ``2.5e-04``), exactly: intervals written so add up."""
    return (
        f"[{t // 1_000_000}.{t % 1_000_000:06d}, {json.dumps(code)}, {json.dumps(data, ensure_ascii=False)}]\n".encode()
    )


def export_asciicast(reader: SessionReader) -> Iterator[bytes]:
    """The session as asciicast v2 lines (each ending with a newline): the header, then ``[time, code, data]``
    with the time in seconds since the start (see :func:`_screen` for the events)."""
    h = reader.header
    header: dict[str, Any] = {
        "version": 2,
        "width": h.cols,
        "height": h.rows,
        "timestamp": int(parse_rfc3339(h.started_at).timestamp()),
        "env": {"SHELL": h.shell, "TERM": h.term},
    }
    if h.task:
        header["title"] = h.task
    yield _line(header)
    for t, code, data in _screen(reader, _index(reader)):
        yield _event_line(t, code, data)


def export_asciicast_v3(reader: SessionReader) -> Iterator[bytes]:
    """The session as asciicast v3 lines (asciinema 3's format): the header with ``term`` ({cols, rows, type}),
    then ``[interval, code, data]`` with each interval the seconds since the event before (microseconds, exact: the
    intervals add up to the recorded times), the events of :func:`_screen`, and at the end of a recording that
    ended an exit event ``[interval, "x", "<shell's exit status>"]``."""
    h = reader.header
    term: dict[str, Any] = {"cols": h.cols, "rows": h.rows}
    if h.term:
        term["type"] = h.term
    header: dict[str, Any] = {
        "version": 3,
        "term": term,
        "timestamp": int(parse_rfc3339(h.started_at).timestamp()),
        "env": {"SHELL": h.shell},  # asciinema records SHELL only, unless asked (the spec's advice)
    }
    if h.task:
        header["title"] = h.task
    yield _line(header)
    index = _index(reader)
    last = 0
    for t, code, data in _screen(reader, index):
        yield _event_line(t - last, code, data)
        last = t
    if index.end is not None:
        yield _event_line(max(index.end.t - last, 0), "x", str(index.end.exit_status))


# --- the patch ----------------------------------------------------------------------------------------------------


def export_patch(reader: SessionReader, *, from_commit: bool = False) -> Iterator[bytes]:
    """The final patch, byte for byte (nothing when the recording has none). With ``from_commit``, the patch from
    the start commit: the baseline patch (the changes present at start) and then the final patch
    (:func:`tracer.store.facts.patch_from_commit`), which ``git apply`` takes on a clean checkout of the start
    commit (an empty ``git init`` directory, before the first commit)."""
    final: FinalPatch | None = None
    for _, _, e in reader.events():
        if type(e) is FinalPatch and (final is None or e.t >= final.t):  # the last in time order
            final = e
    patch = final.patch if final is not None else ""
    if from_commit:
        patch = patch_from_commit(reader.header.baseline_patch, patch)
    if patch:
        yield patch.encode("utf-8", "surrogateescape")  # the bytes it stands for (text_of)


def exporter(fmt: str, *, from_commit: bool = False) -> Exporter:
    """The exporter of a format of :data:`FORMATS` (``from_commit``: the patch from the start commit, ``patch``
    only).

    Raises:
        ValueError: an unknown format, or ``from_commit`` with a format other than ``patch``.
    """
    if from_commit and fmt != "patch":
        raise ValueError(f"from_commit applies to the patch format, not {fmt}")
    if fmt == "patch":
        return lambda reader: export_patch(reader, from_commit=from_commit)
    exporters: dict[str, Exporter] = {
        "json": export_json,
        "jsonl": export_jsonl,
        "asciicast": export_asciicast,
        "asciicast-v3": export_asciicast_v3,
    }
    if fmt not in exporters:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return exporters[fmt]
