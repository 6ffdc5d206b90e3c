"""A session reader whose header and events come masked by export-time redaction: what every export reads.

The exporters (:mod:`tracer.store.export`) stream a session through a :class:`~tracer.store.reader.SessionReader`,
in passes (an index first, then the events in the document's order, seeking back to each command's output).
:class:`RedactedReader` stands in for the reader: the same attributes, with :attr:`header` and every event of
:meth:`events` masked by one :class:`~tracer.redact.Redactor`. Memory stays bounded by the largest event: nothing
is kept between events but the redactor's own small state. What a later pass reads again is masked again, the
same way (the same placeholders), but counted once; where a pass goes back, the output stream starts anew. Before
any of that, one pass learns every value the rules find (:meth:`~tracer.redact.Redactor.learn`), so that a secret
is masked wherever it comes, before it was first named too; and where the session's end says the recorder wrote
values unmasked before it learnt them (``session_end.unmasked``), one more pass reads them there
(:func:`~tracer.redact.values_at`).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from typing import Any

from tracer.model import Event, Header, SessionEnd
from tracer.redact import Redactor, values_at, without_sites
from tracer.store.format import PREAMBLE_SIZE
from tracer.store.reader import Ref, SessionReader


class RedactedReader:
    """``reader`` as the exporters read it, masked by ``redactor`` (see the module's docstring).

    Args:
        reader: an open session reader (its other attributes — ``path``, ``end``, ``problem``, ``ended`` —
            are passed through).
        redactor: export-time redaction for this session (:func:`tracer.redact.export_redactor`).
        only: the event types the export writes (``(FinalPatch,)`` for ``--format patch``): the others are
            passed on as they are, unmasked and uncounted, since nothing of them is written (the header is
            masked all the same, but counted only when ``only`` holds :class:`~tracer.model.Header`, and then
            only its ``baseline_patch``, all a patch takes of it). ``None``: all.
    """

    def __init__(self, reader: SessionReader, redactor: Redactor, only: tuple[type[Event], ...] | None = None) -> None:
        self._reader = reader
        self.redactor = redactor
        self._only = only
        # a first pass learns every value the rules find (one event at a time), so that each is masked wherever
        # it comes, before it was first named too
        ends: list[SessionEnd] = []
        events = _noting_ends(reader.every_event(), ends)
        if redactor.rules.rules:
            redactor.learn(events)
        else:  # (no rule to learn a value with, --no-redact's: the pass only finds the end)
            collections.deque(events, maxlen=0)
        if ends and ends[-1].unmasked:  # values the recorder learnt after it wrote them: read where they are
            redactor.know(values_at(ends[-1].unmasked, reader.every_event()))
        # a redactor that masks nothing (--no-redact, a session without such values) passes the events through
        self._idle = redactor.idle
        count = True if only is None else Header in only and frozenset(("baseline_patch", "baseline_omitted"))
        masked = reader.header if self._idle else redactor.event(reader.header, count=count)
        assert isinstance(masked, Header)
        self.header = masked
        self._counted: Ref = (-1, -1)  # events up to here were masked (and counted) by an earlier pass
        self._last: Ref = (-1, -1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def events(self, start: int = PREAMBLE_SIZE, stop: int | None = None) -> Iterator[tuple[Ref, int, Event]]:
        """:meth:`SessionReader.events`, each event masked."""
        only = self._only
        for ref, size, event in self._reader.events(start, stop):
            if (only is not None and not isinstance(event, only)) or self._idle:
                yield ref, size, without_sites(event) if self._idle else event
                continue
            if ref <= self._last:  # a new pass, or a seek back: the output read next does not follow the last
                self.redactor.restart_output()
            self._last = ref
            first = ref > self._counted
            if first:
                self._counted = ref
            yield ref, size, without_sites(self.redactor.event(event, count=first))


def _noting_ends(events: Iterable[Event], ends: list[SessionEnd]) -> Iterator[Event]:
    """``events``, each ``session_end`` also into ``ends``."""
    for event in events:
        if isinstance(event, SessionEnd):
            ends.append(event)
        yield event
