"""Execute one submission with papermill: ``python -m jobslab.grading._runner SPEC.json``.

Started by the grader in a process group of its own, with the sandbox's environment (the
kernel inherits it) and the sandbox's working folder as its working directory. It runs the
notebook on the ``python3`` kernel with a per-cell time-out and the injected parameters, drops
outputs past a size cap (and kills the kernel, which ends the run), and writes what happened
to the outcome file: ``{"status", "cell", "ename", "evalue"}``. The grader turns that into the
gradebook's status and reason.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any


class _State:
    cell: int | None = None
    output_bytes = 0
    flooded_in: int | None = None


def _patch_client(max_output: int) -> None:
    """Count output bytes per notebook; past ``max_output`` drop them and kill the kernel."""
    from papermill.clientwrap import PapermillNotebookClient

    original_output = PapermillNotebookClient.output
    original_execute_cell = PapermillNotebookClient.execute_cell

    def output(self: Any, outs: Any, msg: dict[str, Any], display_id: Any,
               cell_index: int) -> Any:
        content = msg.get("content", {})
        _State.output_bytes += len(json.dumps(content, default=str))
        if _State.output_bytes > max_output:
            if _State.flooded_in is None:
                _State.flooded_in = cell_index
                _kill_kernel(self)
            return None
        return original_output(self, outs, msg, display_id, cell_index)

    def execute_cell(self: Any, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
        _State.cell = cell_index
        return original_execute_cell(self, cell, cell_index, *args, **kwargs)

    PapermillNotebookClient.output = output
    PapermillNotebookClient.execute_cell = execute_cell


def _kill_kernel(client: Any) -> None:
    pid = None
    with contextlib.suppress(Exception):
        pid = client.km.provisioner.pid
    if pid:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # the kernel leads a session of its own
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


#: A kernel that dies before it answers (a busy machine; two kernels racing for the ZMQ ports
#: jupyter_client picked) is started again: no cell of the submission has run yet.
KERNEL_START_ATTEMPTS = 3


def _kernel_failed_to_start(err: BaseException | None) -> bool:
    text = str(err or "")
    return _State.cell is None and ("Kernel died before replying to kernel_info" in text
                                    or "Kernel didn't respond" in text)


def _outcome(err: BaseException | None) -> dict[str, Any]:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    cell = _State.cell
    if _State.flooded_in is not None:
        return {"status": "output-flood", "cell": _State.flooded_in}
    if err is None:
        return {"status": "completed", "cell": None}
    if isinstance(err, PapermillExecutionError):
        status = "exited" if err.ename == "SystemExit" else "error"
        return {"status": status, "cell": err.cell_index, "ename": err.ename,
                "evalue": str(err.evalue)}
    if isinstance(err, CellTimeoutError):
        return {"status": "cell-timeout", "cell": cell}
    if isinstance(err, DeadKernelError):
        return {"status": "kernel-died", "cell": cell}
    text = str(err)
    if "Kernel didn't respond" in text:
        return {"status": "kernel-start", "cell": None, "evalue": text}
    return {"status": "runner-error", "cell": cell, "ename": type(err).__name__,
            "evalue": text}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    logging.basicConfig(level=logging.WARNING)
    import papermill

    _patch_client(int(spec["max_output"]))
    err: BaseException | None = None
    for attempt in range(KERNEL_START_ATTEMPTS):
        err = None
        try:
            papermill.execute_notebook(
                spec["input"], spec["output"], parameters=spec["parameters"],
                kernel_name="python3", cwd=spec["cwd"], progress_bar=False, log_output=False,
                request_save_on_cell_execute=True, execution_timeout=spec["cell_timeout"],
                start_timeout=spec.get("start_timeout", 60),
                allow_errors=bool(spec.get("keep_going")))
        except KeyboardInterrupt:
            raise
        except BaseException as caught:  # every way a submission can end is an outcome
            err = caught
        if not _kernel_failed_to_start(err) or attempt + 1 == KERNEL_START_ATTEMPTS:
            break
        time.sleep(1.0)  # the grader's trouble, not the student's: start the kernel again
    outcome = _outcome(err)
    if spec.get("keep_going") and outcome["status"] in ("error", "exited"):
        outcome["kept_going"] = True
    Path(spec["outcome"]).write_text(json.dumps(outcome), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
