"""The rules without keywords (IP addresses, random values in assignments) run only where Hyperscan's prefilter
says their regex may match (tracer.redact._rules.Prefilter): never a match less than running them everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.redact.corpus import build
from tracer.redact import export_redactor

pytest.importorskip("hyperscan")

#: Text dense in what those rules look for: digits, dots, colons, hex, assignments, quotes, blanks and lines.
ALPHABET = "0123456789abcdefABXYZxyz.:=>'\" \t\n_-+/%~"


def masked_both_ways(data: bytes) -> tuple[bytes, bytes]:
    """``data`` through an export redactor with the prefilter, and through one that runs those rules everywhere."""
    fast, slow = export_redactor(), export_redactor()
    slow.rules._prefiltered = []
    return fast.output(data), slow.output(data)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=400))
@example("x=" + "a" * 20)
@example("a: '" + "Zq8vR2mK7pLx4Wn9Zq8v")
@example("key => " + "0" * 20)
@example("at 10.0.0.255.")
@example("fe80::1%eth0 and 2001:db8:0:0:0:0:2:1")
def test_every_match_of_each_rule_is_where_the_prefilter_says_it_may_be(text: str) -> None:
    data = text.encode()
    rules = export_redactor().rules
    where: dict[int, list[tuple[int, int]]] = {}
    rules._narrow(data, [(0, len(data))], where)
    for i in rules._prefiltered:
        if any(True for _ in rules.rules[i].regex.finditer(data)):
            assert i in where, (rules.rules[i].id, data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET, min_size=0, max_size=60), max_size=400))
def test_output_is_masked_the_same_with_the_prefilter(lines: list[str]) -> None:
    data = "\r\n".join(lines).encode()  # (pieces of 16 KiB when long enough)
    fast, slow = masked_both_ways(data)
    assert fast == slow


def test_ordinary_terminal_output_is_masked_the_same_with_the_prefilter(tmp_path: Path) -> None:
    corpus = build(tmp_path)
    for name, data in corpus.items():
        fast, slow = masked_both_ways(data)
        assert fast == slow, name
    joined = b"\r\n".join(corpus.values())
    assert masked_both_ways(joined)[0] == masked_both_ways(joined)[1]


def test_plain_output_runs_none_of_those_rules() -> None:
    rules = export_redactor().rules
    data = b"".join(b"%d\r\n" % i for i in range(20000))
    where = rules._where(data, rules.occurrences(data), as_is=True)
    assert not set(where) & set(rules._prefiltered)
    assert set(rules._prefiltered) <= set(
        rules._where(b"ip 10.1.2.3 x=" + b"Zq8vR2mK7pLx4Wn9Zq8vR2mK", [], as_is=True)
    ) | {i for i in rules._prefiltered if rules.rules[i].id == "ipv6"}
