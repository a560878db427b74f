"""Small tools for check functions: read the live backend, wait quietly, call a handler.

They never print (a check prints exactly one line) and turn "the backend is not there" into a
:class:`~jobslab.checks.Fail` whose hint says which cell to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from ._run import Fail

T = TypeVar("T")


def job_or_none(name: str, *, port: int | None = None) -> dict[str, Any] | None:
    """The job ``name`` as Dapr's ``GET /v1.0/jobs/<name>`` returns it, or None when it does
    not exist (Dapr's 500 "job not found", docs/dapr-behaviour.md#error-table).

    Raises :class:`Fail` when no sidecar answers on the port.
    """
    from .. import jobs

    try:
        return jobs.get(name, port=port)
    except jobs.DaprError as err:
        if "not found" in err.message.lower():
            return None
        if err.status == 0:
            raise Fail(f"no Dapr sidecar answers on port {port or jobs.base_url()}: run the "
                       "setup cells (jobslab.connect(), jobslab.serve(...)) first") from None
        raise


def job_data(job: dict[str, Any] | None) -> Any:
    """The ``data`` a job was scheduled with, unwrapped from GET's protobuf ``Value``
    (``{"@type": ".../google.protobuf.Value", "value": …}``); None when it has none."""
    if not job:
        return None
    data = job.get("data")
    if isinstance(data, dict) and "@type" in data and "value" in data:
        return data["value"]
    return data


def wait_until(condition: Callable[[], T], *, timeout: float,
               interval: float = 0.05) -> T | None:
    """Poll ``condition()`` until it returns something truthy (returned), or ``timeout``
    seconds pass (None). Silent: a check shows only its one line."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))


def triggers(handle: Any, job: str) -> list[dict[str, Any]]:
    """The triggers of ``job`` that ``handle`` (from ``jobslab.serve``) recorded, as dicts
    (received, replica, route, job, status, body, error), oldest first."""
    if handle is None or not hasattr(handle, "triggers"):
        raise Fail("pass the handle that jobslab.serve(...) returned (handle=handle)")
    frame = handle.triggers
    return [dict(row) for _, row in frame[frame["job"] == job].iterrows()]


def call_app(app: Any, method: str, path: str, **kwargs: Any) -> Any:
    """Call the learner's FastAPI ``app`` in-process (no sidecar) and return the response
    (``.status_code``, ``.json()``); a handler that raises answers 500, as a server would —
    except ``NotImplementedError``, which propagates, so an untouched exercise is reported as
    "not answered yet". ``kwargs`` go to the request (``json=``, ``content=``, ``headers=``)."""
    import warnings

    with warnings.catch_warnings():  # a deprecation notice would be a second line of output
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    if not callable(app):
        raise Fail("pass your FastAPI application (app=app)")
    stubs: list[NotImplementedError] = []

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except NotImplementedError as err:
            stubs.append(err)
            raise

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with TestClient(watched, raise_server_exceptions=False) as client:
            response = client.request(method, path, **kwargs)
    if stubs:
        raise stubs[0]
    return response


def handler_raised(trigger: dict[str, Any]) -> str:
    """The exception the learner's handler raised on a recorded trigger, as the last line of
    its traceback ('' when it raised nothing)."""
    lines = [line for line in str(trigger.get("error") or "").strip().splitlines() if line]
    return lines[-1].strip() if lines else ""


def handler_answer(trigger: dict[str, Any]) -> str:
    """What the handler did with a trigger, for a hint: 'answered 503', or
    "raised KeyError: 'order' (so it answered 500)"."""
    raised = handler_raised(trigger)
    return f"raised {raised} (so it answered 500)" if raised else f"answered {trigger['status']}"


def unanswered_stub(*groups: list[dict[str, Any]]) -> None:
    """Raise NotImplementedError ("not answered yet") when an untouched stub raised it inside
    the handler for any of these triggers."""
    for group in groups:
        for trigger in group:
            if "NotImplementedError" in str(trigger.get("error") or ""):
                raise NotImplementedError
