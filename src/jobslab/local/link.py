"""The sidecar's end of the Scheduler stream: RPCs, triggers, reconnect with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import JobslabError
from . import protocol

log = logging.getLogger("jobslab.sidecar.link")

#: daprd's deadline for one Jobs API call to the Scheduler, waiting for a connection included:
#: with the Scheduler down, daprd 1.18.3 answers after 30 s with 500 "failed to schedule job
#: due to: context deadline exceeded" (observed on the real binaries;
#: docs/dapr-behaviour.md#scheduler-unreachable).
RPC_TIMEOUT = 30.0
#: CPython's epoll selector rounds every timeout *up* to a whole millisecond, and for some
#: values twice (``ceil(t * 1e3) * 1e-3`` lands a hair above 9 ms, say, and epoll rounds that
#: up to 10): a timer armed for the exact fire time wakes 0-2 ms late before any OS wake-up
#: delay. A held trigger's timer is therefore armed this much early and the rest is waited
#: out with ``time.sleep`` (microsecond precision).
_EARLY_NS = 2_000_000


class RpcError(JobslabError):
    """An error from (or about) the Scheduler, with the gRPC code daprd would see."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _ConnectionLost(Exception):
    """The stream broke while a call waited for its reply; the call is sent again."""


Deliver = Callable[[str, str | None], Awaitable[bool]]


