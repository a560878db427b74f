"""The local stand-in for ``daprd`` and the Dapr Scheduler (DESIGN.md, "The local stand-in").

- :mod:`.scheduler` — the Scheduler: SQLite job store, fire times, failure policy, staging.
- :mod:`.sidecar` — one ``daprd`` per app replica: the Jobs HTTP API and trigger delivery.
- :mod:`.protocol` — the line-delimited JSON stream between the two.
- :mod:`.processes` — pidfiles, background start, port checks (``jobslab up/down/status``).

Behaviour follows ``spec/dapr-jobs-contract.md`` (Dapr 1.18.3).
"""

from __future__ import annotations

DEFAULT_HTTP_PORT = 3500
DEFAULT_SCHEDULER_PORT = 50006
DEFAULT_HOST = "127.0.0.1"

#: Local-only inspection route of the sidecar (Dapr has no HTTP list; contract §1).
LOCAL_LIST_PATH = "/jobslab/v1/jobs"

__all__ = ["DEFAULT_HOST", "DEFAULT_HTTP_PORT", "DEFAULT_SCHEDULER_PORT", "LOCAL_LIST_PATH"]
