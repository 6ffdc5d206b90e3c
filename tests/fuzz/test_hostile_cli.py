"""Hostile session files through the commands a user runs: clear lines, no hang, nothing raw on the terminal."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import craft
from tracer.store.format import PREAMBLE

#: Bytes a crafted session could use to take over a terminal: C0 controls but newline, DEL, and C1 (UTF-8
#: encoded) — ESC starts CSI/OSC (OSC 52 writes the clipboard), BEL ends OSC, U+009B is CSI in one character.
RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
OSC52 = "\x1b]52;c;ZWNobyBvd25lZA==\x07"


def unprivileged() -> list[str]:
    """A command prefix that runs without root's power to read any file (permission tests mean nothing as
    root): ``setpriv`` drops every capability; nothing as an ordinary user."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot test permissions")
    return ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]


def tracer(
    *args: str, sessions: Path | None = None, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    if sessions is not None:
        env["TRACER_DIR"] = str(sessions)
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-m", "tracer", *args],
        capture_output=True,
        timeout=60,  # a FIFO opened for reading blocks forever: the timeout makes that a failure, not a hang
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert b"Traceback" not in proc.stderr and b"internal error" not in proc.stderr, proc.stderr
    return proc


def hostile_session(path: Path) -> Path:
    """A session whose every text field tries to take over the terminal, and whose names are not UTF-8."""
    evil = f"pwn{OSC52}\x1b[2J\x9b31m\x07"
    hdr = craft.header(
        task=f"task {evil}",
        shell=f"/bin/sh{evil}",
        cwd=f"/w{evil}",
        workspace=f"/w{evil}",
        baseline_omitted=[f"data/: {evil}"] * 25,
    )
    events = [
        {"type": "command_start", "t": 1, "id": 1, "command": f"echo {evil}\nsecond line", "cwd": "/w"},
        {"type": "command_end", "t": 2, "id": 1, "exit_status": 0},
        {"type": "file_change", "t": 3, "path": f"{craft.ODD}{evil}", "op": f"create{evil}", "added": 1},
        {"type": "note", "t": 4, "id": "n1", "text": f"note {evil}", "tags": [f"tag{evil}"]},
        {"type": "final_patch", "t": 5, "patch": "", "files": [craft.ODD], "omitted": [f"x.db: {evil}"] * 30},
        {"type": "session_end", "t": 6, "exit_status": 143, "reason": f"SIGTERM{evil}", "warnings": [f"w {evil}"]},
        {"type": "verify_result", "t": 6, "verdict": f"passed{evil}", "command": f"true {evil}", "exit_status": 0},
    ]
    return craft.write(path, craft.session([hdr], events))


def test_show_and_ls_print_no_control_characters(tmp_path: Path) -> None:
    path = hostile_session(tmp_path / f"2026-11-21T10-30-00-{OSC52}.tracer")
    for proc in (tracer("show", str(path)), tracer("ls", sessions=tmp_path)):
        assert proc.returncode == 0, proc.stderr
        assert not RAW_CONTROL.search(proc.stdout), proc.stdout
        text = proc.stdout.decode()
        assert "\\x1b]52;c;ZWNobyBvd25lZA==\\x07" in text  # shown, as escapes
    shown = tracer("show", str(path)).stdout.decode()
    assert "\\x9b31m" in shown and "new\\xfe.txt" in shown  # C1, and a byte that is not UTF-8
    assert "echo pwn" in shown and "second line" not in shown  # the first line of a command, as before
    omitted = [line for line in shown.splitlines() if line.startswith("  omitted  x.db: pwn\\x1b]52")]
    assert len(omitted) == 20 and "  … and 10 more (tracer export --format jsonl lists all)" in shown
    at_start = [line for line in shown.splitlines() if line.startswith("  omitted  data/: pwn\\x1b]52")]
    assert len(at_start) == 20 and "  … and 5 more (tracer export --format jsonl lists all)" in shown
    assert "start     25 left out of the start state" in shown


def test_errors_naming_a_file_print_no_control_characters(tmp_path: Path) -> None:
    path = tmp_path / f"x{OSC52}.tracer"
    path.write_text("not a session")
    proc = tracer("show", str(path))
    assert proc.returncode == 3 and not RAW_CONTROL.search(proc.stderr.rstrip(b"\n"))
    assert b"\\x1b]52" in proc.stderr
    odd = os.fsencode(tmp_path) + b"/missing\xfe.tracer"
    proc = subprocess.run([sys.executable, "-m", "tracer", "show", odd], capture_output=True, timeout=60)
    assert proc.returncode == 3 and b"missing\\xfe.tracer" in proc.stderr and b"Traceback" not in proc.stderr


def test_show_says_why_the_recording_stopped_and_its_warnings(tmp_path: Path) -> None:
    end = {
        "type": "session_end",
        "t": 9_000_000,
        "exit_status": 143,
        "reason": "SIGTERM",
        "warnings": ["tracer: cannot write s.tracer: the disk is full; recording continues in memory"],
    }
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], [end]))
    shown = tracer("show", str(path)).stdout.decode()
    assert "status    the recording was stopped by SIGTERM; the shell's exit status was 143\n" in shown
    assert "warning   cannot write s.tracer: the disk is full; recording continues in memory\n" in shown
    normal = craft.write(
        tmp_path / "n.tracer", craft.session([craft.HEADER], [{**end, "reason": "exit", "warnings": []}])
    )
    shown = tracer("show", str(normal)).stdout.decode()
    assert "status" not in shown and "warning" not in shown


