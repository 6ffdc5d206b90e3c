"""Trace exports of different sessions load together: with Hugging Face `datasets` (the declared features of
`tracer.dataset.trace_features`, in any order of the files) and with pandas (exit codes stay integers); every key
is in every document, each with one JSON type across them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.corpus import EDITOR, Corpus, tracer
from tracer.dataset import trace_features
from tracer.store import iter_frames, read_session
from tracer.store.schema import validate_trace


@pytest.fixture(scope="module")
def traces(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The trace JSON of: `fix` (verified, judged), `dirty` (never verified), `nocommit`, and `interrupted` (the
    interactive session without its last frame, as a killed recorder leaves it)."""
    out = tmp_path_factory.mktemp("traces")
    interactive = corpus.sessions["interactive"]
    *_, (last_frame, _) = iter_frames(interactive)
    interrupted = out / "interrupted.tracer"
    interrupted.write_bytes(interactive.read_bytes()[:last_frame])
    sources = {**{name: corpus.sessions[name] for name in ("fix", "dirty", "nocommit")}, "interrupted": interrupted}
    paths = {}
    for name, session in sources.items():
        paths[name] = out / f"{name}.json"
        tracer("export", str(session), "-o", str(paths[name]), cwd=out)
    return paths


def documents(traces: dict[str, Path]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(path.read_text()) for name, path in traces.items()}


def test_the_documents_are_what_was_recorded(traces: dict[str, Path], corpus: Corpus) -> None:
    docs = documents(traces)
    for doc in docs.values():
        validate_trace(doc)
    fix = docs["fix"]
    assert fix["trace_id"] == read_session(corpus.sessions["fix"]).header.uuid
    assert fix["task"]["repository"] == "https://github.com/team/calc.git"  # the token stayed on the machine
    assert fix["environment"]["editor"] == EDITOR
    (run,) = fix["qa"]["verify"]
    assert run["verdict"] == "resolved" and run["fail_to_pass"] == [
        "tests/test_calc.py::test_add",
        "tests/test_calc.py::test_zero",
    ]
    assert run["base_exit_code"] == 1 and "failed" in run["base_output"]
    assert {t["status"] for t in run["tests"]} == {"passed"}
    judge = fix["qa"]["judge"]
    assert judge["kind"] == "checks" and judge["overall"] == -1 and judge["rubric"] is None
    checks = {c["id"]: c for c in judge["checks"]}
    assert (checks["hypotheses_noted"]["ok"], checks["hypotheses_noted"]["count"]) == (True, 1)
    assert checks["verified"]["ok"] is True and checks["reproduced_before_edit"]["ok"] is None  # one -c command
    assert docs["interrupted"]["interrupted"] is True and docs["fix"]["interrupted"] is False
    assert "+uncommitted at start" in docs["dirty"]["artifacts"]["baseline_patch"]
    assert (
        docs["nocommit"]["task"]["commit"] is None
        and "+there at start" in docs["nocommit"]["artifacts"]["baseline_patch"]
    )


def _types(value: Any, path: str, out: dict[str, set[str]], keys: dict[str, set[frozenset[str]]]) -> None:
    """Every path of a document with the JSON types found there (null left out), and every object's key set."""
    if isinstance(value, dict):
        keys.setdefault(path, set()).add(frozenset(value))
        for k, v in value.items():
            _types(v, f"{path}/{k}", out, keys)
    elif isinstance(value, list):
        for item in value:
            kind = f"<{item['type']}>" if path == "/events" else ""
            _types(item, f"{path}[]{kind}", out, keys)
    elif value is not None:
        out.setdefault(path, set()).add(type(value).__name__)


def test_every_key_is_in_every_document_with_one_type(traces: dict[str, Path]) -> None:
    types: dict[str, set[str]] = {}
    keys: dict[str, set[frozenset[str]]] = {}
    for doc in documents(traces).values():
        _types(doc, "", types, keys)
    assert {path: kinds for path, kinds in types.items() if len(kinds) > 1} == {}  # exit codes: int, never float
    assert {path: sets for path, sets in keys.items() if len(sets) > 1} == {}
    assert types["/events[]<terminal_command>/exit_code"] == {"int"}


def test_they_load_together_with_datasets_in_any_order(traces: dict[str, Path]) -> None:
    import datasets

    features = trace_features()
    files = [str(p) for p in traces.values()]
    for first in range(len(files)):  # each file first once: the first file no longer decides the types
        order = files[first:] + files[:first]
        loaded = datasets.load_dataset("json", data_files=order, features=features, split="train")
        assert loaded.num_rows == 4
    assert loaded.features["events"].feature["exit_code"] == datasets.Value("int64")
    fix = next(r for r in loaded if r["qa"]["judge"] is not None)
    assert fix["qa"]["verify"][0]["verdict"] == "resolved" and fix["task"]["repository"].endswith("team/calc.git")
    commands = pd.DataFrame([e for r in loaded for e in r["events"] if e["type"] == "terminal_command"])
    assert commands["exit_code"].dtype == "int64"


def test_pandas_reads_exit_codes_as_integers(traces: dict[str, Path]) -> None:
    """Every command has an exit code (-1 for one that never finished), so pandas never makes the column float."""
    docs = documents(traces).values()
    commands = pd.json_normalize([e for doc in docs for e in doc["events"] if e["type"] == "terminal_command"])
    assert commands["exit_code"].dtype == "int64"
    runs = pd.json_normalize([run for doc in docs for run in doc["qa"]["verify"]])
    assert runs["exit_code"].dtype == runs["base_exit_code"].dtype == runs["passed"].dtype == "int64"
