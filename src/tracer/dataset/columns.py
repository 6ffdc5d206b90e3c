"""The columns of every dataset config, declared once: name, type, whether it may be null, and what it holds.

The Arrow schemas of the Parquet shards (:mod:`tracer.dataset._sinks`), the ``dataset_info`` features and the
column tables of the dataset card (:mod:`tracer.dataset.card`) are all made from these declarations, so the
files, the card and the docs cannot disagree.

Types are a small vocabulary that maps onto Arrow and onto Hugging Face ``datasets`` features:

- atoms: ``"string"``, ``"int32"``, ``"int64"``, ``"float64"``, ``"bool"``, ``"timestamp"`` (microseconds,
  UTC);
- ``ListOf(T)``: a list of T; ``Struct(fields)``: named fields, each a :class:`Column`.

Rules that keep the columns stable for every reader (pandas, DuckDB, Spark, ``datasets``):

- no column is ever of Arrow's null type: every type is declared, whatever the rows hold;
- integer columns are never null, so pandas reads them as integers and never as floats: where a value is
  unknown they hold ``-1`` (a command that never finished, a count the test runner did not give), and the
  column's description says so;
- times since the session start are integer microseconds (``*_us``); wall-clock times are ``timestamp``
  columns (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list whose items are of type ``item``."""

    item: Type


@dataclass(frozen=True, slots=True)
class Struct:
    """A record of named ``fields``."""

    fields: tuple[Column, ...]


Type = Union[str, ListOf, Struct]  # noqa: UP007 - a runtime alias used before the classes are complete

ATOMS = ("string", "int32", "int64", "float64", "bool", "timestamp")


@dataclass(frozen=True, slots=True)
class Column:
    """One column (or one field of a struct).

    Attributes:
        name: the column name.
        type: an atom of :data:`ATOMS`, a :class:`ListOf` or a :class:`Struct`.
        nullable: whether a row may hold null (never for integer columns, see the module's rules).
        description: what the column holds and how it is made (one or two sentences, for the dataset card).
    """

    name: str
    type: Type
    nullable: bool
    description: str


def _c(name: str, type_: Type, description: str, *, null: bool = False) -> Column:
    return Column(name, type_, null, description)


_SESSION_ID = _c(
    "session_id",
    "string",
    "The session's UUID (`trace_id` in trace exports): given at record time; for sessions recorded before "
    "tracer 0.2, a UUID 5 derived from the header, the same every time.",
)

