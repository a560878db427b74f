"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from jobslab.selfhosted import find_binary
from support.components import cron_component as cron_text
from support.lanes import FAST_LANE

# In CI (CI=true), property tests replay the same examples every run, so a submission's result
# does not depend on which random inputs a run happened to draw; locally they keep exploring.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# --- stopping ---------------------------------------------------------------------------
# SIGTERM (``timeout``, CI cancelling, run-tests stopping) ends the run like Ctrl-C, so the
# fixtures' clean-up still stops the Schedulers, sidecars and JupyterLab servers they started.


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


# --- the fast lane --------------------------------------------------------------------------
# `pytest -m "not slow"` starts no process: a test not marked slow that starts one fails
# (tests/support/lanes.py says how, and what is let through).


@pytest.fixture(autouse=True)
def _fast_lane_starts_no_process(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("slow"):
        yield
        return
    with FAST_LANE.armed(request.node.nodeid) as started:
        yield
    assert not started, "\n".join(started)


# --- the real-Dapr tier ------------------------------------------------------------------
# Tests marked ``realdapr`` (and the "dapr" parameter of the contract tests) run against real
# daprd + scheduler 1.18.3, found the way a user's are: $JOBSLAB_DAPR_BIN, ~/.dapr/bin, PATH.
# Without them the whole tier is deselected and reported in one line.

_REAL_DAPR_HINT = ("get them with `dapr init --slim --runtime-version 1.18.3` "
                   "(or set JOBSLAB_DAPR_BIN to a folder holding daprd and scheduler)")


def _real_dapr_missing() -> str | None:
    """Why the real-Dapr tier cannot run here, or ``None`` when it can."""
    missing = [name for name in ("daprd", "scheduler") if find_binary(name) is None]
    if missing:
        return f"{' and '.join(missing)} not found in ~/.dapr/bin or on PATH"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = _real_dapr_missing()
    if why is None:
        return
    real = [item for item in items if item.get_closest_marker("realdapr")]
    if real:
        items[:] = [item for item in items if not item.get_closest_marker("realdapr")]
        config.hook.pytest_deselected(items=real)
        config.stash[_SKIPPED] = f"skipped ({len(real)} tests deselected): {why}; {_REAL_DAPR_HINT}"


_SKIPPED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    said = terminalreporter.config.stash.get(_SKIPPED, None)
    if said:
        terminalreporter.write_line(f"real Dapr tier: {said}", yellow=True)


def pytest_report_header(config: pytest.Config) -> str:
    why = _real_dapr_missing()
    if why:
        return f"real Dapr tier: off ({why})"
    return f"real Dapr tier: daprd {find_binary('daprd')}, scheduler {find_binary('scheduler')}"


@pytest.fixture
def cron_component(tmp_path: Path) -> Callable[[str, str], Path]:
    """``cron_component(name, schedule)`` writes a ``bindings.cron`` component
    (docs/dapr-behaviour.md#cron-bindings) into a fresh resources folder and returns that
    folder (for ``--resources-path``)."""
    folder = tmp_path / "resources"

    def write(name: str, schedule: str = "@every 1s", direction: str | None = None) -> Path:
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.yaml").write_text(cron_text(name, schedule, direction),
                                             encoding="utf-8")
        return folder

    return write
