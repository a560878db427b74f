"""Defaults and environment settings, in one place (docs/architecture.md#packages).

A neutral module: it imports nothing of jobslab's and nothing heavy, so the stand-in's
processes, the client (:mod:`jobslab.jobs`), the hosting layer, ``doctor`` and the CLI all
read the same defaults and the same environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The first sidecar's Dapr HTTP port (``dapr run``'s default); replica *i* gets this + i.
DAPR_HTTP_PORT = 3500
#: The Scheduler's port (Dapr's default).
SCHEDULER_PORT = 50006
#: The address the stand-in binds unless told otherwise.
HOST = "127.0.0.1"
#: The stand-in sidecar's local-only inspection route (Dapr has no HTTP list of jobs:
#: docs/dapr-behaviour.md#http-routes).
LOCAL_LIST_PATH = "/jobslab/v1/jobs"

#: Which Dapr answers: ``local`` (the stand-in, default), ``kind`` or ``selfhosted``.
ENV_BACKEND = "JOBSLAB_BACKEND"
#: Moves the Scheduler off 50006.
ENV_SCHEDULER_PORT = "JOBSLAB_SCHEDULER_PORT"
#: Moves the first sidecar off 3500 (the variable Dapr's SDKs read too).
ENV_DAPR_HTTP_PORT = "DAPR_HTTP_PORT"
BACKENDS = ("local", "kind", "selfhosted")

_connected: str | None = None


def configured_backend(environ: Mapping[str, str] | None = None) -> str:
    """``$JOBSLAB_BACKEND`` (lower-cased), else ``local``: what the next ``connect()`` picks.
    Not checked against :data:`BACKENDS`; callers say what is wrong in their own words."""
    env = os.environ if environ is None else environ
    return (env.get(ENV_BACKEND) or "local").strip().lower()


def backend_name() -> str:
    """The backend ``jobslab.connect()`` chose in this process, else ``$JOBSLAB_BACKEND``,
    else ``local``."""
    if _connected is not None:
        return _connected
    return configured_backend()


def set_connected_backend(name: str | None) -> None:
    """Record the backend ``jobslab.connect()`` chose (``None``: forget it)."""
    global _connected
    _connected = name


def dapr_http_port() -> int:
    """``$DAPR_HTTP_PORT``, else 3500."""
    return int(os.environ.get(ENV_DAPR_HTTP_PORT) or DAPR_HTTP_PORT)


def scheduler_port() -> int:
    """``$JOBSLAB_SCHEDULER_PORT``, else 50006."""
    return int(os.environ.get(ENV_SCHEDULER_PORT) or SCHEDULER_PORT)
