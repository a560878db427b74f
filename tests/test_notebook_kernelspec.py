"""Every notebook opens in JupyterLab without unsaved changes: its kernelspec is exactly the one
ipykernel installs (docs/architecture.md#adding-a-lesson).

When a notebook's kernelspec differs from the installed kernel's, JupyterLab rewrites it the
moment the kernel starts: the tab shows unsaved changes, closing it asks to save, and saving
leaves a `git diff` ("Python 3" where ipykernel's kernel.json says "Python 3 (ipykernel)").
tests/browser checks the same in a real JupyterLab; this is the fast check, over every
committed notebook (lessons, solutions, the learner copies, the tests' own).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

from jobslab.authoring.labs import generate, learner_copy

ROOT = Path(__file__).resolve().parents[1]
#: Folders whose notebooks count even before they are committed.
FOLDERS = ("notebooks", "solutions", "labs")


def notebooks() -> list[Path]:
    """Every tracked notebook, and every notebook in FOLDERS (read at collection time)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", "*.ipynb"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode()
        found = {ROOT / name for name in out.split("\0") if name}
    except (OSError, subprocess.CalledProcessError):
        found = set(ROOT.glob("tests/**/*.ipynb"))
    found |= {p for folder in FOLDERS for p in (ROOT / folder).glob("*.ipynb")}
    return sorted(p for p in found if p.exists() and ".ipynb_checkpoints" not in p.parts)


NOTEBOOKS = notebooks()


def installed_kernelspec() -> dict[str, str]:
    """The kernelspec JupyterLab writes into a notebook for the kernel ipykernel installs:
    ipykernel's kernel name and its kernel.json's display name and language."""
    spec = get_kernel_dict()
    return {"name": KERNEL_NAME, "display_name": spec["display_name"],
            "language": spec["language"]}


def test_the_check_sees_every_kind_of_notebook() -> None:
    rel = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]
    assert "notebooks/00-index.ipynb" in rel
    assert any(r.startswith("tests/") for r in rel)
    assert installed_kernelspec() == {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                      "language": "python"}


def test_the_environments_kernel_is_ipykernels() -> None:
    """The kernel.json `make lab` installs into the environment says what ipykernel says."""
    kernel_json = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    if not kernel_json.exists():
        pytest.skip(f"no {kernel_json} in this environment")
    spec = json.loads(kernel_json.read_text(encoding="utf-8"))
    assert {"display_name": spec["display_name"], "language": spec["language"]} == {
        k: v for k, v in installed_kernelspec().items() if k != "name"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_notebook_names_the_installed_kernel_exactly(path: Path) -> None:
    kernelspec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec")
    assert kernelspec == installed_kernelspec(), (
        f"{path.relative_to(ROOT)}: kernelspec {kernelspec}; JupyterLab rewrites it to "
        f"{installed_kernelspec()} on opening, so the notebook opens with unsaved changes")


def test_a_learner_copy_keeps_the_solutions_kernelspec_and_language(tmp_path: Path) -> None:
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    solutions.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    nb.metadata["kernelspec"] = installed_kernelspec()
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nbformat.write(nb, solutions / "90-x.ipynb")
    assert learner_copy(solutions / "90-x.ipynb").metadata == nb.metadata
    generate(solutions, labs)
    assert nbformat.read(labs / "90-x.ipynb", as_version=4).metadata == nb.metadata
