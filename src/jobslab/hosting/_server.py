"""A uvicorn server in a daemon thread of the kernel (docs/architecture.md#kernel-hygiene).

- ``uvicorn.Server`` subclassed to install no signal handlers (Gradio's pattern), so
  "Interrupt kernel" interrupts the cell, not the server.
- Started with a deadline and a thread-alive check: on a busy port uvicorn's thread exits and
  a bare ``while not server.started`` would spin forever.
- A module-level registry keyed by ``(host, port)`` (Dash's pattern): starting on a port this
  kernel already serves stops the old server first, so re-running a cell replaces it.
- uvicorn logs go to a per-server buffer, not to the cell (``log_config=None``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from typing import Any

import uvicorn

from .. import ports as _ports
from ..errors import JobslabError

log = logging.getLogger(__name__)

_registry: dict[tuple[str, int], BackgroundServer] = {}
_registry_lock = threading.Lock()


class ServeError(JobslabError, RuntimeError):
    """A server or sidecar could not start or stop; the message says which port and why."""


class PortInUseError(ServeError):
    """The port is held by another process (named in the message)."""

    def __init__(self, port: int, what: str, holder: str, hint: str) -> None:
        self.port = port
        self.holder = holder
        super().__init__(f"{what}: port {port} is already in use by {holder}. {hint}")


class _QuietServer(uvicorn.Server):
    """No signal handlers: the kernel's SIGINT stays the kernel's."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]  # uvicorn >= 0.29
        yield


class _ThreadLogHandler(logging.Handler):
    """Keeps uvicorn records emitted by one server thread (for error messages)."""

    def __init__(self, thread_name: str) -> None:
        super().__init__(logging.DEBUG)
        self.thread_name = thread_name
        self.records: collections.deque[str] = collections.deque(maxlen=50)

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == self.thread_name:
            with contextlib.suppress(Exception):
                self.records.append(record.getMessage())


class BackgroundServer:
    """One uvicorn server for ``app`` on ``host:port`` in a daemon thread.

    Example::

        server = BackgroundServer(app, port=8001, name="demo-0")
        server.start(timeout=10)       # raises ServeError / PortInUseError, never hangs
        server.stop()
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int, name: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self.thread: threading.Thread | None = None
        self.server: _QuietServer | None = None
        self._logs = _ThreadLogHandler(f"jobslab-{name}-{port}")

    @property
    def running(self) -> bool:
        return bool(self.thread and self.thread.is_alive() and self.server
                    and self.server.started and not self.server.should_exit)

    def start(self, timeout: float = 10.0) -> None:
        key = (self.host, self.port)
        with _registry_lock:
            old = _registry.pop(key, None)
        if old is not None and old is not self:
            log.info("replacing the server %s on %s:%s", old.name, self.host, self.port)
            old.stop()
        if not _ports.can_bind(self.port, self.host):
            raise PortInUseError(
                self.port, f"app server {self.name!r}", _ports.holder(self.port),
                "Stop that process, or pass another app_port= (None picks free ports).")
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                access_log=False, log_config=None, lifespan="auto")
        self.server = _QuietServer(config)
        uv_logger = logging.getLogger("uvicorn")
        uv_logger.addHandler(self._logs)
        self.thread = threading.Thread(target=self._run, name=self._logs.thread_name,
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                self._detach()
                said = "; ".join(self._logs.records) or "no message"
                if "address already in use" in said.lower() or "errno 98" in said.lower():
                    raise PortInUseError(
                        self.port, f"app server {self.name!r}", _ports.holder(self.port),
                        "Stop that process, or pass another app_port=.")
                raise ServeError(f"app server {self.name!r} on port {self.port} stopped while "
                                 f"starting: {said}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServeError(f"app server {self.name!r} on port {self.port} did not start "
                                 f"within {timeout:g} s. uvicorn said: "
                                 f"{'; '.join(self._logs.records) or 'nothing'}")
            time.sleep(0.02)
        with _registry_lock:
            _registry[key] = self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to exit and join its thread; the port is free when this returns."""
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout)
            if self.thread.is_alive() and self.server is not None:
                self.server.force_exit = True
                self.thread.join(timeout)
            if self.thread.is_alive():
                log.warning("server %s on port %s did not stop within %s s",
                            self.name, self.port, 2 * timeout)
        self._detach()
        with _registry_lock:
            if _registry.get((self.host, self.port)) is self:
                del _registry[(self.host, self.port)]

    def _detach(self) -> None:
        logging.getLogger("uvicorn").removeHandler(self._logs)

    def _run(self) -> None:
        assert self.server is not None
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits its thread this way when it cannot bind
            pass
        except BaseException as exc:  # keep it in the buffer; never print from a thread
            self._logs.records.append(f"{exc.__class__.__name__}: {exc}")


def stop_all() -> None:
    """Stop every server this kernel started (used at interpreter exit)."""
    with _registry_lock:
        servers = list(_registry.values())
    for server in servers:
        server.stop(timeout=2.0)


def serving(host: str, port: int) -> BackgroundServer | None:
    """The server this kernel runs on ``host:port``, if any."""
    with _registry_lock:
        return _registry.get((host, port))
