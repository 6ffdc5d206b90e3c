"""The three jobs — recording, replaying, verifying — each wiring the lower layers together.

The app layer owns threads and shutdown; it never prints (the CLI does) and reports through callbacks.
"""
