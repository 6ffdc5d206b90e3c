"""Terminal output as the plain text a person saw: for a dataset's ``output`` columns and trajectories, and for
what a judge reads.

Escape sequences (ECMA-48: CSI, OSC ended by BEL or ST, DCS/SOS/PM/APC strings, other ESC sequences) and control
characters other than tab, newline, carriage return and backspace are removed; ``\\r\\n`` becomes ``\\n``; a line
written over itself with carriage returns (a progress bar) keeps what the terminal ends up showing, and a
backspace lets the next character cover the one before it. The replay's search (:mod:`tracer.replay.search`)
keeps its own form: it maps each hit back to the raw bytes.
"""

from __future__ import annotations

import re

__all__ = ["plain_text"]

_ESCAPE = re.compile(
    r"\x1b(?:"
    r"\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|[ -/]*[0-~])"  # other ESC sequences
)
_OTHER = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]")  # control characters but BS, TAB, LF, CR (a lone ESC too)
_OTHER_BYTES = bytes([*range(0x08), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def plain_text(output: bytes | str) -> str:
    """``output`` (a terminal's raw bytes, or their text) as the plain text it shows: see the module docstring.
    Bytes that are not UTF-8 become U+FFFD.

    Each step runs only where there is something for it to do (escape sequences, other control characters, carriage
    returns, backspaces): lines ended by CRLF, most output, take a replace and a test or two (~300 MB/s)."""
    if isinstance(output, bytes):
        text = output.decode("utf-8", "replace")
        others = len(output.translate(None, _OTHER_BYTES)) != len(output)  # (~2 GB/s; a search is ~0.4)
    else:
        text = output
        others = _OTHER.search(text) is not None
    if others:
        if "\x1b" in text:  # (escape sequences first: a control character inside a string sequence is part of it)
            text = _ESCAPE.sub("", text)
        if _OTHER.search(text):
            text = _OTHER.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if "\r" not in text and "\b" not in text:
        return text
    return "\n".join(_shown(line) for line in text.split("\n"))


def _shown(line: str) -> str:
    """What a line shows: each write after a carriage return covers the start of what was there, and a character
    after a backspace covers the one before it."""
    if "\r" in line:
        shown = ""
        for write in line.split("\r"):
            shown = write + shown[len(write) :]
        line = shown
    if "\b" not in line:
        return line
    kept: list[str] = []
    for ch in line:
        if ch == "\b":
            if kept:
                kept.pop()
        else:
            kept.append(ch)
    return "".join(kept)
