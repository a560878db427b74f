"""Recording fakes of external executables, put first (or alone) on a PATH of their own.

- :class:`Fakes`: docker, kind, kubectl, helm, dapr, daprd and scheduler, each a wrapper around
  ``fake_tool.py`` (what they do, and the state file that drives them, are described there);
  the ``fakes`` fixture of tests/cluster/conftest.py and the ``kind`` fixture of
  tests/serve/test_backends_kind.py build one;
- :class:`SlimDapr`: ``daprd`` and ``scheduler`` in a fake ``~/.dapr/bin`` (what
  ``dapr init --slim`` installs) that run the stand-in with the flags they are given;
- :func:`install_dapr_cli`: a ``dapr`` CLI that only records how it was called.

Every fake appends one JSON line per call to its record file; :func:`records` reads them.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobslab.processes import Runner

FAKE_TOOL = Path(__file__).parent / "fake_tool.py"
TOOLS = ("docker", "kind", "kubectl", "helm", "dapr", "daprd", "scheduler")


def wrapper(bin_dir: Path, name: str, script: Path, *args: str) -> Path:
    """An executable ``bin_dir/name`` that runs ``script`` (with ``args`` first) under this
    Python."""
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" '
                    + "".join(f"{a} " for a in args) + '"$@"\n')
    path.chmod(0o755)
    return path


def records(path: Path) -> list[dict[str, Any]]:
    """The JSON lines a fake recorded in ``path``, in call order (none yet: ``[]``)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def flag(argv: list[str], name: str) -> str:
    """The value after ``name`` in a recorded ``argv``."""
    return argv[argv.index(name) + 1]


# --- docker, kind, kubectl, helm, dapr, daprd, scheduler: fake_tool.py ----------------------


def default_state() -> dict[str, Any]:
    """The state fake_tool.py starts from: Docker running, the pinned versions, no cluster."""
    return {
        "docker_running": True,
        "versions": {"docker": "28.3.0", "kind": "v0.30.0", "kubectl": "v1.34.1",
                     "helm": "v3.18.5", "dapr": "1.18.0", "daprd": "1.18.3",
                     "scheduler": "1.18.3"},
        "clusters": [],
        "releases": {},
        "deployments": {},
        "no_sidecar": [],
        "host_docker_internal": "",
        "gateway": "172.18.0.1",
        "default_storage_class": True,
        "fail": [],
    }


def install_tools(bin_dir: Path) -> None:
    """One wrapper per tool of :data:`TOOLS` in ``bin_dir``, each running fake_tool.py."""
    for tool in TOOLS:
        wrapper(bin_dir, tool, FAKE_TOOL, tool)


@dataclass
class Fakes:
    """The fake tools' directory, their shared state and what they recorded."""

    bin: Path
    state_file: Path
    record_file: Path
    env: dict[str, str]

    @classmethod
    def install(cls, folder: Path, env: dict[str, str], **state: Any) -> Fakes:
        """The tools in ``folder/fakebin``, their state (:func:`default_state` updated with
        ``state``) and their record in ``folder``. The environment to run them with is
        ``env`` plus ``FAKE_STATE`` and ``FAKE_RECORD``, with ``fakebin`` first on its PATH
        (alone when ``env`` has no PATH)."""
        bin_dir = folder / "fakebin"
        bin_dir.mkdir()
        install_tools(bin_dir)
        state_file = folder / "fake-state.json"
        state_file.write_text(json.dumps({**default_state(), **state}))
        record_file = folder / "fake-record.jsonl"
        path = os.pathsep.join(p for p in (str(bin_dir), env.get("PATH")) if p)
        env = {**env, "PATH": path, "FAKE_STATE": str(state_file),
               "FAKE_RECORD": str(record_file)}
        return cls(bin_dir, state_file, record_file, env)

    def runner(self) -> Runner:
        return Runner(env=self.env)

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def update(self, **changes: Any) -> None:
        st = self.state
        st.update(changes)
        self.state_file.write_text(json.dumps(st))

    def fail(self, tool: str, *when: str, stderr: str = "", times: int = 1,
             partial: bool = False, rc: int = 1) -> None:
        """Make the next ``times`` calls of ``tool`` whose argv holds ``when`` fail."""
        rule = {"tool": tool, "when": list(when), "rc": rc, "times": times, "partial": partial,
                "stderr": stderr or f"fake {tool} {' '.join(when)} failed"}
        self.update(fail=[*self.state["fail"], rule])

    def remove(self, tool: str) -> None:
        (self.bin / tool).unlink()

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """Recorded argv lists (of one tool, or ``[tool, *argv]`` of all), in call order."""
        rows = records(self.record_file)
        if tool is None:
            return [[r["tool"], *r["argv"]] for r in rows]
        return [r["argv"] for r in rows if r["tool"] == tool]

    def stdin_of(self, tool: str, *when: str) -> list[str]:
        return [r["stdin"] for r in records(self.record_file)
                if r["tool"] == tool and all(w in r["argv"] for w in when)]

    def clear_record(self) -> None:
        self.record_file.write_text("")


