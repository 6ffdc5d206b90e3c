"""The error patterns of patterns.toml: every rule's samples label as the rule says, in the order of the file."""

from __future__ import annotations

import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tracer.errors import InsightsError
from tracer.insights import load_rules
from tracer.insights._patterns import HEAD_BYTES, TAIL_BYTES, output_text, parse_rules

RULES = load_rules()
RAW = tomllib.loads(resources.files("tracer.insights").joinpath("patterns.toml").read_text())["rule"]
SAMPLES = [(raw["id"], sample) for raw in RAW for sample in raw["samples"]]


def test_every_rule_has_a_sample_and_a_unique_id() -> None:
    ids = [raw["id"] for raw in RAW]
    assert len(ids) == len(set(ids))
    assert all(raw.get("samples") for raw in RAW), [raw["id"] for raw in RAW if not raw.get("samples")]
    assert all(raw.get("suggestion") for raw in RAW)


@pytest.mark.parametrize(("rule_id", "sample"), SAMPLES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(SAMPLES)])
def test_each_sample_is_labelled_by_its_rule(rule_id: str, sample: dict[str, Any]) -> None:
    failure = RULES.classify(sample["text"].encode(), sample.get("exit_status", 1), sample.get("command", ""))
    assert failure.rule == rule_id
    assert failure.detail == sample.get("detail")
    if "tests" in sample:
        assert list(failure.tests) == sample["tests"]


@pytest.mark.parametrize("raw", [r for r in RAW if r.get("not")], ids=lambda r: r["id"])
def test_what_a_rule_must_not_match(raw: dict[str, Any]) -> None:
    for text in raw["not"]:
        assert RULES.classify(text.encode(), 1).rule != raw["id"], text


def test_escape_sequences_and_carriage_returns_are_not_in_the_way() -> None:
    out = b"\x1b[31mE   \x1b[1mModuleNotFoundError\x1b[0m: No module named 'x'\r\n\x1b]0;title\x07done\r\n"
    assert output_text(out) == "E   ModuleNotFoundError: No module named 'x'\ndone\n"
    failure = RULES.classify(out, 1)
    assert (failure.rule, failure.detail) == ("python-exception", "ModuleNotFoundError")


def test_the_last_exception_of_a_traceback_chain_labels_it() -> None:
    out = b"KeyError: 'a'\n\nDuring handling of the above exception, another exception occurred:\n\nValueError: bad\n"
    assert RULES.classify(out, 1).detail == "ValueError"


def test_a_failure_no_rule_knows_is_not_recognised() -> None:
    assert RULES.classify(b"something went sideways\n", 3).rule is None


def test_only_the_head_and_the_tail_of_a_large_output_are_read() -> None:
    filler = b"x" * 1000 + b"\n"
    middle = b"ModuleNotFoundError: No module named 'lost'\n"
    big = filler * (HEAD_BYTES // 1000 + 10) + middle + filler * (TAIL_BYTES // 1000 + 10)
    assert RULES.classify(big, 1).rule is None  # the middle is never read
    huge = filler * 50_000 + b"bash: gti: command not found\n"  # 50 MB: time bounded by head + tail
    started = time.perf_counter()
    failure = RULES.classify(huge, 127)
    assert failure.rule == "command-not-found" and failure.detail == "gti"
    assert time.perf_counter() - started < 5  # (a full scan of 50 MB with 36 rules would take far longer)


def test_a_users_rules_come_first(tmp_path: Path) -> None:
    mine = tmp_path / "patterns.toml"
    mine.write_text(
        '[[rule]]\nid = "flaky-db"\nlabel = "the test database is down"\nkeywords = ["pg_ctl"]\n'
        "regex = ['pg_ctl: could not start']\nsuggestion = \"make db-up\"\n"
    )
    rules = load_rules(mine)
    assert rules.rules[0].id == "flaky-db"
    assert rules.classify(b"pg_ctl: could not start server\nPermission denied\n", 1).rule == "flaky-db"
    assert rules.digest != RULES.digest


def test_a_malformed_rules_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InsightsError, match="not valid TOML"):
        parse_rules("[[rule]\n", "mine.toml")
    with pytest.raises(InsightsError, match=r"rule bad of the error patterns file mine\.toml is malformed"):
        parse_rules('[[rule]]\nid = "bad"\nlabel = "x"\nregex = ["("]\n', "mine.toml")
    with pytest.raises(InsightsError, match="rule number 1"):
        parse_rules('[[rule]]\nlabel = "no id"\n', "mine.toml")


def test_keywords_are_found_inside_and_beside_each_other() -> None:
    # "error[" and "error:" share their start with "error"; "exit" starts inside "ld returned 1 exit status"
    text = "x error[e0308] y\ncollect2: error: ld returned 1 exit status\n"
    assert {"error", "error[", "error:", "ld returned", "exit"} <= RULES.keywords_in(text)
    assert RULES.keywords_in("nothing to see") == set()


def test_keywords_that_straddle_each_other_are_found() -> None:
    rules = parse_rules(
        '[[rule]]\nid = "a"\nlabel = "a"\nkeywords = ["could not resolve"]\n'
        '[[rule]]\nid = "b"\nlabel = "b"\nkeywords = ["resolve your index"]\n',
        "straddle.toml",
    )
    from tracer.insights import Rules

    assert Rules(tuple(rules), "x").keywords_in("could not resolve your index") == {
        "could not resolve",
        "resolve your index",
    }
