"""The recorder's fixed costs (issue 18): start-up, the first prompt, memory under a flood, ``tracer ls``.

Each wrapper runs on a fresh PTY exactly as a terminal emulator starts it (the team's reference harness,
``ptybench.py``, loaded from ``--ptybench``; its code is not copied here), interleaved in shuffled order within
each round, so that every figure is a ratio or a difference within one run:

- ``first-byte``: from the fork of the wrapper to the first byte of ``printf x`` on the PTY master (and to the
  wrapper's exit: the whole run, a recorder's end with it); wrappers
  ``bare`` (``sh -c``), ``relay-floor`` (``bench/relay_floor.c``), ``script -q -c``, ``asciinema rec -c``,
  ``python -c pass`` beside ``python -S -c pass`` (the interpreter's own start, with and without ``site``: the
  part of tracer's start that tracer's code does not control) and ``tracer shell -q -c``, in an empty directory
  and (``tracer (repo)``) in a 20-file git repository, whose baseline tree git writes before the command starts,
  and (``tracer (big repo)``, beside ``script (big repo)``) in the repository of ``--big-files`` files.
  Target: tracer ≤ script + 25 ms (the empty directory).
- ``prompt``: from the fork to the first prompt of ``bash -i`` and of ``tracer shell`` (bash, ``PS1`` set by
  a ``.bashrc`` in a scratch ``HOME``), in a small git repository and in one of 50,000 files (``--big-files``).
  Target: tracer ≤ bash + 30 ms (small) and + 60 ms (50,000 files).
- ``flood``: the recorder's peak resident memory (``VmHWM``, read from ``/proc`` while it runs) through
  ``--flood-mb`` of output (default 1,000 MB), in an empty directory: of text that compresses 100-fold (``yes``)
  and of text that does not (``base64`` of random bytes; ``--flood-kinds``), or of ``yes``'s two-byte lines
  (``lines``, asked for by name: slow for every recorder). Target: ≤ 40 MB.
- ``ls``: ``tracer ls`` over ``--sessions`` session files (default 1,000 copies of one small recording), warm
  (its summaries cached by a first run). Target: ≤ 200 ms.

``--wrapper NAME=TEMPLATE`` adds another tracer (e.g. a worktree of the code before a change) for an A/B run:
the template is how to start it (``/path/to/venv/bin/tracer``). ``--interpreter NAME=PYTHON`` adds that
interpreter's ``python -c`` to the first-byte rows, e.g. a venv without system site-packages beside a wrapper
installed in it, to see a machine-wide ``.pth`` file's share of the start. Results go to
``bench/results/start-<name>.json``; a Markdown table is printed.

    python bench/bench_start.py [--rounds 15] [--skip flood,ls] [--wrapper before=/tmp/venv/bin/tracer]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pty import DEFAULT_PTYBENCH, RESULTS, build_relay_floor, load_harness

MARK = b"@@PROMPT@@"


def tracer_program() -> str:
    """The ``tracer`` script beside this Python, else ``python -m tracer``."""
    exe = Path(sys.executable).parent / "tracer"
    return shlex.quote(str(exe)) if exe.exists() else f"{shlex.quote(sys.executable)} -m tracer"


def spawn_in(pb: ModuleType, argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, int, int]:
    """``(start time, pid, master)``: ``argv`` forked on a fresh PTY by the harness, in ``cwd``."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        t0 = time.perf_counter()
        pid, master = pb.spawn(argv, env=env)
    finally:
        os.chdir(old)
    return t0, pid, master


