"""Benchmark `tracer dataset build` over many sessions: its rate (sessions/s) and its peak memory.

The sessions are real recordings: a few `tracer shell -c` sessions recorded in a generated git repository
(a failing test run, a fix, a passing run; a long output; edits to several files), then copied with fresh
UUIDs and session ids until there are ``--sessions`` of them (1,000 by default). `tracer dataset build OUT --all`
then runs as a child process, once per format, and its wall time and peak RSS (``wait4``'s ``ru_maxrss``) are
measured. A second build over half of the sessions shows that memory does not grow with their number (the
build streams: it holds one session and the sinks' buffers, each at most a row group).

    python bench/bench_dataset.py                     # 1,000 sessions, parquet and jsonl: ~2 minutes
    python bench/bench_dataset.py --sessions 200 --formats parquet

Results go to ``bench/results/dataset-<name>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tracer.model import Header
from tracer.store import read_session
from tracer.store.writer import write_session

HERE = Path(__file__).resolve().parent
PYTEST = "python -m pytest -q -p no:cacheprovider"

TEMPLATES = {
    "fix": f"{PYTEST}; sed -i 's/a - b/a + b/' calc.py; {PYTEST}",
    "long-output": "seq 1 200000; git log --oneline | head",
    "edits": "for i in 1 2 3 4 5 6 7 8; do printf 'line %s\\n' $i >> notes-$i.txt; done; ls; cat notes-*.txt",
}
#: With ``--secrets``: a value written to a file, printed bare, and named only at the end (``API_TOKEN=…``), recorded
#: with ``--no-redact`` (as by one who masks at export only): the export learns the value at the end, then searches
#: the whole session again for it (the build's redaction at its most). With record-time redaction on, the naming
#: would be masked on disk, and no export could learn the value from it (docs/privacy.md).
_TOKEN = "q7Vb2Xr9Lm4Tz8Kc1Wd6Hs3Ny5Pf0Ga"
SECRET_TEMPLATE = f"printf '%s\\n' {_TOKEN} > token.txt; cat token.txt; seq 1 200000; echo API_TOKEN=$(cat token.txt)"


def git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_AUTHOR_NAME": "B", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "B", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def record_templates(scratch: Path, secrets: bool = False) -> list[Path]:
    """Record each template once, for real, in its own fresh repository (with ``secrets``, the secret's too)."""
    recorded = []
    templates = TEMPLATES | ({"secret": SECRET_TEMPLATE} if secrets else {})
    for name, command in templates.items():
        repo = scratch / f"repo-{name}"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
        (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "start")
        out = scratch / f"{name}.tracer"
        unmasked = ["--no-redact"] if name == "secret" else []
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tracer",
                "shell",
                "-q",
                *unmasked,
                "-o",
                str(out),
                "-c",
                command,
                "--task",
                f"bench {name}",
            ],
            cwd=repo,
            check=False,
            capture_output=True,
            timeout=300,
        )
        recorded.append(out)
    return recorded


def copy_sessions(templates: list[Path], directory: Path, count: int) -> int:
    """``count`` copies of the templates, each with a fresh UUID and session id; returns their total bytes."""
    directory.mkdir(parents=True)
    sessions = [read_session(p) for p in templates]
    total = 0
    for i in range(count):
        s = sessions[i % len(sessions)]
        session_id = f"2026-01-01T00-00-00-{i:05d}"
        header: Header = dataclasses.replace(s.header, uuid=str(uuid.uuid4()), session_id=session_id)
        path = directory / f"{session_id}.tracer"
        write_session(path, header, s.events)
        total += path.stat().st_size
    return total


def build(sessions: Path, out: Path, fmt: str) -> dict[str, float]:
    """Run `tracer dataset build OUT --all` as a child; its wall time (s) and peak RSS (MiB)."""
    env = {**os.environ, "TRACER_DIR": str(sessions)}
    cmd = [sys.executable, "-m", "tracer", "dataset", "build", str(out), "--all", "--format", fmt]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tracer dataset build failed:\n{stderr}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "user_s": usage.ru_utime, "output_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--formats", default="parquet,jsonl")
    parser.add_argument("--name", default="latest")
    parser.add_argument("--secrets", action="store_true", help="a fourth template: a secret printed before it is named")
    args = parser.parse_args()
    results: dict[str, object] = {
        "sessions": args.sessions,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        scratch = Path(tmp)
        templates = record_templates(scratch, args.secrets)
        half = max(1, args.sessions // 2)
        sizes = {
            "all": copy_sessions(templates, scratch / "sessions", args.sessions),
            "half": copy_sessions(templates, scratch / "sessions-half", half),
        }
        results["session_bytes"] = sizes
        runs = {}
        for fmt in args.formats.split(","):
            for label, directory, n in (("all", "sessions", args.sessions), ("half", "sessions-half", half)):
                out = scratch / f"out-{fmt}-{label}"
                r = build(scratch / directory, out, fmt)
                r["sessions_per_s"] = n / r["wall_s"]
                runs[f"{fmt}/{label}"] = r
                print(
                    f"{fmt:8} {n:6,} sessions: {r['wall_s']:6.1f} s, {r['sessions_per_s']:7.1f} sessions/s, "
                    f"peak RSS {r['peak_rss_mib']:6.1f} MiB, {r['output_bytes'] / 1e6:6.1f} MB written"
                )
                shutil.rmtree(out)
        results["runs"] = runs
    results["load_after"] = os.getloadavg()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"dataset-{args.name}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
