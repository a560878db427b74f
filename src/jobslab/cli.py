"""The ``jobslab`` command: a thin layer that turns flags into library calls.

Verbs and flags follow the Dapr CLI where Dapr has them (``run --app-id --app-port
--dapr-http-port --scheduler-host-address --resources-path``). Each area of the library
registers its own sub-commands, so this module holds no behaviour of its own.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import DAPR_VERSION, __version__

# Modules that contribute sub-commands through ``add_commands(subparsers)``.
_COMMAND_MODULES = (
    "jobslab.local.cli",
    "jobslab.cluster.cli",
    "jobslab.doctor",
    "jobslab.grading.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobslab",
        description="Dapr Jobs Lab: a local Dapr Jobs API stand-in, and the tools of the "
        "workbook.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"jobslab {__version__} (imitates Dapr {DAPR_VERSION})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # that area is not built yet
                continue
            raise
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
