"""Checks of lab 05, replicas (``solutions/05-replicas.ipynb``).

One app served as three replicas (``jobslab.serve(..., replicas=3)``):

- 05.1 one job for the three replicas: 6 ticks give 6 triggers (each tick once, never on two
  replicas; *which* replica gets which tick is not checked: real daprd rotates over three
  streams per sidecar, the stand-in over sidecars);
- 05.2 one replica stopped (app and sidecar): the ticks keep arriving, at the other two;
- 05.3 a one-time job falls due while no replica is connected: it is staged, and delivered
  once, late, when a replica starts again;
- 05.4 an idempotent reminder handler whose record of done work is in the database all
  replicas share: a delivery replayed on every replica sends one e-mail.

Counts come from the triggers ``jobslab.serve`` recorded (``POST`` requests only: the
``method`` column also holds a cron binding's ``OPTIONS`` probe). The rules are in
docs/dapr-behaviour.md (Replicas, Staging, When a sidecar counts as connected, At least once).
"""

from __future__ import annotations

import datetime as dt
import json
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

REPLICAS = 3
#: Exercise 1's job: every half second, six times.
REPORT_SCHEDULE, REPORT_REPEATS = "@every 0.5s", 6
#: Exercise 2: how many ticks of the steady job (every 0.5 s) the check waits for, and how long.
STEADY_TICKS, STEADY_WAIT = 5, 5.0
#: Exercise 3: a staged trigger arrives at least this many seconds after it fell due (the lab
#: asks to start a replica a second after it; one delivered on time is well under this).
STAGED_LATE = 0.5


# -- small private helpers ------------------------------------------------------------------

def _replicas(handle: Any) -> list[Any]:
    if handle is None or not getattr(handle, "replicas", None):
        raise Fail("pass the handle that jobslab.serve(...) returned (handle=handle); run the "
                   "serve cell above first")
    replicas = list(handle.replicas)
    if len(replicas) != REPLICAS:
        raise Fail(f"the app runs as {len(replicas)} replica(s); this lab needs three: run the "
                   "serve cell (replicas=3) again")
    return replicas


def _running_port(replicas: list[Any]) -> int:
    """The Dapr HTTP port of a running replica (any sidecar of the app-id answers the API)."""
    for replica in replicas:
        if replica.running:
            return int(replica.dapr_http_port)
    raise Fail("no replica runs, so no sidecar answers the Jobs API: start them again "
               "(for r in handle.replicas: r.start())")


def _posts(handle: Any, job: str) -> list[dict[str, Any]]:
    """The recorded triggers of ``job`` (POST requests), oldest first."""
    return [t for t in triggers(handle, job) if str(t.get("method", "POST")) == "POST"]


def _all_posts(handle: Any) -> list[dict[str, Any]]:
    frame = handle.triggers
    rows = [dict(row) for _, row in frame.iterrows()]
    return [t for t in rows if str(t.get("method", "POST")) == "POST"]








def _seconds_after(received: Any, due: Any) -> float:
    """``received - due`` in seconds; both UTC timestamps (pandas or datetime)."""
    def as_dt(value: Any) -> dt.datetime:
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if not isinstance(value, dt.datetime):
            raise Fail("pass the time the job falls due as due=due (run the cell that "
                       "schedules it)")
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    return (as_dt(received) - as_dt(due)).total_seconds()


# -- the exercises ----------------------------------------------------------------------------

@exercise("05.1", title="one job for three replicas: each of its 6 ticks triggered once")
def each_tick_once(*, handle: Any, name: str) -> None:
    replicas = _replicas(handle)
    port = _running_port(replicas)

    def copies() -> list[str]:  # jobs named after this one: one per replica?
        return sorted({str(t["job"]) for t in _all_posts(handle)
                       if t["job"] != name and str(t["job"]).startswith(name)})

    job = job_or_none(name, port=port)
    if job is None and not _posts(handle, name):
        wait_until(copies, timeout=1.0)  # one job per replica: their first ticks are near
        if copies():
            fail(f"you scheduled {', '.join(copies())} instead of one job {name!r}: the Jobs "
                 "API already sends each tick to one replica; one job per replica runs every "
                 "tick once per job")
        fail(f"there is no job {name!r} and none of its triggers arrived: POST it through the "
             "sidecar of one replica (handle.replicas[i].dapr_http_port) and check that the "
             "answer is 204")
    if job is not None:
        schedule = job.get("schedule")
        expect(schedule == REPORT_SCHEDULE,
               f"its schedule is {schedule!r}; every half second is {REPORT_SCHEDULE!r}")
        repeats = job.get("repeats")
        expect(repeats, f"it has no repeats, so it ticks until it is deleted: give it "
                        f"\"repeats\": {REPORT_REPEATS}")
        expect(repeats == REPORT_REPEATS, f"GET shows repeats {repeats!r}; 6 ticks is "
                                          f"\"repeats\": {REPORT_REPEATS}")

    def finished() -> bool:
        return (len(_posts(handle, name)) >= REPORT_REPEATS
                and job_or_none(name, port=port) is None)

    done = wait_until(finished, timeout=5.0, interval=0.1)
    seen = _posts(handle, name)
    if copies():
        fail(f"besides {name!r} you scheduled {', '.join(copies())}: one job per replica runs "
             "every tick once per job; the Jobs API already sends each tick of one job to one "
             "replica, so schedule it once")
    if len(seen) > REPORT_REPEATS:
        fail(f"{len(seen)} triggers arrived for {REPORT_REPEATS} ticks: the job was created "
             "more than once (\"overwrite\": true starts its count again), e.g. once per "
             "replica; schedule it once, through any one sidecar")
    expect(done, f"{len(seen)} of {REPORT_REPEATS} triggers arrived within 5 s and the job is "
                 "still there: run the cell again (it forgets earlier triggers), then this check")
    failed = [t for t in seen if not 200 <= int(t["status"]) < 300]
    expect(not failed, f"the app {handler_answer(failed[0]) if failed else ''} for a tick: run the "
                       "app cell again, unchanged")


