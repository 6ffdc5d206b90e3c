"""`tracer ls`'s summaries: one cache file per sessions directory, always as fresh as the files."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from tests.store.test_format import HEADER
from tracer.config import cache_dir
from tracer.errors import TracerError
from tracer.model import Note, SessionEnd
from tracer.store import SessionWriter, append_events, session_summaries
from tracer.store.catalog import forget_summaries


def write(path: Path, session_id: str) -> Path:
    writer = SessionWriter(path, dataclasses.replace(HEADER, session_id=session_id))
    writer.close(SessionEnd(t=1_000_000, exit_status=0))
    return path


def test_a_listing_reads_one_cache_file_and_sees_every_change(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    first = write(folder / "a.tracer", "a")
    paths = [first] + [shutil.copy(first, folder / f"s{i:03d}.tracer") for i in range(200)]
    paths = [Path(p) for p in paths]
    summaries = session_summaries(paths)
    assert [s.notes for _, s in summaries] == [0] * 201  # type: ignore[union-attr]
    (cached,) = (cache_dir("summaries")).iterdir()  # one file for the directory, not one per session
    assert cached.stat().st_mode & 0o077 == 0
    append_events(paths[5], [Note(t=2, id="n", text="later", source="added")])  # size and time change
    (folder / "bad.tracer").write_bytes(b"not a session at all")
    paths.append(folder / "bad.tracer")
    again = dict(session_summaries(paths))
    assert again[paths[5]].notes == 1  # type: ignore[union-attr]
    assert isinstance(again[folder / "bad.tracer"], TracerError)
    os.unlink(paths[7])
    forget_summaries([paths[7]])
    third = dict(session_summaries([p for p in paths if p != paths[7]]))
    assert len(third) == 201 and paths[7] not in third
    assert list(cache_dir("summaries").iterdir()) == [cached]


def test_a_damaged_cache_is_rebuilt_not_believed(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tracer", "a")
    session_summaries([path])
    (cached,) = cache_dir("summaries").iterdir()
    cached.write_bytes(b"\x93garbage")
    ((_, summary),) = session_summaries([path])
    assert summary.session_id == "a"  # type: ignore[union-attr]
