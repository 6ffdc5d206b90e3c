"""The PTY forwarding loop: the user's terminal on one side, their shell on a new PTY on the other.

This is the hot path of a recording. Per read it does one ``readv`` into a reused buffer, one
:meth:`MarkParser.feed <tracer.capture.marks.MarkParser.feed>` (a ``bytes.find`` when there is no mark)
and one call to the sink (a deque append in the session writer): no disk, no compression, no diffing here.
A PTY read gives at most a few KiB, so under a flood of output the loop reads the master again at once (a
burst of up to :data:`READ_BURST` reads, no ``poll`` in between) and writes the burst to the user's terminal
in one ``write``; a short read (an echo) is written at once. No other system call is made per read: the child
is reaped when SIGCHLD says so.

The steady state — keystrokes to the child, output without marks to the user's terminal — runs in C when the
optional extension :mod:`tracer.capture._relay` is built (``setup.py``): without the GIL and without a Python
object per keystroke or per read, each read stamped with its own time and written to the terminal at once
(in C a burst written in one large write stalls the pipeline; docs/performance.md), and the master read again
until it is empty before the next ``poll``. It hands back to the
Python loop below whatever needs a decision (a signal, a read that may hold a mark, end of file, input the
child does not take, every 50 ms or 1 MiB of output for the recorder), so the behaviour is the same with or
without it; ``TRACER_PTY_LOOP=python`` turns it off. The Python loop keeps its bursts: there each system
call costs more than the stall.

Shape of the loop (one thread, ``poll``):

- PTY master readable → strip recorder marks → write to the user's terminal → ``sink.output(t, bytes)``,
  ``sink.mark(t, mark)`` at the exact byte position where each mark was;
- user's terminal readable → queued for the master (non-blocking writes, so a child that does not read its input
  can never deadlock the loop while it keeps writing output);
- SIGWINCH → the new size is set on the PTY (the kernel signals the child's foreground process group) and
  ``sink.resize(t, cols, rows)``;
- SIGTERM / SIGHUP → :meth:`PtyLoop.stop`: the shell gets SIGHUP, the PTY is drained and closed, and any process
  left in the shell's session is killed, so nothing is orphaned;
- a notice (a warning of the recorder's, from any thread: :meth:`PtyLoop.notice`) → on the user's terminal between
  two reads: at once while a command runs, else (the shell waits at its prompt, where the user may be typing a line
  the shell would not redraw) just before the next mark (the next prompt, or the start of the line typed);
- end: after the child exits, the master is read until end-of-file (EIO on Linux, an empty read elsewhere: both
  mean EOF), so the last output is never lost, then the child is reaped.

Signals are seen through the wake fd (:func:`signal.set_wakeup_fd`, which receives each signal's number), so
the loop never depends on when Python runs its handlers.

A failure in a sink never stops the forwarding: the loop logs it once, drops that sink, and keeps the user's
shell working (``on_error``).
"""

from __future__ import annotations

import _thread
import errno
import os
import select
import termios
import time
import tty

from tracer.errors import RecordingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    import threading
    from collections.abc import Callable, Sequence
    from typing import Protocol
else:
    # The loop starts before the user's first prompt: the signal functions and numbers without the enums the
    # signal module wraps them in (its import of enum, functools and collections is ~5 ms of that start).
    try:
        import _signal as signal
    except ImportError:  # pragma: no cover - another Python
        import signal

try:  # the optional C steady state (setup.py); without it the same loop runs in Python
    from tracer.capture import _relay
except ImportError:  # pragma: no cover - depends on the build
    _relay = None  # type: ignore[assignment]

#: Environment variable: ``python`` runs the whole loop in Python even when the C part is built.
LOOP_ENV = "TRACER_PTY_LOOP"

