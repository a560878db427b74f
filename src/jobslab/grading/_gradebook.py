"""The gradebook: ``gradebook.csv``, ``gradebook.html`` and ``feedback/<student>.txt``.

Everything written depends only on the results (no time stamps, no durations, no paths of the
machine), rows sorted by student, so grading the same folder twice writes the same bytes.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

from .. import checks
from ._grade import STATUSES, SubmissionResult

CSV_NAME = "gradebook.csv"
HTML_NAME = "gradebook.html"
FEEDBACK_DIR = "feedback"


def header(lab: str) -> list[str]:
    """``student, lab, <exercise ids…>, total, max, status, reason``."""
    return ["student", "lab", *[e.id for e in checks.exercises(lab)], "total", "max", "status",
            "reason"]


def csv_text(lab: str, results: Sequence[SubmissionResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header(lab))
    for r in sorted(results, key=lambda r: r.student):
        writer.writerow([r.student, r.lab, *[e.earned for e in r.exercises], r.total, r.max,
                         r.status, r.reason])
    return out.getvalue()


def _rate(passed: int, total: int) -> str:
    return f"{100 * passed / total:.0f}%" if total else "–"


def html_text(lab: str, results: Sequence[SubmissionResult]) -> str:
    exercises = checks.exercises(lab)
    rows = sorted(results, key=lambda r: r.student)
    esc = html.escape
    head = "".join(f'<th title="{esc(e.title)}">{esc(e.id)}<br><small>{e.points} pt</small></th>'
                   for e in exercises)
    body = []
    for r in rows:
        cells = []
        for e in r.exercises:
            cls = "pass" if e.passed else ("miss" if e.passed is None else "fail")
            cells.append(f'<td class="{cls}" title="{esc(e.message or e.title)}">{e.earned}</td>')
        body.append(f"<tr><td>{esc(r.student)}</td>{''.join(cells)}<td>{r.total}</td>"
                    f"<td>{r.max}</td><td class=\"status-{esc(r.status)}\">{esc(r.status)}</td>"
                    f"<td>{esc(r.reason)}</td></tr>")
    rates = "".join(
        f"<td>{_rate(sum(1 for r in rows if r.exercises[i].passed), len(rows))}</td>"
        for i in range(len(exercises)))
    totals = [r.total for r in rows]
    top = exercises and sum(e.points for e in exercises)
    mean = f"{sum(totals) / len(totals):.1f}" if totals else "–"
    legend = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in STATUSES.items())
    titles = "".join(f"<li><b>{esc(e.id)}</b> ({e.points} pt): {esc(e.title)}</li>"
                     for e in exercises)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Gradebook — lab {esc(lab)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: center; }}
td:last-child {{ text-align: left; max-width: 40em; }}
td.pass {{ background: #d9f2d9; }} td.fail {{ background: #f8d7da; }}
td.miss {{ background: #eee; color: #777; }}
tr.rates td {{ font-weight: bold; background: #f4f4f4; }}
</style></head><body>
<h1>Lab {esc(lab)}: {len(rows)} submission(s)</h1>
<p>Mean total {mean} of {top}. Green: passed; red: failed; grey: not reached.
Hover a cell for the check's message.</p>
<table>
<thead><tr><th>student</th>{head}<th>total</th><th>max</th><th>status</th><th>reason</th></tr>
</thead>
<tbody>
{chr(10).join(body)}
<tr class="rates"><td>pass rate</td>{rates}<td colspan="4"></td></tr>
</tbody></table>
<h2>Exercises</h2><ul>{titles}</ul>
<h2>Statuses</h2><ul>{legend}</ul>
</body></html>
"""


def feedback_text(result: SubmissionResult) -> str:
    lines = [f"Lab {result.lab} — {result.student}",
             f"Score: {result.total} / {result.max}",
             f"Status: {result.status} ({STATUSES.get(result.status, '')})"]
    if result.reason:
        lines.append(f"Reason: {result.reason}")
    lines.append("")
    lines += [e.line for e in result.exercises]
    return "\n".join(lines) + "\n"


def write(out: Path, lab: str, results: Sequence[SubmissionResult]) -> dict[str, Path]:
    """Write the gradebook into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / CSV_NAME, "html": out / HTML_NAME, "feedback": out / FEEDBACK_DIR}
    paths["csv"].write_text(csv_text(lab, results), encoding="utf-8")
    paths["html"].write_text(html_text(lab, results), encoding="utf-8")
    paths["feedback"].mkdir(exist_ok=True)
    for old in paths["feedback"].glob("*.txt"):
        old.unlink()
    for r in results:
        (paths["feedback"] / f"{r.student}.txt").write_text(feedback_text(r), encoding="utf-8")
    return paths
