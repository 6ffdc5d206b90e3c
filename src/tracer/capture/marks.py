"""Find and remove the shell hooks' command marks in the output of a recorded shell.

The protocol
============

The recorder starts the user's shell with a hook script (see :mod:`tracer.capture.integration`) and a
per-session random **nonce** (32 lowercase hex characters) in a private file that the hook script reads and
empties at once, so that programs started in the session (and nested shells) never see it and cannot forge
marks: it is in no environment, argument list or file once the shell has started. The hooks write two kinds
of marks into the output stream, as OSC (Operating System Command) sequences, so that command boundaries fall
at exact byte positions of the output::

    ESC ] 6973 ; <nonce> ; C ; <base64 command line> ; <base64 cwd> BEL    command start (preexec)
    ESC ] 6973 ; <nonce> ; C ; <base64 command line> ; <base64 cwd> ; L BEL    the same, written late (precmd)
    ESC ] 6973 ; <nonce> ; D ; <exit status> ; <base64 cwd> BEL            prompt / command end (precmd)
    ESC ] 6973 ; <nonce> ; D ; <exit status> ; <base64 cwd> ; P BEL    the same, before the prompt's padding

- ``base64`` is the standard alphabet (``A-Z a-z 0-9 + /``, ``=`` padding) of the bytes of the text (the shell
  sends them as they are: UTF-8, or any bytes for a command line or a directory name that is not UTF-8); an
  empty text is an empty field. Bytes that are not UTF-8 are kept as lone surrogates (``surrogateescape``, as
  :func:`os.fsdecode`), so the text maps back to the same bytes (see :mod:`tracer.model`).
- ``<exit status>`` is the decimal exit status the shell reports (``$?``; 128 + N after signal N).
- The terminator is BEL (``0x07``) or ST (``ESC \\``).
- A late ``C`` (``;L``) is written by precmd for a line that ran without preexec: one that did not parse (bash and
  zsh print why, then run no hook) or one a prompt framework ran without bash's ``PS0``. What the line printed
  is before it in the stream; the recorder moves the command's start back to the end of the line's echo
  (:class:`tracer.capture.commands.PromptHold`).
- A ``D`` with ``;P`` is zsh's, at the start of the padding it prints before a prompt (``PROMPT_SP``), before
  precmd: a late ``C`` of the same line may still follow it.
- A ``D`` is written at **every** prompt, including the first one and after Ctrl-C at an empty prompt. The
  consumer pairs a ``D`` with the open command, if any, and ignores it otherwise, so an empty prompt never
  creates a command. A ``C`` opens a command.

Anything else passes through unchanged as program output: OSC sequences of other numbers (OSC 133, OSC 7,
window titles), and ``OSC 6973`` with a wrong nonce (a ``cat`` of a hostile file). A mark carrying our
nonce but whose fields cannot be decoded is removed from the output and yields no :class:`Mark` (only our
own hooks know the nonce, so it is ours, and the terminal must not see it).

The parser is incremental: a mark may be split across reads at any byte, so the bytes at the end of a chunk
that might begin a mark are held back until the next :meth:`MarkParser.feed` (or :meth:`MarkParser.flush`)
decides.
"""

from __future__ import annotations

import binascii

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    _Values = tuple[str, int, str | None, str | None, int | None, bool, bool]

__all__ = ["MAX_MARK_BYTES", "OSC_NUMBER", "Mark", "MarkParser"]

#: The OSC number of tracer's marks (``ESC ] 6973 ;``).
OSC_NUMBER = 6973

#: A would-be mark longer than this (bytes, from ``ESC ]`` on) without terminator is passed through.
MAX_MARK_BYTES = 1 << 20

_OSC = b"\x1b]"
_ESC = 0x1B
_BEL = 0x07
_BACKSLASH = 0x5C
# The bytes a mark's payload may hold between the prefix and the terminator (``[A-Za-z0-9+/=;-]``).
_PAYLOAD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=;-"
_HEX_DIGITS = "0123456789abcdef"


