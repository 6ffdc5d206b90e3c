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
    where, _ = rules.regions(data, [])
    for i in rules._prefiltered:
        if any(True for _ in rules.rules[i].regex.finditer(data)):
            assert i in where, (rules.rules[i].id, data)


#: The same, with the escape sequences that colour output (and split what those rules look for).
STYLED = st.lists(
    st.one_of(
        st.text(alphabet=ALPHABET, max_size=30),
        st.sampled_from(["\x1b[m", "\x1b[1;31m", "\x1b[K", "\x1b[36C", "\x1b]0;", "\x07", "\x1b(B", "\x1b"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(STYLED)
@example("ip 10.0\x1b[1m.0.255 and 10.1.2.3\x1b[m")
@example("x=\x1b[32mZq8vR2mK7pLx4Wn9Zq8vR2mK\x1b[m")
def test_in_coloured_output_the_prefilter_sees_what_the_regexes_are_run_on(text: str) -> None:
    data = text.encode()
    rules = export_redactor().rules
    where, views = rules.regions(data, [], escapes=True)
    assert views is not None or not data
    for i in rules._prefiltered:
        styled = views.at(0) if views is not None else None
        texts = [] if styled is None else [styled.blanked, styled.plain or b""]
        if any(True for t in texts for _ in rules.rules[i].regex.finditer(t)):
            assert i in where, (rules.rules[i].id, data)


@settings(max_examples=100, deadline=None)
@given(st.lists(STYLED, max_size=60))
def test_coloured_output_is_masked_the_same_with_the_prefilter(lines: list[str]) -> None:
    fast, slow = masked_both_ways("\r\n".join(lines).encode())
    assert fast == slow


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
    for escapes in (False, True):
        where, _ = rules.regions(data.replace(b"7", b"\x1b[1m7\x1b[m") if escapes else data, rules.occurrences(data))
        assert not set(where) & set(rules._prefiltered)
        assert set(rules._prefiltered) <= set(
            rules.regions(b"ip 10.1." + b"\x1b[1m" * escapes + b"2.3 x=Zq8vR2mK7pLx4Wn9Zq8vR2mK", [], escapes)[0]
        ) | {i for i in rules._prefiltered if rules.rules[i].id == "ipv6"}
