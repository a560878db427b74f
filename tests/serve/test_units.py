"""In-kernel pieces without a sidecar: recording middleware, background server, jobs client.

What the app receives and what its status means (docs/dapr-behaviour.md#delivery), and the
client's requests and answers (docs/dapr-behaviour.md#request-body,
docs/dapr-behaviour.md#success-responses).
"""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from jobslab import jobs
from jobslab import ports as _ports
from jobslab.hosting import PortInUseError
from jobslab.hosting._recording import RecordingMiddleware, TriggerLog
from jobslab.hosting._server import BackgroundServer
from support.ports import free_port


def make_app() -> FastAPI:
    app = FastAPI()

    @app.post("/job/{name}")
    async def on_job(name: str, request: Request):
        if name == "boom":
            raise ValueError("handler bug")
        if name == "missing":
            return Response(status_code=404)
        return {"ok": True}

    @app.post("/cron-binding")
    async def binding():
        return {}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app


@pytest.fixture
def served():
    log = TriggerLog()
    port = free_port()
    server = BackgroundServer(RecordingMiddleware(make_app(), log, 2, ["cron-binding"]),
                              port=port, name="unit")
    server.start(timeout=10)
    yield f"http://127.0.0.1:{port}", log, server
    server.stop()


def test_records_jobs_and_bindings_not_other_routes(served):
    url, log, _ = served
    assert httpx.post(f"{url}/job/tick", content=b'{"n":1}').status_code == 200
    assert httpx.post(f"{url}/job/missing").status_code == 404
    assert httpx.post(f"{url}/cron-binding").status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 200
    log.wait_for(3, timeout=5)
    frame = log.frame()
    assert list(frame["job"]) == ["tick", "missing", "cron-binding"]
    assert list(frame["status"]) == [200, 404, 200]
    assert list(frame["replica"]) == [2, 2, 2]
    assert frame["body"].iloc[0] == '{"n":1}' and frame["body"].iloc[1] == ""
    assert str(frame["received"].dt.tz) == "UTC"


def test_the_method_tells_a_bindings_options_probe_from_a_trigger(served):
    """daprd probes a cron binding's route with OPTIONS once at start-up; that is recorded
    with its method, and the summary does not count the 405 as a failed trigger."""
    from jobslab.hosting._recording import summary

    url, log, _ = served
    assert httpx.options(f"{url}/cron-binding").status_code == 405
    assert httpx.post(f"{url}/cron-binding").status_code == 200
    log.wait_for(1, timeout=5)
    assert list(log.frame()["method"]) == ["OPTIONS", "POST"]
    assert list(log.frame()["status"]) == [405, 200]
    said = summary(log.snapshot())
    assert "1 of them OPTIONS probes of a cron binding" in said
    assert "error status" not in said
    assert [t.method for t in log.wait_for(1, job="cron-binding", timeout=5)] == ["POST"]
    assert list(log.frame(probes=False)["method"]) == ["POST"]
    with pytest.raises(TimeoutError):
        log.wait_for(2, job="cron-binding", timeout=0.2)  # the probe is not a trigger


def test_handler_exception_is_recorded_not_printed(served, capsys):
    url, log, _ = served
    assert httpx.post(f"{url}/job/boom").status_code == 500
    [trigger] = log.wait_for(1, timeout=5)  # recorded once the handler has returned
    assert trigger.status == 500 and "handler bug" in trigger.error
    captured = capsys.readouterr()
    assert captured.out == "" and "handler bug" not in captured.err


def test_wait_for_returns_early_and_times_out_saying_what_arrived(served):
    url, log, _ = served
    httpx.post(f"{url}/job/tick")
    assert len(log.wait_for(1, job="tick", timeout=5)) == 1
    with pytest.raises(TimeoutError, match=r"1 arrived: 'tick' ×1 on replica 2"):
        log.wait_for(2, job="tick", timeout=0.2)


def test_busy_port_names_the_holder():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = BackgroundServer(make_app(), port=port, name="busy")
        with pytest.raises(PortInUseError, match=rf"port {port} is already in use by pid \d+"):
            server.start(timeout=5)
    assert not server.running


def test_restarting_on_the_same_port_replaces_the_old_server():
    port = free_port()
    first = BackgroundServer(make_app(), port=port, name="first")
    first.start(timeout=10)
    second = BackgroundServer(make_app(), port=port, name="second")
    second.start(timeout=10)
    try:
        assert second.running and not first.running
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        second.stop()
    assert _ports.can_bind(port)


def test_client_builds_dapr_requests_and_raises_dapr_errors(monkeypatch):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.raw_path.decode(), request.content))
        if request.method == "GET":
            return httpx.Response(500, json={"errorCode": "DAPR_SCHEDULER_GET_JOB",
                                             "message": "failed to get job due to: ..."})
        return httpx.Response(204)

    transport = httpx.MockTransport(handler)
    client = httpx.Client(transport=transport)
    monkeypatch.setattr(httpx, "request", client.request)
    assert jobs.schedule("a b", "@every 1s", repeats=2, data={"x": 1}, overwrite=True,
                         failure_policy="drop", port=3999) is None
    method, path, body = seen[0]
    assert (method, path) == ("POST", "/v1.0/jobs/a%20b")
    assert body == (b'{"schedule":"@every 1s","repeats":2,"data":{"x":1},"overwrite":true,'
                    b'"failurePolicy":{"drop":{}}}')
    with pytest.raises(jobs.DaprError) as info:
        jobs.get("a b", port=3999)
    assert (info.value.status, info.value.error_code) == (500, "DAPR_SCHEDULER_GET_JOB")


def test_client_says_when_no_sidecar_answers():
    port = free_port()
    with pytest.raises(jobs.DaprError, match="no answer from the Dapr sidecar") as info:
        jobs.delete("x", port=port)
    assert info.value.status == 0
