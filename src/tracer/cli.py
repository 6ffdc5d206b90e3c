"""The ``tracer`` command line: parse, call one service, print, exit.

This module and :mod:`tracer.cli_shell` (``tracer shell`` without click, and the error handler) are the only
ones that print or exit. Every tracer error becomes one line on standard error and its
exit status (2 usage, 3 a tracer error); ``tracer verify`` exits 1 when the tests fail; an interrupt exits 130;
a bug prints where its traceback was logged and exits 3. ``tracer shell`` exits with the shell's own status.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import tracer
from tracer import cli_shell
from tracer.errors import TracerError, UsageError
from tracer.model import (
    JudgeResult,
    Summary,
    VerifyResult,
    format_duration,
    pair_commands,
    parse_rfc3339,
    visible,
)

if TYPE_CHECKING:  # (the store's retention is imported by rm and purge alone)
    from tracer.store.retention import Victim

_fail = cli_shell.fail
_plural = cli_shell.plural
_counts = cli_shell.counts
_tilde = cli_shell.tilde


def _resolve(arg: str | None) -> Path:
    from tracer.store import resolve_session

    return resolve_session(arg)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(tracer.__version__, prog_name="tracer")
def cli() -> None:
    """Record real problem solving in your own shell, replay it, and verify its final patch.

    Start with `tracer shell` in a git repository, work as usual, exit the shell; then `tracer replay`
    and `tracer verify`. Sessions stay on this machine (see `tracer ls`).
    """


@cli.command()
@click.option("-o", "--output", metavar="PATH", help="Session file or directory (default: the sessions directory).")
@click.option("--task", metavar="TEXT", help="What this session is about, e.g. 'fix #123: slugify drops unicode'.")
@click.option("--test-command", metavar="CMD", help="The command whose result is the session's verdict.")
@click.option("--shell", "shell_path", metavar="PATH", help="Shell to start (default: $SHELL).")
@click.option(
    "-c",
    "--command",
    metavar="CMD",
    help="Record this one command line instead of a shell, like `script -c`.",
)
@click.option("-l", "--login", is_flag=True, help="Start the shell as a login shell.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing at start and end.")
@click.option("--no-redact", is_flag=True, help="Record secrets as they are (the header says so); masked by default.")
def shell(
    output: str | None,
    task: str | None,
    test_command: str | None,
    shell_path: str | None,
    command: str | None,
    login: bool,
    quiet: bool,
    no_redact: bool,
) -> None:
    """Start your shell and record it until it exits.

    Records every command line with its exit status, working directory, duration and output, every edit to
    the files of the repository as a unified diff, and `tracer note` thoughts; at the end, the final patch.
    Secrets (tokens, keys, passwords; see docs/privacy.md) are masked before anything reaches the disk.
    Exits with the shell's own exit status.
    """
    cli_shell.shell(output, task, test_command, shell_path, command, login, quiet, no_redact)


@cli.command()
@click.argument("text", nargs=-1, required=True)
@click.option("-t", "--tag", "tags", multiple=True, metavar="TAG", help="A label: hypothesis, dead-end, fix, insight…")
def note(text: tuple[str, ...], tags: tuple[str, ...]) -> None:
    """Add a thought to the recording, at this moment (only inside `tracer shell`)."""
    from tracer.capture.notes import send_note

    send_note(" ".join(text), tags)


@cli.command("ls")
@click.option(
    "--since",
    metavar="7d|DATE",
    help="Only the sessions started in this period: 12h, 7d, 2w, 30d, 6m, 1y, or since a date (2026-11-01).",
)
@click.option(
    "--repo", "repo", metavar="PATH", help="Only the sessions of this repository (a directory or a remote URL)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as a JSON array, one object each.")
def list_(since: str | None, repo: str | None, as_json: bool) -> None:
    """List sessions, newest first: id, start, duration, commands, failures, edits, notes, verdict, repository
    and task.

    Sessions are read from $TRACER_DIR, else the user data directory (~/.local/share/tracer/sessions).
    The verdict is the latest `tracer verify` result, "recording" for a session being recorded now,
    "interrupted" for a recording that was cut short, or "damaged" for a file of which a part cannot be read.
    A file that cannot be read at all gets one line saying why (left out when --since or --repo filter the
    list). On a terminal the task is cut to its width, and on a narrow one STARTED is left off (the id holds the
    start time too).
    """
    from tracer.store import list_sessions, session_summaries, sessions_dir

    keep = _session_filter(since, repo)
    paths = list_sessions()
    if not paths:
        if as_json:
            click.echo("[]")
        click.echo(f"no sessions in {visible(_tilde(sessions_dir()))} yet: record one with `tracer shell`", err=True)
        return
    listed = [(p, s) for p, s in session_summaries(paths) if keep is None or (isinstance(s, Summary) and keep(s))]
    if as_json:
        click.echo(_ls_json(listed))
        return
    if not listed:
        click.echo("no sessions match", err=True)
        return
    import shutil

    from tracer.app.live import Live

    live = Live()
    recording = {p for p, s in listed if isinstance(s, Summary) and s.interrupted and live.pid(p) is not None}
    # on a terminal the task is cut to fit (the counts and the verdict never are); in a pipe, lines are whole
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else 0
    click.echo("\n".join(_ls_table(listed, columns, recording)))


# tracer ls's columns before the repository and the task: heading and alignment
_LS_HEADS: tuple[tuple[str, str], ...] = (
    ("ID", "<"),
    ("STARTED", "<"),
    ("DURATION", ">"),
    ("CMDS", ">"),
    ("FAILED", ">"),
    ("EDITS", ">"),
    ("NOTES", ">"),
    ("VERDICT", "<"),
)
_LS_TASK_CELLS = 8  # the least of a task worth showing; with less room it is left off


def _ls_table(
    listed: list[tuple[Path, Summary | TracerError]], columns: int, recording: set[Path] | None = None
) -> list[str]:
    """The lines of ``tracer ls``: a heading, then one line per session, each column as wide as its widest
    value; the verdict of those in ``recording`` (being recorded now) reads "recording", not "interrupted".
    ``columns`` is the terminal's width in cells (0: not a terminal, lines whole). Where a line does not
    fit, the task is cut; where even the counts, the repository and a few cells of task do not fit, STARTED is
    left off (the session id holds the start time too), then the repository and the task."""
    table: list[tuple[list[str], str, str] | str] = []
    for path, s in listed:
        if isinstance(s, TracerError):
            table.append(f"{visible(path.name.removesuffix('.tracer'))} unreadable: {visible(str(s))}")
            continue
        verdict = s.verdict or ("damaged" if s.damaged else "interrupted" if s.interrupted else "-")
        if recording and path in recording and verdict == "interrupted":
            verdict = "recording"
        cells = [visible(s.session_id), _local_time(s.started_at), format_duration(s.duration)]
        cells += [str(n) for n in (s.commands, s.failed, s.edits, s.notes)] + [visible(verdict)]
        table.append((cells, _repo_name(s), visible(s.task or "")))
    rows = [row for row in table if not isinstance(row, str)]
    rows.insert(0, ([head for head, _ in _LS_HEADS], "REPO", "TASK"))
    widths = [max(_cells(cells[i]) for cells, _, _ in rows) for i in range(len(_LS_HEADS))]
    repo_width = max(_cells(repo) for _, repo, _ in rows)
    shown = list(range(len(_LS_HEADS)))
    if columns > 0 and sum(widths) + len(widths) + repo_width + 2 + _LS_TASK_CELLS > columns:
        longest = max(sum(widths) + len(widths) + repo_width + 2 + _cells(task) for _, _, task in rows)
        if longest > columns:
            shown.remove(1)  # STARTED
    lines = []
    for row in [rows[0], *table]:
        if isinstance(row, str):  # a file that cannot be read: why, as much as fits
            lines.append(_cut(row, columns))
            continue
        cells, repo, task = row
        counts = " ".join(_pad(cells[i], widths[i], _LS_HEADS[i][1]) for i in shown)
        lines.append(_ls_line(counts, repo, task, repo_width, columns))
    return lines


def _pad(text: str, width: int, align: str) -> str:
    """``text`` padded with spaces to ``width`` terminal cells, on the right (``align`` "<") or the left."""
    fill = " " * max(0, width - _cells(text))
    return text + fill if align == "<" else fill + text


def _ls_line(counts: str, repo: str, task: str, width: int, columns: int) -> str:
    """One line of ``tracer ls``: ``counts``, then ``repo`` padded to ``width`` and ``task``, cut to ``columns``
    (0: whole) but never into ``counts``: what does not fit of the repository and task is left off."""
    line = f"{counts} {_pad(repo, width, '<')}  {task}".rstrip() if repo or task else counts.rstrip()
    if columns <= 0 or _cells(line) <= columns:
        return line
    if _cells(counts) + 1 + width + 2 + _LS_TASK_CELLS > columns:  # no room for a useful part of the task
        return counts.rstrip()
    return _cut(line, columns)


def _cut(line: str, columns: int) -> str:
    """``line`` cut to ``columns`` terminal cells (0: whole), ending in "…" where it was cut."""
    if columns <= 0 or _cells(line) <= columns:
        return line
    while _cells(line) > columns - 1:  # (a wide character takes two cells)
        line = line[: len(line) - max(1, (_cells(line) - columns + 2) // 2)]
    return line + "…"


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes: two for a wide (East Asian) character, none for a combining one."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text
    )


def _session_filter(since: str | None, repo: str | None) -> Callable[[Summary], bool] | None:
    """What ``tracer ls --since/--repo`` keeps, as a test of a summary; ``None``: everything.

    Raises:
        UsageError: the period or the repository is not one (as ``tracer insights`` says).
    """
    if since is None and repo is None:
        return None
    import datetime as dt

    from tracer.insights import parse_period, repository_of

    start = None if since is None else parse_period(since).since.replace(tzinfo=dt.UTC)
    where = None if repo is None else repository_of(repo)

    def keep(s: Summary) -> bool:
        if start is not None and parse_rfc3339(s.started_at) < start:
            return False
        if where is None:
            return True
        workspace = s.workspace or ""  # the same test as tracer insights --repo
        return where in (s.repository, workspace) or workspace.startswith(where.rstrip("/") + "/")

    return keep


def _repo_name(s: Summary) -> str:
    """The REPO column: the name of the session's repository (its top level), else of its workspace."""
    where = (s.repo_root or s.workspace or "").rstrip("/")
    return visible(where.rsplit("/", 1)[-1] if where else "")[:24]


