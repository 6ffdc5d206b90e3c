"""The PTY loop with real children on real PTYs, each test with the C steady state and with the Python loop."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tracer.capture import pty
from tracer.capture.marks import MarkParser
from tracer.capture.pty import Clock, PtyLoop, spawn
from tracer.errors import RecordingError

ENV = {"PATH": os.environ["PATH"], "TERM": "xterm-256color", "LC_ALL": "C"}


@pytest.fixture(autouse=True, params=["c", "python"])
def loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the C steady state (``_relay``) and with the loop wholly in Python."""
    if request.param == "c" and pty._relay is None:
        pytest.skip("the C part of the PTY loop is not built (test_c_part_is_built says why)")
    monkeypatch.setenv(pty.LOOP_ENV, request.param)
    return str(request.param)


def test_c_part_is_built() -> None:
    """Where a C compiler is, the install builds the C steady state (setup.py); CI has one."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: tracer runs its PTY loop in Python")
    assert pty._relay is not None, "tracer.capture._relay is missing: reinstall with `pip install -e .`"


class Collect:
    """A sink that keeps everything (a collaborator passed in by design)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.marks: list[object] = []
        self.sizes: list[tuple[int, int]] = []

    def output(self, t: int, data: bytes) -> None:
        self.chunks.append((t, data))

    def mark(self, t: int, mark: object) -> None:
        self.marks.append(mark)

    def resize(self, t: int, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))

    @property
    def data(self) -> bytes:
        return b"".join(d for _, d in self.chunks)


def run(
    argv: list[str],
    tmp_path: Path,
    *,
    stdin: int | None = None,
    size: tuple[int, int] = (80, 24),
    marks: MarkParser | None = None,
) -> tuple[int, Collect, bytes]:
    sink = Collect()
    out_path = tmp_path / "terminal.out"
    with open(out_path, "wb") as out, open(os.devnull, "rb") as devnull:
        loop = PtyLoop(
            argv,
            ENV,
            sink=sink,
            clock=Clock(),
            marks=marks,
            stdin_fd=stdin if stdin is not None else devnull.fileno(),
            stdout_fd=out.fileno(),
            size=size,
        )
        result = loop.run()
    return result.exit_status, sink, out_path.read_bytes()


def test_exit_status_and_output(tmp_path: Path) -> None:
    status, sink, shown = run(["sh", "-c", "echo hello; exit 7"], tmp_path)
    assert status == 7
    assert sink.data == shown == b"hello\r\n"


def test_killed_child_reports_128_plus_signal(tmp_path: Path) -> None:
    status, _, _ = run(["sh", "-c", "kill -TERM $$"], tmp_path)
    assert status == 128 + signal.SIGTERM


