"""Write the corpus of crafted session files that the fuzz suite runs every read command on.

Run from the repository's root to refresh ``tests/fuzz/corpus/`` after changing a case:

    python -m tests.fuzz.make_corpus

Each file is named after what is wrong with it. Files that git cannot hold (a FIFO, a device, a file nobody may
read) are made by the tests themselves. The bombs are small on disk (a gigabyte of zeros compresses to 30 KB).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

from tests.fuzz import craft
from tracer.store.format import MAGIC, PREAMBLE

CORPUS = Path(__file__).parent / "corpus"
EVIL = "\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b[2J\x1b]0;owned\x07\x9b31m\x07"  # clipboard, clear, title, C1 CSI, bell
GOOD = craft.maps(craft.rich_events())


def _with(index: int, **changes: object) -> list[object]:
    """The rich session's events with event ``index`` changed (a value of ``...`` removes the field)."""
    events: list[object] = [dict(e) for e in GOOD]
    event = {**GOOD[index], **changes}
    events[index] = {k: v for k, v in event.items() if v is not ...}
    return events


def _index(kind: str) -> int:
    return next(i for i, e in enumerate(GOOD) if e["type"] == kind)


def cases() -> dict[str, Callable[[], bytes]]:
    out = _index("output")
    note = _index("note")
    change = _index("file_change")
    verify = _index("verify_result")
    judged = _index("judge_result")
    start = _index("command_start")
    end = _index("session_end")
    small_outputs = craft.pack([{"type": "output", "t": i, "data": b"x" * 40} for i in range(1000)])
    return {
        # the frame layer
        "empty": lambda: b"",
        "text-file": lambda: b"just some text, not a session\n",
        "magic-only": lambda: MAGIC,
        "newer-format": lambda: MAGIC + b"\x00\x07",
        "preamble-only": lambda: PREAMBLE,
        "garbage-after-preamble": lambda: PREAMBLE + bytes(range(256)) * 4,
        "cut-in-frame-header": lambda: craft.rich_session()[:14],
        "cut-in-last-frame": lambda: craft.rich_session()[:-7],
        "bitflip-in-second-frame": lambda: _flip(craft.rich_session(), 300),
        "skippable-zstd-frame": lambda: craft.session([craft.HEADER], struct.pack("<II", 0x184D2A50, 4) + b"abcd"),
        "frame-declares-100-gib": lambda: craft.session([craft.HEADER], GOOD, craft.declared_frame(100 << 30)),
        "frame-window-2-gib": lambda: craft.session([craft.HEADER], craft.window_frame(31)),
        "event-of-2-gib-declared": lambda: craft.session(
            [craft.HEADER], craft.zeros_frame(_output_head(2**31), 2**31, declare=True)
        ),
        "1-gb-event-in-30-kb": lambda: craft.session(
            [craft.HEADER], craft.zeros_frame(_output_head(10**9), 10**9, declare=False)
        ),
        "event-claims-2-gib-holds-100-bytes": lambda: craft.session(
            [craft.HEADER], craft.frame(_output_head(2**31) + b"x" * 100)
        ),
        "5-mb-of-small-events-in-one-frame": lambda: craft.session([craft.HEADER], craft.frame(small_outputs * 90)),
        "deep-nesting": lambda: craft.session([craft.HEADER], craft.frame(b"\x91" * 100_000 + b"\xc0")),
        "array-declares-2-billion": lambda: craft.session([craft.HEADER], craft.frame(b"\xdd\x80\x00\x00\x00")),
        "map-with-int-keys": lambda: craft.session(
            [craft.HEADER], craft.frame(b"\x81\x01\x02") + craft.frame(craft.pack(GOOD))
        ),
        "not-msgpack": lambda: craft.session([craft.HEADER], craft.frame(b"\xc1\xc1\xc1")),
        # the event layer
        "header-missing": lambda: craft.session(GOOD),
        "header-cols-text": lambda: craft.session([craft.header(cols="80")], GOOD),
        "header-started-at-not-a-date": lambda: craft.session([craft.header(started_at="last tuesday")], GOOD),
        "header-started-at-year-9999": lambda: craft.session([craft.header(started_at="9999-12-31T23:59:59Z")], GOOD),
        "header-huge-terminal": lambda: craft.session([craft.header(cols=65535, rows=65535)], GOOD),
        "header-not-a-map": lambda: craft.session([[1, 2, 3]], GOOD),
        "header-twice": lambda: craft.session([craft.HEADER], [craft.header(cols=1), *GOOD]),
        "t-is-text": lambda: craft.session([craft.HEADER], _with(out, t="5")),
        "t-is-huge": lambda: craft.session([craft.HEADER], _with(out, t=2**64 - 1)),
        "t-is-negative": lambda: craft.session([craft.HEADER], _with(note, t=-5)),
        "data-is-int": lambda: craft.session([craft.HEADER], _with(out, data=7)),
        "reads-not-pairs": lambda: craft.session([craft.HEADER], _with(out, reads=[[1, "x"], 3])),
        "reads-past-the-data": lambda: craft.session([craft.HEADER], _with(out, reads=[[10**6, 10**12]])),
        "tags-not-a-list": lambda: craft.session([craft.HEADER], _with(note, tags="fix")),
        "tests-nested-garbage": lambda: craft.session(
            [craft.HEADER], _with(verify, tests=[{"name": [{"x": None}]}, 3])
        ),
        "checks-nested-garbage": lambda: craft.session(
            [craft.HEADER], _with(judged, checks=[{"id": "x", "evidence": [{"step": 1, "t": "now"}]}])
        ),
        "score-out-of-range": lambda: craft.session(
            [craft.HEADER], _with(judged, overall=99, scores=[{"criterion": "a", "score": -7}])
        ),
        "size-negative": lambda: craft.session([craft.HEADER], _with(change, size=-1)),
        "duration-nan": lambda: craft.session([craft.HEADER], _with(verify, duration=float("nan"))),
        "field-missing": lambda: craft.session([craft.HEADER], _with(start, command=...)),
        "unknown-event-type": lambda: craft.session([craft.HEADER], [{"type": "hologram", "t": 1}, *GOOD]),
        "non-map-objects": lambda: craft.session([craft.HEADER], [1, "two", b"three", None, [4], *GOOD]),
        "ids-repeated": lambda: craft.session([craft.HEADER], GOOD + GOOD),
        "end-before-start": lambda: craft.session([craft.HEADER], list(reversed(GOOD))),
        # text that attacks the terminal, names that are not UTF-8
        "escapes-everywhere": lambda: craft.session(
            [craft.header(task=EVIL, shell=EVIL, cwd=EVIL, workspace=EVIL, branch=EVIL, test_command=EVIL)],
            [
                *_with(start, command=EVIL + "\nrm -rf /", cwd=EVIL)[:change],
                {**GOOD[change], "path": EVIL, "op": EVIL},
                {**GOOD[note], "text": EVIL, "tags": [EVIL]},
                {**GOOD[end], "reason": EVIL, "warnings": [EVIL]},
                {**GOOD[verify], "verdict": EVIL, "command": EVIL},
                {
                    **GOOD[judged],
                    "judge": EVIL,
                    "comments": EVIL + "\n" + EVIL,
                    "strengths": [EVIL],
                    "checks": [{"id": EVIL, "ok": False, "detail": EVIL}],
                    "scores": [{"criterion": EVIL, "score": 1, "steps": [EVIL], "reason": EVIL}],
                },
            ],
        ),
        "names-not-utf8": lambda: craft.session(
            [craft.header(cwd=b"/src/caf\xe9", workspace=b"/src/caf\xe9", task="caf\udce9")],
            _with(change, path=b"\xff\xfe", old_path=b"\xc3", diff=b"+\xff\n"),
        ),
        "surrogates-encoded-in-str": lambda: craft.session([craft.header(task="a\udcedb")], GOOD),
    }


def _output_head(length: int) -> bytes:
    """The start of an output event whose ``data`` is a bin of ``length`` bytes (the bytes themselves follow)."""
    return b"\x83\xa4type\xa6output\xa1t\x01\xa4data" + craft.bin_header(length)


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x10
    return bytes(out)


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.glob("*.tracer"):
        old.unlink()
    for name, make in cases().items():
        data = make()
        (CORPUS / f"{name}.tracer").write_bytes(data)
        print(f"{name:<40} {len(data):>8} bytes")


if __name__ == "__main__":
    main()