# --- daprd and scheduler of `dapr init --slim`, running the stand-in ------------------------

# Both fakes append {"tool", "argv"} to $FAKE_DAPR_RECORD, answer --version, then run the
# stand-in with the flags it shares with daprd / the scheduler.
PRELUDE = '''
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["FAKE_DAPR_RECORD"], "a") as fh:
    fh.write(json.dumps({"tool": "@TOOL@", "argv": argv}) + "\\n")
if "--version" in argv:
    print("1.18.3")
    sys.exit(0)
def opt(name):
    return argv[argv.index(name) + 1]
'''

FAKE_DAPRD = '''
cmd = [sys.executable, "-m", "jobslab", "run"]
for name in ("--app-id", "--app-port", "--dapr-http-port", "--scheduler-host-address",
             "--app-channel-address", "--resources-path"):
    cmd += [name, opt(name)]
os.execv(sys.executable, cmd)  # same pid: the backend's SIGTERM reaches the stand-in
'''

FAKE_SCHEDULER = '''
import signal, socket, subprocess, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port = int(opt("--port"))
child = subprocess.Popen([sys.executable, "-m", "jobslab", "scheduler", "serve",
                          "--port", str(port), "--host", opt("--listen-address"),
                          "--state-dir", opt("--etcd-data-dir")])
class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            code = 200 if self.path == "/healthz" else 404
        except OSError:
            code = 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", int(opt("--healthz-port"))), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
while not done.wait(0.1) and child.poll() is None:
    pass
child.terminate()
child.wait(10)
'''


@dataclass
class SlimDapr:
    """Fake ``daprd`` and ``scheduler`` in ``home/.dapr/bin``; set ``HOME`` to ``home`` and
    ``FAKE_DAPR_RECORD`` to ``record`` for them to be found and to record."""

    home: Path
    record: Path

    @classmethod
    def install(cls, folder: Path) -> SlimDapr:
        bin_dir = folder / "home" / ".dapr" / "bin"
        bin_dir.mkdir(parents=True)
        for name, source in (("daprd", FAKE_DAPRD), ("scheduler", FAKE_SCHEDULER)):
            script = folder / f"fake_{name}.py"
            script.write_text(PRELUDE.replace("@TOOL@", name) + source)
            wrapper(bin_dir, name, script)
        return cls(folder / "home", folder / "dapr-record.jsonl")

    def calls(self, tool: str) -> list[list[str]]:
        """The argv of every run of ``tool`` (``--version`` probes left out)."""
        return [r["argv"] for r in records(self.record)
                if r["tool"] == tool and "--version" not in r["argv"]]


# --- a dapr CLI that records its argv ---------------------------------------------------------

FAKE_DAPR_CLI = textwrap.dedent('''\
    import json, os, socket, sys
    record = {"argv": sys.argv[1:]}
    if os.environ.get("FAKE_DAPR_DIAL"):  # say this to the etcd at localhost:2379
        with socket.create_connection(("localhost", 2379), timeout=5) as sock:
            sock.sendall(os.environ["FAKE_DAPR_DIAL"].encode())
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
            record["etcd"] = answer.decode(errors="replace")
    with open(os.environ["FAKE_DAPR_RECORD"], "a") as out:
        out.write(json.dumps(record) + "\\n")
    print("fake dapr ran")
    sys.exit(int(os.environ.get("FAKE_DAPR_EXIT", "0")))
''')


def install_dapr_cli(folder: Path) -> dict[str, str]:
    """A ``dapr`` in ``folder/bin`` that records ``{"argv"}`` (and, with ``FAKE_DAPR_DIAL``
    set, what the etcd on localhost:2379 answered to it), prints "fake dapr ran" and exits
    with ``FAKE_DAPR_EXIT``. Returns the environment to run jobslab with (``bin`` first on
    PATH); :func:`records` of its ``FAKE_DAPR_RECORD`` are the calls."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = folder / "fake_dapr.py"
    script.write_text(FAKE_DAPR_CLI)
    wrapper(bin_dir, "dapr", script)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_DAPR_RECORD": str(folder / "dapr-calls.jsonl")}
