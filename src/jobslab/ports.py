"""Ports, in one place: is it free, does it accept, who holds it, find free ones.

Used by the stand-in, ``serve``, the cluster path and ``doctor``: every "port in use" message in
jobslab names the holder the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable


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


def holder(port: int) -> str:
    """Who listens on ``port``: ``"pid 123 (python -m jobslab run ...)"``, or a hint.

    Only processes of the current user can be named without privileges.
    """
    import psutil  # imported here: the sidecar's start-up path never needs it

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):  # macOS needs root for other processes' sockets
        conns = []
    for conn in conns:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            if conn.pid is None:
                return f"a process of another user (try `sudo lsof -i :{port}`)"
            return describe_pid(conn.pid)
    return f"an unknown process (`lsof -i :{port}` or `ss -ltnp` shows it)"


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
