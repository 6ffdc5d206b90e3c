"""``tracer insights --dataset DIR``: the index's tables made from a dataset of ``tracer dataset build``.

The dataset's ``sessions``, ``commands``, ``edits`` and ``notes`` configs (``DIR/data/<config>/*.parquet``) have
the index's columns; what the index derives from a session (a command's program, whether it runs tests, the
error pattern of each failure, the failing tests) is computed by the same code, registered as SQL functions.
The tables live in memory, without the commands' output; the queries of ``queries.sql`` then run unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracer.commandline import SUMMARY_TAIL, test_run_outcome
from tracer.errors import InsightsError
from tracer.insights._index import MEMORY_LIMIT, require_duckdb
from tracer.insights._patterns import Rules
from tracer.insights._rows import command_kind
from tracer.insights._sql import run

CONFIGS = ("sessions", "commands", "edits", "notes")


def shards(directory: Path) -> dict[str, list[str]]:
    """The Parquet files of each config of the dataset at ``directory``.

    Raises:
        InsightsError: a config has none (the message says whether the dataset is in JSON Lines, or not a
            dataset of tracer at all).
    """
    found: dict[str, list[str]] = {}
    for config in CONFIGS:
        where = directory / "data" / config
        files = sorted(str(p) for p in where.glob("*.parquet"))
        if not files:
            if any(where.glob("*.jsonl")):
                raise InsightsError(
                    f"the dataset {directory} is in JSON Lines; tracer insights reads Parquet datasets: "
                    "build it with `tracer dataset build --format parquet` (the default)"
                )
            raise InsightsError(
                f"{directory} is not a dataset of `tracer dataset build`: {where} has no Parquet files "
                f"(expected data/{{{','.join(CONFIGS)}}}/*.parquet)"
            )
        found[config] = files
    return found


def open_dataset(directory: Path, rules: Rules) -> Any:
    """A DuckDB connection (in memory) whose tables are the index's, made from the dataset at ``directory``.

    Raises:
        MissingExtra: DuckDB is not installed.
        InsightsError: the directory is not a Parquet dataset of tracer, or its files lack the columns insights
            needs (the message names DuckDB's complaint).
    """
    duckdb = require_duckdb()
    files = shards(directory)
    con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT, "threads": 2})

    def failure(output: str, exit_status: int, command: str) -> dict[str, Any]:
        f = rules.classify(output.encode("utf-8", "replace"), exit_status, command)
        return {"rule": f.rule, "detail": f.detail, "tests": list(f.tests)}

    def kind(command: str) -> dict[str, Any]:
        program, is_test = command_kind(command)
        return {"program": program, "is_test": is_test}

    def tests_failed(command: str, exit_status: int, output: str) -> bool | None:
        outcome = test_run_outcome(command, None if exit_status < 0 else exit_status, output[-SUMMARY_TAIL:])
        return None if outcome is None else not outcome

    con.create_function("tracer_command_kind", kind, ["VARCHAR"], "STRUCT(program VARCHAR, is_test BOOLEAN)")
    con.create_function(
        "tracer_tests_failed", tests_failed, ["VARCHAR", "INTEGER", "VARCHAR"], "BOOLEAN", null_handling="special"
    )
    con.create_function(
        "tracer_failure",
        failure,
        ["VARCHAR", "INTEGER", "VARCHAR"],
        "STRUCT(rule VARCHAR, detail VARCHAR, tests VARCHAR[])",
    )
    try:
        run(con, "dataset", **files)
        run(con, "macros")
    except duckdb.Error as e:
        con.close()
        raise InsightsError(f"cannot read the dataset {directory}: {e}") from e
    return con
