"""The fuzz suite: damaged and crafted session files through every read command, under time and memory limits.

Two sources of files: the corpus of crafted files checked in beside this module (``make_corpus.py``), plus
files git cannot hold (a FIFO, a device, a directory, links, a file nobody may read); and files hypothesis makes
by damaging a valid session (wrong types in any field, garbage objects, bombs, deep nesting, control characters,
bytes that are not UTF-8, bit flips, truncations). Each batch runs in one process (``tests.fuzz.driver``) limited
in memory and time, which runs ``ls``, ``show``, ``export`` in all formats, ``verify --test-command true``,
``judge``, ``dataset build``, ``insights`` and the replay's loading path on every file and reports any traceback, hang,
"internal error", control character on the terminal, export that does not parse, or exit status other than 0, 1,
2 and 3.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import git, make_repo
from tests.fuzz import craft
from tests.fuzz.test_hostile_cli import unprivileged

CORPUS = Path(__file__).parent / "corpus"
REPOSITORY = Path(__file__).parents[2]
#: Address space of the process running the commands: the largest event a reader takes (512 MiB) and the
#: interpreter with Textual loaded fit, with room to spare; a command that needs more is a bug.
MEMORY = 2 << 30
#: The longest one command may run on one file.
SECONDS = 60


def run_driver(files: list[Path], work: Path) -> list[dict[str, Any]]:
    """Every read command on every file, in one limited process: one report per file and command."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    proc = subprocess.run(
        [
            *unprivileged(),
            sys.executable,
            "-m",
            "tests.fuzz.driver",
            str(work),
            *map(str, files),
            f"--seconds={SECONDS}",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        timeout=SECONDS * 10 + 10 * len(files),
        preexec_fn=limits,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    # per file: ls, show, 5 exports, verify, judge, dataset build, insights, replay loading; then ls and insights
    assert len(rows) == 12 * len(files) + 2, proc.stderr.decode(errors="replace")[-3000:]
    return rows


def assert_nothing_wrong(rows: list[dict[str, Any]]) -> None:
    wrong = [f"{r['file']}: tracer {r['command']}: {r['wrong']}" for r in rows if r["wrong"]]
    assert not wrong, "\n\n".join(wrong)


def special_files(where: Path) -> list[Path]:
    """Entries named like sessions that are no regular files, or that nobody may read."""
    where.mkdir()
    fifo = where / "fifo.tracer"
    os.mkfifo(fifo)
    directory = where / "directory.tracer"
    directory.mkdir()
    device = where / "device.tracer"
    device.symlink_to("/dev/zero")
    dangling = where / "dangling.tracer"
    dangling.symlink_to(where / "gone.tracer")
    loop = where / "loop.tracer"
    loop.symlink_to(loop)
    locked = craft.write(where / "locked.tracer", craft.rich_session())
    locked.chmod(0)
    return [fifo, directory, device, dangling, loop, locked]


def test_every_read_command_holds_on_the_corpus(tmp_path: Path) -> None:
    files = sorted(CORPUS.glob("*.tracer"))
    assert len(files) > 40
    rows = run_driver(files + special_files(tmp_path / "special"), tmp_path / "work")
    assert_nothing_wrong(rows)
    by_file = {(Path(r["file"]).name, r["command"]): r for r in rows}
    assert by_file[("1-gb-event-in-30-kb.tracer", "show")]["status"] == 0  # shown, with its problem
    assert by_file[("fifo.tracer", "show")]["status"] == 3
    assert by_file[("locked.tracer", "show")]["status"] == 3


# -- hypothesis: a valid session, damaged ------------------------------------------------------------------

#: Text that tries to take over a terminal, and bytes that are not UTF-8 (a lone surrogate is packed as the
#: byte it stands for, so the msgpack str holds invalid UTF-8).
ESCAPES = ["\x1b]52;c;ZWNobyBvd25lZA==\x07", "\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\x07", "\r", "\x00", "\x7f"]
hostile_text = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(ESCAPES),
        st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
    ),
    max_size=5,
).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(),
    hostile_text,
    st.binary(max_size=32),
)
garbage = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
FIELDS = sorted({key for e in craft.maps(craft.rich_events()) for key in e} | set(craft.HEADER))


