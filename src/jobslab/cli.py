"""The ``jobslab`` command: a thin layer that turns flags into library calls.

Verbs and flags follow the Dapr CLI where Dapr has them (``run -a/--app-id -p/--app-port
-H/--dapr-http-port --scheduler-host-address --resources-path``; ``scheduler list | get |
delete | delete-all | export | import`` as ``dapr scheduler``). Each area of the library
registers its own sub-commands, so this module holds no behaviour of its own. Every command's
``--help`` ends with an "Examples:" block: the area's own ``epilog``, else one from
:data:`EXAMPLES` here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from . import DAPR_VERSION, __version__

# Modules that contribute sub-commands through ``add_commands(subparsers)``.
_COMMAND_MODULES = (
    "jobslab.local.cli",
    "jobslab.schedulercli",
    "jobslab.cluster.cli",
    "jobslab.doctor",
    "jobslab.grading.cli",
)

#: "Examples:" blocks for commands whose module gives none, by ``prog``.
EXAMPLES = {
    "jobslab": """Examples:
  jobslab up                                  # the stand-in Scheduler, in the background
  jobslab run -a myapp -p 8000 -- python app.py
  jobslab scheduler list                      # like `dapr scheduler list`
  jobslab down
  jobslab COMMAND --help                      # each command's flags and examples
""",
    "jobslab cluster": """Examples:
  jobslab cluster up
  jobslab cluster status
  jobslab cluster forward --app-id myapp
  jobslab cluster down
""",
    "jobslab cluster up": """Examples:
  jobslab cluster up                          # idempotent: a second run checks and returns
  jobslab cluster up --name dapr-jobs
""",
    "jobslab cluster down": """Examples:
  jobslab cluster down                        # the only clean reset of the kind backend
""",
    "jobslab cluster status": """Examples:
  jobslab cluster status
""",
    "jobslab cluster forward": """Examples:
  jobslab cluster forward --app-id myapp      # replica i on 127.0.0.1:3500+i until Ctrl-C
  jobslab cluster forward --app-id myapp --dapr-http-port 3600
  jobslab cluster forward --stop
""",
    "jobslab doctor": """Examples:
  jobslab doctor
  jobslab doctor --state-dir /tmp/lab2
""",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help keeps the "Examples:" block as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        if not self.epilog:
            self.epilog = EXAMPLES.get(self.prog)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    # `jobslab scheduler ...` on real Dapr runs `dapr scheduler` with these same arguments.
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
