"""Checks of lab 04, job handlers (``solutions/04-handlers.ipynb``).

Every check looks at what Dapr did with the learner's app: the triggers ``jobslab.serve``
recorded (how many attempts, which status each got, the body), the jobs as ``GET`` shows them,
and the side effects the handler left (``received``, the ``payments`` table). Rules and hints
follow docs/dapr-behaviour.md (Delivery, Result mapping, Failure policy, At least once).
"""

from __future__ import annotations

import json
import time
from typing import Any

from jobslab.checks import (
    Fail,
    exercise,
    expect,
    fail,
    handler_answer,
    handler_raised,
    job_or_none,
    triggers,
    unanswered_stub,
    wait_until,
)

#: The jobs the notebook schedules for exercise 1 (suffix -> data; _NO_DATA: no "data" field).
_NO_DATA = object()
HELLO: dict[str, Any] = {
    "hello-object": {"z": 1, "a": [1, 2]},
    "hello-string": "someData",
    "hello-none": _NO_DATA,
}
#: Exercise 2's jobs: suffix -> order id (None: a body without "order").
SHIP = {"ship-ok": "A-1", "ship-flaky": "A-2", "ship-gone": "A-3", "ship-bad": None}
#: Exercise 3's policy: 3 attempts, 0.5 s apart.
SYNC_INTERVAL, SYNC_RETRIES = 0.5, 2
#: Exercise 4: @every 0.5s, repeats 3, one attempt per tick.
REFRESH_SCHEDULE, REFRESH_REPEATS = "@every 0.5s", 3
DEFAULT_POLICY = (1.0, 3)


# -- small private helpers ------------------------------------------------------------------

def _done(status: int) -> bool:
    """Dapr ends a tick on any 2xx and on 404 (docs/dapr-behaviour.md#result-mapping)."""
    return 200 <= status < 300 or status == 404








def _seconds(duration: Any) -> float | None:
    """A protobuf duration as GET prints it ("0.500s") in seconds; None when unreadable."""
    try:
        return float(str(duration).removesuffix("s"))
    except ValueError:
        return None


def _policy(job: dict[str, Any]) -> tuple[str, float | None, int | None]:
    """("drop", None, None) or ("constant", interval seconds, maxRetries or None)."""
    policy = job.get("failurePolicy") or {}
    if "drop" in policy:
        return "drop", None, None
    constant = policy.get("constant") or {}
    return "constant", _seconds(constant.get("interval", "0s")), constant.get("maxRetries")


def _gone(names: list[str], port: int) -> bool:
    return all(job_or_none(name, port=port) is None for name in names)


# -- the exercises ----------------------------------------------------------------------------

@exercise("04.1", title="the handler parses every body, records it and answers 200")
def handler(*, handle: Any, received: Any, prefix: str) -> None:
    names = {prefix + suffix: data for suffix, data in HELLO.items()}
    arrived = wait_until(lambda: all(triggers(handle, n) for n in names), timeout=4.0)
    if not arrived:
        missing = ", ".join(n for n in names if not triggers(handle, n))
        fail(f"no trigger of {missing} arrived within 4 s: run the cell that serves the app, "
             "then the one that schedules the hello jobs")
    seen = {name: triggers(handle, name) for name in names}
    unanswered_stub(*seen.values())
    for name, sent in names.items():
        first = seen[name][0]
        if first["status"] == 404 and not handler_raised(first):
            fail(f"the trigger of {name} was answered 404: is the route still "
                 "@app.post(\"/job/{name}\")? (Dapr counts a 404 as done and never retries)")
        if not 200 <= first["status"] < 300:
            if sent is _NO_DATA and handler_raised(first):
                fail(f"{name} has no data, so its trigger arrives with an EMPTY body; your "
                     f"handler {handler_answer(first)} and Dapr retries it: read the body with "
                     "raw = await request.body() and use json.loads(raw) if raw else None")
            fail(f"for {name} (body {first['body']!r}) your handler {handler_answer(first)}: "
                 "answer the status status_for(name, data) returns (200 for these jobs)")
    if not hasattr(received, "get"):
        fail("pass the received dict of the app cell (received=received)")
    for name, sent in names.items():
        expected = None if sent is _NO_DATA else sent
        body = seen[name][0]["body"]
        got = received.get(name)
        if not got:
            fail(f"received[{name!r}] is empty: the handler must append the job's data to "
                 "received[name] (received[name].append(data))")
        if not isinstance(got, list):
            fail(f"received[{name!r}] is {got!r}, not a list: append each trigger's data "
                 "(received[name].append(data))")
        if len(got) != 1:
            fail(f"received[{name!r}] holds {len(got)} entries, but the job triggered once: "
                 "append once per trigger")
        value = got[0]
        if isinstance(value, bytes | str) and value != expected:
            text = value.decode(errors="replace") if isinstance(value, bytes) else value
            if sent is _NO_DATA:
                fail(f"{name} has no data: its body is empty and you recorded {value!r}; "
                     "record None for an empty body (json.loads(raw) if raw else None)")
            if text == body:
                fail(f"you recorded the raw body {value!r} for {name}, not its data "
                     f"{expected!r}: the body is the data as JSON text (a string arrives "
                     "quoted, '\"someData\"'), so record json.loads(raw)")
        expect(value == expected, f"received[{name!r}] is [{value!r}], but the job's data is "
                                  f"{expected!r} (its body was {body!r}): record "
                                  "json.loads(raw) if raw else None")


