"""One exception tree for tracer; each error is a sentence that names the object and says what to do.

::

    TracerError                     exit status 3 (a tracer error with a message)
    ├── UsageError                  exit status 2 (the command line is wrong)
    ├── SessionError                a session file cannot be found, read or written
    │   ├── SessionNotFound
    │   ├── NotASession             the file does not start with tracer's preamble
    │   ├── UnsupportedVersion      written by a newer tracer
    │   └── CorruptSession          a frame cannot be decoded (names file and byte offset)
    ├── RecordingError              ``tracer shell`` cannot start or keep recording
    │   └── NoTerminal              standard input is not a terminal
    ├── NoteError                   ``tracer note`` outside a recorded shell, or the recorder did not answer
    ├── ConfigError                 the configuration file is invalid (names the file and the line)
    ├── VerifyError                 verify cannot reach a verdict (no start commit, patch does not apply,
    │   ├── PatchDoesNotApply       no test command)
    │   └── NoTestCommand
    ├── JudgeError                  ``tracer judge`` has no judgement to store: a bad rubric, a model or
    │                               command that failed or gave an invalid reply (see tracer.judge.errors)
    ├── DatasetError                a dataset cannot be built, or sessions cannot be read from or pushed to a URL
    ├── MissingExtra                an optional library is not installed (names the extra: tracer[dataset])
    └── InsightsError               ``tracer insights`` cannot build or read its index (the index in use by
                                    another tracer, a bad error-patterns file or dataset)

Expected outcomes are values, not exceptions: failing tests are a ``VerifyResult`` with verdict ``failed``.
Library errors (msgpack, zstandard, watchdog, OSError) are wrapped where they enter tracer's code. Only the
CLI turns these into messages and exit statuses (see :attr:`TracerError.exit_status`).
"""

from __future__ import annotations


class TracerError(Exception):
    """Base of tracer's errors. ``str(error)`` is the message shown to the user."""

    exit_status = 3


class UsageError(TracerError):
    """The command line or its arguments are wrong."""

    exit_status = 2


class SessionError(TracerError):
    """A session file cannot be found, read or written."""


class SessionNotFound(SessionError):
    """No session matches the path or id prefix given, or there is no session yet."""


class NotASession(SessionError):
    """The file is not a tracer session (its preamble is missing)."""


class UnsupportedVersion(SessionError):
    """The session was written in a newer format version than this tracer reads."""


class SessionBusy(SessionError):
    """The session is being recorded now: nothing may be added to it or deleted from it until its recorder ends
    (its frames are signed in order, and a deleted file would take what is still to be recorded)."""


class CorruptSession(SessionError):
    """A frame of the session cannot be decoded; the message names the file and the byte offset."""


class RecordingError(TracerError):
    """``tracer shell`` cannot start or keep recording."""


class NoTerminal(RecordingError):
    """``tracer shell`` needs a terminal on standard input."""


class NoteError(TracerError):
    """A note cannot be added: not inside a recorded shell, or the recorder did not answer."""


class ConfigError(TracerError):
    """tracer's configuration file (``~/.config/tracer/config.toml``) is invalid: the message names the file, the
    line, and what to change."""


class VerifyError(TracerError):
    """``tracer verify`` cannot reach a verdict."""


class PatchDoesNotApply(VerifyError):
    """The final patch applies neither with ``git apply``, ``git apply --3way`` nor ``patch``."""


class NoTestCommand(VerifyError):
    """No test command was given, configured, or found among the session's commands."""


class JudgeError(TracerError):
    """``tracer judge`` cannot reach a judgement; nothing is stored."""


class DatasetError(TracerError):
    """A dataset cannot be written, or sessions cannot be read from or pushed to a URL (names the URL)."""


class MissingExtra(TracerError):
    """An optional library a command needs is not installed; the message names the extra that installs it."""


class InsightsError(TracerError):
    """``tracer insights`` cannot build or read its index, its error patterns or the dataset it was pointed at
    (DuckDB missing is a :class:`MissingExtra`)."""
