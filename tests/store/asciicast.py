"""A checker of asciicast v3 files, written from the spec (https://docs.asciinema.org/manual/asciicast/v3/, the
revision of 2025-10-20), for the exports' tests: every rule the spec states for a file, and nothing more.

- newline-delimited JSON; lines starting with ``#`` are comments, and the first line must not be one;
- the first line is the header, a JSON object: ``version`` (integer, 3) and ``term`` (an object with integer
  ``cols`` and ``rows``; optional string ``type`` and ``version``; an optional ``theme`` with ``fg``, ``bg`` and a
  ``palette`` of 8 or 16 colours, all ``#rrggbb``) are required; optional ``timestamp`` (integer),
  ``idle_time_limit`` (number), ``command`` and ``title`` (strings), ``env`` (string to string), ``tags``
  (strings); other attributes may be added by later revisions (tools ignore them);
- every other line is an event, a 3-element array ``[interval, code, data]``: ``interval`` a number, the seconds
  since the previous event; ``code`` a string; ``data`` a string. Codes ``o`` (output), ``i`` (input), ``m``
  (marker, label optional), ``r`` (``"{COLS}x{ROWS}"``), ``x`` (a numerical exit status, typically once, last);
  other codes are to be ignored by tools.
"""

from __future__ import annotations

import json
import re
from typing import Any

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class NotAsciicast(AssertionError):
    """The text breaks a rule of the spec (the message says which line and rule)."""


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise NotAsciicast(what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_header(header: Any) -> None:
    """The header's rules."""
    _check(isinstance(header, dict), "the header is not a JSON object")
    _check(header.get("version") == 3 and _is_int(header["version"]), "version must be the integer 3")
    term = header.get("term")
    _check(isinstance(term, dict), "term (an object) is required")
    for key in ("cols", "rows"):
        _check(_is_int(term.get(key)) and term[key] > 0, f"term.{key} must be a positive integer")
    for key in ("type", "version"):
        _check(key not in term or isinstance(term[key], str), f"term.{key} must be a string")
    if "theme" in term:
        theme = term["theme"]
        _check(isinstance(theme, dict), "term.theme must be an object")
        _check(all(_COLOR.fullmatch(str(theme.get(k))) for k in ("fg", "bg")), "theme fg and bg must be #rrggbb")
        palette = str(theme.get("palette", "")).split(":")
        _check(len(palette) in (8, 16) and all(_COLOR.fullmatch(c) for c in palette), "theme palette: 8 or 16 colors")
    _check("timestamp" not in header or _is_int(header["timestamp"]), "timestamp must be an integer")
    _check("idle_time_limit" not in header or _is_number(header["idle_time_limit"]), "idle_time_limit: a number")
    for key in ("command", "title"):
        _check(key not in header or isinstance(header[key], str), f"{key} must be a string")
    env = header.get("env", {})
    _check(isinstance(env, dict) and all(isinstance(v, str) for v in env.values()), "env maps strings to strings")
    tags = header.get("tags", [])
    _check(isinstance(tags, list) and all(isinstance(t, str) for t in tags), "tags must be a list of strings")


def check_v3(text: str) -> tuple[dict[str, Any], list[tuple[float, str, str]]]:
    """Check an asciicast v3 file's text against the spec; return its header and its events as ``(time since the
    start in seconds, code, data)``, comments left out.

    Raises:
        NotAsciicast: a rule is broken.
    """
    lines = text.split("\n")
    _check(text.endswith("\n") or not lines[-1], "the last line is not ended")
    if lines and lines[-1] == "":
        lines.pop()
    _check(bool(lines) and not lines[0].startswith("#"), "the first line must be the header, not a comment")
    header = json.loads(lines[0])
    check_header(header)
    events: list[tuple[float, str, str]] = []
    now = 0.0
    for number, line in enumerate(lines[1:], 2):
        if line.startswith("#"):
            continue
        event = json.loads(line)
        _check(isinstance(event, list) and len(event) == 3, f"line {number}: an event is a 3-element array")
        interval, code, data = event
        _check(_is_number(interval) and interval >= 0, f"line {number}: the interval must be a number of seconds")
        _check(isinstance(code, str) and isinstance(data, str), f"line {number}: code and data must be strings")
        if code == "r":
            _check(re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", data) is not None, f"line {number}: resize is COLSxROWS")
        if code == "x":
            _check(re.fullmatch(r"-?[0-9]+", data) is not None, f"line {number}: exit data is a numerical status")
        now += interval
        events.append((now, code, data))
    exits = [i for i, e in enumerate(events) if e[1] == "x"]
    _check(exits in ([], [len(events) - 1]), "the exit event comes once, last")
    return header, events
