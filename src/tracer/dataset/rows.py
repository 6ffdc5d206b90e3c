"""One session → its rows in every config (plain dicts whose keys and types are those of :mod:`.columns`).

Everything here works on one :class:`~tracer.model.Session` already read (and redacted) by the caller, so the
memory a dataset build needs is bounded by one session. Timestamps are integer microseconds since the Unix
epoch (UTC); the sinks turn them into Arrow timestamps or RFC 3339 text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tracer.dataset._text import content_text, cut_text, name_text
from tracer.dataset.messages import TOOLS_JSON, trajectory
from tracer.model import Command, FileChange, JudgeResult, Note, ProcessCheck, Session, parse_rfc3339
from tracer.store.facts import patch_from_commit, session_uuid
from tracer.termtext import plain_text

#: Export-time redaction: one call per session (read whole), returning the session to export.
Redact = Callable[[Session], Session]

#: The process checks of a session (``tracer.judge.process_checks``, passed in by the caller: the dataset does not
#: judge), for the sessions never judged.
Checks = Callable[[Session], Sequence[ProcessCheck]]


def identity(session: Session) -> Session:
    """The redaction that changes nothing (``--no-redact``)."""
    return session


def _us(when: str) -> int:
    """RFC 3339 text as integer microseconds since the Unix epoch."""
    d = parse_rfc3339(when)
    return (int(d.timestamp()) * 1_000_000) + d.microsecond


def _count(n: int | None) -> int:
    return -1 if n is None else n


@dataclass(slots=True)
class SessionRows:
    """The rows one session contributes to each config (``config name -> rows``)."""

    rows: dict[str, list[dict[str, Any]]]
    session_id: str


def session_rows(
    session: Session, *, output_limit: int, command_output_limit: int, checks: Checks | None = None
) -> SessionRows:
    """Every config's rows for ``session`` (already redacted).

    Args:
        output_limit: bytes of a command's output kept in a ``bash`` tool result of the ``messages`` trajectory
            (head and tail, the cut said; <= 0: all).
        command_output_limit: the same for the ``output`` column of the ``commands`` config.
        checks: computes the process checks of a session never judged (the judged ones have theirs); ``None``:
            such a session's check columns hold -1 and null.
    """
    h = session.header
    sid = session_uuid(h)
    start = _us(h.started_at)
    commands = session.commands()
    changes = session.file_changes()
    notes = session.notes()
    outputs = {c.id: plain_text(c.output) for c in commands}
    final = session.final_patch
    final_text = final.patch if final is not None else ""
    result = session.verify_result
    repository = h.repository
    session_row: dict[str, Any] = {
        "session_id": sid,
        "session_name": name_text(h.session_id),
        "started_at": start,
        "duration": session.duration,
        "task": None if h.task is None else content_text(h.task),
        "repository": repository,
        "workspace": name_text(h.workspace),
        "base_commit": h.head_commit,
        "branch": None if h.branch is None else name_text(h.branch),
        "baseline_patch": content_text(h.baseline_patch),
        "final_patch": content_text(final_text),
        "patch_from_commit": content_text(patch_from_commit(h.baseline_patch, final_text)),
        "files": [name_text(f) for f in final.files] if final is not None else [],
        "omitted": [content_text(why) for why in final.omitted] if final is not None else [],
        "baseline_omitted": [content_text(why) for why in h.baseline_omitted],
        "test_command": None if h.test_command is None else name_text(h.test_command),
        "verdict": result.verdict if result is not None else None,
        "verified_at": _us(result.verified_at) if result is not None and result.verified_at else None,
        "fail_to_pass": _names(result.fail_to_pass) if result is not None else None,
        "pass_to_pass": _names(result.pass_to_pass) if result is not None else None,
        "pass_to_fail": _names(result.pass_to_fail) if result is not None else None,
        "tests_passed": _count(result.passed) if result is not None else -1,
        "tests_failed": _count(result.failed) if result is not None else -1,
        "tests_skipped": _count(result.skipped) if result is not None else -1,
        "tests_errors": _count(result.errors) if result is not None else -1,
        "commands": len(commands),
        "failed_commands": sum(1 for c in commands if c.failed),
        "edits": len(changes),
        "notes": len(notes),
        "interrupted": session.interrupted,
        "problem": session.problem,
        "shell": name_text(h.shell),
        "shell_kind": h.shell_kind,
        "os": h.os,
        "tracer_version": h.tracer_version,
        **_judge_columns(session.judge_result, session, checks),
    }
    return SessionRows(
        session_id=sid,
        rows={
            "sessions": [session_row],
            "commands": [_command_row(sid, start, c, cut_text(outputs[c.id], command_output_limit)) for c in commands],
            "edits": [_edit_row(sid, start, fc) for fc in changes],
            "notes": [_note_row(sid, start, n) for n in notes],
            "messages": [
                {
                    "session_id": sid,
                    "messages": trajectory(session, commands, outputs, changes, notes, output_limit=output_limit),
                    "tools": TOOLS_JSON,
                    "task": session_row["task"],
                    "repository": repository,
                    "base_commit": h.head_commit,
                    "verdict": session_row["verdict"],
                }
            ],
        },
    )


def _judge_columns(judged: JudgeResult | None, session: Session, checks: Checks | None) -> dict[str, Any]:
    """The ``judge_*`` and process check columns: from the newest judgement, else the checks computed now."""
    found = {c.id: c for c in (judged.checks if judged is not None else checks(session) if checks else ())}

    def ok(check_id: str) -> bool | None:
        check = found.get(check_id)
        return None if check is None else check.ok

    def count(check_id: str) -> int:
        check = found.get(check_id)
        return _count(None if check is None else check.count)

    first_pass = found.get("time_to_first_pass")
    rubric = judged is not None and judged.rubric_id is not None
    return {
        "judged_at": _us(judged.judged_at) if judged is not None else None,
        "judge_kind": judged.judge_kind if judged is not None else None,
        "judge_name": None if judged is None or judged.judge is None else name_text(judged.judge),
        "judge_rubric": f"{judged.rubric_id}@{judged.rubric_version or ''}" if judged is not None and rubric else None,
        "judge_overall": _count(judged.overall if judged is not None else None),
        "judge_scores": [{"criterion": sc.criterion, "score": sc.score} for sc in judged.scores] if judged else [],
        "reproduced_before_edit": ok("reproduced_before_edit"),
        "tested_after_last_edit": ok("tested_after_last_edit"),
        "hypotheses_noted": count("hypotheses_noted"),
        "hypotheses_tested": count("hypotheses_tested"),
        "repeated_failures": count("repeated_failures"),
        "dead_ends": count("dead_ends"),
        "time_to_first_pass_s": first_pass.seconds if first_pass is not None else None,
    }


def _names(names: tuple[str, ...] | None) -> list[str] | None:
    return None if names is None else [content_text(n) for n in names]


def _command_row(sid: str, start: int, c: Command, output: str) -> dict[str, Any]:
    return {
        "session_id": sid,
        "command_id": c.id,
        "start_us": c.start,
        "end_us": -1 if c.end is None else c.end,
        "started_at": start + c.start,
        "duration": c.duration,
        "command": name_text(c.command),
        "cwd": name_text(c.cwd),
        "exit_status": _count(c.exit_status),
        "finished": c.exit_status is not None,
        "failed": c.failed,
        "output": output,
        "output_bytes": len(c.output),
    }


def _edit_row(sid: str, start: int, fc: FileChange) -> dict[str, Any]:
    return {
        "session_id": sid,
        "t_us": fc.t,
        "time": start + fc.t,
        "path": name_text(fc.path),
        "op": fc.op,
        "old_path": None if fc.old_path is None else name_text(fc.old_path),
        "diff": content_text(fc.diff),
        "before_hash": fc.before_hash,
        "after_hash": fc.after_hash,
        "before_mode": fc.before_mode,
        "after_mode": fc.after_mode,
        "size": fc.size,
        "binary": fc.binary,
        "oversized": fc.oversized,
        "command_id": _count(fc.command_id),
        "added": fc.added,
        "removed": fc.removed,
    }


def _note_row(sid: str, start: int, n: Note) -> dict[str, Any]:
    return {
        "session_id": sid,
        "note_id": n.id,
        "t_us": n.t,
        "time": start + n.t,
        "text": content_text(n.text),
        "tags": [content_text(t) for t in n.tags],
        "source": n.source,
        "command_id": _count(n.command_id),
        "written_at": _us(n.written_at) if n.written_at else None,
    }
