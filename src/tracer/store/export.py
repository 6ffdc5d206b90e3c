"""Export formats: the trace JSON document, asciicast v2, and the final patch, streamed.

- ``json``: one document described by ``schemas/trace.schema.json``, in the shape of the trace format our users
  exchange (``trace_id``, ``task``, ``environment``, ``events`` of ``terminal_command`` / ``edit`` /
  ``thought``, each with its step id as ``id`` (:mod:`tracer.store.steps`), ``artifacts``, ``qa``), written as
  ``json.dumps(document, indent=2, ensure_ascii=False)`` would.
- ``asciicast``: asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
  ``[seconds, "o", text]`` lines; plays in ``asciinema play`` and the asciinema player. Resizes are ``"r"``
  events and notes ``"m"`` (marker) events.
- ``patch``: the final patch, ``git apply``-ready, byte for byte.

Every exporter reads the session through a :class:`~tracer.store.reader.SessionReader` and yields the export as
``bytes`` chunks, in memory bounded by the largest event, not the session: a first pass notes where each command,
edit and note is (their refs, a few numbers each), a second pass reads them in the document's order (time order),
streaming each command's output through an incremental UTF-8 decoder. What the reader could not read is in
``reader.problem`` afterwards; the export holds everything readable.

Text that is not valid UTF-8 (a path or command line holding such bytes, see :func:`tracer.model.text_of`) is
written C-quoted as git quotes such a path (``"new\\376.txt"``, :func:`tracer.model.quote_text`): JSON cannot
carry those bytes.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

from tracer.model import (
    CommandEnd,
    CommandStart,
    Event,
    FileChange,
    FinalPatch,
    Header,
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
from tracer.store.reader import Ref, SessionReader
from tracer.store.steps import command_step, edit_steps, note_steps

FORMATS = ("json", "asciicast", "patch")
TRACE_FORMAT_VERSION = "1.0"


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


def trace_document(session: Session) -> dict[str, Any]:
    """The session (read into memory) as a trace document: a JSON-ready dict following
    ``schemas/trace.schema.json``, each event with its step id (:mod:`tracer.store.steps`). Text is as read:
    :func:`export_json` writes the same document, streamed, with text that is not UTF-8 quoted."""
    h = session.header
    at = _clock(h)
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
    tail = _document_tail(final.patch if final is not None else None, session.verify_result, session.interrupted)
    return {**_document_head(h), "events": [item for _, _, item in items], **tail}


def _clock(h: Header) -> Callable[[int], str]:
    """RFC 3339 (UTC, microseconds) of ``t`` microseconds after the session's start."""
    start = parse_rfc3339(h.started_at)
    return lambda t: rfc3339(start + dt.timedelta(microseconds=t))


def _document_head(h: Header) -> dict[str, Any]:
    return {
        "trace_id": h.session_id,
        "created_at": h.started_at,
        "version": TRACE_FORMAT_VERSION,
        "task": {
            "description": h.task,
            "repository": h.repo_root or h.workspace,
            "branch": h.branch,
            "commit": h.head_commit,
            "test_command": h.test_command,
        },
        "environment": {"os": h.os, "shell": h.shell, "term": h.term, "tracer_version": h.tracer_version},
    }


def _document_tail(final_patch: str | None, result: VerifyResult | None, interrupted: bool) -> dict[str, Any]:
    tail: dict[str, Any] = {
        "artifacts": {
            "final_patch": final_patch,
            "test_results": {
                "passed": result.passed if result is not None else None,
                "failed": result.failed if result is not None else None,
            },
        },
        "interrupted": interrupted,
    }
    if result is not None:
        tail["qa"] = {
            "tests": {
                "runner": result.runner,
                "command": result.command,
                "ok": result.verdict in ("passed", "resolved"),
                "verdict": result.verdict,
                "exit_code": result.exit_status,
                "output": result.output,
            }
        }
        if result.image is not None:  # the container image the tests ran in (`tracer verify --image`)
            tail["qa"]["tests"]["image"] = result.image
    return tail


def _command_fields(
    command_id: int, start: int, command: str, cwd: str, end: tuple[int, int] | None, at: Callable[[int], str]
) -> dict[str, Any]:
    """A ``terminal_command`` item but its output (``end``: the command's end ``t`` and exit status, if any)."""
    return {
        "id": command_step(command_id),
        "t": at(start),
        "type": "terminal_command",
        "cmd": command,
        "cwd": cwd,
        "exit_code": end[1] if end else None,
        "duration_ms": None if end is None else round((end[0] - start) / 1000, 3),
    }


def _edit_item(step: str, fc: FileChange, at: Callable[[int], str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": step,
        "t": at(fc.t),
        "type": "edit",
        "file_path": fc.path,
        "op": "modify" if fc.op == "mode" else fc.op,
        "patch_unified": fc.diff,
        "before_hash": fc.before_hash,
        "after_hash": fc.after_hash,
    }
    if fc.old_path is not None:
        item["old_path"] = fc.old_path
    return item


def _thought_item(step: str, n: Note, at: Callable[[int], str]) -> dict[str, Any]:
    return {"id": step, "t": at(n.t), "type": "thought", "raw": n.text, "tags": list(n.tags), "source": n.source}


@dataclasses.dataclass(slots=True)
class _Index:
    """Where the parts of a session are (the first pass of an export): refs and a few numbers, no content."""

    commands: list[tuple[int, Ref]] = dataclasses.field(default_factory=list)  # (start t, ref of its start)
    ends: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)  # id -> (t, exit status)
    edits: list[tuple[str, int, Ref]] = dataclasses.field(default_factory=list)  # (step id, t, ref), time order
    notes: list[tuple[str, int, Ref]] = dataclasses.field(default_factory=list)  # the current notes, time order
    final_patch: tuple[int, Ref] | None = None
    result: VerifyResult | None = None  # the newest verdict (one event)
    ended: bool = False


