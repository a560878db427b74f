"""Starting, recording and stopping the processes jobslab runs: neutral plumbing for every
backend.

- :mod:`.guard` — the kernel guard: a sidecar survives "Interrupt kernel" but never outlives
  the kernel (docs/architecture.md#kernel-hygiene); :func:`spawn` starts a command under it.
- :mod:`.pidfiles` — the one pidfile format, liveness that survives pid reuse,
  :func:`stop_group`, and the one :func:`cleanup_stale`.
- :mod:`.runner` — :class:`Runner` for external commands (kind, kubectl, helm, daprd…), whose
  failures are :class:`jobslab.errors.CommandError`.

It depends on nothing in jobslab but :mod:`jobslab.errors` and :mod:`jobslab.ports`, so the
local, self-hosted and kind backends all build on it without importing each other.
"""

from __future__ import annotations

from ..errors import CommandError
from .guarded import spawn
from .pidfiles import (
    cleanup_stale,
    holder,
    owner_alive,
    pid_alive,
    read_pidfile,
    remove_pidfile,
    running,
    same_process,
    stop_group,
    write_pidfile,
)
from .runner import Result, Runner, describe, tail, wait_until

__all__ = [
    "CommandError", "Result", "Runner", "cleanup_stale", "describe", "holder", "owner_alive",
    "pid_alive", "read_pidfile", "remove_pidfile", "running", "same_process", "spawn",
    "stop_group", "tail", "wait_until", "write_pidfile",
]
