"""Unified diffs in ``git diff`` form, written from two contents held in memory.

Follows git's patch format (``git help diff``, "Generating patch text with -p"): a ``diff --git`` line,
extended headers (``old mode``/``new mode``, ``new file mode``, ``deleted file mode``, ``similarity index``,
``rename from``/``rename to``, ``index <old>..<new>[ <mode>]`` with full object ids), ``---``/``+++`` lines
(a tab after a name with a space, as git writes), hunks with 3 lines of context and
``\\ No newline at end of file``. Content that is not UTF-8 is written as a ``GIT binary patch`` so the
text stays a valid ``str`` that ``git apply`` takes. Lines are split on ``\\n`` only (CR stays in the line).
"""

from __future__ import annotations

from typing import NamedTuple

from tracer.capture._dirsnapshot import MODE_LINK
from tracer.capture._gitobjects import FileState, binary_patch, is_binary, null_sha, quote_path

_CONTEXT = 3


class DiffText(NamedTuple):
    """A diff and what it says.

    Attributes:
        text: the patch text ("" when there is nothing to say).
        added, removed: changed line counts (0 for binary content).
        binary: either side is binary (NUL byte in its first 8000 bytes).
    """

    text: str
    added: int = 0
    removed: int = 0
    binary: bool = False


def split_lines(data: bytes) -> list[bytes]:
    """``data`` cut after each ``\\n``; the last line may lack one."""
    lines = data.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _decodable(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _range(start: int, count: int) -> str:
    if count == 1:
        return str(start + 1)
    return f"{start + 1 if count else start},{count}"


def _hunks(a: list[bytes], b: list[bytes]) -> tuple[list[bytes], int, int]:
    """Hunks turning lines ``a`` into lines ``b`` (bytes), with the added and removed line counts."""
    import difflib  # (here: not on the way to a recording's start)

    out: list[bytes] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) + len(b) > 4000)
    for group in matcher.get_grouped_opcodes(_CONTEXT):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n".encode())
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out.extend(_prefixed(b" ", a[a1:a2]))
                continue
            if tag in ("replace", "delete"):
                out.extend(_prefixed(b"-", a[a1:a2]))
                removed += a2 - a1
            if tag in ("replace", "insert"):
                out.extend(_prefixed(b"+", b[b1:b2]))
                added += b2 - b1
    return out, added, removed


def _prefixed(mark: bytes, lines: list[bytes]) -> list[bytes]:
    out = []
    for line in lines:
        if line.endswith(b"\n"):
            out.append(mark + line)
        else:
            out.append(mark + line + b"\n\\ No newline at end of file\n")
    return out


def count_lines(old: bytes, new: bytes) -> tuple[int, int]:
    """Lines added and removed between two texts."""
    _, added, removed = _line_changes(old, new)
    return added, removed


def _line_changes(old: bytes, new: bytes) -> tuple[list[bytes], int, int]:
    """The hunks turning ``old`` into ``new`` (as :func:`_hunks`), with the added and removed line counts.

    A file that only grew by whole lines (a log: ``new`` is ``old`` and more, and ``old`` ends with a line end)
    gets its one hunk straight away, the last ``_CONTEXT`` lines of ``old`` and the new ones, as the matcher
    would give it: neither side is split into lines or compared line by line, which for a log of 100,000 lines
    costs a quarter of a second and ~50 MB each time it grows.
    """
    if old and old.endswith(b"\n") and len(new) > len(old) and new.startswith(old):
        start = len(old)
        for _ in range(_CONTEXT):  # the last _CONTEXT lines of old (fewer when it has fewer)
            cut = old.rfind(b"\n", 0, start - 1)
            start = cut + 1
            if cut < 0:
                break
        first = old.count(b"\n", 0, start)  # old's line number (0-based) where the context begins
        context = split_lines(old[start:])
        added = split_lines(new[len(old) :])
        n = len(context)
        header = f"@@ -{_range(first, n)} +{_range(first, n + len(added))} @@\n".encode()
        return [header, *_prefixed(b" ", context), *_prefixed(b"+", added)], len(added), 0
    return _hunks(split_lines(old), split_lines(new))


