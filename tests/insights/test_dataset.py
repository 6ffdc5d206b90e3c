"""`tracer insights --dataset DIR`: the same queries, on a dataset of `tracer dataset build`, give the same figures
as on the index of the same sessions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.insights.conftest import Corpus
from tracer.errors import InsightsError
from tracer.insights import gather


def build_dataset(sessions: Path, out: Path, *args: str) -> None:
    """`tracer dataset build OUT --all ARGS` over ``sessions``."""
    subprocess.run(
        [sys.executable, "-m", "tracer", "dataset", "build", str(out), "--all", *args],
        env={"TRACER_DIR": str(sessions), "PATH": str(Path(sys.executable).parent)},
        check=True,
        capture_output=True,
        timeout=300,
    )


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


def test_a_json_lines_dataset_is_refused_with_what_to_do(corpus: Corpus, tmp_path: Path) -> None:
    build_dataset(corpus.sessions, tmp_path / "ds", "--format", "jsonl")
    with pytest.raises(InsightsError, match=r"is in JSON Lines; .* --format parquet"):
        gather(dataset=tmp_path / "ds")
