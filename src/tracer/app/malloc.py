"""The recorder's process keeps the memory it frees for reuse, instead of giving it back to the kernel at once.

A recording moves every byte of output through a few large buffers: the PTY loop's batch (up to 1 MiB every
50 ms), the packed events, the compressed frame. glibc's malloc serves blocks over ``M_MMAP_THRESHOLD``
(128 KiB at start, raised up to 32 MiB as such blocks are freed) with ``mmap`` and unmaps them on ``free``,
and trims the heap's top past ``M_TRIM_THRESHOLD``; so each new buffer starts on fresh pages, and every 4 KiB
page costs a page fault when first written: 27,000 faults for the 68 MB of a ``cat`` of a large file, two
to three microseconds each in a virtual machine, taken while the shell's programs wait for the CPU
(``docs/performance.md``). Raising both thresholds (``mallopt(3)``) makes freed buffers come back from the
heap already mapped: 14,000 faults, half of them Python's start-up.

What it costs: up to :data:`TRIM_THRESHOLD` bytes that were freed stay in the process after a burst of
output, and free pages between live blocks are never given back: through a long stream of output in batches of
every size, the process grows (4-8 MB through 300 MB of ``yes``). :func:`give_back_freed_memory` returns them
now and then through a stream (the writer's ``release`` hook: every 16 MiB of frames, at most once a second), and
where a recording is done with its buffers and is about to need memory of another kind (the writer reading its
file back at the end). Only on glibc; elsewhere nothing changes.
"""

from __future__ import annotations

import sys

#: Blocks up to this size come from the heap, not from their own ``mmap`` (bytes; glibc's M_MMAP_THRESHOLD).
MMAP_THRESHOLD = 16 << 20
#: Free memory at the top of the heap is given back to the kernel past this size (bytes; M_TRIM_THRESHOLD).
TRIM_THRESHOLD = 32 << 20

_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds for this process (see the module's docstring); ``True`` when set.

    ``False`` on any other C library, or when ``mallopt`` refuses a value: the recording works the same, with
    more page faults. Never raises.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: their malloc has no such knobs
            return False
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False


def give_back_freed_memory() -> None:
    """Return the memory this process freed to the kernel (glibc's ``malloc_trim(0)``, which releases the free
    pages of every arena, not only the heap's top): the next allocations come from pages freed now rather than
    from new ones, so the peak resident memory does not rise. A few milliseconds. Never raises; nothing on
    another C library."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
