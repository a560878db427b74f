"""Dapr's Jobs HTTP API over real HTTP, on the stand-in and on real Dapr: routes, request
decoding, the error table, GET bodies (docs/dapr-behaviour.md#routes-and-versions,
docs/dapr-behaviour.md#request-body, docs/dapr-behaviour.md#errors,
docs/dapr-behaviour.md#success-responses)."""

from __future__ import annotations

import itertools

import httpx
import pytest

from support.stacks import RecordingApp, Sidecar, Stack, error
from support.waiting import wait_until

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits

_names = itertools.count()

SCHED_500 = ("failed to schedule job due to: rpc error: code = Unknown desc = "
             "job failed validation: ")


@pytest.fixture
def http(shared: tuple[Stack, Sidecar, RecordingApp]) -> httpx.Client:
    with shared[1].client() as client:
        yield client


def fresh() -> str:
    return f"job-{next(_names)}"


# --- routes (docs/dapr-behaviour.md#http-routes) ---------------------------------------


@pytest.mark.parametrize("version", ["v1.0", "v1.0-alpha1"])
def test_both_route_versions_schedule_get_delete(http: httpx.Client, version: str) -> None:
    """Stable and alpha routes call the same handlers."""
    name = fresh()
    r = http.post(f"/{version}/jobs/{name}", json={"dueTime": "1h"})
    assert r.status_code == 204 and r.content == b""
    r = http.get(f"/{version}/jobs/{name}")
    assert r.status_code == 200
    assert r.json()["name"] == name
    assert http.delete(f"/{version}/jobs/{name}").status_code == 204
    assert http.get(f"/{version}/jobs/{name}").status_code == 500


def test_healthz_and_metadata(http: httpx.Client) -> None:
    """The sidecar's health and metadata routes."""
    assert http.get("/v1.0/healthz").status_code == 204
    meta = http.get("/v1.0/metadata").json()
    assert meta["id"] == "contract" and meta["runtimeVersion"] == "1.18.3"


NO_ROUTE = (404, "ERR_DIRECT_INVOKE",
            "failed getting app id either from the URL path or the header dapr-app-id")


def test_unknown_route_or_method_is_404_direct_invoke(http: httpx.Client) -> None:
    """Only the three methods exist on the job routes. Anything else falls through to
    daprd's service invocation, which finds no app id: 404, never 405."""
    for method, path in [("GET", "/v1.0/nothing"), ("GET", "/v1.0/jobs"),
                         ("GET", "/v1.0/jobs/a/b"), ("PUT", f"/v1.0/jobs/{fresh()}"),
                         ("PATCH", f"/v1.0-alpha1/jobs/{fresh()}"), ("POST", "/v1.0/healthz"),
                         ("POST", "/v1.0/metadata")]:
        r = http.request(method, path, json={"dueTime": "1s"})
        assert error(r) == NO_ROUTE, (method, path)
        assert r.headers["content-type"] == "application/json"


