"""Asking a command to judge (``tracer judge --command CMD``): a team's own judge, any program.

``CMD`` runs as ``/bin/sh -c CMD`` in the current directory, in its own process group, with the session's trace
JSON (the judge document) on standard input. It prints its scores as one JSON object on standard output (the
shape of :func:`tracer.judge.reply_schema`) and exits 0. Beside its environment it gets:

- ``TRACER_JUDGE_RUBRIC``: a file holding the rubric as JSON;
- ``TRACER_JUDGE_SCHEMA``: a file holding the reply's JSON Schema;
- ``TRACER_JUDGE_REQUEST``: a file holding the chat-completions request tracer would send a model (messages
  with the rubric, the process checks and the session; ``response_format``; no ``model``), for commands that
  wrap a model client of their own.

The files are removed when it ends. After ``timeout`` seconds the whole group is killed; so is whatever it left
running when its shell exits. Standard output over :data:`MAX_REPLY_BYTES` is refused; the end of standard
error is quoted when the command fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tracer.judge._model import MAX_REPLY_BYTES
from tracer.judge.errors import JudgeFailed

#: Characters of the command's standard error quoted in an error message (its end).
STDERR_SHOWN = 2000


def ask_command(command: str, document: dict[str, Any], files: dict[str, Any], *, timeout: float) -> str:
    """Run the judge ``command`` on ``document`` and return what it printed on standard output.

    Args:
        command: a shell command line.
        document: the trace JSON document given on standard input.
        files: environment variable name -> JSON value, each written to a file whose path the variable holds.
        timeout: seconds the command may run.

    Raises:
        JudgeFailed: the command cannot start, exits non-zero, is killed by a signal, runs over ``timeout``, or
            prints more than :data:`MAX_REPLY_BYTES`; the message quotes the end of its standard error.
    """
    with tempfile.TemporaryDirectory(prefix="tracer-judge-") as tmp:
        base = Path(tmp)
        env = dict(os.environ)
        for name, value in files.items():
            path = base / f"{name.lower()}.json"
            path.write_text(json.dumps(value, ensure_ascii=False, indent=1), "utf-8")
            env[name] = str(path)
        stdin = base / "trace.json"
        stdin.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
        out_path, err_path = base / "stdout", base / "stderr"
        with stdin.open("rb") as given, out_path.open("wb") as out, err_path.open("wb") as err:
            try:
                proc = subprocess.Popen(
                    ["/bin/sh", "-c", command], stdin=given, stdout=out, stderr=err, env=env, start_new_session=True
                )
            except OSError as e:
                raise JudgeFailed(f"cannot start the judge command `{command}`: {e.strerror}") from e
            try:
                status = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                status = None
            finally:
                _kill_group(proc)
        stderr = _tail(err_path)
        if status is None:
            raise JudgeFailed(
                f"the judge command `{command}` gave no reply within {timeout:g} s (--timeout) and was killed; "
                "nothing was stored" + _said(stderr)
            )
        if status != 0:
            how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
            raise JudgeFailed(f"the judge command `{command}` {how}; nothing was stored" + _said(stderr))
        size = out_path.stat().st_size
        if size > MAX_REPLY_BYTES:
            raise JudgeFailed(
                f"the judge command `{command}` printed {size} bytes, over {MAX_REPLY_BYTES >> 20} MiB; "
                "it must print one JSON object"
            )
        return out_path.read_bytes().decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command's process group (it and whatever it started), then reap the shell."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tail(path: Path) -> str:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - STDERR_SHOWN * 4))
        text = f.read().decode("utf-8", "replace").strip()
    return ("…" + text[-STDERR_SHOWN:]) if len(text) > STDERR_SHOWN or size > STDERR_SHOWN * 4 else text


def _said(stderr: str) -> str:
    return f"; its standard error:\n{stderr}" if stderr else "; it printed nothing on standard error"
