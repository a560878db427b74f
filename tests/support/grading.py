"""The fixture lab 90 (``lab90/``: its checks ``lab90.py``, its solution ``90-fixture.ipynb``)
and fixture submissions of it, built from that solution.

Each is the solution (or its learner copy) with one thing done wrong, so a change to the
fixture lab changes them all. :func:`write_all` writes them into a folder; :data:`EXPECTED`
says what the grader must make of each (status, points per exercise, a word of the reason).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from jobslab.authoring.labs import learner_copy

#: The folder of the fixture lab: put it on ``$JOBSLAB_CHECKS_PATH`` to grade lab 90.
LAB90 = Path(__file__).parent / "lab90"
SOLUTION = LAB90 / "90-fixture.ipynb"


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION, as_version=4)


def _check_cell(nb: nbformat.NotebookNode, exercise: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and f'check("{exercise}"' in cell.source:
            return i
    raise LookupError(exercise)


def _after(exercise: str, source: str, nb: nbformat.NotebookNode | None = None
           ) -> nbformat.NotebookNode:
    """The solution with a code cell ``source`` inserted after the check cell of
    ``exercise``."""
    nb = nb or _solution()
    nb.cells.insert(_check_cell(nb, exercise) + 1, nbformat.v4.new_code_cell(source))
    return nb


def _replace(old: str, new: str) -> nbformat.NotebookNode:
    nb = _solution()
    hits = [c for c in nb.cells if old in c.source]
    assert len(hits) == 1, f"{old!r} is in {len(hits)} cells of the fixture"
    hits[0].source = hits[0].source.replace(old, new)
    return nb


def partly_correct() -> nbformat.NotebookNode:
    """Exercise 2 sends other data; exercise 4 deletes ``keep`` too."""
    nb = _replace('"0 0 2 * * *", "data": {"report": "sales"}',
                  '"0 0 2 * * *", "data": {"report": "ops"}')
    cell = next(c for c in nb.cells if 'for suffix in ("stale-1", "stale-2"):' in c.source)
    cell.source = cell.source.replace('("stale-1", "stale-2")', '("stale-1", "stale-2", "keep")')
    return nb


SNOOP = '''import os, signal
import httpx, psutil
first, last = map(int, os.environ["JOBSLAB_GRADING_RANGE"].split("-"))
mine = {int(os.environ["DAPR_HTTP_PORT"]), int(os.environ["JOBSLAB_SCHEDULER_PORT"])}
tried = refused = 0
for port in range(first, min(last, first + 20)):
    if port in mine:
        continue
    tried += 1
    try:
        httpx.delete(f"http://127.0.0.1:{port}/v1.0/jobs/l90-nightly", timeout=0.2)
    except httpx.HTTPError:
        refused += 1
print("ports refused:", "all" if refused == tried else f"{refused} of {tried}")
try:
    os.kill(psutil.Process().parents()[-1].pid, signal.SIGTERM)  # the oldest ancestor
except PermissionError:
    print("kill refused")
fence = os.path.dirname(os.environ["JOBSLAB_GRADING_ROOT"])
try:
    os.listdir(fence)
except PermissionError:
    print("listing refused")
try:
    with open(os.path.join(fence, "someone-else", "results.jsonl"), "a") as forged:
        forged.write("{}")
except PermissionError:
    print("writing refused")'''


def write_all(folder: Path) -> dict[str, Path]:
    """Write every fixture submission into ``folder``; return their paths by student."""
    folder.mkdir(parents=True, exist_ok=True)
    other_kernel = _solution()
    other_kernel.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    built = {
        "correct": _solution(),
        "partly-correct": partly_correct(),
        "untouched": learner_copy(SOLUTION),
        "raises": _after("90.2", "1 / 0"),
        "sys-exit": _after("90.1", "import sys\nsys.exit(3)"),
        "kills-kernel": _after("90.2", "import os\nos._exit(1)"),
        "hangs": _after("90.1", "import time\ntime.sleep(3600)"),
        "floods": _after("90.1", 'while True:\n    print("x" * 100_000)'),
        "other-kernel": other_kernel,
        "snoops": _after("90.1", SNOOP),
    }
    paths = {}
    for student, nb in built.items():
        paths[student] = folder / f"{student}.ipynb"
        nbformat.write(nb, paths[student])
    paths["corrupt"] = folder / "corrupt.ipynb"
    text = SOLUTION.read_text(encoding="utf-8")
    paths["corrupt"].write_text(text[: len(text) // 2], encoding="utf-8")
    return paths


#: student -> (status, points per exercise 90.1-90.4, a word the reason must hold)
EXPECTED = {
    "correct": ("graded", [1, 1, 1, 2], ""),
    "partly-correct": ("graded", [1, 0, 1, 0], ""),
    "untouched": ("error", [0, 0, 0, 0], "NotImplementedError"),
    "raises": ("error", [1, 1, 0, 0], "ZeroDivisionError"),
    "sys-exit": ("exited", [1, 0, 0, 0], "sys.exit()"),
    "kills-kernel": ("kernel-died", [1, 1, 0, 0], "kernel died"),
    "hangs": ("cell-timeout", [1, 0, 0, 0], "per-cell time-out"),
    "floods": ("output-flood", [1, 0, 0, 0], "MB of output"),
    "other-kernel": ("graded", [1, 1, 1, 2], "names kernel 'ir'"),
    "snoops": ("blocked", [1, 1, 1, 2], "another submission's ports"),
    "corrupt": ("invalid", [0, 0, 0, 0], "corrupt JSON"),
}