class SchedulerLink:
    def __init__(self, host: str, port: int, namespace: str, app_id: str,
                 deliver: Deliver) -> None:
        self.host = host
        self.port = port
        self.namespace = namespace
        self.app_id = app_id
        self.deliver = deliver
        self.connected = asyncio.Event()
        #: Set once the first connection was made (daprd's readiness needs it).
        self.ever_connected = False
        self.want_watch = False
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks_for: asyncio.StreamWriter | None = None
        #: Triggers waiting for their fire time: tid -> (their stream, timer).
        self._held: dict[int, tuple[asyncio.StreamWriter, asyncio.TimerHandle]] = {}
        self._acks: list[bytes] = []
        self.triggers = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for task in list(self._tasks):
            task.cancel()

    def watch(self) -> None:
        """Start receiving triggers (the app is ready)."""
        self.want_watch = True
        if self._writer is not None:
            self._writer.write(protocol.encode({"op": "watch"}))

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """One call to the Scheduler, as daprd makes it: wait for a connection, send, wait
        for the reply; a call whose connection is lost is sent again on the next one. All of
        it within :data:`RPC_TIMEOUT`, else ``DeadlineExceeded`` "context deadline exceeded"."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RPC_TIMEOUT
        while True:
            try:
                return await asyncio.wait_for(self._call_once(op, fields),
                                              max(deadline - loop.time(), 0.0))
            except TimeoutError:
                raise RpcError("DeadlineExceeded", "context deadline exceeded") from None
            except _ConnectionLost:
                continue

    async def _call_once(self, op: str, fields: dict[str, Any]) -> dict[str, Any]:
        await self.connected.wait()
        writer = self._writer
        assert writer is not None
        rid = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        writer.write(protocol.encode({"op": op, "id": rid, "ns": self.namespace,
                                      "app": self.app_id, **fields}))
        try:
            reply = await fut
        finally:
            self._pending.pop(rid, None)
        if not reply.get("ok"):
            raise RpcError(str(reply.get("code") or "Unknown"), str(reply.get("error") or ""))
        return reply

    async def _run(self) -> None:
        backoff = 0.05
        announced_down = False
        while True:
            try:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, limit=protocol.LINE_LIMIT)
            except OSError as exc:
                if not announced_down:
                    log.warning("scheduler %s not reachable (%s); retrying", self.address, exc)
                    announced_down = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            announced_down = False
            writer.write(protocol.encode({"op": "hello", "ns": self.namespace,
                                          "app": self.app_id}))
            if self.want_watch:
                writer.write(protocol.encode({"op": "watch"}))
            self._writer = writer
            self.ever_connected = True
            self.connected.set()
            log.info("connected to scheduler %s", self.address)
            try:
                await self._read(reader, writer)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                log.warning("scheduler stream error: %s", exc)
            finally:
                self.connected.clear()
                self._writer = None
                writer.close()
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(_ConnectionLost())
                log.warning("disconnected from scheduler %s; reconnecting", self.address)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            msg = await protocol.read_message(reader)
            if msg is None:
                return
            op = msg.get("op")
            if op == "trigger":
                self._hold(writer, msg)
                continue
            if op == "cancel":
                held = self._held.pop(int(msg["tid"]), None)
                if held is not None:
                    held[1].cancel()
                continue
            fut = self._pending.get(msg.get("id"))  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                fut.set_result(msg)

    def _hold(self, writer: asyncio.StreamWriter, msg: dict[str, Any]) -> None:
        """A trigger arrives ahead of its fire time (``at``, wall-clock ns): wait for it.
        The event loop's timer is armed :data:`_EARLY_NS` early, the rest is waited out
        exactly, so the app never sees a trigger before its time."""
        tid = int(msg["tid"])
        args = (writer, tid, str(msg["name"]), msg.get("data"))
        old = self._held.pop(tid, None)
        if old is not None:  # a tid of a Scheduler this sidecar was connected to before
            old[1].cancel()
        at = msg.get("at")
        if at is None:
            self._trigger(*args)
            return
        self._arm(int(at), args)

    def _arm(self, at: int, args: tuple[Any, ...]) -> None:
        wait = at - time.time_ns()
        if wait <= _EARLY_NS:
            self._due(at, args)
            return
        loop = asyncio.get_running_loop()
        handle = loop.call_at(loop.time() + (wait - _EARLY_NS) / 1e9, self._due, at, args)
        self._held[args[1]] = (args[0], handle)

    def _due(self, at: int, args: tuple[Any, ...]) -> None:
        writer, tid = args[0], args[1]
        self._held.pop(tid, None)
        if writer is not self._writer:
            return  # its stream is gone: the Scheduler sends the trigger again
        wait = at - time.time_ns()
        if wait > 2 * _EARLY_NS:
            self._arm(at, args)  # the wall clock was stepped back meanwhile
            return
        if wait > 0:
            time.sleep(wait / 1e9)  # at most _EARLY_NS; blocks the loop, but only this long
        self._trigger(*args)

    def _trigger(self, writer: asyncio.StreamWriter, tid: int, name: str,
                 data: str | None) -> None:
        """Start delivering a trigger and ack its result. ``deliver`` may return a future
        (the sidecar's does: the request to the app is already written), which needs no
        task of its own; anything else awaitable runs as a task."""
        self.triggers += 1
        try:
            result = self.deliver(name, data)
        except Exception:
            log.exception("delivering trigger of job %s failed", name)
            self._ack(writer, tid, False)
            return
        if isinstance(result, asyncio.Future):
            result.add_done_callback(lambda f: self._ack(
                writer, tid, not f.cancelled() and f.exception() is None and bool(f.result())))
            return
        task = asyncio.ensure_future(self._await_delivery(writer, tid, name, result))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_delivery(self, writer: asyncio.StreamWriter, tid: int, name: str,
                              result: Awaitable[bool]) -> None:
        try:
            ok = await result
        except Exception:
            log.exception("delivering trigger of job %s failed", name)
            ok = False
        self._ack(writer, tid, ok)

    def _ack(self, writer: asyncio.StreamWriter, tid: int, ok: bool) -> None:
        """Acks that complete in the same turn of the event loop go out in one write."""
        if writer is not self._writer or writer.is_closing():
            return  # that stream is gone; the Scheduler re-sends its triggers
        if self._acks_for is not writer:
            self._acks_for, self._acks = writer, []
        if not self._acks:
            asyncio.get_running_loop().call_soon(self._flush_acks)
        self._acks.append(b'{"op":"ack","tid":%d,"ok":%s}\n' % (tid, b"true" if ok else b"false"))

    def _flush_acks(self) -> None:
        writer, acks = self._acks_for, self._acks
        self._acks = []
        if acks and writer is not None and writer is self._writer and not writer.is_closing():
            writer.write(b"".join(acks))
