"""The dataset card: ``README.md`` with the YAML metadata the Hugging Face Hub and ``datasets`` read.

The YAML block maps each config to its files (``configs``, https://huggingface.co/docs/hub/datasets-manual-configuration),
one ``train`` split each, ``sessions`` the default. For JSON Lines it also declares every column's type
(``dataset_info.features``), so ``datasets`` never infers a type from the rows of one file; Parquet files carry
their schema themselves. The body describes every column of every config (from :mod:`.columns`), how the
dataset was built, and how to load it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tracer.dataset.columns import CONFIG_DESCRIPTIONS, CONFIGS, Column, ListOf, Struct, Type


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What the card says about the build.

    Attributes:
        fmt: ``parquet`` or ``jsonl``.
        sessions: sessions in the dataset. skipped: sessions left out because they could not be read (only
            their number: their paths and URLs stay on the building machine).
        selection: how the sessions were chosen, in words (``all sessions since 2026-11-01, resolved``).
        built_at: RFC 3339. tracer_version: the builder's. redaction: what export-time redaction did.
        swe_bench: instances written to ``swe-bench/``.
    """

    fmt: str
    sessions: int
    selection: str
    built_at: str
    tracer_version: str
    redaction: str
    swe_bench: int
    skipped: int = 0


def _q(text: str) -> str:
    """A YAML scalar: JSON's string syntax is valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def _dtype(t: Type) -> str:
    return "timestamp[us, tz=UTC]" if t == "timestamp" else str(t)


def _feature_lines(columns: tuple[Column, ...], indent: str) -> list[str]:
    lines: list[str] = []
    for c in columns:
        lines.append(f"{indent}- name: {c.name}")
        lines += _type_lines(c.type, indent + "  ")
    return lines


def _type_lines(t: Type, indent: str) -> list[str]:
    if isinstance(t, ListOf):
        if isinstance(t.item, (ListOf, Struct)):
            return [f"{indent}list:", *_nested(t.item, indent + "  ")]
        return [f"{indent}list: {_dtype(t.item)}"]
    if isinstance(t, Struct):
        return [f"{indent}struct:", *_feature_lines(t.fields, indent + "  ")]
    return [f"{indent}dtype: {_dtype(t)}"]


def _nested(t: Type, indent: str) -> list[str]:
    if isinstance(t, Struct):
        return _feature_lines(t.fields, indent)
    raise ValueError("lists of lists are not used by tracer's columns")


def _type_words(t: Type) -> str:
    if isinstance(t, ListOf):
        return f"list of {_type_words(t.item)}"
    if isinstance(t, Struct):
        return "struct"
    return {"timestamp": "timestamp (µs, UTC)"}.get(t, t)


def _column_rows(columns: tuple[Column, ...], prefix: str = "") -> list[str]:
    rows = []
    for c in columns:
        kind = _type_words(c.type) + (", nullable" if c.nullable else "")
        rows.append(f"| `{prefix}{c.name}` | {kind} | {c.description} |")
        inner = c.type.item if isinstance(c.type, ListOf) else c.type
        if isinstance(inner, Struct):
            rows += _column_rows(inner.fields, prefix=f"{prefix}{c.name}[].")
    return rows


def dataset_card(files: dict[str, list[str]], facts: CardFacts) -> str:
    """The ``README.md`` of a dataset whose configs are in ``files`` (config → shard paths, relative)."""
    suffix = ".parquet" if facts.fmt == "parquet" else ".jsonl"
    yaml = ["---", "configs:"]
    for name in CONFIGS:
        yaml += [
            f"- config_name: {name}",
            "  data_files:",
            "  - split: train",
            f"    path: {_q(f'data/{name}/*{suffix}')}",
        ]
        if name == "sessions":
            yaml.append("  default: true")
    if facts.fmt == "jsonl":
        yaml.append("dataset_info:")
        for name, columns in CONFIGS.items():
            yaml += [f"- config_name: {name}", "  features:", *_feature_lines(columns, "  ")]
    yaml += ["tags:", "- tracer", "- agent-trajectories", "- debugging", "- swe-bench", "---", ""]
    body = [
        "# Debugging sessions recorded with tracer",
        "",
        "Real problem solving recorded in a shell with tracer: every command with its exit "
        "status and output, every file edit as a unified diff, the notes written along the way, the final patch "
        "and its verify verdict.",
        "",
        f"- sessions: {facts.sessions:,} ({facts.selection})",
        f"- built: {facts.built_at} by tracer {facts.tracer_version}, as {facts.fmt}",
        f"- redaction: {facts.redaction}",
        f"- SWE-bench instances: {facts.swe_bench:,} (`swe-bench/instances.jsonl`, `swe-bench/predictions.jsonl`)",
    ]
    if facts.skipped:
        body.append(f"- left out: {facts.skipped:,} session(s) that could not be read")
    body += [
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        'commands = load_dataset("path/or/hub-id", "commands", split="train")',
        "",
        "import duckdb",
        f'duckdb.sql("SELECT exit_status, count(*) FROM read_{"parquet" if facts.fmt == "parquet" else "json"}('
        f"'data/commands/*{suffix}') GROUP BY ALL\")",
        "```",
        "",
        "Integer columns are never null (-1 stands for unknown); times since a session's start are integer "
        "microseconds (`*_us`), wall-clock times are UTC timestamps. Text that was not UTF-8 in a name (path, "
        'command line) is quoted as git quotes paths (`"new\\376.txt"`); in content, such bytes are U+FFFD.',
        "",
    ]
    for name, columns in CONFIGS.items():
        body += [
            f"## `{name}`",
            "",
            CONFIG_DESCRIPTIONS[name] + f" Files: {', '.join(f'`{f}`' for f in files.get(name, []))}.",
            "",
            "| column | type | what it holds |",
            "|---|---|---|",
            *_column_rows(columns),
            "",
        ]
    return "\n".join(yaml + body)
