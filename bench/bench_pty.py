"""The recorder benchmark (issue 3): ``tracer shell -c`` against a bare PTY, ``script`` and ``asciinema``.

Runs the team's reference harness (``ptybench.py``, loaded from ``--ptybench``; its code is not copied here),
which starts each wrapper on a fresh PTY exactly as a terminal emulator would and drains the master as fast as
it can. Wrappers: ``bare`` (``sh -c CMD``), ``relay-floor`` (``bench/relay_floor.c``, built here: a C relay
that records nothing, the cost of the second PTY hop alone), ``script -q -c``, ``asciinema rec -c`` and
``tracer shell -q -c CMD -o OUT.tracer`` (the tracer beside this Python). In one run, interleaved, in shuffled
order within each round, it measures:

- throughput: ``seq 1 3000000``, ``base64`` of 50 MB of random data, ``cat`` of a 67 MB base64 text file; per
  workload the median of the paired ratios wall(wrapper) / wall(bare) of the same round.
  Target (issue 18): tracer's ratio ≤ relay-floor's × 1.10 (1.15× bare, issue 3's, without relay-floor).
- keystroke echo latency with ``cat`` and an interactive ``bash`` as the child (one byte written to the
  master, time until its echo comes back; microseconds). Target (issue 18): median no worse than ``script``'s
  and p99 < 1 ms (median ≤ bare + 30 µs, issue 3's, without ``script``).
- recording size of the ``seq`` workload: session file bytes / PTY output bytes, checking on the way that the
  file holds every output byte (in order) with each read's timing. Target: ≤ 1/20.

Everything runs in an empty scratch directory, so ``tracer shell``'s edit watcher has nothing to watch (the
PTY path is measured, not the workspace scan). Results go to ``bench/results/pty-<time>.json``; a Markdown
table is printed.

    python bench/bench_pty.py [--rounds 5] [--latency-samples 2000] [--ptybench PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import itertools
import json
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PTYBENCH = REPO.parent / "shared" / "bench" / "ptybench.py"
RESULTS = REPO / "bench" / "results"

#: Targets of issue 3 (each used when the wrapper that issue 18's target compares with is not in the run).
MAX_THROUGHPUT_RATIO = 1.15
MAX_LATENCY_DELTA_US = 30.0
MAX_P99_US = 1000.0
MAX_SIZE_RATIO = 1 / 20
#: Issue 18: tracer's throughput ratio against relay-floor's, measured in the same run.
MAX_OVER_FLOOR = 1.10

WORKLOADS = ("seq", "b64", "catb64")
WRAPPERS = ("bare", "relay-floor", "script", "asciinema", "tracer")


def load_harness(path: Path) -> ModuleType:
    """Import the reference harness from ``path`` as module ``ptybench``."""
    spec = importlib.util.spec_from_file_location("ptybench", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"bench_pty: cannot load the reference harness {path}: pass --ptybench PATH")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ptybench"] = module
    spec.loader.exec_module(module)
    return module


def tracer_template(program: str | None) -> str:
    """A wrapper template for ``tracer shell``: ``program`` (a command line), by default the ``tracer`` script
    beside this Python, else ``python -m tracer``."""
    if program is None:
        exe = Path(sys.executable).parent / "tracer"
        program = shlex.quote(str(exe)) if exe.exists() else f"{shlex.quote(sys.executable)} -m tracer"
    return program + " shell -q -c {cmd} -o {out}.tracer"


def build_relay_floor(into: Path) -> str | None:
    """Compile ``bench/relay_floor.c`` (a C relay that records nothing) into ``into``; its path, or ``None``
    without a C compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    exe = into / "relay_floor"
    src = REPO / "bench" / "relay_floor.c"
    if subprocess.run([cc, "-O2", "-o", str(exe), str(src), "-lutil"], check=False).returncode != 0:
        return None
    return str(exe)


def _records(pb: ModuleType, wrapper: str) -> bool:
    """True for a wrapper that writes a tracer session (its template has ``{out}.tracer``)."""
    return "{out}.tracer" in pb.WRAPPERS.get(wrapper, wrapper)


