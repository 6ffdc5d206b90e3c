"""The content of git's binary patches, for redaction to search: a ``GIT binary patch`` is its file deflated and
written in base85, where no rule can see a secret, and masking would break the patch.

The format is git's (``git diff --binary``; ``diff.c``'s ``emit_binary_diff_body``, ``apply.c``'s
``parse_binary_hunk``, ``base85.c``): after the line ``GIT binary patch``, one or two blocks (the change, then its
reverse), each a line ``literal N`` (the file's content, ``N`` bytes inflated) or ``delta N`` (a delta from the
other side, ``N`` bytes inflated), lines of base85 and an empty line. Each base85 line starts with its length in
bytes (``A``–``Z``: 1–26, ``a``–``z``: 27–52), then that many bytes rounded up to 4, 5 base85 digits per 4 bytes
(git's alphabet, RFC 1924's). The bytes are zlib's deflate stream of the content.

What a block shows of its file: a literal, the whole content; a delta, the runs of bytes it inserts (git's pack
delta format: two varint sizes, then copy and insert instructions; ``gitformat-pack(5)``). What a delta copies
from the other side is in neither the patch nor the search. A secret that a delta builds of copied and inserted
pieces is not found; the patch does not hold it whole either.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from tracer.gitpaths import diff_git_names, unquote

#: The most content one block may inflate to (bytes): the capture side keeps files to 64 MiB; past this the block
#: is not searched (:class:`Unreadable`), so a hostile patch cannot make export inflate a zip bomb.
CONTENT_BYTES = 64 << 20
#: The most content the blocks of one patch may inflate to, in all (bytes): a hostile patch of 512 MiB could hold
#: thousands of blocks that each inflate to :data:`CONTENT_BYTES`; past this budget, blocks are not searched.
PATCH_CONTENT_BYTES = 1 << 30
#: A file's section of a patch starts at its ``diff --git`` line (such a line can only be a header).
_SECTION = re.compile(rb"^diff --git ", re.MULTILINE)
_BLOCK = re.compile(rb"(literal|delta) ([0-9]{1,12})\n")


class Unreadable(ValueError):
    """A binary patch block that cannot be decoded (not base85, not zlib, larger than :data:`CONTENT_BYTES`, or
    shorter than it says): its content cannot be searched."""


@dataclass(frozen=True, slots=True)
class BinarySection:
    """One file's section of a patch that holds a binary patch.

    Attributes:
        start, end: its byte offsets in the patch (``end`` exclusive; the next ``diff --git`` line, or the end).
        paths: the file's path, and its old path when it was renamed or copied (as git quotes them unquoted,
            decoded as UTF-8 with surrogate escapes).
        contents: what each block shows of the file (see the module's docstring); empty when ``error`` is set.
        error: why the blocks cannot be searched (:class:`Unreadable`), else ``None``.
    """

    start: int
    end: int
    paths: tuple[str, ...]
    contents: tuple[bytes, ...]
    error: str | None = None


def binary_sections(patch: bytes) -> Iterator[BinarySection]:
    """The sections of ``patch`` (a unified diff in git's format, as bytes) that hold a ``GIT binary patch``, in
    order, each decoded. Time and memory are linear in ``patch``, and each block's content is bounded by
    :data:`CONTENT_BYTES`."""
    if b"GIT binary patch\n" not in patch:
        return
    starts = [m.start() for m in _SECTION.finditer(patch)]
    budget = [PATCH_CONTENT_BYTES]
    for start, end in zip(starts, [*starts[1:], len(patch)], strict=True):
        at = patch.find(b"\nGIT binary patch\n", start, end)
        if at < 0:
            continue
        paths = _paths(patch, start, at)
        try:
            contents = tuple(_blocks(patch, at + len(b"\nGIT binary patch\n"), end, budget))
        except Unreadable as e:
            yield BinarySection(start, end, paths, (), str(e))
        else:
            yield BinarySection(start, end, paths, contents)


def _blocks(patch: bytes, pos: int, end: int, budget: list[int]) -> Iterator[bytes]:
    """The content of each block from ``pos`` on, ``budget[0]`` bytes inflated at most (what is left of it is
    kept there)."""
    while pos < end:
        m = _BLOCK.match(patch, pos, end)
        if m is None:
            return  # the empty line after the last block, or what follows it
        kind, size = m.group(1), int(m.group(2))
        if size > CONTENT_BYTES:
            raise Unreadable(f"a {kind.decode()} of {size} bytes, over the {CONTENT_BYTES >> 20} MiB searched")
        if size > budget[0]:
            raise Unreadable(f"past the {PATCH_CONTENT_BYTES >> 20} MiB searched in one patch")
        budget[0] -= size
        stop = patch.find(b"\n\n", m.end() - 1, end)
        stop = end if stop < 0 else stop + 1
        data = _inflate(decode_lines(patch[m.end() : stop]), size)
        yield data if kind == b"literal" else inserted(data)
        pos = stop + 1


def decode_lines(lines: bytes) -> bytes:
    """The bytes of git's base85 lines (each ``<length letter><digits>\\n``).

    Raises:
        Unreadable: a line is not of that form.
    """
    rows = lines.split(b"\n")
    if rows and not rows[-1]:
        rows.pop()
    lengths = bytes(row[0] if row else 0 for row in rows)
    sizes = lengths.translate(_LENGTH)
    if 0 in sizes:
        raise Unreadable("a base85 line without its length letter")
    digits = b"".join(row[1:] for row in rows)
    padded = [(n + 3) // 4 * 4 for n in sizes]
    if len(digits) != sum(padded) // 4 * 5:
        raise Unreadable("base85 lines whose lengths do not match their letters")
    try:
        data = base64.b85decode(digits)  # git's alphabet is RFC 1924's, as Python's
    except ValueError as e:
        raise Unreadable(f"not base85: {e}") from None
    if all(n == p for n, p in zip(sizes, padded, strict=True)):
        return data
    out = bytearray()
    pos = 0
    for n, p in zip(sizes, padded, strict=True):
        out += data[pos : pos + n]
        pos += p
    return bytes(out)


#: Length letter -> bytes on the line (``A``–``Z``: 1–26, ``a``–``z``: 27–52), 0 for any other byte.
_LENGTH = bytes(b - 64 if 65 <= b <= 90 else b - 70 if 97 <= b <= 122 else 0 for b in range(256))


def _inflate(data: bytes, size: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, size + 1)
    except zlib.error as e:
        raise Unreadable(f"not a zlib stream: {e}") from None
    if len(out) != size:
        raise Unreadable(f"{len(out)} bytes inflated where it says {size}")
    return out


def inserted(delta: bytes) -> bytes:
    """The runs of bytes a git delta inserts (consecutive insertions joined, runs apart ``\\0``-separated).

    Raises:
        Unreadable: the delta is cut short, or holds the reserved instruction 0.
    """
    pos = 0
    for _ in range(2):  # the base's size, the result's: little-endian base-128 varints
        while pos < len(delta) and delta[pos] & 0x80:
            pos += 1
        pos += 1
    runs: list[bytes] = []
    run: list[bytes] = []
    n = len(delta)
    while pos < n:
        op = delta[pos]
        pos += 1
        if op & 0x80:  # copy: offset and size bytes as the low 7 bits say
            pos += bin(op & 0x7F).count("1")
            if run:
                runs.append(b"".join(run))
                run = []
        elif op:
            run.append(delta[pos : pos + op])
            pos += op
        else:
            raise Unreadable("a delta with the reserved instruction 0")
    if pos > n:
        raise Unreadable("a delta cut short")
    if run:
        runs.append(b"".join(run))
    return b"\0".join(runs)


def _paths(patch: bytes, start: int, binary_at: int) -> tuple[str, ...]:
    """The file's path, and its old path when it was renamed or copied: from the ``rename to``/``rename from`` (or
    ``copy …``) lines of the header (before ``binary_at``), else from its ``diff --git a/P b/P`` line at ``start``
    (names as :mod:`tracer.gitpaths` reads them)."""
    nl = patch.find(b"\n", start, binary_at + 1)

    def header(key: bytes) -> str | None:
        at = patch.find(b"\n" + key + b" ", nl - 1, binary_at)
        if at < 0:
            return None
        begin = at + len(key) + 2
        return unquote(patch[begin : patch.find(b"\n", begin)].decode("utf-8", "surrogateescape"))

    for kind in (b"rename", b"copy"):
        old, new = header(kind + b" from"), header(kind + b" to")
        if old is not None and new is not None:
            return new, old
    names = diff_git_names(patch[start + len(b"diff --git ") : nl].decode("utf-8", "surrogateescape"))
    path = unquote(names[-1])
    return (path[2:] if path.startswith("b/") else path,)
