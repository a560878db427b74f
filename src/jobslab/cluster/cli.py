"""``jobslab cluster up|down|status|forward``: flags in, library calls out, lines printed."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .. import paths, pins, settings
from ..errors import BackendError
from ..processes.runner import Runner
from .kind import KindCluster
from .manifests import app_selector, deployment_name
from .portforward import PortForward, PortForwardManager, cleanup_stale, recorded
from .progress import ICONS, Progress


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cluster = sub.add_parser(
        "cluster", help="the kind backend: real Dapr 1.18.3 in a kind cluster",
        description=f"A kind cluster ({pins.KIND_VERSION}, Kubernetes "
        f"{pins.KUBERNETES_VERSION}) with Dapr {pins.DAPR_CHART_VERSION} installed by Helm.")
    verbs = cluster.add_subparsers(dest="cluster_command", metavar="VERB")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=help, description=help)
        parser.add_argument("--name", default=pins.CLUSTER_NAME,
                            help=f"kind cluster name (default {pins.CLUSTER_NAME})")
        return parser

    verb("up", "create the kind cluster and install Dapr (idempotent)").set_defaults(func=_up)
    verb("down", "delete the kind cluster").set_defaults(func=_down)
    verb("status", "show the cluster, the Dapr release and the handler replicas"
         ).set_defaults(func=_status)
    fwd = verb("forward", "port-forward each replica's sidecar to 127.0.0.1 until Ctrl-C, "
               "restarting forwards that die; --stop stops forwards left by dead kernels")
    fwd.add_argument("--app-id", help="the app whose replicas to forward (not with --stop)")
    fwd.add_argument("--dapr-http-port", type=int, default=settings.DAPR_HTTP_PORT,
                     help="local port of replica 0; replica i gets this + i (default 3500)")
    fwd.add_argument("--stop", action="store_true",
                     help="stop the port-forwards recorded in the state dir whose kernel (or "
                     "terminal) is gone, and list those still in use")
    fwd.add_argument("--state-dir", default=None,
                     help="pidfiles and logs (default $JOBSLAB_HOME, else .jobslab/)")
    fwd.set_defaults(func=_forward)
    cluster.set_defaults(func=lambda _args: cluster.print_help() or 2)


def _fail(exc: Exception) -> int:
    print(f"{ICONS['fail']}  {exc}", file=sys.stderr)
    return 1


def _up(args: argparse.Namespace) -> int:
    return _call(lambda: KindCluster(args.name, progress=Progress(print)).up())


def _down(args: argparse.Namespace) -> int:
    return _call(lambda: KindCluster(args.name, progress=Progress(print)).down())


def _call(action: Callable[[], object]) -> int:
    try:
        action()
    except BackendError as exc:
        return _fail(exc)
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        status = KindCluster(args.name, progress=Progress(print)).status()
    except BackendError as exc:
        return _fail(exc)
    if not status.exists:
        print(f"{ICONS['info']}  no kind cluster {status.name}; create it with "
              "`jobslab cluster up`")
        return 1
    print(f"cluster   {status.name} (kubectl context {status.context})")
    rel = status.release
    print(f"dapr      {'not installed' if rel is None else f'{rel.chart} ({rel.status})'}")
    for w in status.workloads:
        print(f"  {w.kind}/{w.name:<24} {w.ready}/{w.desired} ready")
    for w in status.apps:
        print(f"app       {w.kind}/{w.name:<24} {w.ready}/{w.desired} ready")
    print(f"{ICONS['ok' if status.ready else 'warn']}  "
          f"{'ready' if status.ready else 'not ready: run `jobslab cluster up`'}")
    return 0 if status.ready else 1


def _forward(args: argparse.Namespace) -> int:
    pid_dir = paths.state_dir(args.state_dir) / "kind"
    if args.stop:
        return _stop_forwards(pid_dir)
    if not args.app_id:
        print(f"{ICONS['fail']}  say which app to forward (--app-id ID), or pass --stop",
              file=sys.stderr)
        return 2
    cleanup_stale(pid_dir)
    runner = Runner()
    cluster = KindCluster(args.name, runner=runner, progress=Progress(print))
    manager = PortForwardManager(runner)
    try:
        result = runner.run(cluster.kubectl(
            "get", "deployments", "--namespace", pins.APP_NAMESPACE, "--output", "json",
            "--selector", app_selector(args.app_id)), timeout=60, what="listing replicas")
        names = {i["metadata"]["name"] for i in json.loads(result.stdout).get("items", [])}
        replicas = sum(1 for i in range(len(names)) if deployment_name(args.app_id, i) in names)
        if not replicas:
            print(f"{ICONS['fail']}  no replicas of {args.app_id} in cluster {args.name}; "
                  "deploy them with jobslab.serve(...) first", file=sys.stderr)
            return 1
        for i in range(replicas):
            port = args.dapr_http_port + i
            fwd = manager.add(PortForward(
                runner, f"deployment/{deployment_name(args.app_id, i)}", port,
                context=cluster.context, log_path=pid_dir / f"port-forward-{port}.log",
                pid_dir=pid_dir))
            print(f"{ICONS['ok']}  replica {i}: http://127.0.0.1:{fwd.local_port} -> "
                  f"{fwd.target}:{fwd.remote_port}")
        print(f"{ICONS['info']}  forwarding until Ctrl-C (forwards that die are restarted)")
        threading.Event().wait()
    except BackendError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
    return 0


def _stop_forwards(pid_dir: Path) -> int:
    freed = cleanup_stale(pid_dir) if pid_dir.is_dir() else []
    for port in freed:
        print(f"{ICONS['ok']}  stopped the port-forward on 127.0.0.1:{port} "
              "(its kernel is gone)")
    live = recorded(pid_dir) if pid_dir.is_dir() else []
    for info in live:
        print(f"{ICONS['info']}  127.0.0.1:{info.get('local_port')} -> {info.get('target')} "
              f"belongs to a running kernel or terminal (pid {info.get('owner_pid')}); stop "
              "it there (`handle.stop()`, Ctrl-C) or restart that kernel")
    if not freed and not live:
        print(f"{ICONS['info']}  no port-forwards recorded in {paths.display_path(pid_dir)}")
    return 0
