"""Ports, in one place: is it free, does it accept, who holds it, find free ones.

Used by the stand-in, ``serve``, the cluster path and ``doctor``: every "port in use" message in
jobslab names the holder the same way.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO


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


#: Where port leases are recorded: one lock file per block, shared by every jobslab process of
#: this machine's user(s).
LEASE_DIR = Path(tempfile.gettempdir()) / "jobslab-port-leases"


class PortLease:
    """A block of ports held for one run: an exclusive ``flock`` on a lock file, released by
    :meth:`release` or when the process ends (so a crashed run never leaks its block)."""

    def __init__(self, base: int, size: int, handle: IO[str]) -> None:
        self.base = base
        self.ports = list(range(base, base + size))
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the lock
            self._handle = None

    def __enter__(self) -> PortLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lease_block(size: int, *, first: int = 20000, last: int = 32000,
                step: int = 10) -> PortLease:
    """``size`` consecutive free ports no other jobslab run holds, from blocks of ``step`` in
    ``[first, last)`` — by default below Linux's ephemeral range (32768-60999), so an outgoing
    connection never borrows one between the check and the bind.

    Free-now is not enough when runs start together (two test runs, a grader next to a
    learner): each block is leased with a lock file under :data:`LEASE_DIR`, so two runs never
    get the same block, however close their starts.
    """
    import fcntl

    if size > step:
        raise ValueError(f"a block holds at most {step} ports, {size} asked")
    LEASE_DIR.mkdir(parents=True, exist_ok=True)
    bases = list(range(first, last - step + 1, step))
    start = random.randrange(len(bases)) if bases else 0
    for base in bases[start:] + bases[:start]:
        handle = open(LEASE_DIR / f"{base}.lock", "w", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        if all(can_bind(port) for port in range(base, base + size)):
            handle.write(str(os.getpid()))
            handle.flush()
            return PortLease(base, size, handle)
        handle.close()
    raise OSError(f"no block of {size} free ports between {first} and {last}")