SESSIONS = (
    _SESSION_ID,
    _c("session_name", "string", "The session's id as `tracer ls` shows it (`2026-11-21T10-30-00-8f3a`)."),
    _c("started_at", "timestamp", "When the recording started (UTC)."),
    _c("duration", "float64", "Seconds from the start to the end of the recording (or to its last event)."),
    _c("task", "string", "What the session is about (`tracer shell --task`); null when none was given.", null=True),
    _c(
        "repository",
        "string",
        "The repository's remote URL, credentials removed, when the recorder knew it; else null.",
        null=True,
    ),
    _c("workspace", "string", "The directory whose edits were recorded (the git top level, else the start directory)."),
    _c("base_commit", "string", "Full hash of HEAD at start; null outside git or before the first commit.", null=True),
    _c("branch", "string", "The branch at start; null when detached or outside git.", null=True),
    _c(
        "baseline_patch",
        "string",
        "Uncommitted changes present at start (`git diff --binary HEAD`); empty when the start was clean.",
    ),
    _c(
        "final_patch",
        "string",
        "Start state to final state of every changed file (`git diff --binary`): applies on `base_commit` "
        "plus `baseline_patch`.",
    ),
    _c(
        "patch_from_commit",
        "string",
        "`baseline_patch` followed by `final_patch`: one input that `git apply` (or `patch -p1`) takes on a clean "
        "checkout of `base_commit`.",
    ),
    _c("files", ListOf("string"), "Paths the final patch changes, relative to the workspace."),
    _c(
        "omitted",
        ListOf("string"),
        "What the final patch leaves out, `path: why` each (a file over 64 MiB, untracked files past the 16 MiB a "
        "session keeps, a binary file holding a secret): the patch alone does not rebuild those files.",
    ),
    _c(
        "baseline_omitted",
        ListOf("string"),
        "What `baseline_patch` leaves out of the start state, `path: why` each (untracked files by top-level "
        "entry); tests that read them fail on a clean checkout. Empty for sessions of tracers before 0.2.",
    ),
    _c("test_command", "string", "The command that decides the verdict, when one was given or found.", null=True),
    _c(
        "verdict",
        "string",
        "The newest `tracer verify` verdict: resolved, passed, failed, timeout or error; null if never verified.",
        null=True,
    ),
    _c("verified_at", "timestamp", "When that verify run happened (UTC); null if never verified.", null=True),
    _c(
        "fail_to_pass",
        ListOf("string"),
        "Tests that failed on the start commit and pass with the patch (`tracer verify --compare-base`); null "
        "when the base was not run.",
        null=True,
    ),
    _c(
        "pass_to_pass",
        ListOf("string"),
        "Tests that passed before and after; null when the base was not run.",
        null=True,
    ),
    _c(
        "pass_to_fail",
        ListOf("string"),
        "Tests the patch broke (passed on the start commit, fail with the patch); null when the base was not run.",
        null=True,
    ),
    _c("tests_passed", "int32", "Tests passed in the newest verify run; -1 when unknown."),
    _c("tests_failed", "int32", "Tests failed in the newest verify run; -1 when unknown."),
    _c("tests_skipped", "int32", "Tests skipped in the newest verify run; -1 when unknown."),
    _c("tests_errors", "int32", "Tests in error in the newest verify run; -1 when unknown."),
    _c("commands", "int32", "Number of command lines run."),
    _c(
        "failed_commands",
        "int32",
        "Number of them that ended with a non-zero exit status (a bare `exit` or `logout`, whose status is the "
        "previous command's, is not counted again).",
    ),
    _c("edits", "int32", "Number of recorded file changes."),
    _c("notes", "int32", "Number of notes (as they stand: edits applied, deletions removed)."),
    _c("interrupted", "bool", "True when the recording has no end (the recorder was killed or crashed)."),
    _c(
        "problem",
        "string",
        "Why reading the session file stopped early (a cut-off or corrupt frame), with the byte offset; null "
        "when the whole file was read.",
        null=True,
    ),
    _c("shell", "string", "The shell started (`/bin/bash`), or `CMD (command)` for `tracer shell -c`."),
    _c("shell_kind", "string", "bash, zsh, fish, command (`tracer shell -c`), or other (output only, no commands)."),
    _c("os", "string", "The recording machine's platform (`platform.platform()`).", null=True),
    _c("tracer_version", "string", "The version of tracer that recorded the session."),
    _c(
        "judged_at",
        "timestamp",
        "When the newest `tracer judge` judgement was made (UTC); null if the session was never judged.",
        null=True,
    ),
    _c(
        "judge_kind",
        "string",
        "The newest judgement's kind: checks (process checks only), model or command; null if never judged.",
        null=True,
    ),
    _c("judge_name", "string", "The model's name, or the judge command; null without a rubric judge.", null=True),
    _c(
        "judge_rubric",
        "string",
        "The rubric the scores follow, as `id@version`; null without a rubric judge.",
        null=True,
    ),
    _c("judge_overall", "int32", "The rubric judge's overall score, 1 to 5; -1 without one."),
    _c(
        "judge_scores",
        ListOf(
            Struct(
                (
                    _c("criterion", "string", "The rubric criterion's id (`problem_understanding`, …)."),
                    _c("score", "int32", "1 (poor) to 5 (excellent)."),
                )
            )
        ),
        "The rubric judge's score of each criterion, in the rubric's order; empty without a rubric judge.",
    ),
    _c(
        "reproduced_before_edit",
        "bool",
        "Process check: a test run failed before the first edit of code; null where it does not apply (no edit of "
        "code). From the newest judgement, else computed when the dataset was built (docs/judge.md).",
        null=True,
    ),
    _c(
        "tested_after_last_edit",
        "bool",
        "Process check: a test run started after the last edit and finished; null where it does not apply (no edit).",
        null=True,
    ),
    _c(
        "hypotheses_noted",
        "int32",
        "Process check: hypotheses noted (notes tagged or starting `hypothesis`); -1 when unknown.",
    ),
    _c(
        "hypotheses_tested",
        "int32",
        "Process check: hypotheses followed by a finished test run before the next one; -1 when none was noted "
        "(or unknown).",
    ),
    _c(
        "repeated_failures",
        "int32",
        "Process check: commands that failed again the same way with no edit in between (loops); -1 when unknown.",
    ),
    _c(
        "dead_ends",
        "int32",
        "Process check: edits that returned a file to earlier content (undoing edits); -1 when unknown.",
    ),
    _c(
        "time_to_first_pass_s",
        "float64",
        "Process check: seconds from the start to the end of the first test run that passed after the first edit; "
        "null when none passed.",
        null=True,
    ),
)

COMMANDS = (
    _SESSION_ID,
    _c("command_id", "int32", "1, 2, 3… in order of start within the session."),
    _c("start_us", "int64", "Microseconds from the session start to the command's start."),
    _c("end_us", "int64", "Microseconds from the session start to its end; -1 if it never finished."),
    _c("started_at", "timestamp", "Wall-clock start (UTC)."),
    _c("duration", "float64", "Seconds the command ran; null if it never finished.", null=True),
    _c("command", "string", "The command line as typed (multi-line commands keep their newlines)."),
    _c("cwd", "string", "The shell's working directory when the command started."),
    _c("exit_status", "int32", "`$?` (128+N when killed by signal N); -1 if the command never finished."),
    _c("finished", "bool", "False when the recording ended while the command ran."),
    _c(
        "failed",
        "bool",
        "A non-zero exit status, but for a bare `exit` or `logout`, whose status is the previous command's (the "
        "sessions' `failed_commands` counts these).",
    ),
    _c(
        "output",
        "string",
        "What the terminal showed while the command ran, as plain text: UTF-8 (invalid bytes as U+FFFD), terminal "
        "escape sequences removed, a line rewritten with carriage returns kept as its last state.",
    ),
    _c("output_bytes", "int64", "Size in bytes of the raw terminal output (escape sequences included)."),
)

