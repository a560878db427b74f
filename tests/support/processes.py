"""Child processes of tests: a clean environment, the ``jobslab`` CLI, killing a group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

#: Taken out of every child's environment (a developer's shell may set them): the backend
#: choice and Dapr's API tokens. A test that wants one passes it explicitly.
UNSET = ("JOBSLAB_BACKEND", "DAPR_API_TOKEN", "APP_API_TOKEN")


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without :data:`UNSET`, updated with ``env``."""
    full = {k: v for k, v in os.environ.items() if k not in UNSET}
    full.update(env or {})
    return full


def jobslab(*args: str, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``python -m jobslab ARGS`` to completion (environment: :func:`child_env`)."""
    return subprocess.run([sys.executable, "-m", "jobslab", *args], capture_output=True,
                          text=True, timeout=timeout, env=child_env(env))


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal ``proc``'s process group (it was started with ``start_new_session``) and reap
    it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