#: Size of the reused read buffer (bytes).
READ_SIZE = 1 << 18
#: Reads in a row from the PTY master before the loop polls again (serving the user's terminal and signals).
READ_BURST = 64
#: A read shorter than this (bytes) ends the burst: the output is interactive, not a flood, and another read
#: would most likely find nothing.
BURST_MIN_READ = 1024
#: Input bytes queued for a child that is not reading before the loop stops reading the user's terminal.
MAX_PENDING_INPUT = 1 << 20
#: How long held-back bytes (a possible mark prefix) may wait for the next read (seconds). Held bytes are always
#: the beginning of an escape sequence (ESC, ``ESC ]``, ``ESC ] 6973 ; …``) that no terminal shows before its end,
#: so holding them changes nothing on the screen: the bound only keeps their recorded time close. It is long
#: enough that a mark whose two halves reach the PTY in two reads is still found when the writing process is
#: descheduled between them on a busy machine (10 ms was not: marks then leaked into the output).
HOLD_TIMEOUT = 0.5
#: Errors of a write to the user's terminal that mean it hung up (the window was closed).
_HUNG_UP = (errno.EIO, errno.EPIPE)
#: After the shell exits, how long to keep draining a PTY that other processes still hold open (seconds).
DRAIN_AFTER_EXIT = 0.2


if TYPE_CHECKING:  # the sink's and the filter's shapes, for the type checker

    class Mark(Protocol):
        """What the loop needs of a mark: where it sits in the cleaned bytes, and its kind (``"end"``: the shell
        is back at its prompt)."""

        @property
        def offset(self) -> int: ...

        @property
        def kind(self) -> str: ...

    class Filter(Protocol):
        """Removes the recorder's marks from the output stream (see :class:`tracer.capture.marks.MarkParser`).

        ``prefix``: the bytes every mark begins with (``None``: no marks); ``held``: bytes held back by ``feed``.
        """

        @property
        def prefix(self) -> bytes | None: ...

        @property
        def held(self) -> int: ...

        def feed(self, data: bytes) -> tuple[bytes, Sequence[Mark]]: ...

        def flush(self) -> bytes: ...

    class Sink(Protocol):
        """Receives what the loop sees. ``t`` is microseconds since the loop's clock started.

        A sink may also have ``output_batch(data, reads)``: several reads at once, ``data`` their bytes back to
        back and ``reads`` their ``(end offset in data, t)`` (the C part hands output over that way); without
        it, the loop calls ``output`` per read.
        """

        def output(self, t: int, data: bytes) -> None: ...

        def mark(self, t: int, mark: Mark) -> None: ...

        def resize(self, t: int, cols: int, rows: int) -> None: ...


class _PassThrough:
    prefix = None
    held = 0

    def feed(self, data: bytes) -> tuple[bytes, Sequence[Mark]]:
        return data, ()

    def flush(self) -> bytes:
        return b""


class Clock:
    """Microseconds since ``origin_ns`` on the monotonic clock (:func:`time.monotonic_ns`), as an ``int``.

    The recorder's time base: every event's ``t``. The PTY loop's C part stamps reads from ``origin_ns`` itself,
    so their times and those of the Python side agree to the microsecond.
    """

    __slots__ = ("origin_ns",)

    def __init__(self, origin_ns: int | None = None) -> None:
        self.origin_ns = time.monotonic_ns() if origin_ns is None else origin_ns

    def __call__(self) -> int:
        return (time.monotonic_ns() - self.origin_ns) // 1000


