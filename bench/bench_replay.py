"""Benchmark of ``tracer replay``: time to first screen, seeks, and a 250 MB session driven key by key.

Three parts:

- ``first``: sessions generated in memory from model events, ~100 MB of output in 10,000 commands and one of
  ~10 kB: time to the app mounted and to its first screen ready (the session indexed, the screen drawn), in
  ``App.run_test``, after one warm-up run; the keyframe build and random seeks (restore + feed forward + the
  styled lines the screen view draws).
- ``big``: a session *file* of ``--big-mb`` MB (default 250) written with tracer's own writer: a few commands,
  then one ``cat`` of the whole output (coloured log lines, 4 KiB reads). A fresh process (``--drive``) opens it
  as ``tracer replay`` does and presses keys as a person would: End, ← (the big command), 2 (its output),
  ctrl+end (its last line), / and its last line. For each key: the time until the app has handled it and drawn
  the result (a key is *answered*), and for the search the time until the hit is shown. Resident memory is
  sampled every 10 ms throughout (the maximum is reported).

Run: ``python bench/bench_replay.py [--parts first,big] [--mb 100] [--big-mb 250] [--backend avt|pyte]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracer.model import CommandEnd, CommandStart, Event, Header, Output, Session, SessionEnd
from tracer.replay import KeyframeIndex, ReplayApp, ScreenStream, Seeker

_PROMPT = b"\x1b[1;32mdev@box\x1b[0m:\x1b[1;34m~/proj\x1b[0m$ "


def _header(session_id: str) -> Header:
    return Header(
        t=0,
        session_id=session_id,
        started_at="2026-11-21T10:30:00.000000Z",
        tracer_version="0.1.0",
        shell="/bin/bash",
        shell_kind="bash",
        mode="interactive",
        term="xterm-256color",
        cols=120,
        rows=40,
        cwd="/proj",
        workspace="/proj",
    )


def _log_lines(n: int = 997) -> list[str]:
    rng = random.Random(3)
    return [
        f"\x1b[38;5;{rng.randrange(256)}m{{:08d}}\x1b[0m some \x1b[1mbuild\x1b[0m output "
        f"{'x' * rng.randrange(60)} 中文 ok\r\n"
        for _ in range(n)
    ]


def make_session(total_bytes: int, commands: int, chunk: int = 4096) -> Session:
    """A session whose commands print ``total_bytes`` of coloured output in ``chunk``-byte events."""
    events: list[Event] = []
    per_command = max(1, total_bytes // max(1, commands))
    t = 0
    block = "".join(line.format(i) for i, line in enumerate(_log_lines())).encode()
    for cid in range(1, commands + 1):
        t += 300_000
        events.append(Output(t=t, data=_PROMPT + f"make step{cid}\r\n".encode()))
        events.append(CommandStart(t=t, id=cid, command=f"make step{cid}", cwd="/proj"))
        left = per_command
        offset = (cid * 7919) % len(block)
        while left > 0:
            n = min(chunk, left)
            piece = (block[offset:] + block)[:n]
            offset = (offset + n) % len(block)
            t += 2_000
            events.append(Output(t=t, data=piece))
            left -= n
        t += 1_000
        events.append(CommandEnd(t=t, id=cid, exit_status=1 if cid % 13 == 0 else 0))
    events.append(SessionEnd(t=t + 1_000, exit_status=0))
    return Session(path="bench.tracer", header=_header("bench"), events=events)


def write_big_session(path: Path, total_bytes: int) -> str:
    """Write a session file with two small commands and one ``cat`` of ``total_bytes`` of coloured log lines
    (4 KiB reads at ~100 MB/s). Returns the big command's last line, as plain text."""
    from tracer.store import SessionWriter

    writer = SessionWriter(path, _header("bench-big"))
    t = 100_000
    writer.output(t, _PROMPT)
    for cid, (command, out) in enumerate([("ls", b"a  b  c\r\n"), ("git status", b"nothing to commit\r\n")], 1):
        t += 1_000_000
        writer.output(t, command.encode() + b"\r\n")
        writer.event(CommandStart(t=t, id=cid, command=command, cwd="/proj"))
        writer.output(t + 10_000, out)
        t += 11_000
        writer.event(CommandEnd(t=t, id=cid, exit_status=0))
        writer.output(t, _PROMPT)
    t += 1_000_000
    writer.output(t, b"cat build.log\r\n")
    writer.event(CommandStart(t=t, id=3, command="cat build.log", cwd="/proj"))
    lines = _log_lines()
    written = i = 0
    batch: list[bytes] = []
    size = 0
    while written < total_bytes:
        line = lines[i % len(lines)].format(i).encode()
        i += 1
        batch.append(line)
        size += len(line)
        written += len(line)
        if size >= 4096 or written >= total_bytes:
            t += 40
            writer.output(t, b"".join(batch))
            batch, size = [], 0
    t += 1_000
    writer.event(CommandEnd(t=t, id=3, exit_status=0))
    writer.output(t, _PROMPT)
    writer.close(SessionEnd(t=t + 500_000, exit_status=0))
    last = lines[(i - 1) % len(lines)].format(i - 1)
    from tracer.replay.search import strip_ansi

    return strip_ansi(last).strip()


