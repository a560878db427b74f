"""What only the local stand-in can do, and what to use instead on real Dapr.

Dapr's HTTP API has no list of jobs, and a notebook cannot restart a kind cluster's Scheduler;
the stand-in can do both. A backend says which it has through the attributes named in
:data:`FEATURES`; on the others the call raises :class:`LocalOnlyError`, whose message names
the command that does it on real Dapr and how a notebook skips the cell
(``if jobslab.connect().supports("job_list"):``).
"""

from __future__ import annotations

from typing import Any

from .errors import JobslabError

__all__ = ["FEATURES", "LocalOnlyError", "local_only_error", "supports"]


class LocalOnlyError(JobslabError, RuntimeError):
    """The operation exists only on the local stand-in (``JOBSLAB_BACKEND=local``).

    The message says what to use instead on the backend in use, and how a notebook skips
    the cell (``if jobslab.connect().supports("job_list"):``).
    """


#: Features some backends lack, and the Backend attribute that says whether one has it.
FEATURES = {"job_list": "supports_job_list", "scheduler_restart": "supports_scheduler_restart"}

_INSTEAD = {
    ("job_list", "kind"):
        "On kind use `jobslab scheduler list -k` (it hands over to `dapr scheduler list -k`, "
        "Dapr CLI 1.16.3 or newer) in a terminal, or `jobs.get(name)` for a job whose name "
        "you know.",
    ("job_list", "selfhosted"):
        "Self-hosted, use `jobslab scheduler list` (it hands over to `dapr scheduler list`, "
        "Dapr CLI 1.16.3 or newer) in a terminal, or `jobs.get(name)` for a job whose name "
        "you know.",
    ("scheduler_restart", "kind"):
        "On kind the Scheduler is the StatefulSet dapr-scheduler-server in dapr-system; "
        "restart it from a terminal: `kubectl --context {context} -n dapr-system rollout "
        "restart statefulset/dapr-scheduler-server`.",
}
_WHAT = {
    "job_list": ("`jobs.list_jobs()` is local-only: Dapr's HTTP API has no list of jobs "
                 "(only GET, POST and DELETE by name)."),
    "scheduler_restart": "`handle.restart_scheduler()` is local-only here.",
}


def supports(backend: Any, feature: str) -> bool:
    """True when ``backend`` has ``feature`` (a key of :data:`FEATURES`)."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; choose one of {', '.join(FEATURES)}")
    return bool(getattr(backend, FEATURES[feature], False))


def local_only_error(feature: str, backend: str, *, context: str = "kind-dapr-jobs"
                     ) -> LocalOnlyError:
    """The :class:`LocalOnlyError` for ``feature`` on the backend named ``backend``."""
    instead = _INSTEAD.get((feature, backend), "").format(context=context)
    skip = ("jobslab.connect().supports(\"job_list\")" if feature == "job_list"
            else "handle.supports_scheduler_restart")
    return LocalOnlyError(
        f"{_WHAT[feature]} This is the {backend} backend (JOBSLAB_BACKEND={backend}). "
        f"{instead + ' ' if instead else ''}In a notebook, skip the cell with `if {skip}:`.")
