"""``jobslab scheduler serve | list | get | delete | delete-all | export | import``.

The job commands are shaped like the Dapr CLI's ``dapr scheduler`` (Dapr CLI 1.16.3 and
newer; 1.18.0 is the release that goes with Dapr 1.18.3), so what a learner types here works
unchanged against real Dapr. Copied from dapr/cli at v1.18.0:

- ``cmd/scheduler/scheduler.go``: the flags every verb shares (``-k/--kubernetes``,
  ``-n/--namespace`` default ``default``, ``--scheduler-namespace`` default ``dapr-system``),
  ``-o/--output`` with ``short|wide|yaml|json`` and its error text, ``--filter``
  ``all|app|actor|workflow|activity``, and the alias ``sched``.
- ``cmd/scheduler/{list,get,delete,deleteall,export,import}.go``: verbs, their aliases
  (``get``: ``g ge``; ``delete``: ``d del``; ``delete-all``: ``da delall``), arguments,
  examples, ``export -o/--output-file`` and ``import -f/--input-file`` (both required), and the
  lines printed ("Deleted ... in namespace '...'.", "Export to '...' complete.").
- ``pkg/scheduler/list.go``: the columns. Short: ``NAME BEGIN COUNT LAST TRIGGER``; wide (and
  the structure of yaml/json): ``NAMESPACE NAME BEGIN EXPIRATION SCHEDULE DUE TIME TTL REPEATS
  COUNT LAST TRIGGER``; rows sorted by namespace, begin, name; "No jobs found in namespace".
- ``pkg/scheduler/scheduler.go`` ``parseJob``/``parseJobKey``: a job's name is
  ``app/<app-id>/<job>``; BEGIN is its dueTime, else its creation; times are truncated to the
  second; the key errors word for word.
- ``pkg/scheduler/{get,delete,deleteall}.go``: not-found errors, and which keys
  ``delete-all`` takes (``all``, ``app``, ``app/<app-id>``, ``actor/...``, ``workflow/...``).
- ``pkg/scheduler/exportimport.go``: an export holds every job and every counter keyed by
  their etcd keys, refuses to overwrite a file, and an import puts them back.
- ``utils/utils.go``: ``HumanizeDuration`` (BEGIN ``+1.50s``/``-3.2m``, LAST TRIGGER
  ``-2.00s``), ``WriteTable`` (left-aligned columns two spaces apart; a column blank in every
  row is left out) and ``PrintDetail`` (yaml, or json indented by two spaces).

Where the stand-in differs: it has no actor reminders or workflows (their keys parse, and are
never found); the export file is JSON, not Go ``gob`` of etcd protobufs (see
:data:`EXPORT_KIND`), so files do not move between the stand-in and real Dapr.

On the real-Dapr backends (``JOBSLAB_BACKEND=selfhosted``; ``-k/--kubernetes`` or
``JOBSLAB_BACKEND=kind``) the same command line goes to the installed ``dapr`` CLI. Self-hosted,
``dapr scheduler`` reads the Scheduler's embedded etcd at ``localhost:2379`` and has no flag to
change that (``pkg/scheduler/scheduler.go`` ``EtcdClient``); this project's self-hosted
Scheduler has its etcd on a port of its own (``<state dir>/selfhosted/ports.json``), so while
``dapr`` runs, jobslab relays ``localhost:2379`` to it. With ``-k``, ``dapr`` port-forwards
``dapr-scheduler-server-0`` in ``--scheduler-namespace`` itself, in kubectl's current context
(``kind-dapr-jobs`` after ``jobslab cluster up``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import pins, settings
from .errors import JobslabError
from .paths import state_dir as resolve_state_dir
from .schedules._gotime import format_rfc3339, go_quote, parse_rfc3339

#: The Dapr CLI release that goes with Dapr 1.18.3, and the first with ``dapr scheduler``
#: (dapr/cli tags: ``cmd/scheduler/`` is in v1.16.3 and v1.17.0, not in v1.16.2).
DAPR_CLI_VERSION = pins.DAPR_CLI_VERSION
DAPR_CLI_MINIMUM = "1.16.3"
INSTALL_URL = "https://docs.dapr.io/getting-started/install-dapr-cli/"
#: Where ``dapr scheduler`` looks for the self-hosted Scheduler's etcd (hard-coded in dapr/cli
#: ``pkg/scheduler/scheduler.go``: ``getEtcdClient("localhost:2379")``).
DAPR_CLI_ETCD_PORT = 2379

OUTPUTS = ("short", "wide", "yaml", "json")
FILTERS = ("all", "app", "actor", "workflow", "activity")

#: ``kind`` of a jobslab export file. The file is JSON shaped like dapr/cli's ``ExportFile``
#: (``pkg/scheduler/exportimport.go``: ``Jobs`` and ``Counters``, maps from etcd key to the
#: stored value)::
#:
#:     {"kind": "jobslab-scheduler-export", "version": 1,
#:      "jobs": {"dapr/jobs/app||<ns>||<app-id>||<name>": {
#:          "begin": {"start": T} | {"dueTime": T},   # stored.Job's begin (one of the two)
#:          "expiration": T,                          # from ttl; absent without one
#:          "created": T,                             # jobslab: the creation instant
#:          "job": {"schedule", "dueTime", "ttl", "repeats", "data", "failurePolicy"}}},
#:      "counters": {"dapr/counters/app||<ns>||<app-id>||<name>": {
#:          "count": N, "lastTrigger": T, "attempts": N,   # stored.Counter
#:          "tick": T, "nextAttempt": T}}}                  # jobslab: the tick being tried
#:
#: ``T`` is RFC 3339 in UTC to the nanosecond; ``data`` is the job's data as the Jobs API
#: stored it (JSON text); fields a job does not have are left out. As in Dapr, a job has a
#: counter once it has been triggered; without one, its first tick is computed again.
EXPORT_KIND = "jobslab-scheduler-export"
EXPORT_VERSION = 1
_JOB_PREFIX = "dapr/jobs/app||"
_COUNTER_PREFIX = "dapr/counters/app||"

#: The prefixes of dapr/cli ``pkg/print`` ``InfoStatusEvent`` and ``FailureStatusEvent``.
_INFO = "ℹ️  "
_FAIL = "❌  "

_COMMON_EXAMPLES = f"""
Every verb takes -n/--namespace (default "default"). On the stand-in it finds the Scheduler
that `jobslab up` started in --state-dir; with JOBSLAB_BACKEND=selfhosted, or -k (or
JOBSLAB_BACKEND=kind), the same command line runs `dapr scheduler ...` (Dapr CLI
{DAPR_CLI_VERSION}).
"""

_EXAMPLES = {
    "scheduler": """Examples:
  jobslab scheduler list
  jobslab scheduler get app/myapp/myjob -o yaml
  jobslab scheduler delete-all app/myapp
  jobslab scheduler export -o jobs.json && jobslab scheduler import -f jobs.json
  jobslab scheduler serve --port 50006      # the stand-in Scheduler in the foreground