# --- first screen and seeks ---------------------------------------------------------------------------------


async def first_screen(session: Session, backend: str | None) -> tuple[float, float]:
    """Seconds to the app mounted and to the app ready (session indexed, timeline and screen drawn)."""
    started = time.perf_counter()
    app = ReplayApp(session, backend=backend)
    mounted = ready = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        mounted = time.perf_counter() - started
        while not app.ready:
            await asyncio.sleep(0.001)
        await _refreshed(app)
        ready = time.perf_counter() - started
        for worker in app.workers:
            worker.cancel()
        del pilot
    return mounted, ready


def seeks(session: Session, backend: str | None, count: int) -> dict[str, float]:
    """Keyframe build time and random seek times (milliseconds)."""
    started = time.perf_counter()
    stream = ScreenStream.from_events(session.header, session.events)
    stream_s = time.perf_counter() - started
    index = KeyframeIndex(stream, backend)
    started = time.perf_counter()
    index.build()
    build_s = time.perf_counter() - started
    seeker = Seeker(index)
    rng = random.Random(11)
    times = []
    for _ in range(count):
        target = rng.randrange(len(stream))
        started = time.perf_counter()
        seeker.seek(target).lines()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "stream_s": stream_s,
        "build_s": build_s,
        "keyframes": len(index),
        "median_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "max_ms": times[-1],
        "mb": stream.total_bytes / 1e6,
    }


# --- a big session, key by key ------------------------------------------------------------------------------


