"""A small keep-alive HTTP/1.1 client for the sidecar → app channel.

Triggers are one short POST each; a general client (httpx) costs about 1 ms per call on
loopback (peers-and-perf.md §0), so the channel speaks just enough HTTP/1.1 itself:
Content-Length or chunked or read-to-close bodies, connection reuse, one retry when a reused
connection turns out to be stale.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import quote

#: Characters Go's URL path escaping leaves alone (besides letters and digits).
_PATH_SAFE = "-_.~$&+,/:;=@"


def job_path(name: str) -> str:
    """``/job/<name>`` with the name escaped as Go escapes a URL path (contract §5)."""
    return "/job/" + quote(name, safe=_PATH_SAFE.replace("/", ""))


class AppClient:
    def __init__(self, host: str, port: int, *, token: str | None = None,
                 max_idle: int = 64) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.max_idle = max_idle
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str | None = "application/json") -> int:
        """Send one request; return the status code. Raises ``OSError`` on connection errors."""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(body)}"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        if self.token:
            head.append(f"dapr-api-token: {self.token}")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body
        for attempt in range(2):
            reused = bool(self._idle)
            reader, writer = self._idle.pop() if reused else await asyncio.open_connection(
                self.host, self.port)
            try:
                writer.write(payload)
                status, keep = await self._read_response(reader, method)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                writer.close()
                if reused and attempt == 0:
                    continue  # a stale keep-alive connection: try a fresh one
                if isinstance(exc, OSError):
                    raise
                raise ConnectionError(f"bad response from the app: {exc}") from exc
            if keep and len(self._idle) < self.max_idle and not writer.is_closing():
                self._idle.append((reader, writer))
            else:
                writer.close()
            return status
        raise ConnectionError("unreachable")  # pragma: no cover

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, bool]:
        while True:
            line = await reader.readline()
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                raise ValueError(f"not an HTTP status line: {line[:80]!r}")
            status = int(parts[1])
            version = parts[0]
            headers: dict[bytes, bytes] = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n"):
                    break
                if not h:
                    raise asyncio.IncompleteReadError(b"", None)
                k, _, v = h.partition(b":")
                headers[k.strip().lower()] = v.strip()
            if 100 <= status < 200:
                continue  # 100 Continue and friends: the real answer follows
            break
        conn = headers.get(b"connection", b"").lower()
        keep = (version == b"HTTP/1.1" and conn != b"close") or conn == b"keep-alive"
        if method == "HEAD" or status in (204, 304):
            return status, keep
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                await reader.readexactly(size + 2)
            return status, keep
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            if length:
                await reader.readexactly(length)
            return status, keep
        with contextlib.suppress(OSError):
            await reader.read()  # body runs to the end of the connection
        return status, False


async def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does ``host:port`` accept a TCP connection?"""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True
