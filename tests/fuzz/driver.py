"""Run every read command of tracer on session files, in this one process, and report what went wrong.

    python -m tests.fuzz.driver WORKDIR FILE...

For each file: ``ls`` (of a sessions directory holding just it), ``show``, ``export`` in each format, ``verify
--test-command true --no-sandbox`` (with a signing key of the user's, so the signature check reads every file),
``judge`` (its process checks), ``dataset build --format jsonl``, ``insights`` (its index of a directory holding
just it), and the replay's loading path (:func:`tracer.app.replaying.build_app`); then one ``ls`` and one
``insights`` of a directory holding all of them. The commands run
through ``tracer.cli.main``, as ``python -m tracer`` runs them, with standard output and error captured as UTF-8
streams that refuse what is not UTF-8 (as a terminal's are).

A run goes wrong when it: exits with another status than 0, 1, 2 or 3; prints a traceback, "internal error" or
"out of memory"; runs longer than ``--seconds`` (a hang); prints a control character (other than a newline) from
``ls``, ``show``, ``judge``, ``insights`` or in a message; or exports a JSON document or a line (asciicast, JSON
Lines) that does not parse. Each run is one JSON line on standard output: ``{"file", "command", "status", "wrong",
"seconds"}`` (``wrong``: ``null`` or what went wrong). The caller sets the process's memory limit
(``resource.setrlimit``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

RAW_CONTROL = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


class Hang(BaseException):
    """A command ran out of time (raised by SIGALRM; a BaseException, so tracer's handler cannot catch it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def run_cli(args: list[str], seconds: int) -> tuple[int, bytes, bytes, str | None]:
    """``(exit status, stdout, stderr, what escaped tracer's handler)`` of ``tracer ARGS`` run in this process."""
    from tracer.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr, sys.argv
    streams = [io.TextIOWrapper(b, encoding="utf-8", errors="strict", write_through=True) for b in (out, err)]
    sys.stdout, sys.stderr = streams
    sys.argv = ["tracer", *args]
    status, escaped = 0, None
    signal.alarm(seconds)
    try:
        main()
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Hang:
        escaped = f"no answer after {seconds} s (a hang)"
    except BaseException:  # anything main() let through is a bug
        escaped = traceback.format_exc()
    finally:
        signal.alarm(0)
        for stream in streams:
            stream.flush()
            stream.detach()  # a dropped wrapper would close the buffer under it
        sys.stdout, sys.stderr, sys.argv = saved
    return status, out.getvalue(), err.getvalue(), escaped


def check(command: str, status: int, stdout: bytes, stderr: bytes, escaped: str | None) -> str | None:
    """What went wrong with one run, or ``None``."""
    if escaped is not None:
        return escaped
    if status not in (0, 1, 2, 3):
        return f"exit status {status}"
    if b"Traceback" in stderr or b"internal error" in stderr or b"out of memory" in stderr:
        return stderr.decode("utf-8", "replace")
    if RAW_CONTROL.search(stderr):
        return f"a control character in a message: {stderr!r}"
    if command in ("ls", "show", "judge", "insights") and RAW_CONTROL.search(stdout):
        return f"a control character in the output: {stdout[:2000]!r}"
    if status == 0 and command == "export json":
        try:
            json.loads(stdout)
        except ValueError as e:
            return f"the JSON export does not parse: {e}"
    if status == 0 and command in ("export asciicast", "export asciicast-v3", "export jsonl"):
        try:
            for line in stdout.splitlines():
                json.loads(line)
        except ValueError as e:
            return f"a line of the {command.split()[1]} export does not parse: {e}"
    return None


def run_replay_loading(path: Path, seconds: int) -> str | None:
    from tracer.app.replaying import build_app
    from tracer.errors import TracerError

    signal.alarm(seconds)
    try:
        build_app(path)
    except TracerError:
        return None
    except Hang:
        return f"no answer after {seconds} s (a hang)"
    except BaseException:
        return traceback.format_exc()
    finally:
        signal.alarm(0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workdir", type=Path)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--seconds", type=int, default=60, help="the longest a command may take")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    work: Path = args.workdir
    os.environ["TRACER_CACHE_DIR"] = str(work / "cache")
    os.environ["XDG_STATE_HOME"] = str(work / "state")
    os.environ["XDG_DATA_HOME"] = str(work / "data")
    from tracer.store.signing import user_key

    user_key(create=True)  # a signing key of this user's: verify checks every file's signature with it
    report = sys.stdout
    everything = work / "all"
    everything.mkdir(parents=True, exist_ok=True)

    clock = [time.perf_counter()]

    def say(file: str, command: str, status: int | None, wrong: str | None) -> None:
        now = time.perf_counter()
        seconds, clock[0] = round(now - clock[0], 3), now
        line = {"file": file, "command": command, "status": status, "wrong": wrong, "seconds": seconds}
        report.write(json.dumps(line) + "\n")
        report.flush()

    for n, given in enumerate(args.files):
        alone = work / f"one-{n}"
        alone.mkdir()
        path = alone / given.name
        if given.is_symlink() or not given.is_file() or not os.access(given, os.R_OK):
            os.symlink(os.path.abspath(given), path)  # FIFOs, devices, directories, links, locked files: as they are
        else:
            shutil.copyfile(given, path)  # verify appends its verdict: never to the original
        os.symlink(path, everything / given.name)
        os.environ["TRACER_DIR"] = str(alone)
        runs = [
            ("ls", ["ls"]),
            ("show", ["show", str(path)]),
            ("export json", ["export", str(path), "-f", "json"]),
            ("export asciicast", ["export", str(path), "-f", "asciicast"]),
            ("export asciicast-v3", ["export", str(path), "-f", "asciicast-v3"]),
            ("export jsonl", ["export", str(path), "-f", "jsonl"]),
            ("export patch", ["export", str(path), "-f", "patch", "--from-commit"]),
            ("verify", ["verify", str(path), "--test-command", "true", "--no-sandbox", "--timeout", "30"]),
            ("judge", ["judge", str(path)]),
            ("dataset build", ["dataset", "build", str(work / f"dataset-{n}"), str(path), "--format", "jsonl"]),
            ("insights", ["insights", "--since", "100y"]),
        ]
        for command, argv in runs:
            status, stdout, stderr, escaped = run_cli(argv, args.seconds)
            say(str(given), command, status, check(command, status, stdout, stderr, escaped))
        say(str(given), "replay loading", None, run_replay_loading(path, args.seconds))
    os.environ["TRACER_DIR"] = str(everything)
    status, stdout, stderr, escaped = run_cli(["ls"], args.seconds)
    wrong = check("ls", status, stdout, stderr, escaped)
    listed = len(stdout.splitlines()) - 1
    if wrong is None and listed != len(args.files):
        wrong = f"ls of all {len(args.files)} files listed {listed}: {stdout.decode('utf-8', 'replace')}"
    say("(all)", "ls", status, wrong)
    status, stdout, stderr, escaped = run_cli(["insights", "--since", "100y"], args.seconds)
    say("(all)", "insights", status, check("insights", status, stdout, stderr, escaped))


if __name__ == "__main__":
    main()
