"""``tracer shell`` and ``tracer note`` from the command line, without click, and the error handler every tracer
command runs under.

The recorder's start-up is paid before every recording, and click's import alone is ~15–30 ms here (docs/
performance.md); a note is taken in the middle of the work. So the ``tracer`` entry point (:mod:`tracer.__main__`)
parses a ``tracer shell`` (or ``tracer note``) command line itself when it holds only the options that
:func:`tracer.cli.shell` (:func:`tracer.cli.note`) declares, in the forms click accepts
(``--opt VALUE``, ``--opt=VALUE``, ``-o VALUE``, ``-oVALUE``, flags grouped as ``-lq``, the last of a repeated
option winning); anything else — ``--help``, an unknown option, a missing value, a stray argument — goes to click,
which says what is wrong exactly as for every other command. ``tests/test_cli_shell.py`` checks that both parsers
agree.

Like :mod:`tracer.cli`, this module prints and exits: one line on standard error per message, exit statuses as
:func:`guarded` says.
"""

from __future__ import annotations

import gc
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # (typing, collections.abc and pathlib are not imported on the way to the shell)
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

#: ``tracer shell``'s options: spelling → (parameter, takes a value). The same as :func:`tracer.cli.shell`'s.
SHELL_OPTIONS: dict[str, tuple[str, bool]] = {
    "-o": ("output", True),
    "--output": ("output", True),
    "--task": ("task", True),
    "--test-command": ("test_command", True),
    "--shell": ("shell_path", True),
    "-c": ("command", True),
    "--command": ("command", True),
    "-l": ("login", False),
    "--login": ("login", False),
    "-q": ("quiet", False),
    "--quiet": ("quiet", False),
    "--no-redact": ("no_redact", False),
}

#: The parameters of ``tracer shell`` when no option is given (click's defaults: ``None`` for an option that takes a
#: value, ``False`` for a flag).
SHELL_DEFAULTS: dict[str, Any] = {
    param: None if takes_value else False for param, takes_value in SHELL_OPTIONS.values()
}