class Gate:
    """A flag one thread sets, once, and the PTY loop reads: what the loop needs of :class:`threading.Event`
    (``set``, ``is_set``) for its ``input_gate``, without importing :mod:`threading` before the shell starts. The
    loop looks at it at least every 10 ms while it is not set."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


def _signal_name(signum: int) -> str:
    """``"SIGTERM"``: the name of a signal (from the signal module, imported when a signal stops the recording)."""
    import signal as signals

    return signals.Signals(signum).name


class PtyExit:
    """How the loop ended: the child's ``exit_status`` (128+N when killed by signal N) and ``reason``
    (``"exit"``, or the name of the signal that stopped the recorder)."""

    __slots__ = ("exit_status", "reason")

    def __init__(self, exit_status: int, reason: str) -> None:
        self.exit_status = exit_status
        self.reason = reason

    def __repr__(self) -> str:
        return f"PtyExit(exit_status={self.exit_status!r}, reason={self.reason!r})"


def terminal_size(fd: int) -> tuple[int, int] | None:
    """``(cols, rows)`` of the terminal on ``fd``, ``None`` when ``fd`` is not a terminal."""
    try:
        rows, cols = termios.tcgetwinsize(fd)  # (TIOCGWINSZ, without fcntl and struct on the way to the shell)
    except (OSError, termios.error):
        return None
    if cols <= 0 or rows <= 0:
        return None
    return cols, rows


def _set_size(fd: int, cols: int, rows: int) -> None:
    termios.tcsetwinsize(fd, (rows, cols))  # TIOCSWINSZ


def spawn(argv: Sequence[str], env: dict[str, str], *, cwd: str | None, cols: int, rows: int) -> tuple[int, int]:
    """Start ``argv`` on a new PTY whose slave is its controlling terminal and stdin/stdout/stderr.

    Returns ``(pid, master_fd)``. An exec failure in the child is reported back through a close-on-exec pipe
    (as ptyprocess does) and raised here.

    Raises:
        RecordingError: the PTY cannot be opened or the program cannot be started.
    """
    try:
        master, slave = os.openpty()
    except OSError as e:
        raise RecordingError(f"cannot open a PTY: {e.strerror}") from e
    _set_size(slave, cols, rows)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the child: only exec or _exit from here
        try:
            os.close(master)
            os.close(err_r)
            os.login_tty(slave)
            if cwd is not None:
                os.chdir(cwd)
            for sig in (
                signal.SIGINT,
                signal.SIGQUIT,
                signal.SIGTERM,
                signal.SIGHUP,
                signal.SIGCHLD,
                signal.SIGWINCH,
                signal.SIGPIPE,
                signal.SIGTSTP,
                signal.SIGTTIN,
                signal.SIGTTOU,
            ):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            os.execvpe(argv[0], list(argv), env)
        except OSError as e:
            os.write(err_w, f"{e.errno}:{e.strerror}".encode())
        finally:
            os._exit(127)
    os.close(slave)
    os.close(err_w)
    report = os.read(err_r, 4096)
    os.close(err_r)
    if report:
        os.waitpid(pid, 0)
        os.close(master)
        _, _, why = report.decode(errors="replace").partition(":")
        raise RecordingError(f"cannot start {argv[0]}: {why}")
    return pid, master


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        except InterruptedError:
            continue
        view = view[n:]


def _send_input(master: int, pending: bytearray) -> None:
    """Write what the master takes now of ``pending`` (non-blocking) and drop it from ``pending``.

    A master that refuses input for good (the child is gone) drops it all: there is no one to type to.
    """
    try:
        written = os.write(master, pending)
    except BlockingIOError:
        return
    except OSError:
        pending.clear()
        return
    del pending[:written]


def _veof(fd: int) -> bytes:
    """The PTY's end-of-file character (VEOF, normally ^D)."""
    try:
        cc = termios.tcgetattr(fd)[6][termios.VEOF]
    except (OSError, termios.error):
        return b"\x04"
    return cc if isinstance(cc, bytes) else bytes([cc])


def _decode_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


