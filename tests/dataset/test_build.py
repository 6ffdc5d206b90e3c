"""`tracer dataset build` on real recordings, loaded as researchers load datasets: Hugging Face `datasets`,
DuckDB, pandas, and the `swebench` package's own loaders."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import git, tree_of
from tests.dataset.conftest import Corpus, tracer
from tracer.capture._gittree import UNTRACKED_WHY
from tracer.dataset import BuildOptions, Selection, build_dataset
from tracer.dataset.columns import CONFIGS
from tracer.model import JudgeResult, JudgeScore, ProcessCheck, utc_now
from tracer.store import append_events, read_session

CONFIG_NAMES = list(CONFIGS)


def load(out: Path, config: str, fmt: str = "parquet") -> Any:
    """A config of a built dataset through `datasets`, offline: from its files, as the issue asks."""
    import datasets

    files = sorted(str(p) for p in (out / "data" / config).glob(f"*.{fmt}"))
    return datasets.load_dataset("parquet" if fmt == "parquet" else "json", data_files=files, split="train")


@pytest.fixture(scope="module")
def built(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tracer dataset build OUT --all` of the corpus, once."""
    out = tmp_path_factory.mktemp("built") / "dataset"
    proc = tracer("dataset", "build", str(out), "--all", cwd=out.parent, env={"TRACER_DIR": str(corpus.directory)})
    assert "built" in proc.stderr and "4 sessions" in proc.stderr
    return out


def rows(out: Path, config: str) -> list[dict[str, Any]]:
    return pq.read_table(out / "data" / config).to_pylist()


def by_task(out: Path) -> dict[str | None, dict[str, Any]]:
    return {r["task"]: r for r in rows(out, "sessions")}


