"""A small keep-alive HTTP/1.1 client for the sidecar → app channel.

Triggers are one short POST each; a general client costs too much per call (measured here: a
sequential POST to a no-op app on loopback takes about 1 ms with ``httpx.AsyncClient`` and
about 0.2 ms with this client), so the channel speaks just enough HTTP/1.1 itself:
Content-Length or chunked or read-to-close bodies, connection reuse, one retry when a reused
connection turns out to be stale.

Connections form a pool of ``pool_size`` slots. A request takes an idle connection, else opens
one while a slot is free, else queues until a connection comes back, so a burst of thousands
of simultaneous triggers travels over ``pool_size`` connections instead of opening one each
(the app then accepts a handful of connections, not thousands). A request the app has not
answered within :data:`STUCK_AFTER` gives up its slot: slow handlers never hold the others
back for longer than that, and the pool grows as far as they need (as daprd's, which opens
a connection whenever none is idle).

Everything is callbacks, no task per request: :meth:`AppClient.submit` writes the request
at once when a connection is idle and returns a future; each connection is an
:class:`asyncio.Protocol` that parses the response straight from its buffer and hands its
connection to the next queued request the moment the response is complete.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from urllib.parse import quote

#: Characters Go's URL path escaping leaves alone (besides letters and digits).
_PATH_SAFE = "-_.~$&+,/:;=@"

#: A request unanswered for this long no longer counts against the pool size.
STUCK_AFTER = 0.025

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _TRAILER, _TO_EOF, _DONE = range(7)

#: ``(connection, status, keep_alive, error)`` when an exchange ends.
_OnDone = Callable[["_Conn", int, bool, "BaseException | None"], None]


def job_path(name: str) -> str:
    """``/job/<name>`` with the name escaped as Go escapes a URL path
    (docs/dapr-behaviour.md#the-request)."""
    return "/job/" + quote(name, safe=_PATH_SAFE.replace("/", ""))


class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request at a time, the response parsed as it comes."""

    def __init__(self, client: AppClient) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.stuck = False  # gave up its pool slot (see STUCK_AFTER)
        self.started = 0.0
        self.on_done: _OnDone | None = None
        self.buf = bytearray()
        self.state = _DONE
        self.method = ""
        self.status = 0
        self.keep = False
        self.remaining = 0

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.on_done is None:
            # Bytes nobody asked for (a 408 before the app closes an idle connection, say):
            # this connection cannot carry another request.
            self.close()
            return
        self.buf += data
        try:
            self._parse()
        except ValueError as exc:
            self.close()
            self._fail(exc)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.on_done is None:
            self.client._lost_idle(self)
        elif self.state == _TO_EOF:
            self._finish()  # the body ran to the end of the connection: done
        else:
            self._fail(ConnectionError(
                "the app closed the connection before answering" if exc is None
                else f"connection to the app lost: {exc}"))

    # --- one exchange ----------------------------------------------------------------

    def send(self, payload: bytes, method: str, on_done: _OnDone) -> None:
        """Write one request; ``on_done`` is called once when the exchange ends."""
        if self.closed or self.transport is None:
            raise ConnectionError("the connection to the app was closed")
        self.on_done = on_done
        self.started = self.client.loop.time()
        self.method = method
        self.state = _HEAD
        self.keep = False
        self.transport.write(payload)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def _finish(self) -> None:
        self.state = _DONE
        if self.buf:
            self.keep = False  # bytes past the response: not a connection to reuse
        done, self.on_done = self.on_done, None
        if done is not None:
            done(self, self.status, self.keep, None)

    def _fail(self, exc: BaseException) -> None:
        self.keep = False
        done, self.on_done = self.on_done, None
        if done is not None:
            done(self, 0, False, exc)

    def _parse(self) -> None:
        """Consume the buffer; returns as soon as the response is complete (the callback
        may already have sent the next request on this connection)."""
        buf = self.buf
        while True:
            state = self.state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                skip = 4
                lf = buf.find(b"\n\n")
                if lf >= 0 and (end < 0 or lf < end):
                    end, skip = lf, 2
                if end < 0:
                    return
                head = bytes(buf[:end])
                del buf[:end + skip]
                if self._head(head):
                    return
            elif state == _BODY:
                if len(buf) < self.remaining:
                    self.remaining -= len(buf)
                    buf.clear()
                    return
                del buf[:self.remaining]
                self._finish()
                return
            elif state == _CHUNK_SIZE:
                nl = buf.find(b"\n")
                if nl < 0:
                    return
                line = bytes(buf[:nl])
                del buf[:nl + 1]
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.state = _TRAILER
                else:
                    self.state, self.remaining = _CHUNK_DATA, size + 2
            elif state == _CHUNK_DATA:
                if len(buf) < self.remaining:
                    self.remaining -= len(buf)
                    buf.clear()
                    return
                del buf[:self.remaining]
                self.state = _CHUNK_SIZE
            elif state == _TRAILER:
                nl = buf.find(b"\n")
                if nl < 0:
                    return
                line = bytes(buf[:nl + 1])
                del buf[:nl + 1]
                if line in (b"\r\n", b"\n"):
                    self._finish()
                    return
            else:  # _TO_EOF (or _DONE): the rest is body, or nothing we asked for
                buf.clear()
                return

    def _head(self, head: bytes) -> bool:
        """Take the status line and headers; True when the response is complete."""
        lines = head.split(b"\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError(f"not an HTTP status line: {lines[0][:80]!r}")
        status = int(parts[1])
        if 100 <= status < 200:
            return False  # 100 Continue and friends: the real answer follows
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower()] = v.strip()
        conn = headers.get(b"connection", b"").lower()
        self.status = status
        self.keep = (parts[0] == b"HTTP/1.1" and conn != b"close") or conn == b"keep-alive"
        if self.method == "HEAD" or status in (204, 304):
            self._finish()
            return True
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self.state = _CHUNK_SIZE
        elif b"content-length" in headers:
            self.remaining = int(headers[b"content-length"])
            self.state = _BODY
            if not self.remaining:
                self._finish()
                return True
        else:
            self.state = _TO_EOF  # body runs to the end of the connection
            self.keep = False
        return False


class _Request:
    __slots__ = ("fut", "method", "payload", "retried")

    def __init__(self, payload: bytes, method: str, fut: asyncio.Future[int]) -> None:
        self.payload = payload
        self.method = method
        self.fut = fut
        self.retried = False


class AppClient:
    def __init__(self, host: str, port: int, *, token: str | None = None,
                 pool_size: int = 64) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.pool_size = pool_size
        self._idle: list[_Conn] = []
        self._busy: set[_Conn] = set()
        self._slots = 0  # connections opening, idle, or busy and not stuck
        self._queue: deque[_Request] = deque()
        self._opening: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.opened = 0  # connections opened so far

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for task in list(self._opening):
            task.cancel()
        queued, self._queue = self._queue, deque()
        for req in queued:
            if not req.fut.done():
                req.fut.set_exception(ConnectionError("the app client was closed"))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def submit(self, method: str, path: str, body: bytes = b"",
               content_type: str | None = "application/json") -> asyncio.Future[int]:
        """Start one request (written at once when a connection is idle); the future gives
        the status code, or raises ``OSError`` on connection errors."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n" \
               f"Content-Length: {len(body)}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        if self.token:
            head += f"dapr-api-token: {self.token}\r\n"
        payload = (head + "\r\n").encode("latin-1", "replace") + body
        req = _Request(payload, method, self.loop.create_future())
        self._dispatch(req)
        return req.fut

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str | None = "application/json") -> int:
        """Send one request; return the status code. Raises ``OSError`` on connection errors."""
        return await self.submit(method, path, body, content_type)

    # --- the pool --------------------------------------------------------------------

    def _dispatch(self, req: _Request) -> None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                self._send(conn, req, reused=True)
                return
        if self._slots < self.pool_size and not self._queue:
            self._slots += 1
            self._open(req)
            return
        self._queue.append(req)
        self._arm()

    def _open(self, req: _Request) -> None:
        """Open a connection for ``req`` (its slot is already counted)."""
        task = self.loop.create_task(self._connect(req))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _connect(self, req: _Request) -> None:
        try:
            _, conn = await self.loop.create_connection(lambda: _Conn(self), self.host,
                                                        self.port)
        except OSError as exc:
            self._slots -= 1
            if not req.fut.done():
                req.fut.set_exception(exc)
            self._wake()
            return
        except BaseException:
            self._slots -= 1
            req.fut.cancel()
            raise
        self.opened += 1
        self._send(conn, req, reused=False)

    def _send(self, conn: _Conn, req: _Request, *, reused: bool) -> None:
        if req.fut.done():  # cancelled while it waited: nothing to send
            self._release(conn, True)
            return
        self._busy.add(conn)

        def done(conn: _Conn, status: int, keep: bool, exc: BaseException | None) -> None:
            self._done(conn, req, reused, status, keep, exc)

        try:
            conn.send(req.payload, req.method, done)
        except ConnectionError as exc:
            self._done(conn, req, reused, 0, False, exc)

    def _done(self, conn: _Conn, req: _Request, reused: bool, status: int, keep: bool,
              exc: BaseException | None) -> None:
        if exc is None:
            self._release(conn, keep)
            if not req.fut.done():
                req.fut.set_result(status)
            return
        self._discard(conn)
        if reused and not req.retried:
            # A stale keep-alive connection: try once more on a fresh one.
            req.retried = True
            self._slots += 1
            self._open(req)
            return
        if not req.fut.done():
            req.fut.set_exception(
                exc if isinstance(exc, OSError)
                else ConnectionError(f"bad response from the app: {exc}"))

    def _release(self, conn: _Conn, keep: bool) -> None:
        """An exchange ended well: the connection serves the next queued request, or
        waits idle, or (not reusable) closes."""
        self._busy.discard(conn)
        if conn.stuck:
            conn.stuck = False
            self._slots += 1
        if keep and not conn.closed and conn.state == _DONE and not conn.buf:
            while self._queue:
                req = self._queue.popleft()
                if not req.fut.done():
                    self._send(conn, req, reused=True)
                    return
            if len(self._idle) < self.pool_size:
                self._idle.append(conn)
                return
        conn.close()
        self._slots -= 1
        self._wake()

    def _discard(self, conn: _Conn) -> None:
        self._busy.discard(conn)
        conn.close()
        if conn.stuck:
            conn.stuck = False
        else:
            self._slots -= 1
            self._wake()

    def _lost_idle(self, conn: _Conn) -> None:
        """An idle connection was closed (by the app, or by us)."""
        if conn in self._idle:
            self._idle.remove(conn)
            self._slots -= 1
            self._wake()

    def _wake(self) -> None:
        """Open connections for queued requests while slots are free."""
        while self._queue and self._slots < self.pool_size:
            req = self._queue.popleft()
            if not req.fut.done():
                self._slots += 1
                self._open(req)

    def _arm(self) -> None:
        """Check for stuck requests when the oldest one in flight reaches STUCK_AFTER."""
        if self._timer is None:
            oldest = min((c.started for c in self._busy if not c.stuck),
                         default=self.loop.time())
            self._timer = self.loop.call_at(oldest + STUCK_AFTER, self._check_stuck)

    def _check_stuck(self) -> None:
        """Requests unanswered for :data:`STUCK_AFTER` give up their slots."""
        self._timer = None
        limit = self.loop.time() - STUCK_AFTER
        for conn in self._busy:
            if not conn.stuck and conn.started <= limit:
                conn.stuck = True
                self._slots -= 1
        self._wake()
        if self._queue:
            self._arm()


async def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does ``host:port`` accept a TCP connection?"""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True
