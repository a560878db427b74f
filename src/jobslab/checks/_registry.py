"""The registry of exercises: which checks a lab has, their titles and their points.

A lab's checks live in one module, ``jobslab.checks.labNN`` (``lab04.py`` for lesson 04's lab),
imported on first use. Folders in ``$JOBSLAB_CHECKS_PATH`` (``os.pathsep``-separated) are
searched for ``labNN.py`` too, so tests and instructors can add labs without touching the
package (the tests' fixture lab lives in ``tests/support/lab90/``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import JobslabError

#: ``$JOBSLAB_CHECKS_PATH``: extra folders searched for ``labNN.py`` check modules.
ENV_CHECKS_PATH = "JOBSLAB_CHECKS_PATH"

_ID = re.compile(r"^(?P<lab>\d{2})\.(?P<number>[1-9]\d*)$")
_REGISTRY: dict[str, Exercise] = {}
_LOADED: set[str] = set()


class UnknownExercise(JobslabError, LookupError):
    """No check is registered under that exercise id (or its lab has no check module)."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lab: its id (``"04.2"``), title, points and check function."""

    id: str
    title: str
    points: int
    func: Callable[..., Any]

    @property
    def lab(self) -> str:
        """The lab's two digits (``"04"``)."""
        return self.id.split(".")[0]

    @property
    def number(self) -> int:
        """The exercise's number inside its lab (``2`` for ``"04.2"``)."""
        return int(self.id.split(".")[1])


def lab_id(lab: str | int) -> str:
    """The two-digit lab id of ``"04"``, ``4``, ``"4"``, ``"04-handlers"`` or ``"04.2"``."""
    match = re.match(r"^\s*(\d{1,2})(?:\D.*)?$", str(lab))
    if not match:
        raise UnknownExercise(f"{lab!r} is not a lab id: give its two digits, such as '04'")
    return f"{int(match[1]):02d}"


def exercise(exercise_id: str, *, title: str, points: int = 1
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the check of ``exercise_id`` (``"NN.k"``).

    The function takes keyword arguments from the notebook's check cell, inspects the live
    backend and returns to pass, or raises :class:`~jobslab.checks.Fail` with a hint aimed at
    the mistake. See docs/labs-and-grading.md#writing-a-check.
    """
    match = _ID.match(exercise_id)
    if not match:
        raise ValueError(f"exercise id {exercise_id!r} must look like '04.2' (lab, dot, number)")
    if not title or "\n" in title:
        raise ValueError(f"exercise {exercise_id}: the title must be one non-empty line")
    if points < 1:
        raise ValueError(f"exercise {exercise_id}: points must be 1 or more, got {points}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        old = _REGISTRY.get(exercise_id)
        if old is not None and (old.func.__module__, old.func.__qualname__) != (
                func.__module__, func.__qualname__):
            raise ValueError(f"exercise {exercise_id} is registered twice: "
                             f"{old.func.__module__}.{old.func.__qualname__} and "
                             f"{func.__module__}.{func.__qualname__}")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, points, func)
        return func

    return register


def _search_path() -> list[Path]:
    return [Path(p) for p in os.environ.get(ENV_CHECKS_PATH, "").split(os.pathsep) if p]


def load(lab: str | int) -> str:
    """Import the check module of ``lab`` (once); return the lab's two digits.

    Raises :class:`UnknownExercise` when no module ``jobslab.checks.labNN`` exists and none
    of ``$JOBSLAB_CHECKS_PATH`` holds a ``labNN.py``.
    """
    lab = lab_id(lab)
    if lab in _LOADED:
        return lab
    name = f"{__package__}.lab{lab}"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        for folder in _search_path():
            path = folder / f"lab{lab}.py"
            if path.is_file():
                module_name = f"jobslab_checks_lab{lab}"
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(module_name, None)
                    raise
                break
        else:
            if any(e.lab == lab for e in _REGISTRY.values()):  # registered by hand (tests)
                _LOADED.add(lab)
                return lab
            raise UnknownExercise(
                f"lab {lab} has no checks: no module jobslab.checks.lab{lab}"
                + (f" and no lab{lab}.py in ${ENV_CHECKS_PATH}" if _search_path() else "")
                + ". Is the lab number right?") from None
    _LOADED.add(lab)
    return lab


def exercises(lab: str | int) -> list[Exercise]:
    """Every exercise of ``lab``, in order (``"04.1"``, ``"04.2"``, …, ``"04.10"``).

    Example::

        [e.id for e in checks.exercises("04")]      # ['04.1', '04.2', '04.3']
        sum(e.points for e in checks.exercises("04"))
    """
    lab = load(lab)
    return sorted((e for e in _REGISTRY.values() if e.lab == lab), key=lambda e: e.number)


def get_exercise(exercise_id: str) -> Exercise:
    """The registered exercise ``exercise_id``; loads its lab's module on first use."""
    exercise_id = str(exercise_id).strip()
    match = _ID.match(exercise_id)
    if not match:
        raise UnknownExercise(
            f"{exercise_id!r} is not an exercise id: they look like '04.2' (lab, dot, number)")
    load(match["lab"])
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        known = ", ".join(e.id for e in exercises(match["lab"])) or "none"
        raise UnknownExercise(
            f"lab {match['lab']} has no exercise {exercise_id} (it has: {known})") from None
