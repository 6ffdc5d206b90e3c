"""Benchmark of edit capture: edit→event latency, observer memory and start-up time in a 50,000-file repo.

Run: ``python bench/bench_edits.py [--files 50000] [--edits 50] [--keep DIR] [--log-lines 100000] [--binary-kib 512]``.
Prints one line per figure. Standalone: makes its repository in a temporary directory (or DIR), needs git. First,
the diff of a log that grew (``--log-lines`` lines, then 40% more), by the line matcher and as the recorder writes
it now, side by side (time and peak of traced memory, median of 5); then the recorder's CPU while a binary file
of ``--binary-kib`` KiB grows (a binary patch made for each edit event, as before, and none, as now).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tracer.capture._edits_diff import _hunks, count_lines, split_lines
from tracer.capture.files import EditRecorder
from tracer.capture.workspace import workspace_info
from tracer.model import FileChange

ENV = {**os.environ, "GIT_AUTHOR_NAME": "B", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "B"}
ENV["GIT_COMMITTER_EMAIL"] = "b@b"


def make_repo(root: Path, files: int) -> None:
    if (root / ".git").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("node_modules/\nbuild/\n")
    per_dir = 50
    for i in range(files):
        d = root / f"pkg{i // (per_dir * 20)}" / f"mod{i // per_dir}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.py").write_text(f"# file {i}\n" + "x = 1\n" * 20)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=ENV)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=root, check=True, env=ENV)
    time.sleep(1.1)  # past the index's timestamp: entries are no longer "racily clean"
    subprocess.run(["git", "status", "-s"], cwd=root, check=True, env=ENV, capture_output=True)


def growing_log(lines: int) -> None:
    """The diff of a log of ``lines`` lines that grew by 40%: the line matcher against the recorder's way."""
    text = [f"{i:.6f} INFO request {i} handled in 3 ms path=/api/v1/items/{i}\n".encode() for i in range(lines)]
    old, new = b"".join(text), b"".join(text) + b"".join(text[: lines * 2 // 5])

    def measure(diff: Callable[[], object]) -> tuple[float, float]:
        times, peaks = [], []
        for _ in range(5):
            tracemalloc.start()
            t = time.perf_counter()
            diff()
            times.append(time.perf_counter() - t)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        return statistics.median(times), statistics.median(peaks)

    matcher = measure(lambda: _hunks(split_lines(old), split_lines(new)))
    now = measure(lambda: count_lines(old, new))
    print(
        f"a log of {lines} lines ({len(old) >> 20} MiB) that grew by 40%: line matcher {matcher[0] * 1000:.0f} ms, "
        f"{matcher[1] / 2**20:.0f} MiB traced; as recorded {now[0] * 1000:.0f} ms, {now[1] / 2**20:.0f} MiB "
        "(times under tracemalloc)"
    )


def records(n: int, start: int = 0) -> bytes:
    """``n`` 16-byte binary records (a counter and zeros): binary (NUL bytes) and compressible, like a profile or a
    database page."""
    return b"".join(i.to_bytes(8, "little") + bytes(8) for i in range(start, start + n))


def growing_binary(kib: int, seconds: float = 6.0) -> None:
    """The recorder's CPU while a binary file of ``kib`` KiB grows by 4 KiB every 50 ms for ``seconds`` (it never
    goes quiet, so it is read at every forced read, every 2 s; it stays under the 1 MiB content limit): each edit
    event's ``GIT binary patch`` made and dropped (as before) against none made (now), side by side."""
    import tracer.capture.files as files_module

    def run(patch_text: bool) -> float:
        real = files_module.file_diff

        def diff(*args: Any, **kwargs: Any) -> Any:
            kwargs["binary_patch_text"] = patch_text
            return real(*args, **kwargs)

        files_module.file_diff = diff  # type: ignore[assignment]
        root = Path(tempfile.mkdtemp(prefix="bench-binary-"))
        try:
            data = root / "perf.data"
            data.write_bytes(records(kib * 64))
            n = kib * 64
            rec = EditRecorder(workspace_info(root), emit=lambda e: None, clock=lambda: 0, tmp_dir=root.parent)
            rec.take_snapshot()
            rec.start()
            cpu = time.process_time()
            end = time.monotonic() + seconds
            with open(data, "ab") as f:
                while time.monotonic() < end:
                    f.write(records(256, n))
                    n += 256
                    f.flush()
                    time.sleep(0.05)
            used = time.process_time() - cpu
            rec.stop()
            return used
        finally:
            files_module.file_diff = real  # type: ignore[assignment]
            shutil.rmtree(root, ignore_errors=True)

    before = statistics.median(run(True) for _ in range(3))
    now = statistics.median(run(False) for _ in range(3))
    print(
        f"a binary file of {kib} KiB growing for {seconds:.0f} s: the recorder's process used {before:.2f} s of CPU "
        f"with a binary patch per event, {now:.2f} s as recorded now (median of 3)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--ignored", type=int, default=50_000, help="files written under node_modules/")
    ap.add_argument("--keep", type=Path, help="make (or reuse) the repository here")
    ap.add_argument("--log-lines", type=int, default=100_000, help="lines of the growing log (0: skip it)")
    ap.add_argument("--binary-kib", type=int, default=512, help="KiB of the growing binary file (0: skip it)")
    args = ap.parse_args()
    if args.log_lines:
        growing_log(args.log_lines)
    if args.binary_kib:
        growing_binary(args.binary_kib)
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="tracer-bench-")
        root = Path(tmp.name) / "repo"
    else:
        root = args.keep
    t = time.perf_counter()
    make_repo(root, args.files)
    print(f"repository: {args.files} files at {root} (made in {time.perf_counter() - t:.1f} s)")
    proc = psutil.Process()
    rss0 = proc.memory_info().rss

    t = time.perf_counter()
    subprocess.run(["git", "status", "--porcelain"], cwd=root, check=True, capture_output=True)
    t_status = time.perf_counter() - t
    t = time.perf_counter()
    info = workspace_info(root)
    t_info = time.perf_counter() - t
    arrived: dict[str, float] = {}
    events: list[FileChange] = []
    lock = threading.Lock()

    def emit(e: FileChange) -> None:
        with lock:
            events.append(e)
            arrived.setdefault(e.path, time.monotonic())

    t0 = time.monotonic()
    rec = EditRecorder(info, emit=emit, clock=lambda: int((time.monotonic() - t0) * 1e6))
    t = time.perf_counter()
    rec.start()
    t_start = time.perf_counter() - t
    print(
        f"workspace_info: {t_info * 1000:.0f} ms (git status alone: {t_status * 1000:.0f} ms)   "
        f"start(): {t_start * 1000:.1f} ms"
    )

    def wait_for(path: str, deadline: float = 10.0) -> float | None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            with lock:
                if path in arrived:
                    return arrived[path]
            time.sleep(0.002)
        return None

    # The observer is watching once a probe's event arrives.
    t = time.monotonic()
    probe = root / f"probe-{os.getpid()}.txt"
    probe.write_text("p\n")
    wait_for(probe.name, 60)
    print(f"observer ready (watches on every directory) after {time.monotonic() - t0:.2f} s")

    latencies = []
    for i in range(args.edits):
        rel = f"pkg{i * 50 // 1000}/mod{i}/f{i * 50}.py"
        path = root / rel
        with lock:
            arrived.pop(rel, None)
        t = time.monotonic()
        path.write_text(path.read_text() + f"y = {i}\n")
        got = wait_for(rel)
        if got is not None:
            latencies.append(got - t)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(
        f"edit->event latency over {len(latencies)} edits: "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )

    # 50,000 files written under an ignored directory: no events, and the recorder stays responsive.
    t = time.perf_counter()
    main_id = threading.get_native_id()
    cpu0 = sum(th.user_time + th.system_time for th in proc.threads() if th.id != main_id)
    for i in range(args.ignored):
        d = root / "node_modules" / f"p{i // 100}"
        if i % 100 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i}.js").write_text("module.exports = 1\n")
    t_write = time.perf_counter() - t
    marker = root / "after_ignored.txt"
    t = time.monotonic()
    marker.write_text("m\n")
    got = wait_for("after_ignored.txt", 60)
    cpu1 = sum(th.user_time + th.system_time for th in proc.threads() if th.id != main_id)
    ignored_events = sum(1 for e in events if e.path.startswith("node_modules/"))
    print(
        f"{args.ignored} files written under node_modules/ in {t_write:.1f} s: {ignored_events} events; "
        f"next real edit seen {((got or t) - t) * 1000:.0f} ms after it; "
        f"CPU of the observer's threads during the burst {cpu1 - cpu0:.2f} s"
    )
    rss = proc.memory_info().rss
    print(f"RSS: {rss / 2**20:.0f} MiB (before the recorder {rss0 / 2**20:.0f} MiB, +{(rss - rss0) / 2**20:.0f})")

    t = time.perf_counter()
    rec.stop()
    t_stop = time.perf_counter() - t
    t = time.perf_counter()
    patch = rec.final_patch()
    t_final = time.perf_counter() - t
    print(
        f"stop(): {t_stop * 1000:.0f} ms   final_patch(): {t_final * 1000:.0f} ms "
        f"({len(patch.files)} files, {len(patch.patch)} chars)"
    )
    probe.unlink()
    subprocess.run(["rm", "-rf", str(root / "node_modules"), str(marker)], check=True)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
