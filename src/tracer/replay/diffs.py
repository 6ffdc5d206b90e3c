"""Unified diffs (``git diff`` form) as coloured lines: per file, code highlighted by the file's language."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text

#: Above this many lines a diff is coloured by +/- only (highlighting code costs ~10 µs a line).
_HIGHLIGHT_LIMIT = 20_000
#: A diff is shown up to this many lines or characters, then one line says how much more it has: every shown line
#: is rendered at once (~12 µs each), and a start state or a final patch may be 256 MiB (a start state of 15,832
#: untracked files: 3.2 million lines, which held the replay for minutes and grew it past 700 MB).
SHOWN_LINES = 50_000
SHOWN_CHARS = 8 << 20

_ADDED = Style(bgcolor="#11361f")
_REMOVED = Style(bgcolor="#3f1518")
_ADDED_MARK = Style(color="#56d364", bold=True)
_REMOVED_MARK = Style(color="#f85149", bold=True)
_HUNK = Style(color="#79c0ff")
_META = Style(color="#8b949e")
_FILE = Style(color="#e3b341", bold=True)


@dataclass(frozen=True, slots=True)
class FileDiff:
    """The part of a patch about one file.

    Attributes:
        path: the file's path (the ``b/`` side; the ``a/`` side for a deletion).
        text: its diff, from its ``diff --git`` line (or ``---`` line) on.
        added, removed: counts of added and removed lines.
    """

    path: str
    text: str
    added: int
    removed: int


def split_files(patch: str) -> list[FileDiff]:
    """Split a patch into per-file diffs at each ``diff --git`` line (at each ``---``/``+++`` pair in a plain
    unified diff without them)."""
    lines = patch.splitlines()
    git_form = any(line.startswith("diff --git ") for line in lines)
    chunks: list[list[str]] = []
    for i, line in enumerate(lines):
        if git_form:
            starts_file = line.startswith("diff --git ")
        else:
            starts_file = line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")
        if starts_file or not chunks:
            chunks.append([])
        chunks[-1].append(line)
    return [_file_diff(chunk) for chunk in chunks if any(chunk)]


def _file_diff(lines: list[str]) -> FileDiff:
    path = ""
    added = removed = 0
    for line in lines:
        if line.startswith("diff --git ") and not path:
            parts = line.split(" b/", 1)
            path = parts[1] if len(parts) == 2 else line[11:]
        elif line.startswith("+++ "):
            target = line[4:].strip()
            if target != "/dev/null":
                path = target[2:] if target.startswith("b/") else target
        elif line.startswith("--- ") and not path:
            source = line[4:].strip()
            path = source[2:] if source.startswith("a/") else source
        elif line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return FileDiff(path, "\n".join(lines), added, removed)


def _lexer_name(path: str) -> str | None:
    name = Syntax.guess_lexer(path.rsplit("/", 1)[-1])
    return None if name in ("default", "text") else name


def render_file(diff: FileDiff, highlight: bool = True) -> list[Text]:
    """The lines of one file's diff: a title line, headers dimmed, hunks in blue, added lines on green and
    removed ones on red, the code itself coloured by the file's language."""
    lines = diff.text.splitlines()
    title = Text.assemble(
        ("━━ ", _FILE),
        (diff.path or "(unnamed)", _FILE),
        "  ",
        (f"+{diff.added}", _ADDED_MARK),
        " ",
        (f"−{diff.removed}", _REMOVED_MARK),
    )
    out = [title]
    lexer = _lexer_name(diff.path) if highlight and len(lines) <= _HIGHLIGHT_LIMIT else None
    body_index = [i for i, line in enumerate(lines) if line[:1] in ("+", "-", " ") and not _is_header(line)]
    code: dict[int, Text] = {}
    if lexer is not None and body_index:
        syntax = Syntax("", lexer, theme="monokai", background_color="default")
        joined = "\n".join(lines[i][1:] for i in body_index)
        highlighted = _without_background(syntax.highlight(joined)).split("\n", allow_blank=True)
        code = dict(zip(body_index, highlighted, strict=False))
    for i, line in enumerate(lines):
        if i in code or (line[:1] in ("+", "-", " ") and not _is_header(line)):
            mark = line[:1]
            body = code.get(i)
            if body is None:
                body = Text(line[1:])
            body = body.copy()
            body.rstrip()
            row = Text(no_wrap=True, end="")
            if mark == "+":
                row.append("+", _ADDED_MARK)
                row.append_text(body)
                row.stylize(_ADDED)
            elif mark == "-":
                row.append("-", _REMOVED_MARK)
                row.append_text(body)
                row.stylize(_REMOVED)
            else:
                row.append(" ")
                row.append_text(body)
            out.append(row)
        elif line.startswith("@@"):
            out.append(Text(line, _HUNK, no_wrap=True, end=""))
        else:
            out.append(Text(line, _META, no_wrap=True, end=""))
    return out


