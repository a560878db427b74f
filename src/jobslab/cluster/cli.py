"""``jobslab cluster up|down|status|forward``: flags in, library calls out, lines printed."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable

from . import pins
from .kind import KindCluster
from .manifests import deployment_name
from .portforward import PortForward, PortForwardManager
from .progress import ICONS, Progress
from .runner import ClusterError, Runner


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
               "restarting forwards that die")
    fwd.add_argument("--app-id", required=True)
    fwd.add_argument("--dapr-http-port", type=int, default=pins.SIDECAR_HTTP_PORT,
                     help="local port of replica 0; replica i gets this + i (default 3500)")
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
    except ClusterError as exc:
        return _fail(exc)
    return 0


def _status(args: argparse.Namespace) -> int:
    try:
        status = KindCluster(args.name, progress=Progress(print)).status()
    except ClusterError as exc:
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
    runner = Runner()
    cluster = KindCluster(args.name, runner=runner, progress=Progress(print))
    manager = PortForwardManager(runner)
    try:
        result = runner.run(cluster.kubectl(
            "get", "deployments", "--namespace", pins.APP_NAMESPACE, "--output", "json",
            "--selector", f"app.kubernetes.io/instance={args.app_id},"
            "app.kubernetes.io/managed-by=jobslab"), timeout=60, what="listing replicas")
        names = {i["metadata"]["name"] for i in json.loads(result.stdout).get("items", [])}
        replicas = sum(1 for i in range(len(names)) if deployment_name(args.app_id, i) in names)
        if not replicas:
            print(f"{ICONS['fail']}  no replicas of {args.app_id} in cluster {args.name}; "
                  "deploy them with jobslab.serve(...) first", file=sys.stderr)
            return 1
        for i in range(replicas):
            fwd = manager.add(PortForward(
                runner, f"deployment/{deployment_name(args.app_id, i)}",
                args.dapr_http_port + i, context=cluster.context))
            print(f"{ICONS['ok']}  replica {i}: http://127.0.0.1:{fwd.local_port} -> "
                  f"{fwd.target}:{fwd.remote_port}")
        print(f"{ICONS['info']}  forwarding until Ctrl-C (forwards that die are restarted)")
        threading.Event().wait()
    except ClusterError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
    return 0