class Mark:
    """One mark written by the shell hooks (immutable, compared and hashed by its fields).

    A plain class rather than a ``typing.NamedTuple``: this module is imported on the way to the user's shell,
    and ``typing`` (with ``re``, ``functools`` and ``collections`` behind it) costs about 10 ms there.

    Attributes:
        kind: ``"start"`` (``C``, preexec: a command line is about to run) or ``"end"`` (``D``, precmd: a
            prompt is about to be shown; it ends the open command, if any).
        offset: position (bytes) of the mark in the cleaned bytes returned by the
            :meth:`MarkParser.feed` call that found it: output before the mark is ``cleaned[:offset]``.
        command: the command line as typed (``start`` only); may span several lines.
        cwd: the shell's working directory at that moment (absolute path), ``None`` if not sent.
        exit_status: the exit status of the last command (``end`` only).
        late: a ``start`` written after the command's output (``;L``), not before it.
        padding: an ``end`` written before the prompt's padding (``;P``, zsh's ``PROMPT_SP``), before precmd.
    """

    __slots__ = ("command", "cwd", "exit_status", "kind", "late", "offset", "padding")
    #: The field names, in order (as a NamedTuple's ``_fields``): constructor arguments, ``repr``.
    _fields = ("kind", "offset", "command", "cwd", "exit_status", "late", "padding")

    kind: str
    offset: int
    command: str | None
    cwd: str | None
    exit_status: int | None
    late: bool
    padding: bool

    def __init__(
        self,
        kind: str,
        offset: int,
        command: str | None = None,
        cwd: str | None = None,
        exit_status: int | None = None,
        late: bool = False,
        padding: bool = False,
    ) -> None:
        init = object.__setattr__
        init(self, "kind", kind)
        init(self, "offset", offset)
        init(self, "command", command)
        init(self, "cwd", cwd)
        init(self, "exit_status", exit_status)
        init(self, "late", late)
        init(self, "padding", padding)

    def _values(self) -> _Values:
        return (self.kind, self.offset, self.command, self.cwd, self.exit_status, self.late, self.padding)

    def _replace(self, **changes: Any) -> Mark:
        """A copy with the given fields changed (as a NamedTuple's ``_replace``).

        Raises:
            ValueError: a name that is not a field.
        """
        unknown = changes.keys() - Mark._fields
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        return Mark(**{name: changes.get(name, getattr(self, name)) for name in Mark._fields})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mark):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Mark(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in Mark._fields) + ")"

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"can't set attribute {name!r} of an immutable Mark")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"can't delete attribute {name!r} of an immutable Mark")

    def __reduce__(self) -> tuple[type[Mark], _Values]:
        # copy and pickle would otherwise restore the slots with setattr, which is refused.
        return (Mark, self._values())


