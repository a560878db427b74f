"""The Scheduler: durable jobs, fire times, failure policy, staging and round-robin delivery.

Mirrors Dapr's Scheduler with go-etcd-cron inside (docs/dapr-behaviour.md#timing,
docs/dapr-behaviour.md#delivery, docs/dapr-behaviour.md#failure-policy; the moving parts:
docs/architecture.md#a-trigger):

- Jobs live in SQLite (:mod:`.store`); fire times come from :mod:`jobslab.schedules`.
- One heap of ``(next_ns, gen, ns, app, name)`` drives one asyncio timer: work per tick is
  O(log n) in the number of stored jobs, never a scan. Stale entries (deleted or overwritten
  jobs) are skipped when popped.
- A job has at most one trigger out at a time; its next tick is computed only when the result
  comes back, so triggers of one job run strictly one after another and missed ticks are
  caught up in immediate succession.
- Counter semantics of ``counter.go``: success (or exhausted retries, or ``drop``) completes the
  tick — ``count += 1``, ``last = tick``; a failure under ``constant`` retries at the previous
  attempt's time + interval.
- Each trigger goes to one watching connection of its (namespace, app-id), round-robin; with
  none, it is staged and sent when one starts watching. A connection that drops with triggers
  out has them re-sent elsewhere (at least once, as in Dapr).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import heapq
import itertools
import json
import logging
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import JobslabError
from ..schedules import JobTiming, ScheduleError
from . import DEFAULT_HOST, DEFAULT_SCHEDULER_PORT, protocol
from .jobbody import DEFAULT_POLICY, FailurePolicy, name_error
from .store import JobRecord, Key, Store

log = logging.getLogger("jobslab.scheduler")

STORE_FILE = "scheduler.db"
#: Triggers dispatched per timer callback before yielding to the event loop (catch-up).
_BATCH = 500
#: A trigger goes to its sidecar this long before its fire time, with the fire time in it
#: (``at``); the sidecar waits out the rest itself and only then calls the app, so no trigger
#: reaches an app before its time. On a loaded machine every process that has
#: to wake up at the fire time can be kept waiting for a few milliseconds by whatever runs on
#: the CPU; sending ahead takes the Scheduler's wake-up (and the hop to the sidecar) off the
#: path that decides lateness: only the sidecar's wake-up and the app's remain. A job deleted
#: or overwritten meanwhile has its trigger cancelled (``{"op":"cancel"}``).
_LEAD_NS = 20_000_000

AppKey = tuple[str, str]

#: The store keeps instants as int64 nanoseconds, which begin in 1677. A schedule that matches
#: nothing ticks at Go's zero time (year 1, ``GO_ZERO_NS``), which is stored as this earliest
#: instant instead: as long past, so the job still fires back to back, as on Dapr.
_EARLIEST_NS = -(1 << 63)


@lru_cache(maxsize=1024)
def _policy(text: str) -> FailurePolicy:
    return FailurePolicy.from_json(json.loads(text))


class RpcError(JobslabError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Connection:
    """One sidecar (or CLI) stream."""

    writer: asyncio.StreamWriter
    ns: str = "default"
    app: str = ""
    watching: bool = False
    inflight: dict[int, Key] = field(default_factory=dict)

    def send(self, msg: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(protocol.encode(msg))


@dataclass(eq=False)
class Active:
    """A job with a trigger out: sent to a connection (``tid``) or staged."""

    rec: JobRecord
    tid: int | None = None
    staged: bool = False
    conn: Connection | None = None


@dataclass
class _Pool:
    conns: list[Connection] = field(default_factory=list)
    turn: int = 0

    def next(self) -> Connection | None:
        if not self.conns:
            return None
        conn = self.conns[self.turn % len(self.conns)]
        self.turn += 1
        return conn


@dataclass
class Stats:
    created: int = 0
    triggered: int = 0
    failed: int = 0
    staged: int = 0
    redelivered: int = 0
    deleted: int = 0


class Scheduler:
    """Run with :meth:`start` then :meth:`serve_forever`; stop with :meth:`close`."""

    def __init__(self, state_dir: Path, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_SCHEDULER_PORT) -> None:
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self.store: Store | None = None
        self.server: asyncio.AbstractServer | None = None
        self.stats = Stats()
        self._heap: list[tuple[int, int, str, str, str]] = []
        self._active: dict[Key, Active] = {}
        self._pools: dict[AppKey, _Pool] = {}
        self._staged: dict[AppKey, deque[Key]] = {}
        self._conns: set[Connection] = set()
        self._tids = itertools.count(1)
        self._gen = 0
        self._timer: asyncio.TimerHandle | None = None
        self._armed: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- life cycle ------------------------------------------------------------------

    async def start(self, sock: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        self.store = Store(self.state_dir / STORE_FILE)
        self._gen = self.store.max_gen()
        self._heap = list(self.store.schedule_index())
        heapq.heapify(self._heap)
        log.info("loaded %d jobs from %s", len(self._heap), self.store.path)
        if sock is not None:
            self.server = await asyncio.start_server(self._handle, sock=sock,
                                                     limit=protocol.LINE_LIMIT)
        else:
            self.server = await asyncio.start_server(self._handle, self.host, self.port,
                                                     limit=protocol.LINE_LIMIT)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("scheduler listening on %s:%d", self.host, self.port)
        self._arm()

    async def serve_forever(self) -> None:
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    async def close(self) -> None:
        if self._timer:
            self._timer.cancel()
        if self.server:
            self.server.close()
        for conn in list(self._conns):
            conn.writer.close()
        if self.store:
            self.store.close()
            self.store = None

    # --- timer -----------------------------------------------------------------------

    def _push(self, rec: JobRecord) -> None:
        heapq.heappush(self._heap, (rec.next_ns, rec.gen, rec.ns, rec.app, rec.name))
        if self._armed is None or rec.next_ns < self._armed:
            self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._armed = None
        if not self._heap or self._loop is None:
            return
        when = self._heap[0][0]
        delay = max(0.0, (when - _LEAD_NS - time.time_ns()) / 1e9)
        self._timer = self._loop.call_at(self._loop.time() + delay, self._on_timer)
        self._armed = when

    def _on_timer(self) -> None:
        self._timer = None
        self._armed = None
        # Entries due within _LEAD_NS of this wake-up are sent now, each with its fire time.
        # Later ones wait for the next timer, so the loop serves I/O between.
        limit = time.time_ns() + _LEAD_NS
        done = 0
        while self._heap and self._heap[0][0] <= limit and done < _BATCH:
            next_ns, gen, ns, app, name = heapq.heappop(self._heap)
            self._fire((ns, app, name), gen, next_ns)
            done += 1
        self._arm()

    def _fire(self, key: Key, gen: int, next_ns: int) -> None:
        if key in self._active or self.store is None:
            return
        rec = self.store.get(key)
        if rec is None or rec.gen != gen or rec.next_ns != next_ns:
            return  # deleted, overwritten or rescheduled since this entry was pushed
        if next_ns - time.time_ns() > 2 * _LEAD_NS:
            # The wall clock was stepped back since the timer was armed: wait again.
            heapq.heappush(self._heap, (next_ns, gen, *key))
            return
        active = Active(rec)
        self._active[key] = active
        self._dispatch(active)

    # --- delivery --------------------------------------------------------------------

    def _dispatch(self, active: Active) -> None:
        rec = active.rec
        pool = self._pools.get((rec.ns, rec.app))
        conn = pool.next() if pool else None
        if conn is None:
            active.staged = True
            active.tid = None
            self._staged.setdefault((rec.ns, rec.app), deque()).append(rec.key)
            self.stats.staged += 1
            log.debug("staged %s: no sidecar of %s/%s connected", rec.name, rec.ns, rec.app)
            return
        tid = next(self._tids)
        active.tid = tid
        active.staged = False
        active.conn = conn
        conn.inflight[tid] = rec.key
        self.stats.triggered += 1
        conn.send({"op": "trigger", "tid": tid, "name": rec.name, "data": rec.data,
                   "at": rec.next_ns})

    def _withdraw(self, key: Key) -> None:
        """Forget the job's trigger out (the job was deleted or overwritten). Its sidecar
        drops it if it is still waiting for its fire time; one already on its way to the
        app completes, as in Dapr, and its ack is ignored."""
        active = self._active.pop(key, None)
        if active is None or active.tid is None or active.conn is None:
            return
        if active.conn.inflight.pop(active.tid, None) is not None:
            active.conn.send({"op": "cancel", "tid": active.tid})

    def _on_ack(self, conn: Connection, tid: int, ok: bool) -> None:
        key = conn.inflight.pop(tid, None)
        if key is None:
            return
        active = self._active.get(key)
        if active is None or active.tid != tid:
            return  # the job was deleted or overwritten meanwhile
        del self._active[key]
        self._complete(active.rec, ok)

    def _complete(self, rec: JobRecord, ok: bool) -> None:
        if not ok:
            self.stats.failed += 1
            policy = _policy(rec.policy)
            if policy.kind == "constant":
                attempts = rec.attempts + 1
                if policy.max_retries is None or attempts <= policy.max_retries:
                    nxt = rec.next_ns + max(0, policy.interval_ns or 0)
                    self._save(rec.advanced(attempts=attempts, next_ns=nxt))
                    return
        # The tick is done: it succeeded, was dropped, or ran out of retries.
        count = rec.count + 1
        nxt = rec.timing().next_ns(count, rec.tick_ns)
        if nxt is not None:
            nxt = max(nxt, _EARLIEST_NS)
        if nxt is None:
            assert self.store is not None
            self.store.delete(rec.key, rec.gen)
            self.stats.deleted += 1
            return
        self._save(rec.advanced(count=count, last_ns=rec.tick_ns, attempts=0, tick_ns=nxt,
                                next_ns=nxt))

    def _save(self, rec: JobRecord) -> None:
        assert self.store is not None
        self.store.update_counter(rec)
        self._push(rec)

    def _watch(self, conn: Connection) -> None:
        if conn.watching:
            return
        conn.watching = True
        app_key = (conn.ns, conn.app)
        self._pools.setdefault(app_key, _Pool()).conns.append(conn)
        log.info("sidecar of %s/%s is watching (%d connected)", conn.ns, conn.app,
                 len(self._pools[app_key].conns))
        queue = self._staged.pop(app_key, None)
        while queue:
            active = self._active.get(queue.popleft())
            if active is not None and active.staged:
                self._dispatch(active)

    def _drop(self, conn: Connection) -> None:
        self._conns.discard(conn)
        if conn.watching:
            pool = self._pools.get((conn.ns, conn.app))
            if pool and conn in pool.conns:
                pool.conns.remove(conn)
            log.info("sidecar of %s/%s disconnected", conn.ns, conn.app)
        conn.watching = False
        pending, conn.inflight = conn.inflight, {}
        for tid, key in pending.items():
            active = self._active.get(key)
            if active is not None and active.tid == tid:
                self.stats.redelivered += 1
                self._dispatch(active)

    # --- RPCs ------------------------------------------------------------------------

    def schedule(self, ns: str, app: str, name: str, job: dict[str, Any],
                 overwrite: bool) -> None:
        assert self.store is not None
        self._check_name(ns, app, name)
        try:
            timing = JobTiming.build(
                schedule=job.get("schedule"), due_time=job.get("dueTime"), ttl=job.get("ttl"),
                repeats=job.get("repeats"), created=time.time_ns(),
            )
        except ScheduleError as exc:
            raise RpcError("Unknown", f"job failed validation: {exc.message}") from None
        key = (ns, app, name)
        existing = self.store.get(key)
        if existing is not None and not overwrite:
            raise RpcError("AlreadyExists", f"job already exists: 'app||{ns}||{app}||{name}'")
        self._withdraw(key)
        first = timing.next_ns(0, None)
        if first is not None:
            first = max(first, _EARLIEST_NS)
        self.stats.created += 1
        # The first tick is already past the ttl: gone at once, though the POST succeeds
        # (docs/dapr-behaviour.md#auto-deletion).
        if first is None:
            self.store.delete(key)
            return
        policy = job.get("failurePolicy")
        policy_json = json.dumps(policy if policy else DEFAULT_POLICY.to_json(),
                                 separators=(",", ":"))
        self._gen += 1
        rec = JobRecord(
            ns=ns, app=app, name=name, gen=self._gen, schedule=job.get("schedule"),
            repeats=job.get("repeats"), due_time=job.get("dueTime"), ttl=job.get("ttl"),
            data=job.get("data"), policy=policy_json, start_ns=timing.start_ns,
            due_ns=timing.due_ns, exp_ns=timing.expiration_ns, count=0, last_ns=None,
            attempts=0, tick_ns=first, next_ns=first,
        )
        self.store.put(rec)
        self._push(rec)

    def _check_name(self, ns: str, app: str, name: str) -> None:
        """The Scheduler checks the key on every call, not only on schedule: a GET or DELETE
        of an invalid name is "job name is invalid", never "job not found"
        (docs/dapr-behaviour.md#job-names)."""
        problem = name_error(name, ns, app)
        if problem:
            raise RpcError("Unknown", problem)

    def get(self, ns: str, app: str, name: str) -> dict[str, Any]:
        assert self.store is not None
        self._check_name(ns, app, name)
        rec = self.store.get((ns, app, name))
        if rec is None:
            raise RpcError("NotFound", f"job not found: {name}")
        return job_view(rec)

    def delete(self, ns: str, app: str, name: str) -> bool:
        """Delete one job; True when it existed (``jobslab scheduler delete`` says which)."""
        assert self.store is not None
        self._check_name(ns, app, name)
        existed = self.store.delete((ns, app, name))
        if existed:
            self.stats.deleted += 1
        self._withdraw((ns, app, name))
        return existed

    def records(self, ns: str | None, app: str | None,
                name: str | None = None) -> list[dict[str, Any]]:
        """Stored jobs with their counters, every column as the store holds it (the
        ``jobslab scheduler list | get | export`` commands read these)."""
        assert self.store is not None
        if ns is not None and app is not None and name is not None:
            found = self.store.get((ns, app, name))
            return [] if found is None else [dataclasses.asdict(found)]
        return [dataclasses.asdict(rec) for rec in self.store.list(ns, app)]

    def delete_all(self, ns: str, app: str | None) -> list[Key]:
        """Delete every job of a namespace, or of one app-id in it (``dapr scheduler
        delete-all app/<app-id>`` deletes the etcd prefix ``app||<ns>||<app-id>||``)."""
        assert self.store is not None
        keys = [rec.key for rec in self.store.list(ns, app)]
        for key in keys:
            self.delete(*key)
        return keys

    def import_records(self, items: list[Any]) -> int:
        """Store jobs read from an export file, replacing jobs of the same key and leaving
        others alone (``dapr scheduler import`` puts the exported etcd keys back). Every
        record is checked before any is stored. Returns how many were stored."""
        assert self.store is not None
        checked = [_imported(item) for item in items]
        stored = 0
        for key, rec in checked:
            self._withdraw(key)
            if rec is None:  # finished already (past its ttl or repeats): nothing to fire
                self.store.delete(key)
                continue
            self._gen += 1
            rec = rec.advanced(gen=self._gen)
            self.store.put(rec)
            self._push(rec)
            stored += 1
        return stored

    def list(self, ns: str | None, app: str | None) -> list[dict[str, Any]]:
        assert self.store is not None
        out = []
        for rec in self.store.list(ns, app):
            view = job_view(rec)
            view.update(namespace=rec.ns, appID=rec.app, count=rec.count,
                        attempts=rec.attempts, nextAttempt=rec.next_ns,
                        staged=bool(self._active.get(rec.key)
                                    and self._active[rec.key].staged))
            out.append(view)
        return out

    def stats_view(self) -> dict[str, Any]:
        assert self.store is not None
        return {**self.stats.__dict__, "jobs": self.store.count(),
                "connections": len(self._conns), "active": len(self._active),
                "heap": len(self._heap),
                "watching": {f"{k[0]}/{k[1]}": len(p.conns) for k, p in self._pools.items()}}

    # --- connections -----------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Triggers are small writes: never let Nagle hold one for the peer's delayed ACK.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(writer)
        self._conns.add(conn)
        try:
            while True:
                try:
                    msg = await protocol.read_message(reader)
                except (ValueError, asyncio.LimitOverrunError) as exc:
                    log.warning("closing a connection that sent a bad message: %s", exc)
                    break
                if msg is None:
                    break
                self._on_message(conn, msg)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._drop(conn)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _on_message(self, conn: Connection, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "ack":
            self._on_ack(conn, int(msg["tid"]), bool(msg.get("ok")))
            return
        if op == "hello":
            conn.ns = str(msg.get("ns") or "default")
            conn.app = str(msg.get("app") or "")
            return
        if op == "watch":
            self._watch(conn)
            return
        rid = msg.get("id")
        try:
            reply = self._rpc(conn, op, msg)
        except RpcError as exc:
            conn.send({"id": rid, "ok": False, "code": exc.code, "error": exc.message})
            return
        except Exception as exc:  # never let one bad request take the scheduler down
            log.exception("rpc %s failed", op)
            conn.send({"id": rid, "ok": False, "code": "Internal", "error": str(exc)})
            return
        conn.send({"id": rid, "ok": True, **reply})

    def _rpc(self, conn: Connection, op: Any, msg: dict[str, Any]) -> dict[str, Any]:
        ns = str(msg.get("ns") or conn.ns)
        app = str(msg.get("app") if msg.get("app") is not None else conn.app)
        if op == "schedule":
            self.schedule(ns, app, str(msg["name"]), dict(msg.get("job") or {}),
                          bool(msg.get("overwrite")))
            return {}
        if op == "get":
            return {"job": self.get(ns, app, str(msg["name"]))}
        if op == "delete":
            return {"deleted": self.delete(ns, app, str(msg["name"]))}
        if op == "records":
            return {"records": self.records(msg.get("ns"), msg.get("app"), msg.get("name"))}
        if op == "delete_all":
            keys = self.delete_all(ns, msg.get("app"))
            return {"deleted": [list(key) for key in keys]}
        if op == "import":
            return {"imported": self.import_records(list(msg.get("records") or []))}
        if op == "list":
            return {"jobs": self.list(msg.get("ns"), msg.get("app"))}
        if op == "stats":
            return {"stats": self.stats_view()}
        raise RpcError("Unimplemented", f"unknown operation {op!r}")


def _imported(item: Any) -> tuple[Key, JobRecord | None]:
    """One record of ``import`` as a JobRecord (``gen`` still 0), or None when the job has
    no tick left. ``tick_ns``/``next_ns`` may be missing: the next tick after ``count``
    completed ones is then computed, as go-etcd-cron does from a counter."""
    try:
        if not isinstance(item, dict):
            raise TypeError("a record is not an object")

        def opt(field: str, kind: type) -> Any:
            value = item.get(field)
            return None if value is None else kind(value)

        key = (str(item["ns"]), str(item["app"]), str(item["name"]))
        problem = name_error(key[2], key[0], key[1])
        if problem:
            raise ValueError(problem)
        policy = item.get("policy") or DEFAULT_POLICY.to_json()
        policy_json = policy if isinstance(policy, str) else json.dumps(policy,
                                                                      separators=(",", ":"))
        _policy(policy_json)
        rec = JobRecord(
            ns=key[0], app=key[1], name=key[2], gen=0, schedule=opt("schedule", str),
            repeats=opt("repeats", int), due_time=opt("due_time", str), ttl=opt("ttl", str),
            data=opt("data", str), policy=policy_json, start_ns=int(item["start_ns"]),
            due_ns=opt("due_ns", int), exp_ns=opt("exp_ns", int),
            count=int(item.get("count") or 0), last_ns=opt("last_ns", int),
            attempts=int(item.get("attempts") or 0), tick_ns=0, next_ns=0,
        )
        if rec.schedule is None and rec.due_ns is None:
            raise ValueError("job must have either a due time or a schedule")
        rec.timing().parsed()  # a schedule the timer could not follow is refused here
        tick = opt("tick_ns", int)
        if tick is None:
            tick = rec.timing().next_ns(rec.count, rec.last_ns)
            if tick is None:
                return key, None
            tick = max(tick, _EARLIEST_NS)
        nxt = opt("next_ns", int)
        return key, rec.advanced(tick_ns=tick, next_ns=tick if nxt is None else nxt)
    except (KeyError, TypeError, ValueError, ScheduleError) as exc:
        what = getattr(exc, "message", None) or str(exc)
        raise RpcError("InvalidArgument", f"cannot import {item!r:.120}: {what}") from None


def job_view(rec: JobRecord) -> dict[str, Any]:
    """The job as GET shows it (fields in proto order; unset ones omitted)."""
    view: dict[str, Any] = {"name": rec.name}
    if rec.schedule is not None:
        view["schedule"] = rec.schedule
    if rec.repeats is not None:
        view["repeats"] = rec.repeats
    if rec.due_time is not None:
        view["dueTime"] = rec.due_time
    if rec.ttl is not None:
        view["ttl"] = rec.ttl
    if rec.data is not None:
        view["data"] = rec.data
    view["failurePolicy"] = json.loads(rec.policy)
    return view


async def run_scheduler(state_dir: Path, host: str, port: int, sock: Any = None,
                        ready: Any = None) -> None:
    """Run a Scheduler until cancelled (the ``jobslab scheduler serve`` command)."""
    sched = Scheduler(state_dir, host, port)
    await sched.start(sock)
    # Modules, the loaded heap and start-up garbage never die: move them out of the cyclic
    # GC's reach so an occasional full collection does not pause the timer for milliseconds.
    gc.collect()
    gc.freeze()
    if ready is not None:
        ready(sched)
    try:
        await sched.serve_forever()
    finally:
        await sched.close()
