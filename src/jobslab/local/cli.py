"""``jobslab up | down | status | run | jobs``, and ``scheduler serve`` (:func:`cmd_scheduler`).

``jobslab scheduler`` itself (the ``dapr scheduler`` look-alike) is :mod:`jobslab.schedulercli`;
``jobs`` is its deprecated predecessor, kept for one release.

The commands turn flags into calls on :mod:`.daemons`, :mod:`.scheduler` and
:mod:`.sidecar`, and print one line per fact, like the Dapr CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import state_dir as resolve_state_dir
from . import DEFAULT_HOST, DEFAULT_HTTP_PORT, DEFAULT_SCHEDULER_PORT, daemons, protocol

_EXAMPLES = {
    "up": """Examples:
  jobslab up                                  # 127.0.0.1:50006, state in .jobslab/
  jobslab up --scheduler-port 50007 --state-dir /tmp/lab2
""",
    "down": """Examples:
  jobslab down
  jobslab down --state-dir /tmp/lab2
""",
    "reset": """Examples:
  jobslab reset                               # between two workshop sessions
  jobslab reset --state-dir /tmp/lab2
(Stops every process recorded in the state dir — stand-in Scheduler and sidecars, real
`scheduler`/`daprd` of the self-hosted backend, port-forwards of kind — and deletes the
jobs, logs and pidfiles. A kind cluster is left alone: `jobslab cluster down` deletes it.)
""",
    "status": """Examples:
  jobslab status
  jobslab status --json
""",
    "run": """Examples:
  jobslab run --app-id myapp --app-port 8000 -- python app.py
  jobslab run -a myapp -p 8000 -H 3501 -- uvicorn app:app --port 8000
  jobslab run -a myapp                        # the sidecar only
  jobslab run -a myapp --resources-path ./components -- python app.py
""",
    "jobs": """Examples:
  jobslab scheduler list                      # instead of `jobslab jobs list`
  jobslab scheduler get app/myapp/myjob       # instead of `jobslab jobs get`
  jobslab scheduler delete app/myapp/myjob    # instead of `jobslab jobs delete`
""",
}

_FORMAT = argparse.RawDescriptionHelpFormatter


def add_commands(sub: Any) -> None:
    p = sub.add_parser("up", help="start the local Scheduler in the background (idempotent)",
                       epilog=_EXAMPLES["up"], formatter_class=_FORMAT)
    _state(p)
    p.add_argument("--scheduler-port", type=int, default=DEFAULT_SCHEDULER_PORT)
    p.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="stop every process jobslab started in this state dir",
                       epilog=_EXAMPLES["down"], formatter_class=_FORMAT)
    _state(p)
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("reset", help="stop everything and forget every job: a clean slate "
                       "between two demos", epilog=_EXAMPLES["reset"], formatter_class=_FORMAT)
    _state(p)
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("status", help="what is running, on which ports, where the logs are",
                       epilog=_EXAMPLES["status"], formatter_class=_FORMAT)
    _state(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    # The short letters are dapr/cli's (cmd/run.go): -a, -p, -H; -d is --components-path,
    # which Dapr keeps as a deprecated name of --resources-path.
    p = sub.add_parser("run", help="a sidecar for one app replica (and the app), like dapr run",
                       epilog=_EXAMPLES["run"], formatter_class=_FORMAT)
    _state(p)
    p.add_argument("-a", "--app-id", required=True,
                   help="the id for your application, used for service discovery")
    p.add_argument("-p", "--app-port", type=int, default=None,
                   help="the port your application is listening on")
    p.add_argument("-H", "--dapr-http-port", type=int, default=DEFAULT_HTTP_PORT,
                   help=f"the HTTP port for Dapr to listen on (default {DEFAULT_HTTP_PORT})")
    p.add_argument("--scheduler-host-address", default=None,
                   help="host:port of the Scheduler (default: the one `jobslab up` started, "
                        f"else 127.0.0.1:{DEFAULT_SCHEDULER_PORT})")
    p.add_argument("--resources-path", action="append", default=[], metavar="DIR",
                   help="a folder of component YAML files (bindings.cron); repeatable")
    p.add_argument("-d", "--components-path", action=_ComponentsPath, dest="resources_path",
                   metavar="DIR", help="deprecated: use --resources-path")
    p.add_argument("--app-channel-address", default=DEFAULT_HOST)
    p.add_argument("--dapr-listen-addresses", default=DEFAULT_HOST, dest="host",
                   help="bind address of the HTTP API (default 127.0.0.1)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="-- CMD ...: the app to start; the sidecar exits when it exits")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("jobs", help="deprecated: use `jobslab scheduler list | get | delete`",
                       epilog=_EXAMPLES["jobs"], formatter_class=_FORMAT)
    jsub = p.add_subparsers(dest="jobs_command", metavar="list|get|delete", required=True)
    for verb in ("list", "get", "delete"):
        q = jsub.add_parser(verb, epilog=_EXAMPLES["jobs"], formatter_class=_FORMAT)
        _state(q)
        q.add_argument("--scheduler-host-address", default=None)
        q.add_argument("--namespace", default=os.environ.get("NAMESPACE") or "default")
        if verb == "list":
            q.add_argument("--app-id", default=None, help="only this app-id (default: all)")
            q.add_argument("--json", action="store_true")
        else:
            q.add_argument("name")
            q.add_argument("--app-id", required=True)
        q.set_defaults(func=cmd_jobs)


class _ComponentsPath(argparse.Action):
    """``-d/--components-path``: appends to ``--resources-path``, with the warning pflag
    prints for a deprecated flag (dapr/cli cmd/run.go ``MarkDeprecated``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print('Flag --components-path has been deprecated, This flag is deprecated and will '
              'be removed in the future releases. Use "resources-path" flag instead',
              file=sys.stderr)
        getattr(namespace, self.dest).append(values)


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", default=None,
                   help="store, pidfiles and logs (default $JOBSLAB_HOME, else .jobslab/)")


