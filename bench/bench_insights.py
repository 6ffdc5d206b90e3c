"""Benchmark of `tracer insights` (issue 16): first indexing, then `tracer insights` with a warm index.

A handful of sessions are recorded for real (an interactive bash session that fails a test, edits and passes it;
one that mistypes, imports a missing module and ends on a failing test; `tracer shell -c` sessions with a merge
conflict, a git lock, a permission error and 1.2 MB of output), then copied with new ids, UUIDs, start times
(spread over the last 60 days) and repositories (25) until the sessions directory holds each size asked for.
Every copy is a whole session file: the index reads them all.

For each size:

- first indexing: `Index.update` from no index, in a child process: sessions per second and peak memory (the
  child's maximum resident set size);
- one new session: the incremental update that follows;
- `tracer insights --since 30d` with the warm index, as a user runs it (a new process each time): median wall
  and CPU time of ``--runs`` runs, beside the floor (`python -c "import duckdb"`, `tracer --version`), and where the
  time goes (imports, the update's scan of the directory, the queries) measured in one process.

    python bench/bench_insights.py                        # 1,000 / 10,000 / 100,000 sessions: ~25 minutes
    python bench/bench_insights.py --sizes 1000 --runs 3

Results: bench/results/insights-NAME.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.insights.corpus import PYTEST, record_sessions, restamp, run_command  # noqa: E402 - the tests' recorder


def record_templates(base: Path) -> list[Path]:
    """Record the real sessions every copy is made from: the insights tests' (see tests/insights/corpus.py), a
    verbose pytest run, and 1.2 MB of output before a failure."""
    sessions = base / "templates"
    sessions.mkdir()
    recorded = record_sessions(base, sessions)
    env = dict(recorded.user.env)
    return [
        recorded.debug,
        recorded.abandoned,
        *recorded.one_command.values(),
        run_command("seq 1 200000; false", base / "plain", sessions, env),
        run_command(f"{PYTEST} -v", recorded.proj, sessions, env),
    ]


def fill(sessions: Path, templates: list[Path], count: int, rng: random.Random) -> None:
    """Add copies of the templates to ``sessions`` until it holds ``count`` session files."""
    have = len(list(sessions.glob("*.tracer")))
    now = dt.datetime.now(dt.UTC)
    repos = [f"/home/dev/src/project-{i:02}" for i in range(25)]
    for _ in range(have, count):
        started = now - dt.timedelta(seconds=rng.uniform(60, 60 * 86400))
        restamp(rng.choice(templates), sessions, started, workspace=rng.choice(repos))


def child(code: str, env: dict[str, str]) -> dict[str, float]:
    """Run ``code`` in a new Python (it prints one JSON object) and return that object."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


FIRST_INDEXING = """
    import json, resource, time
    from pathlib import Path
    from tracer.insights import Index, load_rules, index_path
    started = time.perf_counter()
    with Index.open(load_rules()) as idx:
        update = idx.update(Path(__import__("os").environ["TRACER_DIR"]))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "sessions": update.sessions, "indexed": update.indexed,
                      "cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
                      "index_mb": index_path().stat().st_size / 1e6}))
"""

PHASES = """
    import json, os, time
    t0 = time.perf_counter()
    import tracer.cli, tracer.insights
    from tracer.insights import Index, load_rules, parse_period
    from tracer.insights._figures import compute
    from tracer.insights._render import render
    t1 = time.perf_counter()
    import duckdb
    t2 = time.perf_counter()
    rules = load_rules()
    with Index.open(rules) as idx:
        t3 = time.perf_counter()
        idx.update(__import__("pathlib").Path(os.environ["TRACER_DIR"]))
        t4 = time.perf_counter()
        ins = compute(idx.connection, rules, parse_period("30d"), None, source="")
        t5 = time.perf_counter()
        render(ins, color=False)
        t6 = time.perf_counter()
    print(json.dumps({"import_tracer": t1 - t0, "import_duckdb": t2 - t1, "open_index": t3 - t2, "scan": t4 - t3,
                      "queries": t5 - t4, "render": t6 - t5}))
"""


def timed(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time and CPU time (user + system, s) of ``runs`` runs of ``argv``."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="session counts, comma-separated")
    parser.add_argument("--runs", type=int, default=7, help="runs of the warm `tracer insights` per size")
    parser.add_argument("--name", default=dt.datetime.now().strftime("%Y%m%d-%H%M"), help="name of the results")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    base = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    rng = random.Random(16)
    results: dict[str, object] = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "sizes": {},
    }
    try:
        print("recording the template sessions…", file=sys.stderr)
        templates = record_templates(base)
        results["templates"] = {p.name: p.stat().st_size for p in templates}
        sessions = base / "sessions"
        sessions.mkdir(mode=0o700)
        python = str(Path(sys.executable))
        floor_env = {**os.environ, "TRACER_DIR": str(sessions)}
        results["floor"] = {
            "python_import_duckdb": timed([python, "-c", "import duckdb"], floor_env, args.runs),
            "tracer_version": timed([python, "-m", "tracer", "--version"], floor_env, args.runs),
        }
        for size in sizes:
            print(f"{size:,} sessions: copying…", file=sys.stderr)
            started = time.perf_counter()
            fill(sessions, templates, size, rng)
            copy_seconds = time.perf_counter() - started
            cache = base / f"cache-{size}"
            env = {**os.environ, "TRACER_DIR": str(sessions), "TRACER_CACHE_DIR": str(cache)}
            print(f"{size:,} sessions: first indexing…", file=sys.stderr)
            first = child(FIRST_INDEXING, env)
            newest = restamp(templates[0], sessions, dt.datetime.now(dt.UTC))
            incremental = child(FIRST_INDEXING, env)
            newest.unlink()
            child(FIRST_INDEXING, env)  # (drops it again: the warm runs below read nothing)
            print(f"{size:,} sessions: warm runs…", file=sys.stderr)
            warm = timed([python, "-m", "tracer", "insights", "--since", "30d"], env, args.runs)
            warm_json = timed([python, "-m", "tracer", "insights", "--since", "30d", "--json"], env, args.runs)
            phases = child(PHASES, env)
            results["sizes"][str(size)] = {  # type: ignore[index]
                "copy_seconds": copy_seconds,
                "first_indexing": first,
                "rate_sessions_per_s": first["indexed"] / first["seconds"],
                "rate_sessions_per_cpu_s": first["indexed"] / first["cpu_seconds"],
                "incremental_seconds": incremental["seconds"],
                "warm": warm,
                "warm_json": warm_json,
                "phases": phases,
            }
            shutil.rmtree(cache)
        results["load_after"] = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    out = ROOT / "bench" / "results" / f"insights-{args.name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"\nwritten to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
