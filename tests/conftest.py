"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# In CI (CI=true), property tests replay the same examples every run, so a submission's result
# does not depend on which random inputs a run happened to draw; locally they keep exploring.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

CRON_COMPONENT = """\
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
"""


@pytest.fixture
def cron_component(tmp_path: Path) -> Callable[[str, str], Path]:
    """``cron_component(name, schedule)`` writes a ``bindings.cron`` component (contract §8)
    into a fresh resources folder and returns that folder (for ``--resources-path``)."""
    folder = tmp_path / "resources"

    def write(name: str, schedule: str = "@every 1s") -> Path:
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.yaml").write_text(
            CRON_COMPONENT.format(name=name, schedule=schedule), encoding="utf-8")
        return folder

    return write