@exercise("04.2", title="retry while the partner is down, end the tick when retrying cannot help")
def shipping(*, handle: Any, prefix: str) -> None:
    port = handle.dapr_http_port
    names = {suffix: prefix + suffix for suffix in SHIP}
    if not any(triggers(handle, n) for n in names.values()) and \
            all(job_or_none(n, port=port) is None for n in names.values()):
        fail("none of the ship jobs exists or triggered: run the cell above that schedules "
             "them")
    finished = wait_until(lambda: _gone(list(names.values()), port), timeout=5.0,
                          interval=0.1)
    seen = {suffix: triggers(handle, name) for suffix, name in names.items()}
    unanswered_stub(*seen.values())
    expect(finished, "the ship jobs were still retrying after 5 s: run the cell that "
                     "schedules them again (it gives them at most 4 attempts)")

    ok = seen["ship-ok"]
    expect(ok, f"no trigger of {names['ship-ok']} arrived: run the cell that schedules it")
    expect(200 <= ok[0]["status"] < 300,
           f"A-1 exists and the partner is up, yet your handler {handler_answer(ok[0])}: "
           "answer 200 once send_to_partner(order) has returned")

    flaky = seen["ship-flaky"]
    statuses = [t["status"] for t in flaky]
    expect(flaky, f"no trigger of {names['ship-flaky']} arrived: run the cell that schedules it")
    if len(flaky) == 1 and _done(statuses[0]):
        fail(f"A-2: the partner was down, and the trigger was answered {statuses[0]}, which "
             "Dapr counts as done, so it never tried again and A-2 was never shipped; catch "
             "PartnerDown and answer 503 (any status but 2xx and 404 is retried) — and make "
             "exercise 1's handler answer what status_for returns")
    if not _done(statuses[-1]):
        fail(f"A-2 failed all {len(flaky)} attempts (answers {statuses}), though the partner "
             f"was back by the third call: the last one {handler_answer(flaky[-1])}; "
             "answer 200 once send_to_partner(order) returns")
    expect(len(flaky) == 3,
           f"A-2 took {len(flaky)} attempts (answers {statuses}); with the partner down for two "
           "calls it takes 3: answer 503 while PartnerDown is raised, 200 after")

    for suffix, why, fix in (
            ("ship-gone", "A-3 was cancelled and no longer exists", "answer 404 (or 200)"),
            ("ship-bad", "a body without an 'order' can never succeed",
             "answer 200 and log it (or 404)")):
        got = seen[suffix]
        expect(got, f"no trigger of {names[suffix]} arrived: run the cell that schedules it")
        if len(got) > 1 or not _done(got[0]["status"]):
            fail(f"{why}, so retrying cannot help, but your handler "
                 f"{handler_answer(got[0])} and Dapr tried {len(got)} times: only 2xx and 404 "
                 f"end a tick (400 is retried like any other error); {fix}")


