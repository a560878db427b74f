"""Recording fakes of docker, kind, kubectl, helm, dapr, daprd and scheduler.

Invoked as ``fake_tool.py TOOL ARGS...`` by small wrappers the test fixture writes onto a
PATH of their own. Every call appends ``{"tool", "argv", "stdin"}`` as a JSON line to
``$FAKE_RECORD``. Behaviour comes from the JSON file ``$FAKE_STATE`` (read and written under
a lock, so concurrent fakes agree):

- ``docker_running``, ``versions`` (per tool), ``clusters``, ``releases`` (per kube context),
  ``deployments``, ``host_docker_internal``, ``gateway``, ``default_storage_class``;
- ``fail``: rules ``{"tool", "when": [tokens in argv], "rc", "stderr", "times", "partial"}``;
  a matching rule makes the call fail (``partial``: after doing half of its work);
- ``port_forward``: ``{"die_times": N, "die_after": seconds}`` — the first N port-forwards
  exit after that long, as one does when its pod is replaced;
- ``no_sidecar``: names of Deployments whose pods lack ``daprd`` (until a rollout restart);
- ``pods``: ``{"scheduler": "127.0.0.1:PORT"}`` turns pods on (off by default): each applied
  Deployment gets a "pod", a stand-in sidecar (``python -m jobslab run``) with the app id,
  app port and ``app-channel-address`` of its annotations; ``rollout status`` waits until that
  address accepts connections (as daprd's readiness does), ``port-forward`` relays to the pod
  and ``delete`` stops it. Each pod's ``app_listening_at_apply`` says whether the handler was
  already up when the Deployment was applied;
- ``components``: applied Dapr Components (``kind: Component``) by name, listed and deleted
  as ``components.dapr.io``. A pod loads, when it starts, the components whose ``scopes``
  name its app id (or that have no scopes), as daprd does: the stand-in gets them as its
  ``--resources-path``, and the pod records their names in ``components``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

DAPR_WORKLOADS = [
    ("StatefulSet", "dapr-scheduler-server", 3),
    ("StatefulSet", "dapr-placement-server", 1),
    ("Deployment", "dapr-sidecar-injector", 1),
    ("Deployment", "dapr-sentry", 1),
    ("Deployment", "dapr-operator", 1),
]


@contextlib.contextmanager
def state() -> Any:
    path = os.environ["FAKE_STATE"]
    with open(path + ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path) as fh:
            data = json.load(fh)
        yield data
        with open(path + ".tmp", "w") as fh:
            json.dump(data, fh)
        os.replace(path + ".tmp", path)


def record(tool: str, argv: list[str], stdin: str | None) -> None:
    line = json.dumps({"tool": tool, "argv": argv, "stdin": stdin, "t": time.time()})
    with open(os.environ["FAKE_RECORD"], "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(line + "\n")


#: Work to do after the state lock is released (a wait that must not block other fakes).
AFTER: list[Callable[[], int]] = []


def out(text: str = "", rc: int = 0, err: str = "") -> int:
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if err:
        sys.stderr.write(err if err.endswith("\n") else err + "\n")
    return rc


def failing_rule(st: dict[str, Any], tool: str, argv: list[str]) -> dict[str, Any] | None:
    for rule in st.get("fail", []):
        if rule["tool"] == tool and all(tok in argv for tok in rule.get("when", [])):
            rule["times"] = rule.get("times", 1) - 1
            if rule["times"] <= 0:
                st["fail"].remove(rule)
            return rule
    return None


def opt(argv: list[str], name: str, default: str | None = None) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


# ---- docker -------------------------------------------------------------------------------
def docker(argv: list[str], st: dict[str, Any]) -> int:
    if not st["docker_running"]:
        return out(rc=1, err="Cannot connect to the Docker daemon at "
                   "unix:///var/run/docker.sock. Is the docker daemon running?")
    if argv[:1] == ["info"]:
        return out(st["versions"]["docker"])
    if argv[:1] == ["exec"]:
        node = argv[1]
        if node.removesuffix("-control-plane") not in st["clusters"]:
            return out(rc=1, err=f"Error response from daemon: No such container: {node}")
        if "ip" in argv:
            return out(f"default via {st['gateway']} dev eth0")
        return out(st["host_docker_internal"])
    return out(rc=1, err=f"fake docker: unsupported {argv}")


# ---- kind ---------------------------------------------------------------------------------
def kind(argv: list[str], st: dict[str, Any]) -> int:
    if argv[:1] == ["version"]:
        return out(f"kind {st['versions']['kind']} go1.24.6 linux/amd64")
    if not st["docker_running"]:
        return out(rc=1, err="ERROR: failed to list clusters: command \"docker ps\" failed")
    if argv[:2] == ["get", "clusters"]:
        if not st["clusters"]:
            return out(err="No kind clusters found.")
        return out("\n".join(st["clusters"]))
    name = opt(argv, "--name", "kind")
    if argv[:2] == ["create", "cluster"]:
        if name in st["clusters"]:
            return out(rc=1, err=f'ERROR: failed to create cluster: node(s) already exist '
                       f'for a cluster with the name "{name}"')
        st["clusters"].append(name)
        return out(err=f'Creating cluster "{name}" ...\n ✓ Ensuring node image')
    if argv[:2] == ["delete", "cluster"]:
        if name in st["clusters"]:
            st["clusters"].remove(name)
        st["releases"].pop(f"kind-{name}", None)
        st["deployments"] = {}
        st["components"] = {}
        return out(err=f'Deleting cluster "{name}" ...')
    return out(rc=1, err=f"fake kind: unsupported {argv}")


# ---- helm ---------------------------------------------------------------------------------
def helm(argv: list[str], st: dict[str, Any]) -> int:
    if argv[:1] == ["version"]:
        return out(f"{st['versions']['helm']}+g0000000")
    if argv[:1] == ["repo"]:
        return out('"dapr" has been added to your repositories' if argv[1] == "add"
                   else "Update Complete. ⎈Happy Helming!⎈")
    ctx = opt(argv, "--kube-context")
    if ctx is None or ctx.removeprefix("kind-") not in st["clusters"]:
        return out(rc=1, err="Error: Kubernetes cluster unreachable")
    release = st["releases"].get(ctx)
    if argv[:1] == ["list"]:
        return out(json.dumps([release] if release else []))
    if argv[:1] == ["upgrade"]:
        version = opt(argv, "--version")
        st["releases"][ctx] = {"name": argv[2], "namespace": opt(argv, "--namespace"),
                               "status": "deployed", "chart": f"dapr-{version}",
                               "app_version": version}
        return out(f'Release "{argv[2]}" has been upgraded. Happy Helming!')
    if argv[:1] == ["uninstall"]:
        st["releases"].pop(ctx, None)
        return out(f'release "{argv[1]}" uninstalled')
    return out(rc=1, err=f"fake helm: unsupported {argv}")


# ---- kubectl ------------------------------------------------------------------------------
def items(kind_: str, objs: list[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})


def selected(labels: dict[str, str], selector: str | None) -> bool:
    if not selector:
        return True
    return all(labels.get(k) == v for k, v in (p.split("=", 1) for p in selector.split(",")))


def kubectl(argv: list[str], st: dict[str, Any], stdin: str | None) -> int:
    if argv[:1] == ["version"]:
        return out(json.dumps({"clientVersion": {"gitVersion": st["versions"]["kubectl"]}}))
    ctx = opt(argv, "--context")
    if ctx is None or ctx.removeprefix("kind-") not in st["clusters"]:
        return out(rc=1, err=f'error: context "{ctx}" does not exist')
    args = argv[2:] if argv[:1] == ["--context"] else argv
    verb = args[0]
    namespace = opt(args, "--namespace", "default")
    selector = opt(args, "--selector")
    deployments: dict[str, Any] = st["deployments"]
    if verb == "port-forward":
        st["_pf_die_after"] = port_forward_plan(st)
        name = args[-2].removeprefix("deployment/")
        st["_pf_pod_port"] = (deployments.get(name, {}).get("pod") or {}).get("port")
        return 0
    if verb == "get":
        what = args[1]
        if what == "storageclass":
            ann = ({"storageclass.kubernetes.io/is-default-class": "true"}
                   if st["default_storage_class"] else {})
            return out(items("StorageClass", [{"metadata": {"name": "standard",
                                                            "annotations": ann}}]))
        if namespace == "dapr-system":
            deployed = (st["releases"].get(ctx) or {}).get("status") == "deployed"
            objs = [{"kind": k, "metadata": {"name": n}, "spec": {"replicas": r},
                     "status": {"readyReplicas": r}} for k, n, r in DAPR_WORKLOADS
                    ] if deployed else []
            return out(items("List", objs))
        if what == "components.dapr.io":
            objs = [c["doc"] for c in st.get("components", {}).values()
                    if selected(c["labels"], selector)]
            return out(items("Component", objs))
        if what == "pods":
            pods = [{"metadata": {"name": f"{n}-abc"}, "spec": {"containers": [
                {"name": "placeholder"}] + ([] if n in st["no_sidecar"] else [{"name": "daprd"}])}}
                for n, d in deployments.items() if selected(d["labels"], selector)]
            return out(items("Pod", pods))
        objs = [{"kind": "Deployment", "metadata": {"name": n, "labels": d["labels"]},
                 "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}
                for n, d in deployments.items() if selected(d["labels"], selector)]
        return out(items("List", objs))
    if verb == "apply":
        import yaml

        lines = []
        for doc in yaml.safe_load_all(stdin or ""):
            name = doc["metadata"]["name"]
            if doc["kind"] == "Component":
                components = st.setdefault("components", {})
                verb_done = ("unchanged" if components.get(name, {}).get("doc") == doc
                             else "configured" if name in components else "created")
                components[name] = {"labels": doc["metadata"].get("labels", {}), "doc": doc}
                lines.append(f"component.dapr.io/{name} {verb_done}")
                continue
            verb_done = ("unchanged" if deployments.get(name, {}).get("doc") == doc
                         else "configured" if name in deployments else "created")
            stop_pod(deployments.get(name, {}))
            deployments[name] = {"labels": doc["metadata"]["labels"], "doc": doc}
            if st.get("pods"):
                deployments[name]["pod"] = start_pod(doc, st["pods"],
                                                     st.get("components", {}))
            lines.append(f"deployment.apps/{name} {verb_done}")
        return out("\n".join(lines))
    if verb == "rollout":
        target = args[2]
        if args[1] == "restart":
            st["no_sidecar"] = [n for n in st["no_sidecar"] if f"deployment/{n}" != target]
            return out(f"{target} restarted")
        pod = deployments.get(target.removeprefix("deployment/"), {}).get("pod")
        if pod:
            AFTER.append(lambda: wait_app(pod, target))
            return 0
        return out(f'{target} successfully rolled out')
    if verb == "wait":
        return out("pod/dapr-operator-abc condition met")
    if verb == "delete":
        names = [a for a in args[2:] if not a.startswith("-") and a not in
                 (namespace, selector)]
        if args[1] == "components.dapr.io":
            components = st.setdefault("components", {})
            for name in list(components):
                if name in names or (selector and selected(components[name]["labels"],
                                                           selector)):
                    del components[name]
                    print(f'component.dapr.io "{name}" deleted')
            return 0
        for name in list(deployments):
            if name in names or (selector and selected(deployments[name]["labels"], selector)):
                stop_pod(deployments.pop(name))
                print(f'deployment.apps "{name}" deleted')
        return 0
    return out(rc=1, err=f"fake kubectl: unsupported {argv}")


def port_forward_plan(st: dict[str, Any]) -> float | None:
    """Count this start; return after how many seconds it should die (None: never)."""
    pf = st.setdefault("port_forward", {})
    started = pf.get("started", 0)
    pf["started"] = started + 1
    return pf.get("die_after", 0.3) if started < pf.get("die_times", 0) else None


# ---- pods: stand-in sidecars for applied Deployments ----------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def start_pod(doc: dict[str, Any], pods: dict[str, Any],
              components: dict[str, Any]) -> dict[str, Any]:
    import yaml

    ann = doc["spec"]["template"]["metadata"]["annotations"]
    channel, app_port = ann["dapr.io/app-channel-address"], int(ann["dapr.io/app-port"])
    app_id, name = ann["dapr.io/app-id"], doc["metadata"]["name"]
    port = _free_port()
    loaded = {n: c["doc"] for n, c in components.items()
              if app_id in c["doc"].get("scopes", [app_id])}
    resources = os.environ["FAKE_RECORD"] + f".components-{name}-{port}"
    os.makedirs(resources)
    for component, obj in loaded.items():
        with open(os.path.join(resources, f"{component}.yaml"), "w") as fh:
            yaml.safe_dump(obj, fh)
    with open(os.environ["FAKE_RECORD"] + f".pod-{name}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobslab", "run", "--app-id", app_id,
             "--app-port", str(app_port), "--app-channel-address", channel,
             "--dapr-http-port", str(port), "--scheduler-host-address", pods["scheduler"],
             "--resources-path", resources],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    return {"pid": proc.pid, "port": port, "channel": channel, "app_port": app_port,
            "app_listening_at_apply": _accepts(channel, app_port),
            "components": sorted(loaded)}


def stop_pod(deployment: dict[str, Any]) -> None:
    pod = deployment.get("pod")
    if not pod:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pod["pid"], signal.SIGTERM)
    from jobslab.processes import pid_alive  # zombie-aware: pods are orphans

    deadline = time.monotonic() + 10
    while pid_alive(pod["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval of the deadline-bound wait above
    if not pid_alive(pod["pid"]):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pod["pid"], signal.SIGKILL)


def wait_app(pod: dict[str, Any], target: str, timeout: float = 20.0) -> int:
    """Ready once the sidecar reaches its app, as daprd's readiness does."""
    deadline = time.monotonic() + timeout
    while not (_accepts(pod["channel"], pod["app_port"]) and _accepts("127.0.0.1", pod["port"])):
        if time.monotonic() >= deadline:
            return out(rc=1, err=f"error: timed out waiting for the condition on {target}")
        time.sleep(0.05)  # poll interval of the deadline-bound wait above
    return out(f"{target} successfully rolled out")


