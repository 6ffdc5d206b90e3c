"""Where tracer's own bugs go: a traceback log, so the user sees one line and the details are kept.

The log is ``$XDG_STATE_HOME/tracer/tracer.log`` (default ``~/.local/state/tracer/tracer.log``). The
``tracer`` loggers, Python's warnings and the tracebacks of threads that die of an exception go there too
(:func:`route_logging`): nothing tracer or a library it uses reports may ever reach the user's terminal, which
is in raw mode during a recording.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import traceback
from pathlib import Path
from typing import Any


def _log_path(*, create: bool = True) -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "tracer"
    if create:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base / "tracer.log"


def _open_private(path: Path) -> int:
    """The log opened for appending, created with mode 0600 (it may quote what the user ran)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)


class _LogFile(logging.FileHandler):
    """A file handler that makes the log's directory only when it first writes (nothing at start-up), and the
    log file private (0600)."""

    def _open(self) -> Any:
        return open(_open_private(Path(self.baseFilename)), "a", encoding=self.encoding)

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record``; a log that cannot be written is dropped, never reported on the terminal."""
        try:
            if self.stream is None:
                _log_path(create=True)
            super().emit(record)
        except OSError:
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        """Dropped: logging's own report of a failed write would go to the terminal."""


def log_exception(context: str, error: BaseException) -> Path | None:
    """Append a traceback to tracer's log (``~/.local/state/tracer/tracer.log``); return the log's path."""
    try:
        path = _log_path()
        with open(_open_private(path), "a", encoding="utf-8") as f:
            f.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} {context}\n")
            f.write("".join(traceback.format_exception(error)))
        return path
    except OSError:
        return None


_HANDLER = "tracer-log-file"


def route_logging() -> None:
    """Send the records (warnings and worse) of the ``tracer`` loggers and of a library's (through the root
    logger: watchdog's), Python's warnings (:mod:`warnings`, e.g. a library's ``RuntimeWarning`` from the file
    observer's thread) and the traceback of any thread that dies of an exception (:data:`threading.excepthook`:
    Python prints it on standard error, over the user's shell) to the log file, never to the terminal.

    The file is opened only when something is logged. Calling it again changes nothing.
    """
    logger = logging.getLogger("tracer")
    if any(h.get_name() == _HANDLER for h in logger.handlers):
        return
    threading.excepthook = _log_thread_exception
    handler = _LogFile(_log_path(create=False), delay=True, encoding="utf-8")
    handler.setFormatter(logging.Formatter("--- %(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.set_name(_HANDLER)
    handler.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings.showwarning → the "py.warnings" logger
    for name in ("tracer", "py.warnings"):
        routed = logging.getLogger(name)
        routed.propagate = False
        routed.addHandler(handler)
    # a library's loggers (watchdog's "Inotify queue overflowed"…) reach the root: with no handler there, logging's
    # last resort would print their warnings on standard error, over the user's shell
    logging.getLogger().addHandler(handler)


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    """A thread died of an exception: its traceback goes to the log (never to the terminal)."""
    if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
        name = args.thread.name if args.thread is not None else "a thread"
        log_exception(f"uncaught exception in thread {name}", args.exc_value)
