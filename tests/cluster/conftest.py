"""Fixtures for the offline cluster tests: recording fakes of the external tools on PATH.

Nothing here touches a real network, a real Docker or a real cluster: the runner's PATH holds
only the fakes' directory (the fakes themselves: tests/support/fakes.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.fakes import Fakes


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    home = tmp_path / "home"
    home.mkdir()
    return Fakes.install(tmp_path, {
        "HOME": str(home),
        "JOBSLAB_HOME": str(tmp_path / "state"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    })
