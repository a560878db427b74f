"""``jobslab doctor``: what is installed, what is listening, what to fix.

A preflight in the spirit of navo-workshop's ``check_env.py``: every check says what it found
and, when something is wrong, exactly what to do. The first lesson runs it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata

from packaging.requirements import Requirement

from . import DAPR_VERSION, __version__, ports, settings
from .paths import display_path, state_dir

BACKENDS = settings.BACKENDS
#: External tools each backend needs, beyond Python.
BACKEND_TOOLS = {
    "local": (),
    "kind": ("docker", "kind", "kubectl", "helm"),
    "selfhosted": ("dapr",),
}


@dataclass(frozen=True)
class Check:
    """One preflight result."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok " if self.ok else "FIX"
        text = f"[{mark}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f"\n      -> {self.fix}"
        return text


def _python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check("python", ok, f"{v.major}.{v.minor}.{v.micro}",
                 "install Python 3.11 or newer, then run `make lab` again")


def _requirements() -> list[Check]:
    checks = []
    for text in metadata.requires("jobslab") or []:
        if "extra ==" in text:
            continue
        req = Requirement(text)
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            checks.append(Check(req.name, False, "not installed",
                                "run `make lab` (or `pip install -e .`) in the workbook folder"))
            continue
        ok = req.specifier.contains(installed, prereleases=True)
        checks.append(Check(req.name, ok, f"{installed} (wants {req.specifier or 'any'})",
                            f"pip install '{req}'  (or delete .venv and run `make lab`)"))
    return checks


def _kernel() -> Check:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
    except Exception as exc:  # any failure here is worth reporting as-is
        return Check("jupyter kernel", False, f"cannot list kernels ({exc})",
                     "pip install ipykernel")
    ok = "python3" in specs
    return Check("jupyter kernel", ok, "python3 available" if ok else "no python3 kernel",
                 "python -m ipykernel install --user --name python3")


def configured_ports() -> dict[int, str]:
    """The ports the next ``connect()``/``serve()`` will use: ``$DAPR_HTTP_PORT`` and
    ``$JOBSLAB_SCHEDULER_PORT`` when set, else Dapr's defaults 3500 and 50006."""
    http, scheduler = settings.dapr_http_port(), settings.scheduler_port()
    return {http: "Dapr HTTP port (first sidecar)" + _source(settings.ENV_DAPR_HTTP_PORT),
            scheduler: "Scheduler port" + _source(settings.ENV_SCHEDULER_PORT)}


def _source(variable: str) -> str:
    return f", from ${variable}" if os.environ.get(variable) else ""


def _ports() -> list[Check]:
    checks = []
    for port, what in configured_ports().items():
        state = "free" if ports.can_bind(port) else (
            f"in use by {ports.holder(port)}; `jobslab status` shows whether jobslab holds it")
        checks.append(Check(f"port {port}", True, f"{what}: {state}"))
    return checks


def _state(explicit: str | None) -> Check:
    path = state_dir(explicit)
    shown = display_path(path)
    try:
        probe = path / ".doctor-probe"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return Check("state dir", False, f"{shown} is not writable ({exc.strerror})",
                     "set JOBSLAB_HOME to a writable folder, or pass --state-dir")
    return Check("state dir", True, shown)


def _backend() -> list[Check]:
    name = settings.configured_backend()  # what the next connect() picks
    if name not in BACKENDS:
        return [Check("backend", False, f"JOBSLAB_BACKEND={name!r} is not a backend",
                      f"use one of {', '.join(BACKENDS)} (or unset it for 'local')")]
    checks = [Check("backend", True, f"{name} (Dapr {DAPR_VERSION})")]
    for tool in BACKEND_TOOLS[name]:
        found = shutil.which(tool)
        checks.append(Check(tool, bool(found), "found" if found else "not on PATH",
                            "see docs/troubleshooting.md for how to install it"))
    return checks


def run_checks(state: str | None = None) -> list[Check]:
    """Every preflight check, in the order a learner should fix them."""
    return [
        _python(),
        Check("jobslab", True, __version__),
        *_requirements(),
        _kernel(),
        _state(state),
        *_backend(),
        *_ports(),
    ]


def report(state: str | None = None) -> bool:
    """Print the checks (for notebooks and the CLI); ``True`` when nothing needs fixing."""
    checks = run_checks(state)
    for check in checks:
        print(check.line())
    bad = [c for c in checks if not c.ok]
    print("All good." if not bad else f"{len(bad)} thing(s) to fix, see above.")
    return not bad


def _cmd(args: argparse.Namespace) -> int:
    return 0 if report(args.state_dir) else 1


_WHAT_ANSWERS = {
    "local": "the local stand-in for daprd + Scheduler",
    "selfhosted": f"real daprd + scheduler {DAPR_VERSION} from `dapr init --slim`",
    "kind": f"real Dapr {DAPR_VERSION} in the kind cluster of `jobslab cluster up`",
}


def banner(notebook: str) -> str:
    """The one line ``make lab`` prints before JupyterLab's own output: which notebook opens
    and which Dapr will answer it."""
    name = settings.configured_backend()
    if name not in _WHAT_ANSWERS:
        return (f"Dapr Jobs Lab: opening {notebook}; JOBSLAB_BACKEND={name!r} is not a backend "
                f"(use {', '.join(BACKENDS)}), so connect() will refuse it: `make doctor`.")
    ports = (f", Dapr HTTP port {settings.dapr_http_port()}, Scheduler port "
             f"{settings.scheduler_port()}" if name != "kind" else "")
    return (f"Dapr Jobs Lab: opening {notebook} on the {name} backend "
            f"({_WHAT_ANSWERS[name]}{ports}).")


def _banner_cmd(args: argparse.Namespace) -> int:
    print(banner(args.notebook), flush=True)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="what is installed, what is listening, what to fix")
    p.add_argument("--state-dir", default=None, help="state directory to check")
    p.set_defaults(func=_cmd)
    p = sub.add_parser("lab-banner", help="the line `make lab` prints: which notebook opens, "
                       "on which backend", formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="Examples:\n  jobslab lab-banner notebooks/00-index.ipynb\n"
                       "  JOBSLAB_BACKEND=selfhosted jobslab lab-banner notebooks/00-index.ipynb\n")
    p.add_argument("notebook", help="the notebook JupyterLab opens")
    p.set_defaults(func=_banner_cmd)
