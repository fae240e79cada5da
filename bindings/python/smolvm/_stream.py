"""ExecStream: a command's output as it happens (a pull API)."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Iterator, Optional, Union

from ._errors import ConfigError, TimeoutError
from ._exec import check_terminal_size
from ._native import any_to_bytes, check, closed_error, ll, raise_last
from ._result import ExecEvent

__all__ = ["ExecStream", "Terminal"]

_KINDS = {ll.SMOLVM_EVENT_STDOUT: "stdout", ll.SMOLVM_EVENT_STDERR: "stderr"}


def _release(stream: Any, vm: Any, runtime: Any) -> None:
    ll.smolvm_swig_stream_free(stream)  # kills the command if it still runs
    ll.smolvm_vm_free(vm)
    del runtime  # kept alive until now


class ExecStream(Iterator[ExecEvent]):
    """A running command whose events you pull, in order.

    Made by :meth:`VM.stream`. Iterating blocks (with the GIL released) until
    the next event and ends after the ``"exit"`` event::

        for ev in vm.stream("for i in 1 2 3; do echo $i; sleep 1; done"):
            if ev.kind == "stdout":
                print(ev.text, end="")
            elif ev.kind == "exit":
                print("exit code", ev.exit_code)

    Nothing runs in the background: events wait in the VM's channel until
    you ask for them (SWIG cannot call back into every language, so every
    binding exposes this same pull API). :meth:`next_event` with ``wait``
    polls without blocking forever. Closing the stream (or leaving its
    ``with`` block, or dropping it) kills a command that still runs.

    A stream uses its own connection to the VM, so the VM object can run
    other commands meanwhile. Use one stream from one thread at a time.
    """

    def __init__(self, vm_ptr: Any, stream_ptr: Any, runtime: Any, description: str) -> None:
        self._stream = stream_ptr
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _release, stream_ptr, vm_ptr, runtime)
        self._description = description
        self._exit: Optional[ExecEvent] = None

    # ---- events ----

    def next_event(self, wait: Optional[float] = None) -> Optional[ExecEvent]:
        """The next event, waiting up to ``wait`` seconds (None: forever).

        Returns None if no event came in time, or once the ``"exit"`` event
        has been returned (see :attr:`done`).
        """
        if wait is None:
            wait_ms = -1
        elif isinstance(wait, (int, float)) and 0 <= wait <= 2**31 / 1000:
            wait_ms = int(wait * 1000)
        else:
            raise ConfigError(f"wait={wait!r}: must be None or 0..{2**31 // 1000} seconds")
        with self._lock:
            if self._exit is not None:
                return None
            stream = self._handle()
            kind = ll.smolvm_swig_stream_next(stream, wait_ms)
            if kind == ll.SMOLVM_ETIMEOUT:
                return None
            if kind == ll.SMOLVM_EDONE:
                return None
            if kind < 0:
                raise_last(kind)
            if kind == ll.SMOLVM_EVENT_EXIT:
                self._exit = ExecEvent(
                    kind="exit",
                    exit_code=ll.smolvm_swig_stream_exit_code(stream),
                    signal=ll.smolvm_swig_stream_signal(stream),
                    timed_out=bool(ll.smolvm_swig_stream_timed_out(stream)),
                    duration=ll.smolvm_swig_stream_duration_us(stream) / 1e6)
                return self._exit
            return ExecEvent(kind=_KINDS.get(kind, "stdout"),  # type: ignore[arg-type]
                             data=ll.smolvm_swig_stream_data(stream))

    def __iter__(self) -> "ExecStream":
        return self

    def __next__(self) -> ExecEvent:
        event = self.next_event(None)
        if event is None:
            raise StopIteration
        return event

    @property
    def done(self) -> bool:
        """True once the ``"exit"`` event has been returned."""
        return self._exit is not None

    @property
    def exit_code(self) -> Optional[int]:
        """The exit code once :attr:`done`, else None."""
        return self._exit.exit_code if self._exit else None

    # ---- input and control ----

    def write_stdin(self, data: Union[bytes, str]) -> None:
        """Sends bytes (str: UTF-8) to the command's stdin. Needs
        ``stream(..., keep_stdin_open=True)``."""
        payload = any_to_bytes(data, "data")
        with self._lock:
            check(ll.smolvm_swig_stream_write_stdin(self._handle(), payload))

    def close_stdin(self) -> None:
        """Closes the command's stdin (it reads end of file)."""
        with self._lock:
            check(ll.smolvm_swig_stream_close_stdin(self._handle()))

    def kill(self, signal: int = 9) -> None:
        """Sends ``signal`` (default SIGKILL) to the command's process group.
        Keep reading events to collect its ``"exit"``."""
        with self._lock:
            check(ll.smolvm_swig_stream_kill(self._handle(), int(signal)))

    def resize(self, rows: int, cols: int) -> None:
        """Gives a command on a terminal (:meth:`VM.pty`) a new window size;
        its foreground programs get SIGWINCH."""
        check_terminal_size(rows, cols)
        with self._lock:
            check(ll.smolvm_swig_stream_resize(self._handle(), rows, cols))

    def close(self) -> None:
        """Frees the stream, killing the command if it still runs."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> "ExecStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"exit_code={self.exit_code}" if self.done else "running"
        return f"<ExecStream {self._description!r} {state}>"

    def _handle(self) -> Any:
        if not self._finalizer.alive:
            raise closed_error("this stream")
        return self._stream


class Terminal(ExecStream):
    """A command on a terminal in the guest: made by :meth:`VM.pty` and
    :meth:`VM.shell`.

    What you :meth:`write` is typed into the terminal; :meth:`read` returns
    what the terminal shows (the command's stdout and stderr, as one stream
    with the terminal's ``\\r\\n``); :meth:`resize` changes its size. The
    command is the terminal's session leader, so job control, Ctrl-C
    (``write("\\x03")``) and full-screen programs work::

        with vm.shell() as term:
            term.write("python3\\n")
            term.read_until(b">>> ")
            term.write("print(6*7)\\n")
            print(term.read_until(b"42"))
            term.write("exit()\\nexit\\n")
            term.wait()

    Events (:meth:`next_event`, iteration) work as on an :class:`ExecStream`.
    """

    def write(self, data: Union[bytes, str]) -> None:
        """Types bytes (str: UTF-8) into the terminal."""
        self.write_stdin(data)

    def read(self, wait: Optional[float] = None) -> bytes:
        """The terminal's next output, waiting up to ``wait`` seconds (None:
        until some comes). b"" when nothing came in time or the command has
        exited (:attr:`done`)."""
        while True:
            event = self.next_event(wait)
            if event is None or event.kind == "exit":
                return b""
            if event.data:
                return event.data

    def read_until(self, marker: Union[bytes, str], timeout: float = 30.0) -> bytes:
        """Everything the terminal shows until ``marker`` appears in it
        (included). Raises :class:`TimeoutError` after ``timeout`` seconds or
        when the command exits first, with what came so far."""
        want = any_to_bytes(marker, "marker")
        deadline = time.monotonic() + timeout
        seen = b""
        while want not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.done:
                raise TimeoutError(f"{want!r} did not show within {timeout} s; the terminal "
                                   f"showed {seen[-500:]!r}")
            seen += self.read(min(left, 1.0))
        return seen

    def wait(self, timeout: Optional[float] = None) -> int:
        """Reads (and drops) output until the command exits; its exit code.
        Raises :class:`TimeoutError` if it runs past ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"the command on the terminal still runs after {timeout} s")
            self.next_event(left)
        return self.exit_code  # type: ignore[return-value]
