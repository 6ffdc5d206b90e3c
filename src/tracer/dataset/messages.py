"""A session as a chat trajectory in OpenAI's function-calling format, the shape used to fine-tune assistants on
agent trajectories (https://platform.openai.com/docs/guides/function-calling).

The trajectory, in time order:

- ``user``: the task (``""`` when the session has none);
- ``assistant``: the notes written before an action, as its text, and the action as one tool call:
  - a command line → a ``bash`` call ``{"command": ...}``, answered by a ``tool`` message holding the command's
    output as plain text (cut to ``output_limit`` bytes, head and tail, the cut said) and ``[exit status N]``;
  - a file change made between commands, or inside an interactive editor (``vim``, ``nano``, ``code``…) → an
    ``edit`` call ``{"path", "op", "diff"[, "old_path"]}`` answered by what changed; the editor command itself is
    not a ``bash`` call (its output is the editor's screen, not text a model reads). Changes made by any other
    command (``sed -i``, a formatter) are that command's effect and appear only as its ``bash`` call;
- notes after the last action: a last ``assistant`` message with their text. The ``tracer note`` command lines
  that wrote notes are no calls: their notes are the text.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

from tracer.dataset._text import content_text, cut_text, name_text
from tracer.model import Command, FileChange, Note, Session

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "bash",
            "description": "Run a command line in the shell, in the repository; returns its output and exit status.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "The command line to run."}},
                "required": ["command"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "edit",
            "description": "Change one file of the repository with a unified diff (git diff form).",
            "parameters": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path relative to the repository root."},
                    "op": {"type": "string", "enum": ["create", "modify", "delete", "rename", "mode"]},
                    "diff": {"type": "string", "description": "The unified diff; empty for binary content."},
                    "old_path": {"type": "string", "description": "The previous path, for a rename."},
                },
                "required": ["path", "op", "diff"],
            },
        },
    },
]

#: :data:`TOOLS` as the JSON text the ``tools`` column holds.
TOOLS_JSON = json.dumps(TOOLS, ensure_ascii=False)

#: Interactive editors: their edits become ``edit`` calls and the command no ``bash`` call.
EDITORS = frozenset(
    [
        "vi",
        "vim",
        "nvim",
        "view",
        "gvim",
        "nano",
        "pico",
        "emacs",
        "emacsclient",
        "micro",
        "hx",
        "helix",
        "kak",
        "code",
        "codium",
        "subl",
        "mcedit",
        "joe",
        "jed",
        "ne",
        "ed",
        "mg",
        "zile",
        "kate",
        "gedit",
    ]
)


def _editor(command: str) -> bool:
    """True when the command line runs an interactive editor (its first word, after ``sudo``/``env X=…``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    for word in words:
        if "=" in word and not word.startswith("="):
            continue
        if word in ("sudo", "env", "command", "exec", "nohup"):
            continue
        return os.path.basename(word) in EDITORS
    return False


def _note_command(command: str) -> bool:
    """True for ``tracer note …``: the note it wrote is in the trajectory as text, the command is not a call."""
    words = command.split(None, 2)
    return len(words) >= 2 and os.path.basename(words[0]) == "tracer" and words[1] == "note"


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def _assistant(notes: list[str], call: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "\n\n".join(notes),
        "tool_calls": None if call is None else [call],
        "tool_call_id": None,
        "name": None,
    }


def _tool(call_id: str, name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "content": content, "tool_calls": None, "tool_call_id": call_id, "name": name}


def _command_result(c: Command, output: str, limit: int) -> str:
    text = cut_text(output, limit)
    if text and not text.endswith("\n"):
        text += "\n"
    if c.exit_status is None:
        return text + "[the command did not finish: the recording ended while it ran]"
    return text + f"[exit status {c.exit_status}]"


def _edit_arguments(fc: FileChange) -> dict[str, Any]:
    args: dict[str, Any] = {"path": name_text(fc.path), "op": fc.op, "diff": content_text(fc.diff)}
    if fc.old_path is not None:
        args["old_path"] = name_text(fc.old_path)
    return args


def _edit_result(fc: FileChange) -> str:
    what = f"{name_text(fc.old_path)} → {name_text(fc.path)}" if fc.old_path else name_text(fc.path)
    if fc.binary or fc.oversized:
        return f"{fc.op} {what}: {fc.size} bytes ({'binary' if fc.binary else 'too large'}, content not shown)"
    return f"{fc.op} {what}: +{fc.added} -{fc.removed}"


def trajectory(
    session: Session,
    commands: list[Command],
    outputs: dict[int, str],
    changes: list[FileChange],
    notes: list[Note],
    *,
    output_limit: int,
) -> list[dict[str, Any]]:
    """The session's messages (see the module docstring); every message has the five keys of the
    ``messages`` column's struct.

    Args:
        commands, changes, notes: the session's, as :meth:`Session.commands`, :meth:`Session.file_changes`
            and :meth:`Session.notes` give them.
        outputs: each command's output as plain text, by command id.
        output_limit: bytes of output kept per command (head and tail); <= 0 keeps everything.
    """
    task = session.header.task
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": content_text(task or ""), "tool_calls": None, "tool_call_id": None, "name": None}
    ]
    editors = {c.id for c in commands if _editor(c.command)}
    commands = [c for c in commands if not _note_command(c.command)]  # the note is the text, not a call
    # (time, order, kind, item): notes first at equal times, as they were written before the action
    items: list[tuple[int, int, str, Any]] = [(n.t, 0, "note", n) for n in notes]
    items += [(c.start, 1, "command", c) for c in commands if c.id not in editors]
    items += [(fc.t, 2, "edit", fc) for fc in changes if fc.command_id is None or fc.command_id in editors]
    items.sort(key=lambda item: (item[0], item[1]))
    pending: list[str] = []
    edit_calls = 0
    for _, _, kind, item in items:
        if kind == "note":
            pending.append(content_text(item.text))
            continue
        if kind == "command":
            call_id = f"call_{item.id}"
            messages.append(_assistant(pending, _call(call_id, "bash", {"command": name_text(item.command)})))
            messages.append(_tool(call_id, "bash", _command_result(item, outputs[item.id], output_limit)))
        else:
            edit_calls += 1
            call_id = f"call_edit_{edit_calls}"
            messages.append(_assistant(pending, _call(call_id, "edit", _edit_arguments(item))))
            messages.append(_tool(call_id, "edit", _edit_result(item)))
        pending = []
    if pending:
        messages.append(_assistant(pending, None))
    return messages