def test_local_list_is_on_a_non_dapr_path(http: httpx.Client, standin_only: None) -> None:
    """Dapr has no HTTP list; the stand-in's list lives under /jobslab/ and says local-only."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h", "data": {"k": 1}})
    body = http.get("/jobslab/v1/jobs").json()
    assert body["localOnly"] is True
    assert any(j["name"] == name and j["data"] == {"k": 1} for j in body["jobs"])


# --- the error table (docs/dapr-behaviour.md#error-table) ------------------------------


@pytest.mark.parametrize("body", [b"", b"{}", b'{"data": 1}', b'{"unknown": true}'])
def test_no_schedule_no_due_time_is_400_schedule_empty(http: httpx.Client, body: bytes) -> None:
    """An empty body or {} (unknown fields ignored) has no schedule."""
    r = http.post(f"/v1.0/jobs/{fresh()}", content=body)
    assert error(r) == (400, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["details"] == [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "dapr.io",
        "metadata": {"appID": "contract", "namespace": "default"},
        "reason": "DAPR_SCHEDULER_SCHEDULE_EMPTY"}]


def test_error_body_bytes_are_go_json(http: httpx.Client) -> None:
    """Error body: Go encoding/json, fields in order, no trailing newline."""
    r = http.post(f"/v1.0/jobs/{fresh()}", content=b"{}")
    assert r.content == (
        b'{"errorCode":"DAPR_SCHEDULER_SCHEDULE_EMPTY","message":"Schedule is empty",'
        b'"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io",'
        b'"metadata":{"appID":"contract","namespace":"default"},'
        b'"reason":"DAPR_SCHEDULER_SCHEDULE_EMPTY"}]}')


@pytest.mark.parametrize("name", ["%20", "%20%20", "%09"])
def test_whitespace_name_is_400_name_empty(http: httpx.Client, name: str) -> None:
    """The URL name is empty after TrimSpace."""
    r = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1s"})
    assert error(r) == (400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty")


def test_name_in_body_is_400_with_app_id_only(http: httpx.Client) -> None:
    """`name` in the body; the ErrorInfo metadata has only appID."""
    r = http.post(f"/v1.0/jobs/{fresh()}", json={"name": "x", "dueTime": "1s"})
    assert error(r) == (400, "DAPR_SCHEDULER_JOB_NAME", "Set the job name in the url only")
    assert r.json()["details"][0]["metadata"] == {"appID": "contract"}


def test_existing_job_is_409_and_overwrite_replaces(http: httpx.Client) -> None:
    """409 without overwrite (not the 400 some tutorials promise); overwrite:true replaces."""
    name = fresh()
    assert http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h"}).status_code == 204
    r = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "2h"})
    assert error(r) == (409, "DAPR_SCHEDULER_SCHEDULE_JOB",
                        "failed to schedule job due to: rpc error: code = AlreadyExists desc = "
                        f"job already exists: 'app||default||contract||{name}'")
    r = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "3h", "overwrite": True})
    assert r.status_code == 204
    assert http.get(f"/v1.0/jobs/{name}").json()["dueTime"] == "3h"


@pytest.mark.parametrize(("body", "msg"), [
    ({"schedule": "* * * * *"}, "expected exactly 6 fields, found 5: [* * * * *]"),
    ({"schedule": "test"}, "expected exactly 6 fields, found 1: [test]"),
    ({"schedule": "@foo"}, "unrecognized descriptor: @foo"),
    ({"schedule": "0 0 25 * * *"}, "end of range (25) above maximum (23): 25"),
    ({"dueTime": "soon"}, "due time format not recognized"),
    ({"schedule": "@every 1s", "ttl": "nope"}, "ttl format not recognized"),
    ({"schedule": "@every 1s", "repeats": 0}, "defined repeats must be greater than 0"),
    ({"dueTime": "1s", "repeats": 2}, "job must have a schedule to repeat"),
    ({"dueTime": "1s", "ttl": "10s"}, "job must have a schedule to have a ttl"),
    ({"schedule": "@every 1s", "dueTime": "10s", "ttl": "2000-01-01T00:00:00Z"},
     "ttl must be greater than due time"),
])
def test_engine_rejections_are_500_job_failed_validation(http: httpx.Client, body: dict,
                                                         msg: str) -> None:
    """Scheduler validation errors, wrapped as daprd wraps them."""
    r = http.post(f"/v1.0/jobs/{fresh()}", json=body)
    assert error(r) == (500, "DAPR_SCHEDULER_SCHEDULE_JOB", SCHED_500 + msg)


def test_unknown_zone_is_500(http: httpx.Client) -> None:
    """CRON_TZ with an unknown zone, and a TZ prefix on @every."""
    for schedule, why in (
            ("CRON_TZ=Not/AZone 0 0 0 * * *",
             "provided bad location Not/AZone: unknown time zone Not/AZone"),
            ("TZ=UTC @every 1s",
             "timezone is not supported for @every schedules: TZ=UTC @every 1s")):
        status, code, message = error(http.post(f"/v1.0/jobs/{fresh()}",
                                                json={"schedule": schedule}))
        assert (status, code, message) == (500, "DAPR_SCHEDULER_SCHEDULE_JOB", SCHED_500 + why)


def test_go_time_errors_write_non_ascii_as_bytes(http: httpx.Client) -> None:
    """Go's time package quotes its own way (time.quote, not strconv.Quote): every byte of a
    non-ASCII character as \\xNN, in @every durations and in dueTime timestamps alike."""
    for body, why in (
            ({"schedule": "@every 1hé"},
             'time: unknown unit "h\\xc3\\xa9" in duration "1h\\xc3\\xa9"'),
            ({"schedule": "@every 5ü"},
             'time: unknown unit "\\xc3\\xbc" in duration "5\\xc3\\xbc"')):
        status, code, message = error(http.post(f"/v1.0/jobs/{fresh()}", json=body))
        assert (status, code) == (500, "DAPR_SCHEDULER_SCHEDULE_JOB"), message
        assert message.endswith(why), message


NAME_500 = ("failed to schedule job due to: rpc error: code = Unknown desc = "
            'job name is invalid "app||default||contract||')


@pytest.mark.parametrize(("name", "shown", "why"), [
    ("%2Fx", "/x", "must not contain '/', '\\', '#' or '?'"),
    ("a%5Cb", "a\\\\b", "must not contain '/', '\\', '#' or '?'"),
    ("a%23b", "a#b", "must not contain '/', '\\', '#' or '?'"),
    ("a%3Fb", "a?b", "must not contain '/', '\\', '#' or '?'"),
    ("a%00b", "a\\x00b", "must not contain control characters"),
    ("a%0Ab", "a\\nb", "must not contain control characters"),
    ("a%7Fb", "a\\x7fb", "must not contain control characters"),
    ("x" * 489, "x" * 489, "must be at most 512 characters"),
])
def test_invalid_names_are_500_without_validation_prefix(http: httpx.Client, name: str,
                                                         shown: str, why: str) -> None:
    """Job names: the Scheduler checks the whole key ``app||ns||app-id||name`` (quoted as Go's
    %q), and the message lacks "job failed validation: "."""
    r = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1s"})
    assert error(r) == (500, "DAPR_SCHEDULER_SCHEDULE_JOB", f'{NAME_500}{shown}": {why}')
    # GET and DELETE check the name too: "job name is invalid", not "job not found" / 204.
    rest = NAME_500.split("failed to schedule job due to: ", 1)[1]
    assert error(http.get(f"/v1.0/jobs/{name}")) == (
        500, "DAPR_SCHEDULER_GET_JOB", f'failed to get job due to: {rest}{shown}": {why}')
    assert error(http.delete(f"/v1.0/jobs/{name}")) == (
        500, "DAPR_SCHEDULER_DELETE_JOB", f'failed to delete job due to: {rest}{shown}": {why}')


def test_name_limit_is_512_bytes_of_the_whole_key(http: httpx.Client) -> None:
    """"app||default||contract||" is 24 bytes: a 488-byte name is the longest; ü is 2 bytes."""
    for name, ok in [("y" * 488, True), ("y" * 489, False), ("ü" * 244, True),
                     ("ü" * 245, False)]:
        status = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h"}).status_code
        assert status == (204 if ok else 500), (len(name), status)
        http.delete(f"/v1.0/jobs/{name}")


@pytest.mark.parametrize("name", ["UPPER", "my||job@name", "with%20space", "a|b", "ünï",
                                  "%2E", "%2E%2E"])
def test_allowed_names(http: httpx.Client, name: str) -> None:
    """Name rules (1.18.2+): uppercase, |, ||, @ and spaces are fine — and so, on 1.18.3, are
    "." and ".." (sent escaped: httpx would normalise the dot segments away)."""
    assert http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h"}).status_code == 204
    assert http.get(f"/v1.0/jobs/{name}").status_code == 200
    assert http.delete(f"/v1.0/jobs/{name}").status_code == 204


def test_post_trims_get_does_not_and_plus_is_space(http: httpx.Client) -> None:
    """POST trims the name; GET/DELETE don't; query-style unescaping turns + into space."""
    base = fresh()
    assert http.post(f"/v1.0/jobs/%20{base}%20", json={"dueTime": "1h"}).status_code == 204
    assert http.get(f"/v1.0/jobs/{base}").status_code == 200
    assert http.get(f"/v1.0/jobs/%20{base}%20").status_code == 500
    assert http.post(f"/v1.0/jobs/{base}+plus", json={"dueTime": "1h"}).status_code == 204
    assert http.get(f"/v1.0/jobs/{base}%20plus").json()["name"] == f"{base} plus"