def _index(reader: SessionReader) -> _Index:
    """Pass one: every event read once; edits and notes kept without their content (a diff, a note's text),
    enough to give them their step ids as :mod:`tracer.store.steps` does for a whole session."""
    index = _Index()
    light: list[Event] = []  # edits and notes, content left out
    refs: dict[int, Ref] = {}
    result_at: tuple[str, int] = ("", 0)
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
            # the newest verified_at; among equals the first in time order (as Session.verify_result)
            at = (e.verified_at or "", e.t)
            if index.result is None or at[0] > result_at[0] or (at[0] == result_at[0] and at[1] < result_at[1]):
                index.result, result_at = e, at
        elif kind is SessionEnd:
            index.ended = True
    light.sort(key=lambda e: e.t)
    outline = Session(path=str(reader.path), header=reader.header, events=light)
    index.edits = [(step, fc.t, refs[id(fc)]) for step, fc in edit_steps(outline)]
    index.notes = [(step, n.t, refs[id(n)]) for step, n in note_steps(outline)]
    return index


def export_json(reader: SessionReader) -> Iterator[bytes]:
    """The session as a trace document (:func:`trace_document`), JSON text in chunks (UTF-8, 2-space indent, a
    final newline), streamed."""
    h = reader.header
    index = _index(reader)
    at = _clock(h)
    yield ("{\n" + "".join(f'  "{k}": {_dumps(v, 1)},\n' for k, v in _document_head(h).items())).encode()

    items = [(t, 0, i, ref, "") for i, (t, ref) in enumerate(index.commands)]
    items += [(t, 1, i, ref, step) for i, (step, t, ref) in enumerate(index.edits)]
    items += [(t, 2, i, ref, step) for i, (step, t, ref) in enumerate(index.notes)]
    items.sort(key=lambda x: x[:3])
    commands, others = _Cursor(reader), _Cursor(reader)
    yield b'  "events": ['
    first = True
    for _, kind, _, ref, step in items:
        if kind == 0:
            chunks = _command_item(commands, ref, index, at)
        else:
            event = others.seek(ref)
            if isinstance(event, FileChange):
                chunks = iter((_dumps(_edit_item(step, event, at), 2).encode(),))
            elif isinstance(event, Note):
                chunks = iter((_dumps(_thought_item(step, event, at), 2).encode(),))
            else:
                continue  # the file changed since the first pass
        head = next(chunks, None)
        if head is None:
            continue
        yield (b"\n    " if first else b",\n    ") + head
        yield from chunks
        first = False
    yield b"]" if first else b"\n  ]"

    final = others.seek(index.final_patch[1]) if index.final_patch is not None else None
    patch = final.patch if isinstance(final, FinalPatch) else None
    tail = _document_tail(patch, index.result, not index.ended)
    yield ("".join(f',\n  "{k}": {_dumps(v, 1)}' for k, v in tail.items()) + "\n}\n").encode()


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


def export_patch(reader: SessionReader) -> Iterator[bytes]:
    """The final patch, byte for byte (nothing when the recording has none)."""
    final: FinalPatch | None = None
    for _, _, e in reader.events():
        if type(e) is FinalPatch and (final is None or e.t >= final.t):  # the last in time order
            final = e
    if final is not None and final.patch:
        yield final.patch.encode("utf-8", "surrogateescape")  # the bytes it stands for (text_of)


def export_asciicast(reader: SessionReader) -> Iterator[bytes]:
    """The session as asciicast v2 lines (each ending with a newline).

    Output is decoded as UTF-8 incrementally, so a character split across reads stays whole; notes become
    markers at their moment.
    """
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
    notes = _index(reader).notes
    next_note = 0
    lookup = _Cursor(reader)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for _, _, e in reader.events(stop=reader.end):
        kind = type(e)
        if kind is not Output and kind is not Resize:
            continue
        while next_note < len(notes) and notes[next_note][1] <= e.t:
            yield from _marker(lookup, notes[next_note][2])
            next_note += 1
        if kind is Output:
            text = decoder.decode(e.data)  # type: ignore[attr-defined]
            if text:  # decoded with replacement: always UTF-8, nothing to quote
                yield (json.dumps([round(e.t / 1e6, 6), "o", text], ensure_ascii=False) + "\n").encode()
        else:
            yield _line([round(e.t / 1e6, 6), "r", f"{e.cols}x{e.rows}"])  # type: ignore[attr-defined]
    for _, _, ref in notes[next_note:]:
        yield from _marker(lookup, ref)


def _marker(lookup: _Cursor, ref: Ref) -> Iterator[bytes]:
    note = lookup.seek(ref)
    if isinstance(note, Note):
        yield _line([round(note.t / 1e6, 6), "m", note.text])