EDITS = (
    _SESSION_ID,
    _c("t_us", "int64", "Microseconds from the session start to the moment the change was seen."),
    _c("time", "timestamp", "Wall-clock time of the change (UTC)."),
    _c("path", "string", "Path relative to the workspace, `/`-separated."),
    _c("op", "string", "create, modify, delete, rename or mode."),
    _c("old_path", "string", "The previous path, for a rename; else null.", null=True),
    _c(
        "diff",
        "string",
        "Unified diff (`git diff` form) from the previous content; empty for binary or oversized files.",
    ),
    _c("before_hash", "string", "Git blob hash of the content before; null where the file did not exist.", null=True),
    _c("after_hash", "string", "Git blob hash of the content after; null after a delete.", null=True),
    _c("before_mode", "string", "Git file mode before (`100644`, `100755`, `120000`).", null=True),
    _c("after_mode", "string", "Git file mode after.", null=True),
    _c("size", "int64", "Size of the new content in bytes (0 after a delete)."),
    _c("binary", "bool", "The content is not text (its diff is not stored)."),
    _c("oversized", "bool", "The content is over the recorder's size limit (hashes and size only)."),
    _c("command_id", "int32", "The command running when the change was seen; -1 for edits between commands."),
    _c("added", "int32", "Lines added by `diff`."),
    _c("removed", "int32", "Lines removed by `diff`."),
)

NOTES = (
    _SESSION_ID,
    _c("note_id", "string", "The note's id (hex)."),
    _c("t_us", "int64", "Microseconds from the session start to the moment the note refers to."),
    _c("time", "timestamp", "Wall-clock time of that moment (UTC)."),
    _c("text", "string", "The note, as it stands (the newest edit of it)."),
    _c("tags", ListOf("string"), "Labels such as hypothesis, dead-end, fix, insight."),
    _c("source", "string", "live (`tracer note` while recording) or replay (added afterwards)."),
    _c("command_id", "int32", "The command running at that moment; -1 for none."),
    _c("written_at", "timestamp", "When the note was written (UTC); null if unknown.", null=True),
)

TOOL_CALL = Struct(
    (
        _c("id", "string", "The call's id, which the tool message answering it names."),
        _c("type", "string", "Always `function`."),
        _c(
            "function",
            Struct(
                (
                    _c("name", "string", "`bash` or `edit`."),
                    _c("arguments", "string", "The call's arguments as a JSON object in text, as OpenAI sends them."),
                )
            ),
            "The function called.",
        ),
    )
)

MESSAGE = Struct(
    (
        _c("role", "string", "user, assistant or tool."),
        _c("content", "string", "The text of the message (empty for an assistant turn that only calls tools)."),
        _c("tool_calls", ListOf(TOOL_CALL), "The assistant's tool calls; null for other messages.", null=True),
        _c("tool_call_id", "string", "For a tool message: the id of the call it answers; else null.", null=True),
        _c("name", "string", "For a tool message: the tool's name; else null.", null=True),
    )
)

MESSAGES = (
    _SESSION_ID,
    _c(
        "messages",
        ListOf(MESSAGE),
        "The session as a chat trajectory in OpenAI's function-calling format: the task as the user turn, notes "
        "as assistant text, each command a `bash` tool call answered by its output (cut, and the cut said) and "
        "exit status, each edit an `edit` tool call.",
    ),
    _c("tools", "string", "The `tools` schema of the calls (OpenAI format), as JSON text: `json.loads` it."),
    _c("task", "string", "The task, as in the `sessions` config.", null=True),
    _c("repository", "string", "The repository's remote URL, as in `sessions`.", null=True),
    _c("base_commit", "string", "HEAD at start, as in `sessions`.", null=True),
    _c("verdict", "string", "The newest verify verdict, as in `sessions`.", null=True),
)

#: The configs of a dataset, in the order the card lists them; each maps to its columns.
CONFIGS: dict[str, tuple[Column, ...]] = {
    "sessions": SESSIONS,
    "commands": COMMANDS,
    "edits": EDITS,
    "notes": NOTES,
    "messages": MESSAGES,
}

#: One sentence per config, for the card.
CONFIG_DESCRIPTIONS = {
    "sessions": "One row per session: the task, where it started, the patches, the verdict and the test lists.",
    "commands": "One row per command line, keyed by `session_id` and `command_id`, in order of start.",
    "edits": "One row per recorded file change, keyed by `session_id` and `t_us`.",
    "notes": "One row per note, keyed by `session_id` and `t_us`.",
    "messages": "One row per session: the session as an OpenAI function-calling chat trajectory with its tools.",
}


def timestamp_columns(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """Names of the top-level ``timestamp`` columns (written as RFC 3339 text in JSON Lines)."""
    return tuple(c.name for c in columns if c.type == "timestamp")
