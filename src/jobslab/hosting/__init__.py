"""Hosting Dapr job handlers from a notebook (docs/serve-api.md; how it fits together:
docs/architecture.md#backends, docs/architecture.md#kernel-hygiene).

Public names are re-exported as ``jobslab.connect`` and ``jobslab.serve``; the machinery:

- :mod:`._server` — uvicorn in a daemon thread, started with a deadline, registry by port.
- :mod:`._recording` — ASGI middleware that records triggers; ``wait_for`` on a condition.
- :mod:`._backend` — the Backend protocol, the factory (:func:`get_backend`), what is
  local-only (``FEATURES``, :class:`LocalOnlyError`).
- :mod:`._local` — the local stand-in's sidecars and pidfiles.
- :mod:`._realdapr` — the kind and self-hosted adapters.

Processes run under :mod:`jobslab.processes` (the kernel guard, pidfiles).
"""

from __future__ import annotations

from ._backend import FEATURES, Backend, LocalOnlyError, Sidecar, get_backend
from ._local import LocalBackend
from ._recording import Trigger
from ._serve import Connection, Replica, ServeHandle, connect, serve, stop_all
from ._server import PortInUseError, ServeError

__all__ = [
    "FEATURES",
    "Backend",
    "Connection",
    "LocalBackend",
    "LocalOnlyError",
    "PortInUseError",
    "Replica",
    "ServeError",
    "ServeHandle",
    "Sidecar",
    "Trigger",
    "connect",
    "get_backend",
    "serve",
    "stop_all",
]


def __getattr__(name: str) -> object:
    # The real-Dapr adapters load on first use (they bring the cluster and self-hosted code).
    if name in ("KindServeBackend", "SelfHostedServeBackend"):
        from . import _realdapr

        return getattr(_realdapr, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