@st.composite
def damaged(draw: st.DrawFn, base: list[list[Any]]) -> bytes:
    """``base`` (frames of event maps, the header first) with one to three kinds of damage."""
    frames = copy.deepcopy(base)
    raw_tail = b""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "field", "drop", "insert", "type", "text", "nest", "declare", "bytes"]))
        f = draw(st.integers(0, len(frames) - 1))
        events = frames[f]
        i = draw(st.integers(0, max(0, len(events) - 1)))
        event = events[i] if events and isinstance(events[i], dict) else None
        if kind == "field" and event is not None:
            event[draw(st.sampled_from(FIELDS))] = draw(garbage)
        elif kind == "drop" and event:
            event.pop(draw(st.sampled_from(sorted(event))), None)
        elif kind == "insert":
            events.insert(i, draw(garbage))
        elif kind == "type" and event is not None:
            event["type"] = draw(st.one_of(st.sampled_from(["header", "output", "hologram", ""]), garbage))
        elif kind == "text" and event is not None:
            texts = [k for k, v in event.items() if isinstance(v, str) and k != "type"]
            if texts:
                event[draw(st.sampled_from(texts))] = draw(hostile_text)
        elif kind == "nest" and event is not None:
            depth = draw(st.sampled_from([10, 400]))  # msgpack packs 511 levels at most: deeper ones come raw
            value: Any = None
            for _ in range(depth):
                value = [value]
            event[draw(st.sampled_from(FIELDS))] = value
        elif kind == "declare":  # a container or a bytes field that claims far more than it holds; deep nesting
            claims = [b"\xdd\xff\xff\xff\xff", b"\xdf\x7f\xff\xff\xff", b"\xc6\x7f\xff\xff\xff", b"\x91" * 5000]
            raw_tail = draw(st.sampled_from(claims)) + draw(st.binary(max_size=16))
        elif kind == "bytes":
            raw_tail = draw(st.binary(min_size=1, max_size=64))
    data = craft.session_of(frames, raw_tail)
    # then the damage a disk or a transfer does: bit flips, a cut
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


@pytest.fixture(scope="module")
def base() -> list[list[Any]]:
    """A valid session recorded in a real repository, so that ``verify`` gets as far as it can: its header names
    the repository and its commit, and its final patch applies."""
    repo = make_repo(Path(tempfile.mkdtemp(prefix="fuzz-repo-")), {"a.py": "x\n"})
    commit = git(repo, "rev-parse", "HEAD").strip()
    header = craft.header(cwd=str(repo), workspace=str(repo), repo_root=str(repo), head_commit=commit)
    events = craft.maps(craft.rich_events())
    return [[header], events[:6], events[6:]]


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_every_read_command_holds_on_damaged_sessions(base: list[list[Any]], data: st.DataObject) -> None:
    files = data.draw(st.lists(damaged(base), min_size=15, max_size=15), label="files")
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        paths = [craft.write(Path(tmp) / f"{i:02d}.tracer", content) for i, content in enumerate(files)]
        assert_nothing_wrong(run_driver(paths, Path(tmp) / "work"))


def test_a_damaged_session_can_still_be_verified(base: list[list[Any]], tmp_path: Path) -> None:
    """The fuzzed files reach the verify run itself: the base session verifies."""
    path = craft.write(tmp_path / "s.tracer", craft.session_of(base))
    rows = run_driver([path], tmp_path / "work")
    assert_nothing_wrong(rows)
    assert {r["command"]: r["status"] for r in rows}["verify"] == 0


def _spoiled(value: Any, bad: str, skip: frozenset[str] = frozenset()) -> Any:
    """``value`` (an event map) with ``bad`` added to every text in it, nested records and lists included."""
    if isinstance(value, str):
        return value + bad
    if isinstance(value, list):
        return [_spoiled(v, bad) for v in value]
    if isinstance(value, dict):
        return {k: v if k in skip else _spoiled(v, bad) for k, v in value.items()}
    return value


@pytest.mark.parametrize("bad", ["\udc82x\udcfe", "\x1b]52;c;aGk=\x07\x1b[2J\r\u202e"], ids=["not-utf8", "escapes"])
def test_every_read_command_holds_when_every_text_of_every_event_is_hostile(tmp_path: Path, bad: str) -> None:
    """Each text field (paths, command lines, ids, notes, test names, judge scores…), nested records included,
    carries bytes that are not UTF-8 or sequences that would take over a terminal: every command still reads
    the session whole, and prints or exports it without a traceback or a raw escape sequence."""
    keep = frozenset({"type", "started_at", "uuid"})  # checked fields: a bad one makes the header unreadable
    header = {k: v if k in keep else _spoiled(v, bad) for k, v in craft.HEADER.items()}
    events = [_spoiled(m, bad, skip=frozenset({"type"})) for m in craft.maps(craft.rich_events())]
    path = craft.write(tmp_path / "hostile.tracer", craft.session([header], events))
    from tracer.store import read_session

    session = read_session(path)
    assert session.problem is None and len(session.events) == len(events)  # nothing was skipped
    assert_nothing_wrong(run_driver([path], tmp_path / "work"))
