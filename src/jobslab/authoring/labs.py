"""Generate learner copies in ``labs/`` from ``solutions/`` (the single source of every lab).

In a solution notebook, answer code sits between marker lines::

    ### BEGIN SOLUTION
    schedule = "0 0 18 * * FRI"
    ### END SOLUTION

The learner copy replaces each block with a stub: ``# YOUR CODE HERE``, a hint, and
``raise NotImplementedError()``, keeping the indentation. The hint is the text after
``hint:`` on the BEGIN line (``### BEGIN SOLUTION hint: POST to your own sidecar``), else
:data:`DEFAULT_HINT`. Markdown between ``<!-- BEGIN ANSWER -->`` and
``<!-- END ANSWER -->`` is removed; outputs and execution counts are cleared. The same markers
as nbgrader, so instructors already know them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

_CODE_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:[^\S\n]*hint:[^\S\n]*(?P<hint>[^\n]*))?[^\n]*\n"
    r".*?^[ \t]*### END SOLUTION[^\n]*(\n|$)",
    re.S | re.M,
)
#: The stub's hint when the solution gives none.
DEFAULT_HINT = "the instructions above say what to write; the check below says what is missing"


def _stub(match: re.Match[str]) -> str:
    indent, hint = match["indent"], (match["hint"] or "").strip() or DEFAULT_HINT
    return (f"{indent}# YOUR CODE HERE\n{indent}# Hint: {hint}\n"
            f"{indent}raise NotImplementedError()\n")
_MD_BLOCK = re.compile(r"<!-- BEGIN ANSWER -->.*?<!-- END ANSWER -->\n?", re.S)


def strip_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = nbformat.from_dict(dict(cell))
    if cell.cell_type == "code":
        cell.source = _CODE_BLOCK.sub(_stub, cell.source).rstrip("\n")
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    elif cell.cell_type == "markdown":
        cell.source = _MD_BLOCK.sub("", cell.source)
    return cell


def learner_copy(solution: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(solution, as_version=4)
    unbalanced = [i for i, c in enumerate(nb.cells)
                  if c.source.count("### BEGIN SOLUTION") != c.source.count("### END SOLUTION")]
    if unbalanced:
        raise ValueError(f"{solution.name}: unbalanced solution markers in cells {unbalanced}")
    nb.cells = [strip_cell(c) for c in nb.cells]
    return nb


def generate(solutions: Path, labs: Path, *, check: bool = False) -> list[str]:
    """Write ``labs/`` from ``solutions/``; return the names that were (or would be) changed.

    With ``check``, nothing is written, and stale or orphaned lab files are reported.
    """
    changed: list[str] = []
    labs.mkdir(parents=True, exist_ok=True) if not check else None
    wanted = set()
    for solution in sorted(solutions.glob("*.ipynb")):
        wanted.add(solution.name)
        text = nbformat.writes(learner_copy(solution)) + "\n"
        target = labs / solution.name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            changed.append(solution.name)
            if not check:
                target.write_text(text, encoding="utf-8")
    if labs.exists():
        for orphan in sorted(p.name for p in labs.glob("*.ipynb") if p.name not in wanted):
            changed.append(orphan)
            if not check:
                (labs / orphan).unlink()
    return changed
