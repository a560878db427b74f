"""The one exception type the schedule engine raises."""

from __future__ import annotations

from ..errors import JobslabError


class ScheduleError(JobslabError, ValueError):
    """A schedule, due time, ttl or repeat count that Dapr's Scheduler would reject.

    ``str(err)`` is the raw message Dapr's own code produces (dapr/kit ``cron``,
    diagridio/go-etcd-cron ``builder.go``), so a lesson can show it next to what the real
    Scheduler answers. Over HTTP, daprd wraps it; see :func:`http_message`.
    """

    def __init__(self, message: str, *, field: str = "schedule") -> None:
        super().__init__(message)
        self.message = message
        #: Which job field was wrong: ``schedule``, ``dueTime``, ``ttl`` or ``repeats``.
        self.field = field

    def http_message(self) -> str:
        """The message daprd 1.18.3 returns in its 500 body for this error
        (docs/dapr-behaviour.md#error-table)."""
        return (
            "failed to schedule job due to: rpc error: code = Unknown desc = "
            f"job failed validation: {self.message}"
        )