def _ls_json(listed: list[tuple[Path, Summary | TracerError]]) -> str:
    """``tracer ls --json``: each summary's fields, its ``path`` and ``verdict``; ``error`` for a file that cannot
    be read. ASCII JSON: no control character of a session reaches the terminal."""
    import json

    items: list[dict[str, object]] = []
    for path, s in listed:
        if isinstance(s, TracerError):
            items.append({"path": str(path), "error": str(s)})
        else:
            items.append({"path": str(path), **dataclasses.asdict(s)})
    return json.dumps(items, indent=1)


def _local_time(rfc3339: str) -> str:
    when = parse_rfc3339(rfc3339).astimezone()
    return when.strftime("%Y-%m-%d %H:%M")


@cli.command()
@click.argument("session", metavar="[S]", required=False)
def show(session: str | None) -> None:
    """Print a summary of a session: task, where, commands with their exit statuses, edits, notes, verdict.

    S is a session file, a session-id prefix, or nothing for the latest session.
    """
    from tracer.store import read_outline

    path = _resolve(session)
    s = read_outline(path)  # everything but output and diffs: bounded memory whatever the session's size
    h = s.header
    summary = s.summary()
    cmds, failed, edits, files, notes = summary.commands, summary.failed, summary.edits, summary.files, summary.notes
    click.echo(f"session   {visible(h.session_id)}  ({visible(_tilde(path))})")
    click.echo(f"started   {_local_time(h.started_at)}  for {format_duration(s.duration)}")
    if h.task:
        click.echo(f"task      {visible(h.task)}")
    where = (
        h.workspace + (f"  at {h.head_commit[:12]}" if h.head_commit else "") + (f" ({h.branch})" if h.branch else "")
    )
    click.echo(f"workspace {visible(where)}")
    if h.baseline_omitted:
        click.echo(
            f"start     {len(h.baseline_omitted)} left out of the start state (`tracer verify --copy PATH` brings "
            "untracked ones in)"
        )
        _echo_omitted(h.baseline_omitted)
    click.echo(f"shell     {visible(h.shell)} ({visible(h.shell_kind)}), {h.cols}x{h.rows}")
    if h.test_command:
        click.echo(f"tests     {visible(h.test_command)}")
    from tracer.app.live import Live

    pid = Live().pid(path) if s.end is None else None
    click.echo(f"recorded  {_counts(cmds, failed, edits, files, notes, s.duration)}")
    counts = s.end.redactions if s.end is not None else None
    click.echo(f"redaction {_redaction(h.redaction, counts, pid is not None)}")
    end = s.end
    if end is not None and end.unmasked:
        late = len(end.unmasked)
        it, was, is_ = ("it", "was", "is") if late == 1 else ("they", "were", "are")
        click.echo(
            f"          {_plural(late, 'secret')} recorded before {it} {was} recognised {is_} unmasked in this "
            f"file; every export masks {'it' if late == 1 else 'them'}"
        )
    if pid is not None:
        click.echo(f"status    being recorded now (tracer pid {pid}): what it has written so far is shown")
    elif end is None:
        click.echo("status    the recording was interrupted (no session_end): everything recorded is shown")
    elif end.reason != "exit":
        click.echo(f"status    {_stopped_by(end.reason)}; the shell's exit status was {end.exit_status}")
    for warning in end.warnings if end is not None else ():
        click.echo(f"warning   {visible(warning.removeprefix('tracer: '))}")
    if s.problem:
        click.echo(f"problem   {visible(s.problem)}")
    commands, _ = pair_commands(s.events)  # lines and statuses only: no output is copied
    if commands:
        click.echo("\ncommands")
        for c in commands:
            # ↩: a bare `exit`, whose status is the command's before it (no failure of its own, as the replay shows)
            mark = "?" if c.exit_status is None else "✗" if c.failed else "↩" if c.exit_status else "✓"
            status = "" if c.exit_status is None else f"{c.exit_status:>3}"
            dur = "" if c.duration is None else format_duration(c.duration)
            first, *more = c.command.splitlines() or [""]
            click.echo(f"  {mark} {status:>3} {dur:>7}  {visible(first)}" + (" …" if more else ""))
    changes = s.file_changes()
    if changes:
        click.echo("\nedits")
        for fc in changes:
            what = f"{fc.old_path} → {fc.path}" if fc.old_path else fc.path
            size = f"+{fc.added} -{fc.removed}" if not (fc.binary or fc.oversized) else f"{fc.size} bytes"
            click.echo(f"  {visible(fc.op):<7} {visible(what)}  {size}")
    notes_now = s.notes()
    if notes_now:
        click.echo("\nnotes")
        for n in notes_now:
            tags = f" [{', '.join(n.tags)}]" if n.tags else ""
            click.echo(
                f"  {format_duration(n.t / 1e6):>7}  {visible(n.text + tags)}"
                + ("  (replay)" if n.source == "replay" else "")
            )
    final = s.final_patch
    if final is not None:
        click.echo(
            f"\nfinal patch: {_plural(final.changes, 'file')}"
            + (f", {len(final.omitted)} omitted" if final.omitted else "")
        )
        _echo_omitted(final.omitted)
    r = s.verify_result
    if r is not None:
        click.echo(f"verdict   {visible(r.verdict)}  ({visible(_result_counts(r))}; `{visible(r.command)}`)")
    judged = s.judge_result
    if judged is not None:
        for line in _judge_block(judged):
            click.echo(visible(line))


