"""The local stand-in for ``daprd`` and the Dapr Scheduler (docs/architecture.md#packages).

- :mod:`.scheduler` — the Scheduler: SQLite job store, fire times, failure policy, staging.
- :mod:`.sidecar` — one ``daprd`` per app replica: the Jobs HTTP API and trigger delivery.
- :mod:`.protocol` — the line-delimited JSON stream between the two.
- :mod:`.processes` — pidfiles, background start, port checks (``jobslab up/down/status``).

Behaviour follows Dapr 1.18.3 as docs/dapr-behaviour.md describes it, rule by rule; the few
knowing differences are in docs/dapr-behaviour.md#known-differences-of-the-stand-in. How a
schedule call and a trigger travel: docs/architecture.md#scheduling-a-job,
docs/architecture.md#a-trigger.
"""

from __future__ import annotations

DEFAULT_HTTP_PORT = 3500
DEFAULT_SCHEDULER_PORT = 50006
DEFAULT_HOST = "127.0.0.1"

#: Local-only inspection route of the sidecar (Dapr has no HTTP list:
#: docs/dapr-behaviour.md#http-routes).
LOCAL_LIST_PATH = "/jobslab/v1/jobs"

__all__ = ["DEFAULT_HOST", "DEFAULT_HTTP_PORT", "DEFAULT_SCHEDULER_PORT", "LOCAL_LIST_PATH"]