def test_proto_field_names_accepted(http: httpx.Client) -> None:
    """`due_time`, `failure_policy`, `max_retries` work like their lowerCamel names."""
    name = fresh()
    r = http.post(f"/v1.0/jobs/{name}", json={
        "due_time": "1h", "failure_policy": {"constant": {"max_retries": 7, "interval": "2s"}}})
    assert r.status_code == 204
    got = http.get(f"/v1.0/jobs/{name}").json()
    assert got["dueTime"] == "1h"
    assert got["failurePolicy"] == {"constant": {"interval": "2s", "maxRetries": 7}}


def test_body_over_4_mib_is_400_body_read(http: httpx.Client) -> None:
    """Bodies over daprd's 4 MiB --max-body-size are refused before they are decoded."""
    big = b'{"dueTime":"1s","data":"' + b"x" * (4 * 1024 * 1024) + b'"}'
    r = http.post(f"/v1.0/jobs/{fresh()}", content=big)
    assert error(r) == (400, "ERR_BODY_READ", "failed to read request body: stream too large")


def test_data_over_2_mib_is_429_resource_exhausted(http: httpx.Client) -> None:
    """daprd's gRPC client sends the Scheduler at most 2 MiB: data of 2 MiB is 429 although
    the body is under 4 MiB; 2 MiB less 1 KiB is fine."""
    limit = 2 * 1024 * 1024
    r = http.post(f"/v1.0/jobs/{fresh()}", json={"dueTime": "1h", "data": "x" * limit})
    status, code, message = error(r)
    assert (status, code) == (429, "DAPR_SCHEDULER_SCHEDULE_JOB")
    assert message.startswith("failed to schedule job due to: rpc error: code = "
                              "ResourceExhausted desc = trying to send message larger than max (")
    assert message.endswith(f" vs. {limit})")
    name = fresh()
    r = http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h", "data": "x" * (limit - 1024)})
    assert r.status_code == 204
    http.delete(f"/v1.0/jobs/{name}")