@exercise("05.2", title="one replica stopped: the other two receive every tick")
def replica_down(*, handle: Any, name: str) -> None:
    replicas = _replicas(handle)
    half = [r.index for r in replicas
            if (r.server is None or not r.server.running)
            and r.sidecar is not None and r.sidecar.alive()]
    if half:
        fail(f"replica {half[0]}'s app server is down but its sidecar still runs: the sidecar "
             "stays connected and keeps getting its share of the ticks, which now fail; stop "
             "the whole replica with handle.replicas[i].stop()")
    stopped = [r.index for r in replicas if not r.running]
    if not stopped:
        fail("all three replicas still run: stop one, app and sidecar, as a crashed pod: "
             "handle.replicas[1].stop()")
    if len(stopped) == len(replicas):
        fail("every replica is stopped, so no sidecar of the app-id is connected and the ticks "
             "are staged, not delivered: stop exactly one (start the others with .start())")
    if len(stopped) > 1:
        fail(f"replicas {stopped} are stopped; stop exactly one (start the others again with "
             ".start())")
    port = _running_port(replicas)
    if job_or_none(name, port=port) is None:
        fail(f"there is no job {name!r}: run the cell above that schedules it (it ticks until "
             "the cleanup deletes it)")
    before = len(_posts(handle, name))
    wait_until(lambda: len(_posts(handle, name)) - before >= STEADY_TICKS,
               timeout=STEADY_WAIT)
    new = _posts(handle, name)[before:]
    on_stopped = [t for t in new if int(t["replica"]) in stopped]
    expect(not on_stopped, f"replica {stopped[0]} is stopped, yet it received a tick: stop it "
                           "with handle.replicas[i].stop()")
    expect(len(new) >= STEADY_TICKS,
           f"only {len(new)} tick(s) of {name!r} arrived in {STEADY_WAIT:g} s with replica "
           f"{stopped[0]} stopped; it ticks every 0.5 s: run the cell that schedules it, then "
           "stop one replica, then this check")


@exercise("05.3", title="due while no replica is connected: staged, delivered once on connect")
def staged(*, handle: Any, name: str, due: Any) -> None:
    replicas = _replicas(handle)
    now = dt.datetime.now(dt.UTC)
    until_due = max(0.0, -_seconds_after(now, due))
    arrived = wait_until(lambda: _posts(handle, name), timeout=until_due + 3.0)
    if not arrived:
        if not any(r.running for r in replicas):
            fail(f"no replica runs, so the trigger of {name!r} is still staged: start one "
                 "(e.g. handle.replicas[2].start()); the trigger is delivered when a sidecar "
                 "of the app-id connects")
        fail(f"no trigger of {name!r} arrived within {until_due + 3.0:.0f} s although a replica "
             "runs: run the exercise's cells again from the first")
    first = arrived[0]
    late = _seconds_after(first["received"], due)
    if late < STAGED_LATE:
        fail(f"it arrived on time ({max(late, 0.0):.1f} s after it fell due) at replica "
             f"{first['replica']}: a replica was still connected when it fell due, so nothing "
             "was staged; stop replica 0 too (the cell above left it running), wait until a "
             "second past due, and only then start one")
    wait_until(lambda: len(_posts(handle, name)) > 1, timeout=0.5)  # a second would be wrong
    seen = _posts(handle, name)
    expect(len(seen) == 1, f"it arrived {len(seen)} times: a staged trigger is delivered once, "
                           "when a replica connects; it is not lost, so do not schedule it "
                           "again")
    expect(200 <= int(first["status"]) < 300,
           f"the app {handler_answer(first)}: run the app cell again, unchanged")


