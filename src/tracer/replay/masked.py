"""Values the recorder wrote before it recognised them, masked in the replay as every export masks them.

A value shown bare before anything named it (``cat pw.txt``, later ``DB_PASSWORD=…``) is in the session file
unmasked; its end says where (``session_end.unmasked``, docs/format.md), and every export reads it there and masks
it wherever it comes (:func:`tracer.redact.values_at`). The replay does the same, so that what a review on a shared
screen shows is what an export would:

- in the output, each occurrence becomes one ``*`` per byte (the escape sequences inside it kept), so the screen
  keeps its layout and every position in the stream stays: :class:`MaskedOutput` wraps the stream's reader and
  reads :data:`REACH` bytes more on each side, so a value across a read's edge is masked too;
- in every other event (command lines, diffs, notes, the final patch, verify's output) and in the header's start
  state, each becomes ``[REDACTED:rule:N]``, as an export writes it (:func:`masked_events`, :func:`masked_header`).

The values are read from the session file at each opening and kept in memory only: the index cache holds what the
file holds, the keyframe cache the masked screens.
"""

from __future__ import annotations

from typing import Protocol

from tracer.model import Event, Header, SessionEnd
from tracer.redact import LONGEST, Redactor, recorded_values_redactor

#: Bytes read beyond each end of a read of output: a value (at most LONGEST bytes) that crosses an edge is whole.
REACH = LONGEST - 1


class _Reader(Protocol):
    def read(self, start: int, stop: int) -> bytes: ...

    def copy(self) -> _Reader: ...


def values_redactor(values: list[tuple[bytes, str]], label: str) -> Redactor:
    """A redactor without rules that masks ``values`` (``label``: the header's ``redaction``)."""
    redactor = recorded_values_redactor(label)
    redactor.know(values)
    return redactor


def masked_events(events: list[Event], redactor: Redactor) -> list[Event]:
    """``events`` (the index's, output left out) with the values ``redactor`` knows replaced by placeholders;
    ``session_end`` as it is (its sites say where the file holds them)."""
    return [e if isinstance(e, SessionEnd) else redactor.event(e, count=False) for e in events]


def masked_header(header: Header, redactor: Redactor) -> Header:
    """``header`` with the values ``redactor`` knows replaced by placeholders (a file of the start state that holds
    one: ``baseline_patch``)."""
    masked = redactor.event(header, count=False)
    return masked if isinstance(masked, Header) else header


class MaskedOutput:
    """An output reader (:class:`tracer.replay.source.OutputReader`) whose bytes have ``values`` masked, one ``*``
    per byte. One reader serves one thread; :meth:`copy` makes another.

    Args:
        reader: the stream's reader. values, label: as :func:`values_redactor` takes them.
    """

    def __init__(self, reader: _Reader, values: list[tuple[bytes, str]], label: str) -> None:
        self.reader = reader
        self._values = values
        self._label = label
        self._redactor = values_redactor(values, label)

    def read(self, start: int, stop: int) -> bytes:
        """The output bytes ``start`` (included) to ``stop`` (excluded), clamped to the output, masked."""
        if start >= stop:
            return b""
        lo = max(0, start - REACH)
        data = self.reader.read(lo, stop + REACH)
        redactor = self._redactor
        redactor.restart_output()
        masked = redactor.output(data)
        return bytes(masked[start - lo : stop - lo])

    def copy(self) -> MaskedOutput:
        """A reader of the same output for another thread."""
        return MaskedOutput(self.reader.copy(), self._values, self._label)