class _Memory:
    """Samples this process's resident memory every 10 ms in a thread; ``peak`` in bytes."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def now(self) -> int:
        rss = int(self._process.memory_info().rss)
        self.peak = max(self.peak, rss)
        return rss

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


async def _refreshed(app: ReplayApp) -> None:
    """Wait until the app has drawn what its handlers changed (the next refresh has run)."""
    done = asyncio.Event()
    app.call_after_refresh(done.set)
    await done.wait()


async def _key(app: ReplayApp, key: str, answered: Callable[[], bool], timeout: float = 60) -> float:
    """Press ``key``; seconds until ``answered()`` holds and the screen is drawn."""
    started = time.perf_counter()
    app.simulate_key(key)
    while not answered():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"key {key} not answered in {timeout} s")
        await asyncio.sleep(0.0005)
    await _refreshed(app)
    return time.perf_counter() - started


async def drive(path: Path, last_line: str) -> dict[str, Any]:
    """Open the session at ``path`` as ``tracer replay`` does and press the keys; times in seconds, memory in
    bytes."""
    from tracer.app.replaying import build_app
    from tracer.replay.widgets import CommandView, ScreenView, SearchBar

    memory = _Memory()
    out: dict[str, Any] = {"rss_start": memory.now()}
    started = time.perf_counter()
    app = build_app(path)
    async with app.run_test(size=(120, 40)):
        out["open_mounted_s"] = time.perf_counter() - started
        while not app.ready:
            await asyncio.sleep(0.001)
        await _refreshed(app)
        out["open_ready_s"] = time.perf_counter() - started
        out["rss_ready"] = memory.now()
        assert app.index is not None
        end = len(app.index.stream)
        screen = app.query_one(ScreenView)
        out["end_s"] = await _key(app, "end", lambda: screen.count == end)
        out["end_approximate"] = screen.approximate
        big = app.commands[-1]
        output = app.query_one(CommandView)
        out["left_s"] = await _key(app, "left", lambda: output.command_id == big.id)
        out["output_view_s"] = await _key(app, "2", lambda: app.query_one("#views").active == "tab-output")  # type: ignore[attr-defined]
        output.focus()
        await _refreshed(app)
        out["last_line_s"] = await _key(app, "ctrl+end", lambda: output.scroll_y >= output.max_scroll_y - 1)
        out["output_lines"] = output.line_count
        out["rss_output"] = memory.now()
        bar = app.query_one(SearchBar)
        out["slash_s"] = await _key(app, "slash", lambda: bar.has_focus)
        bar.value = last_line
        searched = time.perf_counter()
        out["enter_s"] = await _key(app, "enter", lambda: bar.searched == last_line)
        while bar.hit_index is None:
            await asyncio.sleep(0.002)
            if time.perf_counter() - searched > 300:
                raise TimeoutError("no hit in 300 s")
        await _refreshed(app)
        out["search_hit_s"] = time.perf_counter() - searched
        hit = bar.hits[bar.hit_index]
        out["hit_line_ok"] = last_line in hit.line
        out["rss_search"] = memory.now()
        keyframes = app.keyframes
        assert keyframes is not None
        while not keyframes.complete:
            await asyncio.sleep(0.05)
        out["keyframes_s"] = time.perf_counter() - started
        out["keyframes"] = len(keyframes)
        out["home_s"] = await _key(app, "home", lambda: screen.count == 0)
        out["end_again_s"] = await _key(app, "end", lambda: screen.count == end and not screen.approximate)
        out["rss_end"] = memory.now()
    memory.stop()
    out["rss_peak"] = memory.peak
    return out


def big_session(total_mb: float, keep: Path | None) -> dict[str, Any]:
    """Write the big session (or reuse ``keep``) and drive it in a fresh process."""
    directory = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    path = keep if keep is not None else directory / "big.tracer"
    meta = path.with_suffix(".last")
    if keep is not None and path.exists() and meta.exists():
        last = meta.read_text()
    else:
        started = time.perf_counter()
        last = write_big_session(path, int(total_mb * 1e6))
        meta.write_text(last)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB on disk) in {time.perf_counter() - started:.1f} s")
    env = dict(os.environ, TRACER_CACHE_DIR=str(directory / "cache"))  # no keyframes cached: a first open
    done = subprocess.run(
        [sys.executable, __file__, "--drive", str(path), "--last-line", last],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the drive failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["file_mb"] = path.stat().st_size / 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="first,big", help="first, big, or both (comma-separated)")
    parser.add_argument("--mb", type=float, default=100.0, help="output of the big in-memory session, in MB")
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--big-mb", type=float, default=250.0, help="output of the session file driven, in MB")
    parser.add_argument("--keep", type=Path, help="write the big session file here (and reuse it next time)")
    parser.add_argument("--backend", default=None, help="avt or pyte (default: the fastest available)")
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each first-screen measure (median)")
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--last-line", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.drive is not None:
        print(json.dumps(asyncio.run(drive(args.drive, args.last_line))))
        return
    parts = set(args.parts.split(","))
    if "first" in parts:
        started = time.perf_counter()
        big = make_session(int(args.mb * 1e6), args.commands)
        print(f"generated the big session in {time.perf_counter() - started:.1f} s")
        small = make_session(10_000, 10, chunk=500)
        asyncio.run(first_screen(small, args.backend))  # warm-up: imports, CSS parsing
        results: dict[str, list[tuple[float, float]]] = {"small": [], "big": []}
        for _ in range(args.repeat):  # interleaved, so that a busy moment of the machine hits both alike
            results["small"].append(asyncio.run(first_screen(small, args.backend)))
            results["big"].append(asyncio.run(first_screen(big, args.backend)))
        ready_of = {}
        for key, name in (("small", "10 kB"), ("big", f"{args.mb:g} MB / {args.commands} commands")):
            mounted = statistics.median(m for m, _ in results[key])
            ready_of[key] = statistics.median(r for _, r in results[key])
            print(
                f"{name:>28}: mounted {mounted * 1000:7.0f} ms   "
                f"first screen ready {ready_of[key] * 1000:7.0f} ms   (median of {args.repeat})"
            )
        print(f"{'ratio big/small':>28}: {ready_of['big'] / ready_of['small']:.2f}")
        for name, session in (("10 kB", small), (f"{args.mb:g} MB", big)):
            r = seeks(session, args.backend, args.seeks)
            print(
                f"{name:>28}: {r['mb']:.1f} MB, stream {r['stream_s']:.2f} s, "
                f"keyframes {r['keyframes']} built in {r['build_s']:.1f} s; "
                f"seek median {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms"
            )
    if "big" in parts:
        r = big_session(args.big_mb, args.keep)
        mib = 1 << 20
        print(f"\nsession file of {args.big_mb:g} MB of output ({r['file_mb']:.1f} MB on disk), first open:")
        print(f"  mounted {r['open_mounted_s'] * 1000:.0f} ms, indexed and drawn {r['open_ready_s']:.2f} s")
        for key, label in (
            ("end_s", "End (keyframes still building: approximate screen)"),
            ("left_s", "← selects the big command"),
            ("output_view_s", "2 shows its output"),
            ("last_line_s", f"ctrl+end: its last line ({r['output_lines']:,} lines)"),
            ("slash_s", "/ opens the search"),
            ("enter_s", "enter starts it"),
            ("home_s", "Home (keyframes built)"),
            ("end_again_s", "End (keyframes built: exact screen)"),
        ):
            print(f"  {label:<55} answered in {r[key] * 1000:7.1f} ms")
        print(f"  search: its last line found and shown after {r['search_hit_s']:.2f} s (hit ok: {r['hit_line_ok']})")
        print(f"  keyframes: {r['keyframes']} built {r['keyframes_s']:.1f} s after the open")
        print(
            f"  resident memory: {r['rss_ready'] / mib:.0f} MiB indexed, {r['rss_output'] / mib:.0f} MiB with the "
            f"output shown, {r['rss_search'] / mib:.0f} MiB after the search, peak {r['rss_peak'] / mib:.0f} MiB"
        )


if __name__ == "__main__":
    main()
