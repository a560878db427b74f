"""Run a workbook script with the project's .venv, whatever `python3` launched it.

The scripts need jobslab's dependencies (nbformat, cron-descriptor …), which live in .venv
(`make lab` / `make test` create it). Called as `scripts/make-labs` from a shell, the shebang
finds the system Python; this re-executes the script under .venv's Python instead.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"


def reexec() -> None:
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve() or not python.exists():
        sys.path.insert(0, str(ROOT / "src"))
        return
    os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])
