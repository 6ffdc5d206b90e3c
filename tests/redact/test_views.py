"""The views of output with escape sequences that the rules search (tracer.redact._views): the C part
(``_escapes.c``) and the Python one give what the patterns say, byte for byte, and offsets map both ways."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracer.redact import Redactor, _views, export_redactor, export_rules, record_redactor, record_rules
from tracer.redact._views import ESCAPES, SPLIT_WORD, STYLES, Styled, Views, blank_escapes_py, unstyle_py

#: Bytes that make and break escape sequences: ESC, BEL, every class of the patterns' grammar, text.
GRAMMAR = [b"\x1b", b"\x07", b"[", b"]", b"(", b"+", b"\\", b"0", b"1;31", b":", b";", b"m", b"K", b"?", b"C", b"H"]
GRAMMAR += [b" ", b"/", b"~", b"\x7f", b"=", b"7", b"a", b"Z", b"\r\n", b"\xff", b"\r", b"\n", b"\x0e", b"\x0f"]
GRAMMAR += [b"-", b"_"]
PIECES = st.one_of(
    st.binary(max_size=6),
    st.lists(
        st.sampled_from(GRAMMAR),
        max_size=12,
    ).map(b"".join),
)
RAW = st.lists(PIECES, max_size=30).map(b"".join)


def blank_reference(text: bytes) -> bytes:
    return ESCAPES.sub(lambda m: b" " * (m.end() - m.start()), text)


def test_the_c_part_is_built() -> None:
    assert _views._escapes is not None, "tracer.redact._escapes is missing: reinstall with `pip install -e .`"


@settings(max_examples=600, deadline=None)
@given(RAW)
@example(b"\x1b")
@example(b"\x1b[")
@example(b"\x1b[1;31")
@example(b"\x1b\x1b[31m[0m")
@example(b"a\x07b\x1b]0;title\x07c")
@example(b"\x1b(B\x1b(\x1b+")
@example(b"set \r\x1b[30C-gx \r\x1b[34CDB_PASSWORD\r\n\r")
@example(b"\x1b[m\x0fa\x0eb")
def test_blanking_is_the_pattern_s_byte_for_byte(raw: bytes) -> None:
    expected = blank_reference(raw)
    assert blank_escapes_py(raw) == expected
    assert _views.blank_escapes(raw) == expected
    if _views._escapes is not None:
        assert _views._escapes.blank(raw) == expected
        assert _views._escapes.blank(bytearray(raw)) == expected


@settings(max_examples=600, deadline=None)
@given(RAW)
@example(b"\x1b[91ms\x1b[38;5;240msh-keygen")
@example(b"x\x1b[0m\x1b[32m-")  # (the final byte of a style before is not a word's)
@example(b"ab\x0f\x0ec")
@example(b"a\x1b[mb")  # (no byte before the word's: no match)
@example(b"(B\x1b[mx")
def test_finding_a_word_that_colours_cut_is_the_pattern_s(raw: bytes) -> None:
    expected = SPLIT_WORD.search(raw) is not None
    assert _views.splits_words(raw) == expected
    if _views._escapes is not None:
        assert _views._escapes.splits_words(raw) == expected
        assert _views._escapes.splits_words(bytearray(raw)) == expected


@settings(max_examples=600, deadline=None)
@given(RAW)
@example(b"\x1b[m\x1b[m")
@example(b"\x1b[1;31mred\x1b[m\x1b[K")
@example(b"\x1b\x1b[mx")
@example(b"\x1b[31")
@example(b"a\x0f" * 300)  # (one-byte styles: as many runs as half the bytes)
def test_unstyling_is_the_pattern_s_and_maps_each_byte_back(raw: bytes) -> None:
    plain, starts, origins = unstyle_py(raw)
    assert plain == STYLES.sub(b"", raw)
    if _views._escapes is not None:
        c_plain, c_starts, c_origins = _views._unstyle(raw)
        assert (c_plain, list(c_starts), list(c_origins)) == (plain, list(starts), list(origins))
    styled = Styled(raw, 5)  # (offsets are the text's: the range starts 5 bytes in)
    if styled.plain is None:
        assert STYLES.search(raw) is None
        return
    assert styled.plain == _views.blank_escapes(plain) and len(styled.blanked) == len(raw)
    for v in range(len(plain)):
        r = styled.to_raw(v)
        assert raw[r - 5] == plain[v]
        assert styled.to_plain(r) == v
    assert styled.to_plain(5) == 0 and styled.to_plain(5 + len(raw)) == len(plain)
    kept = {styled.to_raw(v) for v in range(len(plain))}
    for r in range(5, 5 + len(raw) + 1):  # a byte a style held maps to the next kept one
        assert styled.to_plain(r) == sum(1 for k in kept if k < r)


@pytest.mark.parametrize("glue", [b"\x1b[1m", b"\x1b(B", b"\x1bX", b"\x1b", b"\x0f", b"\r", b"\x07"], ids=repr)
def test_the_python_part_gives_the_same_across_its_chunks(glue: bytes) -> None:
    """The fallback splits long text in chunks of 64 KiB cut before an ESC: what it gives is the C part's."""
    raw = b"".join(b"line %d " % i + glue + b"more\x1b[m\r\n" for i in range(20000))
    assert blank_escapes_py(raw) == blank_reference(raw)
    plain, starts, origins = unstyle_py(raw)
    assert plain == STYLES.sub(b"", raw)
    if _views._escapes is not None:
        c_plain, c_starts, c_origins = _views._unstyle(raw)
        assert (c_plain, list(c_starts), list(c_origins)) == (plain, list(starts), list(origins))


