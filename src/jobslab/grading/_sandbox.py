"""One submission's own world: a state dir, a working folder, ports, and the clean-up.

Like ``scripts/_isolated.py`` (which the notebook runners use), a sandbox gives a run its own
``$JOBSLAB_HOME``, a free Scheduler port and three free Dapr HTTP ports, and stops what the run
started; unlike it, sandboxes are handed out to parallel workers, so a port block is reserved
under a lock until its sandbox is cleaned up, and every process that carries the sandbox's
``$JOBSLAB_GRADING_ID`` is killed at the end, whatever the submission did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import ports as _ports
from ..checks import ENV_CHECKS_PATH, ENV_RESULTS
from . import _guard
from ._errors import GradingError

#: The default range of ports handed to submissions: below Linux's ephemeral range
#: (32768-60999), so a port the OS picks for an app server never falls into another block.
DEFAULT_PORT_RANGE = (21000, 23000)
#: Offsets in a block of ten: Dapr HTTP ports of replicas 0-2, the Scheduler's port.
_HTTP_OFFSETS = (0, 1, 2)
_SCHEDULER_OFFSET = 5
_BLOCK = 10


class PortBlocks:
    """Blocks of ten ports in ``[first, last)``, each leased until :meth:`give_back` with a
    lock file (:func:`jobslab.ports.lease_block`), so two grading runs, or a grader next to a
    test run, never hand out the same block — not only the workers of one run."""

    def __init__(self, first: int, last: int) -> None:
        if last - first < _BLOCK:
            raise GradingError(f"the port range {first}-{last} holds no block of {_BLOCK} ports")
        self.first, self.last = first, last
        self._leases: dict[int, _ports.PortLease] = {}
        self._lock = threading.Lock()

    def take(self) -> int:
        """A base port whose block is free now and reserved until :meth:`give_back`."""
        with self._lock:
            try:
                lease = _ports.lease_block(_SCHEDULER_OFFSET + 1, first=self.first,
                                           last=self.last, step=_BLOCK)
            except OSError:
                raise GradingError(
                    f"no free block of ports between {self.first} and {self.last}; free "
                    "some, or give another range (--ports FIRST-LAST)") from None
            self._leases[lease.base] = lease
            return lease.base

    def give_back(self, base: int) -> None:
        with self._lock:
            lease = self._leases.pop(base, None)
        if lease is not None:
            lease.release()


@dataclass
class Sandbox:
    """A submission's folders, ports and environment (see the module's docstring)."""

    root: Path
    base_port: int
    backend: str
    port_range: tuple[int, int]
    site_dir: Path
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def results(self) -> Path:
        return self.root / "results.jsonl"

    @property
    def violations(self) -> Path:
        return self.root / "violations.jsonl"

    @property
    def dapr_http_port(self) -> int:
        return self.base_port + _HTTP_OFFSETS[0]

    @property
    def scheduler_port(self) -> int:
        return self.base_port + _SCHEDULER_OFFSET

    @property
    def own_ports(self) -> list[int]:
        return [self.base_port + o for o in (*_HTTP_OFFSETS, _SCHEDULER_OFFSET)]

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def create(self) -> Sandbox:
        for folder in (self.state, self.work, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def env(self) -> dict[str, str]:
        """The environment of the submission's runner (and so of its kernel)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JOBSLAB_GRADING_", "JPY_"))
               and k not in ("DAPR_API_TOKEN", "PYTHONSTARTUP")}
        python_path = [str(self.site_dir), *filter(None, [env.get("PYTHONPATH")])]
        env.update({
            "JOBSLAB_HOME": str(self.state),
            "JOBSLAB_BACKEND": self.backend,
            "JOBSLAB_SCHEDULER_PORT": str(self.scheduler_port),
            "DAPR_HTTP_PORT": str(self.dapr_http_port),
            ENV_RESULTS: str(self.results),
            _guard.ENV_ID: self.id,
            _guard.ENV_OWN_PORTS: ",".join(map(str, self.own_ports)),
            _guard.ENV_RANGE: f"{self.port_range[0]}-{self.port_range[1]}",
            _guard.ENV_VIOLATIONS: str(self.violations),
            _guard.ENV_FENCE: str(self.site_dir.parent),
            _guard.ENV_ROOT: str(self.root),
            "TMPDIR": str(self.tmp),
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "Agg",
        })
        if os.environ.get(ENV_CHECKS_PATH):
            env[ENV_CHECKS_PATH] = os.environ[ENV_CHECKS_PATH]
        return env

    def processes(self) -> list[int]:
        """Pids of every process (of this user) that carries this sandbox's grading id."""
        import psutil

        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if proc.environ().get(_guard.ENV_ID) == self.id:
                    found.append(proc.pid)
        return found

    def kill_all(self) -> None:
        """SIGKILL every process of the sandbox (and their groups), until none is left."""
        for _ in range(5):
            pids = [p for p in self.processes() if p != os.getpid()]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def stop_backend(self) -> None:
        """Stop the stand-in's processes recorded in the state dir (SIGKILL: the state is
        thrown away), or the real Scheduler on ``selfhosted``. In-process, no ``jobslab
        down``: a Python start per submission is time the grader does not have to spend."""
        if self.backend == "selfhosted":
            with contextlib.suppress(Exception):
                from ..selfhosted import SelfHostedBackend

                SelfHostedBackend(state_dir=str(self.state), scheduler_port=self.scheduler_port,
                                  base_http_port=self.dapr_http_port).stop()
        with contextlib.suppress(Exception):
            from ..local import daemons

            for info in daemons.running(self.state):
                with contextlib.suppress(OSError):
                    os.kill(info.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """Stop everything the submission started and remove its folders."""
        self.kill_all()
        self.stop_backend()
        self.kill_all()
        shutil.rmtree(self.root, ignore_errors=True)
