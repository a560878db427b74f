"""Delivery over real processes, on the stand-in and on real Dapr: trigger requests, result
mapping, failure policy, auto-deletion, counters, tokens and app-id scoping
(docs/dapr-behaviour.md#delivery, docs/dapr-behaviour.md#failure-policy,
docs/dapr-behaviour.md#timing)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import httpx
import pytest

from support.stacks import RecordingApp, Sidecar, Stack, stack
from support.waiting import wait_until

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits

_names = itertools.count()


def fresh() -> str:
    return f"d-{next(_names)}"


@pytest.fixture
def http(shared: tuple[Stack, Sidecar, RecordingApp]) -> httpx.Client:
    with shared[1].client() as client:
        yield client


@pytest.fixture
def rec(shared: tuple[Stack, Sidecar, RecordingApp]) -> RecordingApp:
    return shared[2]


def gone(http: httpx.Client, name: str) -> bool:
    return http.get(f"/v1.0/jobs/{name}").status_code == 500


@pytest.mark.parametrize(("data", "body"), [
    ({"z": 1, "a": {"y": [1, 2], "b": None}}, b'{"a":{"b":null,"y":[1,2]},"z":1}'),
    ("someData", b'"someData"'),
    (123, b"123"),
    (1.5, b"1.5"),
    (None, b"null"),
    ({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": "v"},
     b'{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"v"}'),
])
def test_trigger_body_is_only_the_data(http: httpx.Client, rec: RecordingApp, data: object,
                                       body: bytes) -> None:
    """POST /job/<name>, application/json, the body is the data alone (compact, sorted)."""
    name = fresh()
    assert http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s", "data": data}).status_code \
        == 204
    call = wait_until(lambda: rec.jobs(name), what="the trigger")[0]
    assert call.method == "POST" and call.path == f"/job/{name}"
    assert call.headers["content-type"] == "application/json"
    assert call.body == body
    assert int(call.headers["content-length"]) == len(body)


@pytest.mark.parametrize(("data", "body"), [
    (b"9007199254740993", b"9007199254740992"),  # 2**53 + 1
    (b'{"n": 9007199254740993, "m": [-9007199254740993, 18446744073709551617, 1e21, 0.1]}',
     b'{"m":[-9007199254740992,18446744073709552000,1e+21,0.1],"n":9007199254740992}'),
])
def test_data_numbers_travel_as_float64(http: httpx.Client, rec: RecordingApp, data: bytes,
                                        body: bytes) -> None:
    """data is a google.protobuf.Value, whose numbers are float64: an integer above 2**53
    arrives rounded, in the trigger body and in GET alike."""
    name, kept = fresh(), fresh()
    assert http.post(f"/v1.0/jobs/{name}", content=b'{"dueTime": "0s", "data": ' + data + b"}"
                     ).status_code == 204
    assert wait_until(lambda: rec.jobs(name), what="the trigger")[0].body == body
    http.post(f"/v1.0/jobs/{kept}", content=b'{"dueTime": "1h", "data": ' + data + b"}")
    assert http.get(f"/v1.0/jobs/{kept}").json()["data"]["value"] == json.loads(body)
    http.delete(f"/v1.0/jobs/{kept}")


def test_no_data_is_an_empty_body_and_names_are_escaped(http: httpx.Client,
                                                        rec: RecordingApp) -> None:
    """1.18.3: a job without data arrives with an empty body; odd names are escaped."""
    name = fresh() + " x|y@z"
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s"})
    call = wait_until(lambda: rec.jobs(name), what="the trigger")[0]
    assert call.body == b""
    assert call.path == "/job/" + name.replace(" ", "%20").replace("|", "%7C")


def test_one_shot_is_deleted_after_success(http: httpx.Client, rec: RecordingApp) -> None:
    """A one-shot job is deleted once its trigger succeeds."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s"})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 1


def test_404_counts_as_done(http: httpx.Client, rec: RecordingApp) -> None:
    """A 404 from the app is success: no retry."""
    name = fresh()
    rec.status[name] = 404
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s"})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 1


