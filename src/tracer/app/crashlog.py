"""Where tracer's own bugs go: a traceback log, so the user sees one line and the details are kept.

The log is ``$XDG_STATE_HOME/tracer/tracer.log`` (default ``~/.local/state/tracer/tracer.log``).
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path


def _log_path() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "tracer"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base / "tracer.log"


def log_exception(context: str, error: BaseException) -> Path | None:
    """Append a traceback to tracer's log (``~/.local/state/tracer/tracer.log``); return the log's path."""
    try:
        path = _log_path()
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} {context}\n")
            f.write("".join(traceback.format_exception(error)))
        return path
    except OSError:
        return None