def _tracer_out(pb: ModuleType, tag: str) -> Path:
    return Path(pb.OUTDIR) / (tag + ".tracer")


def _clear(pb: ModuleType, wrapper: str, tag: str) -> None:
    """``tracer shell -o`` refuses to overwrite: remove the last round's file first (outside the timing)."""
    if _records(pb, wrapper):
        _tracer_out(pb, tag).unlink(missing_ok=True)


def check_recording(path: Path, expected: int) -> dict[str, Any]:
    """Read a session back: its size, output bytes and reads kept. ``complete``: every PTY byte is there."""
    from tracer.model import Output
    from tracer.store import read_session

    session = read_session(path)
    outputs = session.of_type(Output)
    total = sum(len(o.data) for o in outputs)
    reads = sum(len(o.reads) if o.reads else 1 for o in outputs)
    size = path.stat().st_size
    return {
        "file_bytes": size,
        "output_bytes": total,
        "pty_bytes": expected,
        "output_events": len(outputs),
        "reads_kept": reads,
        "complete": total == expected and session.problem is None and not session.interrupted,
        "size_ratio": size / expected if expected else None,
    }


#: How long one run may take before the benchmark gives up (seconds; ``--run-timeout``).
RUN_TIMEOUT_S = 600.0


@contextlib.contextmanager
def deadline(what: str) -> Iterator[None]:
    """Ends the benchmark with a message naming ``what`` when the run inside takes over :data:`RUN_TIMEOUT_S`: a
    workload that waits for input (``cat`` alone reads the PTY for ever) or a wrapper that hangs would hold it
    for ever. Its processes get SIGHUP when the benchmark's end closes their PTY."""

    def expired(signum: int, frame: Any) -> None:
        raise SystemExit(
            f"bench_pty: {what} ran for over {RUN_TIMEOUT_S:g} s and was given up: a workload that reads its "
            "input (`cat` alone) never ends; see --workloads, or raise --run-timeout"
        )

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, RUN_TIMEOUT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_throughput(pb: ModuleType, wrappers: list[str], workloads: list[str], rounds: int) -> dict[str, Any]:
    """Interleaved rounds; returns ``{"runs": {wrapper: {workload: [run]}}, "recordings": [...]}``."""
    if "catb64" in workloads:
        pb.ensure_b64_file()
    for w in wrappers:  # warm-up: page cache, Python imports
        _clear(pb, w, "warm")
        pb.run_throughput_once(w, "seq 1 1000", tag="warm")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {w: {wl: [] for wl in workloads} for w in wrappers}
    recordings: list[dict[str, Any]] = []
    for r, wl, w in interleaved(wrappers, workloads, rounds):
        tag = f"tp-{w}-{wl}"
        _clear(pb, w, tag)
        with deadline(f"the workload {wl!r} with {w}"):
            res = pb.run_throughput_once(w, pb.WORKLOADS.get(wl, wl), tag=tag)
        runs[w][wl].append(res)
        line = f"round {r} {wl:6s} {w:9s} {res['bytes']:>10d} B {res['wall_s']:7.3f} s"
        line += f" exit {res['exit']}"
        if _records(pb, w):
            rec = check_recording(_tracer_out(pb, tag), res["bytes"])
            rec.update(workload=wl, round=r, wrapper=w)
            recordings.append(rec)
            ratio = 1 / rec["size_ratio"]
            line += f"  file {rec['file_bytes']} B ({ratio:.1f}x) complete={rec['complete']}"
        print(line, flush=True)
    return {"runs": runs, "recordings": recordings}


def interleaved(wrappers: list[str], workloads: list[str], rounds: int) -> Iterator[tuple[int, str, str]]:
    """``(round, workload, wrapper)`` in the order to run them: every round runs every workload with every
    wrapper, the wrappers in a new random order each time (so that the machine's drift is shared out)."""
    for r in range(rounds):
        for wl in workloads:
            order = list(wrappers)
            random.shuffle(order)
            for w in order:
                yield r, wl, w


