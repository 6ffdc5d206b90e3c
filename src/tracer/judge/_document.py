"""The session as a judge gets it: the trace JSON document, redacted, terminal escapes removed, long text cut.

The document is what ``tracer export --format json`` writes (``schemas/trace.schema.json``, each event with its
step id), with every string passed through three steps, in this order:

1. terminal control sequences removed (CSI, OSC and other ESC sequences; carriage-return overwrites and
   backspaces resolved line by line), so a judge reads the text a person saw;
2. ``redact`` (the export-time redaction; secrets are masked before anything is cut, so no half of a secret
   survives a cut unrecognised);
3. cut: a string longer than the limit keeps its first quarter and last three quarters around a line
   ``[… N characters cut …]`` (a test run's summary is at its end).

The limit starts at :data:`STRING_LIMIT` characters and is halved until the whole document fits in
``max_chars`` (down to :data:`MIN_STRING_LIMIT`), so a long session still fits a model's context.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from tracer.model import Session
from tracer.store.export import trace_document
from tracer.termtext import plain_text

#: Characters a string of the document keeps at most, before the document's own budget shrinks it.
STRING_LIMIT = 4000
#: The per-string limit is never halved below this many characters.
MIN_STRING_LIMIT = 200
#: The whole document's budget in characters of compact JSON, by default (about 25,000 tokens).
MAX_CHARS = 100_000


def cut(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else its first quarter and last three quarters of
    ``limit`` around a line saying how many characters were cut."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n[… {len(text) - head - tail} characters cut …]\n{text[len(text) - tail :]}"


def _cut_to(limit: int, text: str) -> str:
    return cut(text, limit)


def _map_strings(value: Any, f: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return f(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, f) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, f) for v in value]
    return value


def utf8_safe(text: str) -> str:
    """``text`` with lone surrogates (bytes of names that were not UTF-8) as U+FFFD, so it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # one U+FFFD per byte that was not UTF-8
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")  # other lone surrogates (a JSON escape makes them)
        return raw.decode("utf-8", "replace")
    return text


def judge_document(
    session: Session,
    *,
    redact: Callable[[str], str] = lambda text: text,
    max_chars: int = MAX_CHARS,
) -> dict[str, Any]:
    """The trace document of ``session`` prepared for a judge, as the module describes.

    Args:
        session: the session, as read.
        redact: the export-time redaction of one text, once its escapes are gone (``Redactor.text``; the caller
            masks the session's events first).
        max_chars: the budget of the whole document as compact JSON, in characters; strings are cut shorter
            until it fits or reach :data:`MIN_STRING_LIMIT`.

    Returns:
        A JSON-ready dict following ``schemas/trace.schema.json``.
    """
    whole = trace_document(session)
    whole["qa"]["judge"] = None  # an earlier judgement is not evidence: each judge sees the work alone
    clean = _map_strings(whole, lambda s: redact(plain_text(utf8_safe(s))))
    limit = STRING_LIMIT
    while True:
        document: dict[str, Any] = _map_strings(clean, functools.partial(_cut_to, limit))
        if limit <= MIN_STRING_LIMIT or len(json.dumps(document, ensure_ascii=False)) <= max_chars:
            return document
        limit = max(MIN_STRING_LIMIT, limit // 2)
