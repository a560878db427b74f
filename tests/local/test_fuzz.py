"""Fuzz: random methods, names, bodies and headers get only the statuses Dapr's API allows
(docs/dapr-behaviour.md#error-table), and both processes still serve afterwards — on the
stand-in and on real Dapr."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.stacks import RecordingApp, Sidecar, Stack

pytestmark = pytest.mark.slow

ALLOWED = {
    "POST": {204, 400, 409, 500},
    "GET": {200, 400, 500},
    "DELETE": {204, 400, 500},
}
#: Any other method falls through to service invocation: 404 ERR_DIRECT_INVOKE.
OTHER = {404}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=10,
)
fields = st.fixed_dictionaries({}, optional={
    "schedule": st.sampled_from(["@every 1h", "0 0 * * * *", "* * * * *", "bad", "@daily",
                                 ""]) | json_values,
    "dueTime": st.sampled_from(["1h", "0s", "-1s", "PT1H", "R5/PT1H", "2030-01-01T00:00:00Z",
                                "x"]) | json_values,
    "ttl": st.sampled_from(["2h", "1s", "nope"]) | json_values,
    "repeats": st.integers(-3, 2**33) | json_values,
    "data": json_values,
    "overwrite": st.booleans() | json_values,
    "name": st.sampled_from(["", "n"]) | json_values,
    "failurePolicy": st.sampled_from([{"drop": {}}, {"constant": {"interval": "1s"}},
                                      {"constant": {"interval": "2m"}},
                                      {"constant": {"maxRetries": 2}}]) | json_values,
    "due_time": st.sampled_from(["1h", "bad"]),
    "extra": json_values,
})
bodies = (fields.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=64)
          | json_values.map(lambda v: json.dumps(v).encode()))
names = st.text(min_size=1, max_size=30).map(lambda t: quote(t, safe="")) \
    | st.sampled_from(["%20", "a+b", "%2F", "%00", "%FF", "ok"])
headers = st.dictionaries(
    st.sampled_from(["dapr-api-token", "content-type", "x-random", "accept"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
    max_size=3)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["POST", "POST", "POST", "GET", "DELETE", "PUT", "PATCH"]),
       version=st.sampled_from(["v1.0", "v1.0-alpha1"]), name=names, body=bodies,
       hdrs=headers)
def test_random_requests_get_allowed_statuses(shared: tuple[Stack, Sidecar, RecordingApp],
                                              method: str, version: str, name: str,
                                              body: bytes, hdrs: dict[str, str]) -> None:
    car = shared[1]
    r = httpx.request(method, f"{car.url}/{version}/jobs/{name}", content=body, headers=hdrs,
                      timeout=15)
    allowed = ALLOWED.get(method, OTHER)
    assert r.status_code in allowed, (r.status_code, r.text)
    if r.status_code >= 400:
        parsed = r.json()
        assert parsed["errorCode"] and parsed["message"]


def test_both_processes_still_serve(shared: tuple[Stack, Sidecar, RecordingApp]) -> None:
    """Runs after the fuzz test in this module: nothing fell over."""
    s, car, _ = shared
    assert httpx.get(car.url + "/v1.0/healthz").status_code == 204
    assert s.scheduler is not None and s.scheduler.poll() is None
    assert car.proc.poll() is None
    r = httpx.post(car.url + "/v1.0/jobs/after-fuzz", json={"dueTime": "1h"})
    assert r.status_code in (204, 409)
    assert httpx.get(car.url + "/v1.0/jobs/after-fuzz").status_code == 200
