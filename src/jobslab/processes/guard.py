"""Run a sidecar so that it survives "Interrupt kernel" but never outlives the kernel.

``python <this file> --parent PID -- CMD ...`` (see :func:`command`; started by
:func:`jobslab.processes.spawn`)

Why a guard (docs/architecture.md#kernel-hygiene): jupyter_client interrupts a kernel by
sending SIGINT to the kernel's whole *process group*, so a sidecar in that group dies with
every interrupted cell; one in a new session survives a kernel restart as an orphan holding
its port. The kernel therefore starts this guard in a process group of its own (not a new
session); the guard runs the sidecar in that group and stops it as soon as the kernel is gone
(its parent pid changes; on Linux also ``PR_SET_PDEATHSIG``). ``os.killpg(guard_pid,
SIGTERM)`` stops both.

The kernel also writes a pidfile per guarded process (:mod:`jobslab.processes.pidfiles`:
the guard's pid, which is the process group, and the kernel's pid, each with its create time
so that a recycled pid is never taken for ours). Should a guard itself be killed outright
(SIGKILL, the OOM killer), its child is left holding the port; ``cleanup_stale``, run by the
next ``jobslab.connect()``, stops the process group of every pidfile whose kernel is gone. The
local stand-in's sidecars, the kind backend's ``kubectl port-forward`` and the self-hosted
``daprd`` all follow this discipline.

This module runs as a script, by its file path, with the standard library only: no package
import, so a sidecar's guard starts in milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

#: Seconds between two looks at the parent and the child.
POLL = 0.2


# -- starting a guarded process (the kernel's side) ---------------------------------------------
def command(cmd: Sequence[str], parent: int | None = None) -> list[str]:
    """The argv that runs ``cmd`` under a guard tied to ``parent`` (default: this process).

    Start it with ``process_group=0`` (:func:`jobslab.processes.spawn` does): out of the
    kernel's process group, but not in a new session.
    """
    return [sys.executable, str(Path(__file__).resolve()), "--parent",
            str(parent or os.getpid()), "--", *cmd]


# -- the guard process --------------------------------------------------------------------------
def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(child: subprocess.Popen[bytes]) -> int:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobslab.processes.guard")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != args.parent:
        return 1
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    while True:
        if child.poll() is not None:
            return child.returncode
        if stopping or os.getppid() != args.parent:
            return _stop(child)
        time.sleep(POLL)


if __name__ == "__main__":
    sys.exit(main())