def relay(conn: socket.socket, port: int) -> None:
    import threading

    try:
        upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        conn.close()
        return
    conn.settimeout(None)
    upstream.settimeout(None)

    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
    back.start()
    pump(conn, upstream)
    back.join(10)
    conn.close()
    upstream.close()


def port_forward_run(args: list[str], die_after: float | None,
                     pod_port: int | None = None) -> int:
    import threading

    local, remote = args[-1].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(local)))
    except OSError:
        return out(rc=1, err=f"Unable to listen on port {local}: address already in use")
    sock.listen(16)
    sock.settimeout(0.05)
    out(f"Forwarding from 127.0.0.1:{local} -> {remote}")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    end = time.monotonic() + die_after if die_after is not None else None
    while not stop.is_set() and (end is None or time.monotonic() < end):
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        if pod_port:
            threading.Thread(target=relay, args=(conn, pod_port), daemon=True).start()
        else:
            conn.close()
    sock.close()
    return 0 if stop.is_set() else out(rc=1, err="error: lost connection to pod")


# ---- daprd / scheduler ----------------------------------------------------------------------
def serve_forever(http_port: int, extra_port: int | None = None) -> int:
    """Answer health checks on ``http_port`` (and ``extra_port``) until SIGTERM."""
    import signal
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            codes = {"/healthz": 200, "/v1.0/healthz": 204, "/v1.0/healthz/outbound": 204}
            self.send_response(codes.get(self.path, 404))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", http_port), Health)]
    if extra_port:
        servers.append(ThreadingHTTPServer(("127.0.0.1", extra_port), Health))
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    return 0