def _without_background(text: Text) -> Text:
    """The text with the theme's background colours removed (the view's own background shows)."""
    text.style = ""
    text.spans = [
        Span(span.start, span.end, Style(color=span.style.color, bold=span.style.bold or None))
        if isinstance(span.style, Style)
        else span
        for span in text.spans
    ]
    return text


def _is_header(line: str) -> bool:
    return line.startswith(("+++ ", "--- ", "+++\t", "---\t"))


def render_patch(patch: str) -> list[Text]:
    """Every file of a patch, one after the other, a blank line between files; past :data:`SHOWN_LINES` lines or
    :data:`SHOWN_CHARS` characters (at the start of a file, where one whole file fits), a last line says how many
    more lines and files the patch has. A file cut short still says how many lines its whole diff adds and
    removes."""
    cut = _shown(patch)
    head = patch[:cut]
    files = split_files(head)
    if files and cut < len(patch) and not patch.startswith("diff --git ", cut):  # a file cut short: its whole counts
        start = head.rfind("\ndiff --git ") + 1
        end = patch.find("\ndiff --git ", cut - 1)
        whole = patch[start : len(patch) if end < 0 else end + 1]
        added = whole.count("\n+") - whole.count("\n+++") + (whole[:1] == "+" and whole[:3] != "+++")
        removed = whole.count("\n-") - whole.count("\n---") + (whole[:1] == "-" and whole[:3] != "---")
        files[-1] = dataclasses.replace(files[-1], added=added, removed=removed)
    highlight = head.count("\n") <= _HIGHLIGHT_LIMIT
    out: list[Text] = []
    for n, diff in enumerate(files):
        if n:
            out.append(Text(""))
        out.extend(render_file(diff, highlight))
    if cut < len(patch):
        lines = patch.count("\n", cut) + (not patch.endswith("\n"))
        files_left = patch.count("\ndiff --git ", cut - 1)
        more = f"{lines:,} more line{'s' if lines != 1 else ''}"
        if files_left:
            more += f" ({files_left:,} more file{'s' if files_left != 1 else ''})"
        out += [Text(""), Text(f"… {more} not shown here: `tracer export` writes the whole diff", "dim italic")]
    return out


def _shown(patch: str) -> int:
    """Where the part of ``patch`` the replay shows ends: ``len(patch)``, or after :data:`SHOWN_LINES` lines or
    :data:`SHOWN_CHARS` characters, at the start of the last file begun there (when one whole file is before it),
    else at the end of a line."""
    limit = min(len(patch), SHOWN_CHARS)
    end = 0
    for _ in range(SHOWN_LINES):
        nl = patch.find("\n", end, limit)
        if nl < 0:
            if limit == len(patch):
                return len(patch)  # fewer lines, and no more characters
            break
        end = nl + 1
    if end >= len(patch):
        return len(patch)
    if not end:  # a first line longer than SHOWN_CHARS
        return limit
    if patch.startswith("diff --git ", end):
        return end  # (a file ends with the shown lines)
    start = patch.rfind("\ndiff --git ", 0, end)
    return start + 1 if start > 0 else end


__all__ = ["SHOWN_CHARS", "SHOWN_LINES", "FileDiff", "render_file", "render_patch", "split_files"]