def test_ls_lists_the_good_sessions_beside_every_kind_of_bad_one(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    good = ["2026-11-21T10-30-00-0001", "2026-11-21T10-40-00-0003"]
    for i, name in enumerate(good):
        craft.write(sessions / f"{name}.tracer", craft.session([craft.header(session_id=name, cols=80 + i)]))
    bad = {
        "2026-11-21T10-31-00-fifo": "is a FIFO (named pipe)",
        "2026-11-21T10-32-00-dir": "is a directory",
        "2026-11-21T10-33-00-garbage": "is not a tracer session",
        "2026-11-21T10-34-00-bomb": "declares 100 GiB of content",
        "2026-11-21T10-35-00-locked": "permission denied",
        "2026-11-21T10-36-00-dangling": "is a symbolic link to",
        "2026-11-21T10-37-00-header": "field 'started_at' must be an RFC 3339 date",
        "2026-11-21T10-38-00-device": "is a device",
        "2026-11-21T10-39-00-cut": "is cut off at byte 10",
    }
    p = {name: sessions / f"{name}.tracer" for name in bad}
    os.mkfifo(p["2026-11-21T10-31-00-fifo"])
    p["2026-11-21T10-32-00-dir"].mkdir()
    p["2026-11-21T10-33-00-garbage"].write_bytes(os.urandom(4096))
    craft.write(p["2026-11-21T10-34-00-bomb"], craft.session(craft.declared_frame(100 << 30)))
    craft.write(p["2026-11-21T10-35-00-locked"], craft.session([craft.HEADER])).chmod(0)
    p["2026-11-21T10-36-00-dangling"].symlink_to(sessions / "gone")
    craft.write(p["2026-11-21T10-37-00-header"], craft.session([craft.header(started_at="soon")]))
    p["2026-11-21T10-38-00-device"].symlink_to("/dev/zero")
    craft.write(p["2026-11-21T10-39-00-cut"], craft.session([craft.HEADER])[:14])

    proc = tracer("ls", sessions=sessions, prefix=unprivileged())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith("ID ") and len(lines) == 1 + len(good) + len(bad)
    by_name = {line.split()[0]: line for line in lines[1:]}
    for name in good:
        assert "unreadable" not in by_name[name] and by_name[name].split()[8] == "interrupted"
    for name, says in bad.items():
        assert by_name[name].split()[1] == "unreadable:" and says in by_name[name], by_name[name]
    assert [line.split()[0] for line in lines[1:]] == sorted(by_name, reverse=True)  # newest first, as always


def test_a_fifo_or_an_unreachable_file_given_as_a_session_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tracer"
    os.mkfifo(fifo)
    locked = tmp_path / "locked"
    locked.mkdir()
    craft.write(locked / "s.tracer", craft.session([craft.HEADER]))
    locked.chmod(0)
    try:
        for command in ("show", "export", "verify", "replay"):
            proc = tracer(command, str(fifo))
            assert proc.returncode == 3 and b"is a FIFO (named pipe), not a tracer session file" in proc.stderr
            proc = tracer(command, str(locked / "s.tracer"), prefix=unprivileged())
            assert proc.returncode == 3 and b"permission denied" in proc.stderr, proc.stderr
    finally:
        locked.chmod(0o700)


def test_a_partial_export_says_so_in_one_line(tmp_path: Path) -> None:
    data = craft.rich_session()
    cut = craft.write(tmp_path / "cut.tracer", data[:-3])
    proc = tracer("export", str(cut))
    assert proc.returncode == 0 and json.loads(proc.stdout)["events"]
    (line,) = _besides_redaction(proc.stderr)
    assert line.startswith("tracer: partial export: session file ") and "cut off at byte" in line

    events = craft.maps(craft.rich_events())[:4]  # no session_end: interrupted
    interrupted = craft.write(tmp_path / "int.tracer", craft.session([craft.HEADER], events))
    for fmt in ("json", "asciicast", "patch"):
        proc = tracer("export", str(interrupted), "-f", fmt)
        assert proc.returncode == 0
        (line,) = _besides_redaction(proc.stderr)
        assert line == (
            "tracer: partial export: the recording was interrupted (the session has no end): what would have come "
            "after its last event is missing"
        )
    assert _besides_redaction(tracer("export", str(craft.write(tmp_path / "ok.tracer", data))).stderr) == []


def _besides_redaction(stderr: bytes) -> list[str]:
    """The lines of an export's standard error but the one every export prints: what redaction masked."""
    lines = stderr.decode().splitlines()
    assert sum(1 for line in lines if line.startswith("tracer: export masked ")) == 1, lines
    return [line for line in lines if not line.startswith("tracer: export masked ")]


def test_verify_names_the_file_of_a_truncated_session(tmp_path: Path) -> None:
    events = craft.maps(craft.rich_events())[:4]  # cut before the final patch
    path = craft.write(tmp_path / "cut.tracer", craft.session([craft.header(repo_root=str(tmp_path))], events))
    proc = tracer("verify", str(path), "--test-command", "true")
    assert proc.returncode == 3
    assert proc.stderr.decode().startswith(f"tracer: session {path} has no final patch")  # its file, not its id


def test_a_session_file_that_is_valid_shows_as_before(tmp_path: Path) -> None:
    path = craft.write(tmp_path / "s.tracer", craft.rich_session())
    shown = tracer("show", str(path)).stdout.decode()
    assert "  ✗   1    0.0s  pytest -q\n" in shown and "  ✓   0    0.0s  printf y > new\\xfe.txt\n" in shown
    assert "  create  new\\xfe.txt  +0 -0\n" in shown and "  modify  a.py  +1 -1\n" in shown
    assert "hypothesis: the regex [hypothesis]" in shown and "verdict   passed  (exit status 0; `true`)" in shown
    assert "warning   a warning\n" in shown and PREAMBLE not in shown.encode()


def test_unmasked_sites_a_file_makes_up_mask_what_they_name_and_break_nothing(tmp_path: Path) -> None:
    value = "Zq8vR2mK7pLx4Wn9"
    sites = [
        {"event": 1, "field": "data", "start": 3, "end": 19, "rule": f"rule{OSC52}"},  # a rule id that is none
        {"event": 10**12, "field": "data", "start": 0, "end": 16, "rule": "r"},  # no such event
        {"event": 1, "field": "data", "start": 0, "end": 2**40, "rule": "r"},  # longer than any value
        {"event": 0, "field": "task", "start": 0, "end": 9, "rule": "r", "item": 5},  # not a list
        {"event": 1, "field": "nonesuch", "start": 0, "end": 9, "rule": "r"},
    ]
    events = [
        {"type": "output", "t": 1, "data": f"pw {value} and {value} again\r\n".encode()},
        {"type": "session_end", "t": 2, "exit_status": 0, "unmasked": sites},
    ]
    path = craft.write(tmp_path / "s.tracer", craft.session([craft.HEADER], events))
    shown = tracer("show", str(path))
    assert shown.returncode == 0 and not RAW_CONTROL.search(shown.stdout)
    assert "5 secrets recorded before they were recognised are unmasked in this file" in shown.stdout.decode()
    for extra in ([], ["--no-redact"]):
        proc = tracer("export", str(path), "--format", "asciicast", *extra)
        assert proc.returncode == 0 and not RAW_CONTROL.search(proc.stdout), proc.stderr
        assert value.encode() not in proc.stdout and b"*" * len(value) in proc.stdout
    # a list of sites that is not one: the end is skipped as any malformed event, and said
    bad = craft.write(
        tmp_path / "b.tracer",
        craft.session([craft.HEADER], [events[0], {**events[1], "unmasked": [{"event": "x"}]}]),
    )
    proc = tracer("show", str(bad))
    assert proc.returncode == 0 and "unmasked[0].event" in proc.stdout.decode()
