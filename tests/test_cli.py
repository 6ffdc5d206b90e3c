"""The command line: bad input gets one clear line and the right exit status, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer.store.format import MAGIC


def tracer(
    *args: str, cwd: Path, stdin: int | None = subprocess.DEVNULL, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer", *args],
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], status: int, *needles: str) -> None:
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("tracer: ")
    assert len(proc.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in proc.stderr


def recorded(tmp_path: Path, name: str = "s.tracer", command: str = "echo hi") -> Path:
    out = tmp_path / name
    proc = tracer("shell", "-q", "-o", str(out), "-c", command, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return out


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(tracer("show", str(tmp_path / "nope.tracer"), cwd=tmp_path), 3, "nope.tracer")


def test_not_a_session(tmp_path: Path) -> None:
    (tmp_path / "x.tracer").write_text("hello")
    assert_one_line_error(
        tracer("show", str(tmp_path / "x.tracer"), cwd=tmp_path), 3, "x.tracer", "not a tracer session"
    )


def test_unknown_format_version(tmp_path: Path) -> None:
    (tmp_path / "v.tracer").write_bytes(MAGIC + b"\x00\x07")
    assert_one_line_error(tracer("show", str(tmp_path / "v.tracer"), cwd=tmp_path), 3, "format 7", "upgrade tracer")


def test_truncated_session_is_shown_with_its_problem(tmp_path: Path) -> None:
    path = recorded(tmp_path, command="seq 1 50000")
    data = path.read_bytes()
    cut = tmp_path / "cut.tracer"
    cut.write_bytes(data[: len(data) - 20])
    proc = tracer("show", str(cut), cwd=tmp_path)
    assert proc.returncode == 0
    assert "interrupted" in proc.stdout and "cut off at byte" in proc.stdout


def test_shell_without_a_terminal(tmp_path: Path) -> None:
    assert_one_line_error(tracer("shell", cwd=tmp_path), 3, "needs a terminal", "tracer shell -c")


def test_note_outside_a_recorded_shell(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACER_SOCKET"}
    proc = subprocess.run(
        [sys.executable, "-m", "tracer", "note", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert_one_line_error(proc, 3, "only inside a shell recorded by `tracer shell`")


def test_no_sessions_yet(tmp_path: Path) -> None:
    assert_one_line_error(tracer("show", cwd=tmp_path), 3, "no sessions", "tracer shell")
    assert tracer("ls", cwd=tmp_path).returncode == 0


def test_show_marks_a_bare_exit_as_carrying_the_status_before_it(tmp_path: Path) -> None:
    """``false`` then ``exit``: the shell exits with 1, which is ``false``'s failure, not the ``exit``'s own. The
    count said "1 failed" beside two ✗; the ``exit`` is marked ↩, as in the replay."""
    from tracer.model import CommandEnd, CommandStart, Header, SessionEnd
    from tracer.store import SessionWriter

    path = tmp_path / "s.tracer"
    header = Header(
        t=0, session_id="s", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="/bin/bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd=str(tmp_path),
        workspace=str(tmp_path),
    )  # fmt: skip
    w = SessionWriter(path, header)
    for i, (command, status) in enumerate([("false", 1), ("exit", 1)], start=1):
        w.event(CommandStart(t=10 * i, id=i, command=command, cwd=str(tmp_path)))
        w.event(CommandEnd(t=10 * i + 5, id=i, exit_status=status, cwd=str(tmp_path)))
    w.close(SessionEnd(t=100, exit_status=1))
    out = tracer("show", str(path), cwd=tmp_path).stdout
    assert "2 commands (1 failed)" in out
    assert "  ✗   1 " in out and "  ↩   1 " in out and out.count("✗") == 1


def test_session_id_prefix_and_latest(tmp_path: Path) -> None:
    sessions = Path(os.environ["TRACER_DIR"])
    sessions.mkdir(parents=True, exist_ok=True)
    a = recorded(sessions, "2026-01-01T00-00-00-aaaa.tracer", "echo first")
    b = recorded(sessions, "2026-01-02T00-00-00-bbbb.tracer", "echo second")
    assert "echo first" in tracer("show", "2026-01-01", cwd=tmp_path).stdout
    assert "echo second" in tracer("show", cwd=tmp_path).stdout  # the latest
    listing = tracer("ls", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in listing[1:]] == [b.stem, a.stem]
    assert_one_line_error(tracer("show", "2026-01", cwd=tmp_path), 2, "matches 2 sessions")


def test_verify_without_a_start_commit(tmp_path: Path) -> None:
    path = recorded(tmp_path)  # not a git repository
    assert_one_line_error(tracer("verify", str(path), cwd=tmp_path), 3, "no start commit")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "asciicast", "asciicast-v3", "patch"])
def test_export_formats(tmp_path: Path, fmt: str) -> None:
    path = recorded(tmp_path, command="printf 'caf\\xc3\\xa9\\n'")
    proc = tracer("export", str(path), "--format", fmt, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    if fmt == "json":
        import json

        from tracer.store.schema import validate_trace

        doc = json.loads(proc.stdout)
        validate_trace(doc)
        (cmd,) = [e for e in doc["events"] if e["type"] == "terminal_command"]
        assert cmd["output"] == "café\r\n" and cmd["exit_code"] == 0
    elif fmt == "asciicast":
        import json

        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        assert lines[0]["version"] == 2 and lines[0]["width"] == 80
        assert "".join(e[2] for e in lines[1:] if e[1] == "o") == "café\r\n"
    elif fmt == "asciicast-v3":
        from tests.store.asciicast import check_v3

        header, events = check_v3(proc.stdout)
        assert header["term"]["cols"] == 80 and "".join(d for _, code, d in events if code == "o") == "café\r\n"
    elif fmt == "jsonl":
        import json

        from tracer.store.schema import validate_event

        for line in proc.stdout.splitlines():
            event = json.loads(line)
            del event["trace_id"], event["time"]
            validate_event(event)


def test_usage_error_exit_status(tmp_path: Path) -> None:
    proc = tracer("export", "--format", "pdf", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = tracer("export", "--format", "json", "--from-commit", cwd=tmp_path)
    assert proc.returncode == 2 and "--from-commit goes with --format patch" in proc.stderr


def test_ls_sees_what_was_appended_since_the_last_listing(tmp_path: Path) -> None:
    from tracer.model import Note
    from tracer.store import append_events

    sessions = Path(os.environ["TRACER_DIR"])
    sessions.mkdir(parents=True, exist_ok=True)
    path = recorded(sessions, "2026-01-01T00-00-00-aaaa.tracer", "true")
    first = tracer("ls", cwd=tmp_path).stdout.splitlines()[1].split()
    assert first[5:9] == ["0", "0", "0", "-"]  # failed, edits, notes, verdict
    append_events(path, [Note(t=1, id="n", text="added later", source="replay")])
    again = tracer("ls", cwd=tmp_path).stdout.splitlines()[1].split()
    assert again[5:9] == ["0", "0", "1", "-"]


def test_ls_says_what_each_session_is_about_and_finds_them_by_repository_and_time(tmp_path: Path) -> None:
    import dataclasses
    import json

    from tests.conftest import make_repo
    from tracer.store import read_session
    from tracer.store.writer import write_session

    sessions = Path(os.environ["TRACER_DIR"])
    sessions.mkdir(parents=True, exist_ok=True)
    api = make_repo(tmp_path / "api", {"a.txt": "a\n"})
    web = make_repo(tmp_path / "web", {"b.txt": "b\n"})
    (api / "sub").mkdir()
    for cwd, name, task in [
        (api / "sub", "2026-01-01T00-00-00-aaaa", "fix the \x1b[31mlogin"),
        (web, "2026-01-02T00-00-00-bbbb", "speed up the build " + "and more " * 20),
    ]:
        out = sessions / f"{name}.tracer"
        proc = tracer("shell", "-q", "-o", str(out), "--task", task, "-c", "true", cwd=cwd)
        assert proc.returncode == 0, proc.stderr
    (sessions / "2026-01-03T00-00-00-cccc.tracer").write_text("not a session")

    listing = tracer("ls", cwd=tmp_path).stdout.splitlines()
    assert listing[0].split()[-2:] == ["REPO", "TASK"]
    assert "unreadable" in listing[1]
    assert listing[2].startswith("2026-01-02T00-00-00-bbbb") and " web   speed up the build and more" in listing[2]
    assert listing[3].endswith(" api   fix the \\x1b[31mlogin")  # escaped, as all text of a session
    assert len(listing[2]) > 200  # not a terminal: the whole task

    only_api = tracer("ls", "--repo", str(api), cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in only_api[1:]] == ["2026-01-01T00-00-00-aaaa"]
    old = sessions / "2026-01-01T00-00-00-aaaa.tracer"  # as if recorded in January: --since reads the start time
    session = read_session(old)
    old.unlink()
    write_session(old, dataclasses.replace(session.header, started_at="2026-01-01T09:00:00.000000Z"), session.events)
    recent = tracer("ls", "--since", "30d", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in recent[1:]] == ["2026-01-02T00-00-00-bbbb"]
    assert "-aaaa" in tracer("ls", "--since", "2025-12-31", cwd=tmp_path).stdout
    assert_one_line_error(tracer("ls", "--since", "soon", cwd=tmp_path), 2, "--since 'soon'")
    assert_one_line_error(tracer("ls", "--repo", str(tmp_path / "nope"), cwd=tmp_path), 2, "no such directory")

    items = json.loads(tracer("ls", "--json", cwd=tmp_path).stdout)
    assert [i.get("session_id") for i in items] == [None, "2026-01-02T00-00-00-bbbb", "2026-01-01T00-00-00-aaaa"]
    assert "error" in items[0] and items[2]["task"] == "fix the \x1b[31mlogin"
    assert items[2]["repo_root"] == items[2]["workspace"] == str(api)  # (recorded in api/sub)
    assert json.loads(tracer("ls", "--json", "--repo", str(web), cwd=tmp_path).stdout)[0]["commands"] == 1


@pytest.mark.parametrize("args", [["show"], ["ls"], ["export", "--format", "asciicast"]])
def test_a_reader_that_stops_early_is_no_error(tmp_path: Path, args: list[str]) -> None:
    """``tracer show S | head -1``: the reader closes the pipe before tracer is done writing; tracer stops with
    exit status 0 and says nothing (click alone would exit 1)."""
    lines = "; ".join(f"echo line{i}" for i in range(400))
    session = recorded(tmp_path, command=lines)
    argv = [sys.executable, "-m", "tracer", *args]
    if args[0] != "ls":
        argv.append(str(session))
    env = {**os.environ, "TRACER_DIR": str(tmp_path)}
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # the reader is gone before the first write
    try:
        proc = subprocess.run(
            argv, cwd=tmp_path, stdout=write_fd, stderr=subprocess.PIPE, text=True, timeout=60, env=env
        )
    finally:
        os.close(write_fd)
    assert (proc.returncode, proc.stderr) == (0, "")


def on_a_terminal(args: list[str], cwd: Path, columns: int) -> list[str]:
    """The lines ``tracer *args`` writes to a real PTY ``columns`` wide (its stdout and stderr)."""
    import fcntl
    import select
    import struct
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "tracer", *args], cwd=cwd, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last writer closed the PTY
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        os.close(master)
        proc.wait(timeout=60)
    return out.decode().replace("\r\n", "\n").splitlines()


def test_ls_fits_an_80_column_terminal(tmp_path: Path) -> None:
    from tests.conftest import make_repo

    sessions = Path(os.environ["TRACER_DIR"])
    sessions.mkdir(parents=True, exist_ok=True)
    web = make_repo(tmp_path / "web", {"b.txt": "b\n"})
    out = sessions / "2026-01-02T00-00-00-bbbb.tracer"
    proc = tracer("shell", "-q", "-o", str(out), "--task", "speed up the build", "-c", "true", cwd=web)
    assert proc.returncode == 0, proc.stderr

    wide = on_a_terminal(["ls"], tmp_path, 150)
    assert wide[0].split()[:3] == ["ID", "STARTED", "DURATION"] and wide[1].endswith(" web   speed up the build")
    (sessions / "2026-01-01T00-00-00-cccc.tracer").write_text("not a session")
    narrow = on_a_terminal(["ls"], tmp_path, 80)
    assert len(narrow) == 3 and all(len(line) <= 80 for line in narrow), narrow  # no line wraps
    assert narrow[2].startswith("2026-01-01T00-00-00-cccc unreadable: ") and narrow[2].endswith("…")
    assert narrow[0].split()[:2] == ["ID", "DURATION"]  # left off: the id holds the start time too
    assert (
        narrow[1].startswith("2026-01-02T00-00-00-bbbb ") and " web   speed u" in narrow[1] and narrow[1].endswith("…")
    )
    assert narrow[1].split()[2:7] == ["1", "0", "0", "0", "-"]  # commands, failed, edits, notes, verdict


def test_ls_cuts_a_task_to_the_terminals_cells_never_into_the_counts() -> None:
    from tracer.cli import _cells, _ls_line

    counts = "x" * 90
    for task in ["修复登录页面的错误" * 5, "fix the login " * 5, "e\u0301" * 40]:  # wide, narrow, combining
        line = _ls_line(counts, "repo", task, 4, 120)
        assert _cells(line) <= 120 and line.endswith("…") and line.startswith(counts + " repo  ")
        assert _ls_line(counts, "repo", task, 4, 0).endswith(task.rstrip())  # not a terminal: whole
        assert _ls_line(counts, "repo", task, 4, 100) == counts  # no room for the task: the counts alone
    assert _cells("修复") == 4 and _cells("e\u0301") == 1


def test_show_counts_a_renamed_file_once_as_git_does(tmp_path: Path) -> None:
    from tests.conftest import make_repo

    repo = make_repo(tmp_path / "r", {"a.txt": "a\n", "b.txt": "b\n"})
    out = tmp_path / "s.tracer"
    proc = tracer("shell", "-q", "-o", str(out), "-c", "git mv a.txt c.txt && echo more >> b.txt", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    shown = tracer("show", str(out), cwd=tmp_path).stdout
    assert "final patch: 2 files" in shown  # the rename and the change; the paths are three


def test_a_recording_without_edits_says_so(tmp_path: Path) -> None:
    out = recorded(tmp_path)
    assert "recorded  1 command (0 failed), no edits, 0 notes" in tracer("show", str(out), cwd=tmp_path).stdout


def test_replay_without_a_terminal_says_what_to_use_instead(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    assert_one_line_error(tracer("replay", str(path), cwd=tmp_path), 2, "standard input is not one", "tracer show")
    master, slave = os.openpty()  # keys from a terminal, the screen into a pipe (`tracer replay | less`)
    try:
        proc = tracer("replay", str(path), cwd=tmp_path, stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    assert_one_line_error(proc, 2, "standard output is not one")
    assert proc.stdout == ""
