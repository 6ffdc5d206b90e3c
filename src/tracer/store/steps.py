"""Step ids: short, stable names for the steps of a session that judgements and exports refer to.

A step is a command, an edit or a note. Its id is short enough for a model to copy and stays the same however
often the session is read, verified, judged or annotated:

- ``c<N>``: the command whose :attr:`tracer.model.CommandStart.id` is N (``c1``, ``c2``, …);
- ``e<N>``: the N-th file change in time order, from 1 (edits are never appended after the recording, so
  their order is fixed);
- ``n<hex>``: a note: the first 8 hex digits of the id of the note as first written (an edit made in the
  replay keeps its note's step id); more digits where two notes of the session share the first 8.

The trace JSON (``tracer export --format json``) gives every event its step id as ``id``; ``judge_result``
events cite them (:class:`tracer.model.StepRef`, :attr:`tracer.model.JudgeScore.steps`).
"""

from __future__ import annotations

from tracer.model import FileChange, Note, Session, pair_commands

_NOTE_DIGITS = 8


def command_step(command_id: int) -> str:
    """The step id of the command of id ``command_id``: ``c3``."""
    return f"c{command_id}"


def edit_steps(session: Session) -> list[tuple[str, FileChange]]:
    """Each recorded edit with its step id (``e1``, ``e2``, …), in time order."""
    return [(f"e{i}", fc) for i, fc in enumerate(session.file_changes(), 1)]


def note_steps(session: Session) -> list[tuple[str, Note]]:
    """Each note as it stands now (:meth:`tracer.model.Session.notes`) with its step id, in time order."""
    replaced = {n.id: n.replaces for n in session.of_type(Note) if n.replaces}

    def original(note_id: str) -> str:
        seen = 0
        while note_id in replaced and seen <= len(replaced):  # bounded: a hostile file may hold a cycle
            note_id = replaced[note_id] or note_id
            seen += 1
        return note_id

    notes = session.notes()
    roots = [original(n.id) for n in notes]
    digits = _NOTE_DIGITS
    while digits < max((len(r) for r in roots), default=0) and len({r[:digits] for r in roots}) < len(set(roots)):
        digits *= 2
    return [(f"n{root[:digits]}", n) for root, n in zip(roots, notes, strict=True)]


def step_times(session: Session) -> dict[str, int]:
    """Every step id of the session and its moment (microseconds since the start: a command's start)."""
    commands, _ = pair_commands(session.events)  # no output is copied
    times = {command_step(c.id): c.start for c in commands}
    times.update((step, fc.t) for step, fc in edit_steps(session))
    times.update((step, n.t) for step, n in note_steps(session))
    return times