def test_ranges_that_overlap_or_touch_are_viewed_once() -> None:
    text = b"a\x1b[1mb" * 100
    views = Views(text, [(0, 10), (5, 20), (20, 30), (100, 120)])
    assert views.at(0) is views.at(5) is views.at(20)
    assert views.at(100).start == 100 and views.at(100) is not views.at(0)
    assert views.at(0).blanked == _views.blank_escapes(text[:30])


LINES = st.lists(
    st.one_of(
        st.sampled_from(["token = ", "api_key: ", "ghp_", "password=", "10.1.2.3", " x=", "AKIA", "\r\n"]),
        st.text(alphabet="ABCDEFabcdef0123456789Zq8vR2mK7pLx4Wn9", max_size=24),
        st.sampled_from(["\x1b[m", "\x1b[1;32m", "\x1b[K", "\x1b[36C", "\x1b]0;t\x07", "\x1b(B"]),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(LINES)
@example("token = \x1b[32mghp_Zq8vR2mK7pLx4Wn9Zq8vR2mK7pLx4Wn9Zq8v\x1b[m\r\n")
@example("password=\x1b[1mZq8vR2\x1b[mmK7pLx4Wn9\r\n")
def test_output_is_masked_the_same_without_the_c_part(text: str) -> None:
    data = text.encode()
    with_c = export_redactor().output(data)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_views, "_escapes", None)
        without = export_redactor().output(data)
    assert with_c == without


def test_a_secret_that_colours_split_is_masked_in_a_long_coloured_output() -> None:
    token = b"ghp_" + b"Zq8vR2mK7pLx4Wn9Zq8v" + b"R2mK7pLx4Wn9Zq8v"  # (36 after the prefix)
    coloured = token[:10] + b"\x1b[1;31m" + token[10:] + b"\x1b[m"
    filler = b"".join(b"\x1b[33mcommit %040x\x1b[m\r\n+\x1b[32mline %d\x1b[m\r\n" % (i, i) for i in range(3000))
    out = export_redactor().output(filler + b"GITHUB_TOKEN=" + coloured + b"\r\n" + filler)
    assert token[4:10] not in out and token[10:] not in out
    assert re.search(rb"=\*{10}\x1b\[1;31m\*{30}\x1b\[m\r\n", out)  # (the colour kept, so it still ends)


@pytest.mark.parametrize("c_part", [True, False], ids=["c", "python"])
@pytest.mark.parametrize("style", [b"\x1b[m", b"\x0f"], ids=["sgr", "si"])
def test_the_views_of_hostile_output_stay_within_a_few_times_its_size(c_part: bool, style: bytes) -> None:
    """An output event as long as a frame holds, made of the most runs there can be (a byte, then a colour):
    the views and their offsets stay within a few times its size (8 bytes an offset, none for empty runs)."""
    import tracemalloc

    raw = (b"a" + style) * ((2 << 20) // (1 + len(style)))  # 2 MiB
    with pytest.MonkeyPatch.context() as m:
        if not c_part:
            m.setattr(_views, "_escapes", None)
        tracemalloc.start()
        try:
            styled = Styled(raw, 0)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    step = 1 + len(style)
    assert styled.plain == b"a" * (len(raw) // step)
    assert styled.to_raw(7) == 7 * step and styled.to_plain(7 * step + 2) == 8
    # (C: 8 bytes an offset, two offsets a run, at most half as many runs as bytes; Python: its objects per piece)
    limit = 11 if c_part else 40
    assert peak < limit * len(raw), (peak, len(raw))


@pytest.mark.parametrize("engine", ["c", "python", "re2-set"])
@pytest.mark.parametrize(
    "line",
    [
        # fish: the typed s in red, the rest of an old command line suggested in grey
        b"# \x1b[91ms\x1b[38;5;240msh-keygen -q -p -P {V} -f key\r\x1b[29C",
        # grep --color, matching inside the command's name
        b"ssh-\x1b[01;31m\x1b[Kkeyg\x1b[m\x1b[Ken -q -p -P {V} -f key\r\n",
        b"export DB_PASS\x1b[1mWORD={V}\r\n",
    ],
)
def test_a_keyword_that_colours_cut_in_two_still_runs_its_rule(engine: str, line: bytes) -> None:
    """The rules' keywords are found in the output as it is; where a style sequence stands between two bytes of a
    word, in the output without its styles too (a keyword cut there is whole), at record time and at export: with
    the C part or without, with Hyperscan or RE2's set (which tells only which keywords occur)."""
    value = b"Gh4jK6lZ8xCz"
    data = line.replace(b"{V}", value)
    with pytest.MonkeyPatch.context() as m:
        redactors = [record_redactor(), export_redactor()]
        if engine == "python":
            m.setattr(_views, "_escapes", None)
        elif engine == "re2-set":
            m.setitem(sys.modules, "hyperscan", None)  # not installed
            redactors = [Redactor(record_rules()), Redactor(export_rules())]
        for redactor in redactors:
            out = redactor.output(data)
            assert value not in out and b"*" * len(value) in out
            assert out.replace(b"*" * len(value), value) == data  # (the colours kept)


@pytest.mark.parametrize("c_part", [True, False], ids=["c", "python"])
def test_a_value_learnt_before_is_masked_where_colours_cut_it(c_part: bool) -> None:
    """``grep --color`` highlighting the start of a password the session showed before: the value is whole only
    without the styles. It is masked over its bytes, the styles among them kept; a piece with no keyword at all
    (which meets no regex) is searched so too."""
    value = b"Hq7wE5rT3yU1iO"
    cut = b"found \x1b[01;31m\x1b[K" + value[:6] + b"\x1b[m\x1b[K" + value[6:] + b" here\r\n"
    with pytest.MonkeyPatch.context() as m:
        if not c_part:
            m.setattr(_views, "_escapes", None)
        for redactor in (record_redactor(), export_redactor()):
            named = b"export DB_PASSWORD=" + value + b"\r\n"
            assert redactor.output(named) == named.replace(value, b"*" * 14)
            assert redactor.output(cut) == cut.replace(value[:6], b"*" * 6).replace(value[6:], b"*" * 8)
            assert redactor.output(b"whole " + value + b"\r\n") == b"whole " + b"*" * 14 + b"\r\n"
            assert redactor.text("grep -r " + value.decode()) == "grep -r [REDACTED:secret-assignment:1]"