""" + _COMMON_EXAMPLES,
    "serve": """Examples:
  jobslab scheduler serve                   # 127.0.0.1:50006, state in .jobslab/
  jobslab scheduler serve --port 50007 --state-dir /tmp/lab2
(`jobslab up` starts the same Scheduler in the background.)
""",
    "list": """Examples:
  jobslab scheduler list
  jobslab scheduler list -o wide
  jobslab scheduler list -n default -o json
  jobslab scheduler list --filter app
  JOBSLAB_BACKEND=selfhosted jobslab scheduler list     # runs `dapr scheduler list`
  jobslab scheduler list -k                             # runs `dapr scheduler list -k`
""",
    "get": """Examples:
  jobslab scheduler get app/myapp/myjob
  jobslab scheduler get app/myapp/job1 app/myapp/job2 -o wide
  jobslab scheduler get app/myapp/myjob -o json
""",
    "delete": """Examples:
  jobslab scheduler delete app/myapp/myjob
  jobslab scheduler delete app/myapp/job1 app/myapp/job2 -n default
""",
    "delete-all": """Examples:
  jobslab scheduler delete-all all
  jobslab scheduler delete-all app
  jobslab scheduler delete-all app/myapp
""",
    "export": """Examples:
  jobslab scheduler export -o jobs.json
(Every job of every namespace, with its counter; the file must not exist yet.)
""",
    "import": """Examples:
  jobslab scheduler import -f jobs.json
