"""Hosting Dapr job handlers from a notebook (docs/serve-api.md; how it fits together:
docs/architecture.md#backends, docs/architecture.md#kernel-hygiene).

Public names are re-exported as ``jobslab.connect`` and ``jobslab.serve``; the machinery:

- :mod:`._server` — uvicorn in a daemon thread, started with a deadline, registry by port.
- :mod:`._recording` — ASGI middleware that records triggers; ``wait_for`` on a condition.
- :mod:`._backends` — the Backend protocol; the local stand-in's sidecars and pidfiles; the
  kind and self-hosted adapters; what is local-only (``FEATURES``, :class:`LocalOnlyError`).
- :mod:`._guard` — keeps a sidecar alive through "Interrupt kernel", not past the kernel.
"""

from __future__ import annotations

from ._backends import (
    FEATURES,
    Backend,
    KindServeBackend,
    LocalBackend,
    LocalOnlyError,
    SelfHostedServeBackend,
    Sidecar,
    get_backend,
)
from ._recording import Trigger
from ._serve import Connection, Replica, ServeHandle, connect, serve, stop_all
from ._server import PortInUseError, ServeError

__all__ = [
    "FEATURES",
    "Backend",
    "Connection",
    "KindServeBackend",
    "LocalBackend",
    "LocalOnlyError",
    "PortInUseError",
    "Replica",
    "SelfHostedServeBackend",
    "ServeError",
    "ServeHandle",
    "Sidecar",
    "Trigger",
    "connect",
    "get_backend",
    "serve",
    "stop_all",
]
