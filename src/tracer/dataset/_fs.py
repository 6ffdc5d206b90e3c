"""Reaching local directories and fsspec URLs (``s3://``, ``gs://``, ``hf://``, ``sftp://``…), and the optional
extras that bring their libraries.

Every error of a file system library is turned here into a :class:`~tracer.errors.DatasetError` naming the URL;
a missing library into a :class:`~tracer.errors.MissingExtra` naming the extra that installs it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from tracer.errors import DatasetError, MissingExtra, TracerError, UsageError

#: The extra that installs the fsspec backend of each protocol.
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "hf": "hf", "sftp": "sftp", "ssh": "sftp"}

#: A session file read from a URL may be at most this large (bytes): it is hostile until read.
MAX_SESSION_BYTES = 4 << 30

_CHUNK = 1 << 20


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or say which extra of tracer installs it.

    Raises:
        MissingExtra: it is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: pip install 'tracer[{extra}]'"
        ) from e


def protocol_of(url: str) -> str:
    """The URL's protocol (``s3``, ``sftp``…), ``file`` for a local path."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep and head.isidentifier() else "file"


def is_local(url: str) -> bool:
    """True for a local path (or a ``file://`` URL)."""
    return protocol_of(url) in ("file", "local")


def filesystem(url: str) -> tuple[Any, str]:
    """``(fsspec file system, path in it)`` for a local path or a URL.

    Raises:
        MissingExtra: fsspec, or the backend the URL's protocol needs, is not installed (names the extra).
        UsageError: no fsspec backend knows the protocol.
        DatasetError: the backend could not be set up (bad URL, no credentials).
    """
    fsspec_core = require("fsspec.core", "dataset", "reading and writing datasets and URLs")
    protocol = protocol_of(url)
    try:
        fs, path = fsspec_core.url_to_fs(url)
    except ImportError as e:
        extra = EXTRAS.get(protocol)
        if extra is None:
            raise MissingExtra(f"{url}: the fsspec backend for {protocol}:// is not installed ({e})") from e
        raise MissingExtra(f"{url}: {protocol}:// needs pip install 'tracer[{extra}]' ({e})") from e
    except ValueError as e:
        if "protocol" in str(e).lower():
            raise UsageError(f"{url}: no fsspec file system knows {protocol}:// ({e})") from e
        raise DatasetError(f"{url}: {e}") from e
    except Exception as e:
        raise DatasetError(f"cannot reach {url}: {type(e).__name__}: {e}") from e
    return fs, path


@contextlib.contextmanager
def remote_errors(what: str) -> Iterator[None]:
    """Turn a file system library's error into a :class:`DatasetError` that says ``what`` failed.

    fsspec backends raise their own exceptions (botocore's, asyncssh's, huggingface_hub's) besides ``OSError``;
    all of them end here, where they enter tracer's code.
    """
    try:
        yield
    except TracerError:
        raise
    except FileNotFoundError as e:
        raise DatasetError(f"{what}: not found ({e})") from e
    except Exception as e:
        detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise DatasetError(f"{what}: {type(e).__name__}: {detail}") from e


def join(fs: Any, base: str, *parts: str) -> str:
    """``base/part/…`` in the file system's own separator."""
    sep = getattr(fs, "sep", "/")
    return sep.join([base.rstrip(sep), *parts])


def list_sessions(fs: Any, path: str, url: str) -> list[str]:
    """The ``*.tracer`` files at ``path`` (a file, or a directory searched recursively), sorted by path.

    Raises:
        DatasetError: the URL cannot be listed or does not exist.
    """
    with remote_errors(f"cannot list sessions at {url}"):
        if path.endswith(".tracer") and fs.isfile(path):
            return [path]
        if not fs.isdir(path):
            raise DatasetError(f"no sessions at {url}: it is neither a directory nor a .tracer file")
        return sorted(p for p in fs.find(path) if p.endswith(".tracer"))


def fetch(fs: Any, path: str, url: str, directory: Path, limit: int = MAX_SESSION_BYTES) -> Path:
    """Copy the session file at ``path`` into a new private file (0600) in ``directory`` and return it.

    At most ``limit`` bytes are copied: the file is hostile until tracer's reader has read it.

    Raises:
        DatasetError: it cannot be read, or it is larger than ``limit``.
    """
    fd, name = tempfile.mkstemp(suffix=".tracer", dir=directory)
    local = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, remote_errors(f"cannot read {url}"), fs.open(path, "rb") as src:
            copied = 0
            while chunk := src.read(_CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise DatasetError(f"{url} is larger than {limit:,} bytes: not read as a session")
                out.write(chunk)
    except BaseException:
        local.unlink(missing_ok=True)
        raise
    return local


def upload(fs: Any, local: Path, path: str, url: str) -> None:
    """Put the file ``local`` at ``path``: first under a ``.part`` name, then renamed, so that nobody listing
    ``*.tracer`` files sees a partial one.

    Raises:
        DatasetError: the upload failed.
    """
    partial = path + ".part"
    with remote_errors(f"cannot upload to {url}"):
        parent = path.rsplit(getattr(fs, "sep", "/"), 1)[0]
        if parent and parent != path:
            fs.makedirs(parent, exist_ok=True)
        fs.put_file(os.fspath(local), partial)
        fs.mv(partial, path)
