"""Dapr Component documents the tests write into resources folders (cron bindings:
docs/dapr-behaviour.md#cron-bindings)."""

from __future__ import annotations

#: A cron binding as a lesson writes one: a label, an explicit direction, no namespace and no
#: scopes (``render_components`` adds those on kind). Tests edit it by string replacement.
CRON = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: heartbeat
  labels:
    lesson: "7"
spec:
  type: bindings.cron
  version: v1
  metadata:
  - name: schedule
    value: "@every 1s"
  - name: direction
    value: input
"""

_CRON_TEMPLATE = """\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {name}
spec:
  type: bindings.cron
  version: v1
  metadata:
  - name: schedule
    value: "{schedule}"
{extra}"""


def cron_component(name: str, schedule: str = "@every 1s", direction: str | None = None) -> str:
    """A ``bindings.cron`` component named ``name`` (``direction``: its optional metadata)."""
    extra = f'  - name: direction\n    value: "{direction}"\n' if direction else ""
    return _CRON_TEMPLATE.format(name=name, schedule=schedule, extra=extra)
