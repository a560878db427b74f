"""Grade submissions of one lab: each in its own sandbox, in parallel, never trusting them.

:func:`grade` reads every submission (a corrupt file or a notebook of another kernel is an
outcome, not a crash), runs each in a runner process (``_runner``) of a process group of its
own, inside a sandbox (``_sandbox``: own ports, state dir, working folder, guard), watches its
wall time and its log size, reads back what the checks recorded, and cleans up. Reasons are
made deterministic (no paths, ports or addresses), so regrading gives the same gradebook.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import checks
from . import _guard
from ._errors import GradingError
from ._sandbox import DEFAULT_PORT_RANGE, PortBlocks, Sandbox

#: Statuses, best first; the gradebook's ``status`` column holds one of them.
STATUSES = {
    "graded": "ran to the end",
    "error": "a cell raised",
    "exited": "a cell called sys.exit()",
    "cell-timeout": "a cell ran past the per-cell time-out",
    "timeout": "the submission ran past its whole time-out",
    "kernel-died": "the kernel died",
    "output-flood": "too much output",
    "blocked": "reached for another submission's ports or processes",
    "invalid": "not a notebook",
    "grader-error": "the grader failed on it",
}
NOT_REACHED = "not reached"
#: Bytes of output (cell outputs, or the runner's own log) past which a run is stopped.
DEFAULT_MAX_OUTPUT = 10 * 1024 * 1024
#: The most of a results file that is read (a submission could write a huge one).
_MAX_RESULTS = 1024 * 1024


@dataclass
class ExerciseResult:
    """One exercise of one submission: points earned and the message its feedback shows."""

    exercise: str
    title: str
    points: int
    earned: int
    passed: bool | None  # None: not reached
    message: str

    @property
    def line(self) -> str:
        if self.passed:
            return f"{checks.PASS_MARK} {self.exercise} {self.title}"
        if self.passed is None:
            return f"– {self.exercise} {self.title} — {self.message}"
        return f"{checks.FAIL_MARK} {self.exercise} {self.title} — {self.message}"


@dataclass
class SubmissionResult:
    """One row of the gradebook."""

    student: str
    lab: str
    exercises: list[ExerciseResult]
    status: str
    reason: str
    source: str = ""
    seconds: float = 0.0
    executed: Path | None = None

    @property
    def total(self) -> int:
        return sum(e.earned for e in self.exercises)

    @property
    def max(self) -> int:
        return sum(e.points for e in self.exercises)


@dataclass
class Submission:
    path: Path
    student: str


@dataclass
class Settings:
    lab: str
    cell_timeout: float = 60.0
    timeout: float = 600.0
    backend: str = "local"
    port_range: tuple[int, int] = DEFAULT_PORT_RANGE
    max_output: int = DEFAULT_MAX_OUTPUT
    keep_going: bool = False
    executed_dir: Path | None = None
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


# -- submissions -----------------------------------------------------------------------------

def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", name).strip("._") or "submission"


def find_submissions(paths: Iterable[str | os.PathLike[str]]) -> list[Submission]:
    """The submissions to grade: notebook files, and the ``*.ipynb`` files of folders.

    A student is named after the file's stem; when stems repeat (``alice/lab.ipynb``,
    ``bob/lab.ipynb``) after the folder and the stem.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.ipynb")
                                if ".ipynb_checkpoints" not in p.parts))
        elif path.exists():
            files.append(path)
        else:
            raise GradingError(f"no such submission: {path}")
    files = sorted(dict.fromkeys(p.resolve() for p in files))
    if not files:
        raise GradingError("no submissions (*.ipynb) to grade")
    stems: dict[str, int] = {}
    for path in files:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    subs = []
    seen: set[str] = set()
    for path in files:
        name = path.stem if stems[path.stem] == 1 else f"{path.parent.name}-{path.stem}"
        name = _safe(name)
        while name in seen:
            name += "_"
        seen.add(name)
        subs.append(Submission(path, name))
    return sorted(subs, key=lambda s: s.student)


