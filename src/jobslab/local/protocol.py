"""The wire between sidecars and the Scheduler: newline-delimited JSON over one TCP stream.

The sidecar opens the connection (as daprd opens its WatchJobs streams) and keeps it open,
reconnecting with backoff when it drops.

Sidecar → Scheduler::

    {"op":"hello","ns":NS,"app":APP}                      who is calling (first message)
    {"op":"watch"}                                        ready for triggers (app is up)
    {"op":"schedule","id":N,"ns","app","name","job":{…},"overwrite":bool}
    {"op":"get"|"delete","id":N,"ns","app","name"}
    {"op":"list","id":N,"ns":NS|null,"app":APP|null}      local-only inspection
    {"op":"records","id":N,"ns":NS|null,"app":APP|null,"name":NAME|null}
                                   stored jobs with their counters (``jobslab scheduler``)
    {"op":"delete_all","id":N,"ns":NS,"app":APP|null}    a namespace's jobs, or one app's
    {"op":"import","id":N,"records":[…]}                  jobs from ``scheduler export``
    {"op":"stats","id":N}
    {"op":"ack","tid":T,"ok":bool}                       result of trigger T

Scheduler → sidecar::

    {"id":N,"ok":true[,"job":{…}|"jobs":[…]|"stats":{…}|"records":[…]|"deleted":…
                      |"imported":N]}
    {"id":N,"ok":false,"code":"NotFound"|"AlreadyExists"|"Unknown","error":TEXT}
    {"op":"trigger","tid":T,"name":NAME,"data":TEXT|null,"at":NS}
                                   deliver to the app at NS (wall-clock ns; sent up to 20 ms
                                   ahead, never delivered before), then ack
    {"op":"cancel","tid":T}        the job was deleted or overwritten before T was due

``job`` objects use the Jobs API field names (``schedule``, ``repeats``, ``dueTime``, ``ttl``,
``data`` as protojson text, ``failurePolicy``). ``code`` names the gRPC status daprd would see.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

#: Longest line accepted: a 4 MiB body can grow when re-encoded, so leave room.
LINE_LIMIT = 64 * 1024 * 1024


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at end of stream."""
    line = await reader.readline()
    if not line:
        return None
    msg = json.loads(line)
    if not isinstance(msg, dict):
        raise ValueError("protocol message is not an object")
    return msg


def parse_address(address: str, default_port: int) -> tuple[str, int]:
    """``host:port`` (or ``host``) as Dapr's ``--scheduler-host-address`` takes it."""
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, default_port
    return host.strip("[]") or "127.0.0.1", int(port)
