"""The redaction engine (issue 13): how fast, and how often it masks what is not a secret.

- record-time masking of output, in MB/s, on the PTY benchmark's workloads (``seq 1 3000000``, base64 of 50 MB
  of random bytes, a 67 MB base64 text file), in pieces of 512 KiB as the writer hands them over, beside the
  keyword scan alone (Hyperscan over the same pieces: the floor of masking);
- the session writer's CPU recording that output, redaction off and on, with reads of 4 KiB as a PTY gives them
  and with one read per batch (the difference is the per-read bookkeeping: each read's offset and time): the
  median of ``--rounds`` fresh processes, each recording once (as a recording does, paying for its first pages
  and its regexes' first compilation);
- the export-time pass (every rule) in MB/s over a session of ordinary output with a few secrets in it, and over
  one of coloured output (``git log -p --color=always`` of the corpus's repository: an escape sequence every
  ~25 bytes, which the rules search in views without them);
- false positives: the fraction of bytes of the corpus of ordinary terminal output (tests/redact/corpus.py)
  each stage masks, and by which rules (e-mail addresses in it are true positives, reported apart).

Recording throughput with redaction on and off is measured by bench_pty.py in one interleaved run::

    python bench/bench_pty.py --rounds 5 --skip latency,phases --wrappers bare,tracer \\
        --wrapper "tracer-no-redact=$(dirname $(which python))/tracer shell -q --no-redact -c {cmd} -o {out}.tracer"

    python bench/bench_redact.py [--mb 60] [--rounds 7]

Results go to ``bench/results/redact-<time>.json``; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.redact.corpus

from tests.redact.corpus import build, masked_bytes  # noqa: E402

from tracer.model import CommandEnd, CommandStart, Header, Note, Output, Session, SessionEnd  # noqa: E402
from tracer.redact import export_redactor, record_redactor  # noqa: E402
from tracer.store import SessionWriter  # noqa: E402
from tracer.store.signing import KEY_SIZE  # noqa: E402

PIECE = 512 << 10
#: Bytes of one read of the PTY's master while output streams (Linux gives about 4 KiB).
READ = 4096
BATCH = 1 << 20


def workloads(mb: int) -> dict[str, bytes]:
    """The PTY benchmark's outputs, as a terminal shows them (CRLF)."""
    seq = "".join(f"{i}\r\n" for i in range(1, 3_000_001)).encode()
    b64 = base64.encodebytes(os.urandom(mb * 750_000)).replace(b"\n", b"\r\n")
    return {"seq": seq, "base64": b64}


def coloured(folder: Path) -> bytes:
    """``git log -p`` and ``git log --stat`` of the corpus's repository in ``folder``, coloured as in a terminal."""
    out = b""
    for args in (["log", "-p"], ["log", "--stat"]):
        argv = ["git", "-C", str(folder / "repo"), *args, "--color=always"]
        out += subprocess.run(argv, check=True, capture_output=True).stdout.replace(b"\n", b"\r\n")
    return out


def record_rate(data: bytes, rounds: int = 3) -> float:
    """MB/s of record-time masking over ``data`` in 512 KiB pieces (the best of ``rounds``)."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)]
    best = float("inf")
    for _ in range(rounds):
        r = record_redactor()
        t0 = time.perf_counter()
        for p in pieces:
            r.output(p)
        best = min(best, time.perf_counter() - t0)
    return len(data) / best / 1e6


def scan_rate(data: bytes, rounds: int = 3) -> float:
    """MB/s of the record-time keyword scan alone over ``data`` in 512 KiB pieces (the best of ``rounds``)."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)]
    rules = record_redactor().rules
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for p in pieces:
            rules.occurrences(p)
        best = min(best, time.perf_counter() - t0)
    return len(data) / best / 1e6


