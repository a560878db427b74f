"""Start a command under the kernel guard (:mod:`jobslab.processes.guard`) and record it."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from . import guard
from .pidfiles import write_pidfile

__all__ = ["spawn"]


def spawn(cmd: Sequence[str], pidfile: Path | None = None, *,
          stdout: IO[Any] | int | None = subprocess.DEVNULL,
          env: dict[str, str] | None = None, cwd: Path | None = None,
          **info: Any) -> subprocess.Popen[bytes]:
    """Start ``cmd`` under a guard in a process group of its own; record it in ``pidfile``
    (with ``info``) when given. ``cmd[0]`` must be a path, not a name to look up."""
    process = subprocess.Popen(guard.command(cmd), stdin=subprocess.DEVNULL, stdout=stdout,
                               stderr=subprocess.STDOUT, env=env, cwd=cwd, process_group=0)
    if pidfile is not None:
        write_pidfile(pidfile, process.pid, **info)
    return process
