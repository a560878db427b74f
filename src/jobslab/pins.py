"""Every version the kind and self-hosted paths depend on, in one place.

Why these versions: docs/kind.md#pinned-versions. kind v0.30.0 with its default node image is
the exact pair Dapr 1.18.3's own kind e2e job uses (dapr/dapr v1.18.3
``.github/workflows/kind-e2e.yaml``); the Helm chart version equals the runtime version.
Change a pin here and nowhere else.
"""

from __future__ import annotations

# Kept literal (not imported from jobslab) so this module imports without the package's
# __init__; tests/cluster/test_manifests.py checks it equals jobslab.DAPR_VERSION.
_RUNTIME = "1.18.3"

#: kind release the node image below was built for.
KIND_VERSION = "v0.30.0"
#: Kubernetes version of the node image, also the schema version manifests are validated against.
KUBERNETES_VERSION = "1.34.0"
#: Node image pinned by digest, so a re-tagged image can never sneak in.
KIND_NODE_IMAGE = (
    "kindest/node:v1.34.0"
    "@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
)
#: Dapr runtime installed in the cluster and expected from ``dapr init --slim``.
DAPR_RUNTIME_VERSION = _RUNTIME
#: The ``dapr/dapr`` Helm chart version; it always equals the runtime version.
DAPR_CHART_VERSION = _RUNTIME
#: The Dapr CLI release that matches the runtime (optional on the kind path).
DAPR_CLI_VERSION = "1.18.0"
#: Helm major version the install was written for (Helm 4 changed ``--wait``; not verified).
HELM_MAJOR = 3

#: Default kind cluster name (``kind-<name>`` is its kubectl context).
CLUSTER_NAME = "dapr-jobs"
#: Helm release, namespace and chart repository of the Dapr control plane.
HELM_RELEASE = "dapr"
HELM_NAMESPACE = "dapr-system"
HELM_REPO_NAME = "dapr"
HELM_REPO_URL = "https://dapr.github.io/helm-charts/"
HELM_CHART = f"{HELM_REPO_NAME}/dapr"
#: ``--set`` values for the chart (docs/kind.md#chart-values: keep PVCs, no inMemoryStorage,
#: no HA).
HELM_VALUES: dict[str, str] = {"dapr_scheduler.cluster.storageSize": "1Gi"}
HELM_TIMEOUT = "10m"
#: How long ``kind create cluster`` waits for the control plane.
KIND_WAIT = "120s"

#: Control-plane workloads to wait for, in this order (docs/kind.md#chart-values).
DAPR_WORKLOADS: tuple[tuple[str, str], ...] = (
    ("statefulset", "dapr-scheduler-server"),
    ("statefulset", "dapr-placement-server"),
    ("deployment", "dapr-sidecar-injector"),
    ("deployment", "dapr-sentry"),
    ("deployment", "dapr-operator"),
)
ROLLOUT_TIMEOUT = "300s"

#: Image of the placeholder container in each replica pod (the real app runs on the host).
PLACEHOLDER_IMAGE = "registry.k8s.io/pause:3.10"
#: Namespace the replica Deployments go to.
APP_NAMESPACE = "default"
#: The sidecar's HTTP port inside the pod.
SIDECAR_HTTP_PORT = 3500