def daprd(argv: list[str], st: dict[str, Any]) -> int:
    if "--version" in argv:
        return out(st["versions"]["daprd"])
    return serve_forever(int(opt(argv, "--dapr-http-port", "3500") or 3500))


def scheduler(argv: list[str], st: dict[str, Any]) -> int:
    if "--version" in argv:
        return out(st["versions"]["scheduler"])
    return serve_forever(int(opt(argv, "--healthz-port", "8080") or 8080),
                         int(opt(argv, "--port", "50006") or 50006))


def dapr(argv: list[str], st: dict[str, Any]) -> int:
    return out(f"CLI version: {st['versions']['dapr']} \nRuntime version: n/a")


def main() -> int:
    tool, argv = sys.argv[1], sys.argv[2:]
    stdin = None
    if tool == "kubectl" and "apply" in argv:
        stdin = sys.stdin.read()
    record(tool, argv, stdin)
    with state() as st:
        rule = failing_rule(st, tool, argv)
        if rule and not rule.get("partial"):
            return out(rc=rule.get("rc", 1), err=rule.get("stderr", f"fake {tool} failed"))
        if tool in ("daprd", "scheduler"):
            snapshot = json.loads(json.dumps(st))
        elif tool == "kubectl":
            rc = kubectl(argv, st, stdin)
        else:
            rc = {"docker": docker, "kind": kind, "helm": helm, "dapr": dapr}[tool](argv, st)
        if rule:  # partial failure: the work above happened, then it failed
            if tool == "helm" and argv[:1] == ["upgrade"]:
                for rel in st["releases"].values():
                    rel["status"] = "failed"
            return out(rc=rule.get("rc", 1), err=rule.get("stderr", f"fake {tool} failed"))
        die_after = st.pop("_pf_die_after", "absent")
        pod_port = st.pop("_pf_pod_port", None)
    if tool in ("daprd", "scheduler"):  # long-running: outside the lock
        return {"daprd": daprd, "scheduler": scheduler}[tool](argv, snapshot)
    if tool == "kubectl" and rc == 0 and die_after != "absent":
        return port_forward_run(argv, die_after, pod_port)  # type: ignore[arg-type]
    for step in AFTER:  # waits, outside the lock
        rc = step() or rc
    return rc


if __name__ == "__main__":
    sys.exit(main())