def _read_notebook(path: Path) -> tuple[Any | None, str, str]:
    """The notebook (or None), the status if unusable, and a reason or note."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "invalid", "not a notebook: the file is not UTF-8 text"
    except OSError as err:
        return None, "invalid", f"cannot read the file: {err.strerror}"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        return None, "invalid", f"not a notebook: corrupt JSON ({err.msg}: line {err.lineno} " \
                                f"column {err.colno})"
    if not isinstance(raw, dict) or "cells" not in raw:
        return None, "invalid", "not a notebook: the JSON has no cells"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, "invalid", f"not a valid notebook: {first[:200]}"
    note = ""
    kernel = (nb.metadata.get("kernelspec") or {}).get("name")
    if kernel != "python3":
        note = (f"the notebook names kernel {kernel!r}; it ran on python3"
                if kernel else "the notebook names no kernel; it ran on python3")
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb, "", note


# -- one submission ----------------------------------------------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def _ports_reached(violations: list[dict[str, Any]], port_range: tuple[int, int]) -> str:
    """What the refused connections reached for, in words that do not depend on which ports
    this run was handed (the gradebook is the same on a regrade); the executed notebook
    names the ports."""
    first, last = port_range
    inside = {isinstance(v.get("target"), int) and first <= v["target"] < last
              for v in violations if v.get("kind") == "port"}
    if not inside:
        return ""
    whose = [what for flag, what in ((True, "another submission's ports"),
                                     (False, "ports of other processes on this machine"))
             if flag in inside]
    return "tried to reach " + " and ".join(whose)


def _sanitize(text: str, sandbox: Sandbox | None) -> str:
    text = " ".join(str(text).split())
    if sandbox is not None:
        text = text.replace(str(sandbox.root), "<sandbox>")
        for port in sorted(sandbox.own_ports, reverse=True):
            text = re.sub(rf"(?<!\d){port}(?!\d)", "<port>", text)
    text = _ADDRESS.sub("0x…", text)
    return text if len(text) <= 300 else text[:299] + "…"


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    """The last record of each exercise in the results file (bad lines are skipped)."""
    found: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return found
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read(_MAX_RESULTS)
    for line in text.splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            record = json.loads(line)
            found[str(record["exercise"])] = record
    return found


def _printed_passes(executed: Path | None) -> set[str] | None:
    """Exercise ids whose pass line a check cell printed, in the executed notebook
    (None when there is no executed notebook to read)."""
    if executed is None or not executed.exists():
        return None
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        called = set(re.findall(r"check\(\s*['\"](\d{2}\.\d+)['\"]", source))
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = "".join(out.get("text", ""))
                for ex in called:
                    if f"{checks.PASS_MARK} {ex} " in text:
                        found.add(ex)
    return found


def _score(lab: str, records: dict[str, dict[str, Any]], printed: set[str] | None,
           why_stopped: str) -> tuple[list[ExerciseResult], list[str]]:
    results, dropped = [], []
    for ex in checks.exercises(lab):
        record = records.get(ex.id)
        if record is None:
            results.append(ExerciseResult(ex.id, ex.title, ex.points, 0, None,
                                          NOT_REACHED + (f" ({why_stopped})" if why_stopped
                                                         else "")))
            continue
        passed = bool(record.get("passed"))
        message = str(record.get("message") or "")
        if passed and printed is not None and ex.id not in printed:
            passed, message = False, ("a pass was recorded without a check cell printing it; "
                                      "not counted")
            dropped.append(ex.id)
        results.append(ExerciseResult(ex.id, ex.title, ex.points, ex.points if passed else 0,
                                      passed, " ".join(message.split())[:300]))
    return results, dropped


def _injected_at(executed: Path) -> int | None:
    """Where papermill put its injected-parameters cell in the executed notebook."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return None
    for i, cell in enumerate(cells):
        if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
            return i
    return None


def _cell_label(index: int | None, injected: int | None) -> str:
    """``cell N``, counted in the learner's notebook (1-based, markdown included)."""
    if index is None:
        return "a cell"
    if injected is not None:
        if index == injected:
            return "the injected parameters cell"
        if index > injected:
            index -= 1
    return f"cell {index + 1}"


def _reason(outcome: dict[str, Any], injected: int | None, sandbox: Sandbox,
            settings: Settings) -> str:
    status = outcome.get("status")
    where = _cell_label(outcome.get("cell"), injected)
    if status == "completed":
        return ""
    if status == "error":
        text = f"{outcome.get('ename', 'Error')}: {outcome.get('evalue', '')}".strip().rstrip(":")
        return _sanitize(f"{where} raised {text}", sandbox)
    if status == "exited":
        return f"{where} called sys.exit(); the rest did not run"
    if status == "cell-timeout":
        return f"{where} ran longer than the per-cell time-out ({settings.cell_timeout:g} s)"
    if status == "kernel-died":
        return f"the kernel died in {where} (os._exit, exit(), a signal or a crash)"
    if status == "output-flood":
        return (f"{where} printed more than {settings.max_output // (1024 * 1024)} MB of "
                "output; the run was stopped")
    if status == "kernel-start":
        return "the python3 kernel did not start"
    return _sanitize(f"the runner failed: {outcome.get('ename', '')}: "
                     f"{outcome.get('evalue', '')}", sandbox)