class MarkParser:
    """Remove tracer's marks from a shell's output stream, incrementally (protocol: module docstring).

    Args:
        nonce: the session's nonce, 32 lowercase hex characters.

    Raises:
        ValueError: the nonce is not 32 lowercase hex characters.
    """

    __slots__ = ("_held", "_prefix")

    def __init__(self, nonce: str) -> None:
        # strip() leaves nothing exactly when every character is a lowercase hex digit (ASCII only).
        if len(nonce) != 32 or nonce.strip(_HEX_DIGITS):
            raise ValueError(f"mark nonce {nonce!r} is not 32 lowercase hex characters")
        self._prefix = b"\x1b]%d;%s;" % (OSC_NUMBER, nonce.encode("ascii"))
        self._held = b""

    @property
    def prefix(self) -> bytes:
        """The bytes every mark of this session begins with: ``ESC ] 6973 ; <nonce> ;``."""
        return self._prefix

    @property
    def held(self) -> int:
        """How many bytes are held back (a possible beginning of a mark), waiting for the next feed."""
        return len(self._held)

    def feed(self, data: bytes) -> tuple[bytes, list[Mark]]:
        """Remove our marks from ``data``; return ``(cleaned bytes, marks found)``.

        Incremental: a mark split across feeds at any byte position is found. Bytes that might be the
        beginning of a mark are held back (not returned) until a later ``feed`` or :meth:`flush`. A chunk
        without ``ESC ]`` costs one ``bytes.find``. A would-be mark longer than :data:`MAX_MARK_BYTES`
        without terminator is given up and passed through.

        Args:
            data: the next bytes read from the PTY (any size, may be empty).

        Returns:
            The bytes to pass on (what was held back before, then ``data``, minus our marks and minus what
            is now held back), and the marks in stream order, with offsets into those bytes.
        """
        if self._held:
            buf = self._held + data
            self._held = b""
        else:
            buf = data
        start = buf.find(_OSC)
        if start < 0:
            # Hot path: no OSC at all. Only a trailing ESC may begin a mark.
            if buf and buf[-1] == _ESC:
                self._held = buf[-1:]
                return buf[:-1], []
            return buf, []
        return self._scan(buf, start)

    def flush(self) -> bytes:
        """Return and forget the bytes held back (called at end of file, or when nothing more came for a while)."""
        held, self._held = self._held, b""
        return held

    def _scan(self, buf: bytes, start: int) -> tuple[bytes, list[Mark]]:
        """Slow path of :meth:`feed`: ``buf[start:]`` begins with ``ESC ]``."""
        prefix = self._prefix
        out: list[bytes] = []
        out_len = 0
        marks: list[Mark] = []
        emitted = 0  # buf[:emitted] is decided (copied to out, or dropped as a mark)
        i = start
        n = len(buf)
        while i >= 0:
            rest = n - i
            if rest < len(prefix):
                if prefix.startswith(buf[i:]):
                    break  # maybe the beginning of a mark: hold back from i
                i = buf.find(_OSC, i + 2)
                continue
            if not buf.startswith(prefix, i):
                i = buf.find(_OSC, i + 2)
                continue
            body = i + len(prefix)
            # The payload ends at the first BEL or ESC (BEL looked for only before that ESC, so that each byte
            # is searched once per feed); a byte outside _PAYLOAD before it means this is not a mark.
            end = buf.find(b"\x1b", body)
            if end < 0:
                end = n
            bel = buf.find(b"\x07", body, end)
            if bel >= 0:
                end = bel
            if buf[body:end].translate(None, _PAYLOAD):
                i = buf.find(_OSC, i + 2)  # not a mark after all
                continue
            if end == n or (buf[end] == _ESC and end + 1 == n):
                if n - i > MAX_MARK_BYTES:
                    i = buf.find(_OSC, i + 2)  # give up: pass it through
                    continue
                break  # terminator not seen yet: hold back from i
            if buf[end] == _BEL:
                stop = end + 1
            elif buf[end] == _ESC and buf[end + 1] == _BACKSLASH:
                stop = end + 2
            else:
                i = buf.find(_OSC, i + 2)  # not a mark after all
                continue
            if i > emitted:
                out.append(buf[emitted:i])
                out_len += i - emitted
            mark = _decode(buf[body:end], out_len)
            if mark is not None:
                marks.append(mark)
            emitted = stop
            i = buf.find(_OSC, stop)
        else:
            # No candidate left; a trailing ESC may still begin a mark.
            i = n - 1 if n > emitted and buf[-1] == _ESC else n
        self._held = buf[i:]
        if i > emitted:
            out.append(buf[emitted:i])
        return b"".join(out), marks


def _decode(payload: bytes, offset: int) -> Mark | None:
    """Decode the fields of a mark (``C;cmd;cwd``, ``C;cmd;cwd;L``, ``D;status;cwd`` or ``D;status;cwd;P``);
    ``None`` when malformed."""
    fields = payload.split(b";")
    try:
        if fields[0] == b"C" and (len(fields) in (2, 3) or (len(fields) == 4 and fields[3] == b"L")):
            return Mark(
                "start",
                offset,
                command=_text(fields[1]),
                cwd=_text(fields[2]) if len(fields) >= 3 and fields[2] else None,
                late=len(fields) == 4,
            )
        if fields[0] == b"D" and (len(fields) in (2, 3) or (len(fields) == 4 and fields[3] == b"P")):
            if not fields[1].isdigit():
                return None
            return Mark(
                "end",
                offset,
                exit_status=int(fields[1]),
                cwd=_text(fields[2]) if len(fields) >= 3 and fields[2] else None,
                padding=len(fields) == 4,
            )
    except (binascii.Error, ValueError):
        return None
    return None


def _text(field: bytes) -> str:
    """Decode one base64 field into text (UTF-8; other bytes kept as lone surrogates)."""
    # base64.b64decode(field, validate=True) without importing base64 (and re): since Python 3.11 it is exactly
    # this call, which refuses bytes outside the alphabet, bad padding, a leading "=" and data after padding.
    return binascii.a2b_base64(field, strict_mode=True).decode("utf-8", errors="surrogateescape")
