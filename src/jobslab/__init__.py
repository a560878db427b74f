"""Dapr Jobs Lab: the library behind the workbook.

Public surface (the machinery lives in sub-packages a reader can guess from their names):

- :mod:`jobslab.schedules` — when jobs fire, exactly as Dapr's Scheduler decides.
- :mod:`jobslab.local` — the local stand-in for ``daprd`` and the Scheduler.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import schedules

try:
    __version__ = version("jobslab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

#: The Dapr runtime version the stand-in imitates and the cluster path installs.
DAPR_VERSION = "1.18.3"

__all__ = ["DAPR_VERSION", "__version__", "schedules"]
