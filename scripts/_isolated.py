"""Run notebooks in isolation: a fresh state dir, free ports, and everything stopped afterwards.

Shared by ``scripts/test-notebooks`` (nbval) and ``scripts/make-lessons`` (papermill). A run
never touches a learner's lab: it gets its own ``JOBSLAB_HOME``, a free Scheduler port and a
base Dapr HTTP port with two more free after it (up to three replicas), and on the way out
stops the stand-in's processes or, on ``selfhosted``, the real Scheduler it started.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

REAL_DAPR_MISSING = ("daprd/scheduler not found in ~/.dapr/bin or on PATH; get them with "
                     "`dapr init --slim --runtime-version 1.18.3`")


def ports() -> tuple[int, int, object]:
    """A Scheduler port and a base Dapr HTTP port with two more after it (up to three
    replicas), leased for this run (``jobslab.ports.lease_block``: below the ephemeral range,
    never the block of another run started at the same moment). Returns ``(scheduler port,
    base Dapr HTTP port, lease)``; the ports stay ours until ``lease.release()``."""
    from jobslab.ports import lease_block

    lease = lease_block(6)
    return lease.base + 5, lease.base, lease


def real_dapr_installed() -> bool:
    """daprd and scheduler are installed ($JOBSLAB_DAPR_BIN, ~/.dapr/bin or PATH)."""
    from jobslab.selfhosted import find_binary

    return bool(find_binary("daprd") and find_binary("scheduler"))


@contextlib.contextmanager
def isolated(backend: str, prefix: str) -> Iterator[dict[str, str]]:
    """The environment for one isolated run on ``backend``; stops what it started on exit.

    Yields a copy of ``os.environ`` with JOBSLAB_HOME (a temporary dir), JOBSLAB_BACKEND,
    JOBSLAB_SCHEDULER_PORT and DAPR_HTTP_PORT set.
    """
    scheduler_port, dapr_port, lease = ports()
    with lease, tempfile.TemporaryDirectory(prefix=prefix) as state:
        env = dict(os.environ, JOBSLAB_HOME=state, JOBSLAB_BACKEND=backend,
                   JOBSLAB_SCHEDULER_PORT=str(scheduler_port), DAPR_HTTP_PORT=str(dapr_port))
        try:
            yield env
        finally:
            stop(backend, state, env)


def stop(backend: str, state: str, env: dict[str, str]) -> None:
    """Stop everything a run started: the stand-in's processes, or the real scheduler."""
    if backend == "selfhosted":
        from jobslab.selfhosted import SelfHostedBackend

        SelfHostedBackend(state_dir=state, scheduler_port=int(env["JOBSLAB_SCHEDULER_PORT"]),
                          base_http_port=int(env["DAPR_HTTP_PORT"])).stop()
    subprocess.call([sys.executable, "-m", "jobslab", "down", "--state-dir", state],
                    env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
