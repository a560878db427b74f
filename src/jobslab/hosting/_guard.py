"""Run a sidecar so that it survives "Interrupt kernel" but never outlives the kernel.

``python -m jobslab.hosting._guard --parent PID -- CMD ...``

Why a guard (anchors §3.1): jupyter_client interrupts a kernel by sending SIGINT to the
kernel's whole *process group*, so a sidecar in that group dies with every interrupted cell;
one in a new session survives a kernel restart as an orphan holding its port. The kernel
therefore starts this guard in a process group of its own (not a new session); the guard runs
the sidecar in that group and stops it as soon as the kernel is gone (its parent pid changes;
on Linux also ``PR_SET_PDEATHSIG``). ``os.killpg(guard_pid, SIGTERM)`` stops both.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time

POLL = 0.2


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
    parser = argparse.ArgumentParser(prog="jobslab.hosting._guard")
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
