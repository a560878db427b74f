"""A small synchronous client for Dapr's Jobs API, for lessons and checks.

Lessons show the raw HTTP first, as Dapr users write it::

    httpx.post("http://127.0.0.1:3500/v1.0/jobs/backup", json={"schedule": "@every 1s"})

and then use these helpers, which build the same requests, return parsed JSON and turn every
error response into one exception type, :class:`DaprError`::

    from jobslab import jobs
    jobs.schedule("backup", "@every 1s", repeats=3, data={"db": "orders"})
    jobs.get("backup")["schedule"]          # '@every 1s'
    jobs.delete("backup")

The sidecar is ``http://127.0.0.1:<port>``; ``port`` defaults to ``$DAPR_HTTP_PORT``, else 3500
(what ``dapr run`` and ``jobslab.serve`` use). ``$DAPR_API_TOKEN``, when set, is sent as the
``dapr-api-token`` header, as the Dapr SDKs do. Field names and answers follow
docs/dapr-behaviour.md#request-body and docs/dapr-behaviour.md#success-responses.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx

from . import settings
from .errors import JobslabError
from .features import local_only_error

__all__ = ["DaprError", "Job", "base_url", "delete", "get", "list_jobs", "schedule"]

DEFAULT_PORT = settings.DAPR_HTTP_PORT
#: Seconds to wait for the sidecar to answer one request: longer than daprd's own 30 s deadline
#: for reaching the Scheduler, so a learner sees Dapr's answer ("context deadline exceeded")
#: rather than a client time-out (docs/dapr-behaviour.md#scheduler-unreachable).
TIMEOUT = 35.0
#: Local-only inspection route of the stand-in (Dapr has no HTTP list:
#: docs/dapr-behaviour.md#http-routes).
_LOCAL_LIST_PATH = settings.LOCAL_LIST_PATH


class DaprError(JobslabError):
    """An error answer from the Dapr sidecar (or no answer at all).

    Attributes:
        status: the HTTP status (0 when the sidecar could not be reached).
        error_code: Dapr's ``errorCode`` such as ``DAPR_SCHEDULER_SCHEDULE_JOB`` ('' if none).
        message: Dapr's ``message``, or the response text when it is not Dapr's JSON.

    Example::

        try:
            jobs.get("missing")
        except jobs.DaprError as err:
            err.status, err.error_code      # (500, 'DAPR_SCHEDULER_GET_JOB')
    """

    def __init__(self, status: int, error_code: str, message: str) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        code = f" {error_code}" if error_code else ""
        super().__init__(f"{status}{code}: {message}")


def base_url(port: int | None = None) -> str:
    """The sidecar's base URL: ``http://127.0.0.1:<port>``.

    Example::

        base_url(3501)      # 'http://127.0.0.1:3501'
    """
    if port is None:
        port = settings.dapr_http_port()
    return f"http://127.0.0.1:{port}"


def _headers() -> dict[str, str]:
    token = os.environ.get("DAPR_API_TOKEN")
    return {"dapr-api-token": token} if token else {}


def _request(method: str, path: str, port: int | None, body: Any = None) -> Any:
    url = base_url(port) + path
    try:
        if body is None:
            response = httpx.request(method, url, headers=_headers(), timeout=TIMEOUT)
        else:
            response = httpx.request(method, url, json=body, headers=_headers(), timeout=TIMEOUT)
    except httpx.TimeoutException as exc:
        raise DaprError(
            0, "", f"the Dapr sidecar at {url} took the request but did not answer within "
            f"{TIMEOUT:g} s. A sidecar waits for its Scheduler: is the Scheduler running? "
            "`jobslab status` shows it (the stand-in's: `jobslab up`)."
        ) from exc
    except httpx.TransportError as exc:
        raise DaprError(
            0, "", f"no answer from the Dapr sidecar at {url} ({exc.__class__.__name__}: {exc}). "
            "Is it running? `jobslab.connect()` or `jobslab.serve(...)` starts one; "
            "`jobslab status` lists what is listening."
        ) from exc
    if response.is_success:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        raise DaprError(response.status_code, str(payload.get("errorCode", "")),
                        str(payload.get("message", response.text)))
    raise DaprError(response.status_code, "", response.text.strip())


def _path(name: str) -> str:
    return "/v1.0/jobs/" + quote(name, safe="")


def schedule(
    name: str,
    schedule: str | None = None,
    *,
    due_time: str | None = None,
    repeats: int | None = None,
    ttl: str | None = None,
    data: Any = None,
    overwrite: bool = False,
    failure_policy: dict[str, Any] | str | None = None,
    port: int | None = None,
) -> None:
    """Schedule job ``name`` (``POST /v1.0/jobs/<name>``); returns None on Dapr's 204.

    Only the fields you pass are sent; ``data=None`` sends no data (the app then receives an
    empty body). ``failure_policy`` is Dapr's object, e.g. ``{"constant": {"interval": "2s",
    "maxRetries": 5}}``, or the string ``"drop"``. Raises :class:`DaprError` on any error
    answer (409 when the job exists and ``overwrite`` is false).

    Example::

        jobs.schedule("report", "0 0 9 * * MON-FRI", data={"to": "ops"})
        jobs.schedule("once", due_time="10s")
        jobs.schedule("tick", "@every 1s", repeats=6, overwrite=True, port=3501)
    """
    body: dict[str, Any] = {}
    if schedule is not None:
        body["schedule"] = schedule
    if due_time is not None:
        body["dueTime"] = due_time
    if repeats is not None:
        body["repeats"] = repeats
    if ttl is not None:
        body["ttl"] = ttl
    if data is not None:
        body["data"] = data
    if overwrite:
        body["overwrite"] = True
    if failure_policy is not None:
        body["failurePolicy"] = (
            {"drop": {}} if failure_policy == "drop" else failure_policy
        )
    return _request("POST", _path(name), port, body)


class Job(dict[str, Any]):
    """A job as Dapr's GET returns it: a plain ``dict`` that prints readably.

    ``print(job)`` (and a notebook cell ending in ``job``) shows indented JSON, one field per
    line, instead of one long line that wraps mid-word in the browser.
    """

    def __str__(self) -> str:
        return json.dumps(self, indent=2, ensure_ascii=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def get(name: str, *, port: int | None = None) -> Job:
    """The stored job as Dapr returns it (``GET /v1.0/jobs/<name>``), parsed into a
    :class:`Job` (a ``dict`` that prints as indented JSON).

    ``data`` comes back wrapped as ``{"@type": ".../google.protobuf.Value", "value": ...}``
    and a job without a failure policy shows the default ``constant`` 1s × 3
    (docs/dapr-behaviour.md#get-body).
    A missing job is Dapr's 500 ``DAPR_SCHEDULER_GET_JOB``, raised as :class:`DaprError`.

    Example::

        jobs.get("report")["data"]["value"]     # {'to': 'ops'}
        print(jobs.get("report"))               # indented JSON
    """
    return Job(_request("GET", _path(name), port))


def delete(name: str, *, port: int | None = None) -> None:
    """Delete job ``name`` (``DELETE /v1.0/jobs/<name>``). Deleting a missing job succeeds.

    Example::

        jobs.delete("report")
    """
    _request("DELETE", _path(name), port)


def list_jobs(*, port: int | None = None) -> list[dict[str, Any]]:
    """All jobs the local stand-in holds — **local backend only** (Dapr has no HTTP list).

    On kind and self-hosted it raises ``jobslab.features.LocalOnlyError`` saying what to use
    instead (``dapr scheduler list``); skip the cell with
    ``if jobslab.connect().supports("job_list"):``.

    Example::

        [job["name"] for job in jobs.list_jobs()]
    """
    backend = _backend_name()
    if backend != "local":
        raise local_only_error("job_list", backend)
    answer = _request("GET", _LOCAL_LIST_PATH, port)
    if isinstance(answer, dict):
        return list(answer.get("jobs", []))
    return list(answer or [])


def _backend_name() -> str:
    """The backend ``jobslab.connect()`` chose in this process, else ``$JOBSLAB_BACKEND``."""
    return settings.backend_name()
