"""tracer's PTY loop with a sink that drops everything: what the loop costs in a Python process, recording nothing.

A wrapper for ``bench_pty.py`` beside ``relay-floor`` (the same relay in a C program) and ``tracer`` (the loop
with the recorder behind it)::

    python bench/bench_pty.py --wrapper "loop-only=python bench/null_relay.py {cmd}"

    python bench/null_relay.py CMD     # runs ``sh -c CMD`` on a new PTY; exits with its status
"""

from __future__ import annotations

import os
import sys

from tracer.app.malloc import keep_freed_memory
from tracer.capture.pty import Clock, PtyLoop


class NullSink:
    """Takes output, marks and resizes and keeps nothing."""

    def output(self, t: int, data: bytes) -> None:
        pass

    def output_batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        pass

    def mark(self, t: int, mark: object) -> None:
        pass

    def resize(self, t: int, cols: int, rows: int) -> None:
        pass


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: null_relay.py CMD")
    keep_freed_memory()  # as the recorder does
    loop = PtyLoop(["/bin/sh", "-c", sys.argv[1]], dict(os.environ), sink=NullSink(), clock=Clock())
    sys.exit(loop.run().exit_status)


if __name__ == "__main__":
    main()
