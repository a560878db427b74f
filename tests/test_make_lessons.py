"""scripts/make-lessons (`make lessons`): every NN-*.ipynb executed headless, each isolated.

- A line per lesson (name, seconds, pass/fail with the first error line), a summary, exit 1
  when any lesson failed.
- Each lesson runs with its own state dir and Dapr/Scheduler ports, in its own folder.
- Executed copies land in the output folder; times are recorded as lessons-<backend>.md/.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make-lessons"
pytestmark = pytest.mark.slow


def notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    folder.mkdir()
    notebook(folder / "01-passes.ipynb",
             "import json, os, pathlib",
             "seen = {k: os.environ.get(k) for k in ('JOBSLAB_HOME', 'JOBSLAB_BACKEND', "
             "'DAPR_HTTP_PORT', 'JOBSLAB_SCHEDULER_PORT')}\n"
             "seen['cwd'] = os.getcwd()\n"
             "pathlib.Path('seen.json').write_text(json.dumps(seen))")
    notebook(folder / "02-raises.ipynb",
             "x = 1",
             "raise ValueError('boom: the second line\\nis not shown')",
             "pathlib.Path('never.txt').write_text('ran past the error')")
    notebook(folder / "notes.ipynb", "raise RuntimeError('not a lesson: never run')")
    return folder


def make_lessons(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JOBSLAB_BACKEND": "local"}
    env.pop("JOBSLAB_HOME", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=400, check=False)


def test_runs_every_lesson_reports_each_and_fails_when_one_fails(lessons, tmp_path):
    out, results = tmp_path / "build", tmp_path / "results"
    done = make_lessons("--dir", str(lessons), "--out", str(out), "--results", str(results),
                        cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    passed = [ln for ln in lines if "01-passes.ipynb" in ln and not ln.startswith(("0/", "1/"))]
    failed = [ln for ln in lines if "02-raises.ipynb" in ln and not ln.startswith(("0/", "1/"))]
    assert len(passed) == 1 and passed[0].startswith("pass "), done.stdout
    assert len(failed) == 1 and failed[0].startswith("FAIL "), done.stdout
    assert failed[0].endswith("ValueError: boom: the second line"), failed[0]
    assert " s" in passed[0]
    assert "notes.ipynb" not in done.stdout  # not NN-*.ipynb: not a lesson
    summary = next(ln for ln in lines if "lessons passed" in ln)
    assert summary.startswith("1/2 lessons passed on local in ")
    assert "failed: 02-raises.ipynb" in summary

    # Executed copies, the failed one showing where it stopped.
    assert (out / "01-passes.ipynb").exists() and (out / "02-raises.ipynb").exists()
    failed_nb = nbformat.read(out / "02-raises.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in failed_nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
    assert not (lessons / "never.txt").exists()

    # Isolated: a state dir of its own, leased ports below the ephemeral range, its folder.
    seen = json.loads((lessons / "seen.json").read_text())
    assert seen["JOBSLAB_BACKEND"] == "local"
    assert seen["JOBSLAB_HOME"] and "jobslab-lesson-local-" in seen["JOBSLAB_HOME"]
    assert not Path(seen["JOBSLAB_HOME"]).exists()  # removed afterwards
    assert 20000 <= int(seen["DAPR_HTTP_PORT"]) < 32000
    assert int(seen["JOBSLAB_SCHEDULER_PORT"]) == int(seen["DAPR_HTTP_PORT"]) + 5
    assert Path(seen["cwd"]).resolve() == lessons.resolve()

    # The times, recorded.
    data = json.loads((results / "lessons-local.json").read_text())
    assert data["backend"] == "local" and data["passed"] == 1
    assert [r["lesson"] for r in data["lessons"]] == ["01-passes.ipynb", "02-raises.ipynb"]
    assert [r["ok"] for r in data["lessons"]] == [True, False]
    assert all(r["seconds"] > 0 for r in data["lessons"])
    markdown = (results / "lessons-local.md").read_text()
    assert "| 01-passes.ipynb |" in markdown and "| 02-raises.ipynb |" in markdown
    assert "1/2 passed" in markdown


def test_only_the_named_lessons_run_and_a_clean_run_exits_zero(lessons, tmp_path):
    out = tmp_path / "build"
    done = make_lessons("01", "--dir", str(lessons), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1/1 lessons passed on local" in done.stdout
    assert "02-raises" not in done.stdout
    assert not (out / "02-raises.ipynb").exists()
    assert "Times recorded" not in done.stdout  # a partial run over another folder: no record


def test_no_matching_lesson_is_an_error(lessons, tmp_path):
    done = make_lessons("07", "--dir", str(lessons), "--out", str(tmp_path / "b"), cwd=tmp_path)
    assert done.returncode == 1
    assert "no lessons" in done.stdout
