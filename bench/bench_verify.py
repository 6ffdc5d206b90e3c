"""How long ``tracer verify`` spends outside the test run, on a repository of 10,000 files.

Builds a git repository of ``--files`` small files in a temporary directory, makes a one-file final patch,
and runs :func:`tracer.verify.verify` with the test command ``true`` ``--runs`` times. Prints the overhead
(worktree creation, patch application, cleanup; seconds) as median, min and max. Target: median ≤ 1 s.

    python bench/bench_verify.py [--files 10000] [--runs 7] [--compare-base]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracer.verify import verify

_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=_ENV, check=True, capture_output=True, text=True).stdout


def build_repo(root: Path, files: int) -> tuple[Path, str, str]:
    """A repository of ``files`` files in 100-file directories; returns (path, head, final patch)."""
    repo = root / "big"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        d = repo / f"pkg{i // 100:03d}"
        if i % 100 == 0:
            d.mkdir()
        (d / f"mod{i % 100:02d}.py").write_text(
            f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f(x):\n    return x + {i}\n'
        )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "big")
    _git(repo, "repack", "-adq")  # as a cloned repository is
    _git(repo, "prune")
    head = _git(repo, "rev-parse", "HEAD").strip()
    target = repo / "pkg000" / "mod00.py"
    target.write_text(target.read_text().replace("VALUE = 0", "VALUE = 1"))
    patch = _git(repo, "diff", "--binary")
    _git(repo, "checkout", "-q", "--", ".")
    return repo, head, patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the repository (default 10000)")
    parser.add_argument("--runs", type=int, default=7, help="verify runs to time (default 7)")
    parser.add_argument("--compare-base", action="store_true", help="also run on the unpatched base")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        started = time.monotonic()
        repo, head, patch = build_repo(Path(tmp), args.files)
        print(f"built a repository of {args.files} files in {time.monotonic() - started:.1f} s")
        overheads, totals = [], []
        for _ in range(args.runs):
            t0 = time.monotonic()
            result = verify(
                repo=repo,
                start_commit=head,
                baseline_patch="",
                final_patch=patch,
                test_command="true",
                command_source="flag",
                compare_base=args.compare_base,
            )
            totals.append(time.monotonic() - t0)
            assert result.verdict in ("passed", "resolved", "failed"), result
            assert result.overhead is not None
            overheads.append(result.overhead)
        leftover = _git(repo, "worktree", "list").count("\n")
    print(f"verify overhead beyond the test run over {args.runs} runs (seconds):")
    print(f"  median {statistics.median(overheads):.3f}  min {min(overheads):.3f}  max {max(overheads):.3f}")
    print(f"  whole verify() call: median {statistics.median(totals):.3f}")
    load = os.getloadavg()[0]
    print(f"  worktrees left registered: {leftover - 1}; load average {load:.1f} on {os.cpu_count()} cores")
    return 0 if statistics.median(overheads) <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
