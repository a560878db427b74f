"""``jobslab grade``: flags in, library calls out (the logic is in :mod:`jobslab.grading`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """Examples:
  jobslab grade submissions/*.ipynb --lab 04
  jobslab grade submissions/ --lab 04 --out grades/lab-04 --workers 2 --timeout 60
  jobslab grade alice.ipynb bob.ipynb --lab 04 --backend selfhosted

Writes OUT/gradebook.csv, OUT/gradebook.html, OUT/feedback/<student>.txt and the executed
notebooks in OUT/executed/. Exit code 0 whenever grading ran, whatever the scores.
"""


def _range(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST, e.g. 21000-23000") \
            from None
    if not 1024 <= low < high <= 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1024 <= FIRST < LAST <= 65536")
    return low, high


def add_commands(sub: Any) -> None:
    from ._grade import DEFAULT_MAX_OUTPUT
    from ._sandbox import DEFAULT_PORT_RANGE

    p = sub.add_parser(
        "grade", help="grade lab submissions against their own stand-in",
        description="Execute each submission (papermill, kernel python3) in its own sandbox — "
        "own ports, own state dir, own working folder — score it with the lab's checks, and "
        "write a gradebook.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="notebooks, or folders of them")
    p.add_argument("--lab", required=True, help="the lab's number, e.g. 04")
    p.add_argument("--out", type=Path, default=None,
                   help="where the gradebook goes (default: grades/lab-NN)")
    p.add_argument("--workers", type=int, default=1, help="submissions run at once (default 1)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="per-cell time-out in seconds (default 60)")
    p.add_argument("--submission-timeout", type=float, default=600.0, metavar="S",
                   help="time-out of a whole submission in seconds (default 600)")
    p.add_argument("--backend", choices=("local", "selfhosted"), default="local",
                   help="the stand-in (default) or real Dapr self-hosted")
    p.add_argument("--ports", type=_range, default=DEFAULT_PORT_RANGE, metavar="FIRST-LAST",
                   help="ports handed to submissions, ten each (default %(default)s)")
    p.add_argument("--max-output", type=float, default=DEFAULT_MAX_OUTPUT / 2**20,
                   metavar="MB", help="stop a submission past this much output (default 10)")
    p.add_argument("--keep-going", action="store_true",
                   help="run every cell even after one raised (as nbval does)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checks import lab_id
    from . import GradingError, grade, write_gradebook

    try:
        lab = lab_id(args.lab)
        out = args.out or Path("grades") / f"lab-{lab}"
        results = grade(args.submissions, lab, workers=args.workers, cell_timeout=args.timeout,
                        timeout=args.submission_timeout, backend=args.backend,
                        port_range=args.ports, max_output=int(args.max_output * 2**20),
                        keep_going=args.keep_going, executed_dir=out / "executed",
                        progress=not args.no_progress and sys.stderr.isatty())
    except GradingError as err:
        print(f"jobslab grade: {err}", file=sys.stderr)
        return 2
    paths = write_gradebook(out, lab, results)
    for r in results:
        print(f"{r.student:<24} {r.total:>3}/{r.max:<3} {r.status}"
              + (f"  {r.reason}" if r.reason else ""))
    print(f"{len(results)} submission(s) of lab {lab} graded: {paths['csv']}, {paths['html']}, "
          f"{paths['feedback']}/")
    return 0