#: What ``tracer show`` lists of a final patch's or start state's omitted files, one line each.
_OMITTED_SHOWN = 20


def _echo_some(lines: Sequence[str], prefix: str, more: str, *, err: bool = False) -> None:
    """The first :data:`_OMITTED_SHOWN` of ``lines`` (from a session: escaped), each after ``prefix``, then ``more``
    with how many were not shown in its ``{}`` (a session from elsewhere may list thousands)."""
    for line in lines[:_OMITTED_SHOWN]:
        click.echo(f"{prefix}{visible(line)}", err=err)
    if len(lines) > _OMITTED_SHOWN:
        click.echo(more.format(len(lines) - _OMITTED_SHOWN), err=err)


def _echo_omitted(omitted: Sequence[str]) -> None:
    """``tracer show``'s lines of a final patch's or start state's omitted files (:func:`_echo_some`)."""
    _echo_some(omitted, "  omitted  ", "  … and {} more (tracer export --format jsonl lists all)")


def _stopped_by(reason: str) -> str:
    """Why a recording stopped, from ``session_end.reason`` (``"SIGTERM"``, ``"SIGHUP"``, ``"error"``)."""
    if reason.startswith("SIG"):
        return f"the recording was stopped by {visible(reason)}"
    if reason == "error":
        return "the recording was stopped by an error of tracer's (see the warnings)"
    return f"the recording stopped: {visible(reason)}"


