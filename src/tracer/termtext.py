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

_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]"  # other ESC sequences
    r"|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]"  # other control characters (not backspace, tab, newline, CR)
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what there is to do anything about (ESC and CR among it)


def plain_text(output: bytes | str) -> str:
    """``output`` (a terminal's raw bytes, or their text) as the plain text it shows: see the module docstring.
    Bytes that are not UTF-8 become U+FFFD."""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    if not _CONTROL.search(text):
        return text
    text = _SEQUENCE.sub("", text).replace("\r\n", "\n")
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
