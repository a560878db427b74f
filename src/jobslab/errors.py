"""The exceptions jobslab raises, under one root.

Catch :class:`JobslabError` to handle anything the library raises on purpose; every message
says what happened and what to do next. The classes users meet live where they are raised and
are re-exported by their package (``jobslab.jobs.DaprError``, ``jobslab.schedules.ScheduleError``,
``jobslab.hosting.ServeError``, ``jobslab.cluster.ClusterError``, …)::

    JobslabError
    ├── BackendError            starting or reaching Dapr (kind, self-hosted) failed
    │   ├── CommandError        an external command failed, was missing, or timed out
    │   ├── ClusterError        the kind path (jobslab.cluster)
    │   │   └── PrerequisiteError
    │   └── SelfHostedError     the `dapr init --slim` path (jobslab.selfhosted)
    ├── ServeError              serving handlers from a notebook (jobslab.hosting)
    │   └── PortInUseError
    ├── LocalOnlyError          a stand-in-only feature on a real-Dapr backend (jobslab.features)
    ├── DaprError               Dapr answered an error (jobslab.jobs)
    ├── ScheduleError           a schedule Dapr would refuse (jobslab.schedules)
    ├── ComponentError          a component file the stand-in cannot load (jobslab.local)
    ├── PortInUse               a port the stand-in needs is taken (jobslab.local)
    ├── Fail                    a lab check's verdict, with its hint (jobslab.checks)
    ├── CheckFailed             jobslab.check() outside grading: the one-line failure
    ├── UnknownExercise         no check registered under that id (jobslab.checks)
    └── GradingError            jobslab grade cannot start (jobslab.grading)

This module imports nothing, so any layer can use it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackendError", "ClusterError", "CommandError", "JobslabError", "SelfHostedError"]


class JobslabError(Exception):
    """Root of every exception jobslab raises on purpose."""


class BackendError(JobslabError, RuntimeError):
    """A step of starting or reaching real Dapr failed; the message says what to do next."""


class CommandError(BackendError):
    """An external command (kind, kubectl, helm, dapr, daprd, …) failed, was missing, or
    timed out. ``result`` holds what it returned, when it ran to the end."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class ClusterError(BackendError):
    """A step of the kind path (``jobslab cluster …``, ``JOBSLAB_BACKEND=kind``) failed."""


class SelfHostedError(BackendError):
    """A step of the self-hosted path (``dapr init --slim`` binaries) failed."""