# --- success responses (docs/dapr-behaviour.md#success-responses) ------------------------


def test_get_body_field_order_wrapping_and_echoes(http: httpx.Client) -> None:
    """Proto field order, data as a Value Any, dueTime/ttl as given, default policy."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={
        "ttl": "1000s", "data": {"b": [1, 2.5], "a": "x"}, "dueTime": "15s",
        "repeats": 3, "schedule": "@every 1h"})
    r = http.get(f"/v1.0/jobs/{name}")
    assert r.headers["content-type"] == "application/json"
    assert r.content == (
        f'{{"name":"{name}","schedule":"@every 1h","repeats":3,"dueTime":"15s","ttl":"1000s",'
        '"data":{"@type":"type.googleapis.com/google.protobuf.Value","value":'
        '{"a":"x","b":[1,2.5]}},'
        '"failurePolicy":{"constant":{"interval":"1s","maxRetries":3}}}').encode()


@pytest.mark.parametrize(("data", "shown"), [
    ("someData", '"someData"'), (123, "123"), (None, "null"), ([1, "a"], '[1,"a"]'),
    (True, "true"), ({"@type": "x", "value": "v"}, '{"@type":"x","value":"v"}'),
])
def test_get_data_is_wrapped_value(http: httpx.Client, data: object, shown: str) -> None:
    """Every JSON value comes back inside a google.protobuf.Value Any."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h", "data": data})
    body = http.get(f"/v1.0/jobs/{name}").text
    assert f'"data":{{"@type":"type.googleapis.com/google.protobuf.Value","value":{shown}}}' \
        in body


def test_get_without_data_omits_it_and_shows_policies(http: httpx.Client) -> None:
    """Unset fields are omitted; a given policy is shown in protojson form."""
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={"dueTime": "1h", "failurePolicy": {"drop": {}}})
    assert http.get(f"/v1.0/jobs/{name}").json() == {
        "name": name, "dueTime": "1h", "failurePolicy": {"drop": {}}}
    name = fresh()
    http.post(f"/v1.0/jobs/{name}", json={
        "dueTime": "1h", "failurePolicy": {"constant": {"interval": "0.5s"}}})
    assert http.get(f"/v1.0/jobs/{name}").json()["failurePolicy"] == {
        "constant": {"interval": "0.500s"}}


def test_delete_missing_is_204_and_get_missing_is_500(http: httpx.Client) -> None:
    """DELETE → 204 whether or not the job exists; GET of a missing job → 500."""
    name = fresh()
    r = http.delete(f"/v1.0/jobs/{name}")
    assert r.status_code == 204 and r.content == b""
    assert error(http.get(f"/v1.0/jobs/{name}")) == (
        500, "DAPR_SCHEDULER_GET_JOB",
        f"failed to get job due to: rpc error: code = NotFound desc = job not found: {name}")


def test_first_tick_after_ttl_is_deleted_at_once(http: httpx.Client) -> None:
    """POST is 204, but a job whose first tick is past its ttl is gone at once."""
    name = fresh()
    r = http.post(f"/v1.0/jobs/{name}", json={"schedule": "@every 1h", "ttl": "2s"})
    assert r.status_code == 204
    # The stand-in deletes it before answering; real Dapr a moment later, when the job's
    # counter is loaded (it can still answer one GET with 200): both delete it unfired.
    wait_until(lambda: http.get(f"/v1.0/jobs/{name}").status_code == 500, timeout=10,
               what="the job to be deleted")