(Jobs of the same name are replaced; other jobs are left alone.)
""",
}


class CliError(JobslabError):
    """A one-line failure; printed as ``❌  message``, exit code 1."""


# --- the parser -------------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    sched = sub.add_parser(
        "scheduler", aliases=["sched"],
        help="jobs in the Scheduler, like `dapr scheduler`; `serve` runs the stand-in",
        description="Scheduler management commands, shaped like `dapr scheduler` (Dapr CLI "
        f"{DAPR_CLI_MINIMUM}+).\n`jobslab scheduler serve` runs the stand-in Scheduler in the "
        "foreground.",
        epilog=_EXAMPLES["scheduler"], formatter_class=argparse.RawDescriptionHelpFormatter)
    # `jobslab scheduler --port N` ran the Scheduler before `serve` existed: say where it went.
    sched.add_argument("--port", dest="legacy_port", help=argparse.SUPPRESS)
    sched.add_argument("--host", dest="legacy_host", help=argparse.SUPPRESS)
    sched.add_argument("--state-dir", dest="legacy_state_dir", help=argparse.SUPPRESS)
    verbs = sched.add_subparsers(dest="scheduler_command", metavar="VERB")

    def verb(name: str, help: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        return verbs.add_parser(name, aliases=list(aliases), help=help, description=help,
                                epilog=_EXAMPLES[name],
                                formatter_class=argparse.RawDescriptionHelpFormatter)

    from .local import DEFAULT_HOST, DEFAULT_SCHEDULER_PORT

    p = verb("serve", "run the stand-in Scheduler in the foreground (Ctrl-C stops it)")
    _state(p)
    p.add_argument("--port", type=int, default=DEFAULT_SCHEDULER_PORT)
    p.add_argument("--host", default=DEFAULT_HOST, help="bind address (default 127.0.0.1)")
    p.set_defaults(func=_serve)

    p = verb("list", "List scheduled jobs in Scheduler.")
    _common(p)
    _output(p)
    p.add_argument("--filter", default="all", metavar="TYPE",
                   help="Filter jobs by type. Supported values are " + ", ".join(FILTERS))
    p.set_defaults(func=cmd_scheduler)

    p = verb("get", "Get scheduled app job or actor reminder in Scheduler.", ("g", "ge"))
    _common(p)
    _output(p)
    p.add_argument("keys", nargs="+", metavar="KEY", help="app/<app-id>/<job name>, repeatable")
    p.set_defaults(func=cmd_scheduler)

    p = verb("delete", "Delete one or more jobs from scheduler.", ("d", "del"))
    _common(p)
    p.add_argument("keys", nargs="+", metavar="KEY", help="app/<app-id>/<job name>, repeatable")
    p.set_defaults(func=cmd_scheduler)

    p = verb("delete-all", "Delete all scheduled jobs in the specified namespace of a "
             "particular filter.", ("da", "delall"))
    _common(p)
    p.add_argument("key", metavar="KEY", help="all | app | app/<app-id> (actor/... and "
                   "workflow/... match nothing on the stand-in)")
    p.set_defaults(func=cmd_scheduler)

    p = verb("export", "Export all jobs and actor reminders to a file, including the tracked "
             "count.")
    _common(p, namespace=False)
    p.add_argument("-o", "--output-file", required=True, metavar="FILE",
                   help="file to export jobs to (must not exist)")
    p.set_defaults(func=cmd_scheduler)

    p = verb("import", "Import all jobs from a file generated by `jobslab scheduler export`.")
    _common(p, namespace=False)
    p.add_argument("-f", "--input-file", required=True, metavar="FILE",
                   help="file to import jobs from")
    p.set_defaults(func=cmd_scheduler)

    sched.set_defaults(func=lambda args: _no_verb(sched, args))


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", default=None,
                   help="store, pidfiles and logs (default $JOBSLAB_HOME, else .jobslab/)")


def _common(p: argparse.ArgumentParser, *, namespace: bool = True) -> None:
    """The flags ``dapr scheduler`` gives every verb, plus the stand-in's own two."""
    p.add_argument("-k", "--kubernetes", action="store_true",
                   help="Perform scheduler command on a Kubernetes Dapr cluster (runs `dapr`)")
    p.add_argument("-n", "--namespace", default="default",
                   help="Namespace of the Dapr application (default \"default\")"
                   if namespace else argparse.SUPPRESS)
    p.add_argument("--scheduler-namespace", default="dapr-system", metavar="NAMESPACE",
                   help="Kubernetes namespace where the scheduler is deployed, only relevant "
                   "if --kubernetes is set (default dapr-system)")
    _state(p)
    p.add_argument("--scheduler-host-address", default=None, metavar="HOST:PORT",
                   help="the stand-in Scheduler (default: the one `jobslab up` started in "
                   "--state-dir, else 127.0.0.1:50006)")


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", default="short", metavar="FORMAT",
                   help="Output format. One of " + ", ".join(OUTPUTS))