def _setup_logging(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("jobslab")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _fail(message: str) -> int:
    print(f"jobslab: {message}", file=sys.stderr)
    return 1


def cmd_up(args: argparse.Namespace) -> int:
    state = resolve_state_dir(args.state_dir)
    try:
        started = daemons.start_scheduler(state, args.host, args.scheduler_port)
    except (OSError, RuntimeError) as exc:
        return _fail(str(exc))
    info = started.info
    verb = "already running" if started.already else "started"
    print(f"Scheduler {verb} on {info.address} (pid {info.pid})")
    print(f"Log: {info.log}")
    print(f"State: {state}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state = resolve_state_dir(args.state_dir)
    procs = daemons.running(state)
    if not procs:
        print("Nothing running")
        return 0
    # Sidecars first, then the scheduler they talk to.
    procs.sort(key=lambda p: p.name == "scheduler")
    failed = 0
    for info in procs:
        if daemons.stop(info):
            daemons.remove_pidfile(state, info.name, info.pid)
            print(f"Stopped {info.name} (pid {info.pid}, port {info.port})")
        else:
            failed += 1
            print(f"Could not stop {info.name} (pid {info.pid})", file=sys.stderr)
    return 1 if failed else 0


def cmd_reset(args: argparse.Namespace) -> int:
    state = resolve_state_dir(args.state_dir)
    stopped = daemons.reset(state)
    for info in stopped:
        what = info.get("name") or Path(info["pidfile"]).stem
        print(f"Stopped {what} (pid {info['pid']})")
    print(f"Reset {state}: nothing runs, no job is left"
          f"{'' if stopped else ' (nothing was running)'}.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = resolve_state_dir(args.state_dir)
    procs = daemons.running(state)
    if args.json:
        print(json.dumps({"state_dir": str(state),
                          "processes": [daemons.describe(p) for p in procs]}, indent=2))
        return 0
    print(f"State: {state}")
    if not procs:
        print("Nothing running (start the Scheduler with `jobslab up`)")
        return 0
    for info in procs:
        print(f"{info.name}: pid {info.pid}, {info.address}, log {info.log}")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from .scheduler import run_scheduler

    state = resolve_state_dir(args.state_dir)
    log_path = state / "scheduler.log"
    try:
        sock = daemons.bind_listen(args.host, args.port, "--port")
    except OSError as exc:
        return _fail(str(exc))
    _setup_logging(log_path)
    info = daemons.ProcessInfo("scheduler", os.getpid(), args.port, args.host, str(log_path),
                                 sys.argv, time.time())

    def ready(_: Any) -> None:
        daemons.write_pidfile(state, info)
        print(f"Scheduler listening on {args.host}:{args.port}", flush=True)
        print(f"Log: {log_path}", flush=True)

    try:
        return _run_until_signal(run_scheduler(state, args.host, args.port, sock, ready))
    finally:
        daemons.remove_pidfile(state, "scheduler", os.getpid())


def _run_until_signal(coro: Any) -> int:
    import signal

    async def main() -> int:
        task = asyncio.ensure_future(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return 0

    return asyncio.run(main())


def _scheduler_address(state: Path, explicit: str | None) -> str:
    if explicit:
        return explicit
    info = daemons.find(state, "scheduler")
    if info is not None:
        return info.address
    return f"127.0.0.1:{DEFAULT_SCHEDULER_PORT}"


def cmd_run(args: argparse.Namespace) -> int:
    from .bindings import ComponentError, load_components
    from .sidecar import SidecarOptions, run_sidecar

    state = resolve_state_dir(args.state_dir)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    opts = SidecarOptions(
        app_id=args.app_id, app_port=args.app_port, http_port=args.dapr_http_port,
        host=args.host, scheduler_address=_scheduler_address(state, args.scheduler_host_address),
        resources_paths=[Path(p) for p in args.resources_path],
        app_channel_address=args.app_channel_address,
    )
    try:
        load_components(opts.resources_paths)
    except ComponentError as exc:
        return _fail(str(exc))
    try:
        sock = daemons.bind_listen(args.host, args.dapr_http_port, "--dapr-http-port")
    except OSError as exc:
        return _fail(str(exc))
    name = f"sidecar-{args.app_id}-{args.dapr_http_port}"
    log_path = state / f"{name}.log"
    _setup_logging(log_path)
    info = daemons.ProcessInfo(name, os.getpid(), args.dapr_http_port, args.host,
                                 str(log_path), sys.argv, time.time())

    def ready(_: Any) -> None:
        daemons.write_pidfile(state, info)
        print(f"Sidecar {args.app_id} listening on {args.host}:{args.dapr_http_port} "
              f"(scheduler {opts.scheduler_address})", flush=True)
        print(f"Log: {log_path}", flush=True)

    try:
        return asyncio.run(run_sidecar(opts, sock, command or None, ready))
    except KeyboardInterrupt:
        return 130
    finally:
        daemons.remove_pidfile(state, name, os.getpid())


def rpc(address: str, op: str, **fields: Any) -> dict[str, Any]:
    """One request to the Scheduler over its stream protocol (for the CLI and tests)."""
    host, port = protocol.parse_address(address, DEFAULT_SCHEDULER_PORT)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(protocol.encode({"op": op, "id": 1, **fields}))
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the scheduler closed the connection")
            buf += chunk
    return json.loads(buf)


def cmd_jobs(args: argparse.Namespace) -> int:
    """``jobslab jobs list | get | delete``: kept for one release, as before."""
    instead = {"list": "list", "get": "get app/<app-id>/<name>",
               "delete": "delete app/<app-id>/<name>"}[args.jobs_command]
    print(f"jobslab: `jobslab jobs {args.jobs_command}` is deprecated and goes in the next "
          f"release; use `jobslab scheduler {instead}`", file=sys.stderr)
    state = resolve_state_dir(args.state_dir)
    address = _scheduler_address(state, args.scheduler_host_address)
    verb = args.jobs_command
    try:
        if verb == "list":
            reply = rpc(address, "list", ns=args.namespace, app=args.app_id)
        else:
            reply = rpc(address, verb, ns=args.namespace, app=args.app_id, name=args.name)
    except OSError as exc:
        return _fail(f"cannot reach the scheduler at {address} ({exc}); is `jobslab up` running?")
    if not reply.get("ok"):
        return _fail(reply.get("error", "failed"))
    if verb == "list":
        jobs = reply["jobs"]
        if args.json:
            print(json.dumps(jobs, indent=2))
        elif not jobs:
            print("No jobs")
        for job in ([] if args.json else jobs):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job["nextAttempt"] / 1e9))
            what = job.get("schedule") or f"dueTime {job.get('dueTime')}"
            print(f"{job['namespace']}/{job['appID']}/{job['name']}: {what}, "
                  f"ticks done {job['count']}, next {when}{' (staged)' if job['staged'] else ''}")
    elif verb == "get":
        print(json.dumps(reply["job"], indent=2))
    else:
        print(f"Deleted {args.name} (if it existed)")
    return 0
