"""Hash functions from CPython's own modules (``_blake2``, ``_sha1``), not :mod:`hashlib`.

Importing :mod:`hashlib` loads OpenSSL's libcrypto: ~4 ms on the way to the shell, and 3.4 MB resident in the
recorder for the rest of a recording (docs/performance.md, runs 12 and 27). The recorder's own hashing (the
session's MAC, the host id, the placeholders of masked secrets, the git ids of small edited files) needs none of
OpenSSL's speed, so it takes these; on an interpreter without them (not CPython), :mod:`hashlib`'s.

- ``blake2b``: BLAKE2b (RFC 7693), with ``hashlib.blake2b``'s arguments (``digest_size``, ``key``, ``person``).
- ``sha1``: SHA-1, with ``hashlib.sha1``'s arguments; ~270 MB/s here against OpenSSL's ~1.2 GB/s, so large
  inputs should take ``hashlib.sha1`` itself (:func:`tracer.capture._dirsnapshot.blob_hasher` does).
"""

from __future__ import annotations

from typing import Any

try:
    from _blake2 import blake2b
except ImportError:  # not CPython
    from hashlib import blake2b

sha1: Any
try:
    from _sha1 import sha1  # type: ignore[import-not-found,no-redef]  # (no stub: hashlib.sha1's type stands for it)
except ImportError:  # not CPython
    from hashlib import sha1

__all__ = ["blake2b", "sha1"]
