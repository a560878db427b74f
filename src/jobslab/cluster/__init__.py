"""The kind backend: real Dapr 1.18.3 in a kind cluster (docs/kind.md).

- :class:`KindCluster` — ``up`` / ``down`` / ``status`` of the cluster and the Dapr release.
- :class:`KindBackend` — what ``jobslab.serve``/``jobslab.connect`` use for
  ``JOBSLAB_BACKEND=kind``: deploys one sidecar per handler replica and port-forwards it.
- :mod:`jobslab.pins` — every pinned version (re-exported here as ``pins``).
- :class:`Runner` (from :mod:`jobslab.processes`) — runs the external tools; tests give it
  a PATH of recording fakes.
"""

from __future__ import annotations

from .. import pins
from ..errors import ClusterError, CommandError
from ..processes.runner import Result, Runner
from .backend import KindBackend
from .kind import ClusterStatus, KindCluster, Release, UpResult
from .manifests import render_replicas, to_yaml
from .portforward import PortForward, PortForwardManager
from .prereqs import PrereqReport, PrerequisiteError, check_prerequisites
from .progress import Progress

__all__ = [
    "ClusterError",
    "ClusterStatus",
    "CommandError",
    "KindBackend",
    "KindCluster",
    "PortForward",
    "PortForwardManager",
    "PrereqReport",
    "PrerequisiteError",
    "Progress",
    "Release",
    "Result",
    "Runner",
    "UpResult",
    "check_prerequisites",
    "pins",
    "render_replicas",
    "to_yaml",
]
