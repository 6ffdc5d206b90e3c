"""Benchmark of ``tracer replay``: time to first screen and seek times, big session against a small one.

Generates, in memory from model events, a session with ~100 MB of output in 10,000 commands and one of
~10 kB, then measures:

- time to first screen: from creating the app to the app mounted and showing its first screen (``mounted``),
  and to the timeline filled and the screen drawn from the emulator (``ready``), in ``App.run_test``, after
  one warm-up run (imports, CSS);
- keyframe build time (background worker's job) and the number of keyframes;
- seek times: median and p95 of random seeks through the keyframe API (restore + feed forward + the
  styled lines the screen view draws).

Run: ``python bench/bench_replay.py [--mb 100] [--commands 10000] [--backend avt|pyte] [--seeks 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from tracer.model import CommandEnd, CommandStart, Event, Header, Output, Session, SessionEnd
from tracer.replay import KeyframeIndex, ReplayApp, ScreenStream, Seeker

_PROMPT = b"\x1b[1;32mdev@box\x1b[0m:\x1b[1;34m~/proj\x1b[0m$ "


def make_session(total_bytes: int, commands: int, chunk: int = 4096) -> Session:
    """A session whose commands print ``total_bytes`` of coloured output in ``chunk``-byte events."""
    header = Header(
        t=0,
        session_id="bench",
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
    events: list[Event] = []
    per_command = max(1, total_bytes // max(1, commands))
    t = 0
    rng = random.Random(3)
    lines = [
        f"\x1b[38;5;{rng.randrange(256)}m{i:06d}\x1b[0m some \x1b[1mbuild\x1b[0m output "
        f"{'x' * rng.randrange(60)} 中文 ok\r\n".encode()
        for i in range(997)
    ]
    block = b"".join(lines)
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
    return Session(path="bench.tracer", header=header, events=events)


async def first_screen(session: Session, backend: str | None) -> tuple[float, float]:
    """Seconds to the app mounted and to the app ready (timeline and screen drawn)."""
    started = time.perf_counter()
    app = ReplayApp(session, backend=backend)
    mounted = ready = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        mounted = time.perf_counter() - started
        while not app.ready:
            await pilot.pause(0.001)
        # Every queued message (the refresh with the new screen included) processed. Not pilot.pause():
        # it waits for the process to be idle, and the keyframe build keeps a core busy for seconds.
        await pilot.pause(0.001)
        ready = time.perf_counter() - started
        for worker in app.workers:
            worker.cancel()
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
    end = stream.times[-1]
    rng = random.Random(11)
    times = []
    for _ in range(count):
        t = rng.randrange(end)
        started = time.perf_counter()
        seeker.seek(t).lines()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="output of the big session, in MB")
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--backend", default=None, help="avt or pyte (default: the fastest available)")
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each first-screen measure (median)")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
