"""The local stand-in for ``daprd`` and the Dapr Scheduler (docs/architecture.md#packages).

- :mod:`.scheduler` — the Scheduler: SQLite job store, fire times, failure policy, staging.
- :mod:`.sidecar` — one ``daprd`` per app replica: the Jobs HTTP API and trigger delivery.
- :mod:`.protocol` — the line-delimited JSON stream between the two.
- :mod:`.daemons` — pidfiles, background start, port checks (``jobslab up/down/status``).

Behaviour follows Dapr 1.18.3 as docs/dapr-behaviour.md describes it, rule by rule; the few
knowing differences are in docs/dapr-behaviour.md#known-differences-of-the-stand-in. How a
schedule call and a trigger travel: docs/architecture.md#scheduling-a-job,
docs/architecture.md#a-trigger.
"""

from __future__ import annotations

from ..settings import DAPR_HTTP_PORT as DEFAULT_HTTP_PORT
from ..settings import HOST as DEFAULT_HOST
from ..settings import LOCAL_LIST_PATH
from ..settings import SCHEDULER_PORT as DEFAULT_SCHEDULER_PORT

__all__ = ["DEFAULT_HOST", "DEFAULT_HTTP_PORT", "DEFAULT_SCHEDULER_PORT", "LOCAL_LIST_PATH"]
