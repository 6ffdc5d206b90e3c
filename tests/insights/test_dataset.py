"""`tracer insights --dataset DIR`: the same queries, on a dataset of `tracer dataset build`, give the same figures
as on the index of the same sessions."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.insights.conftest import Corpus
from tracer import cli
from tracer.insights import gather
from tracer.model import parse_rfc3339
from tracer.store import read_session

_SCHEMAS = {
    "sessions": "session_id VARCHAR, session_name VARCHAR, started_at TIMESTAMPTZ, duration DOUBLE, task VARCHAR, "
    "repository VARCHAR, workspace VARCHAR, base_commit VARCHAR, branch VARCHAR, verdict VARCHAR, commands INTEGER, "
    "failed_commands INTEGER, edits INTEGER, notes INTEGER, interrupted BOOLEAN, problem VARCHAR, "
    "shell_kind VARCHAR, tracer_version VARCHAR",
    "commands": "session_id VARCHAR, command_id INTEGER, start_us BIGINT, end_us BIGINT, duration DOUBLE, "
    "command VARCHAR, cwd VARCHAR, exit_status INTEGER, finished BOOLEAN, output VARCHAR",
    "edits": "session_id VARCHAR, t_us BIGINT, path VARCHAR, op VARCHAR, command_id INTEGER, added INTEGER, "
    "removed INTEGER",
    "notes": "session_id VARCHAR, note_id VARCHAR, t_us BIGINT, text VARCHAR, tags VARCHAR[], source VARCHAR, "
    "command_id INTEGER",
}


def build_dataset(sessions: Path, out: Path) -> None:
    """The dataset of ``sessions`` at ``out``: by `tracer dataset build` where this tracer has it (with pyarrow),
    else Parquet files with the columns docs/datasets.md gives to the configs insights reads."""
    if "dataset" in cli.cli.commands and importlib.util.find_spec("pyarrow"):
        subprocess.run(
            [sys.executable, "-m", "tracer", "dataset", "build", str(out), "--all"],
            env={"TRACER_DIR": str(sessions), "PATH": str(Path(sys.executable).parent)},
            check=True,
            capture_output=True,
            timeout=300,
        )
        return
    rows: dict[str, list[tuple[object, ...]]] = {name: [] for name in _SCHEMAS}
    for path in sorted(sessions.glob("*.tracer")):
        s = read_session(path)
        h, summary, sid = s.header, s.summary(), s.header.uuid
        rows["sessions"].append(
            (
                *(sid, h.session_id, parse_rfc3339(h.started_at), s.duration, h.task, None, h.workspace),
                *(h.head_commit, h.branch, summary.verdict, summary.commands, summary.failed, summary.edits),
                *(summary.notes, s.interrupted, s.problem, h.shell_kind, h.tracer_version),
            )
        )
        for c in s.commands():
            status = -1 if c.exit_status is None else c.exit_status
            end = -1 if c.end is None else c.end
            row = (sid, c.id, c.start, end, c.duration, c.command, c.cwd, status, c.end is not None, c.output.decode())
            rows["commands"].append(row)
        for e in s.file_changes():
            command_id = -1 if e.command_id is None else e.command_id
            rows["edits"].append((sid, e.t, e.path, e.op, command_id, e.added, e.removed))
        for n in s.notes():
            rows["notes"].append((sid, n.id, n.t, n.text, list(n.tags), n.source, n.command_id or -1))
    con = duckdb.connect()
    for name, schema in _SCHEMAS.items():
        con.execute(f"CREATE TABLE {name} ({schema})")
        if rows[name]:
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[name][0]))})", rows[name])
        (out / "data" / name).mkdir(parents=True)
        con.execute(f"COPY {name} TO '{out / 'data' / name / 'train-00000.parquet'}' (FORMAT parquet)")
    con.close()


def test_a_dataset_gives_the_figures_of_the_index(corpus: Corpus, tmp_path: Path) -> None:
    build_dataset(corpus.sessions, tmp_path / "ds")
    from_index = corpus.gather(since="30d").to_dict()
    from_dataset = gather(since="30d", dataset=tmp_path / "ds").to_dict()
    for data in (from_index, from_dataset):
        for key in ("period", "source", "notes"):
            data.pop(key)
    assert from_dataset == from_index
    assert from_dataset["current"]["sessions"] > 0 and from_dataset["error_patterns"]
    week = gather(since="7d", dataset=tmp_path / "ds", repository=str(corpus.proj))
    assert (week.current.sessions, week.debugging.loops) == (2, 1)
