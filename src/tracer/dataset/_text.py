"""Text for a dataset: everything a dataset holds is valid UTF-8.

- Names (paths, working directories, command lines) that are not UTF-8 are quoted as git quotes paths: in double
  quotes, their bytes that are not UTF-8 as octal escapes (``"new\\376.txt"``), so no byte is lost and a reader
  sees that the name was quoted.
- Content (output, diffs, notes) has its bytes that are not UTF-8 replaced by U+FFFD.
- Terminal output becomes plain text: escape sequences removed, carriage-return rewrites resolved as a terminal
  shows them.
"""

from __future__ import annotations

import re

from tracer.model import is_utf8, quote_text


def name_text(text: str) -> str:
    """``text`` itself when it is valid UTF-8, else git's quoted form of its bytes (see the module docstring)."""
    if is_utf8(text):
        return text
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no file name decodes to: only a crafted file holds one
        return content_text(text)
    return quote_text(text)


def content_text(text: str) -> str:
    """``text`` with lone surrogates (bytes that were not UTF-8) replaced by U+FFFD."""
    return text if is_utf8(text) else _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


# Terminal escape sequences (ECMA-48): CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings, other ESC sequences.
_SEQUENCE = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    rb"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    rb"|\x1b[ -/]*[0-~]"
    rb"|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]"
)


def plain_output(data: bytes) -> str:
    """Raw terminal output as the plain text it shows.

    Escape sequences and control characters other than tab, newline and carriage return are removed; a line
    rewritten with carriage returns (a progress bar) keeps what the terminal ends up showing; ``\\r\\n`` becomes
    ``\\n``. Bytes that are not UTF-8 become U+FFFD.
    """
    if b"\x1b" in data or _has_controls(data):
        data = _SEQUENCE.sub(b"", data)
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return _REWRITTEN_LINE.sub(_overlay, text) if "\r" in text else text


_REWRITTEN_LINE = re.compile(r"[^\n]*\r[^\n]*")


def _has_controls(data: bytes) -> bool:
    return any(b in data for b in (b"\x00", b"\x07", b"\x08", b"\x7f"))


def _overlay(match: re.Match[str]) -> str:
    """What a terminal shows of a line written over itself with carriage returns."""
    shown = ""
    for piece in match.group().split("\r"):
        shown = piece + shown[len(piece) :]
    return shown


def cut_text(text: str, limit: int) -> str:
    """``text`` kept whole up to ``limit`` bytes (UTF-8); beyond, its head and tail with the cut said between
    them: ``[… 48,213 bytes cut …]``. ``limit`` <= 0 keeps everything."""
    if limit <= 0:
        return text
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    head = raw[: limit // 2].decode("utf-8", "ignore")
    tail = raw[len(raw) - limit // 2 :].decode("utf-8", "ignore")
    cut = len(raw) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return f"{head}\n[… {cut:,} bytes cut …]\n{tail}"