def _no_verb(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.legacy_port or args.legacy_host or args.legacy_state_dir:
        print("jobslab: the foreground Scheduler moved to `jobslab scheduler serve` (same "
              "flags: --port, --host, --state-dir)", file=sys.stderr)
        return 2
    parser.print_help()
    return 2


def _serve(args: argparse.Namespace) -> int:
    from .local.cli import cmd_scheduler as serve

    return serve(args)


# --- where the command goes -------------------------------------------------------------


def target(args: argparse.Namespace, environ: Any = None) -> str:
    """``standin``, ``selfhosted`` or ``kubernetes``: who answers this command."""
    env = os.environ if environ is None else environ
    if getattr(args, "kubernetes", False):
        return "kubernetes"
    backend = settings.configured_backend(env)
    if backend == "kind":
        return "kubernetes"
    if backend in ("selfhosted", "local"):
        return "selfhosted" if backend == "selfhosted" else "standin"
    raise CliError(f"JOBSLAB_BACKEND={backend!r} is not a backend; choose local, kind or "
                       "selfhosted")


def cmd_scheduler(args: argparse.Namespace) -> int:
    try:
        where = target(args)
        if where != "standin":
            return hand_over(args, where)
        _check_choices(args)
        return _STANDIN[args.scheduler_command](args)
    except CliError as exc:
        print(f"{_FAIL}{exc}", file=sys.stderr)
        return 1


def _check_choices(args: argparse.Namespace) -> None:
    # cmd/scheduler/scheduler.go outputFunc / filterFunc: the same words.
    if getattr(args, "output", None) is not None and args.output not in OUTPUTS:
        raise CliError("invalid value for --output. Supported values are "
                           + ", ".join(OUTPUTS))
    if getattr(args, "filter", None) is not None and args.filter not in FILTERS:
        raise CliError("invalid value for --filter. Supported values are "
                           + ", ".join(FILTERS))


# --- the stand-in: talking to it ---------------------------------------------------------


def _address(args: argparse.Namespace) -> str:
    from .local.cli import _scheduler_address

    return _scheduler_address(resolve_state_dir(args.state_dir), args.scheduler_host_address)


def _call(args: argparse.Namespace, op: str, **fields: Any) -> dict[str, Any]:
    from .local.cli import rpc

    address = _address(args)
    try:
        reply = rpc(address, op, **fields)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise CliError(f"cannot reach the stand-in Scheduler at {address} ({reason}); "
                           "start it with `jobslab up`") from None
    if not reply.get("ok"):
        raise CliError(str(reply.get("error") or "the Scheduler refused the request"))
    return reply


# --- keys (pkg/scheduler/scheduler.go parseJobKey) ----------------------------------------


def parse_key(key: str) -> tuple[str, str, str] | None:
    """``app/<app-id>/<name>`` -> ``("app", app-id, name)``; the other kinds Dapr accepts
    parse to None (the stand-in holds no actor reminders). Raises with dapr/cli's text."""
    split = key.split("/")
    if len(split) < 2:
        raise CliError("failed to parse job key, expecting '{target type}/{identifier}', "
                           f"got '{key}'")
    kind = split[0]
    if kind == "app":
        if len(split) != 3:
            raise CliError("expecting job key to be in format 'app/{app ID}/{job name}', "
                               f"got '{key}'")
        return ("app", split[1], split[2])
    if kind == "actor" and len(split) != 4:
        raise CliError("expecting actor reminder key to be in format "
                           f"'actor/{{actor type}}/{{actor id}}/{{name}}', got '{key}'")
    if kind == "workflow" and len(split) != 4:
        raise CliError("expecting workflow key to be in format "
                           f"'workflow/{{app ID}}/{{instance ID}}/{{name}}', got '{key}'")
    if kind == "activity" and len(split) != 3:
        raise CliError("expecting activity key to be in format "
                           f"'activity/{{app ID}}/{{activity ID}}', got '{key}'")
    if kind not in FILTERS:
        raise CliError(f"unsupported job type '{kind}', accepts 'app', 'actor', "
                           "'workflow', or 'activity'")
    return None


def display_name(rec: dict[str, Any]) -> str:
    """The NAME column: ``app/<app-id>/<job>`` (parseJob)."""
    return f"app/{rec['app']}/{rec['name']}"


# --- rows (pkg/scheduler/list.go) -----------------------------------------------------------

_SECOND = 1_000_000_000
_GO_MAX_DURATION = (1 << 63) - 1


def _truncate(ns: int) -> int:
    """Go's ``Time.Truncate(time.Second)`` (rounds down)."""
    return ns - ns % _SECOND


def humanize(ns: int) -> str:
    """dapr/cli ``utils.HumanizeDuration``: ``1.50s``, ``888.8ms``, ``3.2m``, ``50.0h``."""
    # Go's time.Sub saturates at the largest Duration (about 292 years).
    d = abs(max(-_GO_MAX_DURATION - 1, min(_GO_MAX_DURATION, ns)))
    if d == 0:
        return ""
    if d < 1_000:
        return f"{d}ns"
    if d < 1_000_000:
        return f"{d / 1e3:.1f}µs"  # the micro sign, as Go writes it
    if d < _SECOND:
        return f"{d / 1e6:.1f}ms"
    if d < 60 * _SECOND:
        return f"{d / 1e9:.2f}s"
    if d < 3600 * _SECOND:
        return f"{d / 60e9:.1f}m"
    return f"{d / 3600e9:.1f}h"


def _begin_ns(rec: dict[str, Any]) -> int:
    due = rec.get("due_ns")
    return int(due if due is not None else rec["start_ns"])


def wide_row(rec: dict[str, Any]) -> dict[str, Any]:
    """``ListOutputWide`` of one stored job: JSON field names, times truncated to the
    second (as RFC 3339 text), ``None`` where Dapr has a nil pointer."""
    last = rec.get("last_ns")
    exp = rec.get("exp_ns")
    return {
        "namespace": rec["ns"],
        "name": display_name(rec),
        "begin": format_rfc3339(_truncate(_begin_ns(rec))),
        "expiration": None if exp is None else format_rfc3339(_truncate(int(exp))),
        "schedule": rec.get("schedule"),
        "dueTime": rec.get("due_time"),
        "ttl": rec.get("ttl"),
        "repeats": rec.get("repeats"),
        "count": int(rec.get("count") or 0),
        "lastTrigger": None if last is None else format_rfc3339(_truncate(int(last))),
    }


def short_row(wide: dict[str, Any], now_ns: int) -> dict[str, Any]:
    """``listWideToShort``: BEGIN and LAST TRIGGER as signed ages from now."""
    begin = parse_rfc3339(wide["begin"])
    if begin > now_ns:
        begin_text = "+" + humanize(begin - now_ns)
    else:
        begin_text = "-" + humanize(now_ns - begin)
    last = ""
    if wide["lastTrigger"] is not None:
        last = "-" + humanize(now_ns - parse_rfc3339(wide["lastTrigger"]))
    return {"name": wide["name"], "begin": begin_text, "count": wide["count"],
            "lastTrigger": last}


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ListWide``'s order: namespace, then begin, then name."""
    return sorted(rows, key=lambda r: (r["namespace"], parse_rfc3339(r["begin"]), r["name"]))


_SHORT_COLUMNS = (("NAME", "name"), ("BEGIN", "begin"), ("COUNT", "count"),
                  ("LAST TRIGGER", "lastTrigger"))
_WIDE_COLUMNS = (("NAMESPACE", "namespace"), ("NAME", "name"), ("BEGIN", "begin"),
                 ("EXPIRATION", "expiration"), ("SCHEDULE", "schedule"),
                 ("DUE TIME", "dueTime"), ("TTL", "ttl"), ("REPEATS", "repeats"),
                 ("COUNT", "count"), ("LAST TRIGGER", "lastTrigger"))


def table(columns: Sequence[tuple[str, str]], rows: list[dict[str, Any]]) -> str:
    """``utils.WriteTable``: left-aligned, two spaces between columns, and a column that is
    blank in every row left out."""
    def cell(value: Any) -> str:
        return "" if value is None else " ".join(str(value).split())

    cells = [[cell(row[key]) for _, key in columns] for row in rows]
    keep = [i for i in range(len(columns)) if any(r[i].strip() for r in cells)]
    if not keep:
        keep = list(range(len(columns)))
    header = [columns[i][0] for i in keep]
    body = [[r[i] for i in keep] for r in cells]
    widths = [max(len(x) for x in col) for col in zip(header, *body, strict=False)]
    lines = ["  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()
             for line in (header, *body)]
    return "\n".join(lines)


_GO_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                          "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json_indent(obj: Any) -> str:
    """``json.MarshalIndent(v, "", "  ")``: HTML-escaped, UTF-8 kept."""
    return json.dumps(obj, indent=2, ensure_ascii=False).translate(_GO_HTML)


def go_yaml(rows: list[dict[str, Any]]) -> str:
    """yaml.v2 of ``[]ListOutputWide``: ``omitempty`` fields (all but namespace and name)
    left out when nil or zero; times as plain RFC 3339."""
    import yaml

    class Stamp(str):
        pass

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(
        Stamp, lambda d, v: d.represent_scalar("tag:yaml.org,2002:timestamp", str(v)))
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for key, value in row.items():
            if key not in ("namespace", "name") and value in (None, 0, ""):
                continue
            is_time = key in ("begin", "expiration", "lastTrigger")
            item[key] = Stamp(value) if is_time else value
        out.append(item)
    return yaml.dump(out, Dumper=Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def render(rows: list[dict[str, Any]], output: str, now_ns: int | None = None) -> str:
    """Wide rows in the ``-o`` format, as ``dapr scheduler list|get`` prints them."""
    if output == "json":  # lastTrigger is the one ``omitempty`` field of its json tags
        return go_json_indent([{k: v for k, v in row.items()
                                if k != "lastTrigger" or v is not None} for row in rows])
    if output == "yaml":
        return go_yaml(rows).rstrip("\n")
    if output == "wide":
        return table(_WIDE_COLUMNS, rows)
    now = time.time_ns() if now_ns is None else now_ns
    return table(_SHORT_COLUMNS, [short_row(r, now) for r in rows])


# --- the stand-in: the verbs --------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    records = _call(args, "records", ns=args.namespace)["records"]
    if args.filter not in ("all", "app"):
        records = []  # the stand-in holds app jobs only
    rows = sort_rows([wide_row(r) for r in records])
    if not rows:
        print(f"{_FAIL}No jobs found in namespace {go_quote(args.namespace)}",
              file=sys.stderr)
        return 0
    print(render(rows, args.output))
    return 0


def _get(args: argparse.Namespace) -> int:
    rows = []
    for key in args.keys:
        parsed = parse_key(key)
        found = [] if parsed is None else _call(
            args, "records", ns=args.namespace, app=parsed[1], name=parsed[2])["records"]
        if not found:
            raise CliError(f"job '{key}' not found")
        rows.append(wide_row(found[0]))
    print(render(rows, args.output))
    return 0


def _delete(args: argparse.Namespace) -> int:
    for key in args.keys:
        parsed = parse_key(key)
        deleted = parsed is not None and _call(
            args, "delete", ns=args.namespace, app=parsed[1], name=parsed[2])["deleted"]
        if not deleted:
            raise CliError(f"no job with key '{key}' found in namespace "
                               f"'{args.namespace}'")
        print(f"{_INFO}Deleted {key} in namespace '{args.namespace}'.")
    return 0


def _delete_all(args: argparse.Namespace) -> int:
    """pkg/scheduler/deleteall.go: which prefixes a key means, and what it prints."""
    key, ns = args.key, args.namespace
    split = key.split("/")
    kind = split[0]
    limits = {"all": (1,), "app": (1, 2), "actor": (2, 3), "workflow": (1, 2, 3)}
    if kind not in limits:
        raise CliError(f"unknown key prefix: {kind}")
    if len(split) not in limits[kind]:
        raise CliError(f"invalid key format: {key}")
    deleted: list[list[str]] = []
    if kind in ("all", "app"):  # actor and workflow prefixes match nothing on the stand-in
        app = split[1] if len(split) == 2 else None
        deleted = _call(args, "delete_all", ns=ns, app=app)["deleted"]
    for d_ns, d_app, d_name in deleted:
        print(f"{_INFO}Deleted job 'dapr/jobs/app||{d_ns}||{d_app}||{d_name}'.")
    print(f"{_INFO}Deleted {len(deleted)} jobs in namespace '{ns}'.")
    return 0


def export_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Stored jobs as an export file (see :data:`EXPORT_KIND`)."""
    jobs: dict[str, Any] = {}
    counters: dict[str, Any] = {}
    for rec in records:
        tail = f"{rec['ns']}||{rec['app']}||{rec['name']}"
        job: dict[str, Any] = {}
        for field, name in (("schedule", "schedule"), ("due_time", "dueTime"),
                            ("ttl", "ttl"), ("repeats", "repeats"), ("data", "data")):
            if rec.get(field) is not None:
                job[name] = rec[field]
        job["failurePolicy"] = json.loads(rec["policy"])
        begin = ({"dueTime": format_rfc3339(rec["due_ns"])} if rec.get("due_ns") is not None
                 else {"start": format_rfc3339(rec["start_ns"])})
        stored: dict[str, Any] = {"begin": begin}
        if rec.get("exp_ns") is not None:
            stored["expiration"] = format_rfc3339(rec["exp_ns"])
        stored["created"] = format_rfc3339(rec["start_ns"])
        stored["job"] = job
        jobs[_JOB_PREFIX + tail] = stored
        if rec.get("count") or rec.get("attempts") or rec.get("last_ns") is not None:
            counter: dict[str, Any] = {"count": rec["count"]}
            if rec.get("last_ns") is not None:
                counter["lastTrigger"] = format_rfc3339(rec["last_ns"])
            counter["attempts"] = rec["attempts"]
            counter["tick"] = format_rfc3339(rec["tick_ns"])
            counter["nextAttempt"] = format_rfc3339(rec["next_ns"])
            counters[_COUNTER_PREFIX + tail] = counter
    return {"kind": EXPORT_KIND, "version": EXPORT_VERSION, "jobs": jobs,
            "counters": counters}


def import_records(doc: Any, source: str) -> tuple[list[dict[str, Any]], int]:
    """An export file's jobs as the Scheduler's ``import`` takes them, and how many items
    (jobs plus counters) the file holds."""
    if not isinstance(doc, dict) or doc.get("kind") != EXPORT_KIND:
        raise CliError(f"'{source}' is not a `jobslab scheduler export` file (a file "
                           "from `dapr scheduler export` is Go gob for real Dapr: import it "
                           "with `dapr scheduler import`)")
    if doc.get("version") != EXPORT_VERSION:
        raise CliError(f"'{source}' is export version {doc.get('version')!r}; this "
                           f"jobslab reads version {EXPORT_VERSION}")
    jobs, counters = doc.get("jobs") or {}, doc.get("counters") or {}
    out = []
    try:
        for key, stored in jobs.items():
            if not key.startswith(_JOB_PREFIX) or key.count("||") != 3:
                raise CliError(f"cannot import '{key}': the stand-in holds app jobs only "
                                   f"({_JOB_PREFIX}<namespace>||<app-id>||<name>)")
            ns, app, name = key[len(_JOB_PREFIX):].split("||")
            job = stored.get("job") or {}
            begin = stored.get("begin") or {}
            due = begin.get("dueTime")
            start = stored.get("created") or begin.get("start") or due
            if start is None:
                raise CliError(f"cannot import '{key}': it has no begin")
            rec: dict[str, Any] = {
                "ns": ns, "app": app, "name": name, "schedule": job.get("schedule"),
                "repeats": job.get("repeats"), "due_time": job.get("dueTime"),
                "ttl": job.get("ttl"), "data": job.get("data"),
                "policy": job.get("failurePolicy"), "start_ns": parse_rfc3339(start),
                "due_ns": None if due is None else parse_rfc3339(due),
                "exp_ns": None if stored.get("expiration") is None
                else parse_rfc3339(stored["expiration"]),
            }
            counter = counters.get(_COUNTER_PREFIX + key[len(_JOB_PREFIX):])
            if counter:
                rec["count"] = int(counter.get("count") or 0)
                rec["attempts"] = int(counter.get("attempts") or 0)
                for field, name_ in (("last_ns", "lastTrigger"), ("tick_ns", "tick"),
                                     ("next_ns", "nextAttempt")):
                    if counter.get(name_) is not None:
                        rec[field] = parse_rfc3339(counter[name_])
            out.append(rec)
    except CliError:
        raise
    except (AttributeError, TypeError, ValueError) as exc:
        raise CliError(f"'{source}' is not a valid export file: {exc}") from None
    return out, len(jobs) + len(counters)


def _export(args: argparse.Namespace) -> int:
    path = Path(args.output_file)
    if path.exists():
        raise CliError(f"file '{args.output_file}' already exists")
    records = _call(args, "records")["records"]
    doc = export_document(records)
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=1, ensure_ascii=False)
            out.write("\n")
    except OSError as exc:
        raise CliError(f"open {args.output_file}: {exc.strerror or exc}") from None
    print(f"{_INFO}Exported {len(doc['jobs'])} jobs and {len(doc['counters'])} counters.")
    print(f"{_INFO}Export to '{args.output_file}' complete.")
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        text = Path(args.input_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"open {args.input_file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        text = ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    records, items = import_records(doc, args.input_file)
    _call(args, "import", records=records)
    print(f"{_INFO}Imported {items} items.")
    print(f"{_INFO}Import from '{args.input_file}' complete.")
    return 0


_STANDIN = {"list": _list, "get": _get, "g": _get, "ge": _get, "delete": _delete,
            "d": _delete, "del": _delete, "delete-all": _delete_all, "da": _delete_all,
            "delall": _delete_all, "export": _export, "import": _import}


# --- real Dapr: hand over to the `dapr` CLI --------------------------------------------------

#: Options only jobslab has; they are not passed on to ``dapr``.
_OWN_OPTIONS = ("--state-dir", "--scheduler-host-address")


def dapr_argv(args: argparse.Namespace, where: str) -> list[str]:
    """``dapr scheduler ...`` with the arguments given to ``jobslab scheduler ...``."""
    raw = list(getattr(args, "argv", None) or sys.argv[1:])
    for i, token in enumerate(raw):
        if token in ("scheduler", "sched"):
            raw = raw[i + 1:]
            break
    rest: list[str] = []
    skip = False
    for token in raw:
        if skip:
            skip = False
            continue
        if token in _OWN_OPTIONS:
            skip = True
            continue
        if token.startswith(tuple(o + "=" for o in _OWN_OPTIONS)):
            continue
        rest.append(token)
    if where == "kubernetes" and not getattr(args, "kubernetes", False):
        rest.append("-k")  # JOBSLAB_BACKEND=kind
    return ["dapr", "scheduler", *rest]


def hand_over(args: argparse.Namespace, where: str) -> int:
    argv = dapr_argv(args, where)
    dapr = shutil.which("dapr")
    backend = "Kubernetes (-k)" if where == "kubernetes" else "the selfhosted backend"
    if dapr is None:
        raise CliError(
            f"on {backend} this runs `{' '.join(argv)}`, and `dapr` is not on PATH: install "
            f"Dapr CLI {DAPR_CLI_VERSION} (`dapr scheduler` needs {DAPR_CLI_MINIMUM} or "
            f"newer): {INSTALL_URL}")
    sys.stdout.flush()
    if where == "kubernetes":
        os.execv(dapr, argv)  # dapr port-forwards the Scheduler's etcd itself
    etcd = selfhosted_etcd_port(resolve_state_dir(args.state_dir))
    if etcd == DAPR_CLI_ETCD_PORT:
        os.execv(dapr, argv)
    if _accepts(DAPR_CLI_ETCD_PORT):
        from .ports import holder

        raise CliError(
            f"`dapr scheduler` reads the Scheduler's etcd at localhost:{DAPR_CLI_ETCD_PORT}, "
            f"and {holder(DAPR_CLI_ETCD_PORT)} holds that port; this installation's etcd is "
            f"on {etcd}: stop the other one, then run this again")
    with Relay(DAPR_CLI_ETCD_PORT, etcd):
        proc = subprocess.Popen(argv, executable=dapr)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # dapr got the Ctrl-C too; let it finish
                continue


def selfhosted_etcd_port(state: Path) -> int:
    """The etcd client port of the self-hosted Scheduler of ``state`` (``ports.json``),
    checked to accept connections."""
    ports_file = state / "selfhosted" / "ports.json"
    try:
        port = int(json.loads(ports_file.read_text())["etcd_client"])
    except (OSError, ValueError, KeyError, TypeError):
        port = None
    if port is None or not _accepts(port):
        raise CliError(
            f"the self-hosted Scheduler of {state} is not running (its etcd does not answer"
            f"{'' if port is None else f' on port {port}'}); start it from a notebook with "
            "`jobslab.connect()` under JOBSLAB_BACKEND=selfhosted")
    return port


def _accepts(port: int) -> bool:
    for host in ("127.0.0.1", "::1"):
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
    return False


class Relay:
    """Forwards ``localhost:<listen>`` to ``localhost:<to>`` while in a ``with`` block."""

    def __init__(self, listen: int, to: int) -> None:
        self.listen = listen
        self.to = to
        self._socks: list[socket.socket] = []
        self._closed = threading.Event()

    def __enter__(self) -> Relay:
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, self.listen))
                sock.listen(64)
            except OSError as exc:
                sock.close()
                if family == socket.AF_INET:
                    self.__exit__()
                    raise CliError(f"cannot relay localhost:{self.listen} to the "
                                       f"Scheduler's etcd: {exc.strerror or exc}") from None
                continue  # no IPv6 loopback: 127.0.0.1 is enough
            self._socks.append(sock)
            threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("localhost", self.to), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        for sock in (client, upstream):
            sock.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until ``src`` ends, then end ``dst``'s sending side."""
    with contextlib.suppress(OSError):
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
