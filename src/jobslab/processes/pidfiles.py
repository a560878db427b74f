"""The one pidfile format of every process jobslab starts, and what to do with it.

A pidfile is a small JSON object written atomically::

    {"pid": 4242, "create_time": 1767225600.1,        # the process (or guard: its group)
     "owner_pid": 4200, "owner_create_time": 1767225500.0,   # who started it
     ...}                                              # what it is: name, port, log, app_id, ...

The create times make a recycled pid harmless: a record names a process only while a process
with that pid *and* that start time runs (:func:`same_process`). Guarded processes
(:mod:`jobslab.processes.guard`) are process-group leaders, so :func:`stop_group` stops the
guard and what it runs together. :func:`cleanup_stale` is the one clean-up: stop what the
pidfiles of a folder record for owners that are gone. Used by the stand-in's sidecars and
Scheduler (``local``), ``kubectl port-forward`` (``cluster``), ``daprd`` (``selfhosted``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

#: Seconds a stopped process group gets between SIGTERM and SIGKILL.
STOP_TIMEOUT = 8.0

log = logging.getLogger(__name__)

__all__ = [
    "STOP_TIMEOUT", "cleanup_stale", "create_time", "holder", "owner_alive", "pid_alive",
    "read_pidfile", "remove_pidfile", "running", "same_process", "stop_everything", "stop_group",
    "stop_recorded", "write_pidfile",
]


def create_time(pid: int) -> float | None:
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


def pid_alive(pid: int) -> bool:
    """True while some process (not a zombie) has ``pid``; no identity check."""
    return same_process(pid, None)


def running(pid_dir: Path, pattern: str = "*.json") -> list[tuple[Path, dict[str, Any]]]:
    """``(pidfile, record)`` of every process recorded in ``pid_dir`` that still runs; pidfiles
    of processes that are gone (or unreadable) are deleted."""
    found = []
    for pidfile in sorted(pid_dir.glob(pattern)) if pid_dir.is_dir() else []:
        info = holder(pidfile)
        if info is None:
            pidfile.unlink(missing_ok=True)
        else:
            found.append((pidfile, info))
    return found


def stop_recorded(info: dict[str, Any], timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process a pidfile records, whoever started it: its whole group when it leads
    one (guards, ``jobslab up``'s Scheduler, self-hosted ``scheduler``), else the process."""
    pid = int(info["pid"])
    if not same_process(pid, info.get("create_time")):
        return
    try:
        leader = os.getpgid(pid) == pid
    except OSError:
        return
    if leader:
        stop_group(info, timeout=timeout)
        return
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        proc.terminate()
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()


def stop_everything(root: Path) -> list[dict[str, Any]]:
    """Stop every process recorded by a pidfile anywhere under ``root`` (sidecars and
    ``daprd``s before the schedulers they talk to) and delete those pidfiles. Returns the
    records of what ran."""
    found = [(path, info) for path in sorted(root.rglob("*.json")) if root.is_dir()
             if (info := read_pidfile(path)) is not None and "create_time" in info]
    found.sort(key=lambda item: "scheduler" in item[0].stem)
    stopped = []
    for path, info in found:
        if same_process(info["pid"], info.get("create_time")):
            stop_recorded(info)
            stopped.append({**info, "pidfile": str(path)})
        path.unlink(missing_ok=True)
    return stopped
