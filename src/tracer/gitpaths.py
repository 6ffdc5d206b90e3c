"""Which paths named in a patch git refuses to write: a ``.git`` component in any spelling, ``..``, or an absolute
path.

A session's patch is hostile input. ``git apply`` refuses such paths itself (git's ``verify_path``, with
``core.protectNTFS`` and ``core.protectHFS``, both on by default); what applies a patch after it does not: GNU
``patch`` (tracer verify's last fallback, and the SWE-bench harness's) writes ``sub/.git/config``, a nested
repository whose ``core.fsmonitor`` runs a command as soon as git looks inside ``sub``, or ``.git/hooks/…``. So
``tracer verify`` refuses such a patch before anything is applied, and ``tracer dataset build`` leaves its session
out of the SWE-bench instances.
"""

from __future__ import annotations

import re

__all__ = ["diff_git_names", "unquote", "unsafe_paths"]

#: The header lines of a patch that name a path, in git's diff format and GNU patch's (``Index:``).
_PATH_LINE = re.compile(r"^(?:--- |\+\+\+ |(?:rename|copy) (?:from|to) |Index: )(.*)$")
#: Code points HFS+ ignores in a name, which git's ``is_hfs_dotgit`` skips (git's utf8.c, ``next_hfs_char``).
_HFS_IGNORED = frozenset(
    [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0xFEFF, *range(0x206A, 0x2070)]
)
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """A path as git writes it in a header: C-quoted (``"a/sp\\303\\251c"``) when it holds unusual bytes; its
    bytes that are not UTF-8 as lone surrogates (``surrogateescape``)."""
    if not (len(name) >= 2 and name[0] == '"' and name[-1] == '"'):
        return name
    out = bytearray()
    body = name[1:-1]
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                digits = body[i + 1 : i + 4]
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
                continue
            out.append(_C_ESCAPES.get(nxt, ord(nxt) & 0xFF))
            i += 2
            continue
        out += c.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _is_dotgit(component: str) -> bool:
    """True for a name that is ``.git`` to some file system: any case, trailing dots or spaces or an
    alternate data stream (NTFS), the short name ``git~1``, or code points HFS+ ignores (git's ``is_ntfs_dotgit``
    and ``is_hfs_dotgit``, which ``core.protectNTFS`` and ``core.protectHFS`` apply)."""
    hfs = "".join(c for c in component if ord(c) not in _HFS_IGNORED).casefold()
    if hfs == ".git":
        return True
    ntfs = component.split(":", 1)[0].rstrip(" .").casefold()
    return ntfs in (".git", "git~1")


def _split_quoted(text: str) -> tuple[str, str]:
    """``("\"a/x\"", " rest")``: the C-quoted name ``text`` starts with, and what follows it."""
    i = 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return text[: i + 1], text[i + 1 :]


def diff_git_names(rest: str) -> list[str]:
    """The two names of a ``diff --git a/X b/Y`` line (``rest`` is what follows ``diff --git ``), C-quoted or not.
    Unquoted names holding spaces are split where both halves name the same file, as git does, else at the
    first `` b/``."""
    if rest.startswith('"'):
        first, second = _split_quoted(rest)
        return [first, second.strip()]
    quoted = rest.find(' "')
    if quoted > 0:
        return [rest[:quoted], rest[quoted + 1 :]]
    half = (len(rest) - 1) // 2
    if len(rest) % 2 == 1 and rest[half] == " " and rest[2:half] == rest[half + 3 :]:
        return [rest[:half], rest[half + 1 :]]
    first, sep, second = rest.partition(" b/")
    return [first, "b/" + second] if sep else [rest]


def unsafe_paths(patch: str) -> list[str]:
    """The paths named in ``patch``'s headers (``diff --git``, ``---``/``+++``, ``rename``/``copy from``/``to``,
    ``Index:``) that git refuses to write: a ``.git`` component (see :func:`_is_dotgit`), ``..``, or an absolute
    path. ``/dev/null`` is allowed; the ``a/`` and ``b/`` prefixes are taken off.

    Returns:
        the offending paths, in order, each once (empty for a safe patch).
    """
    found: list[str] = []
    for line in patch.splitlines():
        prefixed = True
        if line.startswith("diff --git "):
            names = diff_git_names(line[len("diff --git ") :])
        else:
            m = _PATH_LINE.match(line)
            if m is None:
                continue
            names = [m.group(1)]
            if line.startswith(("--- ", "+++ ")):
                names = [names[0].split("\t", 1)[0]]  # a timestamp after a tab (diff -u)
            else:
                prefixed = False  # rename/copy lines and Index: name the path itself
        for name in names:
            path = unquote(name.strip())
            if path == "/dev/null":
                continue
            if prefixed and path[:2] in ("a/", "b/"):
                path = path[2:]
            parts = re.split(r"[/\\]", path)
            unsafe = path.startswith("/") or any(part == ".." or _is_dotgit(part) for part in parts)
            if unsafe and path not in found:
                found.append(path)
    return found
