"""``jobslab cluster up|down|status`` against recording fakes
(docs/kind.md#the-kind-path-step-by-step)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobslab.cluster import ClusterError, KindCluster, PrerequisiteError, pins
from jobslab.errors import BackendError
from support.fakes import Fakes

pytestmark = pytest.mark.slow  # real processes (or fakes) and real waits

CTX = "kind-dapr-jobs"


def cluster(fakes: Fakes, lines: list[str] | None = None) -> KindCluster:
    sink = lines if lines is not None else []
    return KindCluster(runner=fakes.runner(), progress=lambda msg, kind="info": sink.append(msg))


VALUE_FLAGS = {"-o", "--format", "--namespace", "--kube-context", "--context", "--output",
               "--filter", "--name", "--image", "--wait", "--timeout", "--version", "--selector",
               "--set"}


def steps(fakes: Fakes) -> list[str]:
    """Each recorded call reduced to tool + its first two words (for order assertions)."""
    out = []
    for tool, *argv in fakes.calls():
        words, skip = [], False
        for arg in argv:
            if skip:
                skip = False
            elif arg in VALUE_FLAGS and not (tool == "helm" and arg == "--wait"):
                skip = True
            elif not arg.startswith("-"):
                words.append(arg)
        out.append(" ".join([tool, *words[:2]]))
    return out


def test_fresh_up_runs_every_step_in_order_with_the_pins(fakes: Fakes) -> None:
    """Prerequisites, kind create with the digest-pinned image, Helm 1.18.3, rollouts."""
    result = cluster(fakes).up()
    assert result.changed == ["cluster", "dapr"]
    assert steps(fakes) == [
        "docker info", "kind version", "kubectl version", "helm version",
        "kind get clusters",
        "kind create cluster",
        "kubectl get storageclass",
        "helm list",
        "helm repo add", "helm repo update",
        "helm upgrade dapr",
        "kubectl rollout status", "kubectl rollout status", "kubectl rollout status",
        "kubectl rollout status", "kubectl rollout status",
        "kubectl wait pod",
    ]
    assert ["create", "cluster", "--name", "dapr-jobs", "--image", pins.KIND_NODE_IMAGE,
            "--wait", "120s"] in fakes.calls("kind")
    assert "@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a" in \
        pins.KIND_NODE_IMAGE and pins.KIND_NODE_IMAGE.startswith("kindest/node:v1.34.0@")
    upgrade = next(c for c in fakes.calls("helm") if c[0] == "upgrade")
    assert upgrade == [
        "upgrade", "--install", "dapr", "dapr/dapr", "--version", "1.18.3",
        "--create-namespace", "--set", "dapr_scheduler.cluster.storageSize=1Gi",
        "--wait", "--timeout", "10m", "--namespace", "dapr-system", "--kube-context", CTX,
    ]
    assert ["repo", "add", "dapr", "https://dapr.github.io/helm-charts/", "--force-update"] \
        in fakes.calls("helm")
    rollouts = [c[4] for c in fakes.calls("kubectl") if c[2:4] == ["rollout", "status"]]
    assert rollouts == [
        "statefulset/dapr-scheduler-server", "statefulset/dapr-placement-server",
        "deployment/dapr-sidecar-injector", "deployment/dapr-sentry", "deployment/dapr-operator",
    ]
    # every kubectl call after the version probe is pinned to the cluster's context
    assert all(c[:2] == ["--context", CTX] for c in fakes.calls("kubectl")[1:])


def test_second_up_changes_nothing_and_says_so(fakes: Fakes) -> None:
    cluster(fakes).up()
    fakes.clear_record()
    lines: list[str] = []
    result = cluster(fakes, lines).up()
    assert result.nothing_to_do
    assert "already up, nothing to do" in lines[-1]
    mutating = [s for s in steps(fakes)
                if s.startswith(("kind create", "kind delete", "helm repo", "helm upgrade",
                                 "helm uninstall", "kubectl apply", "kubectl delete"))]
    assert mutating == []


def test_existing_release_of_another_version_is_upgraded(fakes: Fakes) -> None:
    cluster(fakes).up()
    st = fakes.state
    st["releases"][CTX].update(chart="dapr-1.17.13", app_version="1.17.13")
    fakes.update(releases=st["releases"])
    result = cluster(fakes).up()
    assert result.changed == ["dapr"]
    assert fakes.state["releases"][CTX]["chart"] == "dapr-1.18.3"


def test_missing_prerequisites_are_each_named_with_a_fix(fakes: Fakes) -> None:
    fakes.remove("helm")
    fakes.update(docker_running=False,
                 versions={**fakes.state["versions"], "kind": "v0.20.0"})
    with pytest.raises(PrerequisiteError) as err:
        cluster(fakes).up()
    text = str(err.value)
    assert "3 prerequisite(s) missing" in text
    assert "Docker daemon is not reachable" in text and "start Docker Desktop" in text
    assert "kind: v0.20.0 is older than the pinned v0.30.0" in text
    assert "helm: not found on PATH" in text and "helm.sh" in text
    assert not any(c[:1] == ["create"] for c in fakes.calls("kind"))


def test_newer_kind_and_skewed_kubectl_warn_but_proceed(fakes: Fakes) -> None:
    fakes.update(versions={**fakes.state["versions"], "kind": "v0.32.0", "kubectl": "v1.30.2"})
    lines: list[str] = []
    result = cluster(fakes, lines).up()
    assert result.prereqs is not None
    assert any("kind v0.32.0 is newer" in w for w in result.prereqs.warnings)
    assert any("kubectl v1.30.2 is outside the supported skew" in w
               for w in result.prereqs.warnings)
    assert result.changed == ["cluster", "dapr"]


def test_helm_3_is_required(fakes: Fakes) -> None:
    fakes.update(versions={**fakes.state["versions"], "helm": "v2.17.0"})
    with pytest.raises(PrerequisiteError, match="Helm 3 needed"):
        cluster(fakes).up()


def test_failed_kind_create_is_cleaned_up_and_the_next_run_recovers(fakes: Fakes) -> None:
    fakes.fail("kind", "create", partial=True,
               stderr="ERROR: failed to create cluster: could not find a log line")
    with pytest.raises(ClusterError) as err:
        cluster(fakes).up()
    text = str(err.value)
    assert "creating kind cluster dapr-jobs" in text
    assert "could not find a log line" in text
    assert "run `jobslab cluster up` again" in text
    assert ["delete", "cluster", "--name", "dapr-jobs"] in fakes.calls("kind")
    assert fakes.state["clusters"] == []          # nothing half-done left behind
    assert not fakes.calls("helm")[4:]            # stopped before Dapr
    assert cluster(fakes).up().changed == ["cluster", "dapr"]


def test_failed_helm_install_is_replaced_on_the_next_run(fakes: Fakes) -> None:
    fakes.fail("helm", "upgrade", partial=True, stderr="Error: context deadline exceeded")
    with pytest.raises(BackendError) as err:
        cluster(fakes).up()
    assert "installing Dapr 1.18.3" in str(err.value)
    assert "context deadline exceeded" in str(err.value)
    assert fakes.state["releases"][CTX]["status"] == "failed"
    assert not [c for c in fakes.calls("kubectl") if "rollout" in c]
    fakes.clear_record()
    result = cluster(fakes).up()
    assert result.changed == ["dapr"]
    helm_verbs = [c[0] for c in fakes.calls("helm") if c[0] in ("uninstall", "upgrade")]
    assert helm_verbs == ["uninstall", "upgrade"]
    assert fakes.state["releases"][CTX]["status"] == "deployed"


def test_rollout_timeout_names_the_workload_and_the_next_run_resumes(fakes: Fakes) -> None:
    fakes.fail("kubectl", "rollout", "statefulset/dapr-scheduler-server",
               stderr="error: timed out waiting for the condition")
    with pytest.raises(BackendError) as err:
        cluster(fakes).up()
    text = str(err.value)
    assert "waiting for statefulset/dapr-scheduler-server" in text
    assert "timed out waiting for the condition" in text
    assert "docs/troubleshooting.md" in text
    lines: list[str] = []
    cluster(fakes, lines).up()
    assert "already up, nothing to do" in lines[-1]


def test_down_deletes_the_cluster_and_a_second_down_is_a_no_op(fakes: Fakes) -> None:
    cluster(fakes).up()
    assert cluster(fakes).down() is True
    assert fakes.state["clusters"] == []
    lines: list[str] = []
    assert cluster(fakes, lines).down() is False
    assert "nothing to do" in lines[-1]


def test_status_reports_release_and_workloads(fakes: Fakes) -> None:
    assert cluster(fakes).status().exists is False
    cluster(fakes).up()
    status = cluster(fakes).status()
    assert status.ready
    assert status.release is not None and status.release.chart_version == "1.18.3"
    assert {w.name for w in status.workloads} == {n for _, n in pins.DAPR_WORKLOADS}


def run_cli(fakes: Fakes, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**fakes.env, "PYTHONPATH": ":".join(sys.path)}
    return subprocess.run([sys.executable, "-m", "jobslab", "cluster", *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cli_up_twice_then_status_and_down(fakes: Fakes) -> None:
    first = run_cli(fakes, "up")
    assert first.returncode == 0, first.stderr
    assert "kind cluster dapr-jobs created" in first.stdout
    assert "s] " in first.stdout                      # elapsed time on each line
    second = run_cli(fakes, "up")
    assert second.returncode == 0
    assert "already up, nothing to do" in second.stdout
    status = run_cli(fakes, "status")
    assert status.returncode == 0 and "dapr-1.18.3 (deployed)" in status.stdout
    assert run_cli(fakes, "down").returncode == 0
    assert run_cli(fakes, "status").returncode == 1


def test_cli_failure_exits_non_zero_with_the_fix(fakes: Fakes) -> None:
    fakes.update(docker_running=False)
    result = run_cli(fakes, "up")
    assert result.returncode == 1
    assert "Docker daemon is not reachable" in result.stderr
    assert "What to do" in result.stderr
