"""Kernel hygiene with a real kernel (jupyter_client, as JupyterLab drives it).

- "Interrupt kernel" stops the cell, not the servers or sidecars (jupyter_client signals the
  kernel's whole process group; docs/architecture.md#kernel-hygiene).
- Restarting the kernel leaves no process holding a port.
- A second kernel asking for the same Dapr port gets a clear error naming the first.
"""

from __future__ import annotations

import json
import textwrap

import httpx
import pytest
from jupyter_client.manager import KernelManager

from jobslab import ports as _ports
from jobslab.hosting import PortInUseError
from support.waiting import wait_until

pytestmark = pytest.mark.slow

SERVE = """
import json, jobslab
from fastapi import FastAPI
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {{"ok": True}}
jobslab.connect(scheduler_port={scheduler_port})
handle = jobslab.serve(app, app_id="hygiene", replicas=2, dapr_http_port={dapr_http_port})
print(json.dumps({{"app": [r.app_port for r in handle.replicas],
                   "pids": [r.sidecar.pid for r in handle.replicas]}}))
"""


def run(kc, code: str, timeout: float = 120) -> tuple[str, str]:
    """Execute ``code``; return (status, stdout text)."""
    msg_id = kc.execute(textwrap.dedent(code))
    out = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = shell_reply(kc, msg_id, timeout)
    return reply["content"]["status"], "".join(out)


def shell_reply(kc, msg_id: str, timeout: float) -> dict:
    """The shell reply to ``msg_id``, skipping others still queued (a kernel_info_reply from
    start-up, say): taking just the next one would pair replies with the wrong requests."""
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


@pytest.fixture
def kernel(state_dir):
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**__import__("os").environ, "JOBSLAB_HOME": str(state_dir)})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)


def serve_in(kc, ports) -> dict:
    status, out = run(kc, SERVE.format(**ports))
    assert status == "ok", out
    return json.loads(out.strip().splitlines()[-1])


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1.0/healthz", timeout=2).status_code == 204
    except httpx.HTTPError:
        return False


def test_interrupt_keeps_servers_and_sidecars(kernel, ports):
    km, kc = kernel
    started = serve_in(kc, ports)
    msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(120)")
    wait_until(lambda: _printed(kc, msg_id, "sleeping"), 30, "the sleeping cell to start")
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, 60)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    for i, app_port in enumerate(started["app"]):
        assert httpx.get(f"http://127.0.0.1:{app_port}/healthz", timeout=5).status_code == 200
        assert healthy(ports["dapr_http_port"] + i)
    status, out = run(kc, "print(all(r.running for r in handle.replicas))")
    assert (status, out.strip()) == ("ok", "True")


def _printed(kc, msg_id, text: str) -> bool:
    try:
        msg = kc.get_iopub_msg(timeout=0.2)
    except Exception:
        return False
    return (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
            and text in msg["content"]["text"])


@pytest.mark.parametrize("now", [True, False], ids=["restart-kill", "restart-graceful"])
def test_kernel_restart_leaves_no_process_holding_a_port(kernel, ports, state_dir, now):
    km, kc = kernel
    started = serve_in(kc, ports)
    held = [*started["app"], ports["dapr_http_port"], ports["dapr_http_port"] + 1]
    km.restart_kernel(now=now)
    kc.wait_for_ready(timeout=60)
    for port in held:
        wait_until(lambda p=port: _ports.can_bind(p), 30, f"port {port} to be free")
    import psutil

    for pid in started["pids"]:
        wait_until(lambda p=pid: not psutil.pid_exists(p) or
                   psutil.Process(p).status() == psutil.STATUS_ZOMBIE, 30, f"pid {pid} gone")
    # and the new kernel can serve on the same ports straight away
    again = serve_in(kc, ports)
    assert len(again["pids"]) == 2


def test_second_kernel_gets_a_clear_error(kernel, ports, state_dir):
    """Another notebook (here: this test process) asking for the same Dapr port is told who
    holds it instead of hanging or stealing it."""
    _, kc = kernel
    serve_in(kc, ports)
    from fastapi import FastAPI

    import jobslab

    jobslab.connect(scheduler_port=ports["scheduler_port"])
    with pytest.raises(PortInUseError) as info:
        jobslab.serve(FastAPI(), app_id="other", dapr_http_port=ports["dapr_http_port"])
    message = str(info.value)
    assert f"port {ports['dapr_http_port']}" in message
    assert "another kernel" in message and "'hygiene'" in message
    assert healthy(ports["dapr_http_port"])  # the first notebook's sidecar is untouched
