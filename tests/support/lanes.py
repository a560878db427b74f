"""The fast lane: a test not marked ``slow`` starts no process.

``pytest -m "not slow"`` is the lane to run while working (seconds, not minutes), so every test
module that starts processes or waits on them carries ``pytestmark = pytest.mark.slow``. The
autouse fixture of tests/conftest.py arms :data:`FAST_LANE` around every other test: a process
the test's own code (the test, a fixture, jobslab) starts is refused, with an exception that
names the test, and recorded, so that the test fails even where the exception is swallowed.

A process a third-party library starts for its own purposes is not the test's doing and is let
through (:data:`LIBRARIES_ALLOWED`): matplotlib runs ``fc-list`` once per machine to build its
font cache, whichever test happens to draw first.
"""

from __future__ import annotations

import contextlib
import site
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

TESTS = Path(__file__).resolve().parents[1]

#: The audit events (https://docs.python.org/3/library/audit_events.html) of starting a process.
PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.posix_spawn", "os.fork", "os.forkpty",
                            "os.exec", "os.spawn", "os.system", "pty.spawn"})

#: Modules whose own processes are not a test's doing (see the module docstring).
LIBRARIES_ALLOWED = ("matplotlib.font_manager",)

_PATHS = sysconfig.get_paths()
_STDLIB = tuple({str(Path(_PATHS[k]).resolve()) for k in ("stdlib", "platstdlib")})
_SITE = tuple({str(Path(p).resolve()) for p in (_PATHS["purelib"], _PATHS["platlib"],
                                                   *site.getsitepackages(),
                                                   site.getusersitepackages())})


class ProcessInFastLane(RuntimeError):
    """A test not marked ``slow`` started a process."""


def _is_stdlib(frame: FrameType) -> bool:
    name = frame.f_code.co_filename
    if name.startswith("<frozen"):
        return True
    path = str(Path(name).resolve())
    return path.startswith(_STDLIB) and not path.startswith(_SITE)


def _ours(frame: FrameType) -> bool:
    """The frame runs the repository's code: a test, a conftest, support, or jobslab."""
    module = str(frame.f_globals.get("__name__", ""))
    if module == "jobslab" or module.startswith("jobslab."):
        return True
    return Path(frame.f_code.co_filename).resolve().is_relative_to(TESTS)


class FastLane:
    """Refuses and records the processes a test starts while armed (one per interpreter)."""

    def __init__(self) -> None:
        self.test: str | None = None
        self.started: list[str] = []
        self._installed = False

    def blames(self, frame: FrameType | None) -> bool:
        """True when the call stack from ``frame`` outwards is the repository's doing."""
        caller = None  # the innermost frame outside the standard library
        while frame is not None:
            if caller is None and not _is_stdlib(frame):
                caller = frame
                module = str(frame.f_globals.get("__name__", ""))
                if module.startswith(LIBRARIES_ALLOWED):
                    return False
            if caller is not None and _ours(frame):
                return True
            frame = frame.f_back
        return False

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.test is None or event not in PROCESS_EVENTS:
            return
        if not self.blames(sys._getframe(1)):
            return
        what = " ".join(map(str, args[1] if event == "subprocess.Popen" else args[:1]))[:200]
        message = (f"{self.test} is not marked slow but starts a process ({event}: {what}); "
                   "the fast lane starts none: mark it slow, or its module with "
                   "`pytestmark = pytest.mark.slow` (tests/support/lanes.py)")
        self.started.append(message)
        raise ProcessInFastLane(message)

    @contextlib.contextmanager
    def armed(self, test: str) -> Iterator[list[str]]:
        """Refuse processes while ``test`` runs; yields the list of those it tried."""
        if not self._installed:
            sys.addaudithook(self._audit)  # audit hooks cannot be removed: install once
            self._installed = True
        self.test, self.started = test, []
        try:
            yield self.started
        finally:
            self.test = None


FAST_LANE = FastLane()