def file_diff(
    old_path: str,
    new_path: str,
    old: FileState | None,
    new: FileState | None,
    *,
    similarity: int | None = None,
    binary_patch_text: bool = True,
) -> DiffText:
    """The ``git diff --binary`` section(s) taking ``old`` at ``old_path`` to ``new`` at ``new_path``.

    Args:
        old_path, new_path: workspace-relative, ``/``-separated; equal unless it is a rename.
        old, new: the two sides; ``None`` where the file does not exist. Both need ``data`` unless their
            hashes are equal (a rename or a mode change).
        similarity: percent for a rename (``similarity index``); ignored when the paths are equal.
        binary_patch_text: write the ``GIT binary patch`` of binary content; ``False`` gives only the section's
            header lines and ``binary`` True (an edit event keeps no binary patch, and one of a large file that
            grows is zlib work on the whole file at every read: the final patch has it).

    Returns:
        The patch text; "" when the sides are identical. A change between a symlink and a file is written as
        git writes it: a deletion followed by a creation.

    Raises:
        ValueError: content is needed but one side has ``data`` ``None``.
    """
    if old is not None and new is not None and (old.mode == MODE_LINK) != (new.mode == MODE_LINK):
        gone = file_diff(old_path, old_path, old, None, binary_patch_text=binary_patch_text)
        made = file_diff(new_path, new_path, None, new, binary_patch_text=binary_patch_text)
        return DiffText(gone.text + made.text, made.added, gone.removed + made.removed, gone.binary or made.binary)
    renamed = old_path != new_path
    if old is not None and new is not None and old.sha == new.sha and old.mode == new.mode and not renamed:
        return DiffText("")
    a_name, b_name = quote_path("a/" + old_path), quote_path("b/" + new_path)
    head = [f"diff --git {a_name} {b_name}\n"]
    if old is None and new is not None:
        head.append(f"new file mode {new.mode}\n")
    elif new is None and old is not None:
        head.append(f"deleted file mode {old.mode}\n")
    elif old is not None and new is not None and old.mode != new.mode:
        head.append(f"old mode {old.mode}\nnew mode {new.mode}\n")
    if renamed:
        head.append(f"similarity index {similarity if similarity is not None else 100}%\n")
        head.append(f"rename from {quote_path(old_path)}\nrename to {quote_path(new_path)}\n")
    old_sha = old.sha if old is not None else null_sha()
    new_sha = new.sha if new is not None else null_sha()
    if old_sha == new_sha:
        return DiffText("".join(head))
    same_mode = old is not None and new is not None and old.mode == new.mode
    head.append(f"index {old_sha}..{new_sha}" + (f" {old.mode}\n" if same_mode and old else "\n"))
    old_data = old.data if old is not None else b""
    new_data = new.data if new is not None else b""
    if old_data is None or new_data is None:
        raise ValueError(f"the content of {old_path if old_data is None else new_path} is needed for a diff")
    if is_binary(old_data) or is_binary(new_data):
        return DiffText("".join(head) + (binary_patch(old_data, new_data) if binary_patch_text else ""), binary=True)
    if not (_decodable(old_data) and _decodable(new_data)):
        added, removed = count_lines(old_data, new_data)
        return DiffText("".join(head) + binary_patch(old_data, new_data), added, removed)
    if not old_data and not new_data:
        return DiffText("".join(head))
    a_label = a_name if old is not None else "/dev/null"
    b_label = b_name if new is not None else "/dev/null"
    head.append(f"--- {a_label}{_tab(a_label)}\n+++ {b_label}{_tab(b_label)}\n")
    body, added, removed = _line_changes(old_data, new_data)
    return DiffText("".join(head) + b"".join(body).decode("utf-8"), added, removed)


def _tab(label: str) -> str:
    """Git ends a ``---``/``+++`` name holding a space with a tab, so the name's end is unambiguous."""
    return "\t" if " " in label else ""
