"""The sidecar: a ``daprd`` stand-in serving the Jobs HTTP API for one app replica.

Routes (docs/dapr-behaviour.md#http-routes): ``POST|GET|DELETE /v1.0/jobs/{name}`` and
``/v1.0-alpha1/jobs/{name}``, ``GET /v1.0/healthz`` (and ``/outbound``), ``GET /v1.0/metadata``;
plus the local-only inspection route ``GET /jobslab/v1/jobs`` (not part of Dapr). Checks run
in daprd's order (docs/dapr-behaviour.md#validation-order); answers follow
docs/dapr-behaviour.md#errors and docs/dapr-behaviour.md#success-responses, trigger delivery
docs/dapr-behaviour.md#delivery, cron bindings docs/dapr-behaviour.md#cron-bindings.

The HTTP layer is a bare ASGI callable on uvicorn: no framework machinery per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import uvicorn

from .. import DAPR_VERSION
from ..errors import JobslabError
from . import DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_SCHEDULER_PORT, LOCAL_LIST_PATH
from . import http_errors as he
from .appclient import AppClient, job_path, port_open
from .bindings import CronBinding, load_components, run_binding
from .jobbody import JobRequest, Malformed, decode
from .link import RpcError, SchedulerLink
from .protocol import parse_address

log = logging.getLogger("jobslab.sidecar")

MAX_BODY = 4 * 1024 * 1024  # daprd's default --max-body-size 4Mi
_JOB_PREFIXES = ("/v1.0/jobs/", "/v1.0-alpha1/jobs/")
_HEALTH = ("/v1.0/healthz", "/v1.0/healthz/outbound")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]


@dataclass
class SidecarOptions:
    """What ``jobslab run`` needs; flags mirror ``dapr run``."""

    app_id: str
    app_port: int | None = None
    http_port: int = DEFAULT_HTTP_PORT
    host: str = "127.0.0.1"
    scheduler_address: str = f"{DEFAULT_HOST}:{DEFAULT_SCHEDULER_PORT}"
    resources_paths: list[Path] = field(default_factory=list)
    namespace: str = field(default_factory=lambda: os.environ.get("NAMESPACE") or "default")
    app_channel_address: str = "127.0.0.1"
    api_token: str | None = field(default_factory=lambda: os.environ.get("DAPR_API_TOKEN"))
    app_token: str | None = field(default_factory=lambda: os.environ.get("APP_API_TOKEN"))


#: daprd's gRPC client refuses to send the Scheduler a message over 2 MiB (so data of about
#: 2 MiB gets 429 although the HTTP body limit is 4 MiB).
GRPC_MAX_MESSAGE = 2 * 1024 * 1024
#: Bytes of a ScheduleJob request besides its strings (measured on daprd 1.18.3).
_GRPC_OVERHEAD = 263


def _grpc_size(name: str, opts: SidecarOptions, req: JobRequest) -> int:
    """About the size of daprd's ScheduleJob message for this job (within a few bytes of what
    daprd reports; only the 2 MiB threshold matters)."""
    strings = (name, opts.app_id, opts.namespace, req.schedule, req.due_time, req.ttl, req.data)
    return _GRPC_OVERHEAD + sum(len(x.encode("utf-8")) for x in strings if x)


def _rpc_text(exc: RpcError) -> str:
    """An error from the Scheduler as daprd words it after "failed to … job due to: "."""
    if exc.code == "DeadlineExceeded":
        return exc.message  # "context deadline exceeded", with no gRPC wrapping
    code = "Unknown" if exc.code == "Internal" else exc.code
    return f"rpc error: code = {code} desc = {exc.message}"


class BodyTooLarge(JobslabError):
    pass


class Sidecar:
    """The sidecar's state and its ASGI app (``self.asgi``)."""

    def __init__(self, opts: SidecarOptions, bindings: list[CronBinding] | None = None) -> None:
        self.opts = opts
        host, port = parse_address(opts.scheduler_address, DEFAULT_SCHEDULER_PORT)
        self.link = SchedulerLink(host, port, opts.namespace, opts.app_id, self.deliver)
        self.app_client = (AppClient(opts.app_channel_address, opts.app_port,
                                     token=opts.app_token)
                           if opts.app_port else None)
        self.bindings = bindings or []
        self.app_ready = asyncio.Event()
        self.started = time.time()
        self._tasks: list[asyncio.Task[Any]] = []
        self._ready = False
        self.delivered = 0

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()
        if self.app_client is None:
            # Without an app port daprd still connects; triggers then fail
            # (docs/dapr-behaviour.md#when-a-sidecar-counts-as-connected).
            self.link.watch()
        else:
            self._tasks.append(asyncio.create_task(self._wait_for_app()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.link.close()
        if self.app_client:
            await self.app_client.close()

    async def _wait_for_app(self) -> None:
        assert self.opts.app_port is not None
        announced = False
        while not await port_open(self.opts.app_channel_address, self.opts.app_port):
            if not announced:
                log.info("waiting for the app on port %d", self.opts.app_port)
                announced = True
            await asyncio.sleep(0.05)
        log.info("app is listening on port %d; receiving triggers", self.opts.app_port)
        self.app_ready.set()
        self.link.watch()
        assert self.app_client is not None
        for binding in self.bindings:
            self._tasks.append(asyncio.create_task(run_binding(binding, self.app_client)))

    # --- trigger delivery (docs/dapr-behaviour.md#delivery) --------------------------

    def deliver(self, name: str, data: str | None) -> asyncio.Future[bool]:
        """POST the job's data to the app; the future is True when the tick is done (2xx or
        404). With a connection to the app idle, the request is written before this returns:
        no task, no extra turn of the event loop between the trigger and the app."""
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self.app_client is None:
            log.error("job %s: app channel not initialized", name)
            result.set_result(False)
            return result
        body = b"" if data is None else data.encode("utf-8")
        sent = self.app_client.submit("POST", job_path(name), body)
        sent.add_done_callback(lambda f: self._delivered(name, f, result))
        return result

    def _delivered(self, name: str, sent: asyncio.Future[int],
                   result: asyncio.Future[bool]) -> None:
        if sent.cancelled():
            result.cancel()
            return
        exc = sent.exception()
        if exc is not None:
            log.warning("job %s: error invoking the app: %s", name, exc)
            ok = False
        else:
            status = sent.result()
            self.delivered += 1
            ok = 200 <= status < 300 or status == 404
            if not ok:
                log.warning("job %s: app returned %d; failure policy applies", name, status)
        if not result.done():
            result.set_result(ok)

    # --- HTTP ------------------------------------------------------------------------

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            await self._route(scope, receive, send)
        except BodyTooLarge:  # daprd's answer to a body over --max-body-size
            await _respond(send, 400, he.go_json({
                "errorCode": "ERR_BODY_READ",
                "message": "failed to read request body: stream too large"}), _JSON)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw.split(b"?", 1)[0].decode("latin-1")
        if self.opts.api_token is not None and path not in _HEALTH:
            supplied = _header(scope, b"dapr-api-token")
            if supplied != self.opts.api_token:
                await _respond(send, 401, b"invalid api token\n",
                               [(b"content-type", b"text/plain; charset=utf-8")])
                return
        for prefix in _JOB_PREFIXES:
            if path.startswith(prefix):
                rest = path[len(prefix):]
                if "/" in rest:
                    break
                await self._job(method, unquote_plus(rest, errors="replace"), scope, receive,
                                send)
                return
        if path in _HEALTH:
            if method != "GET":
                await _not_allowed(send, "GET")
                return
            waiting = self.not_ready() if path == _HEALTH[0] else []
            if waiting:
                await _respond(send, 500, he.go_json({
                    "errorCode": "ERR_HEALTH_NOT_READY",
                    "message": f"dapr is not ready: [{' '.join(waiting)}]"}), _JSON)
                return
            await _respond(send, 204, b"")
            return
        if path == "/v1.0/metadata":
            if method != "GET":
                await _not_allowed(send, "GET")
                return
            await _respond(send, 200, he.go_json(self.metadata()), _JSON)
            return
        if path == LOCAL_LIST_PATH:
            if method != "GET":
                await _not_allowed(send, "GET")
                return
            await self._list(scope, send)
            return
        await _no_route(send)

    async def _job(self, method: str, name: str, scope: Scope, receive: Receive,
                   send: Send) -> None:
        if method == "POST":
            body = await _read_body(scope, receive)
            await self._schedule(name, body, send)
        elif method == "GET":
            await self._get(name, send)
        elif method == "DELETE":
            await self._delete(name, send)
        else:
            await _not_allowed(send, "DELETE, GET, POST")

    def _error(self, code: str, message: str, *, namespace: bool = True) -> bytes:
        return he.error_body(code, message, app_id=self.opts.app_id,
                             namespace=self.opts.namespace if namespace else None)

    async def _schedule(self, name: str, body: bytes, send: Send) -> None:
        try:
            req = decode(body)
        except Malformed as exc:
            await _respond(send, 400, he.malformed_body(str(exc)), _JSON)
            return
        if req.name_in_body:
            await _respond(send, 400, self._error(he.JOB_NAME, "Set the job name in the url only",
                                                  namespace=False), _JSON)
            return
        name = name.strip()
        if not name:
            await _respond(send, 400, self._error(he.JOB_NAME_EMPTY, "Name is empty"), _JSON)
            return
        if req.schedule is None and req.due_time is None:
            await _respond(send, 400, self._error(he.SCHEDULE_EMPTY, "Schedule is empty"),
                           _JSON)
            return
        size = _grpc_size(name, self.opts, req)
        if size > GRPC_MAX_MESSAGE:
            message = ("failed to schedule job due to: rpc error: code = ResourceExhausted desc = "
                       f"trying to send message larger than max ({size} vs. {GRPC_MAX_MESSAGE})")
            await _respond(send, 429, self._error(he.SCHEDULE_JOB, message), _JSON)
            return
        job: dict[str, Any] = {"schedule": req.schedule, "repeats": req.repeats,
                               "dueTime": req.due_time, "ttl": req.ttl, "data": req.data,
                               "failurePolicy": req.failure_policy.to_json()
                               if req.failure_policy else None}
        try:
            await self.link.call("schedule", name=name, job=job, overwrite=req.overwrite)
        except RpcError as exc:
            status = {"AlreadyExists": 409, "InvalidArgument": 400}.get(exc.code, 500)
            message = f"failed to schedule job due to: {_rpc_text(exc)}"
            await _respond(send, status, self._error(he.SCHEDULE_JOB, message), _JSON)
            return
        await _respond(send, 204, b"")

    async def _get(self, name: str, send: Send) -> None:
        if not name.strip():
            await _respond(send, 400, self._error(he.JOB_NAME_EMPTY, "Name is empty"), _JSON)
            return
        try:
            reply = await self.link.call("get", name=name)
        except RpcError as exc:
            message = f"failed to get job due to: {_rpc_text(exc)}"
            await _respond(send, 500, self._error(he.GET_JOB, message), _JSON)
            return
        await _respond(send, 200, render_job(reply["job"]), _JSON)

    async def _delete(self, name: str, send: Send) -> None:
        if not name.strip():
            await _respond(send, 400, self._error(he.JOB_NAME_EMPTY, "Name is empty"), _JSON)
            return
        try:
            await self.link.call("delete", name=name)
        except RpcError as exc:
            message = f"failed to delete job due to: {_rpc_text(exc)}"
            await _respond(send, 500, self._error(he.DELETE_JOB, message), _JSON)
            return
        await _respond(send, 204, b"")

    async def _list(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        everything = query.get("all", ["false"])[0].lower() in ("1", "true", "yes")
        app = None if everything else query.get("appID", [self.opts.app_id])[0]
        ns = None if everything else self.opts.namespace
        try:
            reply = await self.link.call("list", ns=ns, app=app)
        except RpcError as exc:
            await _respond(send, 503, he.go_json({"errorCode": "JOBSLAB_LIST",
                                                  "message": exc.message}), _JSON)
            return
        jobs = []
        for job in reply["jobs"]:
            if job.get("data") is not None:
                job["data"] = json.loads(job["data"])
            jobs.append(job)
        await _respond(send, 200, he.go_json({"localOnly": True, "jobs": jobs}), _JSON)

    def not_ready(self) -> list[str]:
        """What daprd's ``/v1.0/healthz`` would still wait for (empty once ready).

        daprd 1.18.3 answers 500 ``dapr is not ready: [runtime]`` until its app port accepts
        connections, and ``[scheduler-watch-hosts]`` until it first reached the Scheduler;
        once ready it stays ready. ``/v1.0/healthz/outbound`` answers 204 all along.
        """
        if self._ready:
            return []
        waiting = []
        if self.app_client is not None and not self.app_ready.is_set():
            waiting.append("runtime")
        if not self.link.ever_connected:
            waiting.append("scheduler-watch-hosts")
        self._ready = not waiting
        return waiting

    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.opts.app_id,
            "runtimeVersion": DAPR_VERSION,
            "enabledFeatures": [],
            "actorRuntime": {"runtimeStatus": "DISABLED"},
            "components": [{"name": b.name, "type": "bindings.cron", "version": "v1"}
                           for b in self.bindings],
            "extended": {"jobslab": "local stand-in", "namespace": self.opts.namespace},
            "appConnectionProperties": {
                **({"port": self.opts.app_port} if self.opts.app_port else {}),
                "protocol": "http",
                "channelAddress": self.opts.app_channel_address,
            },
            "scheduler": {"connectedAddresses":
                          [self.link.address] if self.link.connected.is_set() else []},
        }


def render_job(job: dict[str, Any]) -> bytes:
    """protojson of ``runtime.v1.Job``, compact form, fields in proto order
    (docs/dapr-behaviour.md#get-body)."""
    parts = [f'"name":{json.dumps(job["name"], ensure_ascii=False)}']
    for key in ("schedule", "repeats", "dueTime", "ttl"):
        if job.get(key) is not None:
            parts.append(f'"{key}":{json.dumps(job[key], ensure_ascii=False)}')
    if job.get("data") is not None:
        parts.append(f'"data":{{"@type":"{he.VALUE_TYPE_URL}","value":{job["data"]}}}')
    if job.get("failurePolicy"):
        parts.append('"failurePolicy":' + json.dumps(job["failurePolicy"],
                                                     separators=(",", ":")))
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    declared = _header(scope, b"content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] != "http.request":
            break
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not msg.get("more_body"):
            break
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes,
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    hdrs = list(headers or [])
    if status not in (204, 304):
        hdrs.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": b"" if status == 204 else body})


async def _not_allowed(send: Send, allow: str) -> None:
    """A known path with another method: daprd routes it, like any unknown route, to service
    invocation, which finds no app id: 404 ERR_DIRECT_INVOKE (never 405)."""
    await _no_route(send)


async def _no_route(send: Send) -> None:
    await _respond(send, 404, he.go_json({
        "errorCode": "ERR_DIRECT_INVOKE",
        "message": "failed getting app id either from the URL path or the header dapr-app-id"}),
        _JSON)


# --- running it -------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the sidecar forwards signals to the app."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def,override]
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return


def uvicorn_config(app: Any, **kw: Any) -> uvicorn.Config:
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:  # pragma: no cover - httptools is a dependency
        http = "h11"
    return uvicorn.Config(app, http=http, interface="asgi3", lifespan="off", log_config=None,
                          access_log=False, proxy_headers=False, server_header=False,
                          log_level="warning", timeout_keep_alive=30, **kw)


async def run_sidecar(opts: SidecarOptions, sock: socket.socket,
                      app_command: list[str] | None = None,
                      on_ready: Callable[[Sidecar], None] | None = None) -> int:
    """Serve until a signal (or the app, when there is one, exits). Returns the exit code."""
    bindings = load_components(opts.resources_paths) if opts.resources_paths else []
    sidecar = Sidecar(opts, bindings)
    sidecar.start()
    server = _Server(uvicorn_config(sidecar.asgi))
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    child: asyncio.subprocess.Process | None = None
    got_signal: list[int] = []

    def on_signal(signum: int) -> None:
        got_signal.append(signum)
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
    if app_command:
        env = dict(os.environ)
        env.update(DAPR_HTTP_PORT=str(opts.http_port), APP_ID=opts.app_id,
                   DAPR_SCHEDULER_HOST_ADDRESS=opts.scheduler_address)
        if opts.app_port:
            env["APP_PORT"] = str(opts.app_port)
        child = await asyncio.create_subprocess_exec(*app_command, env=env)
        log.info("started the app (pid %d): %s", child.pid, " ".join(app_command))
    while not server.started and not serve.done():
        await asyncio.sleep(0.005)
    # Start-up objects (modules, uvicorn's state) live forever: keep them out of the cyclic
    # GC's full collections, which otherwise pause trigger delivery for milliseconds.
    gc.freeze()
    if on_ready is not None:
        on_ready(sidecar)
    waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait()), serve]
    if child is not None:
        waiters.append(asyncio.ensure_future(child.wait()))
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if child is not None:
        if child.returncode is None:
            if not got_signal:
                child.terminate()
            try:
                await asyncio.wait_for(child.wait(), 5)
            except TimeoutError:
                child.kill()
                await child.wait()
        code = child.returncode or 0
        log.info("the app exited with code %s", child.returncode)
        if code < 0:
            code = 128 - code
    server.should_exit = True
    with contextlib.suppress(asyncio.TimeoutError, Exception):
        await asyncio.wait_for(serve, 5)
    await sidecar.close()
    for w in waiters:
        if not w.done():
            w.cancel()
    if serve.done() and not serve.cancelled() and serve.exception() is not None:
        log.error("the HTTP server failed: %s", serve.exception())
        return 1
    if got_signal and child is None:
        return 0
    return code

