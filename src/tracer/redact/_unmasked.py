"""Values written unmasked before record-time redaction knew them: where they are, and reading them back.

Record-time redaction learns a value when a rule finds it (``export TOKEN=ghp_…``) and masks it wherever it comes
after. An occurrence before that (``cat token.txt``, the command line that wrote the file) is already on disk: the
session file is append-only. At the end of a recording the writer reads its own file back, and
:func:`find_sites` says where one such occurrence of each learnt value is (:class:`~tracer.model.UnmaskedSite`,
in ``session_end.unmasked``: the event's ordinal, the field, the byte span, the rule; never the value). An export
reads the value back from there (:func:`values_at`) and gives it to its redactor
(:meth:`~tracer.redact.Redactor.know`), which then masks it wherever it comes, as it masks what it learnt itself.

The output stream is one stream: a value cut by the end of an output event goes on in the next, and its site's
``end`` is then past the end of its event's ``data``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tracer.model import MAX_UNMASKED_SITES, Event, Output, SessionEnd, UnmaskedSite
from tracer.redact._rules import Scanner

#: The longest value a redactor learns (``_mask.KNOWN_LONGEST``) and :func:`find_sites` looks for (bytes).
LONGEST = 1024
#: A rule id as placeholders show it; any other text a site names (a hostile file's) is shown as ``secret``.
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _texts(event: Event) -> Iterable[tuple[str, int | None, bytes]]:
    """``(field, item or None, bytes)`` of each text of ``event``: an output's or input's ``data``; every text
    field and every item of a list of texts of any other event (text as UTF-8, undecodable bytes as they were)."""
    data = getattr(event, "data", None)
    if isinstance(data, bytes):
        yield "data", None, data
        return
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            yield f.name, None, value.encode("utf-8", "surrogateescape")
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    yield f.name, i, item.encode("utf-8", "surrogateescape")


class _Search:
    """Where any of ``values`` occurs in a text: ``(index in values, start, end)``, in one pass (Hyperscan), or
    value by value where only which occur is known (RE2's set)."""

    def __init__(self, values: list[bytes]) -> None:
        self._values = values
        self._scanner = Scanner([(v, False) for v in values], cached=False)  # (in memory only: never on disk)

    def __call__(self, text: bytes) -> list[tuple[int, int, int]]:
        values = self._values
        found = self._scanner.occurrences(text)
        if found is not None:
            return [(i, end - len(values[i]), end) for i, end in found]
        out = []
        for i in self._scanner.present(text):
            start = text.find(values[i])
            if start >= 0:
                out.append((i, start, start + len(values[i])))
        return out


def find_sites(events: Iterable[Event], values: Mapping[bytes, str]) -> tuple[UnmaskedSite, ...]:
    """Where each of ``values`` (value → the id of the rule that found it) occurs in ``events`` (a session's, header
    first, in file order): one site per value found, its first occurrence in the first event that holds one;
    values found nowhere (masked everywhere) have none. Stops once every value has its site. Memory: one event and
    the last :data:`LONGEST` bytes of output (the output's data is searched where it is, not copied).
    """
    wanted = [v for v in values if 0 < len(v) <= LONGEST][:MAX_UNMASKED_SITES]
    if not wanted:
        return ()
    search = _Search(wanted)
    sites: dict[int, UnmaskedSite] = {}
    keep = LONGEST - 1
    carry = b""  # the end of the output stream so far: the bytes a value cut by an event's start began in
    carry_from: list[tuple[int, int]] = []  # (ordinal, where that event's data starts in carry: below 0, before)
    for ordinal, event in enumerate(events):
        if type(event) is Output:
            data = event.data
            for i, start, end in search(data):  # (no copy of the event's data)
                if i not in sites:
                    sites[i] = UnmaskedSite(ordinal, "data", start, end, values[wanted[i]])
            if carry and data:  # a value that began in the events before and goes on in this one
                for i, start, end in search(carry + data[:keep]):
                    if i not in sites and start < len(carry) < end:
                        at, base = next((o, b) for o, b in reversed(carry_from) if b <= start)
                        sites[i] = UnmaskedSite(at, "data", start - base, end - base, values[wanted[i]])
            if len(data) >= keep:
                carry, carry_from = data[-keep:], [(ordinal, keep - len(data))]
            elif data:
                pieces = [*carry_from, (ordinal, len(carry))]
                joined = carry + data
                cut = max(0, len(joined) - keep)
                carry = joined[cut:]
                shifted = [(o, b - cut) for o, b in pieces]
                carry_from = shifted[max(k for k, (_, b) in enumerate(shifted) if b <= 0 or k == 0) :]
        else:
            for name, item, text in _texts(event):
                for i, start, end in search(text):
                    if i not in sites:
                        sites[i] = UnmaskedSite(ordinal, name, start, end, values[wanted[i]], item)
        if len(sites) == len(wanted):
            break
    return tuple(sites[i] for i in sorted(sites))


def values_at(sites: Iterable[UnmaskedSite], events: Iterable[Event]) -> list[tuple[bytes, str]]:
    """The values at ``sites`` in ``events`` (a session's, header first, in file order), each with its rule's id:
    what :meth:`~tracer.redact.Redactor.know` takes. A site that names no such event, field or span (a damaged or
    hostile file's) gives nothing; a rule id that is not one gives ``secret``. Reads ``events`` up to the last
    event a site names (and the output events a value cut at the end of one goes on in)."""
    wanted: dict[int, list[UnmaskedSite]] = {}
    for site in list(sites)[:MAX_UNMASKED_SITES]:
        if 0 <= site.start < site.end and site.end - site.start <= LONGEST:
            wanted.setdefault(site.event, []).append(site)
    if not wanted:
        return []
    last = max(wanted)
    out: list[tuple[bytes, str]] = []
    growing: list[tuple[bytearray, int, str]] = []  # values cut at the end of an output event: (so far, length, rule)
    for ordinal, event in enumerate(events):
        if type(event) is Output and growing:
            still = []
            for got, length, rule in growing:
                got += event.data[: length - len(got)]
                if len(got) == length:
                    out.append((bytes(got), rule))
                else:
                    still.append((got, length, rule))
            growing = still
        for site in wanted.get(ordinal, ()):
            rule = site.rule if _RULE_ID.fullmatch(site.rule) else "secret"
            text = _text_of(event, site)
            if text is None or site.start >= len(text):
                continue
            piece = text[site.start : site.end]
            if len(piece) == site.end - site.start:
                out.append((piece, rule))
            elif type(event) is Output:
                growing.append((bytearray(piece), site.end - site.start, rule))
        if ordinal >= last and not growing:
            break
    return out


def sites_of(events: Sequence[Event]) -> tuple[UnmaskedSite, ...] | None:
    """The sites the last ``session_end`` of ``events`` holds (``None``: none, or no end)."""
    return next((e.unmasked for e in reversed(events) if isinstance(e, SessionEnd)), None)


def without_sites(event: Event) -> Event:
    """``event`` as an export or a copy writes it, its values masked: a ``session_end`` without its
    ``unmasked`` sites (none are unmasked there, and its events need not be where they say); any other as it is."""
    if isinstance(event, SessionEnd) and event.unmasked is not None:
        return dataclasses.replace(event, unmasked=None)
    return event


def _text_of(event: Event, site: UnmaskedSite) -> bytes | None:
    """The bytes of the field (or item) ``site`` names in ``event``, ``None`` when it has no such text."""
    value: Any = getattr(event, site.field, None) if site.field in _field_names(event) else None
    if site.item is not None:
        value = value[site.item] if isinstance(value, tuple) and 0 <= site.item < len(value) else None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return value if isinstance(value, bytes) else None


def _field_names(event: Event) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(event))
