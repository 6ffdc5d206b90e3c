"""Text for a dataset: everything a dataset holds is valid UTF-8.

- Names (paths, working directories, command lines) that are not UTF-8 are quoted as git quotes paths: in double
  quotes, their bytes that are not UTF-8 as octal escapes (``"new\\376.txt"``), so no byte is lost and a reader
  sees that the name was quoted.
- Content (output, diffs, notes) has its bytes that are not UTF-8 replaced by U+FFFD.
- Terminal output becomes plain text (:func:`tracer.termtext.plain_text`).
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
