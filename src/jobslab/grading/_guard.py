"""What a submission's processes may not do while graded: reach another one's ports, or
signal processes that are not its own.

``jobslab grade`` puts a ``sitecustomize.py`` on the ``PYTHONPATH`` of every submission, so
each Python process of it (the kernel, the stand-in's Scheduler and sidecars) calls
:func:`install` at start-up. :func:`install` adds an audit hook (PEP 578; hooks cannot be
removed once added) that:

- refuses ``socket.connect`` to any port of the grader's port range that is not this
  submission's (the range lies below the ephemeral ports, so no app port the OS picks is in
  it), and to any other port whose listening process belongs to another grading run (its
  environment holds another ``$JOBSLAB_GRADING_ID``) or to none (the grader, a learner's own
  lab, other services) — with ``PermissionError``, after writing one JSON line to
  ``$JOBSLAB_GRADING_VIOLATIONS``;
- refuses ``os.kill``/``os.killpg`` of a process that is not this submission's;
- fences the grading run's folder (``$JOBSLAB_GRADING_FENCE``, which holds every sandbox):
  inside it a submission may use only its own sandbox (``$JOBSLAB_GRADING_ROOT``, symbolic
  links resolved) and read the guard's own ``site`` folder — opening, listing, removing,
  renaming or linking anything else there is refused, so no submission reads or writes
  another's records, notebook or state.

A port's verdict is kept, per process, once some process listens on it. Native code (daprd,
a ``curl`` started with ``subprocess``, ctypes) is not covered:
docs/labs-and-grading.md#limits.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import time
from typing import Any

ENV_ID = "JOBSLAB_GRADING_ID"
ENV_OWN_PORTS = "JOBSLAB_GRADING_OWN_PORTS"
ENV_RANGE = "JOBSLAB_GRADING_RANGE"
ENV_VIOLATIONS = "JOBSLAB_GRADING_VIOLATIONS"
ENV_FENCE = "JOBSLAB_GRADING_FENCE"
ENV_ROOT = "JOBSLAB_GRADING_ROOT"
#: How often a port's listeners are looked up while one of them shows no process (psutil
#: misses a listener that started between its two reads), and the first pause between looks.
LOOKUPS = 5
LOOKUP_PAUSE = 0.05
#: The folder of the fence that holds ``sitecustomize.py`` (readable by every submission).
SITE = "site"

#: Audit events that touch a path, and the positions of their path arguments.
_PATH_EVENTS = {
    "open": (0,), "os.listdir": (0,), "os.scandir": (0,), "os.remove": (0,), "os.rmdir": (0,),
    "os.rename": (0, 1), "os.link": (0, 1), "os.symlink": (0, 1), "os.truncate": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.mkdir": (0,), "os.utime": (0,),
    "shutil.rmtree": (0,), "shutil.copyfile": (0, 1), "shutil.copytree": (0, 1),
    "os.chdir": (0,),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

SITECUSTOMIZE = (
    "# Written by jobslab grade: guard this submission's processes "
    "(docs/labs-and-grading.md#isolation).\n"
    "try:\n"
    "    from jobslab.grading._guard import install\n"
    "except Exception:  # jobslab missing in this interpreter: nothing to guard with\n"
    "    pass\n"
    "else:\n"
    "    install()\n"
)

_state = threading.local()
_installed = False


class _Guard:
    def __init__(self, grading_id: str, own: set[int], first: int, last: int,
                 violations: str | None, fence: str = "", root: str = "") -> None:
        self.id = grading_id
        self.own = own
        self.first, self.last = first, last
        self.violations = violations
        self.ports: dict[int, bool] = {}
        self.fence = os.path.realpath(fence) if fence else ""
        self.root = os.path.realpath(root) if root else ""
        self.site = os.path.join(self.fence, SITE) if fence else ""
        # Reading the interpreter's own files (every import) needs no further look, unless
        # the fence lies among them.
        prefixes = {os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)}
        self.readable = tuple(p for p in prefixes if not (self.fence + os.sep).startswith(p))

    @staticmethod
    def _inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder + os.sep)

    def path_allowed(self, raw: Any, write: bool) -> bool:
        """False for a path in the fence that is neither this sandbox's nor (to read) the
        guard's site folder."""
        if not self.fence or isinstance(raw, int) or raw is None:
            return True
        try:
            path = os.path.abspath(os.fsdecode(raw))
        except (TypeError, ValueError):
            return True
        if not write and path.startswith(self.readable):
            return True
        if self.root and self._inside(path, self.root):
            return self._inside(os.path.realpath(path), self.root) or \
                not self._inside(os.path.realpath(path), self.fence)
        real = path if not os.path.lexists(path) else os.path.realpath(path)
        if not (self._inside(path, self.fence) or self._inside(real, self.fence)):
            return True
        return not write and self._inside(real, self.site)

    # -- decisions -----------------------------------------------------------------------

    def _owner_id(self, pid: int) -> str | None:
        """The grading id in ``pid``'s environment ('' when it has none, None when the
        process is gone)."""
        import psutil

        try:
            return psutil.Process(pid).environ().get(ENV_ID, "")
        except psutil.NoSuchProcess:
            return None
        except (psutil.AccessDenied, OSError):
            return ""

    def port_allowed(self, port: int) -> bool:
        if port in self.own:
            return True
        if port in self.ports:
            return self.ports[port]
        if self.first <= port < self.last:  # another submission's block (the OS never picks
            self.ports[port] = False        # these: the range lies outside ephemeral ports)
            return False
        import psutil

        for attempt in range(LOOKUPS):
            listeners = [c.pid for c in psutil.net_connections("inet")
                         if c.status == psutil.CONN_LISTEN and c.laddr
                         and c.laddr.port == port]
            if not listeners:
                return True  # nobody listens (yet): the connection is refused; ask again later
            if None not in listeners:
                break
            # psutil maps sockets to processes by their open files, read before the socket
            # table: a process that began listening in between shows no pid. Look again.
            time.sleep(LOOKUP_PAUSE * (attempt + 1))
        allowed = all(pid is not None and self._owner_id(pid) in (self.id, None)
                      for pid in listeners)
        self.ports[port] = allowed
        return allowed

    def kill_allowed(self, pid: int, sig: int, group: bool) -> bool:
        if sig == 0:
            return True  # "does it exist?" changes nothing
        if not group and pid == 0:
            return True  # our own process group
        if not group and pid == -1:
            return False  # every process we may signal
        target = abs(pid)
        return self._owner_id(target) in (self.id, None)

    # -- the hook --------------------------------------------------------------------------

    def record(self, kind: str, target: Any) -> None:
        if not self.violations:
            return
        try:
            with open(self.violations, "a", encoding="utf-8") as out:
                out.write(json.dumps({"kind": kind, "target": target, "pid": os.getpid()})
                          + "\n")
        except OSError:
            pass

    def _check_paths(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            mode, flags = args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else 0
            write = bool((isinstance(mode, str) and any(c in mode for c in "wax+"))
                         or (isinstance(flags, int) and flags & _WRITE_FLAGS))
        else:
            write = event not in ("os.listdir", "os.scandir", "os.chdir")
        for index in _PATH_EVENTS[event]:
            if index < len(args) and not self.path_allowed(args[index], write):
                self.record("file", event)
                raise PermissionError(errno.EACCES, "jobslab grade: that path belongs to "
                                      "another submission or to the grader")

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event in _PATH_EVENTS:
            if self.fence and not getattr(_state, "busy", False):
                _state.busy = True
                try:
                    self._check_paths(event, args)
                finally:
                    _state.busy = False
            return
        if event not in ("socket.connect", "os.kill", "os.killpg"):
            return
        if getattr(_state, "busy", False):
            return
        _state.busy = True
        try:
            if event == "socket.connect":
                address = args[1]
                if not (isinstance(address, tuple) and len(address) >= 2
                        and isinstance(address[1], int)):
                    return
                if not self.port_allowed(address[1]):
                    self.record("port", address[1])
                    raise PermissionError(
                        errno.EACCES, f"jobslab grade: port {address[1]} is not this "
                        "submission's; a graded notebook may reach only its own sidecars, "
                        "Scheduler and app")
            else:
                pid, sig = int(args[0]), int(args[1])
                if not self.kill_allowed(pid, sig, group=event == "os.killpg"):
                    self.record("kill", pid)
                    raise PermissionError(
                        errno.EPERM, f"jobslab grade: process {pid} is not this submission's")
        finally:
            _state.busy = False


def install() -> None:
    """Add the audit hook to this process when ``$JOBSLAB_GRADING_ID`` is set (once)."""
    global _installed
    grading_id = os.environ.get(ENV_ID)
    if _installed or not grading_id:
        return
    own = {int(p) for p in os.environ.get(ENV_OWN_PORTS, "").split(",") if p.strip()}
    first, _, last = os.environ.get(ENV_RANGE, "0-0").partition("-")
    sys.addaudithook(_Guard(grading_id, own, int(first or 0), int(last or 0),
                            os.environ.get(ENV_VIOLATIONS), os.environ.get(ENV_FENCE, ""),
                            os.environ.get(ENV_ROOT, "")))
    _installed = True


__all__ = ["ENV_FENCE", "ENV_ID", "ENV_OWN_PORTS", "ENV_RANGE", "ENV_ROOT", "ENV_VIOLATIONS",
           "SITE", "SITECUSTOMIZE", "install"]