def summarize_throughput(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Per workload and wrapper: median wall time, and the median/min/max of the paired ratios to bare."""
    rows = []
    bare = runs["bare"]
    for w, per in runs.items():
        for wl, xs in per.items():
            ratios = [x["wall_s"] / b["wall_s"] for x, b in zip(xs, bare[wl], strict=True)]
            rows.append(
                {
                    "workload": wl,
                    "wrapper": w,
                    "n": len(xs),
                    "bytes": min(x["bytes"] for x in xs),
                    "wall_med_s": statistics.median(x["wall_s"] for x in xs),
                    "mb_s_med": statistics.median(x["mb_s"] for x in xs),
                    "ratio_med": statistics.median(ratios),
                    "ratio_min": min(ratios),
                    "ratio_max": max(ratios),
                    "wrapper_cpu_med_s": statistics.median(x["child_cpu_s"] for x in xs),
                    "all_exit_0": all(x["exit"] == 0 for x in xs),
                }
            )
    return rows


def summarize_size(recordings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per recording wrapper: median size and ratio of the ``seq`` recordings; whether all were whole."""
    out = {}
    for w in dict.fromkeys(r["wrapper"] for r in recordings):
        seq = [r for r in recordings if r["workload"] == "seq" and r["wrapper"] == w]
        if seq:
            out[w] = {
                "wrapper": w,
                "n": len(seq),
                "pty_bytes": seq[0]["pty_bytes"],
                "file_bytes_med": statistics.median(r["file_bytes"] for r in seq),
                "size_ratio_med": statistics.median(r["size_ratio"] for r in seq),
                "reads_kept_med": statistics.median(r["reads_kept"] for r in seq),
                "all_complete": all(r["complete"] for r in recordings if r["wrapper"] == w),
            }
    return out


#: A pause between two reads of the master longer than this is a stall (seconds).
STALL_S = 0.001


def phases_once(pb: ModuleType, wrapper: str, cmd: str, tag: str) -> dict[str, float]:
    """One run with the time of each read of the master kept: where the wall time goes (seconds).

    ``first``: start to the first byte (the wrapper's start-up); ``stream``: first to last byte; ``after``: last
    byte to the wrapper's exit; ``stalls``/``stalled``: pauses between reads longer than :data:`STALL_S`, their
    number and total. The harness's own drain keeps the bytes, which would slow it: this one keeps times.
    """
    argv = pb.wrapper_argv(wrapper, cmd, tag)
    buf = bytearray(1 << 20)
    times: list[float] = []
    clock = time.perf_counter
    t0 = clock()
    pid, master = pb.spawn(argv)
    while True:
        try:
            n = os.readv(master, [buf])
        except OSError:  # EIO: every slave fd is closed
            break
        if n == 0:
            break
        times.append(clock())
    os.waitpid(pid, 0)
    t1 = clock()
    os.close(master)
    gaps = [b - a for a, b in itertools.pairwise(times) if b - a > STALL_S]
    return {
        "first": times[0] - t0,
        "stream": times[-1] - times[0],
        "after": t1 - times[-1],
        "stalls": len(gaps),
        "stalled": sum(gaps),
    }


def run_phases(pb: ModuleType, wrappers: list[str], workloads: list[str], rounds: int) -> list[dict[str, Any]]:
    """Per workload and wrapper, the medians of :func:`phases_once` over interleaved rounds."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r, wl, w in interleaved(wrappers, workloads, rounds):
        tag = f"ph-{w}-{wl}"
        _clear(pb, w, tag)
        with deadline(f"the workload {wl!r} with {w} (phases)"):
            x = phases_once(pb, w, pb.WORKLOADS.get(wl, wl), tag)
        runs.setdefault((wl, w), []).append(x)
        print(
            f"round {r} {wl:6s} {w:9s} first {x['first'] * 1e3:6.1f} ms, stream {x['stream'] * 1e3:7.1f} "
            f"ms, after {x['after'] * 1e3:5.1f} ms, {x['stalls']} stalls {x['stalled'] * 1e3:5.1f} ms",
            flush=True,
        )
    return [
        {"workload": wl, "wrapper": w, **{k: statistics.median(x[k] for x in xs) for k in xs[0]}}
        for (wl, w), xs in runs.items()
    ]


def run_latency(
    pb: ModuleType, wrappers: list[str], children: list[str], samples: int, rounds: int, gap_ms: float
) -> dict[str, Any]:
    """Keystroke echo latency per child and wrapper (µs), interleaved rounds of ``samples // rounds`` each."""
    per_round = max(1, samples // rounds)
    out: dict[str, Any] = {}
    for child in children:
        lat: dict[str, list[float]] = {w: [] for w in wrappers}
        round_meds: dict[str, list[float]] = {w: [] for w in wrappers}
        for r in range(rounds):
            order = list(wrappers)
            random.shuffle(order)
            for w in order:
                tag = f"lat-{w}-{child}"
                _clear(pb, w, tag)
                xs = pb.latency_session(w, child, per_round, gap_ms / 1000.0)
                lat[w].extend(xs)
                round_meds[w].append(statistics.median(xs))
                print(
                    f"round {r} {child:4s} {w:9s} n={len(xs)} median {statistics.median(xs):7.1f} us "
                    f"p99 {pb.pct(xs, 99):7.1f} us",
                    flush=True,
                )
        out[child] = {"samples": lat, "round_medians": round_meds}
    return out


def summarize_latency(lat: dict[str, Any], pct: Any) -> list[dict[str, Any]]:
    """Per child and wrapper: median, p99 (µs) and their differences to bare (pooled, and per round)."""
    rows = []
    for child, d in lat.items():
        samples, meds = d["samples"], d["round_medians"]
        bare_med, bare_p99 = statistics.median(samples["bare"]), pct(samples["bare"], 99)
        for w, xs in samples.items():
            paired = [m - b for m, b in zip(meds[w], meds["bare"], strict=True)]
            rows.append(
                {
                    "child": child,
                    "wrapper": w,
                    "n": len(xs),
                    "median_us": statistics.median(xs),
                    "p90_us": pct(xs, 90),
                    "p99_us": pct(xs, 99),
                    "max_us": max(xs),
                    "median_delta_us": statistics.median(xs) - bare_med,
                    "p99_delta_us": pct(xs, 99) - bare_p99,
                    "round_median_delta_med_us": statistics.median(paired),
                }
            )
    return rows


def markdown(
    tp: list[dict[str, Any]],
    lat: list[dict[str, Any]],
    sizes: dict[str, dict[str, Any]],
    phases: list[dict[str, Any]] | None = None,
) -> str:
    """The Markdown tables of one run."""
    lines = []
    if phases:
        lines += [
            f"Where the time goes (medians; a stall is a pause over {STALL_S * 1e3:.0f} ms between two reads)",
            "",
            "| workload | wrapper | to the first byte | streaming | after the last byte | stalls |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for r in sorted(phases, key=lambda r: (r["workload"], r["stream"])):
            lines.append(
                f"| {r['workload']} | {r['wrapper']} | {r['first'] * 1e3:.1f} ms | {r['stream'] * 1e3:.0f} ms "
                f"| {r['after'] * 1e3:.1f} ms | {r['stalls']:.0f}, {r['stalled'] * 1e3:.0f} ms |"
            )
        lines.append("")
    if tp:
        workloads = list(dict.fromkeys(r["workload"] for r in tp))
        wrappers = list(dict.fromkeys(r["wrapper"] for r in tp))
        by = {(r["workload"], r["wrapper"]): r for r in tp}
        lines += [
            "Throughput: median of paired wall-time ratios to bare (min–max), bare's median MB/s",
            "",
            "| workload | bare MB/s | " + " | ".join(w for w in wrappers if w != "bare") + " |",
            "|---|---:|" + "---:|" * (len(wrappers) - 1),
        ]
        for wl in workloads:
            cells = [
                f"{by[wl, w]['ratio_med']:.2f}× ({by[wl, w]['ratio_min']:.2f}–{by[wl, w]['ratio_max']:.2f})"
                for w in wrappers
                if w != "bare"
            ]
            lines.append(
                f"| {wl} ({by[wl, 'bare']['bytes'] / 1e6:.1f} MB) | {by[wl, 'bare']['mb_s_med']:.0f} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    if lat:
        lines += [
            "Keystroke echo latency (µs): median (Δ bare), p99 (Δ bare)",
            "",
            "| child | wrapper | n | median | Δ median | p99 | Δ p99 | max |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in lat:
            lines.append(
                f"| {r['child']} | {r['wrapper']} | {r['n']} | {r['median_us']:.1f} "
                f"| {r['median_delta_us']:+.1f} | {r['p99_us']:.1f} | {r['p99_delta_us']:+.1f} "
                f"| {r['max_us']:.0f} |"
            )
        lines.append("")
    for size in sizes.values():
        lines += [
            f"Recording size, seq, {size['wrapper']}: {size['file_bytes_med']:.0f} B "
            f"for {size['pty_bytes']} B "
            f"of output = 1/{1 / size['size_ratio_med']:.1f} (target ≤ 1/20); every output byte kept, each "
            f"read with its time, in all recordings of every workload: {size['all_complete']} (reads per "
            f"seq recording: {size['reads_kept_med']:.0f})",
            "",
        ]
    return "\n".join(lines)


def verdicts(tp: list[dict[str, Any]], lat: list[dict[str, Any]], size: dict[str, Any] | None) -> list[str]:
    """One line per target for tracer: PASS/FAIL with the figure."""
    out = []
    floor = {r["workload"]: r["ratio_med"] for r in tp if r["wrapper"] == "relay-floor"}
    for r in tp:
        if r["wrapper"] != "tracer":
            continue
        if r["workload"] in floor:
            limit = floor[r["workload"]] * MAX_OVER_FLOOR
            ok = r["ratio_med"] <= limit
            out.append(
                f"{'PASS' if ok else 'FAIL'} throughput {r['workload']}: {r['ratio_med']:.3f}× ≤ relay-floor "
                f"{floor[r['workload']]:.3f}× × {MAX_OVER_FLOOR:.2f} = {limit:.3f}×"
            )
        else:
            ok = r["ratio_med"] <= MAX_THROUGHPUT_RATIO
            out.append(f"{'PASS' if ok else 'FAIL'} throughput {r['workload']}: {r['ratio_med']:.3f}× ≤ 1.15×")
    script = {r["child"]: r["median_delta_us"] for r in lat if r["wrapper"] == "script"}
    for r in lat:
        if r["wrapper"] != "tracer":
            continue
        limit, against = (script[r["child"]], "script's ") if r["child"] in script else (MAX_LATENCY_DELTA_US, "")
        ok = r["median_delta_us"] <= limit and r["p99_us"] < MAX_P99_US
        out.append(
            f"{'PASS' if ok else 'FAIL'} latency {r['child']}: median {r['median_delta_us']:+.1f} µs "
            f"(≤ {against}{limit:+.1f}), p99 {r['p99_us']:.0f} µs (< 1000)"
        )
    if size:
        ok = size["size_ratio_med"] <= MAX_SIZE_RATIO and size["all_complete"]
        out.append(f"{'PASS' if ok else 'FAIL'} size seq: 1/{1 / size['size_ratio_med']:.1f} (≤ 1/20), complete")
    return out


def main() -> None:
    global RUN_TIMEOUT_S
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptybench", type=Path, default=DEFAULT_PTYBENCH, help="the reference harness ptybench.py")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (throughput and latency)")
    ap.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="throughput workloads: names (seq,b64,catb64) or command lines (`cat` alone reads the PTY for ever)",
    )
    ap.add_argument(
        "--run-timeout", type=float, default=RUN_TIMEOUT_S, help="seconds one run may take before the benchmark ends"
    )
    ap.add_argument("--wrappers", default=",".join(WRAPPERS), help="wrappers to compare (bare is always run)")
    ap.add_argument("--tracer", metavar="CMD", help="how to start tracer (default: the one beside this Python)")
    ap.add_argument(
        "--wrapper",
        dest="extra",
        action="append",
        default=[],
        metavar="NAME=TEMPLATE",
        help="one more wrapper ({cmd}, {out} placeholders; {out}.tracer marks a tracer), compared too",
    )
    ap.add_argument("--children", default="cat,bash", help="latency children")
    ap.add_argument("--latency-samples", type=int, default=2000, help="keystrokes per child and wrapper")
    ap.add_argument("--gap-ms", type=float, default=1.0, help="idle time between keystrokes (ms)")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: throughput,phases,latency")
    ap.add_argument(
        "--phases-workloads", default="catb64", help="workloads of the phases part (start-up, streaming, stalls)"
    )
    ap.add_argument("--name", help="result file name (default pty-<time>)")
    ap.add_argument("--seed", type=int, default=None, help="random seed of the interleaving order")
    args = ap.parse_args()

    random.seed(args.seed)
    RUN_TIMEOUT_S = args.run_timeout
    pb = load_harness(args.ptybench.resolve())
    pb.WRAPPERS["tracer"] = tracer_template(args.tracer)
    wrappers = ["bare"] + [w for w in args.wrappers.split(",") if w and w != "bare"]
    for spec in args.extra:
        name, _, template = spec.partition("=")
        pb.WRAPPERS[name] = template
        if name not in wrappers:
            wrappers.append(name)
    skip = set(args.skip.split(","))
    started = dt.datetime.now().astimezone()
    scratch = tempfile.mkdtemp(prefix="bench-pty-")
    tools = Path(tempfile.mkdtemp(prefix="bench-pty-tools-"))
    if "relay-floor" in wrappers:
        floor = build_relay_floor(tools)
        if floor is None:
            print("bench_pty: no C compiler: the relay-floor wrapper is left out", file=sys.stderr)
            wrappers.remove("relay-floor")
        else:
            pb.WRAPPERS["relay-floor"] = shlex.quote(floor) + " {cmd}"
    os.chdir(scratch)  # tracer shell watches the current directory for edits: keep it empty
    # tracer's bytecode, compiled once: with PYTHONDONTWRITEBYTECODE set (as on some CI machines) every run
    # would compile its changed modules again, which no installed tracer does
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "tracer")], check=False)

    result: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "argv": sys.argv,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "loadavg_before": os.getloadavg(),
        },
        "wrappers": {w: pb.WRAPPERS[w] for w in wrappers},
    }
    tp_rows: list[dict[str, Any]] = []
    lat_rows: list[dict[str, Any]] = []
    size: dict[str, Any] | None = None
    t0 = time.monotonic()
    if "throughput" not in skip:
        tp = run_throughput(pb, wrappers, args.workloads.split(","), args.rounds)
        tp_rows = summarize_throughput(tp["runs"])
        result["throughput"] = {"summary": tp_rows, **tp}
        sizes = summarize_size(tp["recordings"])
        result["size"] = sizes
        size = sizes.get("tracer")
    phase_rows: list[dict[str, Any]] = []
    if "phases" not in skip:
        workloads = args.phases_workloads.split(",")
        if "catb64" in workloads:
            pb.ensure_b64_file()
        phase_rows = run_phases(pb, wrappers, workloads, args.rounds)
        result["phases"] = phase_rows
    if "latency" not in skip:
        lat = run_latency(pb, wrappers, args.children.split(","), args.latency_samples, args.rounds, args.gap_ms)
        lat_rows = summarize_latency(lat, pb.pct)
        result["latency"] = {"summary": lat_rows, "gap_ms": args.gap_ms, **lat}
    os.chdir(REPO)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(tools, ignore_errors=True)
    result["machine"]["loadavg_after"] = os.getloadavg()
    result["duration_s"] = time.monotonic() - t0
    result["verdicts"] = verdicts(tp_rows, lat_rows, size)

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ((args.name or "pty-" + started.strftime("%Y%m%d-%H%M%S")) + ".json")
    path.write_text(json.dumps(result, indent=1))
    load = result["machine"]
    print()
    print(
        f"{started:%Y-%m-%d %H:%M}, {load['cpus']} CPUs, load {load['loadavg_before'][0]:.2f} → "
        f"{load['loadavg_after'][0]:.2f}, {args.rounds} rounds"
    )
    print()
    print(markdown(tp_rows, lat_rows, result.get("size", {}), phase_rows))
    print("\n".join(result["verdicts"]))
    print(f"\n[saved {path}]")


if __name__ == "__main__":
    main()
