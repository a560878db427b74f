"""``bindings.cron`` input bindings, fired by each sidecar on its own
(docs/dapr-behaviour.md#cron-bindings).

Components are Dapr YAML (``kind: Component``, ``spec.type: bindings.cron``) in
``--resources-path``. The schedule uses the binding's parser (5 or 6 fields, ``@every``,
TZ prefixes) in the sidecar's local time zone. Every replica fires every tick — unlike a job —
which is the contrast the lessons draw.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ..errors import JobslabError
from ..schedules import Schedule, ScheduleError, parse
from .appclient import AppClient

log = logging.getLogger("jobslab.sidecar.bindings")


class ComponentError(JobslabError, ValueError):
    """A component file the sidecar cannot load; the message names the file."""


@dataclass(frozen=True)
class CronBinding:
    name: str
    schedule: str
    route: str
    source: Path
    #: ``direction`` metadata (``input``, ``output`` or both): with ``input`` daprd skips the
    #: OPTIONS probe and calls the app.
    direction: str = ""

    def parsed(self) -> Schedule:
        return parse(self.schedule, seconds_optional=True)


def local_zone() -> ZoneInfo | None:
    """The sidecar's local zone (``$TZ``, else ``/etc/localtime``); None means UTC."""
    candidates = []
    if os.environ.get("TZ"):
        candidates.append(os.environ["TZ"].lstrip(":"))
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def load_components(paths: list[Path]) -> list[CronBinding]:
    """Every ``bindings.cron`` component under ``paths`` (other kinds are skipped)."""
    found: list[CronBinding] = []
    for base in paths:
        files = sorted(base.glob("*.y*ml")) if base.is_dir() else [base]
        for file in files:
            try:
                docs = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
            except (OSError, yaml.YAMLError) as exc:
                raise ComponentError(f"{file}: cannot read component: {exc}") from None
            for doc in docs:
                binding = _binding(doc, file)
                if binding is not None:
                    found.append(binding)
    return found


def _binding(doc: Any, file: Path) -> CronBinding | None:
    if not isinstance(doc, dict) or doc.get("kind") != "Component":
        return None
    spec = doc.get("spec") or {}
    if spec.get("type") != "bindings.cron":
        return None
    name = str((doc.get("metadata") or {}).get("name") or "")
    if not name:
        raise ComponentError(f"{file}: a component needs metadata.name")
    meta = {str(m.get("name")): str(m.get("value", "")) for m in spec.get("metadata") or []
            if isinstance(m, dict)}
    schedule = meta.get("schedule", "")
    if not schedule:
        raise ComponentError(f"{file}: cron binding {name!r} needs a 'schedule' metadata item")
    try:
        parse(schedule, seconds_optional=True)
    except ScheduleError as exc:
        raise ComponentError(f"{file}: cron binding {name!r}: {exc.message}") from None
    route = meta.get("route") or f"/{name}"
    if not route.startswith("/"):
        route = "/" + route
    return CronBinding(name, schedule, route, file, meta.get("direction", ""))


async def run_binding(binding: CronBinding, client: AppClient,
                      fired: list[tuple[str, int]] | None = None) -> None:
    """Fire ``binding`` at every tick until cancelled: ``POST <route>``, empty body."""
    # daprd probes the route once: only 2xx or 405 means the app takes the binding; any other
    # answer (or none) and the binding never calls the app (checked on daprd 1.18.3). With
    # ``direction: input`` it takes the app's subscription for granted.
    if "input" in binding.direction.lower():
        return await _fire(binding, client, fired)
    try:
        status = await client.request("OPTIONS", binding.route, b"", content_type=None)
        log.info("cron binding %s: OPTIONS %s -> %d", binding.name, binding.route, status)
    except OSError as exc:
        log.warning("cron binding %s: app not reachable for OPTIONS: %s", binding.name, exc)
        return
    if not (200 <= status < 300 or status == 405):
        log.warning("cron binding %s: the app answered OPTIONS %s with %d, so it does not take "
                    "this binding (2xx or 405 would); no fires", binding.name, binding.route,
                    status)
        return
    await _fire(binding, client, fired)


async def _fire(binding: CronBinding, client: AppClient,
                fired: list[tuple[str, int]] | None) -> None:
    """POST the route at every tick of the binding's schedule, in the sidecar's local time."""
    zone = local_zone()
    sched = binding.parsed()
    last = time.time_ns()
    while True:
        nxt = sched.next_ns(last, default_zone=zone)
        if nxt is None:
            return
        await asyncio.sleep(max(0.0, (nxt - time.time_ns()) / 1e9))
        while time.time_ns() < nxt:
            await asyncio.sleep(0.0005)
        last = nxt
        try:
            status = await client.request("POST", binding.route, b"")
        except OSError as exc:
            log.error("cron binding %s: app unreachable: %s", binding.name, exc)
            continue
        if fired is not None:
            fired.append((binding.name, status))
        if not 200 <= status < 300:
            log.error("cron binding %s: app returned %d (not retried)", binding.name, status)
