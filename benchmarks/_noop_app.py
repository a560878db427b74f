"""The no-op app both sidecars deliver to: ``python benchmarks/_noop_app.py PORT``.

Answers every request ``200`` with an empty body, keep-alive, and records each ``/job/...``
request's path with the wall clock (``time.time_ns()``) at the moment it was parsed.
``GET /dump`` returns and clears ``{"recs": [[path, ns], ...], "accepts": N}``, where
``accepts`` counts the connections accepted since the previous dump that carried at least
one ``/job/`` request (the connections a sidecar opened to deliver triggers). Anything else
(``/dapr/config``, ``/dapr/subscribe`` that daprd asks for at start-up) gets ``404``.

No imports beyond the standard library, so it starts fast and costs the same for both
sidecars.
"""

import asyncio
import json
import sys
import time

from _http1 import message_end  # a sibling module: this file runs as a script

recs: list = []
accepts = 0

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class App(asyncio.Protocol):
    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.t = transport
        self.buf = b""
        self.counted = False

    def data_received(self, data):  # type: ignore[no-untyped-def]
        global accepts
        self.buf += data
        while True:
            found = message_end(self.buf)
            if found is None:
                return
            now = time.time_ns()
            head, end = found
            self.buf = self.buf[end:]
            path = head.split(b" ", 2)[1].decode("latin-1")
            if path.startswith("/job/"):
                recs.append((path[5:], now))
                if not self.counted:
                    self.counted = True
                    accepts += 1
                self.t.write(_OK)
            elif path == "/dump":
                body = json.dumps({"recs": recs, "accepts": accepts}).encode()
                recs.clear()
                accepts = 0
                self.t.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
            else:
                self.t.write(_NOT_FOUND)


async def main() -> None:
    srv = await asyncio.get_running_loop().create_server(App, "127.0.0.1", int(sys.argv[1]),
                                                         backlog=4096)
    await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