def first_byte_once(pb: ModuleType, argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """``(seconds to the first byte of output, seconds to the end)``: from the fork of ``argv`` on a fresh PTY to
    its first byte, and to its exit once its output is drained (a recorder's end: its final patch, its file)."""
    t0, pid, master = spawn_in(pb, argv, env, cwd)
    try:
        r, _, _ = select.select([master], [], [], 30)
        if not r:
            raise TimeoutError(f"no output from {argv} in 30 s")
        os.read(master, 65536)
        first = time.perf_counter() - t0
        pb.drain(master)
    finally:
        os.waitpid(pid, 0)
        whole = time.perf_counter() - t0
        os.close(master)
    return first, whole


def prompt_once(pb: ModuleType, argv: list[str], env: dict[str, str], cwd: str) -> float:
    """Seconds from the fork of ``argv`` to :data:`MARK` (the prompt) on the PTY; then ``exit``."""
    t0, pid, master = spawn_in(pb, argv, env, cwd)
    try:
        pb.read_until(master, MARK, timeout=60)
        took = time.perf_counter() - t0
        os.write(master, b"exit\r")
        pb.drain(master)
    finally:
        os.waitpid(pid, 0)
        os.close(master)
    return took


def make_repo(path: Path, files: int) -> None:
    """A git repository of ``files`` small committed files (in directories of 500), its index fresh."""
    path.mkdir(parents=True)
    for i in range(files):
        d = path / f"d{i // 500:03d}"
        d.mkdir(exist_ok=True)
        (d / f"f{i:05d}.txt").write_text(f"file {i}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "files"], ["status", "--short"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, stdout=subprocess.DEVNULL)


def summarize(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per wrapper: median, min, max (milliseconds)."""
    return {
        w: {"median_ms": statistics.median(xs) * 1e3, "min_ms": min(xs) * 1e3, "max_ms": max(xs) * 1e3}
        for w, xs in samples.items()
        if xs
    }


def bench_first_byte(
    pb: ModuleType, tracers: dict[str, str], rounds: int, scratch: Path, interpreters: dict[str, str], big: int
) -> dict[str, Any]:
    cmd = "printf x"
    out = scratch / "out"
    out.mkdir(exist_ok=True)
    empty = scratch / "empty"
    empty.mkdir(exist_ok=True)
    py = sys.executable
    wrappers: dict[str, list[str]] = {
        "bare": ["sh", "-c", cmd],
        "script": ["script", "-q", "-c", cmd, str(out / "script.log")],
        "python": [py, "-c", "print('x', end='')"],
        "python -S": [py, "-S", "-c", "print('x', end='')"],
    }
    for name, other in interpreters.items():
        wrappers[f"python ({name})"] = [other, "-c", "print('x', end='')"]
    floor = build_relay_floor(scratch)
    if floor is not None:
        wrappers["relay-floor"] = [floor, cmd]
    asciinema = Path(py).parent / "asciinema"
    if asciinema.exists():
        wrappers["asciinema"] = [str(asciinema), "rec", "--overwrite", "-q", "-c", cmd, str(out / "a.cast")]
    small = scratch / "small"
    if not small.exists():
        make_repo(small, 20)
    repos = {"repo": small}
    if big:
        repos["big repo"] = scratch / "big"
        if not repos["big repo"].exists():
            print(f"making a repository of {big} files…", file=sys.stderr)
            make_repo(repos["big repo"], big)
    cwds = {}
    for name, program in tracers.items():
        wrappers[name] = [*shlex.split(program), "shell", "-q", "-c", cmd, "-o", str(out / f"{name}.tracer")]
        # and in the repositories, where the baseline tree is written (git) before the command starts
        for where, repo in repos.items():
            wrappers[f"{name} ({where})"] = [*wrappers[name][:-1], str(out / f"{name} ({where}).tracer")]
            cwds[f"{name} ({where})"] = str(repo)
    if big:
        wrappers["script (big repo)"] = ["script", "-q", "-c", cmd, str(out / "script-big.log")]
        cwds["script (big repo)"] = str(repos["big repo"])
    env = pb.child_env()
    samples: dict[str, list[float]] = {w: [] for w in wrappers}
    wholes: dict[str, list[float]] = {w: [] for w in wrappers}
    for r in range(rounds):
        order = list(wrappers)
        random.shuffle(order)
        for w in order:
            for stale in out.glob(f"{w}.tracer"):
                stale.unlink()
            first, whole = first_byte_once(pb, wrappers[w], env, cwds.get(w, str(empty)))
            samples[w].append(first)
            wholes[w].append(whole)
        print(f"first-byte round {r + 1}/{rounds}", file=sys.stderr)
    return {
        "samples_s": samples,
        "summary": summarize(samples),
        "whole_samples_s": wholes,
        "whole_summary": summarize(wholes),
    }


def bench_prompt(pb: ModuleType, tracers: dict[str, str], rounds: int, scratch: Path, big: int) -> dict[str, Any]:
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text(f"PS1='{MARK.decode()} '\n")
    repos = {"small": scratch / "small", "big": scratch / "big"}
    if not repos["small"].exists():
        make_repo(repos["small"], 20)
    if big and not repos["big"].exists():
        print(f"making a repository of {big} files…", file=sys.stderr)
        make_repo(repos["big"], big)
    if not big:
        del repos["big"]
    bash = shutil.which("bash") or "/bin/bash"
    env = {**pb.child_env(), "HOME": str(home), "SHELL": bash, "TRACER_DIR": str(scratch / "sessions")}
    env.pop("PS1", None)
    wrappers = {"bash": [bash, "-i"]}
    for name, program in tracers.items():
        wrappers[name] = [*shlex.split(program), "shell", "-q"]
    result: dict[str, Any] = {}
    for repo_name, repo in repos.items():
        samples: dict[str, list[float]] = {w: [] for w in wrappers}
        for r in range(rounds):
            order = list(wrappers)
            random.shuffle(order)
            for w in order:
                samples[w].append(prompt_once(pb, wrappers[w], env, str(repo)))
            print(f"prompt ({repo_name}) round {r + 1}/{rounds}", file=sys.stderr)
        result[repo_name] = {"samples_s": samples, "summary": summarize(samples)}
    return result


def peak_rss_once(pb: ModuleType, argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, int]:
    """(seconds, peak resident kB of the wrapper process) for one run, read from ``/proc/<pid>/status``."""
    t0, pid, master = spawn_in(pb, argv, env, cwd)
    peak = 0
    buf = bytearray(1 << 20)
    status = f"/proc/{pid}/status"
    last = 0.0
    try:
        while True:
            try:
                n = os.readv(master, [buf])
            except OSError:
                break
            if n == 0:
                break
            now = time.perf_counter()
            if now - last > 0.05:
                last = now
                try:
                    with open(status) as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                peak = max(peak, int(line.split()[1]))
                except OSError:
                    pass
    finally:
        os.waitpid(pid, 0)
        os.close(master)
    return time.perf_counter() - t0, peak


#: The floods, by kind: a shell command printing about ``mb`` MB.
FLOODS = {
    "text": "yes 'the quick brown fox jumps over the lazy dog 0123456789' | head -c {bytes}",
    "base64": "head -c {random} /dev/urandom | base64",  # (76 characters of 57 random bytes a line: 4/3 as much)
    # lines of two bytes: reads of ~350 bytes in batches of every size (the kernel's tty work makes it ~3 minutes
    # per GB for every recorder, `script` too: not in the default kinds)
    "lines": "yes | head -c {bytes}",
}


def bench_flood(
    pb: ModuleType, tracers: dict[str, str], mb: int, scratch: Path, kinds: list[str]
) -> dict[str, dict[str, Any]]:
    out = scratch / "out"
    out.mkdir(exist_ok=True)
    empty = scratch / "empty"  # (as bench_pty.py: the PTY path is measured, not a snapshot of the scratch files)
    empty.mkdir(exist_ok=True)
    result: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        cmd = FLOODS[kind].format(bytes=mb * 1_000_000, random=mb * 1_000_000 * 57 // 77)
        result[kind] = {}
        for name, program in tracers.items():
            target = out / f"flood-{name}.tracer"
            target.unlink(missing_ok=True)
            argv = [*shlex.split(program), "shell", "-q", "-c", cmd, "-o", str(target)]
            took, peak_kb = peak_rss_once(pb, argv, pb.child_env(), str(empty))
            size = target.stat().st_size
            result[kind][name] = {"seconds": took, "peak_rss_mb": peak_kb / 1024, "file_bytes": size}
            print(f"flood of {kind} {name}: {peak_kb / 1024:.1f} MB peak RSS, {took:.1f} s", file=sys.stderr)
            target.unlink(missing_ok=True)
    return result


def bench_ls(tracers: dict[str, str], sessions: int, rounds: int, scratch: Path) -> dict[str, Any]:
    store = scratch / "ls-sessions"
    if store.exists():
        shutil.rmtree(store)
    store.mkdir()
    program = next(iter(tracers.values()))
    one = scratch / "one.tracer"
    one.unlink(missing_ok=True)
    env = {**os.environ, "TRACER_DIR": str(store)}
    subprocess.run(
        [*shlex.split(program), "shell", "-q", "-c", "echo hello; ls /", "-o", str(one)],
        env=env,
        cwd=scratch,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    start = dt.datetime(2026, 1, 1)
    for i in range(sessions):
        name = (start + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H-%M-%S-") + f"{i % 65536:04x}.tracer"
        shutil.copyfile(one, store / name)
        os.chmod(store / name, 0o600)
    result = {}
    for name, program in tracers.items():
        argv = [*shlex.split(program), "ls"]
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)  # the cache, once
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
        result[name] = {"samples_s": times, "median_ms": statistics.median(times) * 1e3}
        print(f"ls {name}: {statistics.median(times) * 1e3:.0f} ms", file=sys.stderr)
    return result


def report(results: dict[str, Any], tracers: list[str]) -> str:
    lines = []
    fb = results.get("first_byte")
    if fb:
        s = fb["summary"]
        lines += ["| to the first byte of `printf x` | median | min–max |", "|---|---:|---:|"]
        for w, v in s.items():
            lines.append(f"| {w} | {v['median_ms']:.1f} ms | {v['min_ms']:.1f}–{v['max_ms']:.1f} |")
        if "script" in s:
            for t in [t for name in tracers for t in (name, f"{name} (repo)")]:
                if t in s:
                    lines.append(f"| **{t} − script** | **{s[t]['median_ms'] - s['script']['median_ms']:+.1f} ms** | |")
        lines.append("")
        whole = fb.get("whole_summary", {})
        if whole:
            lines += ["| the whole `-c printf x`, to its exit | median | min–max |", "|---|---:|---:|"]
            for w, v in whole.items():
                if not w.startswith("python"):
                    lines.append(f"| {w} | {v['median_ms']:.1f} ms | {v['min_ms']:.1f}–{v['max_ms']:.1f} |")
            lines.append("")
    pr = results.get("prompt")
    if pr:
        lines += [
            "| to the first prompt | bash -i | " + " | ".join(tracers) + " |",
            "|---|---:|" + "---:|" * len(tracers),
        ]
        for repo, v in pr.items():
            s = v["summary"]
            cells = [f"{s[t]['median_ms']:.1f} ms ({s[t]['median_ms'] - s['bash']['median_ms']:+.1f})" for t in tracers]
            lines.append(f"| {repo} | {s['bash']['median_ms']:.1f} ms | " + " | ".join(cells) + " |")
        lines.append("")
    fl = results.get("flood")
    if fl:
        lines += ["| flood | tracer | peak RSS | time |", "|---|---|---:|---:|"]
        for kind, by in fl.items():
            for t, v in by.items():
                lines.append(f"| {kind} | {t} | {v['peak_rss_mb']:.1f} MB | {v['seconds']:.1f} s |")
        lines.append("")
    ls = results.get("ls")
    if ls:
        lines += ["| `tracer ls`, warm | median |", "|---|---:|"]
        for t, v in ls.items():
            lines.append(f"| {t} | {v['median_ms']:.0f} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ptybench", type=Path, default=DEFAULT_PTYBENCH)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip", default="", help="comma-separated: first-byte,prompt,flood,ls")
    parser.add_argument("--wrapper", action="append", default=[], metavar="NAME=PROGRAM", help="another tracer")
    parser.add_argument(
        "--interpreter",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="another interpreter's start beside the others (e.g. a venv whose site runs no .pth files)",
    )
    parser.add_argument("--big-files", type=int, default=50_000, help="files in the big repository (0: none)")
    parser.add_argument("--flood-mb", type=int, default=1000)
    parser.add_argument("--flood-kinds", default="text,base64", help=f"comma-separated: {','.join(FLOODS)}")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "tracer-bench-start")
    parser.add_argument("--name", default=dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    args = parser.parse_args()
    pb = load_harness(args.ptybench)
    tracers = {"tracer": tracer_program()}
    for spec in args.wrapper:
        name, _, program = spec.partition("=")
        tracers[name] = program
    interpreters = dict(spec.partition("=")[::2] for spec in args.interpreter)
    skip = set(filter(None, args.skip.split(",")))
    args.scratch.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "load_before": os.getloadavg(),
        "tracers": tracers,
    }
    if "first-byte" not in skip:
        results["first_byte"] = bench_first_byte(pb, tracers, args.rounds, args.scratch, interpreters, args.big_files)
    if "prompt" not in skip:
        results["prompt"] = bench_prompt(pb, tracers, args.rounds, args.scratch, args.big_files)
    if "flood" not in skip:
        kinds = [k for k in args.flood_kinds.split(",") if k]
        if unknown := [k for k in kinds if k not in FLOODS]:
            parser.error(f"--flood-kinds: no flood {', '.join(unknown)} (there are {', '.join(FLOODS)})")
        results["flood"] = bench_flood(pb, tracers, args.flood_mb, args.scratch, kinds)
    if "ls" not in skip:
        results["ls"] = bench_ls(tracers, args.sessions, max(5, args.rounds // 3), args.scratch)
    results["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"start-{args.name}.json"
    out.write_text(json.dumps(results, indent=1))
    print(report(results, list(tracers)))
    print(f"\nload {results['load_before'][0]:.2f} → {results['load_after'][0]:.2f}; {out}")


if __name__ == "__main__":
    main()
