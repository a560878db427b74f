"""Which Dapr answers: the Backend protocol, what is local-only, and the factory.

``JOBSLAB_BACKEND`` chooses (docs/architecture.md#backends):

- ``local`` (default) — :class:`~jobslab.hosting._local.LocalBackend`, on top of the
  stand-in's CLI (``python -m jobslab up|run|down``).
- ``kind`` — :class:`~jobslab.hosting._realdapr.KindServeBackend`, an adapter onto
  :class:`jobslab.cluster.KindBackend`: handlers bind ``0.0.0.0``, one Deployment per replica,
  its sidecar port-forwarded.
- ``selfhosted`` — :class:`~jobslab.hosting._realdapr.SelfHostedServeBackend`, an adapter onto
  :class:`jobslab.selfhosted.SelfHostedBackend`: real ``scheduler`` and one ``daprd`` per
  replica from ``dapr init --slim``.

:func:`get_backend` imports only the chosen implementation, so the local backend never loads
the cluster or self-hosted packages. What only the stand-in can do is in
:mod:`jobslab.features`.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx
import psutil

from .. import settings
from ..features import FEATURES, LocalOnlyError, local_only_error, supports
from ._server import ServeError

__all__ = [
    "FEATURES", "SIDECAR_TIMEOUT", "Backend", "LocalOnlyError", "Sidecar", "get_backend",
    "local_only_error", "supports", "wait_healthy",
]

#: Seconds a sidecar may take to answer /v1.0/healthz.
SIDECAR_TIMEOUT = 30.0


@dataclasses.dataclass
class Sidecar:
    """A sidecar serving one replica: its Dapr HTTP port and (local) its guard process."""

    app_id: str
    replica: int
    app_port: int
    dapr_http_port: int
    pid: int | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = dataclasses.field(default=None, repr=False)
    #: kind/selfhosted: asks the backend whether this replica's sidecar still runs.
    probe: Callable[[], bool] | None = dataclasses.field(default=None, repr=False)
    #: What to read when it does not start (beyond ``log_path``).
    hint: str = dataclasses.field(default="", repr=False)

    def alive(self) -> bool:
        if self.probe is not None:
            return self.probe()
        if self.process is not None:
            return self.process.poll() is None
        return self.pid is not None and psutil.pid_exists(self.pid)


@runtime_checkable
class Backend(Protocol):
    """What :func:`jobslab.serve` needs from a place Dapr runs."""

    name: str
    #: Address the app servers bind: 127.0.0.1 locally, 0.0.0.0 when containers call in.
    app_host: str
    supports_job_list: bool
    supports_scheduler_restart: bool

    def ensure(self) -> dict[str, Any]:
        """Make Dapr available (start what is missing); return facts for the notebook."""

    def start_sidecars(self, app_id: str, ports: list[tuple[int, int]],
                       *, resources_path: str | None = None,
                       timeout: float = SIDECAR_TIMEOUT,
                       first_replica: int = 0) -> list[Sidecar]:
        """One sidecar per ``(app_port, dapr_http_port)``; return when all are healthy."""

    def stop_sidecars(self, sidecars: list[Sidecar]) -> None:
        """Stop the given sidecars; their ports are free when this returns."""

    def restart_scheduler(self) -> None:
        """Stop and start the Scheduler (lessons on downtime and catch-up)."""


def _healthz(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1.0/healthz", timeout=1.0).status_code
    except httpx.HTTPError:
        return 0


def _tail(path: Path | None, lines: int = 8) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-lines:])


def wait_healthy(sidecar: Sidecar, deadline: float, timeout: float) -> None:
    """Poll the sidecar's ``/v1.0/healthz`` until 204; raise once it died or ``deadline``."""
    while _healthz(sidecar.dapr_http_port) != 204:
        said = (f"Its log ({sidecar.log_path}) ends: {_tail(sidecar.log_path) or '(empty)'}"
                f"{'; ' + sidecar.hint if sidecar.hint else ''}")
        if not sidecar.alive():
            raise ServeError(
                f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} "
                f"(Dapr HTTP port {sidecar.dapr_http_port}) exited while starting. {said}")
        if time.monotonic() > deadline:
            raise ServeError(
                f"the sidecar for replica {sidecar.replica} of {sidecar.app_id!r} did not "
                f"answer GET http://127.0.0.1:{sidecar.dapr_http_port}/v1.0/healthz within "
                f"{timeout:g} s. {said}")
        time.sleep(0.05)


def get_backend(name: str | None = None, **options: Any) -> Backend:
    """The backend named by ``name``, else ``$JOBSLAB_BACKEND``, else ``local``.

    ``options`` go to the backend's constructor: ``state_dir``, ``scheduler_port`` for all;
    e.g. ``cluster_name`` (kind) or ``bin_dir`` (selfhosted).
    """
    chosen = (name or settings.backend_name()).strip().lower()
    if chosen == "local":
        from ._local import LocalBackend

        return LocalBackend(**options)
    if chosen == "kind":
        from ._realdapr import KindServeBackend

        return KindServeBackend(**options)
    if chosen == "selfhosted":
        from ._realdapr import SelfHostedServeBackend

        return SelfHostedServeBackend(**options)
    raise ServeError(f"unknown JOBSLAB_BACKEND={chosen!r}; choose local, kind or selfhosted.")
