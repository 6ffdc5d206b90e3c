"""Capturing a session: the PTY loop, shell integration and its marks, the file observer, the notes channel.

Each module has one job; the recorder in :mod:`tracer.app.recording` wires them together.
"""
