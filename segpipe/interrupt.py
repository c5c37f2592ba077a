"""Ctrl-C and SIGTERM during a run: stop the running query at once and say so in one line.

Python runs a signal handler only between bytecodes, so while DuckDB executes a
long query the handler would wait for it (up to seconds). The C-level handler
does write the signal's number to the "wakeup fd" at once, so a thread waiting
on that socket calls `interrupt()` on the connections registered with `watch`;
the query stops, and the Python handler then raises InterruptedRun. The run's
clean-up (BuildFile removes the build file and releases the lock) runs as for
any failure, and the published file is never touched. A second signal while
cleaning up is ignored, so the clean-up finishes.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import weakref

from .errors import InterruptedRun

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: how often the connections are interrupted again once a stop signal came, in seconds
REPEAT = 0.05
#: the connections a signal interrupts; one closed and dropped leaves by itself
_connections: weakref.WeakSet = weakref.WeakSet()
#: the `commit` of the stoppable block running, if any: a block within it is part of it
_active = None
#: stop signals that came before the block (hold_stop_signals)
_held: list[int] = []


def hold_stop_signals() -> None:
    """From the very start of `segpipe run` until its stoppable block, SIGINT and SIGTERM are only
    noted; the block then stops in one line. Their default action would end the process silently
    while Python imports (a quarter of a second), or crash it inside DuckDB's C++ import."""
    if threading.current_thread() is threading.main_thread():
        for number in STOP_SIGNALS:
            signal.signal(number, _note)


def ignore_stop_signals() -> None:
    """Ignore SIGINT and SIGTERM from here to the process's end: once `segpipe run` has its
    outcome, Python's shutdown would restore their default action, and a signal then killed a
    run that had published (exit -15 instead of 0). An ignored signal is not restored."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _note(signum, frame) -> None:
    _held.append(signum)


@contextlib.contextmanager
def stop_signals_held():
    """hold_stop_signals() within the block, the handlers before it back afterwards: a program
    calling `segpipe run` in its own process (a test, a scheduler) keeps its own Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    hold_stop_signals()
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _held.clear()


@contextlib.contextmanager
def stoppable():
    """Within the block, SIGINT and SIGTERM interrupt every watched connection and raise
    InterruptedRun (exit 130 or 143); any error the interruption causes becomes that one.
    Yields `commit()`, called when only the rename over the published file is left: a signal
    after it is ignored and the run finishes, since stopping then would say the published file
    was not changed when it was."""
    global _active
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # only the main thread may set signal handlers (a server's worker thread)
        return
    if _active is not None:  # within `segpipe run`'s whole command: its block stops this too
        yield _active
        return
    received: list[int] = []
    committed: list[bool] = []

    def handler(signum, frame):
        received.append(signum)
        if len(received) == 1 and not committed:
            raise InterruptedRun(signum)

    reader, writer = socket.socketpair()
    writer.setblocking(False)
    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    waker = threading.Thread(target=_interrupt_on_signal, args=(reader,), name="segpipe-interrupt", daemon=True)
    waker.start()
    _active = lambda: committed.append(True)  # noqa: E731
    try:
        if _held:  # it came before the block: stop now, in one line
            received.append(_held[0])
            raise InterruptedRun(_held[0])
        yield _active
    except BaseException as exc:
        if received and not committed and not isinstance(exc, InterruptedRun):
            raise InterruptedRun(received[0]) from None  # DuckDB's "Interrupted!", a KeyboardInterrupt…
        raise
    finally:
        _active = None
        signal.set_wakeup_fd(previous_fd)
        for number, old in previous.items():
            signal.signal(number, old)
        writer.close()  # the waker reads end-of-file and stops
        waker.join()
        reader.close()


def _interrupt_on_signal(reader: socket.socket) -> None:
    """After a stop signal, interrupt the watched connections now and every REPEAT
    seconds until the block ends: DuckDB may take the Python handler's exception as
    its own (checking signals while it runs) and carry on to the next statement."""
    stops = {int(number) for number in STOP_SIGNALS}
    while True:
        try:
            data = reader.recv(64)
        except TimeoutError:  # stopping: whatever query started since is interrupted too
            pass
        else:
            if not data:
                return
            if not stops & set(data):
                continue
            reader.settimeout(REPEAT)
        for con in list(_connections):
            with contextlib.suppress(Exception):
                con.interrupt()


def watch(con):
    """Let a Ctrl-C or SIGTERM during `stoppable` interrupt the queries `con` runs; returns `con`."""
    _connections.add(con)
    return con