def _redaction(label: str | None, counts: dict[str, int] | None, recording: bool = False) -> str:
    """What record-time redaction did, for ``tracer show`` (``recording``: the session is being recorded now)."""
    if label is None:
        return "none (recorded by a tracer that did not mask secrets: `tracer export` masks them)"
    label = visible(label)  # from the file: escaped like all its text
    if label.startswith("off"):
        return f"{label} (recorded with --no-redact: secrets are as typed; `tracer export` masks them)"
    # "on (rules v1): …": the label names the rule set (a version, and the user's own rules), not a count
    if counts is None:
        why = "given when the recording ends" if recording else "the recording was interrupted"
        return f"on ({label}): counts unknown ({why})"
    from tracer.redact import describe_counts

    return f"on ({label}): {visible(describe_counts(counts))} masked"


def _result_counts(r: VerifyResult) -> str:
    return r.counts() or f"exit status {r.exit_status}"


@cli.command()
@click.argument("session", metavar="[S]", required=False)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["json", "jsonl", "asciicast", "asciicast-v3", "patch"]),  # tracer.store.export.FORMATS
    default="json",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here (mode 0600) instead of standard output.",
)
@click.option(
    "--from-commit",
    is_flag=True,
    help="With --format patch: the changes present at start, then the final patch: what git apply takes on a "
    "clean checkout of the start commit.",
)
@click.option("--preview", is_flag=True, help="Write nothing: list what would be masked, and where (never the values).")
@click.option("--no-redact", is_flag=True, help="Export as recorded: only record-time masking applies.")
def export(
    session: str | None, fmt: str, output: str | None, from_commit: bool, preview: bool, no_redact: bool
) -> None:
    """Write a session as a trace JSON document, JSON Lines of its events, an asciicast v2 or v3 recording, or
    its final patch (docs/export.md describes each format).

    Secrets, e-mail and IP addresses, your home directory, user and host name are masked first (see
    docs/privacy.md); one line on standard error says how much. S is a session file, a session-id prefix, or
    nothing for the latest session. The export is streamed: its memory does not grow with the session. Of a
    damaged or interrupted session, everything readable is exported, and one line on standard error says what is
    missing.
    """
    from tracer.store import SessionReader
    from tracer.store.export import exporter as exporter_of

    if from_commit and fmt != "patch":
        raise UsageError(f"--from-commit goes with --format patch (the patch from the start commit), not {fmt}")
    exporter = exporter_of(fmt, from_commit=from_commit)
    path = _resolve(session)
    with SessionReader(path) as reader:
        source: Any = reader  # what the exporter reads: the session, or (by default) the session masked
        redactor = None
        if preview or not no_redact:
            from tracer.config import load_config
            from tracer.model import Event, FinalPatch, Header
            from tracer.redact import export_redactor
            from tracer.store.redacted import RedactedReader

            redactor = export_redactor(load_config(), reader.header, collect=preview)
            # a patch export writes the final patch alone (and the header's start state, --from-commit): what it
            # does not write need not be masked, nor counted
            only: tuple[type[Event], ...] | None = None
            if fmt == "patch" and not preview:
                only = (FinalPatch, Header) if from_commit else (FinalPatch,)
            source = RedactedReader(reader, redactor, only)
            if preview:
                for _ in source.events():  # one pass masks (and notes) everything
                    pass
                _print_preview(redactor.findings or [])
                return
        else:  # what record time masked stays masked: the values it wrote before it learnt them too
            from tracer.redact import recorded_values_redactor
            from tracer.store.redacted import RedactedReader

            source = RedactedReader(reader, recorded_values_redactor(reader.header.redaction or ""))
        if output is None:
            out = sys.stdout.buffer
            for chunk in exporter(source):
                out.write(chunk)
            out.flush()
        else:
            try:
                fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
                os.fchmod(fd, 0o600)  # private even when the file was there before
                with open(fd, "wb") as f:
                    for chunk in exporter(source):
                        f.write(chunk)
            except OSError as e:
                raise TracerError(f"cannot write {output}: {e.strerror}") from e
        if redactor is None:
            click.echo(
                "tracer: export not redacted (--no-redact): only what was masked at record time is hidden", err=True
            )  # (and the values it wrote before it recognised them: RedactedReader above)
        else:
            click.echo(f"tracer: export masked {redactor.summary()} ({redactor.rules.label})", err=True)
            # (a patch applies without them: say so)
            _echo_some(
                redactor.left_out, "tracer: left out of the export: ", "tracer: … and {} more binary files", err=True
            )
        if reader.problem:
            click.echo(f"tracer: partial export: {visible(reader.problem)}", err=True)
        elif not reader.ended:
            from tracer.app.live import Live

            pid = Live().pid(path)
            why = (
                "the recording was interrupted (the session has no end): what would have come after its last "
                "event is missing"
                if pid is None
                else f"the session is being recorded now (tracer pid {pid}): this is what it held so far"
            )
            click.echo(f"tracer: partial export: {why}", err=True)


