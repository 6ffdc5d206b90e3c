"""Benchmark of ``tracer export``: peak memory (RSS) and time on a large session, for each format.

Generates a session with ``--mb`` MB of output (default 250) through :class:`tracer.store.SessionWriter`, as a
recording writes it: ``--commands`` commands printing coloured build output in 4 KiB reads, one very long
command holding a quarter of the output (a ``cat`` of a log), an edit per 20 commands, a note per 50, a final
patch. Then runs ``tracer export S --format F -o FILE`` in a fresh process per format and measures its peak RSS
(``ru_maxrss`` of the child) and wall time, and the same for ``tracer show`` and ``tracer ls``.

Compare two versions of tracer in one run with ``--tracer NAME=CMD`` (repeatable), e.g. the code of ``main``::

    git archive main src | tar -x -C /tmp/tracer-main
    python bench/bench_export.py --tracer "main=env PYTHONPATH=/tmp/tracer-main/src python -m tracer" \\
        --tracer "this=python -m tracer"

Results are printed and written to ``bench/results/export-<time>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_replay

from tracer.model import CommandEnd, CommandStart, FileChange, FinalPatch, Note, SessionEnd
from tracer.store import SessionWriter

_PROMPT = bench_replay._PROMPT


def make_session(path: Path, total_bytes: int, commands: int) -> None:
    """Write a session with ``total_bytes`` of output in ``commands`` commands to ``path``."""
    header = dataclasses.replace(bench_replay.make_session(0, 0).header, session_id=path.stem)  # the same header
    rng = random.Random(3)
    block = b"".join(
        f"\x1b[38;5;{rng.randrange(256)}m{i:06d}\x1b[0m compiling \x1b[1mmodule_{rng.randrange(10**6)}\x1b[0m "
        f"{'x' * rng.randrange(60)} 中文 {rng.random():.6f} ok\r\n".encode()
        for i in range(4999)
    )
    writer = SessionWriter(path, header)
    t = 0
    long_command = commands // 2
    per_command = (total_bytes * 3 // 4) // max(1, commands - 1)
    offset = 0
    for cid in range(1, commands + 1):
        t += 300_000
        writer.output(t, _PROMPT + f"make step{cid}\r\n".encode())
        writer.event(CommandStart(t=t, id=cid, command=f"make step{cid}", cwd="/proj"))
        left = total_bytes // 4 if cid == long_command else per_command
        while left > 0:
            n = min(4096, left)
            piece = block[offset : offset + n]
            if len(piece) < n:
                piece += block[: n - len(piece)]
            offset = (offset + n) % len(block)
            t += 400
            writer.output(t, piece)
            left -= n
        if cid % 20 == 0:
            diff = "".join(f"+line {i} of the edit\n" for i in range(200))
            writer.event(FileChange(t=t, path=f"src/m{cid}.py", op="modify", diff=diff, added=200, command_id=cid))
        if cid % 50 == 0:
            writer.event(Note(t=t, id=f"n{cid}", text=f"hypothesis {cid}: the cache is stale", tags=("hypothesis",)))
        t += 1_000
        writer.event(CommandEnd(t=t, id=cid, exit_status=1 if cid % 13 == 0 else 0, cwd="/proj"))
    writer.event(FinalPatch(t=t + 500, patch="diff --git a/x b/x\n" + "+y\n" * 10_000, files=("x",)))
    writer.close(SessionEnd(t=t + 1_000, exit_status=0))


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """``(peak RSS in MB, wall seconds, exit status)`` of running ``argv`` in a fresh process."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0 and not proc.stdout:
        print(proc.stderr, file=sys.stderr)
    peak = json.loads(proc.stdout.splitlines()[-1])["maxrss_kb"] / 1024 if proc.stdout else float("nan")
    return peak, wall, proc.returncode


# Runs the command and prints its peak RSS: ru_maxrss of the children of this small process is the command's.
_CHILD = """
import json, resource, subprocess, sys
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "status": status}))
sys.exit(status)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=250, help="MB of output in the session (default 250)")
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--tracer", action="append", default=[], metavar="NAME=CMD", help="a tracer to measure")
    parser.add_argument("--formats", default="json,jsonl,asciicast,asciicast-v3,patch,patch --from-commit")
    parser.add_argument("--no-redact", action="store_true", help="export with --no-redact (the exporters alone)")
    args = parser.parse_args()
    tracers = [t.split("=", 1) for t in args.tracer] or [["this", f"{shlex.quote(sys.executable)} -m tracer"]]

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        sessions = Path(tmp) / "sessions"
        sessions.mkdir()
        path = sessions / "2026-11-21T10-30-00-beef.tracer"
        started = time.perf_counter()
        make_session(path, args.mb * 1_000_000, args.commands)
        print(
            f"session: {args.mb} MB of output in {args.commands} commands, {path.stat().st_size / 1e6:.1f} MB on "
            f"disk, written in {time.perf_counter() - started:.1f} s"
        )
        env = {**os.environ, "TRACER_DIR": str(sessions), "TRACER_CACHE_DIR": str(Path(tmp) / "cache")}
        rows = []
        for name, command in tracers:
            base = shlex.split(command)
            extra = ["--no-redact"] if args.no_redact else []
            runs = [
                (f"export {fmt}", ["export", str(path), "-f", *fmt.split(), "-o", f"{tmp}/out", *extra])
                for fmt in args.formats.split(",")
            ]
            runs += [("show", ["show", str(path)]), ("ls", ["ls"])]
            for label, argv in runs:
                if label == "ls":
                    subprocess.run(["rm", "-rf", str(Path(tmp) / "cache")], check=True)  # no cached summary
                peak, wall, status = measure(base + argv, env)
                rows.append(
                    {
                        "tracer": name,
                        "run": label,
                        "peak_rss_mb": round(peak, 1),
                        "wall_s": round(wall, 2),
                        "status": status,
                    }
                )
                print(f"{name:<8} {label:<27} peak RSS {peak:8.1f} MB   {wall:6.2f} s   exit {status}")
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        out = results / f"export-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(
            json.dumps(
                {
                    "mb": args.mb,
                    "commands": args.commands,
                    "no_redact": args.no_redact,
                    "load": os.getloadavg(),
                    "rows": rows,
                },
                indent=2,
            )
        )
        print(f"results: {out}")


if __name__ == "__main__":
    main()