_STATUS_OF = {"completed": "graded", "error": "error", "exited": "exited",
              "cell-timeout": "cell-timeout", "kernel-died": "kernel-died",
              "output-flood": "output-flood", "kernel-start": "grader-error",
              "runner-error": "grader-error"}


def _watch(proc: subprocess.Popen[bytes], log: Path, settings: Settings) -> str:
    """Wait for the runner; '' when it ended by itself, else why it was killed."""
    deadline = time.monotonic() + settings.timeout
    while True:
        try:
            proc.wait(timeout=0.2)
            return ""
        except subprocess.TimeoutExpired:
            pass
        why = ""
        if time.monotonic() > deadline:
            why = "timeout"
        else:
            with contextlib.suppress(OSError):
                if log.stat().st_size > settings.max_output:
                    why = "output-flood"
        if why:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            return why


def grade_one(sub: Submission, settings: Settings, blocks: PortBlocks,
              site_dir: Path) -> SubmissionResult:
    """Grade one submission in its own sandbox; never raises for anything it does."""
    started = time.monotonic()
    lab = settings.lab
    nb, bad, note = _read_notebook(sub.path)
    if nb is None:
        exercises, _ = _score(lab, {}, None, "the notebook could not be read")
        return SubmissionResult(sub.student, lab, exercises, bad, note, str(sub.path))
    import nbformat

    try:
        base = blocks.take()
    except GradingError as err:
        exercises, _ = _score(lab, {}, None, "the grader failed")
        return SubmissionResult(sub.student, lab, exercises, "grader-error", str(err),
                                str(sub.path))
    try:
        sandbox = Sandbox(Path(tempfile.mkdtemp(prefix=f"{sub.student[:20]}-",
                                                dir=settings.scratch)),
                          base, settings.backend, settings.port_range, site_dir).create()
    except OSError as err:
        blocks.give_back(base)
        exercises, _ = _score(lab, {}, None, "the grader failed")
        return SubmissionResult(sub.student, lab, exercises, "grader-error",
                                f"cannot create its sandbox: {err.strerror}", str(sub.path))
    executed = sandbox.root / "executed.ipynb"
    killed, outcome = "", {}
    try:
        notebook = sandbox.work / sub.path.name
        nbformat.write(nb, notebook)
        spec = {"input": str(notebook), "output": str(executed), "cwd": str(sandbox.work),
                "parameters": {"DAPR_HTTP_PORT": sandbox.dapr_http_port},
                "cell_timeout": settings.cell_timeout, "max_output": settings.max_output,
                "keep_going": settings.keep_going, "outcome": str(sandbox.root / "outcome.json")}
        (sandbox.root / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        log = sandbox.root / "runner.log"
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jobslab.grading._runner",
                 str(sandbox.root / "spec.json")],
                cwd=sandbox.work, env=sandbox.env(), stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            killed = _watch(proc, log, settings)
        with contextlib.suppress(OSError, ValueError):
            outcome = json.loads((sandbox.root / "outcome.json").read_text(encoding="utf-8"))
        records = _read_results(sandbox.results)
        violations = _read_results_lines(sandbox.violations)
        executed_copy: Path | None = None
        if (settings.executed_dir is not None and executed.exists()
                and executed.stat().st_size <= 4 * settings.max_output):
            settings.executed_dir.mkdir(parents=True, exist_ok=True)
            executed_copy = settings.executed_dir / f"{sub.student}.ipynb"
            shutil.copyfile(executed, executed_copy)
        printed = None if killed else _printed_passes(executed)
        if killed:
            status = killed
            reason = (f"ran longer than {settings.timeout:g} s in all; stopped"
                      if killed == "timeout" else
                      f"wrote more than {settings.max_output // (1024 * 1024)} MB of output; "
                      "stopped")
        elif not outcome:
            status, reason = "kernel-died", ("the run ended without a word: its runner was "
                                             "killed (a signal from the notebook?)")
        else:
            status = _STATUS_OF.get(outcome.get("status", ""), "grader-error")
            reason = _reason(outcome, _injected_at(executed), sandbox, settings)
            if outcome.get("kept_going"):
                reason = f"{reason} (the other cells ran on)"
        if violations:
            kinds = sorted({str(v.get("kind")) for v in violations})
            blocked = _ports_reached(violations, settings.port_range)
            if "kill" in kinds:
                blocked = (blocked + " and " if blocked else "tried to ") + \
                    "signal processes that are not its own"
            if "file" in kinds:
                blocked = (blocked + " and " if blocked else "tried to ") + \
                    "touch files of other submissions or of the grader"
            reason = f"{blocked} (blocked)" + (f"; {reason}" if reason else "")
            status = "blocked"
        why_stopped = reason if status != "graded" else ""
        exercises, dropped = _score(lab, records, printed, _sanitize(why_stopped, sandbox))
        if dropped:
            reason = "; ".join(filter(None, [reason, f"passes of {', '.join(dropped)} were "
                                                     "recorded but never printed by a check "
                                                     "cell: not counted"]))
        reason = "; ".join(filter(None, [note, _sanitize(reason, sandbox)]))
        return SubmissionResult(sub.student, lab, exercises, status, reason, str(sub.path),
                                time.monotonic() - started, executed_copy)
    except Exception as err:  # the grader's own failure: record it and go on
        exercises, _ = _score(lab, {}, None, "the grader failed")
        return SubmissionResult(sub.student, lab, exercises, "grader-error",
                                _sanitize(f"{type(err).__name__}: {err}", sandbox),
                                str(sub.path), time.monotonic() - started)
    finally:
        sandbox.cleanup()
        blocks.give_back(base)


