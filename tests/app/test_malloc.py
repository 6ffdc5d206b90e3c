"""The recorder's malloc thresholds: freed output buffers are reused, not faulted in afresh (real glibc)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# As in a recording: one thread fills a buffer of a few MiB (the PTY loop's batch) and hands it on; another
# packs it in 512 KiB pieces into a frame buffer and frees everything (the writer). The queue is bounded as the
# recorder's is: unbounded, a producer that ran ahead on a loaded machine had every buffer allocated before the
# first was freed, and nothing could be reused (a flaky count).
CHURN = """
import queue, resource, sys, threading
if sys.argv[1] == "keep":
    from tracer.app.malloc import keep_freed_memory
    assert keep_freed_memory()
batches = queue.Queue(maxsize=1)  # (the recorder bounds what waits for its writer: MAX_QUEUED)
def writer():
    while (batch := batches.get()) is not None:
        pieces = [bytes(batch[i : i + (512 << 10)]) for i in range(0, len(batch), 512 << 10)]
        frame = bytearray()
        for piece in pieces:
            frame.extend(piece)
        packed = bytes(frame)
        del pieces, batch, frame, packed
thread = threading.Thread(target=writer)
thread.start()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(50):
    batches.put(b"x" * ((3 << 20) + (i % 5) * (64 << 10)))
batches.put(None)
thread.join()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_buffers_are_reused_instead_of_faulted_in_afresh() -> None:
    default, kept = faults("default"), faults("keep")
    assert default > 25 * 768  # most 3 MiB buffers, or their copies, on fresh pages: a fault per 4 KiB page
    assert kept < default // 3  # measured: a sixth, quiet or under load