def test_binary_output_byte_for_byte(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 64 + b"\xff\xfe not utf-8 \xc3"
    src = tmp_path / "blob.bin"
    src.write_bytes(blob)
    # stty raw: no output post-processing, so the PTY passes every byte unchanged
    status, sink, shown = run(["sh", "-c", f"stty raw -echo; cat {src}"], tmp_path)
    assert status == 0
    assert sink.data == shown == blob


def test_last_output_is_never_lost(tmp_path: Path) -> None:
    # a burst written just before exit must be drained to end-of-file before the child is reaped
    status, sink, shown = run(["sh", "-c", "seq 1 200000; exit 3"], tmp_path)
    assert status == 3
    lines = sink.data.split(b"\r\n")
    assert lines[-2] == b"200000" and len(lines) == 200001
    assert shown == sink.data


def test_timing_is_monotonic(tmp_path: Path) -> None:
    _, sink, _ = run(["sh", "-c", "echo a; sleep 0.05; echo b"], tmp_path)
    times = [t for t, _ in sink.chunks]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 40_000


def test_size_is_set_on_the_pty(tmp_path: Path) -> None:
    _, sink, _ = run(["stty", "size"], tmp_path, size=(132, 43))
    assert sink.data.strip() == b"43 132"


def test_exec_failure_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot start /nonexistent/shell"):
        spawn(["/nonexistent/shell"], ENV, cwd=None, cols=80, rows=24)


def test_input_reaches_the_child_even_when_it_does_not_read_for_a_while(tmp_path: Path) -> None:
    # 300 KiB of input for a child that sleeps first: the loop must keep draining output meanwhile
    r, w = os.pipe()
    payload = b"x" * 1000 + b"\n"

    def feed() -> None:
        with os.fdopen(w, "wb") as f:
            for _ in range(300):
                f.write(payload)

    threading.Thread(target=feed, daemon=True).start()
    status, sink, _ = run(
        ["sh", "-c", "stty -echo -icanon; sleep 0.2; head -c 300300 | wc -c | tr -d ' '"], tmp_path, stdin=r
    )
    os.close(r)
    assert status == 0
    assert sink.data.strip().endswith(str(300 * len(payload)).encode())


def test_end_of_piped_input_reaches_the_child_as_eof(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.write(w, b"one\ntwo\n")
    os.close(w)
    status, sink, _ = run(["sh", "-c", "stty -echo; wc -l | tr -d ' '"], tmp_path, stdin=r)
    os.close(r)
    assert status == 0
    assert sink.data.strip().endswith(b"2")


def test_sigterm_stops_the_recording_and_leaves_no_process(tmp_path: Path) -> None:
    sink = Collect()
    pidfile = tmp_path / "bg.pid"
    with open(tmp_path / "out", "wb") as out, open(os.devnull, "rb") as devnull:
        loop = PtyLoop(
            ["sh", "-c", f"(trap '' HUP; sleep 60) & echo $! > {pidfile}; echo ready; wait"],
            ENV,
            sink=sink,
            clock=Clock(),
            stdin_fd=devnull.fileno(),
            stdout_fd=out.fileno(),
        )
        timer = threading.Thread(target=_stop_when_ready, args=(loop, sink, pidfile), daemon=True)
        timer.start()
        result = loop.run()
    assert result.reason == "SIGTERM"
    assert not alive(int(pidfile.read_text()))


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a parent that never reaps it counts as dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_when_ready(loop: PtyLoop, sink: Collect, pidfile: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        b"ready" in sink.data and pidfile.exists() and pidfile.read_text().strip()
    ):
        time.sleep(0.01)
    loop.stop(signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGWINCH)  # wake the loop's poll (a real SIGTERM would)


def test_marks_split_across_reads_at_every_byte_are_found_and_never_shown(tmp_path: Path) -> None:
    nonce = "0123456789abcdef" * 2
    mark = b"\x1b]6973;" + nonce.encode() + b";D;0;\x07"
    script = tmp_path / "split.py"
    # one mark per split position, its two halves written 5 ms apart (two reads), text around each
    script.write_text(
        "import os, sys, time\n"
        f"mark = {mark!r}\n"
        "for k in range(1, len(mark)):\n"
        "    os.write(1, b'<%d>' % k + mark[:k])\n"
        "    time.sleep(0.005)\n"
        "    os.write(1, mark[k:] + b'.')\n"
    )
    status, sink, shown = run(["python3", str(script)], tmp_path, marks=MarkParser(nonce))
    assert status == 0
    expected = b"".join(b"<%d>." % k for k in range(1, len(mark)))
    assert shown == sink.data == expected
    assert len(sink.marks) == len(mark) - 1


def test_forged_marks_with_another_nonce_are_output(tmp_path: Path) -> None:
    forged = b"\x1b]6973;" + b"f" * 32 + b";C;ZWNobw==;\x07 and \x1b]133;A\x07"
    src = tmp_path / "forged"
    src.write_bytes(forged)
    _, sink, shown = run(["cat", str(src)], tmp_path, marks=MarkParser("0123456789abcdef" * 2))
    assert shown == sink.data == forged
    assert sink.marks == []


def test_the_c_part_keeps_no_batch_buffer_and_hands_each_batch_over_whole(loop_kind: str) -> None:
    """The master is read straight into the bytes object each ``Relay.run`` returns: the relay itself holds well
    under one batch (measured by tracemalloc, which sees its raw allocations), and every batch is a bytes object of
    its own, exactly as long as its reads."""
    if loop_kind != "c":
        pytest.skip("the C part only")
    import tracemalloc

    assert pty._relay is not None
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        relay = pty._relay.Relay(None)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 512 << 10, f"the relay holds {held} bytes between runs"
    master, slave = os.openpty()
    out_r, out_w = os.pipe()
    wake_r, wake_w = os.pipe()
    try:
        os.set_blocking(master, False)
        payload = bytes(range(256)) * 16  # 4 KiB: one PTY read or a few
        os.write(slave, payload.replace(b"\n", b"."))
        got = b""
        batches = []
        deadline = time.monotonic() + 10
        while len(got) < len(payload) and time.monotonic() < deadline:
            reason, data, reads, _t, tail, err = relay.run(master, out_w, -1, wake_r, time.monotonic_ns(), 100)
            assert reason in (pty._relay.R_TIMEOUT, pty._relay.R_REPORT, pty._relay.R_FULL), (reason, err)
            assert type(data) is bytes and (not reads or reads[-1][0] == len(data)) and tail == b""
            batches.append(data)
            got += data
        assert len(got) == len(payload)
        assert os.read(out_r, 1 << 16) == got  # every byte of the batch was shown first
        assert len({id(b) for b in batches if b}) == len([b for b in batches if b])
    finally:
        for fd in (master, slave, out_r, out_w, wake_r, wake_w):
            os.close(fd)


def _loop_with_spawn_hook(
    argv: list[str], tmp_path: Path, on_spawn: Callable[[], None], spawn_delay: float
) -> tuple[int, bytes]:
    """Run ``argv`` with a PTY loop whose input stays open and silent (a pipe: /dev/null's end of file would be
    something to decide at once); its exit status and what it showed."""
    out_path = tmp_path / "terminal.out"
    r, w = os.pipe()
    try:
        with open(out_path, "wb") as out:
            loop = PtyLoop(
                argv,
                ENV,
                sink=Collect(),
                clock=Clock(),
                stdin_fd=r,
                stdout_fd=out.fileno(),
                on_spawn=on_spawn,
                spawn_delay=spawn_delay,
            )
            result = loop.run()
    finally:
        os.close(r)
        os.close(w)
    return result.exit_status, out_path.read_bytes()


def test_with_a_spawn_delay_the_first_output_reaches_the_terminal_before_on_spawn_runs(
    tmp_path: Path, loop_kind: str
) -> None:
    # `tracer shell -c`: what on_spawn starts (the set-up's imports) must not stand between the command's first
    # output and the terminal. The child prints, then waits until on_spawn lets it go on (a FIFO): no sleeping.
    if loop_kind == "python":
        pytest.skip("the delay applies to the C part (the Python loop calls on_spawn at once)")
    fifo = tmp_path / "go"
    os.mkfifo(fifo)
    shown_at_spawn: list[bytes] = []

    def on_spawn() -> None:
        shown_at_spawn.append((tmp_path / "terminal.out").read_bytes())
        with open(fifo, "w") as f:  # (the child is waiting to read it)
            f.write("go\n")

    status, shown = _loop_with_spawn_hook(
        ["bash", "-c", f"printf first; read -t 60 line < {fifo}; printf ' then %s' \"$line\""], tmp_path, on_spawn, 60.0
    )
    assert status == 0
    assert shown_at_spawn == [b"first"]
    assert shown == b"first then go"


def test_with_a_spawn_delay_on_spawn_runs_for_a_silent_child_before_it_ends(tmp_path: Path) -> None:
    # a command that prints nothing at first: on_spawn comes after the delay, not at the end (the child waits for it)
    fifo = tmp_path / "go"
    os.mkfifo(fifo)

    def on_spawn() -> None:
        with open(fifo, "w") as f:
            f.write("go\n")

    status, shown = _loop_with_spawn_hook(
        ["bash", "-c", f"read -t 60 line < {fifo} && printf 'got %s' \"$line\""], tmp_path, on_spawn, 0.05
    )
    assert (status, shown) == (0, b"got go")
