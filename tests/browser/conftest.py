"""Fixtures of the browser tier: the lessons a run selected, visited in JupyterLab started as
`make lab` starts it, in headless Chromium (tests/support/browser.py has the how).

Chromium and chromedriver come from Debian (``chromium``, ``chromium-driver``); when they are
missing, the tier installs them with apt where it can (root, apt-get). Where it cannot, the
tier is deselected and reported in one line, as the real-Dapr tier is (tests/conftest.py).
"""

from __future__ import annotations

import platform
import time
import warnings
from pathlib import Path

import pytest

from support.browser import (
    LANES,
    LESSONS,
    SCREENSHOTS,
    Seen,
    chromium,
    install_chromium,
    read,
    visit_all,
    why_no_chromium,
)

_HERE = Path(__file__).resolve().parent
_SKIPPED = pytest.StashKey[str]()
_TIMINGS = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)  # after -m has deselected what it deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.path.is_relative_to(_HERE)]
    why = why_no_chromium() if ours else None
    if why is None:
        return
    items[:] = [item for item in items if not item.path.is_relative_to(_HERE)]
    config.hook.pytest_deselected(items=ours)
    config.stash[_SKIPPED] = f"skipped ({len(ours)} tests deselected): {why}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # `make browser` on a machine without Chromium: the tier said why; that is not a failure
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.config.stash.get(
            _SKIPPED, None):
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for key in (_SKIPPED, _TIMINGS):
        said = terminalreporter.config.stash.get(key, None)
        if said:
            terminalreporter.write_line(f"browser tier: {said}", yellow=key is _SKIPPED)


@pytest.fixture(scope="session")
def _chromium() -> None:
    """Chromium, chromedriver and Selenium are there (apt installs the first two if needed)."""
    if chromium() is None:
        why = install_chromium()
        if why:
            pytest.skip(f"browser tier: {why}")
    pytest.importorskip("selenium", reason="browser tier: selenium is missing; it is in the "
                        "dev extra: `pip install -e '.[dev]'`")


@pytest.fixture(scope="session")
def seen_in_jupyterlab(request: pytest.FixtureRequest, _chromium: None,
                       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Seen]:
    """What a learner saw of every lesson this run selected (by file name), visited side by
    side in up to LANES lanes; the first test that asks waits for all of them."""
    params = [getattr(item, "callspec", None) for item in request.session.items]
    names = sorted({p.params["lesson"].name for p in params if p and "lesson" in p.params})
    other = sorted(p.name for p in LESSONS if p.name in names and
                   read(p)["metadata"].get("language_info", {}).get("version")
                   not in (None, platform.python_version()))
    if other:
        warnings.warn(f"{', '.join(other)} were committed on another Python than this "
                      f"{platform.python_version()}: JupyterLab opens them with unsaved changes "
                      "here (language_info); the browser tier ran copies made for this Python",
                      stacklevel=1)
    start = time.monotonic()
    seen = visit_all(names, tmp_path_factory.mktemp("jupyterlab"))
    took = ", ".join(f"{Path(n).stem} {s.seconds['total']:.0f} s" for n, s in seen.items())
    request.config.stash[_TIMINGS] = (
        f"{len(names)} lesson(s) in {min(LANES, len(names))} lane(s), "
        f"{time.monotonic() - start:.0f} s ({took}); screenshots in "
        f"{SCREENSHOTS.relative_to(SCREENSHOTS.parents[1])}/")
    return seen
