"""Every lesson as a learner meets it in JupyterLab (docs/architecture.md#test-tiers).

In headless Chromium, on JupyterLab started as ``make lab`` starts it: open the notebook,
Run -> Run All Cells from the menu bar, wait until no cell runs, File -> Save Notebook, File ->
Close Tab. What the learner sees must hold: the notebook opens without unsaved changes
(JupyterLab rewrites metadata that does not match the installed kernel: a dirty tab, a
`git diff` after saving, a "Save your work" question on closing), no traceback or stderr, no
dialog, no notification over the first screen, every cell run, the checked outputs on screen,
and after the save nothing changed but what running changes (outputs, execution counts), so
closing the tab asks nothing.

The fixture ``seen_in_jupyterlab`` does the visits (side by side, tests/support/browser.py)
and records what the page showed; each test judges one lesson. Screenshots of each lesson's
first and last screen, and of the screen where a visit broke, go to build/browser/
(git-ignored).

``make test`` runs 00-index, the notebook ``make lab`` opens; every other lesson is marked
``browser``, deselected by default (pyproject.toml) and run by ``make browser`` (.ci/run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.browser import DIRTY, LESSONS, Seen, cells_as_written, checked_cells

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

#: The notebook `make lab` opens: the one lesson of the browser tier in the default run.
FIRST = "00-index"
#: A line a lesson must show after Run All: what it sets out to demonstrate.
MUST_SHOW = {
    "00-index": "6 triggers, each delivered to one replica",
}


def _lessons() -> list[object]:
    return [pytest.param(path, id=path.stem,
                         marks=() if path.stem == FIRST else (pytest.mark.browser,))
            for path in LESSONS]


def test_the_first_lesson_is_in_the_default_run() -> None:
    assert FIRST in [path.stem for path in LESSONS]


@pytest.mark.parametrize("lesson", _lessons())
def test_a_lesson_runs_all_cells_in_jupyterlab_and_changes_nothing_but_outputs(
        lesson: Path, seen_in_jupyterlab: dict[str, Seen]) -> None:
    name = lesson.name
    seen = seen_in_jupyterlab[name]
    meta = seen.before["metadata"]
    assert seen.broke is None, f"{name}: {seen.broke} (screens: {seen.screenshots})"

    assert not seen.dirty_in_model and DIRTY not in seen.tab_on_open, (
        f"{name} opens with unsaved changes: JupyterLab rewrote its metadata for kernel "
        f"{seen.kernel!r} (kernelspec {meta.get('kernelspec')}, language_info "
        f"{meta.get('language_info')})")
    assert seen.dialogs_on_open == [], f"{name}: a dialog on opening"
    assert seen.notifications_on_open == [], f"{name}: a notification over the first screen"

    assert not seen.errors, f"{name}: errors on screen after Run All:\n" + "\n---\n".join(
        seen.errors)
    assert seen.dialogs_after_run == [], f"{name}: a dialog during Run All"
    unrun = [i for i, p in enumerate(seen.prompts) if not re.fullmatch(r"\[\d+\]:", p)]
    assert not unrun, f"{name}: code cells {unrun} did not run: {seen.prompts}"
    assert len(seen.outputs) == len(seen.before["cells"]), f"{name}: cells missing on the page"
    silent = [i for i in checked_cells(seen.before) if not (seen.outputs[i] or "").strip()]
    assert not silent, f"{name}: checked cells {silent} show no output"
    if lesson.stem in MUST_SHOW:
        assert MUST_SHOW[lesson.stem] in "\n".join(o for o in seen.outputs if o), (
            f"{name} does not show {MUST_SHOW[lesson.stem]!r}")

    assert seen.saved is not None
    assert seen.saved["metadata"] == meta, f"{name}: saving rewrote the notebook's metadata"
    assert cells_as_written(seen.saved) == cells_as_written(seen.before), (
        f"{name}: saving changed cells beyond their outputs")
    assert seen.dialogs_on_close == [], f"{name}: closing the saved notebook asked something"
