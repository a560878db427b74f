"""Run a sidecar so that it survives "Interrupt kernel" but never outlives the kernel.

``python <this file> --parent PID -- CMD ...`` (see :func:`command`)

Why a guard (docs/architecture.md#kernel-hygiene): jupyter_client interrupts a kernel by
sending SIGINT to the kernel's whole *process group*, so a sidecar in that group dies with
every interrupted cell; one in a new session survives a kernel restart as an orphan holding
its port. The kernel therefore starts this guard in a process group of its own (not a new
session); the guard runs the sidecar in that group and stops it as soon as the kernel is gone
(its parent pid changes; on Linux also ``PR_SET_PDEATHSIG``). ``os.killpg(guard_pid,
SIGTERM)`` stops both.

The kernel also writes a pidfile per guarded process (:func:`write_pidfile`: the guard's pid,
which is the process group, and the kernel's pid, each with its create time so that a
recycled pid is never taken for ours). Should a guard itself be killed outright (SIGKILL,
the OOM killer), its child is left holding the port; :func:`cleanup_stale`, run by the next
``jobslab.connect()``, stops the process group of every pidfile whose kernel is gone. The
local stand-in's sidecars, the kind backend's ``kubectl port-forward`` and the self-hosted
``daprd`` all follow this discipline.

This module runs as a script with the standard library only: importing it as
``jobslab.hosting._guard`` would first import the hosting package (pandas, uvicorn...), a
second of start-up for every sidecar. psutil is imported where the pidfile helpers need it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

POLL = 0.2
#: Seconds a stopped process group gets between SIGTERM and SIGKILL.
STOP_TIMEOUT = 8.0

log = logging.getLogger("jobslab.hosting._guard")


# -- starting a guarded process (the kernel's side) ---------------------------------------------
def command(cmd: Sequence[str], parent: int | None = None) -> list[str]:
    """The argv that runs ``cmd`` under a guard tied to ``parent`` (default: this process).

    Start it with ``process_group=0`` (:func:`spawn` does): out of the kernel's process group,
    but not in a new session.
    """
    return [sys.executable, str(Path(__file__).resolve()), "--parent",
            str(parent or os.getpid()), "--", *cmd]


def spawn(cmd: Sequence[str], pidfile: Path | None = None, *,
          stdout: IO[Any] | int | None = subprocess.DEVNULL,
          env: dict[str, str] | None = None, cwd: Path | None = None,
          **info: Any) -> subprocess.Popen[bytes]:
    """Start ``cmd`` under a guard in a process group of its own; record it in ``pidfile``
    (with ``info``) when given. ``cmd[0]`` must be a path, not a name to look up."""
    process = subprocess.Popen(command(cmd), stdin=subprocess.DEVNULL, stdout=stdout,
                               stderr=subprocess.STDOUT, env=env, cwd=cwd, process_group=0)
    if pidfile is not None:
        write_pidfile(pidfile, process.pid, **info)
    return process


# -- pidfiles ---------------------------------------------------------------------------------
def create_time(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def write_pidfile(pidfile: Path, pid: int, **info: Any) -> None:
    """Record guarded process ``pid`` (a process group leader) started by this process."""
    data = {"pid": pid, "create_time": create_time(pid), "owner_pid": os.getpid(),
            "owner_create_time": create_time(os.getpid()), **info}
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    tmp = pidfile.with_name(pidfile.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(pidfile)


def read_pidfile(pidfile: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(pidfile.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def remove_pidfile(pidfile: Path, pid: int | None) -> None:
    """Delete ``pidfile`` if it still records ``pid`` (a newer process may own it now)."""
    info = read_pidfile(pidfile)
    if info is None or info.get("pid") == pid:
        pidfile.unlink(missing_ok=True)


def same_process(pid: int | None, created: float | None) -> bool:
    """True while ``pid`` runs and is the process created at ``created`` (not a zombie)."""
    import psutil

    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        actual = proc.create_time()
    except psutil.Error:
        return False
    return created is None or abs(actual - created) < 1.0


def owner_alive(info: dict[str, Any]) -> bool:
    """True while the kernel that wrote ``info`` runs."""
    return same_process(info.get("owner_pid"), info.get("owner_create_time"))


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(info: dict[str, Any], *, process: subprocess.Popen[bytes] | None = None,
               timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group of ``info["pid"]`` (the guard and what it runs); SIGKILL
    after ``timeout``. Returns once the group is gone or after that.

    ``process``: the guard's Popen when this process started it (it is reaped). Without it,
    the group is signalled only while its leader is the recorded process, or — the leader
    killed outright — while the leader's pid is unused and the group still has members
    (a pid stays reserved while it names a process group, so those are its children).
    """
    pgid = int(info["pid"])
    if process is not None:
        if process.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                process.wait(5)
        _wait_group_gone(pgid, 5.0)
        return
    import psutil

    leader = same_process(pgid, info.get("create_time"))
    if not leader and psutil.pid_exists(pgid) and not _only_zombie(pgid):
        return  # the pid is another process now: not ours to signal
    if not _group_exists(pgid):
        return
    _signal_group(pgid, signal.SIGTERM)
    if not _wait_group_gone(pgid, timeout):
        _signal_group(pgid, signal.SIGKILL)
        _wait_group_gone(pgid, 5.0)


def _only_zombie(pid: int) -> bool:
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    """Poll (with a deadline) until no live process is left in group ``pgid``."""
    deadline = time.monotonic() + timeout
    while _group_has_live_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)  # poll interval of the deadline-bound wait above
    return True


def _group_has_live_members(pgid: int) -> bool:
    if not _group_exists(pgid):
        return False
    import psutil

    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (OSError, psutil.Error):
            continue
    return False


def cleanup_stale(pid_dir: Path, pattern: str) -> list[dict[str, Any]]:
    """Stop what the pidfiles ``pid_dir/pattern`` record for kernels that are gone; delete
    those pidfiles (and unreadable ones). Returns the records of what was cleaned up."""
    cleaned = []
    for pidfile in sorted(pid_dir.glob(pattern)) if pid_dir.is_dir() else []:
        info = read_pidfile(pidfile)
        if info is None:
            pidfile.unlink(missing_ok=True)
            continue
        if owner_alive(info):
            continue
        stop_group(info)
        remove_pidfile(pidfile, info["pid"])
        cleaned.append(info)
        log.info("stopped %s, left behind by a kernel that is gone (pid %s)", pidfile.stem,
                 info.get("owner_pid"))
    return cleaned


def holder(pidfile: Path) -> dict[str, Any] | None:
    """The record of ``pidfile`` while its guarded process runs, else None."""
    info = read_pidfile(pidfile)
    if info and same_process(info["pid"], info.get("create_time")):
        return info
    return None


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
