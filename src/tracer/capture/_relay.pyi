"""Types of the optional C part of the PTY loop (``_relay.c``; see :mod:`tracer.capture.pty`)."""

R_TIMEOUT: int
R_WAKE: int
R_MARK: int
R_EOF: int
R_INPUT: int
R_INPUT_EOF: int
R_FULL: int
R_REPORT: int
R_ERROR: int

class Relay:
    def __init__(self, prefix: bytes | None = None) -> None: ...
    def run(
        self, master: int, out: int, inp: int, wake: int, origin_ns: int, timeout_ms: int
    ) -> tuple[int, bytes, list[tuple[int, int]], int, bytes, int]: ...
