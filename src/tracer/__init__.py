"""tracer: record real problem solving in your own shell, replay it, and verify its final patch."""

__version__ = "0.1.0"

#: Version of the session file format (docs/format.md): the preamble's, and ``tracer.model.FORMAT_VERSION``.
FORMAT_VERSION = 1
