"""Values written unmasked before record-time redaction learnt them: the writer says where they are in the session's
end, and an export reads them there and masks them wherever they come (tracer.redact._unmasked)."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import craft
from tracer.model import (
    CommandStart,
    Event,
    FinalPatch,
    MalformedEvent,
    Output,
    SessionEnd,
    UnmaskedSite,
    event_from_dict,
)
from tracer.redact import Redactor, SessionRedaction, find_sites, record_redactor, values_at
from tracer.store import read_session
from tracer.store.writer import SessionWriter

PASSWORD = "Zq8vR2mK7pLx4Wn9"
#: What a session's end holds when nothing is said: no ``unmasked`` (a file without sites is as before).
_DEFAULTS = {"reason": "exit", "warnings": [], "concurrent_sessions": []}
HEADER = event_from_dict(craft.header())


def test_each_value_has_the_site_of_its_first_occurrence_in_any_field_and_reads_back() -> None:
    other = "Kp3Lm8Qr2Tv7Wx1Y"
    events = [
        HEADER,
        Output(t=1, data=b"nothing here\r\n"),
        CommandStart(t=2, id=1, command=f"echo {other}", cwd="/w"),
        Output(t=3, data=f"x {PASSWORD} y {PASSWORD}\r\n".encode()),
        FinalPatch(t=4, patch="", files=("a.txt", f"dir-{other}/b.txt")),
    ]
    values = {PASSWORD.encode(): "secret-assignment", other.encode(): "generic-api-key", b"ABSENT-VALUE-1234": "x"}
    sites = find_sites(events, values)
    assert sites == (
        UnmaskedSite(event=3, field="data", start=2, end=18, rule="secret-assignment"),
        UnmaskedSite(event=2, field="command", start=5, end=21, rule="generic-api-key"),
    )
    assert sorted(values_at(sites, events)) == sorted(
        [(PASSWORD.encode(), "secret-assignment"), (other.encode(), "generic-api-key")]
    )


def test_a_value_cut_between_two_output_events_is_found_and_read_back_across_them() -> None:
    data = f"....{PASSWORD}\r\n".encode()
    events = [
        HEADER,
        Output(t=1, data=data[:9]),
        CommandStart(t=2, id=1, command="x", cwd="/"),
        Output(t=3, data=data[9:]),
    ]
    (site,) = find_sites(events, {PASSWORD.encode(): "secret-assignment"})
    assert (site.event, site.start, site.end) == (1, 4, 20)  # ends past its event's data: it goes on in the next
    assert values_at([site], events) == [(PASSWORD.encode(), "secret-assignment")]
    data = b"." * 3000 + data  # begun in an event longer than the context kept
    events = [HEADER, Output(t=1, data=data[:3009]), Output(t=3, data=data[3009:])]
    (site,) = find_sites(events, {PASSWORD.encode(): "secret-assignment"})
    assert (site.event, site.start, site.end) == (1, 3004, 3020)
    assert values_at([site], events) == [(PASSWORD.encode(), "secret-assignment")]


def test_sites_a_hostile_file_makes_up_give_nothing_or_bounded_values() -> None:
    events = [HEADER, Output(t=1, data=f"{PASSWORD}\r\n".encode())]
    hostile = [
        UnmaskedSite(event=99, field="data", start=0, end=16, rule="r"),  # no such event
        UnmaskedSite(event=1, field="nonesuch", start=0, end=16, rule="r"),  # no such field
        UnmaskedSite(event=0, field="shell", start=0, end=4, rule="r", item=3),  # not a list
        UnmaskedSite(event=1, field="data", start=500, end=600, rule="r"),  # past the end
        UnmaskedSite(event=1, field="data", start=5, end=2, rule="r"),  # backwards
        UnmaskedSite(event=1, field="data", start=0, end=10**9, rule="r"),  # longer than any value learnt
        UnmaskedSite(event=1, field="data", start=0, end=16, rule="\x1b]0;pwned\x07"),  # a rule id that is none
    ]
    assert values_at(hostile, events) == [(PASSWORD.encode(), "secret")]
    redactor = Redactor(record_redactor().rules)
    redactor.know([(b"e", "r"), (b"\x1b[31mabcdefgh", "r"), (PASSWORD.encode(), "secret")])  # the learnt limits
    assert redactor.known == {PASSWORD.encode(): "secret"}
    assert redactor.output(f"a {PASSWORD} b".encode()) == b"a " + b"*" * len(PASSWORD) + b" b"


def test_a_session_end_with_sites_reads_back_and_a_malformed_one_is_named() -> None:
    end = SessionEnd(t=5, exit_status=0, unmasked=(UnmaskedSite(1, "data", 0, 16, "r"),))
    assert event_from_dict(end.to_dict()) == end
    bad = end.to_dict()
    bad["unmasked"][0]["start"] = -1
    try:
        event_from_dict(bad)
    except MalformedEvent as e:
        assert e.field == "unmasked[0].start"
    else:
        raise AssertionError("a negative offset was taken")


def test_the_writer_says_where_a_value_it_learnt_late_was_written_and_exports_mask_it(tmp_path: Path) -> None:
    path = tmp_path / "s.tracer"
    writer = SessionWriter(path, redactor=record_redactor)
    writer.begin(HEADER)
    writer.output(1_000, f"{PASSWORD}\r\n".encode())
    writer.event(CommandStart(t=2_000_000, id=1, command="echo DB_PASSWORD=$(cat pw.txt)", cwd="/w"))
    writer.output(2_000_100, f"DB_PASSWORD={PASSWORD}\r\n".encode())
    writer.close(SessionEnd(t=3_000_000, exit_status=0))
    session = read_session(path)
    shown = b"".join(e.data for e in session.events if isinstance(e, Output))
    assert shown.count(PASSWORD.encode()) == 1  # the first, written before it was named
    assert session.end is not None
    (site,) = session.end.unmasked
    assert site.rule == "secret-assignment"
    masked = SessionRedaction()(session)
    assert PASSWORD.encode() not in b"".join(e.data for e in masked.events if isinstance(e, Output))
    # the copy holds it masked, in its own order: it says nothing is unmasked (its ordinals would mislead)
    assert masked.end is not None and masked.end.unmasked is None
    assert SessionEnd(t=1, exit_status=0).to_dict() == {"type": "session_end", "t": 1, "exit_status": 0, **_DEFAULTS}


def test_the_writer_gives_its_freed_memory_back_before_it_reads_its_file_back(tmp_path: Path) -> None:
    """The read at the end (values learnt) comes after a flood's buffers: the writer releases its frame buffer and
    calls ``release`` (glibc's ``malloc_trim`` in the recorder) first, so the reading reuses pages rather than
    raising the peak (docs/performance.md, run 27). Not when nothing was learnt: nothing is read then."""
    for learnt in (True, False):
        calls: list[int] = []
        path = tmp_path / f"{learnt}.tracer"
        writer = SessionWriter(path, redactor=record_redactor, release=lambda: calls.append(1))  # noqa: B023
        writer.begin(HEADER)
        writer.output(1_000, b"x" * (3 << 20))  # a frame buffer of full size
        if learnt:
            writer.output(2_000, f"DB_PASSWORD={PASSWORD}\r\n".encode())
        writer.close(SessionEnd(t=3_000_000, exit_status=0))
        assert calls == ([1] if learnt else [])
        session = read_session(path)
        assert session.problem is None and session.end is not None
        assert b"".join(e.data for e in session.events if isinstance(e, Output)).startswith(b"x" * (3 << 20))


@settings(max_examples=200, deadline=None)
@given(
    before=st.binary(max_size=3000),
    after=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    length=st.integers(min_value=8, max_value=1024),
)
def test_a_value_anywhere_in_output_cut_anyhow_into_events_is_read_back(
    before: bytes, after: bytes, cuts: list[int], length: int
) -> None:
    value = (b"Vx9" * 400)[:length]
    stream = before.replace(b"V", b"v") + value + after
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    events: list[Event] = [HEADER]
    for a, b in itertools.pairwise(bounds):
        events.append(Output(t=len(events), data=stream[a:b]))
        if a % 3 == 0:  # other events between output events: the output is one stream all the same
            events.append(CommandStart(t=len(events), id=1, command="x", cwd="/"))
    sites = find_sites(events, {value: "secret-assignment"})
    assert len(sites) == 1 and values_at(sites, events) == [(value, "secret-assignment")]


def test_the_longest_value_looked_for_is_the_longest_a_redactor_learns() -> None:
    from tracer.redact import _mask, _unmasked

    assert _unmasked.LONGEST == _mask.KNOWN_LONGEST
