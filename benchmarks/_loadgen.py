"""A small closed-loop HTTP/1.1 load generator on raw asyncio protocols.

Each of ``connections`` keep-alive connections sends one request, waits for the whole
response, sends the next (no pipelining), like Fortio in Dapr's perf runs. It parses just
the status line and ``Content-Length``. A general client (httpx.AsyncClient) tops out near
200 requests/s on a 2-core machine, so it would measure itself; this one does well over
10,000/s against a no-op server (see ``calibrate``), far above what it is used to measure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._http1 import message_end


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        found = message_end(self.buf)
        if found is None:
            return
        head, end = found
        self.buf = self.buf[end:]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(int(head[9:12]))

    async def request(self, payload: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(payload)
        return await self.waiter


def post(port: int, path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1") + body


async def run(port: int, payloads: Sequence[bytes], connections: int = 16,
              expect: int = 204) -> tuple[float, list[float]]:
    """Send every payload; return (requests/s, latencies in ms). Raises if any request did
    not get ``expect``."""
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(_Conn, "127.0.0.1", port))[1]
             for _ in range(connections)]
    todo = list(reversed(payloads))
    lat: list[float] = []
    bad: list[int] = []

    async def worker(conn: _Conn) -> None:
        clock = time.perf_counter
        while todo:
            payload = todo.pop()
            t = clock()
            status = await conn.request(payload)
            lat.append((clock() - t) * 1000)
            if status != expect:
                bad.append(status)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(payloads)} requests failed, e.g. {bad[:5]}")
    return len(payloads) / elapsed, lat


def calibrate(app_port: int, n: int = 20_000) -> float:
    """Requests/s of this generator against the no-op app (its own ceiling here)."""
    payloads = [post(app_port, "/calibrate", b"{}")] * n
    rate, _ = asyncio.run(run(app_port, payloads, expect=404))
    return rate