def parse_shell_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of ``tracer shell ARGS`` (as click would pass them to :func:`tracer.cli.shell`), or ``None``
    when ``args`` holds anything this parser leaves to click (help, an error)."""
    return _parse(args, SHELL_OPTIONS, SHELL_DEFAULTS)


#: ``tracer note``'s options, as :data:`SHELL_OPTIONS` (the same as :func:`tracer.cli.note`'s); ``--tag`` may be
#: given more than once.
NOTE_OPTIONS: dict[str, tuple[str, bool]] = {"-t": ("tags", True), "--tag": ("tags", True)}


def parse_note_args(args: Sequence[str]) -> dict[str, Any] | None:
    """The parameters of ``tracer note ARGS`` (``text`` and ``tags``, tuples of words as click would pass them to
    :func:`tracer.cli.note`: options anywhere among the words, every ``--tag`` kept, everything after ``--`` a word),
    or ``None`` when ``args`` holds anything this parser leaves to click (help, an error, no text)."""
    params = _parse(args, NOTE_OPTIONS, {"text": (), "tags": ()}, words="text", repeated=("tags",))
    return params if params is not None and params["text"] else None


def _parse(
    args: Sequence[str],
    options: dict[str, tuple[str, bool]],
    defaults: dict[str, Any],
    *,
    words: str | None = None,
    repeated: Sequence[str] = (),
) -> dict[str, Any] | None:
    """Parse ``args`` as click parses a command with these ``options`` (spelling → (parameter, takes a value)):
    ``--opt VALUE``, ``--opt=VALUE``, ``-o VALUE``, ``-oVALUE``, flags grouped as ``-lq``; the last of a repeated
    option wins, except the ``repeated`` parameters, which keep every value in a tuple. ``words``: the parameter
    that takes the other arguments (a tuple, click's ``nargs=-1``), else they are an error. ``None``: what click
    would refuse or answer itself (``--help``, an unknown option, a missing value)."""
    params = dict(defaults)
    many: dict[str, list[Any]] = {p: list(defaults[p]) for p in (*repeated, *([words] if words else []))}

    def put(param: str, value: Any) -> None:
        if param in many:
            many[param].append(value)
        else:
            params[param] = value

    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            if words is None:
                if i < len(args):
                    return None  # a positional argument: click's error
                break
            many[words].extend(args[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            spec = options.get(name)
            if spec is None:
                return None
            param, takes_value = spec
            if not takes_value:
                if eq:
                    return None  # a flag given a value: click's error
                put(param, True)
                continue
            if not eq:
                if i >= len(args):
                    return None  # a missing value
                value = args[i]
                i += 1
            put(param, value)
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                spec = options.get("-" + arg[j])
                if spec is None:
                    return None
                param, takes_value = spec
                if not takes_value:
                    put(param, True)
                    j += 1
                    continue
                value = arg[j + 1 :]
                if not value:
                    if i >= len(args):
                        return None
                    value = args[i]
                    i += 1
                put(param, value)
                break
        elif words is not None:
            many[words].append(arg)
        else:
            return None  # `tracer shell` takes no arguments: click says so
    params.update((param, tuple(values)) for param, values in many.items())
    return params


def say(text: str) -> None:
    """One line on standard error; nothing when the terminal is gone (its window closed)."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def fail(message: str, status: int) -> NoReturn:
    """``tracer: MESSAGE`` on standard error (control characters made visible), then exit with ``status``."""
    from tracer.model import visible

    say(f"tracer: {visible(message)}")
    sys.exit(status)


def plural(n: int, word: str) -> str:
    """``1 command``, ``2 commands``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def tilde(path: str | os.PathLike[str]) -> str:
    """``path`` with the home directory written ``~``."""
    home = os.path.expanduser("~")
    s = os.fspath(path)
    return "~" + s[len(home) :] if home != "/" and s.startswith(home + os.sep) else s


def counts(commands: int, failed: int, edits: int, files: int, notes: int, duration: float) -> str:
    """``14 commands (3 failed), 5 edits in 2 files, 2 notes, 6m12s``: a recording in one line (``no edits``
    when there were none)."""
    from tracer.model import format_duration

    changed = f"{plural(edits, 'edit')} in {plural(files, 'file')}" if edits else "no edits"
    return (
        f"{plural(commands, 'command')} ({failed} failed), {changed}, {plural(notes, 'note')}, "
        f"{format_duration(duration)}"
    )


def guarded(run: Callable[[], object]) -> NoReturn:
    """Run a command with tracer's one error handler around it, then exit.

    Every tracer error becomes one line on standard error and its exit status (2 usage, 3 a tracer error); an
    interrupt exits 130; running out of memory, 3 with what to do; a closed standard output (``tracer ls |
    head``), 0; a bug prints where its traceback was logged and exits 3. ``SystemExit`` passes through.
    """
    from tracer.errors import TracerError, UsageError

    try:
        run()
        sys.exit(0)
    except (UsageError, TracerError) as e:
        fail(str(e), e.exit_status)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except MemoryError:
        fail("out of memory (the limit of `ulimit -v`, or the machine's): free some memory and try again", 3)
    except BrokenPipeError:  # the reader is gone (`tracer ls | head -1`): nothing left to say, and no error
        try:  # what is still buffered goes nowhere at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        sys.exit(0)
    except Exception as e:
        from tracer.app.crashlog import log_exception

        log = log_exception("tracer " + " ".join(sys.argv[1:]), e)
        where = f"; the traceback is in {log}" if log else ""
        fail(f"internal error: {type(e).__name__}: {e}{where} (please report it)", 3)
    finally:
        # The process ends here. Freezing what is left spares the interpreter's teardown its collections,
        # which walk every object again: about 20 ms of every exit (e.g. after `tracer shell -c CMD`).
        gc.freeze()


def shell(
    output: str | None = None,
    task: str | None = None,
    test_command: str | None = None,
    shell_path: str | None = None,
    command: str | None = None,
    login: bool = False,
    quiet: bool = False,
    no_redact: bool = False,
) -> NoReturn:
    """``tracer shell``: record until the shell exits, say where the session went, exit with the shell's status.

    Raises:
        TracerError: the recording cannot start (for :func:`guarded`).
    """
    from tracer.app.recording import RecordOptions, record
    from tracer.userdirs import config_file

    config = None
    found = config_file()
    if os.path.lexists(found):  # (no configuration file: nothing of the configuration is imported)
        from pathlib import Path

        from tracer.config import load_config

        config = load_config(Path(found))  # (the file just looked for, not looked for again)
        if config.rules or config.allowlist:
            from tracer.redact import check_config

            check_config(config)  # a bad rule is an error now, not in the middle of the recording
        if config.retention_days is not None:
            _apply_retention(config.retention_days, str(config.path), quiet)

    def on_start(path: str, warning: str | None) -> None:
        if warning:
            say(warning)
        if not quiet and command is None:
            say(f"tracer: recording to {tilde(path)}  (exit the shell to stop)")

    def on_warning(message: str) -> None:
        say(f"\r\n{message}\r")

    if os.environ.get("TRACER_SESSION") and command is None:
        say(
            f"tracer: note: this shell is already recorded to {tilde(os.environ['TRACER_SESSION'])}; "
            "recording a nested session"
        )
    options = RecordOptions(
        shell=shell_path,
        command=command,
        output=output,
        task=task,
        test_command=test_command,
        login=login,
        redact=not no_redact,
        config=config,
    )
    summary = record(options, on_start=on_start, on_warning=on_warning)
    line = counts(summary.commands, summary.failed, summary.edits, summary.files, summary.notes, summary.duration)
    masked = sum((summary.redactions or {}).values())
    if masked:
        line += f", {plural(masked, 'secret')} masked"
    stopped = "" if summary.reason == "exit" else f" (stopped by {summary.reason})"
    lost = summary.unwritten
    if lost is None:
        if not quiet:
            say(f"tracer: saved {tilde(summary.path)}: {line}{stopped}")
    else:  # (said even with -q: recorded work was lost) the shell's own status stays the exit status
        from tracer.model import format_duration

        if not quiet:
            say(f"tracer: recorded {line}{stopped}")
        say(
            f"tracer: warning: {tilde(summary.path)} is INCOMPLETE: {lost.reason}, so {lost.describe()} "
            f"(from {format_duration(lost.since / 1e6)} on) could not be written"
        )
    if summary.unmasked:  # (said even with -q: the file holds a secret)
        n = summary.unmasked
        it, was = ("it", "was") if n == 1 else ("they", "were")
        say(
            f"tracer: {plural(n, 'secret')} {was} recorded before {it} {was} recognised: unmasked in the session "
            "file, masked in every export (share exports, not the file)"
        )
    sys.exit(summary.exit_status)


def _apply_retention(days: int, where: str, quiet: bool) -> None:
    """``retention_days``: delete the sessions older than that, and say so."""
    import datetime as dt

    from tracer.app.retention import remove_sessions
    from tracer.store.retention import older_than

    victims = older_than(dt.timedelta(days=days))
    if victims:
        n = remove_sessions(victims, forget=False)
        if not quiet:
            say(
                f"tracer: deleted {plural(n, 'session')} older than {plural(days, 'day')} "
                f"(retention_days in {tilde(where)})"
            )


def main_shell(params: dict[str, Any]) -> NoReturn:
    """``tracer shell`` with parsed parameters, under :func:`guarded` (the entry point's fast path)."""
    guarded(lambda: shell(**params))


def main_note(params: dict[str, Any]) -> NoReturn:
    """``tracer note`` with parsed parameters (:func:`parse_note_args`), under :func:`guarded`: what
    :func:`tracer.cli.note` does, without click."""

    def note() -> None:
        from tracer.capture.notes import send_note

        send_note(" ".join(params["text"]), params["tags"])

    guarded(note)