def writer_cpu(data_file: Path, redact: bool, read: int) -> float:
    """CPU seconds of the session writer's thread recording the output in ``data_file``, handed over as the PTY
    loop's C part does (batches of 1 MiB, a read per ``read`` bytes), signed, redaction on or off, with the
    recorder's malloc settings: in this process, once, as a recording does (its first pass pays for its buffers'
    first pages and the regexes it compiles on first use, which a warm loop hides). Unlike wall time on a shared
    machine, this hardly moves with the load."""
    from tracer.app.malloc import keep_freed_memory

    keep_freed_memory()
    data = data_file.read_bytes()
    batches = []
    t = 0
    for start in range(0, len(data), BATCH):
        batch = data[start : start + BATCH]
        ends = range(read, len(batch) + read, read)
        batches.append((batch, [(min(end, len(batch)), t + end // 1000) for end in ends]))
        t += 50_000
    header = Header(
        t=0, session_id="w", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="sh",
        shell_kind="other", mode="command", term="xterm", cols=80, rows=24, cwd="/", workspace="/",
    )  # fmt: skip
    cpu: list[float] = []

    class Timed(SessionWriter):
        def _run(self) -> None:
            t0 = time.thread_time()
            super()._run()
            cpu.append(time.thread_time() - t0)

    path = data_file.with_suffix(f".{os.getpid()}.tracer")
    writer = Timed(path, redactor=record_redactor if redact else None)
    writer.begin(header, key=bytes(KEY_SIZE))  # signed, as a recording is
    for batch, reads in batches:
        writer.output_batch(batch, reads)
    writer.close(SessionEnd(t=t, exit_status=0))
    path.unlink()
    return cpu[0]


def writer_runs(loads: dict[str, bytes], rounds: int) -> dict[str, dict[str, list[float]]]:
    """:func:`writer_cpu` of each workload in each variant, each a fresh process, ``rounds`` times, interleaved:
    ``{workload: {variant: [seconds…]}}``."""
    folder = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    variants = {"off": (False, READ), "on": (True, READ), "on, one read per batch": (True, BATCH)}
    runs: dict[str, dict[str, list[float]]] = {name: {v: [] for v in variants} for name in loads}
    files = {}
    for name, data in loads.items():
        files[name] = folder / f"{len(files)}.out"
        files[name].write_bytes(data)
    for _ in range(rounds):
        for name, file in files.items():
            for variant, (redact, read) in variants.items():
                argv = [sys.executable, __file__, "--writer-once", str(file), str(int(redact)), str(read)]
                out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
                runs[name][variant].append(float(out))
    shutil.rmtree(folder)
    return runs


def session_of(corpus: dict[str, bytes], mb: int) -> Session:
    """A session of ``mb`` MB: the corpus's pieces as commands' output, over and over, and a note per command."""
    header = Header(
        t=0, session_id="bench", started_at="2026-01-01T00:00:00.000000Z", tracer_version="0", shell="/bin/bash",
        shell_kind="bash", mode="interactive", term="xterm", cols=80, rows=24, cwd="/home/bench/src/app",
        workspace="/home/bench/src/app",
    )  # fmt: skip
    events: list[Any] = []
    t, n, size = 1, 0, 0
    while size < mb << 20:
        for name, data in corpus.items():
            n += 1
            events.append(CommandStart(t=t, id=n, command=name, cwd="/home/bench/src/app"))
            for i in range(0, len(data), 4096):
                t += 10
                events.append(Output(t=t, data=data[i : i + 4096]))
            events.append(CommandEnd(t=t + 1, id=n, exit_status=0))
            events.append(Note(t=t + 2, id=f"n{n}", text=f"looked at {name}; next: the parser"))
            size += len(data)
            t += 100
    return Session(path="bench.tracer", header=header, events=events)


def export_rate(session: Session, rounds: int = 3) -> tuple[float, dict[str, int]]:
    size = sum(len(e.data) for e in session.events if isinstance(e, Output))
    best, counts = float("inf"), {}
    for _ in range(rounds):
        r = export_redactor(None, session.header)
        t0 = time.perf_counter()
        r.session(session)
        best = min(best, time.perf_counter() - t0)
        counts = r.counts
    return size / best / 1e6, counts


def false_positives(corpus: dict[str, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    total = sum(len(d) for d in corpus.values())
    for stage, make in (("record", record_redactor), ("export", export_redactor)):
        masked = emails = 0
        rules: dict[str, int] = {}
        for data in corpus.values():
            r = make()
            n = masked_bytes(data, r.output(data))
            if set(r.counts) == {"email"}:
                emails += n
            else:
                masked += n
            for k, v in r.counts.items():
                rules[k] = rules.get(k, 0) + v
        out[stage] = {"bytes": total, "masked": masked, "emails": emails, "fraction": masked / total, "rules": rules}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=60, help="size of the export session and the base64 workload (MB)")
    ap.add_argument("--rounds", type=int, default=7, help="fresh processes per workload and variant of the writer")
    ap.add_argument("--writer-once", nargs=3, metavar=("FILE", "REDACT", "READ"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer_once:
        file, redact, read = args.writer_once
        print(writer_cpu(Path(file), redact == "1", int(read)))
        return
    os.environ.setdefault("TRACER_CACHE_DIR", tempfile.mkdtemp(prefix="bench-redact-"))
    folder = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    corpus = build(folder)
    loads = workloads(args.mb)
    text = b"".join(corpus.values())
    loads["text (corpus)"] = (text * (args.mb * 1_000_000 // len(text) + 1))[: args.mb * 1_000_000]
    colours = coloured(folder)
    loads["coloured git log"] = (colours * (args.mb * 1_000_000 // len(colours) + 1))[: args.mb * 1_000_000]
    try:
        import hyperscan  # noqa: F401

        scanner = "hyperscan"
    except ImportError:
        scanner = "re2 set"
    results: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(), "keyword scanner": scanner}
    results["record MB/s"] = {name: record_rate(data) for name, data in loads.items()}
    results["keyword scan MB/s"] = {name: scan_rate(data) for name, data in loads.items()}
    runs = writer_runs({k: v for k, v in loads.items() if k in ("seq", "base64")}, args.rounds)
    results["writer CPU s"] = runs
    rate, counts = export_rate(session_of(corpus, args.mb))
    results["export MB/s"] = rate
    results["export counts"] = counts
    coloured_rate, _ = export_rate(session_of({"git log (coloured)": colours}, args.mb))
    results["export MB/s, coloured"] = coloured_rate
    results["false positives"] = false_positives(corpus)
    results["load"] = os.getloadavg()
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"redact-{dt.datetime.now():%Y%m%d-%H%M%S}.json").write_text(json.dumps(results, indent=2))
    print(f"keyword scanner: {scanner}; load {results['load'][0]:.1f}\n")
    print("| record-time masking of output | MB/s | the keyword scan alone |\n|---|---:|---:|")
    for name, mbs in results["record MB/s"].items():
        print(f"| {name} | {mbs:,.0f} | {results['keyword scan MB/s'][name]:,.0f} |")
    print(
        "\n| session writer's CPU (recording) | redaction off | on | on / off | on, one read per batch |"
        "\n|---|---:|---:|---:|---:|"
    )
    for name, variants in runs.items():
        off, on, batched = (statistics.median(v) for v in variants.values())
        print(
            f"| {name} ({len(loads[name]) / 1e6:.0f} MB) | {off * 1e3:.0f} ms | {on * 1e3:.0f} ms | {on / off:.2f}x "
            f"| {batched * 1e3:.0f} ms |"
        )
    print(f"\nexport-time pass (every rule), {args.mb} MB session of ordinary output: **{rate:,.0f} MB/s**")
    print(f"the same, {args.mb} MB of coloured `git log`: **{coloured_rate:,.0f} MB/s**")
    print("\n| false positives | bytes | masked | fraction | rules |\n|---|---:|---:|---:|---|")
    for stage, fp in results["false positives"].items():
        print(
            f"| {stage} | {fp['bytes']:,} | {fp['masked']:,} | {fp['fraction']:.4%} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(fp['rules'].items()))} |"
        )


if __name__ == "__main__":
    main()