@exercise("04.3", title="3 attempts, 0.5 s apart: a constant failure policy")
def constant_policy(*, handle: Any, name: str) -> None:
    port = handle.dapr_http_port
    job = job_or_none(name, port=port)
    if job is None:
        if triggers(handle, name):
            fail(f"{name} triggered {len(triggers(handle, name))} time(s) and was then deleted: "
                 "a job with a dueTime and no schedule is one-time, and Dapr deletes it when "
                 "its attempts are used up; add \"schedule\": \"@every 1h\"")
        fail(f"there is no job {name!r}: POST it to /v1.0/jobs/{name} (a 400 "
             "ERR_MALFORMED_REQUEST means a field did not decode: an interval is seconds with "
             "an 's', \"0.5s\"; \"500ms\" is refused)")
    assert job is not None
    kind, interval, retries = _policy(job)
    if kind == "drop":
        fail("its failure policy is drop, one attempt per tick; the partner allows 3 attempts, "
             "0.5 s apart: use {\"constant\": {\"interval\": \"0.5s\", \"maxRetries\": 2}}")
    if (interval, retries) == DEFAULT_POLICY:
        fail("GET shows Dapr's default policy (constant, 1 s, 3 retries): the failure policy "
             "you sent did not arrive; the field is \"failurePolicy\" (unknown fields are "
             "ignored) with \"constant\" inside")
    if retries is None:
        fail("its policy has no maxRetries, so Dapr retries until the handler succeeds, and "
             "this partner is down all lab long: set \"maxRetries\"")
    if retries == SYNC_RETRIES + 1:
        fail(f"maxRetries {retries} gives {retries + 1} attempts: it counts the retries after "
             f"the first attempt, so 3 attempts is maxRetries {SYNC_RETRIES}")
    expect(retries == SYNC_RETRIES, f"maxRetries is {retries}, which makes {retries + 1} "
                                    f"attempts; 3 attempts is maxRetries {SYNC_RETRIES}")
    expect(interval is not None and abs(interval - SYNC_INTERVAL) < 1e-9,
           f"GET shows the interval {job['failurePolicy']['constant'].get('interval')!r}; "
           "0.5 s apart is \"interval\": \"0.5s\"")
    schedule = job.get("schedule")
    expect(schedule is not None, "it has no schedule, so it is a one-time job, which Dapr "
                                 "deletes once its attempts are used up: add \"schedule\": "
                                 "\"@every 1h\"")
    expect(schedule == "@every 1h", f"its schedule is {schedule!r}: give it \"@every 1h\" as "
                                    "asked, so that one tick falls in the lab")

    got = wait_until(lambda: len(triggers(handle, name)) >= 3, timeout=4.0)
    seen = triggers(handle, name)
    unanswered_stub(seen)
    if not got:
        if not seen:
            fail("no trigger arrived within 4 s: the first tick of \"@every 1h\" is an hour "
                 "away; add \"dueTime\": \"0s\" to fire it at once")
        if any(_done(t["status"]) for t in seen):
            fail(f"the handler answered {seen[-1]['status']} for {name}, so Dapr did not retry: "
                 "exercise 1's handler must answer what status_for(name, data) returns (503 "
                 "for sync jobs)")
        fail(f"only {len(seen)} attempt(s) arrived within 4 s; expected 3, 0.5 s apart")
    first = seen[0]["received"].timestamp()
    time.sleep(max(0.0, first + 2 * SYNC_INTERVAL + 0.9 - time.time()))  # a 4th would be in
    seen = triggers(handle, name)
    expect(len(seen) == 3, f"{len(seen)} attempts arrived; the policy allows 3: run the cell "
                           "again (it forgets earlier attempts) and then this check")


