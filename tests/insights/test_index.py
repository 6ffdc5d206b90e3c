"""The index: built once, updated incrementally, rebuilt when it must be, private, and forgetting on request."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.insights.conftest import Corpus
from tests.insights.corpus import PYTEST, run_command
from tracer.errors import InsightsError
from tracer.insights import Index, forget_sessions, index_path, load_rules
from tracer.insights._index import SCHEMA_VERSION
from tracer.model import Note
from tracer.store import append_events, read_session

RULES = load_rules()


def copy_sessions(corpus: Corpus, to: Path) -> Path:
    to.mkdir(mode=0o700)
    for p in corpus.sessions.glob("*.tracer"):
        shutil.copy2(p, to / p.name)
    return to


def counts(idx: Index) -> tuple[int, int, int]:
    con = idx.connection
    return (
        con.execute("SELECT count(*) FROM sessions").fetchone()[0],
        con.execute("SELECT count(*) FROM commands").fetchone()[0],
        con.execute("SELECT count(*) FROM notes").fetchone()[0],
    )


def test_a_new_session_is_indexed_without_a_rebuild(corpus: Corpus, tmp_path: Path) -> None:
    sessions = copy_sessions(corpus, tmp_path / "sessions")
    n = len(list(sessions.glob("*.tracer")))
    path = tmp_path / "cache" / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        first = idx.update(sessions)
        assert (first.rebuilt, first.indexed, first.sessions) == ("there was none yet", n, n)
        before = counts(idx)
    with Index.open(RULES, path) as idx:
        assert idx.update(sessions).indexed == 0  # nothing changed: nothing is read again
    # a new session, recorded for real in the meantime
    new = run_command(f"{PYTEST} -x", corpus.proj2, sessions, corpus.env)
    with Index.open(RULES, path) as idx:
        update = idx.update(sessions)
        assert (update.rebuilt, update.indexed, update.dropped, update.sessions) == (None, 1, 0, n + 1)
        assert counts(idx) == (before[0] + 1, before[1] + 1, before[2])
        (rule,) = idx.connection.execute(
            "SELECT error_rule FROM commands c JOIN sessions s USING (session_id) WHERE s.path = ?", [str(new)]
        ).fetchone()
        assert rule == "pytest-failures"


def test_a_changed_session_is_read_again_and_a_removed_one_dropped(corpus: Corpus, tmp_path: Path) -> None:
    sessions = copy_sessions(corpus, tmp_path / "sessions")
    path = tmp_path / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        idx.update(sessions)
        before = counts(idx)
    target = sessions / corpus.abandoned.name
    append_events(target, [Note(t=1_000_000, id="beef", text="gave up for today", source="replay")])
    (sessions / corpus.debug.name).unlink()
    with Index.open(RULES, path) as idx:
        update = idx.update(sessions)
        assert (update.rebuilt, update.indexed, update.dropped) == (None, 1, 1)
        debug = read_session(corpus.debug)
        assert counts(idx) == (before[0] - 1, before[1] - len(debug.commands()), before[2] - 1 + 1)
        texts = [r[0] for r in idx.connection.execute("SELECT text FROM notes").fetchall()]
        assert texts == ["gave up for today"]


def test_an_index_of_another_schema_or_other_patterns_is_rebuilt(corpus: Corpus, tmp_path: Path) -> None:
    path = tmp_path / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        idx.update(corpus.sessions)
        idx.connection.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    with Index.open(RULES, path) as idx:
        update = idx.update(corpus.sessions)
        assert update.rebuilt == f"its schema changed, 0 → {SCHEMA_VERSION}"
        assert update.indexed == update.sessions > 0
    mine = tmp_path / "patterns.toml"
    mine.write_text('[[rule]]\nid = "mine"\nlabel = "mine"\nregex = ["nothing matches this"]\n')
    with Index.open(load_rules(mine), path) as idx:
        assert idx.update(corpus.sessions).rebuilt == "the error patterns changed"


def test_an_unreadable_index_file_is_rebuilt(corpus: Corpus, tmp_path: Path) -> None:
    path = tmp_path / "insights.duckdb"
    path.write_bytes(b"not a database" * 1000)
    with Index.open(RULES, path) as idx:
        update = idx.update(corpus.sessions)
        assert update.rebuilt == "there was none yet" and update.sessions > 0


def test_the_index_is_private(corpus: Corpus) -> None:
    path = index_path()  # in $TRACER_CACHE_DIR, as a user's would be
    with Index.open(RULES) as idx:
        idx.update(corpus.sessions)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in path.parent.iterdir())
    con = duckdb.connect(str(path), read_only=True)
    try:
        about = con.execute("SELECT value FROM meta WHERE key = 'about'").fetchone()[0]
    finally:
        con.close()
    assert "cache" in about and "sessions are the truth" in about


def test_unreadable_session_files_are_named_and_not_read_again(corpus: Corpus, tmp_path: Path) -> None:
    sessions = copy_sessions(corpus, tmp_path / "sessions")
    (sessions / "junk.tracer").write_bytes(b"PK\x03\x04 not a session")
    path = tmp_path / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        first = idx.update(sessions)
        second = idx.update(sessions)
    ((where, why),) = first.unreadable
    assert where == str(sessions / "junk.tracer") and "not a tracer session" in why
    assert second.indexed == 0 and second.unreadable == first.unreadable


def test_a_copied_session_file_is_a_session_of_its_own(corpus: Corpus, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    shutil.copy2(corpus.debug, sessions / "a.tracer")
    shutil.copy2(corpus.debug, sessions / "b.tracer")  # the same UUID in both
    with Index.open(RULES, tmp_path / "i.duckdb") as idx:
        assert idx.update(sessions).sessions == 2
        ids = idx.connection.execute("SELECT DISTINCT session_id FROM commands").fetchall()
        assert len(ids) == 2
    with Index.open(RULES, tmp_path / "i.duckdb") as idx:
        (sessions / "a.tracer").unlink()
        assert idx.update(sessions).dropped == 1
        assert counts(idx)[1] == len(read_session(corpus.debug).commands())  # b's rows stay whole


def test_forget_sessions_leaves_no_trace_in_the_file(corpus: Corpus, tmp_path: Path) -> None:
    sessions = copy_sessions(corpus, tmp_path / "sessions")
    secret = "hypothesis-" + os.urandom(8).hex()
    target = sessions / corpus.abandoned.name
    append_events(target, [Note(t=1_000_000, id="cafe", text=secret, source="replay")])
    path = tmp_path / "cache" / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        idx.update(sessions)
    assert secret.encode() in path.read_bytes()  # (so that its absence below means something)
    target.unlink()  # `tracer rm` removes the file, and tells the index
    forget_sessions([target], index=path)
    assert secret.encode() not in path.read_bytes()
    assert not Path(str(path) + ".wal").exists() or secret.encode() not in Path(str(path) + ".wal").read_bytes()
    with Index.open(RULES, path) as idx:
        names = [r[0] for r in idx.connection.execute("SELECT path FROM sessions").fetchall()]
        assert str(target) not in names and len(names) == len(list(sessions.glob("*.tracer")))
        assert idx.update(sessions).indexed == 0  # the rest is intact: nothing to read again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_session_deleted_behind_tracers_back_leaves_no_trace_either(corpus: Corpus, tmp_path: Path) -> None:
    sessions = copy_sessions(corpus, tmp_path / "sessions")
    secret = "note-" + os.urandom(8).hex()
    target = sessions / corpus.abandoned.name
    append_events(target, [Note(t=1_000_000, id="cafe", text=secret, source="replay")])
    path = tmp_path / "insights.duckdb"
    with Index.open(RULES, path) as idx:
        idx.update(sessions)
    target.unlink()  # a plain rm
    with Index.open(RULES, path) as idx:
        assert idx.update(sessions).dropped == 1
    assert secret.encode() not in path.read_bytes()


def test_forget_sessions_deletes_an_index_it_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "insights.duckdb"
    forget_sessions([tmp_path / "x.tracer"], index=path)  # no index: nothing to do
    assert not path.exists()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(InsightsError, match=rf"in use by another tracer process \(PID {holder.pid}\)"):
            Index.open(RULES, path, lock_timeout=0.3)
        forget_sessions([tmp_path / "x.tracer"], index=path, lock_timeout=0.3)
        assert not path.exists()  # it could not be opened in time: deleting it forgets everything
    finally:
        holder.communicate("", timeout=30)


def test_rebuild_builds_the_index_anew(corpus: Corpus, tmp_path: Path) -> None:
    from tracer.insights import gather

    index = tmp_path / "insights.duckdb"
    first = gather(sessions=corpus.sessions, index=index)
    again = gather(sessions=corpus.sessions, index=index)
    rebuilt = gather(sessions=corpus.sessions, index=index, rebuild=True)
    assert first.notes[0].startswith("the index was built from") and first.notes[0].endswith("(there was none yet)")
    assert not again.notes
    assert rebuilt.notes == first.notes
    assert rebuilt.to_dict()["current"] == again.to_dict()["current"]