def _read_results_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle.read(_MAX_RESULTS).splitlines():
                with contextlib.suppress(ValueError):
                    value = json.loads(line)
                    if isinstance(value, dict):
                        out.append(value)
    return out


def ephemeral_ports() -> tuple[int, int]:
    """The range the OS picks ports from for ``bind(0)`` (Linux's default if unknown)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _check_range(port_range: tuple[int, int]) -> None:
    first, last = port_range
    low, high = ephemeral_ports()
    if first <= high and last > low:
        raise GradingError(
            f"the port range {first}-{last} overlaps the ports the OS hands out ({low}-{high}): "
            "an app port picked there could fall into another submission's block; give a "
            f"range below {low} (--ports), such as {DEFAULT_PORT_RANGE[0]}-"
            f"{DEFAULT_PORT_RANGE[1]}")


# -- many submissions --------------------------------------------------------------------------

def grade(submissions: Sequence[str | os.PathLike[str]], lab: str | int, *,
          workers: int = 1, cell_timeout: float = 60.0, timeout: float = 600.0,
          backend: str = "local", port_range: tuple[int, int] = DEFAULT_PORT_RANGE,
          max_output: int = DEFAULT_MAX_OUTPUT, keep_going: bool = False,
          executed_dir: str | os.PathLike[str] | None = None,
          scratch: str | os.PathLike[str] | None = None,
          on_result: Callable[[SubmissionResult], None] | None = None,
          progress: bool = False) -> list[SubmissionResult]:
    """Grade ``submissions`` (notebooks, or folders of them) of ``lab``; one result each,
    sorted by student. Raises :class:`GradingError` only when grading cannot start.

    Each submission runs in a sandbox folder under ``scratch`` (default: the temp dir),
    removed afterwards; ``executed_dir`` keeps the executed notebooks.
    """
    lab = checks.lab_id(lab)
    _check_range(port_range)
    try:
        if not checks.exercises(lab):
            raise GradingError(f"lab {lab} has no exercises registered")
    except checks.UnknownExercise as err:
        raise GradingError(str(err)) from None
    subs = find_submissions(submissions)
    settings = Settings(lab, float(cell_timeout), float(timeout), backend, port_range,
                        int(max_output), keep_going,
                        Path(executed_dir) if executed_dir is not None else None)
    if scratch is not None:
        settings.scratch = Path(scratch)
    blocks = PortBlocks(*port_range)
    results: list[SubmissionResult] = []
    settings.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobslab-grade-", dir=settings.scratch) as run_dir:
        # The run's folder is the guard's fence: the site folder and one sandbox each.
        settings.scratch = Path(run_dir)
        site_dir = settings.scratch / _guard.SITE
        site_dir.mkdir()
        (site_dir / "sitecustomize.py").write_text(_guard.SITECUSTOMIZE, encoding="utf-8")
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(subs), desc=f"grading lab {lab}", unit="submission",
                       file=sys.stderr, leave=False)
        lock = threading.Lock()
        try:
            with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
                futures = [pool.submit(grade_one, s, settings, blocks, site_dir) for s in subs]
                for future in as_completed(futures):
                    result = future.result()
                    with lock:
                        results.append(result)
                        if on_result is not None:
                            on_result(result)
                        if bar is not None:
                            bar.set_postfix_str(result.student[:20])
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    return sorted(results, key=lambda r: r.student)
