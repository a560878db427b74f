"""Ports, in one place: is it free, does it accept, who holds it, find free ones.

Used by the stand-in, ``serve``, the cluster path and ``doctor``: every "port in use" message in
jobslab names the holder the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterable


def can_bind(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``host:port`` can be bound right now (SO_REUSEADDR, as uvicorn binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_ports(count: int, host: str = "127.0.0.1", *, exclude: Iterable[int] = ()) -> list[int]:
    """``count`` distinct ports the OS says are free now (bound to port 0, then released).

    ``exclude`` lists ports already promised to something not yet listening (say, the Dapr
    HTTP ports of sidecars about to start), which the OS cannot know about.
    """
    excluded = set(exclude)
    socks = []
    found: list[int] = []
    try:
        while len(found) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            socks.append(sock)  # held until the end, so the OS never hands it back twice
            port = sock.getsockname()[1]
            if port not in excluded:
                found.append(port)
        return found
    finally:
        for sock in socks:
            sock.close()


def _listener(port: int) -> tuple[bool, int | None]:
    """(something listens on ``port``, its pid when visible to this user)."""
    import psutil  # imported here: the sidecar's start-up path never needs it

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):  # macOS needs root for other processes' sockets
        return False, None
    for conn in conns:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return True, conn.pid
    return False, None


def listener_pid(port: int) -> int | None:
    """The pid listening on ``port``, or ``None`` (free, or another user's process)."""
    return _listener(port)[1]


def holder(port: int) -> str:
    """Who listens on ``port``: ``"pid 123 (python -m jobslab run ...)"``, or a hint.

    Only processes of the current user can be named without privileges.
    """
    found, pid = _listener(port)
    if found and pid is None:
        return f"a process of another user (try `sudo lsof -i :{port}`)"
    if pid is not None:
        return describe_pid(pid)
    return f"an unknown process (`lsof -i :{port}` or `ss -ltnp` shows it)"


def wait(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds pass; say which.

    The one deadline-bound poll loop of the library: callers turn ``False`` into an error
    that names what did not happen.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return True


def wait_free(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    """Wait until ``host:port`` can be bound again (its listener has gone)."""
    return wait(lambda: can_bind(port, host), timeout)


def describe_pid(pid: int) -> str:
    """``"pid 123 (python -m jobslab run --app-id a ...)"``; this kernel is named as such."""
    import psutil

    if pid == os.getpid():
        return f"pid {pid} (this Python process — a server started here earlier)"
    with contextlib.suppress(psutil.Error):
        cmd = " ".join(psutil.Process(pid).cmdline())
        if len(cmd) > 120:
            cmd = cmd[:117] + "..."
        return f"pid {pid} ({cmd})"
    return f"pid {pid}"