@exercise("05.4", title="a reminder delivered on every replica is sent once", points=2)
def idempotent(*, handle: Any, name: str, outbox: Any, db: Any) -> None:
    import httpx

    replicas = _replicas(handle)
    arrived = wait_until(lambda: _posts(handle, name), timeout=4.0)
    expect(arrived, f"no trigger of {name!r} arrived within 4 s: run the cell above that "
                    "schedules it")
    assert arrived is not None
    unanswered_stub(arrived)
    first = arrived[0]
    data = json.loads(first["body"] or "null")
    order = data["order"]

    def sent(for_order: Any) -> int:
        try:
            return sum(1 for e in list(outbox) if str(e.get("order")) == str(for_order))
        except (TypeError, AttributeError):
            raise Fail("pass the outbox list of the app cell (outbox=outbox)") from None

    if not 200 <= int(first["status"]) < 300:
        fail(f"the first delivery of order {order}: your handler {handler_answer(first)}; Dapr "
             "retries anything but 2xx and 404: send the e-mail and answer 200")
    if sent(order) == 0:
        fail(f"no e-mail was sent for order {order}: call send_email(data['to'], "
             "data['order']) the first time an order's reminder arrives")
    if sent(order) > 1:
        fail(f"{sent(order)} e-mails for order {order} from {len(arrived)} delivery(ies): send "
             "one per delivery at most, and only the first time")

    def replay(replica: Any, body: str, job: str) -> dict[str, Any]:
        """POST the trigger straight to a replica's app, as its sidecar would."""
        if not replica.running:
            raise Fail(f"replica {replica.index} is stopped: run the cell above that starts "
                       "every replica, then the schedule cell and this check")
        before = len(_posts(handle, job))
        try:
            answer = httpx.post(f"http://127.0.0.1:{replica.app_port}/job/{job}", content=body,
                                headers={"content-type": "application/json"}, timeout=5)
        except httpx.HTTPError as err:
            raise Fail(f"replica {replica.index}'s app did not answer ({err}): run the cell "
                       "that starts every replica again") from None
        wait_until(lambda: len(_posts(handle, job)) > before, timeout=1.0)
        recorded = _posts(handle, job)[before:]
        return recorded[-1] if recorded else {"status": answer.status_code, "error": ""}

    def check_answer(got: dict[str, Any], where: str) -> None:
        if 200 <= int(got["status"]) < 300:
            return
        if "IntegrityError" in handler_raised(got):
            fail(f"a repeat of order {order} on {where}: your handler raised IntegrityError "
                 "on the duplicate key (so it answered 500, and Dapr would retry it): INSERT OR "
                 "IGNORE skips a duplicate; answer 200 for a repeat")
        fail(f"a repeat of order {order} on {where}: your handler {handler_answer(got)}; "
             "a repeat is work already done: skip it and answer 200 (Dapr retries anything "
             "but 2xx and 404)")

    here = next(r for r in replicas if r.index == int(first["replica"]))
    check_answer(replay(here, first["body"], name), f"the same replica ({here.index})")
    if sent(order) > 1:
        fail(f"delivering order {order} twice to replica {here.index} sent {sent(order)} "
             "e-mails: remember which orders were reminded (their key is data['order']) and "
             "skip one that was")
    for other in (r for r in replicas if r is not here):
        check_answer(replay(other, first["body"], name), f"replica {other.index}")
        if sent(order) > 1:
            fail(f"a repeat of order {order} on replica {here.index} was skipped, but one on "
                 f"replica {other.index} sent it again: your record is private to each "
                 "replica (like `mine`); keep it in db, which every replica shares")
    other_order = f"{order}-b"  # another order, to the same recipient
    body = json.dumps({"order": other_order, "to": data.get("to")})
    got = replay(replicas[(here.index + 1) % len(replicas)], body, f"{name}-b")
    expect(200 <= int(got["status"]) < 300,
           f"the first reminder for order {other_order}: your handler {handler_answer(got)}")
    expect(sent(other_order) == 1, f"order {other_order} got {sent(other_order)} e-mail(s) "
                                   "from its first delivery: the key of the work is the order "
                                   "(data['order']), not the recipient or the job")

    def rows(where: str, *args: Any) -> int:
        try:
            return int(db.execute(f"SELECT COUNT(*) FROM reminders_sent {where}",
                                  args).fetchone()[0])
        except Exception as err:  # the table was changed or the connection closed
            raise Fail(f"could not read the reminders_sent table ({type(err).__name__}: "
                       f"{err}): run the app cell again and keep its table") from None

    if rows("WHERE order_id = ?", str(order)) == 0:
        if rows(""):
            fail(f"reminders_sent has rows, but none whose order_id is {order!r}: record "
                 "str(data['order']), the key of the work, in order_id")
        fail(f"reminders_sent has no row for order {order}: the e-mail went once only because "
             "the three replicas share this kernel's memory; real replicas are separate "
             "processes: record the order in db (reminders_sent)")