def _print_preview(findings: list[Any]) -> None:
    """``tracer export --preview``: a line per masked value: when, in what, by which rule, and around it."""
    if not findings:
        click.echo("nothing would be masked")
        return
    click.echo(f"{'TIME':>8}  {'EVENT':<14} {'RULE':<24} CONTEXT (value replaced)")
    for f in findings:
        click.echo(f"{format_duration(f.t / 1e6):>8}  {f.event:<14} {f.rule:<24} {f.context}")
    from tracer.redact import describe_counts

    counts: dict[str, int] = {}
    for f in findings:
        counts[f.rule] = counts.get(f.rule, 0) + 1
    click.echo(f"\n{describe_counts(counts)} would be masked; nothing was written")


@cli.command()
@click.argument("sessions", metavar="S...", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
def rm(sessions: tuple[str, ...], yes: bool) -> None:
    """Delete sessions and everything derived from them (cached summaries, the replay's index and keyframes,
    insights rows).

    Each S is a session file or a session-id prefix.
    """
    from tracer.app.retention import remove_sessions
    from tracer.store.retention import describe

    asked = [describe(_resolve(arg)) for arg in dict.fromkeys(sessions)]
    victims = _not_recording(asked)
    if not victims:
        sys.exit(1)
    if not yes:
        names = ", ".join(v.session_id for v in victims[:5]) + (" …" if len(victims) > 5 else "")
        _confirm(f"delete {_plural(len(victims), 'session')} ({names})?")
    n = remove_sessions(victims)
    click.echo(f"tracer: deleted {_plural(n, 'session')}", err=True)
    if len(victims) < len(asked):
        sys.exit(1)  # as rm(1) does when it could not remove one


@cli.command()
@click.option(
    "--older-than",
    "age",
    required=True,
    metavar="AGE",
    help="Sessions started before this long ago: 30d, 12h, 2w; 0d: all.",
)
@click.option("-n", "--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
def purge(age: str, dry_run: bool, yes: bool) -> None:
    """Delete the sessions recorded before a given age, and everything derived from them.

    `retention_days` in ~/.config/tracer/config.toml does the same at the start of each `tracer shell`.
    """
    from tracer.app.retention import remove_sessions
    from tracer.store import sessions_dir
    from tracer.store.retention import older_than, parse_age

    victims = older_than(parse_age(age))
    if not victims:
        click.echo(f"no sessions older than {age} in {_tilde(sessions_dir())}", err=True)
        return
    victims = _not_recording(victims)
    if not victims:
        return
    if dry_run:
        for v in victims:
            when = _local_time(v.started.isoformat()) if v.started else "unreadable"
            click.echo(f"{v.session_id:<26} {when}")
        click.echo(f"tracer: would delete {_plural(len(victims), 'session')} (dry run: nothing deleted)", err=True)
        return
    if not yes:
        _confirm(f"delete {_plural(len(victims), 'session')} older than {age} from {_tilde(sessions_dir())}?")
    n = remove_sessions(victims)
    click.echo(f"tracer: deleted {_plural(n, 'session')} older than {age}", err=True)


def _not_recording(victims: list[Victim]) -> list[Victim]:
    """``victims`` but those being recorded now, each named on standard error: deleting one would take what is
    still to be recorded with it."""
    from tracer.app.retention import recording

    busy = recording(victims)
    for v, pid in busy:
        click.echo(
            f"tracer: kept {visible(v.session_id)}: it is being recorded now (tracer pid {pid}); delete it once its "
            "shell exits",
            err=True,
        )
    kept = {id(v) for v, _ in busy}
    return [v for v in victims if id(v) not in kept]


def _confirm(question: str) -> None:
    """Ask ``question``; stop (exit 1) unless the answer is yes. Without a terminal, ``--yes`` is needed."""
    if not sys.stdin.isatty():
        raise UsageError(f"{question.rstrip('?')}: standard input is not a terminal, so pass --yes to confirm")
    if not click.confirm(f"tracer: {question}", default=False, err=True):
        _fail("nothing deleted", 1)


@cli.command()
@click.argument("session", metavar="[S]", required=False)
def replay(session: str | None) -> None:
    """Play a session back in the terminal: timeline, screen, diffs, notes.

    S is a session file, a session-id prefix, or nothing for the latest session. Press ? for the keys. Needs a
    terminal: `tracer show` prints a session, `tracer export` writes it (an asciicast for asciinema).
    """
    from tracer.app.replaying import build_app

    app = build_app(_resolve(session))  # a file that cannot be read is said first
    for name, stream in (("input", sys.stdin), ("output", sys.stdout)):
        if not stream.isatty():
            raise UsageError(
                f"the replay needs a terminal, and standard {name} is not one: `tracer show` prints the session, "
                "`tracer export --format asciicast` writes it for asciinema"
            )
    app.run()


@cli.command()
@click.argument("session", metavar="[S]", required=False)
@click.option("--test-command", metavar="CMD", help="Run this instead of the session's test command.")
@click.option(
    "--timeout",
    type=float,
    default=1800.0,
    show_default=True,
    metavar="SECONDS",
    help="Kill the tests after this long.",
)
@click.option("--compare-base", is_flag=True, help="Also run the tests without the patch: FAIL_TO_PASS / PASS_TO_FAIL.")
@click.option(
    "--copy",
    "copy",
    multiple=True,
    metavar="PATH",
    help="Untracked file or directory the tests need (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-y", "--yes", is_flag=True, help="Run an untrusted session's tests without asking.")
@click.option(
    "--sandbox/--no-sandbox",
    default=None,
    help="Run the tests in a bubblewrap sandbox (no network, only the worktree writable). Default: for "
    "sessions that are not yours.",
)
@click.option("--image", metavar="IMAGE", help="Run the tests in a container of this local image (podman or docker).")
def verify(
    session: str | None,
    test_command: str | None,
    timeout: float,
    compare_base: bool,
    copy: tuple[str, ...],
    as_json: bool,
    yes: bool,
    sandbox: bool | None,
    image: str | None,
) -> None:
    """Apply the final patch to a clean checkout of the start commit and run the tests: the verdict.

    Uses a temporary git worktree; your working tree is never touched. Exits 0 when the tests pass
    (or the patch resolves the failing tests), 1 when they fail or time out.
    S is a session file, a session-id prefix, or nothing for the latest session.

    A session you did not record on this machine is untrusted: verify shows what it would run and asks
    first (--yes runs it; without a terminal it stops), and runs its tests in a bubblewrap sandbox
    (--no-sandbox runs them as you). See docs/verify.md.
    """
    from tracer.app.verifying import VerifyPlan, verify_session

    if image is not None and sandbox:
        raise UsageError("--sandbox and --image each isolate the tests: choose one")
    path = _resolve(session)

    def confirm(plan: VerifyPlan) -> bool:
        for line in plan.lines():
            click.echo(f"tracer: {line}", err=True)
        return click.confirm("tracer: run it?", default=False, err=True)

    err = sys.stderr.buffer if as_json else sys.stdout.buffer

    def on_output(data: bytes) -> None:
        err.write(data)
        err.flush()

    def on_progress(line: str) -> None:
        click.echo(f"tracer: {visible(line)}", err=True)

    result = verify_session(
        path,
        test_command=test_command,
        timeout=timeout,
        copy=copy,
        compare_base=compare_base,
        on_output=on_output,
        on_progress=on_progress,
        confirm=confirm if sys.stdin.isatty() else None,
        yes=yes,
        sandbox=sandbox,
        image=image,
    )
    if as_json:
        data = result.to_dict()
        data["tests"] = [tc.to_dict() for tc in result.tests]
        import json

        click.echo(json.dumps(data, indent=2))
    else:
        _print_verdict(result)
    sys.exit(0 if result.verdict in ("passed", "resolved") else 1)


@cli.command()
@click.option(
    "--since",
    metavar="7d|30d|DATE",
    help="The period: 12h, 7d, 2w, 30d, 6m, 1y, or a date (2026-11-01). Default: 30d. Compared with the period "
    "of the same length before it.",
)
@click.option(
    "--repo", "repo", metavar="PATH", help="Only the sessions of this repository (a directory or a remote URL)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--dataset",
    metavar="DIR",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Read a dataset of `tracer dataset build` (Parquet) instead of your sessions.",
)
@click.option("--rebuild", is_flag=True, help="Build the index anew from the session files.")
def insights(since: str | None, repo: str | None, as_json: bool, dataset: Path | None, rebuild: bool) -> None:
    """What your sessions say, for a period against the one before it.

    Sessions, time recorded, commands and failures, edits, notes, verify verdicts; the debugging loop (failing
    test → passing test, edit → test cycles, sessions that ended on a failing test); the commands most run and
    most failing; failures grouped by error pattern with a suggestion; failing tests; and per repository.

    Everything stays on this machine. The sessions are indexed into a DuckDB database in the cache directory
    (~/.cache/tracer/insights/), a cache rebuilt from them at will. Needs pip install 'tracer[insights]'.
    """
    from tracer.insights import gather, render, repository_of

    err = sys.stderr
    show_progress = not as_json and err.isatty()

    def progress(done: int, total: int) -> None:
        if total >= 50 and (done % 50 == 0 or done == total):
            err.write(f"\rtracer: indexing sessions {done:,}/{total:,}" + ("\n" if done == total else ""))
            err.flush()

    result = gather(
        since=since,
        repository=None if repo is None else repository_of(repo),
        dataset=dataset,
        rebuild=rebuild,
        progress=progress if show_progress else None,
    )
    if as_json:
        import json

        click.echo(json.dumps(result.to_dict(), indent=2))  # ASCII: no control character of a session escapes
        return
    out = sys.stdout
    color = out.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    import shutil

    width = shutil.get_terminal_size().columns if out.isatty() else 80
    click.echo(render(result, color=color, width=width), nl=False, color=color)


def _print_verdict(r: VerifyResult) -> None:
    click.echo("")
    rows = [
        ("verdict", r.verdict.upper()),
        ("command", f"{r.command}  (from {r.command_origin or r.command_source})"),
        ("patch", r.patch_method or "-"),
        ("tests", _result_counts(r)),
        ("time", f"{r.duration or 0:.1f}s tests + {r.overhead or 0:.1f}s setup"),
    ]
    if r.isolation is not None:
        rows.append(("ran in", f"{r.isolation} image {r.image}" if r.image else f"a {r.isolation} sandbox"))
    if r.fail_to_pass is not None:
        rows.append(("FAIL_TO_PASS", ", ".join(r.fail_to_pass) or "-"))
        rows.append(("PASS_TO_FAIL", ", ".join(r.pass_to_fail or ()) or "-"))
        rows.append(("PASS_TO_PASS", str(len(r.pass_to_pass or ()))))
    if r.flagged:
        rows.append(("flagged", r.flagged))
    failing = [tc.name for tc in r.tests if tc.status in ("failed", "error")]
    if failing:
        rows.append(("failing", ", ".join(failing[:10]) + (" …" if len(failing) > 10 else "")))
    for key, value in rows:
        click.echo(f"{key:<13} {visible(value)}")


@cli.command()
@click.argument("session", metavar="[S]", required=False)
@click.option("--model", metavar="NAME", help="Ask this model (with --base-url) to score the session by the rubric.")
@click.option(
    "--base-url",
    metavar="URL",
    help="An OpenAI-compatible endpoint: http://127.0.0.1:8080/v1 (llama.cpp), http://127.0.0.1:11434/v1 (Ollama).",
)
@click.option(
    "--command",
    "judge_command",
    metavar="CMD",
    help="Ask this shell command instead: the session's trace JSON on its stdin, the scores as JSON on its stdout.",
)
@click.option("--rubric", type=click.Path(dir_okay=False, path_type=Path), help="A rubric file (TOML or JSON).")
@click.option(
    "--api-key-env",
    metavar="VAR",
    default="TRACER_JUDGE_API_KEY",
    show_default=True,
    help="The environment variable holding the endpoint's API key (none is sent when it is unset).",
)
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on the judge after this long.",
)
@click.option(
    "--response-format",
    type=click.Choice(["json_schema", "json_object", "none"]),
    default="json_schema",
    show_default=True,
    help="How the endpoint is asked for JSON: structured outputs, JSON mode, or only the prompt.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=100_000,
    show_default=True,
    metavar="N",
    help="Cut long output until the session sent fits in N characters.",
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Send the session as recorded: only what was masked at record time is hidden (not advised for a hosted "
    "model).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def judge(
    session: str | None,
    model: str | None,
    base_url: str | None,
    judge_command: str | None,
    rubric: Path | None,
    api_key_env: str,
    timeout: float,
    response_format: str,
    max_chars: int,
    no_redact: bool,
    as_json: bool,
) -> None:
    """Judge how the work was done: process checks always, a rubric judge's scores when asked.

    The process checks come from the session's events (no model): reproduced before the first edit, tested
    after the last, hypotheses noted and tested, repeated failures, dead ends, time to the first passing test,
    verified and resolved. With --model and --base-url (any OpenAI-compatible endpoint: llama.cpp, Ollama, vLLM
    or hosted) or --command, the session (masked as `tracer export` masks it, long output cut) and the rubric
    go to that judge, whose scores must cite the session's steps. The result is appended to the session
    (`tracer show` shows it); when the judge fails or replies wrongly, nothing is stored. See docs/judge.md.
    S is a session file, a session-id prefix, or nothing for the latest session.
    """
    from tracer.app.judging import JudgeOptions, judge_session

    options = JudgeOptions(
        model=model,
        base_url=base_url,
        command=judge_command,
        rubric=rubric,
        api_key_env=api_key_env,
        timeout=timeout,
        response_format=response_format,
        max_chars=max_chars,
    )
    options.check()
    path = _resolve(session)

    def on_progress(line: str) -> None:
        click.echo(f"tracer: {visible(line)}", err=True)

    result = judge_session(path, options, redact=not no_redact, on_progress=on_progress)
    if as_json:
        import dataclasses
        import json

        click.echo(json.dumps({"type": result.type, **dataclasses.asdict(result)}, indent=2))
    else:
        _print_judgement(result)


def _print_judgement(r: JudgeResult) -> None:
    for line in r.report():
        click.echo(line)


def _wrapped(label: str, items: list[str], width: int = 110) -> list[str]:
    """``items`` after a 10-column label, on as many lines as they need."""
    lines: list[str] = []
    line = f"{label:<9}"
    for item in items:
        if len(line) + len(item) >= width and line.strip():
            lines.append(line)
            line = " " * 9
        line += " " + item
    return [*lines, line]


def _judge_block(r: JudgeResult) -> list[str]:
    """What `tracer show` says of the newest judgement: the overall score and its judge, the scores, the checks."""
    lines = []
    if r.overall is not None:
        lines.append(f"judge     overall {r.overall}/5 by {r.judged_by} (rubric {r.rubric_id} v{r.rubric_version})")
        lines += _wrapped("", [f"{s.criterion} {s.score}" for s in r.scores])
    checks = [f"{c.mark} {c.id}" + (f" {c.figure}" if c.figure else "") for c in r.checks]
    return lines + _wrapped("checks", checks)


@cli.group()
def dataset() -> None:
    """Turn sessions into a dataset: Parquet or JSON Lines in the Hugging Face layout, plus SWE-bench files."""


@dataset.command("build")
@click.argument("out", metavar="OUT")
@click.argument("sessions", nargs=-1, metavar="[S]...")
@click.option("--all", "all_", is_flag=True, help="Every session (of the sessions directory, or under --from).")
@click.option("--since", metavar="DATE", help="Only sessions started at or after DATE (YYYY-MM-DD or ISO 8601).")
@click.option("--verified", is_flag=True, help="Only sessions whose latest `tracer verify` passed.")
@click.option("--resolved", is_flag=True, help="Only sessions whose latest `tracer verify` verdict is resolved.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True)
@click.option("--from", "source", metavar="URL", help="Read sessions from this directory or fsspec URL.")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already at OUT.")
@click.option(  # the defaults are tracer.dataset.MAX_OUTPUT and MAX_TOOL_OUTPUT (not imported at start-up)
    "--max-output",
    type=int,
    default=1 << 20,
    show_default=True,
    metavar="BYTES",
    help="Output kept per command in `commands` (head and tail; 0 keeps all).",
)
@click.option(
    "--max-tool-output",
    type=int,
    default=16 << 10,
    show_default=True,
    metavar="BYTES",
    help="Output kept per tool result in `messages` (head and tail; 0 keeps all).",
)
@click.option("--no-redact", is_flag=True, help="Sessions as recorded: only record-time masking applies.")
def dataset_build(
    out: str,
    sessions: tuple[str, ...],
    all_: bool,
    since: str | None,
    verified: bool,
    resolved: bool,
    fmt: str,
    source: str | None,
    overwrite: bool,
    max_output: int,
    max_tool_output: int,
    no_redact: bool,
) -> None:
    """Build a dataset of sessions at OUT, a directory or an fsspec URL (s3://, gs://, hf://, sftp://).

    OUT gets data/<config>/*.parquet shards for the configs sessions, commands, edits, notes and messages (a
    chat trajectory with tool calls), a README.md dataset card describing every column, and
    swe-bench/instances.jsonl and predictions.jsonl. S is a session file or id prefix (with --from, a file name
    or prefix there); --all takes every session. Needs pip install 'tracer[dataset]'.
    """
    from tracer.dataset import BuildOptions, Selection, build_dataset, parse_since

    if verified and resolved:
        raise UsageError("--verified and --resolved exclude each other: --resolved keeps the resolved sessions only")
    selection = Selection(
        sessions=sessions,
        all=all_,
        since=parse_since(since) if since else None,
        verified=verified,
        resolved=resolved,
        source=source,
    )
    redaction = _export_redaction(no_redact)
    from tracer.app.live import Live
    from tracer.judge import process_checks  # the dataset does not judge: it is given the checks to compute

    options = BuildOptions(
        fmt=fmt,
        overwrite=overwrite,
        max_output=max_output,
        max_tool_output=max_tool_output,
        checks=process_checks,
        recording=Live().pid,
    )
    if redaction.rules:
        options = dataclasses.replace(
            options, redact=redaction, redaction=f"export-time redaction, {redaction.label}", masked=redaction.summary
        )
    else:  # (what record time masked stays masked: the values it wrote before it learnt them too)
        options = dataclasses.replace(options, redact=redaction)

    back = "\r" if sys.stderr.isatty() else ""  # a terminal sees one line counting up; a log only the last

    def on_progress(done: int, total: int) -> None:
        if back or done == total:
            click.echo(f"{back}tracer: {done}/{total} sessions read", err=True, nl=done == total)

    report = build_dataset(out, selection, options, on_progress=on_progress)
    _said_redaction(redaction)
    for line in report.skipped:
        click.echo(f"tracer: left out: {line}", err=True)
    for line in report.not_instances:
        click.echo(f"tracer: {line}", err=True)
    filtered = f", {report.filtered} not selected" if report.filtered else ""
    click.echo(
        f"tracer: built {out}: {_plural(report.sessions, 'session')}{filtered}, "
        f"{_plural(report.swe_bench, 'SWE-bench instance')}",
        err=True,
    )


@cli.command()
@click.argument("sessions", nargs=-1, required=True, metavar="S...")
@click.argument("url", metavar="URL")
@click.option("--no-redact", is_flag=True, help="Sessions as recorded: only record-time masking applies.")
def push(sessions: tuple[str, ...], url: str, no_redact: bool) -> None:
    """Upload sessions to a directory or fsspec URL (s3://, gs://, hf://, sftp://) where a team collects them.

    Each session is checked by reading it, and uploaded as <uuid>.tracer (pushing it again replaces that copy).
    S is a session file or a session-id prefix. Needs pip install 'tracer[dataset]'.
    """
    from tracer.app.live import Live
    from tracer.dataset import push_sessions

    live = Live()

    def on_pushed(path: str, target: str) -> None:
        click.echo(f"tracer: pushed {_tilde(Path(path))} → {target}", err=True)
        pid = live.pid(Path(path))
        if pid is not None:  # (pushing it again replaces the copy: nothing is lost, but it is partial)
            click.echo(
                f"tracer: {_tilde(Path(path))} is being recorded now (tracer pid {pid}): what was pushed "
                "ends here; push it again once its shell exits",
                err=True,
            )

    redaction = _export_redaction(no_redact)
    report = push_sessions(list(sessions), url, redact=redaction, on_pushed=on_pushed)
    _said_redaction(redaction)
    for line in report.failed:
        click.echo(f"tracer: not pushed: {line}", err=True)
    if report.failed:
        sys.exit(3)


def _export_redaction(no_redact: bool) -> Any:
    """Export-time redaction for many sessions (a :class:`tracer.redact.SessionRedaction`); with ``--no-redact``
    one that runs no rule (it masks only the values record time wrote before it learnt them)."""
    from tracer.redact import SessionRedaction

    if no_redact:
        return SessionRedaction(rules=False)
    from tracer.config import load_config

    return SessionRedaction(load_config())


def _said_redaction(redaction: Any) -> None:
    """The one line every export prints: how much export-time redaction masked."""
    if not redaction.rules:
        click.echo("tracer: not redacted (--no-redact): only what was masked at record time is hidden", err=True)
    else:
        click.echo(f"tracer: masked {redaction.summary()} ({redaction.label})", err=True)


def main() -> None:
    """Entry point: run the CLI with tracer's one error handler around it (:func:`tracer.cli_shell.guarded`)."""
    from tracer.app.crashlog import route_logging

    route_logging()
    cli_shell.guarded(_run_click)


def _run_click() -> None:
    """The click group, its own errors (usage, ``--help``, an interrupted prompt) turned into exit statuses."""
    stdout = sys.stdout
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        _fail("interrupted", 130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except SystemExit as e:
        # click turns a closed standard output (`tracer show | head -1`) into exit status 1, having swapped
        # sys.stdout for a wrapper that keeps quiet at exit; tracer's handler says 0 for it, as for every command
        if e.code == 1 and sys.stdout is not stdout:
            raise BrokenPipeError(errno.EPIPE, "standard output is closed") from e
        raise
