"""Export formats: the trace JSON document, asciicast v2, and the final patch.

- ``json``: one document described by ``schemas/trace.schema.json``, in the shape of the trace format our users
  exchange (``trace_id``, ``task``, ``environment``, ``events`` of ``terminal_command`` / ``edit`` /
  ``thought``, each with its step id as ``id`` (:mod:`tracer.store.steps`), ``artifacts``, ``qa``).
- ``asciicast``: asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
  ``[seconds, "o", text]`` lines; plays in ``asciinema play`` and the asciinema player. Resizes are ``"r"``
  events and notes ``"m"`` (marker) events.
- ``patch``: the final patch, ``git apply``-ready.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from tracer.model import Command, FileChange, Note, Output, Resize, Session, parse_rfc3339, rfc3339
from tracer.store.steps import command_step, edit_steps, note_steps

FORMATS = ("json", "asciicast", "patch")
TRACE_FORMAT_VERSION = "1.0"


def _at(session: Session, t: int) -> str:
    """RFC 3339 (UTC, microseconds) of ``t`` microseconds after the session start."""
    start = parse_rfc3339(session.header.started_at)
    return rfc3339(start + dt.timedelta(microseconds=t))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def trace_document(session: Session) -> dict[str, Any]:
    """The session as a trace document (a JSON-ready dict) following ``schemas/trace.schema.json``."""
    h = session.header
    items: list[tuple[int, int, dict[str, Any]]] = []
    for c in session.commands():
        items.append((c.start, 0, _command_item(session, c)))
    for step, fc in edit_steps(session):
        items.append((fc.t, 1, _edit_item(session, step, fc)))
    for step, n in note_steps(session):
        items.append((n.t, 2, _thought_item(session, step, n)))
    items.sort(key=lambda x: (x[0], x[1]))
    final = session.final_patch
    result = session.verify_result
    doc: dict[str, Any] = {
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
        "environment": {
            "os": h.os,
            "shell": h.shell,
            "term": h.term,
            "tracer_version": h.tracer_version,
        },
        "events": [item for _, _, item in items],
        "artifacts": {
            "final_patch": final.patch if final is not None else None,
            "test_results": {
                "passed": result.passed if result is not None else None,
                "failed": result.failed if result is not None else None,
            },
        },
        "interrupted": session.interrupted,
    }
    if result is not None:
        doc["qa"] = {
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
            doc["qa"]["tests"]["image"] = result.image
    return doc


def _command_item(session: Session, c: Command) -> dict[str, Any]:
    return {
        "id": command_step(c.id),
        "t": _at(session, c.start),
        "type": "terminal_command",
        "cmd": c.command,
        "cwd": c.cwd,
        "exit_code": c.exit_status,
        "duration_ms": None if c.end is None else round((c.end - c.start) / 1000, 3),
        "output": _text(c.output),
    }


def _edit_item(session: Session, step: str, fc: FileChange) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": step,
        "t": _at(session, fc.t),
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


def _thought_item(session: Session, step: str, n: Note) -> dict[str, Any]:
    return {
        "id": step,
        "t": _at(session, n.t),
        "type": "thought",
        "raw": n.text,
        "tags": list(n.tags),
        "source": n.source,
    }


def export_json(session: Session) -> str:
    """The trace document as JSON text (UTF-8 safe, 2-space indent, a final newline)."""
    return json.dumps(trace_document(session), indent=2, ensure_ascii=False) + "\n"


def export_patch(session: Session) -> str:
    """The final patch ("" when the recording has none)."""
    final = session.final_patch
    return final.patch if final is not None else ""


def export_asciicast(session: Session) -> Iterator[str]:
    """The session as asciicast v2 lines (each ending with a newline).

    Output is decoded as UTF-8 incrementally, so a character split across reads stays whole.
    """
    h = session.header
    header: dict[str, Any] = {
        "version": 2,
        "width": h.cols,
        "height": h.rows,
        "timestamp": int(parse_rfc3339(h.started_at).timestamp()),
        "env": {"SHELL": h.shell, "TERM": h.term},
    }
    if h.task:
        header["title"] = h.task
    yield json.dumps(header) + "\n"
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    notes = session.notes()
    for e in session.events:
        while notes and notes[0].t <= e.t:
            n = notes.pop(0)
            yield json.dumps([round(n.t / 1e6, 6), "m", n.text], ensure_ascii=False) + "\n"
        if isinstance(e, Output):
            text = decoder.decode(e.data)
            if text:
                yield json.dumps([round(e.t / 1e6, 6), "o", text], ensure_ascii=False) + "\n"
        elif isinstance(e, Resize):
            yield json.dumps([round(e.t / 1e6, 6), "r", f"{e.cols}x{e.rows}"]) + "\n"
    for n in notes:
        yield json.dumps([round(n.t / 1e6, 6), "m", n.text], ensure_ascii=False) + "\n"
