"""What every way out of tracer states the same way about a session: its UUID and the patch from its start commit.

The trace exports (:mod:`tracer.store.export`), the dataset (:mod:`tracer.dataset`) and ``tracer push`` all name a
session by :func:`session_uuid` and give its start-to-end change as :func:`patch_from_commit`, so a ``trace_id``, a
``session_id`` column and a pushed file's name are the same UUID, and the patch of a trace applies where the
dataset's does.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

from tracer.model import Header

#: The namespace of the UUIDs derived for sessions recorded before tracer gave each session a UUID.
SESSION_NAMESPACE = uuid.UUID("6f1e5d1c-3b7a-5c2e-9a41-7d3c2b1e0f15")


def session_uuid(header: Header) -> str:
    """The session's globally unique id: :attr:`Header.uuid`, or for sessions recorded before tracer 0.2 a UUID 5
    (RFC 9562) derived from the fields the header holds (stable: the header is never rewritten, and fields a
    later tracer adds are absent from such a header, so every build and every copy of the file derives the same
    id)."""
    if header.uuid:
        return header.uuid
    fields = {k: v for k, v in dataclasses.asdict(header).items() if v is not None and k != "uuid"}
    return str(uuid.uuid5(SESSION_NAMESPACE, json.dumps(fields, sort_keys=True, ensure_ascii=True)))


def patch_from_commit(baseline_patch: str, final_patch: str) -> str:
    """The patch that turns a clean checkout of the start commit into the final state: ``baseline_patch`` (the
    changes present at start, :attr:`Header.baseline_patch`) followed by ``final_patch``.

    ``git apply`` and ``patch -p1`` apply the patches of one input in order, so a file changed by both is changed
    twice, as it was. Before the first commit the baseline is a patch from the empty tree (every file present at
    start is created), so the result applies to an empty ``git init`` directory too. Text that stands for bytes
    that are not UTF-8 (:func:`tracer.model.text_of`) is kept as it is.
    """
    if baseline_patch and final_patch and not baseline_patch.endswith("\n"):
        baseline_patch += "\n"
    return baseline_patch + final_patch
