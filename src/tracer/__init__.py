"""tracer: record real problem solving in your own shell, replay it, and verify its final patch."""

__version__ = "0.1.0"