@exercise("04.4", title="one attempt per tick: the drop policy")
def drop_policy(*, handle: Any, name: str) -> None:
    port = handle.dapr_http_port
    job = job_or_none(name, port=port)
    if job is None and not triggers(handle, name):
        fail(f"there is no job {name!r}: POST it to /v1.0/jobs/{name} with the schedule, "
             "repeats and failure policy")
    if job is not None:
        kind, interval, retries = _policy(job)
        if kind != "drop" and retries != 0:
            if (interval, retries) == DEFAULT_POLICY:
                fail("GET shows Dapr's default policy (constant, 1 s, 3 retries): every failed "
                     "tick gets 4 attempts; send \"failurePolicy\": {\"drop\": {}}")
            fail(f"its policy {job.get('failurePolicy')} retries a failed tick; a refresh is "
                 "not worth retrying: send \"failurePolicy\": {\"drop\": {}}")
        expect(job.get("schedule") == REFRESH_SCHEDULE,
               f"its schedule is {job.get('schedule')!r}; the exercise asks for "
               f"{REFRESH_SCHEDULE!r}")
        expect(job.get("repeats") == REFRESH_REPEATS,
               f"GET shows repeats {job.get('repeats')!r}; give it \"repeats\": "
               f"{REFRESH_REPEATS}, so that it stops after 3 ticks")
        finished = wait_until(lambda: job_or_none(name, port=port) is None, timeout=4.0,
                              interval=0.1)
        expect(finished, f"{name} was still there after 4 s: with repeats 3 and "
                         f"{REFRESH_SCHEDULE} it is done after 1.5 s")
    seen = triggers(handle, name)
    unanswered_stub(seen)
    expect(len(seen) == REFRESH_REPEATS,
           f"{len(seen)} attempts arrived for 3 ticks; with drop each failed tick gets exactly "
           "one: run the cell again (it forgets earlier attempts) and then this check")


@exercise("04.5", title="an invoice delivered twice is paid once")
def idempotent(*, handle: Any, prefix: str, db: Any) -> None:
    port = handle.dapr_http_port
    crashing, plain = prefix + "charge-1", prefix + "charge-2"
    if not triggers(handle, crashing) and job_or_none(crashing, port=port) is None:
        fail("no charge job triggered: run the cell above that schedules them")
    finished = wait_until(lambda: _gone([crashing, plain], port), timeout=4.0, interval=0.1)
    seen = {name: triggers(handle, name) for name in (crashing, plain)}
    unanswered_stub(*seen.values())
    expect(finished, "the charge jobs were still retrying after 4 s: the repeat of a charge "
                     "must be answered 200, or Dapr keeps trying")
    for name, got in seen.items():
        expect(got, f"no trigger of {name} arrived: run the cell that schedules it")
        if not _done(got[-1]["status"]):
            fail(f"{name} ended with its last attempt failing: your handler "
                 f"{handler_answer(got[-1])}; a repeat of an invoice that is already paid is a "
                 "success: skip the payment and answer 200 (a unique key with INSERT OR "
                 "IGNORE, or a SELECT first in the same transaction)")
    if len(seen[crashing]) < 2:
        if _done(seen[crashing][0]["status"]):
            fail(f"the first answer about {crashing} is lost on purpose (status_for makes it "
                 f"500), but Dapr got {seen[crashing][0]['status']}: exercise 1's handler must "
                 "answer what status_for(name, data) returns")
        fail(f"{crashing} was delivered once: run the cell that schedules the charge jobs "
             "again, then this check")
    invoices = {name: json.loads(got[0]["body"] or "null") for name, got in seen.items()}
    try:
        rows = db.execute("SELECT invoice, COUNT(*), SUM(amount) FROM payments "
                          "GROUP BY invoice").fetchall()
    except Exception as err:  # the table was changed or the connection closed
        raise Fail(f"could not read the payments table ({type(err).__name__}: {err}): run the "
                   "cell that creates it, and keep its columns") from None
    paid = {invoice: (count, total) for invoice, count, total in rows}
    for name, data in invoices.items():
        invoice, amount = data["invoice"], data["amount"]
        count, total = paid.get(invoice, (0, 0))
        delivered = len(seen[name])
        if count == 0:
            fail(f"{invoice} ({name}) was never paid: charge must insert a payments row the "
                 "first time an invoice arrives")
        if count > 1:
            fail(f"{invoice} was paid {count} times: {name} was delivered {delivered} times "
                 "(a lost answer makes Dapr retry) and each delivery paid again; remember "
                 "which invoices are paid, keyed by the invoice in the data, and skip a repeat")
        expect(total == amount, f"{invoice} was paid {total}, not its amount {amount}")
