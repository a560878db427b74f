"""Where jobslab keeps its state: store, pidfiles, logs.

``--state-dir``, else ``$JOBSLAB_HOME``, else ``.jobslab/`` at the repository root (found by
walking up from the current directory), else ``~/.jobslab``. Two state dirs are two
independent installations; graders rely on that.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "JOBSLAB_HOME"


def repo_root(start: Path | None = None) -> Path | None:
    """The workbook checkout containing ``start`` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
            return candidate
    return None


def state_dir(explicit: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
    """Resolve the state directory and (by default) create it."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get(ENV_HOME):
        path = Path(os.environ[ENV_HOME])
    else:
        root = repo_root()
        path = root / ".jobslab" if root else Path.home() / ".jobslab"
    path = path.expanduser().resolve()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a learner should see it: relative to the workbook, else with ``~``.

    Notebook outputs are committed, so they must not carry a machine's absolute paths.
    """
    resolved = Path(path).expanduser().resolve()
    root = repo_root()
    if root is not None:
        try:
            return str(resolved.relative_to(root)) or "."
        except ValueError:
            pass
    try:
        return "~/" + str(resolved.relative_to(Path.home()))
    except ValueError:
        return str(resolved)
