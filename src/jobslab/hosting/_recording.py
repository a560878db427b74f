"""Recording the requests Dapr sends to the app, without printing anything.

A pure ASGI middleware wraps the learner's app once per replica. For every request on
``/job/<name>`` (job triggers, docs/dapr-behaviour.md#delivery) or on a binding route
(``/<binding-name>``, docs/dapr-behaviour.md#cron-bindings) it records a :class:`Trigger`: when
it arrived (UTC), which replica, the route, the job name, the body and the status the app
returned. Handler threads never print: ipykernel would put the text in whatever cell runs
then (docs/architecture.md#kernel-hygiene); a later cell reads the records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import pandas as pd

from .. import progress

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JOB_PREFIX = "/job/"
#: The method of the probe daprd sends a cron binding's route at start-up: not a trigger.
PROBE_METHOD = "OPTIONS"
COLUMNS = ["received", "replica", "method", "route", "job", "status", "body", "error"]


@dataclasses.dataclass(frozen=True)
class Trigger:
    """One request from Dapr to the app, as the app saw it.

    ``body`` is the raw text (for a job: only its ``data``,
    docs/dapr-behaviour.md#trigger-body); ``status`` is what the app answered (2xx and 404
    count as success for Dapr); ``error`` is the traceback when the handler raised (the app
    then answered 500). ``method`` tells a trigger (``POST``) from the ``OPTIONS`` probe daprd
    sends a cron binding's route once at start-up (docs/dapr-behaviour.md#cron-bindings).
    """

    received: dt.datetime
    replica: int
    route: str
    job: str
    status: int
    body: str
    error: str = ""
    method: str = "POST"

    @property
    def is_probe(self) -> bool:
        """True for a cron binding's start-up ``OPTIONS`` probe: recorded, not a trigger."""
        return self.method == PROBE_METHOD

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body else None


class TriggerLog:
    """A thread-safe list of :class:`Trigger`, with waiting on a condition."""

    def __init__(self) -> None:
        self._items: list[Trigger] = []
        self._cond = threading.Condition()

    def add(self, trigger: Trigger) -> None:
        with self._cond:
            self._items.append(trigger)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def snapshot(self, job: str | None = None) -> list[Trigger]:
        with self._cond:
            return [t for t in self._items if job is None or t.job == job]

    def _triggers(self, job: str | None) -> list[Trigger]:
        """The recorded triggers (not probes) of ``job``; the caller holds the lock."""
        return [t for t in self._items if (job is None or t.job == job) and not t.is_probe]

    def frame(self, job: str | None = None, *, probes: bool = True) -> pd.DataFrame:
        """The recorded requests (of ``job``) as a DataFrame; ``probes=False`` leaves out the
        ``OPTIONS`` probes of cron bindings."""
        rows = [dataclasses.asdict(t) for t in self.snapshot(job) if probes or not t.is_probe]
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame["received"] = pd.to_datetime(frame["received"], utc=True)
        return frame.astype({"replica": "int64", "status": "int64"})

    def wait_for(self, n: int, job: str | None = None, timeout: float = 30.0) -> list[Trigger]:
        """Block until ``n`` matching triggers have arrived; raise TimeoutError otherwise.

        A cron binding's ``OPTIONS`` probe is not a trigger: it is recorded (``frame()``) but
        neither counted nor returned here.

        In a notebook a live line shows the count ("3/6 triggers of 'tick'"); it is updated by
        this (the caller's) thread only, between waits on the condition (jobslab.progress).
        """
        start = time.monotonic()
        deadline = start + timeout
        of = f"triggers of {job!r}" if job else "triggers of any job"

        def count() -> int:
            with self._cond:
                return len(self._triggers(job))

        def text(got: int, waited: float) -> str:
            return f"{got}/{n} {of} {progress.bar(got, n)} {waited:.1f} s of {timeout:g} s"

        with progress.Line(text(count(), 0.0)) as line:
            while True:
                with self._cond:
                    matching = self._triggers(job)
                    left = deadline - time.monotonic()
                    if len(matching) < n and left > 0:
                        self._cond.wait(min(left, progress.MIN_UPDATE_INTERVAL))
                        matching = self._triggers(job)
                now = time.monotonic()
                got = len(matching)
                if got >= n:
                    line.close(f"{got}/{n} {of} {progress.bar(got, n)} "
                               f"after {now - start:.1f} s")
                    return matching
                if now >= deadline:
                    line.close(f"{got}/{n} {of} {progress.bar(got, n)} "
                               f"timed out after {timeout:g} s")
                    break
                line.update(text(got, now - start))
        what = f"job {job!r}" if job else "any job"
        raise TimeoutError(
            f"waited {timeout:g} s for {n} trigger(s) of {what}; {summary(self.snapshot())}. "
            "Check the schedule (`jobs.get(name)`), that the app's route is POST /job/<name>, "
            "or wait longer (timeout=...)."
        )


def summary(triggers: Iterable[Trigger]) -> str:
    """``"3 arrived: 'tick' ×2 on replica 0, 'tick' ×1 on replica 1"``."""
    items = list(triggers)
    if not items:
        return "none arrived"
    counts = Counter((t.job, t.replica) for t in items)
    parts = [f"{job!r} ×{c} on replica {r}" for (job, r), c in sorted(counts.items())]
    probes = sum(1 for t in items if t.is_probe)
    failed = sum(1 for t in items
                 if not t.is_probe and t.status >= 300 and t.status != 404)
    notes = [f"{probes} of them OPTIONS probes of a cron binding"] if probes else []
    notes += [f"{failed} answered with an error status"] if failed else []
    extra = f" ({'; '.join(notes)})" if notes else ""
    return f"{len(items)} arrived: " + ", ".join(parts) + extra


class RecordingMiddleware:
    """ASGI middleware: record job and binding requests, pass everything else through.

    The request body of a recorded request is read in full first and replayed to the app, so
    it is recorded even when the handler never reads it. An exception in the handler is
    recorded and answered with 500 instead of reaching uvicorn's logger (which would print).
    """

    def __init__(self, app: ASGIApp, log: TriggerLog, replica: int,
                 bindings: Iterable[str] = ()) -> None:
        self.app = app
        self.log = log
        self.replica = replica
        self.bindings = {"/" + b.strip("/") for b in bindings}

    def _job_name(self, path: str) -> str | None:
        if path.startswith(JOB_PREFIX) and len(path) > len(JOB_PREFIX):
            return path[len(JOB_PREFIX):]
        if path.rstrip("/") in self.bindings:
            return path.strip("/")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        name = self._job_name(path)
        if name is None:
            await self.app(scope, receive, send)
            return
        received = dt.datetime.now(dt.UTC)
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 0
        started = False

        async def capture(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        error = ""
        try:
            await self.app(scope, replay, capture)
        except Exception:  # the handler's bug: record it, answer 500, never print
            error = traceback.format_exc()
            if not started:
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"handler raised"})
            status = status or 500
            if status < 500:
                status = 500
        finally:
            self.log.add(Trigger(received, self.replica, path, name, status,
                                 body.decode("utf-8", "replace"), error,
                                 str(scope.get("method", "POST"))))
