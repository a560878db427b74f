"""Ports for tests: leased blocks below the ephemeral range, never a port the OS picked.

A port the OS hands out for ``bind(0)`` comes from the ephemeral range (32768-60999 on Linux),
and so does the local end of every outgoing connection. A test that picks one and binds it
seconds later (after a kernel or a sidecar has started) can find it taken by a connection of
the notebook run beside it, or of any other process: seen in `make test` as "port 33367 is
already in use". Test ports therefore come from blocks leased with
:func:`jobslab.ports.lease_block` (20000-32000, one lock file per block, shared with the
notebook runs and the grader, so no two of them hold the same block) and are held until the
test process ends; each block serves several ports.
"""

from __future__ import annotations

import threading

from jobslab import ports as _ports

#: Ports in one leased block (the lease's block size).
BLOCK = 10

_lock = threading.Lock()
_held: list[_ports.PortLease] = []  # released when this process ends
_next: list[int] = []  # the current block's ports not handed out yet


def lease(size: int = BLOCK) -> _ports.PortLease:
    """A whole block of ``size`` consecutive ports, leased until :meth:`release` (or the end
    of this process): for a fixture that wants to give its ports back after the test."""
    return _ports.lease_block(size, step=BLOCK)


def free_port_block(count: int) -> int:
    """A base port such that ``base .. base+count-1`` are free and no other run holds them."""
    if not 0 < count <= BLOCK:
        raise ValueError(f"1 to {BLOCK} ports, {count} asked")
    with _lock:
        if len(_next) < count:
            held = lease()
            _held.append(held)
            _next[:] = held.ports
        base = _next[0]
        del _next[:count]
    return base


def free_port() -> int:
    """A port that is free on 127.0.0.1 and that no other run holds."""
    return free_port_block(1)