class PtyLoop:
    """Forward a terminal to a child on a PTY until the child exits; report what passes to a sink.

    Args:
        argv, env, cwd: the program to start and its environment (complete, not merged) and directory.
        sink: receives output, marks and resizes (the recorder). Errors it raises are handed to ``on_error``
            once, and the sink is dropped: forwarding goes on.
        marks: removes marks from the output (default: none).
        stdin_fd, stdout_fd: the user's terminal. When ``stdin_fd`` is a terminal it is put in raw mode for
            the duration and restored after, whatever happens.
        size: ``(cols, rows)`` when stdin is not a terminal (default 80×24).
        clock: microseconds since the recording started; a :class:`Clock` lets the C part (when built) run
            the steady state, any other callable keeps the whole loop in Python.
        on_error: called with an exception from a sink (to log it).
        input_gate: while given and not set, the user's input is not read (it waits in the terminal's
            buffer): the recorder holds the shell's input until its workspace baseline is taken. The child
            starts and its output flows meanwhile.
        on_spawn: called once the child has started and the loop is ready to relay its output (the recorder
            starts its set-up work then, in a thread: the loop's next step is the first poll).
        spawn_delay: seconds; when the C part runs the loop, ``on_spawn`` is called once it has relayed the child's
            first output (or met anything else to decide in Python), or after this long, whichever comes first:
            what ``on_spawn`` starts (imports, in the main thread and then a thread that holds the GIL) then never
            stands between a command's first output and the terminal. 0 (the default): at once.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        sink: Sink,
        clock: Callable[[], int],
        marks: Filter | None = None,
        cwd: str | None = None,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        size: tuple[int, int] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        input_gate: Gate | threading.Event | None = None,
        on_spawn: Callable[[], None] | None = None,
        spawn_delay: float = 0.0,
    ) -> None:
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.sink: Sink | None = sink
        self.clock = clock
        self.marks: Filter = marks or _PassThrough()
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.on_error = on_error
        self.input_gate = input_gate
        self.on_spawn = on_spawn
        self.spawn_delay = spawn_delay
        self.stdin_is_tty = os.isatty(stdin_fd)
        self.size = terminal_size(stdin_fd) or terminal_size(stdout_fd) or size or (80, 24)
        self.pid: int | None = None
        self._stop_signal: int | None = None
        self._terminal_gone = False
        self._winch = False
        self._sigchld = True
        self._notices: list[str] = []  # appended by any thread, taken by the loop's
        self._wake_lock = _thread.allocate_lock()
        self._wake_w: int | None = None  # the wake fd's write end while the loop runs
        self._ended = False  # run() has returned: notices are no longer taken
        self._at_prompt = False  # the last mark was a prompt's (a "D"), and no command has started since
        self._line_start = True  # the last byte shown on the user's terminal ended a line

    # -- sink calls, guarded -----------------------------------------------------------------------------

    def _sink_failed(self, e: BaseException) -> None:
        self.sink = None
        if self.on_error is not None:
            self.on_error(e)

    def _record(self, t: int, clean: bytes, marks: Sequence[Mark]) -> None:
        """Give one read's cleaned output to the sink, marks at their byte positions.

        The loop writes ``clean`` to the user's terminal itself, before this (one write per burst of reads).
        """
        if not marks:
            if clean and self.sink is not None:
                try:
                    self.sink.output(t, clean)
                except Exception as e:
                    self._sink_failed(e)
            return
        pos = 0
        sink = self.sink
        if sink is None:
            return
        try:
            for mark in marks:
                if mark.offset > pos:
                    sink.output(t, clean[pos : mark.offset])
                    pos = mark.offset
                sink.mark(t, mark)
            if pos < len(clean):
                sink.output(t, clean[pos:])
        except Exception as e:
            self._sink_failed(e)

    def _release_held(self) -> None:
        held = self.marks.flush()
        if held:
            self._emit_plain(self.clock(), held)

    def _emit_plain(self, t: int, data: bytes) -> None:
        self._show(data)
        if self.sink is not None:
            try:
                self.sink.output(t, data)
            except Exception as e:
                self._sink_failed(e)

    def _show(self, data: bytes | bytearray) -> None:
        """Write ``data`` to the user's terminal, unless it is gone (hung up: the window was closed)."""
        if self._terminal_gone:
            return
        if data:
            self._line_start = data[-1:] == b"\n"
        try:
            _write_all(self.stdout_fd, data)
        except OSError as e:
            if e.errno not in _HUNG_UP:
                raise
            self._terminal_lost()

    # -- notices -------------------------------------------------------------------------------------------

    def notice(self, text: str) -> bool:
        """Show ``text`` (one message; line ends are added) on the user's terminal, from any thread, between the
        shell's output: at once while a command runs or the shell starts; while the shell waits at its prompt,
        just before its next mark (the next prompt, or the start of the line the user typed), so that it never
        lands in the middle of the line being typed (the shell would not redraw it). What is still waiting when
        the loop ends is shown then. Never recorded: it is the recorder's, not the shell's output.

        Returns:
            ``False`` when the loop has ended (nothing is shown: the caller shows it itself).
        """
        with self._wake_lock:  # (the loop closes the wake fd under the lock: a number never written once reused)
            if self._ended:
                return False
            self._notices.append(text)
            if self._wake_w is not None:
                try:
                    os.write(self._wake_w, b"\0")  # (not a signal number: it only wakes the loop)
                except OSError:
                    pass
        return True

    def _take_notices(self, line_start: bool) -> bytes:
        """The notices waiting, as terminal bytes (each on a line of its own: after a line end when the cursor is
        not at the start of one, ``line_start``), taken from the queue."""
        texts = []
        while self._notices:
            texts.append(self._notices.pop(0))
        if not texts:
            return b""
        lines = "".join(t.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n" for t in texts)
        return (b"" if line_start else b"\r\n") + lines.encode("utf-8", "replace")

    def _screen_of(self, clean: bytes, marks: Sequence[Mark], unshown: bytes | bytearray = b"") -> bytes:
        """What the user's terminal is shown of one read, ``clean`` (marks removed, at ``marks``' offsets), after
        ``unshown`` (the burst's reads not written yet): the waiting notices go in at the first mark; each mark
        says whether the shell now waits at its prompt."""
        if not marks:
            return clean
        if self._notices:
            at = marks[0].offset
            before = clean[:at] or unshown
            line_start = before[-1:] == b"\n" if before else self._line_start
            clean = clean[:at] + self._take_notices(line_start) + clean[at:]
        self._at_prompt = marks[-1].kind == "end"
        return clean

    def _show_notices(self) -> None:
        """Show the waiting notices now, unless the shell waits at its prompt (they wait for its next mark)."""
        if self._notices and not self._at_prompt:
            self._show(self._take_notices(self._line_start))

    def _terminal_lost(self) -> None:
        """The user's terminal hung up: show nothing more, and end the shell as a closed terminal would (SIGHUP);
        its output is still recorded to the end."""
        self._terminal_gone = True
        if self._stop_signal is None:
            self._stop_signal = signal.SIGHUP

    # -- control -------------------------------------------------------------------------------------------

    def stop(self, signum: int) -> None:
        """Ask the loop to end (from a signal handler): the shell gets SIGHUP, as when a terminal closes."""
        self._stop_signal = signum

    def _on_winch(self) -> None:
        size = terminal_size(self.stdin_fd) or terminal_size(self.stdout_fd)
        if size is None or size == self.size:
            return
        self.size = size
        if self._master is not None:
            try:
                _set_size(self._master, *size)
            except (OSError, termios.error):
                pass
        if self.sink is not None:
            try:
                self.sink.resize(self.clock(), *size)
            except Exception as e:
                self._sink_failed(e)

    # -- the loop ------------------------------------------------------------------------------------------

    def _make_relay(self) -> _relay.Relay | None:
        """The C steady state for this loop, or ``None`` (not built, turned off, or no :class:`Clock`)."""
        if _relay is None or not isinstance(self.clock, Clock) or os.environ.get(LOOP_ENV) == "python":
            return None
        return _relay.Relay(self.marks.prefix)

    def run(self) -> PtyExit:
        """Start the child and forward until it exits and its output is drained.

        Raises:
            RecordingError: the child cannot be started.
        """
        cols, rows = self.size
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake_w = wake_w
        handlers = {}

        def on_signal(signum: int, frame: object) -> None:
            self._note_signal(signum)

        for sig in (signal.SIGWINCH, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            handlers[sig] = signal.signal(sig, on_signal)
        old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        saved_attrs = None
        self._master: int | None = None
        try:
            self.pid, master = spawn(self.argv, self.env, cwd=self.cwd, cols=cols, rows=rows)
            self._master = master
            if self.stdin_is_tty:
                saved_attrs = termios.tcgetattr(self.stdin_fd)
                tty.setraw(self.stdin_fd, termios.TCSANOW)
            return self._loop(master, wake_r)
        finally:
            if saved_attrs is not None:
                try:
                    termios.tcsetattr(self.stdin_fd, termios.TCSAFLUSH, saved_attrs)
                except (termios.error, OSError):  # the terminal is gone (hung up): nothing to restore
                    pass
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            with self._wake_lock:
                self._wake_w = None
                self._ended = True
                os.close(wake_r)
                os.close(wake_w)
            self._at_prompt = False
            try:
                self._show_notices()  # (what waited for a prompt that will not come)
            except OSError:
                pass
            if self._master is not None:
                os.close(self._master)
                self._master = None

    def _note_signal(self, signum: int) -> None:
        """Set the flag the loop acts on for ``signum`` (from the handler, or from the wake fd's bytes)."""
        if signum == signal.SIGCHLD:
            self._sigchld = True
        elif signum == signal.SIGWINCH:
            self._winch = True
        elif signum in (signal.SIGTERM, signal.SIGHUP):
            self._stop_signal = signum

    def _on_wake(self, signals: bytes) -> None:
        """Note the signals whose numbers the wake fd carried (the handlers note them too, when they run)."""
        for signum in signals:
            self._note_signal(signum)

    def _record_batch(self, data: bytes, reads: list[tuple[int, int]]) -> None:
        """Give the sink a batch of reads the C part has shown (no marks in them): ``data`` holds the reads back
        to back, ``reads`` their ``(end offset, t)``. One call of ``sink.output_batch`` when the sink has it."""
        if data:
            self._line_start = data[-1:] == b"\n"
        sink = self.sink
        if sink is None:
            return
        try:
            batch = getattr(sink, "output_batch", None)
            if batch is not None:
                batch(data, reads)
                return
            start = 0
            for end, t in reads:
                sink.output(t, data[start:end])
                start = end
        except Exception as e:
            self._sink_failed(e)

    def _loop(self, master: int, wake_r: int) -> PtyExit:
        assert self.pid is not None
        os.set_blocking(master, False)
        buf = bytearray(READ_SIZE)
        view = memoryview(buf)
        screen = bytearray()  # cleaned output of the current burst, for the user's terminal
        feed = self.marks.feed
        readv = os.readv
        clock = self.clock
        relay = self._make_relay()
        origin_ns = clock.origin_ns if isinstance(clock, Clock) else 0
        pending_input = bytearray()
        inbuf = bytearray(1 << 16)  # the user's input, read into a reused buffer
        inview = memoryview(inbuf)
        gate = self.input_gate
        gated = gate is not None and not gate.is_set()
        stdin_open = not gated
        exit_status: int | None = None
        exited_at: float | None = None
        reason = "exit"
        hangup_sent = False
        hangup_at = 0.0

        poller = select.poll()
        IN = select.POLLIN
        poller.register(master, IN)
        poller.register(wake_r, IN)
        if stdin_open:
            poller.register(self.stdin_fd, IN)
        master_events = IN

        def close_input() -> None:
            nonlocal stdin_open, pending_input
            stdin_open = False
            poller.unregister(self.stdin_fd)
            if not self.stdin_is_tty:
                # as `script` does: the end of a piped stdin reaches the child as an EOF character
                pending_input += _veof(master)

        # the child runs and the loop is ready: the first output is relayed at once (and, with a spawn delay, before
        # what on_spawn starts)
        late: Callable[[], None] | None = None  # on_spawn, while it waits for the first output (spawn_delay)
        spawn_due = time.monotonic() + self.spawn_delay
        if self.on_spawn is not None:
            if self.spawn_delay > 0 and relay is not None:
                late = self.on_spawn
            else:
                self.on_spawn()
        while True:
            if gated and gate is not None and gate.is_set():
                gated = False
                stdin_open = True
                poller.register(self.stdin_fd, IN)
            got_output = False
            ready: list[tuple[int, int]] = []
            in_c = (
                relay is not None
                and not self._terminal_gone
                and exit_status is None
                and self._stop_signal is None
                and not pending_input
                and not self.marks.held
            )
            if late is not None and not in_c:
                late()
                late = None
            if in_c:
                assert relay is not None
                # the steady state, in C, until something needs a decision here
                timeout = 10 if gated else -1
                if late is not None:
                    timeout = max(1, round((spawn_due - time.monotonic()) * 1000))
                why, data, reads, tail_t, tail, err = relay.run(
                    master, self.stdout_fd, self.stdin_fd if stdin_open else -1, wake_r, origin_ns, timeout
                )
                if late is not None:
                    late()
                    late = None
                if reads:
                    got_output = True
                    self._record_batch(data, reads)
                if why == _relay.R_MARK:
                    got_output = True
                    clean, marks = feed(tail)
                    shown = self._screen_of(clean, marks)
                    if shown:
                        self._show(shown)
                    self._record(tail_t, clean, marks)
                elif why == _relay.R_WAKE:
                    self._on_wake(tail)
                elif why == _relay.R_INPUT:
                    pending_input += tail
                elif why == _relay.R_INPUT_EOF:
                    close_input()
                elif why == _relay.R_EOF:
                    self._release_held()
                    exit_status = _decode_status(os.waitpid(self.pid, 0)[1])
                    return self._finish(exit_status, reason)
                elif why == _relay.R_ERROR:
                    if err not in _HUNG_UP:  # (the master's EIO is R_EOF: this is the user's terminal)
                        raise OSError(err, os.strerror(err))
                    self._terminal_lost()
            else:
                holding = False
                timeout_ms: float | None = None
                if exit_status is not None:
                    timeout_ms = 20
                elif self._stop_signal is not None:
                    timeout_ms = 50
                else:
                    holding = True
                    timeout_ms = HOLD_TIMEOUT * 1000
                try:
                    ready = poller.poll(timeout_ms)
                except InterruptedError:
                    ready = []
                if not ready and holding:
                    self._release_held()
                    # nothing is held back now: block until something happens (or go back to the C part)
                    idle = exit_status is None and self._stop_signal is None and not gated
                    if relay is None or pending_input:
                        try:
                            ready = poller.poll(None if idle else (10 if gated else 50))
                        except InterruptedError:
                            ready = []
            for fd, ev in ready:
                if fd == master:
                    if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
                        # a flood of output: keep reading (a PTY read gives at most a few KiB) without a poll
                        # in between, until the master is empty, a read is short, or the burst is over; then
                        # one write to the user's terminal. A short read (an echo) is shown, then recorded.
                        n = -1
                        for _ in range(READ_BURST):
                            try:
                                n = readv(master, [buf])
                            except BlockingIOError:
                                break
                            except OSError as e:
                                if e.errno != errno.EIO:
                                    raise
                                n = 0
                            if n == 0:
                                break
                            got_output = True
                            t = clock()
                            clean, marks = feed(bytes(view[:n]))
                            screen += self._screen_of(clean, marks, screen) if marks else clean
                            if n < BURST_MIN_READ:
                                if screen:
                                    self._show(screen)
                                    screen.clear()
                                self._record(t, clean, marks)
                                break
                            self._record(t, clean, marks)
                        if screen:
                            self._show(screen)
                            screen.clear()
                        if n == 0:  # EIO or empty read: every slave fd is closed
                            self._release_held()
                            if exit_status is None:
                                exit_status = _decode_status(os.waitpid(self.pid, 0)[1])
                            return self._finish(exit_status, reason)
                    if ev & select.POLLOUT and pending_input:
                        _send_input(master, pending_input)
                elif fd == wake_r:
                    try:
                        self._on_wake(os.read(wake_r, 512))
                    except BlockingIOError:
                        pass
                elif fd == self.stdin_fd:
                    try:
                        k = readv(self.stdin_fd, [inbuf])
                    except BlockingIOError:
                        continue
                    except OSError:
                        k = 0
                    if not k:
                        close_input()
                        continue
                    if pending_input:
                        pending_input += inview[:k]
                        _send_input(master, pending_input)
                    else:  # the usual case, a keystroke: straight from the reused buffer to the child
                        try:
                            sent = os.write(master, inview[:k])
                        except BlockingIOError:
                            sent = 0
                        except OSError:
                            sent = k  # the child is gone: nobody to type to
                        if sent < k:
                            pending_input += inview[sent:k]

            # input flow control: stop reading the user's terminal while the child is not reading
            want = IN | (select.POLLOUT if pending_input else 0)
            if want != master_events:
                poller.modify(master, want)
                master_events = want
            if stdin_open and len(pending_input) > MAX_PENDING_INPUT:
                poller.unregister(self.stdin_fd)
                stdin_open = False

            if self._notices:
                self._show_notices()

            if self._winch:
                self._winch = False
                self._on_winch()

            if exit_status is None:
                # SIGCHLD sets the flag (and wakes the poll through the wakeup fd): no wait call per read
                if self._sigchld:
                    self._sigchld = False
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                    if pid:
                        exit_status = _decode_status(status)
                        exited_at = time.monotonic()
            elif not got_output and exited_at is not None and time.monotonic() - exited_at > DRAIN_AFTER_EXIT:
                # the shell is gone but something else holds the PTY open: stop here
                self._release_held()
                return self._finish(exit_status, reason)

            if self._stop_signal is not None and not hangup_sent:
                hangup_sent = True
                hangup_at = time.monotonic()
                reason = _signal_name(self._stop_signal)
                self._hangup()
            elif hangup_sent and exit_status is None and time.monotonic() - hangup_at > 2.0:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:  # the shell ignored SIGHUP, then exited
                    pass

    def _hangup(self) -> None:
        """SIGHUP to the shell (it passes it on to its jobs), as when the terminal window closes."""
        assert self.pid is not None
        try:
            os.kill(self.pid, signal.SIGHUP)
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def _finish(self, exit_status: int, reason: str) -> PtyExit:
        if reason != "exit":
            self._kill_session()
        return PtyExit(exit_status=exit_status, reason=reason)

    def _kill_session(self) -> None:
        """Kill what is left in the shell's session (the recorder was stopped: nothing may be orphaned)."""
        assert self.pid is not None
        sid = self.pid
        deadline = time.monotonic() + 2.0
        for sig in (signal.SIGHUP, signal.SIGKILL):
            left = _session_members(sid)
            for pid in left:
                try:
                    os.kill(pid, sig)
                    if sig == signal.SIGHUP:
                        os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            while left and time.monotonic() < deadline:
                left = _session_members(sid)
                if left:
                    time.sleep(0.02)
            if not left:
                return
            deadline = time.monotonic() + 2.0


def _session_members(sid: int) -> list[int]:
    """Processes whose session id is ``sid`` (read from /proc; empty where /proc is missing)."""
    out = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit():
            continue
        try:
            if os.getsid(int(name)) == sid:
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[-1].split()[0]
                if state != b"Z":
                    out.append(int(name))
        except (OSError, IndexError):
            continue
    return out