def test_default_policy_four_attempts_one_second_apart(http: httpx.Client,
                                                       rec: RecordingApp) -> None:
    """Default constant 1s × 3 retries = 4 attempts; the response body is ignored."""
    name = fresh()
    rec.status[name] = 500  # the app also answers {"status":"DROP"}: ignored
    posted = time.time()
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1s"})
    wait_until(lambda: gone(http, name), timeout=15, what="retries to run out")
    calls = rec.jobs(name)
    assert len(calls) == 4
    # Each attempt is due 1 s after the planned time of the one before (never earlier); a
    # late attempt shortens the next gap, so only the planned times are promised.
    assert all(c.at >= posted + 1 + i - 0.01 for i, c in enumerate(calls)), \
        [round(c.at - posted, 3) for c in calls]


@pytest.mark.parametrize("body", [
    {"dueTime": "1s"}, {"dueTime": "PT2S"}, {"schedule": "@every 0.7s", "repeats": 3},
    {"schedule": "@every 0.5s", "dueTime": "0.8s", "repeats": 3},
])
def test_never_before_the_planned_time(http: httpx.Client, rec: RecordingApp,
                                       body: dict) -> None:
    """dueTime and @every count from the exact creation instant (no rounding): no trigger
    arrives before creation + its offset. The client's clock before the POST is earlier than
    the Scheduler's creation time, so it is a safe lower bound on both backends."""
    name = fresh()
    posted = time.time()
    assert http.post(f"/v1.0/jobs/{name}", json=body).status_code == 204
    ticks = body.get("repeats", 1)
    wait_until(lambda: len(rec.jobs(name)) >= ticks, what=f"{ticks} trigger(s)")
    if "schedule" in body:
        delay = float(body["schedule"].split()[1].rstrip("s"))
        first = float(body.get("dueTime", f"{delay}s").rstrip("s"))
        planned = [first + i * delay for i in range(ticks)]
    else:
        planned = [1.0 if body["dueTime"] == "1s" else 2.0]
    arrived = [c.at - posted for c in rec.jobs(name)]
    assert all(a >= p for a, p in zip(arrived, planned, strict=True)), (arrived, planned)


def test_drop_policy_one_attempt(http: httpx.Client, rec: RecordingApp) -> None:
    """`drop` gives exactly one attempt."""
    name = fresh()
    rec.status[name] = 503
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s", "failurePolicy": {"drop": {}}})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 1


@pytest.mark.parametrize(("policy", "attempts"), [
    ({"constant": {"maxRetries": 4, "interval": "0.1s"}}, 5),
    ({"constant": {"maxRetries": 2}}, 3),
    ({"constant": {"maxRetries": 0, "interval": "5s"}}, 1),
])
def test_max_retries_n_gives_n_plus_one(http: httpx.Client, rec: RecordingApp, policy: dict,
                                        attempts: int) -> None:
    """`maxRetries: N` = N+1 attempts; interval unset = immediate retries."""
    name = fresh()
    rec.status[name] = 500
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s", "failurePolicy": policy})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == attempts


def test_unset_max_retries_retries_until_success(http: httpx.Client, rec: RecordingApp) -> None:
    """`maxRetries` unset retries forever — here until the app finally succeeds."""
    name = fresh()
    rec.status[name] = [500] * 6 + [200]
    http.post(f"/v1.0/jobs/{name}", json={
        "dueTime": "0s", "failurePolicy": {"constant": {"interval": "0.05s"}}})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 7


def test_fail_then_succeed_moves_on(http: httpx.Client, rec: RecordingApp) -> None:
    """As Dapr's failfirst test: one failure then success = 2 attempts, then the next tick."""
    name = fresh()
    rec.status[name] = [500, 200]
    http.post(f"/v1.0/jobs/{name}", json={
        "schedule": "@every 0.3s", "dueTime": "0s", "repeats": 2,
        "failurePolicy": {"constant": {"interval": "0.1s"}}})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 3


def test_repeats_count_failed_ticks(http: httpx.Client, rec: RecordingApp) -> None:
    """A tick whose retries are exhausted still counts toward repeats."""
    name = fresh()
    rec.status[name] = 500
    http.post(f"/v1.0/jobs/{name}", json={"schedule": "@every 0.2s", "repeats": 3,
                                          "failurePolicy": {"drop": {}}})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 3