def test_the_layout_is_the_hubs(built: Path) -> None:
    card = (built / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n")
    for name in CONFIG_NAMES:
        assert (built / "data" / name / "train-00000.parquet").is_file()
        assert f"- config_name: {name}\n" in card
        assert f'path: "data/{name}/*.parquet"' in card
        for column in CONFIGS[name]:
            assert f"| `{column.name}` |" in card, f"{name}.{column.name} is not described in the card"
    assert (built / "swe-bench" / "instances.jsonl").is_file()


def test_every_config_loads_with_datasets_with_declared_types(built: Path) -> None:
    import datasets

    for name in CONFIG_NAMES:
        from_files = load(built, name)
        by_name = datasets.load_dataset(str(built), name, split="train")  # through the card's configs
        assert from_files.num_rows == by_name.num_rows > 0
        assert from_files.features == by_name.features
    commands = load(built, "commands").features
    assert commands["exit_status"] == datasets.Value("int32")
    assert commands["started_at"] == datasets.Value("timestamp[us, tz=UTC]")
    sessions = load(built, "sessions").features
    assert sessions["fail_to_pass"] == datasets.List(datasets.Value("string"))


def test_pandas_reads_exit_statuses_as_integers(built: Path) -> None:
    frame = pd.read_parquet(built / "data" / "commands")
    assert str(frame["exit_status"].dtype) == "int32"
    assert str(frame["command_id"].dtype) == "int32"
    assert str(frame["started_at"].dtype).startswith("datetime64[us, UTC]")
    assert sorted(frame["exit_status"].tolist()) == [0, 0, 0, 0, 0, 1, 3]
    sessions = pd.read_parquet(built / "data" / "sessions")
    for column in ("tests_passed", "tests_failed", "commands", "edits", "judge_overall", "dead_ends"):
        assert str(sessions[column].dtype) == "int32", column


def test_judge_columns_from_the_judgement_or_computed_at_build(built: Path, corpus: Corpus, tmp_path: Path) -> None:
    """A judged session's columns come from its newest judgement; one never judged gets its process checks computed
    by the build (by tracer.judge's own function, which the command line hands to the dataset)."""
    sessions = by_task(built)
    fix, dirty = sessions["fix: add(1, 2) is -1"], sessions["a dirty start"]
    assert fix["judge_kind"] == "checks" and fix["judged_at"] is not None  # `tracer judge` ran on it
    assert (fix["judge_name"], fix["judge_rubric"], fix["judge_overall"], fix["judge_scores"]) == (None, None, -1, [])
    assert (fix["hypotheses_noted"], fix["repeated_failures"], fix["reproduced_before_edit"]) == (1, 0, None)
    assert fix["time_to_first_pass_s"] is not None and fix["time_to_first_pass_s"] > 0
    assert dirty["judge_kind"] is None and dirty["judged_at"] is None  # never judged: the checks computed
    assert (dirty["hypotheses_noted"], dirty["hypotheses_tested"], dirty["dead_ends"]) == (0, -1, 0)
    assert dirty["time_to_first_pass_s"] is None

    # a rubric judge's scores, in a copy of the session
    copy = tmp_path / "judged.tracer"
    copy.write_bytes(corpus.sessions["dirty"].read_bytes())
    scores = (JudgeScore("problem_understanding", 4), JudgeScore("use_of_evidence", 2))
    judgement = JudgeResult(
        t=1, judged_at=utc_now(), judge_kind="model", judge="qwen2.5", rubric_id="tracer-debugging",
        rubric_version="1", scores=scores, overall=3, checks=(ProcessCheck("dead_ends", count=2),),
    )  # fmt: skip
    append_events(copy, [judgement])
    out = tmp_path / "one"
    build_dataset(str(out), Selection(sessions=(str(copy),)))
    (row,) = rows(out, "sessions")
    assert (row["judge_kind"], row["judge_name"], row["judge_rubric"], row["judge_overall"]) == (
        "model", "qwen2.5", "tracer-debugging@1", 3
    )  # fmt: skip
    assert row["judge_scores"] == [
        {"criterion": "problem_understanding", "score": 4},
        {"criterion": "use_of_evidence", "score": 2},
    ]
    assert (row["dead_ends"], row["hypotheses_noted"], row["tested_after_last_edit"]) == (2, -1, None)


def test_duckdb_queries_the_shards(built: Path) -> None:
    commands = duckdb.read_parquet(str(built / "data" / "commands" / "*.parquet"))
    failed = commands.filter("exit_status <> 0").order("exit_status").select("command, exit_status").fetchall()
    assert failed[0] == ("false", 1)
    assert failed[1][1] == 3 and failed[1][0].startswith("seq 1 30000")
    joined = duckdb.sql(
        f"SELECT s.task, count(*) FROM read_parquet('{built}/data/sessions/*.parquet') s "
        f"JOIN read_parquet('{built}/data/edits/*.parquet') e USING (session_id) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert ("fix: add(1, 2) is -1", 2) in joined


def test_the_rows_hold_what_was_recorded(built: Path, corpus: Corpus) -> None:
    sessions = by_task(built)
    fix = sessions["fix: add(1, 2) is -1"]
    header = read_session(corpus.sessions["fix"]).header
    assert fix["session_id"] == header.uuid
    assert fix["base_commit"] == git(corpus.repos["fix"], "rev-parse", "HEAD").strip()
    assert fix["verdict"] == "resolved"
    # test_zero is new: absent from the base run, it counts as turned from failing to passing
    assert fix["fail_to_pass"] == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_zero"]
    assert fix["files"] == ["calc.py", "tests/test_calc.py"]
    assert fix["tests_passed"] == 2 and fix["tests_failed"] == 0
    assert fix["test_command"] == "python -m pytest -q -p no:cacheprovider tests"
    assert fix["tracer_version"] and fix["shell_kind"] == "command"
    assert fix["repository"] == "https://github.com/team/calc.git"  # the remote's URL, its token removed

    notes = rows(built, "notes")
    assert [(n["text"], n["tags"], n["source"]) for n in notes if n["session_id"] == fix["session_id"]] == [
        ("add subtracts", ["hypothesis"], "live")
    ]
    dirty = sessions["a dirty start"]
    assert dirty["verdict"] is None and dirty["fail_to_pass"] is None and dirty["tests_passed"] == -1
    assert "+uncommitted at start" in dirty["baseline_patch"]
    edits = [e for e in rows(built, "edits") if e["session_id"] == dirty["session_id"]]
    assert '"new\\376.txt"' in {e["path"] for e in edits}  # a name that is not UTF-8, quoted as git does
    commands = [c for c in rows(built, "commands") if c["session_id"] == dirty["session_id"]]
    (seq,) = commands
    assert seq["exit_status"] == 3 and seq["finished"] and seq["failed"]
    everything = rows(built, "commands")
    # failed: a non-zero status, a bare `exit` (the status of the command before it) excepted, as failed_commands
    assert all(
        c["failed"] == (c["exit_status"] not in (0, -1) and c["command"].strip() not in ("exit", "logout"))
        for c in everything
    )
    by_session = {s["session_id"]: s["failed_commands"] for s in sessions.values()}
    for sid, count in by_session.items():
        assert count == sum(c["failed"] for c in everything if c["session_id"] == sid)
    assert seq["output"].startswith("1\n2\n3\n") and seq["output"].rstrip().endswith("30000")
    assert "\r" not in seq["output"] and seq["output_bytes"] >= len(seq["output"])


@pytest.mark.parametrize("name", ["dirty", "fix", "nocommit"])
def test_patch_from_commit_rebuilds_the_final_tree(built: Path, corpus: Corpus, name: str, tmp_path: Path) -> None:
    """The dataset's `patch_from_commit` and `tracer export --format patch --from-commit` are one patch, which `git
    apply` takes on a clean checkout of the start commit (an empty `git init` before the first commit) and which
    rebuilds the final tree byte for byte: a clean start, a dirty one, a repository without commits."""
    session_id = read_session(corpus.sessions[name]).header.uuid
    (row,) = [r for r in rows(built, "sessions") if r["session_id"] == session_id]
    exported = tracer("export", str(corpus.sessions[name]), "-f", "patch", "--from-commit", cwd=tmp_path)
    assert exported.stdout == row["patch_from_commit"]
    checkout = tmp_path / "checkout"
    if row["base_commit"] is None:
        git(tmp_path, "init", "-q", str(checkout))
    else:
        git(corpus.repos[name], "worktree", "add", "-q", "--detach", str(checkout), row["base_commit"])
    try:
        git(checkout, "apply", input=os.fsencode(exported.stdout))
        expected = tree_of(corpus.repos[name])
        if name == "dirty":  # the name that is not UTF-8: the patch keeps git's quoting, the tree has the byte
            assert os.fsencode(os.fsdecode(b"new\xfe.txt")) in {os.fsencode(p) for p in tree_of(checkout)}
        if name == "nocommit":
            assert expected["start.txt"][0] == b"there at start\nchanged\n"
        rebuilt = tree_of(checkout)
        rebuilt.pop(".git", None)  # a worktree's link to its repository
        assert rebuilt == expected
    finally:
        if row["base_commit"] is not None:
            git(corpus.repos[name], "worktree", "remove", "--force", str(checkout))


def test_the_messages_are_a_tool_calling_trajectory(built: Path, corpus: Corpus) -> None:
    sessions = by_task(built)
    messages = {r["session_id"]: r for r in rows(built, "messages")}
    tools = json.loads(messages[sessions["a dirty start"]["session_id"]]["tools"])
    assert [t["function"]["name"] for t in tools] == ["bash", "edit"]
    assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in tools)

    dirty = messages[sessions["a dirty start"]["session_id"]]["messages"]
    assert dirty[0] == {
        "role": "user",
        "content": "a dirty start",
        "tool_calls": None,
        "tool_call_id": None,
        "name": None,
    }
    call = dirty[1]["tool_calls"][0]
    assert call["function"]["name"] == "bash" and json.loads(call["function"]["arguments"])["command"].startswith("seq")
    result = dirty[2]
    assert result["role"] == "tool" and result["tool_call_id"] == call["id"] and result["name"] == "bash"
    assert result["content"].startswith("1\n2\n") and result["content"].endswith("[exit status 3]")
    assert "bytes cut …]" in result["content"]  # 30000 lines: over the default 16 KiB, cut and said
    assert len(result["content"].encode()) < 17 << 10

    interactive = messages[sessions["why does the build read an empty notes.txt?"]["session_id"]]["messages"]
    shape = [
        (m["role"], m["content"], [json.loads(c["function"]["arguments"]) for c in m["tool_calls"] or []])
        for m in interactive
    ]
    assert shape[1] == ("assistant", "", [{"command": "false"}])
    assert shape[2][0] == "tool" and shape[2][1] == "[exit status 1]"
    # the note is the text of the next action; `tracer note` itself is no bash call
    assert shape[3][0:2] == ("assistant", "notes.txt is never written")
    (edit,) = shape[3][2]
    assert edit["path"] == "notes.txt" and edit["op"] == "create" and "+written between two commands" in edit["diff"]
    assert shape[4][0] == "tool" and shape[4][1] == "create notes.txt: +1 -0"
    assert shape[5] == ("assistant", "", [{"command": "cat notes.txt"}])
    assert shape[6][1] == "written between two commands\n[exit status 0]"
    assert not any("tracer note" in json.dumps(m) for m in interactive)


def test_swe_bench_files_load_with_swebenchs_own_loaders(
    built: Path, corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swebench.harness.run_evaluation import get_dataset_from_preds
    from swebench.harness.utils import get_predictions_from_file, load_swebench_dataset

    instances_path = str(built / "swe-bench" / "instances.jsonl")
    instances = load_swebench_dataset(instances_path, split="test")
    predictions = get_predictions_from_file(str(built / "swe-bench" / "predictions.jsonl"), instances_path, "test")
    # a repository without commits has no base commit: no instance
    assert len(instances) == len(predictions) == 3
    monkeypatch.chdir(tmp_path)  # the harness looks for earlier reports under ./logs (and the tests after this one
    # start their programs where the suite started)
    selected = get_dataset_from_preds(
        instances_path, "test", [], {p["instance_id"]: p for p in predictions}, "run", rewrite_reports=False
    )
    assert len(selected) == 3
    fix = next(i for i in instances if i["problem_statement"] == "fix: add(1, 2) is -1")
    assert json.loads(fix["FAIL_TO_PASS"]) == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_zero"]
    # owner/name from the remote's URL, recorded without its token
    assert fix["repo"] == "team/calc" and fix["instance_id"].startswith("team__calc-")
    assert "calc.py" in fix["patch"] and "tests/test_calc.py" not in fix["patch"]
    assert "def test_zero" in fix["test_patch"]
    prediction = next(p for p in predictions if p["instance_id"] == fix["instance_id"])
    assert prediction["model_patch"] == fix["patch"] and prediction["model_name_or_path"] == "human-tracer"


def test_jsonl_loads_with_stable_types(corpus: Corpus, tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "jsonl"
    tracer(
        "dataset",
        "build",
        str(out),
        "--all",
        "--format",
        "jsonl",
        cwd=tmp_path,
        env={"TRACER_DIR": str(corpus.directory)},
    )
    assert "dataset_info:" in (out / "README.md").read_text()
    for name in CONFIG_NAMES:
        through_card = datasets.load_dataset(str(out), name, split="train")
        parquet_twin = datasets.Features.from_arrow_schema(
            pq.read_schema(_parquet_twin(corpus, tmp_path) / name / "train-00000.parquet")
        )
        assert through_card.features == parquet_twin, name
    commands = datasets.load_dataset(str(out), "commands", split="train").to_pandas()
    assert str(commands["exit_status"].dtype) == "int32"
    for line in (out / "data" / "notes" / "train-00000.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {c.name for c in CONFIGS["notes"]}  # every key, every row


def _parquet_twin(corpus: Corpus, tmp_path: Path) -> Path:
    out = tmp_path / "twin"
    if not out.exists():
        build_dataset(str(out), Selection(all=True))
    return out / "data"


def test_selection(corpus: Corpus, sessions_env: dict[str, str], tmp_path: Path) -> None:
    resolved = build_dataset(str(tmp_path / "resolved"), Selection(all=True, resolved=True))
    assert (resolved.sessions, resolved.filtered) == (1, 3)
    verified = build_dataset(str(tmp_path / "verified"), Selection(all=True, verified=True))
    assert verified.sessions == 1
    named = build_dataset(str(tmp_path / "named"), Selection(sessions=("dirty", str(corpus.sessions["fix"]))))
    assert named.sessions == 2
    later = tracer(
        "dataset", "build", str(tmp_path / "later"), "--all", "--since", "2999-01-01", cwd=tmp_path, env=sessions_env
    )
    assert "0 sessions, 4 not selected" in later.stderr
    assert rows(tmp_path / "later", "commands") == []  # an empty config still has its shard and schema
    assert pq.read_schema(tmp_path / "later" / "data" / "commands" / "train-00000.parquet").field("exit_status")


def test_usage_errors(corpus: Corpus, sessions_env: dict[str, str], tmp_path: Path) -> None:
    nothing = tracer("dataset", "build", str(tmp_path / "x"), cwd=tmp_path, env=sessions_env, check=False)
    assert nothing.returncode == 2 and "--all" in nothing.stderr
    both = tracer(
        "dataset", "build", str(tmp_path / "x"), "--all", "--verified", "--resolved", cwd=tmp_path, check=False
    )
    assert both.returncode == 2
    since = tracer("dataset", "build", str(tmp_path / "x"), "--all", "--since", "last week", cwd=tmp_path, check=False)
    assert since.returncode == 2 and "--since" in since.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    full = tracer("dataset", "build", str(tmp_path / "full"), "--all", cwd=tmp_path, env=sessions_env, check=False)
    assert full.returncode == 2 and "--overwrite" in full.stderr
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"
    tracer("dataset", "build", str(tmp_path / "again"), "--all", cwd=tmp_path, env=sessions_env)
    tracer("dataset", "build", str(tmp_path / "again"), "dirty", "--overwrite", cwd=tmp_path, env=sessions_env)
    assert len(rows(tmp_path / "again", "sessions")) == 1
    unknown = tracer("dataset", "build", "nosuch://bucket/x", "--all", cwd=tmp_path, env=sessions_env, check=False)
    assert unknown.returncode == 2 and "nosuch://" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_missing_backend_names_its_extra(corpus: Corpus, sessions_env: dict[str, str], tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401

        pytest.skip("s3fs is installed here")
    except ImportError:
        pass
    proc = tracer("dataset", "build", "s3://team/datasets/x", "--all", cwd=tmp_path, env=sessions_env, check=False)
    assert proc.returncode == 3 and "pip install 'tracer[s3]'" in proc.stderr and "Traceback" not in proc.stderr


def test_without_pyarrow_the_message_names_the_dataset_extra(corpus: Corpus, tmp_path: Path) -> None:
    # pyarrow made unimportable in the child process, as on a machine without the extra
    code = "import sys; sys.modules['pyarrow'] = None; from tracer.cli import main; main()"
    proc = __import__("subprocess").run(
        [sys.executable, "-c", code, "dataset", "build", str(tmp_path / "x"), "--all"],
        env={**os.environ, "TRACER_DIR": str(corpus.directory)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert "pip install 'tracer[dataset]'" in proc.stderr and "Traceback" not in proc.stderr


def test_row_groups_and_shards_stay_within_their_limits(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "small-groups"
    options = BuildOptions(row_group_bytes=4096, shard_bytes=64 << 10)
    build_dataset(str(out), Selection(sessions=tuple(str(p) for p in corpus.sessions.values())), options)
    commands = sorted((out / "data" / "commands").glob("*.parquet"))
    assert len(commands) >= 2  # the 30,000-line output alone outgrows a 64 KiB shard
    total = 0
    for shard in commands:
        meta = pq.ParquetFile(shard).metadata
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            total += group.num_rows
            assert group.num_rows == 1 or group.total_byte_size < 2 * 4096 + (1 << 20)
            assert group.column(0).has_column_index  # a page index: readers can fetch single pages
    assert total == 7
    assert len(load(out, "commands")) == 7


@pytest.mark.parametrize("command", [("dataset",), ("dataset", "build"), ("push",)])
def test_the_commands_have_help(command: tuple[str, ...], tmp_path: Path) -> None:
    out = tracer(*command, "--help", cwd=tmp_path)
    assert "Usage:" in out.stdout and len(out.stdout) > 200


def test_the_docs_describe_every_column() -> None:
    from tracer.dataset.card import _column_rows

    docs = (Path(__file__).parents[2] / "docs" / "datasets.md").read_text()
    for name, columns in CONFIGS.items():
        for row in _column_rows(columns):
            assert row in docs, f"docs/datasets.md does not describe {name}: {row[:60]}"


def test_a_session_whose_patch_writes_into_a_git_directory_is_no_swe_bench_instance(tmp_path: Path) -> None:
    """The harness applies a prediction with `git apply`, then with GNU patch, which writes `sub/.git/config`
    (a nested repository whose `core.fsmonitor` runs a command): such a session stays in the dataset's tables but
    is not made an instance, and the build says so."""
    from tests.conftest import make_repo
    from tests.verify.conftest import craft
    from tests.verify.test_untrusted import BUG, FIX, TEST, add_file

    repo = make_repo(tmp_path / "proj", {"calc.py": BUG, "test_calc.py": TEST})
    hostile = craft(tmp_path / "hostile.tracer", repo, FIX + add_file("sub/.git/config", "[core]\n\tfsmonitor = x\n"))
    fine = craft(tmp_path / "fine.tracer", repo, FIX)
    out = tmp_path / "dataset"
    proc = tracer("dataset", "build", str(out), str(hostile), str(fine), cwd=tmp_path)
    assert "not a SWE-bench instance: its patch writes to 'sub/.git/config'" in proc.stderr
    assert "2 sessions, 1 SWE-bench instance" in proc.stderr
    (instance,) = [json.loads(line) for line in (out / "swe-bench" / "instances.jsonl").read_text().splitlines()]
    assert ".git/config" not in instance["patch"]
    assert len(rows(out, "sessions")) == 2


def test_what_the_patches_leave_out_is_in_the_sessions_table(tmp_path: Path) -> None:
    """A researcher filters the instances whose patches cannot rebuild every file: the final patch's ``omitted``
    and the header's ``baseline_omitted`` are columns."""
    from tests.conftest import make_repo, shell_c

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / "data").mkdir()
    with open(repo / "data" / "train.bin", "wb") as f:
        f.truncate(20 << 20)  # past the 16 MiB of untracked files a session keeps (sparse: nothing written)
    session = tmp_path / "s.tracer"
    command = "echo b > a.txt && truncate -s 20M weights.bin"
    proc = shell_c(command, cwd=repo, out=session)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "dataset"
    built = tracer("dataset", "build", str(out), str(session), "--format", "jsonl", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (row,) = [json.loads(line) for f in (out / "data" / "sessions").glob("*.jsonl") for line in f.open()]
    assert row["files"] == ["a.txt"]
    assert [line.split(":")[0] for line in row["omitted"]] == ["weights.bin"]
    assert row["baseline_omitted"] == [f"data/: untracked, 1 file, {20 << 20} bytes; {UNTRACKED_WHY}"]
