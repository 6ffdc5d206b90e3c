"""Fixtures of the recorder's tests that run more than one recorder, or ask who records what."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR with a short path (a Unix socket's path is limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="trt", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
