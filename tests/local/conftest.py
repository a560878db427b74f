from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._helpers import RecordingApp, Sidecar, Stack, stack


@pytest.fixture
def app() -> Iterator[RecordingApp]:
    a = RecordingApp().start()
    yield a
    a.stop()


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[Stack]:
    with stack(tmp_path) as s:
        yield s


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Sidecar,
                                                                        RecordingApp]]:
    """One scheduler + one sidecar (app-id ``contract``) + its app, shared by a module."""
    a = RecordingApp().start()
    with stack(tmp_path_factory.mktemp("stack")) as s:
        car = s.sidecar("contract", app_port=a.port)
        s.watching("contract", 1)
        yield s, car, a
    a.stop()
