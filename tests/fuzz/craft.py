"""Crafting session files by hand: valid ones, damaged ones, hostile ones (bombs, wrong types, escapes).

A session file is the preamble, then zstd frames of msgpack maps (docs/format.md). Here frames are built from
lists of plain objects, so a test can put anything in them: maps of the wrong shape, non-maps, text that is not
UTF-8, sizes that lie.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgpack
import zstandard

from tracer.model import (
    CommandEnd,
    CommandStart,
    Event,
    FileChange,
    FinalPatch,
    JudgeResult,
    JudgeScore,
    Note,
    Output,
    ProcessCheck,
    Resize,
    SessionEnd,
    StepRef,
    TestCase,
    VerifyResult,
)
from tracer.store.format import PREAMBLE

ODD = b"new\xfe.txt".decode("utf-8", "surrogateescape")  # a file name that is not UTF-8

HEADER: dict[str, Any] = {
    "type": "header",
    "t": 0,
    "session_id": "2026-11-21T10-30-00-f022",
    "started_at": "2026-11-21T10:30:00.000000Z",
    "tracer_version": "0.1.0",
    "shell": "/bin/bash",
    "shell_kind": "bash",
    "mode": "interactive",
    "term": "xterm-256color",
    "cols": 80,
    "rows": 24,
    "cwd": "/nonexistent/src/p",
    "workspace": "/nonexistent/src/p",
    "repo_root": "/nonexistent/src/p",
    "head_commit": "0" * 40,
    "branch": "main",
    "baseline_patch": "",
    "task": "fix #123",
    "test_command": "true",
}


def header(**changes: Any) -> dict[str, Any]:
    """The header map with ``changes`` (a value of ``...`` removes the field)."""
    out = {**HEADER, **changes}
    return {k: v for k, v in out.items() if v is not ...}


def rich_events() -> list[Event]:
    """One of each kind of event after the header, in time order, with a name that is not UTF-8."""
    return [
        Output(t=5, data=b"$ pytest -q\r\n"),
        CommandStart(t=10, id=1, command="pytest -q", cwd="/src/p"),
        Output(t=20, data=b"F.\r\n1 failed, 1 passed\r\n", reads=((4, 0), (25, 3))),
        CommandEnd(t=100, id=1, exit_status=1, cwd="/src/p"),
        Resize(t=120, cols=100, rows=30),
        CommandStart(t=150, id=2, command=f"printf y > {ODD}", cwd="/src/p"),
        CommandEnd(t=160, id=2, exit_status=0),
        FileChange(t=170, path=ODD, op="create", after_hash="1" * 40, size=1, command_id=2),
        FileChange(
            t=200, path="a.py", op="modify", diff="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n", added=1, removed=1
        ),
        Note(t=250, id="n1", text="hypothesis: the regex", tags=("hypothesis",), written_at="2026-11-21T10:31:00Z"),
        FinalPatch(
            t=300, patch="diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n", files=("a.py",)
        ),
        SessionEnd(t=400, exit_status=0, warnings=("tracer: a warning",)),
        VerifyResult(t=400, verdict="passed", command="true", exit_status=0, tests=(TestCase("t::a", "passed", 0.1),)),
        JudgeResult(
            t=400,
            judged_at="2026-11-21T10:40:00.000000Z",
            checks=(ProcessCheck("reproduced_before_edit", ok=True, evidence=(StepRef("c1", 10),), detail="ran it"),),
            judge_kind="model",
            judge="a-model",
            rubric_id="tracer-process",
            rubric_version="1",
            scores=(JudgeScore("problem_understanding", 4, ("c1",), "reproduced first"),),
            overall=4,
            comments="careful work",
        ),
    ]


def maps(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The on-disk maps of ``events``."""
    return [e.to_dict() for e in events]


def pack(objects: Iterable[Any]) -> bytes:
    """``objects`` packed back to back; a lone surrogate U+DC80..U+DCFF in text goes in as the byte it stands
    for, so the msgpack str holds bytes that are not UTF-8 (as a hostile writer's would)."""
    packer = msgpack.Packer(use_bin_type=True, unicode_errors="surrogateescape")
    return b"".join(packer.pack(o) for o in objects)


def frame(content: bytes, *, content_size: bool = True, level: int = 3) -> bytes:
    """One zstd frame holding ``content``, with a checksum (and its size in the header when asked)."""
    return zstandard.ZstdCompressor(level=level, write_checksum=True, write_content_size=content_size).compress(content)


def session(*frames: Sequence[Any] | bytes) -> bytes:
    """A session file: the preamble, then one frame per item (a list of objects to pack, or a frame as is)."""
    return PREAMBLE + b"".join(f if isinstance(f, bytes) else frame(pack(f)) for f in frames)


def session_of(frames: Sequence[Sequence[Any]], tail: bytes = b"") -> bytes:
    """A session file of ``frames`` (lists of objects to pack), with ``tail`` (raw bytes: anything, msgpack or
    not) at the end of the last frame's content."""
    packed = [pack(f) for f in frames]
    packed[-1] += tail
    return PREAMBLE + b"".join(frame(content) for content in packed)


def rich_session() -> bytes:
    """A valid session with every kind of event, in three frames."""
    events = maps(rich_events())
    return session([HEADER], events[:6], events[6:])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def zeros_frame(prefix: bytes, zeros: int, *, declare: bool) -> bytes:
    """A frame holding ``prefix`` then ``zeros`` zero bytes, compressed as a stream (never all in memory): a
    few KB for a gigabyte. ``declare``: put the content size in the frame header."""
    size = len(prefix) + zeros if declare else -1
    cobj = zstandard.ZstdCompressor(level=1, write_checksum=True, write_content_size=declare).compressobj(size=size)
    out = [cobj.compress(prefix)]
    chunk = bytes(16 << 20)
    left = zeros
    while left:
        n = min(left, len(chunk))
        out.append(cobj.compress(chunk[:n]))
        left -= n
    out.append(cobj.flush())
    return b"".join(out)


def bin_header(length: int) -> bytes:
    """The msgpack header of a ``bin`` of ``length`` bytes (bin 32)."""
    return b"\xc6" + struct.pack(">I", length)


def declared_frame(content_size: int) -> bytes:
    """A zstd frame header declaring ``content_size`` bytes, followed by one tiny last block (a liar)."""
    descriptor = 0b11100000  # 8-byte content size, single segment, no checksum, no dictionary
    raw_block = (1 | (0 << 1) | (3 << 3)).to_bytes(3, "little") + b"abc"  # last, raw, 3 bytes
    return (
        zstandard.MAGIC_NUMBER.to_bytes(4, "little") + bytes([descriptor]) + struct.pack("<Q", content_size) + raw_block
    )


def window_frame(window_log: int) -> bytes:
    """A zstd frame header asking for a window of 2**``window_log`` bytes (and one raw block of 3 bytes)."""
    descriptor = 0b00000000  # no content size, a window descriptor follows
    window = (window_log - 10) << 3
    raw_block = (1 | (3 << 3)).to_bytes(3, "little") + b"abc"
    return zstandard.MAGIC_NUMBER.to_bytes(4, "little") + bytes([descriptor, window]) + raw_block
