from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.stacks import BACKENDS, DaprStack, RecordingApp, Sidecar, Stack, stack


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which Dapr answers: "standin" (jobslab.local) or "dapr" (real daprd + scheduler)."""
    return str(request.param)


@pytest.fixture
def app() -> Iterator[RecordingApp]:
    a = RecordingApp().start()
    yield a
    a.stop()


@pytest.fixture
def fresh_stack(tmp_path: Path, backend: str) -> Iterator[Stack | DaprStack]:
    with stack(tmp_path, backend) as s:
        yield s


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory,
           backend: str) -> Iterator[tuple[Stack | DaprStack, Sidecar, RecordingApp]]:
    """One scheduler + one sidecar (app-id ``contract``) + its app, shared by a module."""
    a = RecordingApp().start()
    with stack(tmp_path_factory.mktemp("stack"), backend) as s:
        car = s.sidecar("contract", app_port=a.port)
        s.watching("contract", 1)
        yield s, car, a
    a.stop()


@pytest.fixture
def standin_only(backend: str) -> None:
    """For the stand-in's own additions (the local-only list, its CLI): skip on real Dapr."""
    if backend != "standin":
        pytest.skip("a stand-in feature that real Dapr does not have")
