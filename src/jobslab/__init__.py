"""Dapr Jobs Lab: the library behind the workbook.

Public surface (the machinery lives in sub-packages a reader can guess from their names):

- :mod:`jobslab.schedules` — when jobs fire, exactly as Dapr's Scheduler decides.
- :mod:`jobslab.local` — the local stand-in for ``daprd`` and the Scheduler.
- :func:`jobslab.connect`, :func:`jobslab.serve` — host job handlers from a notebook.
- :mod:`jobslab.jobs` — a small sync client for the Jobs API.
- :mod:`jobslab.progress` — waiting with a live line in a notebook (``sleep``, ``until``).
- :func:`jobslab.check` — check a lab exercise against the running backend (:mod:`jobslab.checks`).
- :class:`jobslab.JobslabError` — the root of every exception jobslab raises
  (:mod:`jobslab.errors`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from . import schedules
from .errors import JobslabError

if TYPE_CHECKING:
    from . import jobs, progress
    from .checks import check
    from .hosting import connect, serve

try:
    __version__ = version("jobslab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: The Dapr runtime version the stand-in imitates and the cluster path installs.
DAPR_VERSION = "1.18.3"

_LAZY = {"connect": "jobslab.hosting", "serve": "jobslab.hosting", "jobs": "jobslab.jobs",
         "progress": "jobslab.progress", "check": "jobslab.checks"}


def __getattr__(name: str) -> Any:
    """Import the hosting machinery on first use, so the CLI and sidecars start quickly."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = module if module.__name__.endswith("." + name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jobslab' has no attribute {name!r}")


__all__ = [
    "DAPR_VERSION", "JobslabError", "__version__", "check", "connect", "jobs", "progress",
    "schedules", "serve",
]