def test_ttl_ends_a_recurring_job(http: httpx.Client, rec: RecordingApp) -> None:
    """@every with ttl stops once the next tick is after the expiry."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={"schedule": "@every 0.5s", "dueTime": "0s",
                                          "ttl": "1.2s"})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 3  # at 0, 0.5 and 1.0 s


def test_overwrite_resets_the_count(http: httpx.Client, rec: RecordingApp) -> None:
    """Overwriting a job resets its trigger counter."""
    name = fresh()
    body = {"schedule": "@every 0.2s", "dueTime": "0s", "repeats": 3}
    http.post(f"/v1.0/jobs/{name}", json=body)
    wait_until(lambda: len(rec.jobs(name)) >= 2, what="two triggers")
    before = len(rec.jobs(name))  # read first: the new job's first tick is due at once
    http.post(f"/v1.0/jobs/{name}", json={**body, "overwrite": True})
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) - before in (3, 4)  # 3 after the overwrite (+1 in flight)
    assert len(rec.jobs(name)) >= 5


def test_triggers_of_one_job_never_overlap(http: httpx.Client, rec: RecordingApp) -> None:
    """One job's triggers run strictly one after another, even when the app is slow."""
    name = fresh()
    rec.delay[name] = 0.25
    http.post(f"/v1.0/jobs/{name}", json={"schedule": "@every 0.05s", "repeats": 4})
    wait_until(lambda: gone(http, name), what="deletion")
    starts = [c.at for c in rec.jobs(name)]
    ends = [t for j, t in rec.done if j == name]
    assert len(starts) == 4
    assert all(s >= e for s, e in zip(starts[1:], ends[:-1], strict=True))


def test_missed_ticks_are_caught_up_immediately(http: httpx.Client, rec: RecordingApp) -> None:
    """Ticks missed while a trigger was slow fire in immediate succession, none skipped."""
    name = fresh()
    rec.delay[name] = 0.6
    rec.status[name] = 200
    http.post(f"/v1.0/jobs/{name}", json={"schedule": "@every 0.1s", "repeats": 5})
    wait_until(lambda: len(rec.jobs(name)) >= 2, what="two triggers")
    rec.delay.pop(name)
    wait_until(lambda: gone(http, name), what="deletion")
    assert len(rec.jobs(name)) == 5


def test_app_ids_scope_names(shared: tuple[Stack, Sidecar, RecordingApp], app: RecordingApp,
                             http: httpx.Client, rec: RecordingApp) -> None:
    """Two app-ids can use the same job name; each trigger reaches its own app."""
    s = shared[0]
    other = s.sidecar("other-app", app_port=app.port)
    s.watching("other-app", 1)
    name = fresh()
    with other.client() as o:
        assert o.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s", "data": "o"}).status_code \
            == 204
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "0s", "data": "c"})
    wait_until(lambda: app.jobs(name) and rec.jobs(name), what="both triggers")
    assert [c.body for c in app.jobs(name)] == [b'"o"']
    assert [c.body for c in rec.jobs(name)] == [b'"c"']


def test_no_app_port_triggers_fail_and_follow_policy(tmp_path: Path, backend: str) -> None:
    """Without --app-port a sidecar connects and watches; triggers fail (no app channel)."""
    with stack(tmp_path, backend) as s:
        car = s.sidecar("noapp")
        s.watching("noapp", 1)
        with car.client() as c:
            c.post("/v1.0/jobs/j", json={"dueTime": "0s", "failurePolicy": {
                "constant": {"maxRetries": 2, "interval": "0.05s"}}})
            wait_until(lambda: c.get("/v1.0/jobs/j").status_code == 500, what="deletion")
        assert s.failed() == 3


def test_api_token_and_app_token(tmp_path: Path, app: RecordingApp, backend: str) -> None:
    """DAPR_API_TOKEN guards every route but healthz; APP_API_TOKEN goes to the app."""
    with stack(tmp_path, backend) as s:
        car = s.sidecar("tok", app_port=app.port,
                        env={"DAPR_API_TOKEN": "secret", "APP_API_TOKEN": "apptok"})
        s.watching("tok", 1)
        with car.client() as c:
            r = c.post("/v1.0/jobs/j", json={"dueTime": "0s"})
            assert r.status_code == 401
            assert r.text == "invalid api token\n"
            assert r.headers["content-type"].startswith("text/plain")
            assert c.get("/v1.0/jobs/j", headers={"dapr-api-token": "wrong"}).status_code == 401
            assert c.get("/v1.0/metadata").status_code == 401
            assert c.get("/v1.0/healthz").status_code == 204
            r = c.post("/v1.0/jobs/j", json={"dueTime": "0s", "data": 1},
                       headers={"dapr-api-token": "secret"})
            assert r.status_code == 204
        call = wait_until(lambda: app.jobs("j"), what="the trigger")[0]
        assert call.headers["dapr-api-token"] == "apptok"
