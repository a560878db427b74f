"""The browser tier: JupyterLab started as ``make lab`` starts it, driven by headless Chromium.

Debian's ``chromium`` and ``chromium-driver`` drive the page through Selenium (pointed at
``/usr/bin/chromedriver``, so Selenium Manager never downloads anything). :func:`chromium` finds
them, :func:`install_chromium` installs them with apt where the tests run as root on a machine
with ``apt-get``; :func:`why_no_chromium` says, in one line, why the tier cannot run here.

:class:`JupyterLab` is ``make lab`` on a temporary copy of the lessons (Run All and Save write
the notebooks, so never the repository's own files): the same ``jupyter lab`` of the
environment, the same ``jupyter/overrides.json``, ``--no-browser``, a free port and a random
token, Jupyter's config, data and runtime folders of its own (a developer's workspace or
settings cannot leak in), and the stand-in isolated as ``scripts/test-notebooks`` isolates it
(its own ``JOBSLAB_HOME``, and a leased block of ports: three Dapr HTTP ports and the
Scheduler's, and JupyterLab's own).

:class:`LabPage` is what a learner does and sees in that JupyterLab: open a notebook, read its
tab (``jp-mod-dirty``), Run -> Run All Cells from the menu bar, the prompts (``[*]:`` while a
cell runs or waits), the outputs, dialogs and notifications, File -> Save Notebook and File ->
Close Tab, and screenshots.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from jobslab.ports import lease_block
from support.processes import child_env
from support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots of every notebook's first and last screen (git-ignored, as all of build/).
SCREENSHOTS = ROOT / "build" / "browser"
OVERRIDES = ROOT / "jupyter" / "overrides.json"

#: Chromium as root in a container, on a closed network: no sandbox (root), no GPU, and none of
#: the background traffic (updates, sync, safe browsing) that would only meet refused
#: connections.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                  "--window-size=1400,1000")
APT_PACKAGES = ("chromium", "chromium-driver")
INSTALL_HINT = "install them with `apt-get install chromium chromium-driver` (as root)"

#: What the tab of a document with unsaved changes carries (JupyterLab's ``DocumentWidget``).
DIRTY = "jp-mod-dirty"
#: Output that means something went wrong: a traceback, or anything written to stderr.
ERROR_OUTPUTS = ('.jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]',
                 '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')


# --- Chromium and chromedriver ----------------------------------------------------------------


def chromium() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` when both are installed, else ``None``."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def can_install_chromium() -> bool:
    """The tests may install Chromium themselves: root, on a machine with apt-get."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def why_no_chromium() -> str | None:
    """Why the browser tier cannot run here (one line), or ``None`` when it can."""
    if chromium() or can_install_chromium():
        return None
    return (f"chromium and chromedriver not found, and not installable here (needs root and "
            f"apt-get); {INSTALL_HINT}")


def install_chromium(timeout: float = 540) -> str | None:
    """``apt-get install`` Chromium and its driver (after ``apt-get update`` when the package
    lists are missing or stale); ``None`` on success, else why it failed, in one line."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", *APT_PACKAGES]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                       timeout=timeout)
        result = subprocess.run(install, env=env, capture_output=True, text=True,
                                timeout=timeout)
    if result.returncode == 0 and chromium():
        return None
    said = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return (f"`{' '.join(install)}` failed ({said[-1] if said else f'exit {result.returncode}'}); "
            f"{INSTALL_HINT}")


def chrome(profile: Path) -> Any:
    """A headless Chromium driven by chromedriver, with a fresh profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium()
    assert found, "chromium and chromedriver are not installed"
    browser, driver = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv.set_script_timeout(120)
    return drv


# --- JupyterLab as `make lab` starts it --------------------------------------------------------


def _get(url: str, timeout: float = 5) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except OSError:
        return None


class JupyterLab:
    """``make lab`` in ``folder``: JupyterLab on a copy of ``notebooks/``, isolated.

    ``folder/lab`` is the server's root (like the repository for ``make lab``), holding
    ``notebooks/``; ``folder/state`` is ``JOBSLAB_HOME``; ``folder/jupyter`` holds Jupyter's
    own folders and ``settings/overrides.json``; ``folder/jupyterlab.log`` the server's log.
    """

    def __init__(self, folder: Path, notebooks: list[Path]) -> None:
        self.folder = folder
        self.root = folder / "lab"
        self.notebooks = self.root / "notebooks"
        self.state = folder / "state"
        self.log = folder / "jupyterlab.log"
        # ports as scripts/_isolated.py leases them: Dapr HTTP base .. base+2 for up to three
        # replicas, the Scheduler on base+5; JupyterLab takes base+4
        self.lease = lease_block(6)
        self.port = self.lease.base + 4
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.notebooks.mkdir(parents=True)
        for path in notebooks:
            shutil.copy2(path, self.notebooks / path.name)
            match_python(self.notebooks / path.name)
        jupyter = folder / "jupyter"
        self.settings = jupyter / "settings"
        self.settings.mkdir(parents=True)
        # what the Makefile's $(LAB_OVERRIDES) copies into the environment for `make lab`
        shutil.copy2(OVERRIDES, self.settings / "overrides.json")
        self.env = child_env({
            "JOBSLAB_BACKEND": "local", "JOBSLAB_HOME": str(self.state),
            "DAPR_HTTP_PORT": str(self.lease.base),
            "JOBSLAB_SCHEDULER_PORT": str(self.lease.base + 5),
            "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
            "JUPYTER_DATA_DIR": str(jupyter / "data"),
            "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
            "IPYTHONDIR": str(jupyter / "ipython"),
        })

    def command(self) -> list[str]:
        """``make lab``'s command line (``jupyter lab [--allow-root] notebooks/00-index``),
        with what a test needs instead of a learner's browser: ``--no-browser``, this port and
        token, this root, the overrides from this folder, and ``window.jupyterapp`` exposed so
        the test can wait for the kernel's info (which JupyterLab writes into the metadata)."""
        jupyter = Path(sys.executable).parent / "jupyter"
        return [str(jupyter), "lab", *(["--allow-root"] if os.geteuid() == 0 else []),
                "--no-browser", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}", f"--LabApp.app_settings_dir={self.settings}",
                "--LabApp.expose_app_in_browser=True"]

    def start(self, timeout: float = 60) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(self.command(), env=self.env, cwd=self.root,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

        def up() -> bool:
            assert self.proc is not None
            assert self.proc.poll() is None, f"JupyterLab exited:\n{self.tail()}"
            return _get(f"{self.url}/api") is not None

        wait_until(up, timeout, f"JupyterLab answering on {self.url}", interval=0.2)

    def api(self, method: str, path: str) -> Any:
        """Call JupyterLab's REST API; the decoded JSON answer (``None`` when empty)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every session and its kernel (what Kernel -> Shut Down All Kernels does)."""
        for session in self.api("GET", "/api/sessions"):
            with contextlib.suppress(OSError):
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        """Stop JupyterLab (it shuts its kernels down) and every process of the stand-in."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.shut_down_kernels()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        subprocess.run([sys.executable, "-m", "jobslab", "down", "--state-dir", str(self.state)],
                       env=self.env, capture_output=True, timeout=60)
        self.lease.release()

    def tail(self, lines: int = 30) -> str:
        """The end of JupyterLab's log."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> JupyterLab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- what a learner does and sees --------------------------------------------------------------

_KERNEL_READY = """
const done = arguments[arguments.length - 1];
(async () => {
  while (!window.jupyterapp) { await new Promise(r => setTimeout(r, 50)); }
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  let panel = null;
  while (!(panel = app.shell.currentWidget) || !panel.sessionContext) {
    await new Promise(r => setTimeout(r, 50));
  }
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session.kernel;
  // JupyterLab writes the kernel's spec and language_info into the notebook's metadata
  // when they arrive; whatever differs from the file makes the document dirty.
  await kernel.info;
  await kernel.spec;
  await new Promise(r => setTimeout(r, 500));
  done({path: panel.context.path, kernel: kernel.name, dirty: panel.context.model.dirty});
})().catch(err => done({error: String(err)}));
"""

_TAB = ("#jp-main-dock-panel .lm-TabBar-tab"
        ".jp-mod-current")


class LabPage:
    """One browser window on a :class:`JupyterLab`."""

    def __init__(self, driver: Any, lab: JupyterLab) -> None:
        self.driver = driver
        self.lab = lab

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def open(self, name: str, timeout: float = 90) -> dict[str, Any]:
        """Open ``notebooks/<name>`` (a fresh page and workspace) and wait until its kernel
        runs and its info and spec have arrived; returns what JupyterLab reports."""
        self.driver.get(f"{self.lab.url}/lab/tree/notebooks/{name}?reset&token={self.lab.token}")
        self.driver.set_script_timeout(timeout)
        state = self.driver.execute_async_script(_KERNEL_READY)
        assert "error" not in state, f"{name}: JupyterLab did not start the kernel: {state}"
        assert state["path"] == f"notebooks/{name}", state
        self.wait_idle(timeout)
        return dict(state)

    def tab(self) -> dict[str, Any]:
        """The current document tab: its label and CSS classes."""
        found = self.js(f"""const t = document.querySelector('{_TAB}');
            return t && {{label: t.textContent, classes: [...t.classList]}};""")
        assert found, "no document tab is open"
        return dict(found)

    def dirty(self) -> bool:
        """The current tab shows unsaved changes (JupyterLab's ``jp-mod-dirty``)."""
        return DIRTY in self.tab()["classes"]

    def kernel_status(self) -> str | None:
        return self.js("""const e = document.querySelector(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
            return e && e.getAttribute('data-status');""")

    def prompts(self) -> list[str]:
        """The input prompt of every code cell, in order: ``[3]:``, ``[*]:``, ``[ ]:``."""
        return list(self.js("""return [...document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
            .map(p => p.textContent.trim());"""))

    def wait_idle(self, timeout: float) -> None:
        wait_until(lambda: self.kernel_status() == "idle", timeout, "the kernel to be idle",
                   interval=0.2)

    def menu(self, menu: str, command: str) -> None:
        """Click ``menu`` in the menu bar, then its item that runs ``command``."""
        from selenium.webdriver.common.by import By

        items = self.driver.find_elements(By.CSS_SELECTOR, "#jp-menu-panel .lm-MenuBar-item")
        labels = [item.text for item in items]
        assert menu in labels, f"no {menu!r} menu in the menu bar: {labels}"
        items[labels.index(menu)].click()
        entry = wait_until(lambda: self.driver.find_elements(
            By.CSS_SELECTOR, f'.lm-Menu .lm-Menu-item[data-command="{command}"]'), 10,
            f"{menu} -> {command} in the open menu")
        entry[0].click()

    def run_all(self, timeout: float) -> float:
        """Run -> Run All Cells, then wait until no cell runs or waits (``[*]``) and the
        kernel is idle; returns the seconds it took."""
        start = time.monotonic()
        self.menu("Run", "runmenu:run-all")
        wait_until(lambda: any("*" in p for p in self.prompts()) or self.kernel_status() == "busy",
                   10, "Run All Cells to start a cell", interval=0.05)
        wait_until(lambda: not any("*" in p for p in self.prompts())
                   and self.kernel_status() == "idle",
                   timeout, "every cell to finish (no [*] prompt left, kernel idle)",
                   interval=0.25)
        return time.monotonic() - start

    def error_outputs(self) -> list[str]:
        """Tracebacks and stderr output, as the page shows them."""
        return list(self.js("return [...document.querySelectorAll(arguments[0])]"
                            ".map(e => e.textContent.slice(0, 2000));", ", ".join(ERROR_OUTPUTS)))

    def cell_outputs(self) -> list[str | None]:
        """Per cell, in order: the text of its outputs (``None`` for a markdown cell)."""
        return list(self.js("""return [...document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')].map(c =>
            c.classList.contains('jp-CodeCell')
              ? [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent)
                  .join('\\n')
              : null);"""))

    def dialogs(self) -> list[str]:
        """Open dialogs (``.jp-Dialog``), by their text."""
        return list(self.js("return [...document.querySelectorAll('.jp-Dialog')]"
                            ".map(d => d.textContent.slice(0, 500));"))

    def notifications(self) -> list[str]:
        """Notification toasts on screen (the news question is one)."""
        return list(self.js("return [...document.querySelectorAll('.Toastify__toast')]"
                            ".map(t => t.textContent.slice(0, 500));"))

    def scroll_to_end(self) -> None:
        """Bring the last cell to the bottom of the screen (not the empty space after it)."""
        self.js("""const cells = document.querySelectorAll(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell');
            cells[cells.length - 1].scrollIntoView({block: 'end'});""")
        time.sleep(0.5)  # let the cells that came into view render before the screenshot

    def save(self, timeout: float = 20) -> None:
        """File -> Save Notebook; wait until the tab is clean."""
        self.menu("File", "docmanager:save")
        wait_until(lambda: not self.dirty(), timeout, "the saved notebook's tab to be clean")

    def close_tab(self) -> list[str]:
        """File -> Close Tab; returns the dialogs it raised (none, for a saved notebook)."""
        label = self.tab()["label"]
        self.menu("File", "application:close")
        time.sleep(0.5)  # a "Save your work" dialog would be up by now
        asked = self.dialogs()
        if not asked:  # JupyterLab shows a Launcher where the last tab was
            wait_until(lambda: label not in self.tab_labels(), 10, f"the tab {label!r} to close")
        return asked

    def tab_labels(self) -> list[str]:
        """The labels of the tabs of the main area."""
        return list(self.js("return [...document.querySelectorAll("
                            "'#jp-main-dock-panel .lm-TabBar-tab')].map(t => t.textContent);"))

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path


# --- what the committed notebook promises ------------------------------------------------------

#: The lessons, in order: notebooks/NN-slug.ipynb.
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def read(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def match_python(notebook: Path) -> str | None:
    """Give the copy ``notebook`` this Python's ``language_info.version``; returns the version
    it had when that differed, else ``None``.

    JupyterLab writes the kernel's ``language_info`` into the notebook when the kernel starts,
    so a notebook committed on Python 3.11.7 opens with unsaved changes on any other Python.
    That is a fact of the machine, not of the notebook, so the tier runs the copy as if it had
    been committed on this Python and checks everything else.
    """
    data = read(notebook)
    info = data["metadata"].get("language_info") or {}
    if "version" not in info or info["version"] == platform.python_version():
        return None
    committed = str(info["version"])
    info["version"] = platform.python_version()
    notebook.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return committed


def cells_as_written(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """Every cell without what running it changes: its id, type, source and metadata, but no
    outputs, execution count or ``execution`` timings (which JupyterLab removes when it runs a
    cell, as its ``recordTiming`` is off, and nbclient writes when make lessons runs one)."""
    return [{"id": cell.get("id"), "cell_type": cell["cell_type"],
             "source": "".join(cell["source"]),
             "metadata": {k: v for k, v in cell.get("metadata", {}).items() if k != "execution"}}
            for cell in notebook["cells"]]


def checked_cells(notebook: dict[str, Any]) -> list[int]:
    """Indexes of the code cells nbval checks (``# NBVAL_CHECK_OUTPUT``) that were committed
    with output."""
    return [i for i, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "code" and "NBVAL_CHECK_OUTPUT" in "".join(cell["source"])
            and cell.get("outputs")]


# --- a learner's session with a lesson, recorded ----------------------------------------------

#: How long Run All may take for one lesson (the slowest takes about a minute on a busy machine).
RUN_ALL_TIMEOUT = 240
#: Lessons run side by side in this many lanes, each its own JupyterLab and Chromium: much of a
#: lesson is waiting for triggers, so the lanes overlap those waits ($JOBSLAB_BROWSER_LANES).
LANES = int(os.environ.get("JOBSLAB_BROWSER_LANES") or 4)
#: Recorded lesson times (make lessons), used only to start the longest lessons first.
_TIMES = ROOT / "benchmarks" / "results" / "lessons-local.json"


@dataclasses.dataclass
class Seen:
    """What a learner saw of one lesson in JupyterLab: recorded by :func:`visit`, judged by
    the test."""

    lesson: str
    before: dict[str, Any]  # the notebook file as JupyterLab opened it
    kernel: str = ""
    dirty_in_model: bool | None = None  # JupyterLab's own flag, once the kernel's info is in
    tab_on_open: list[str] = dataclasses.field(default_factory=list)  # the tab's classes
    dialogs_on_open: list[str] = dataclasses.field(default_factory=list)
    notifications_on_open: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)  # tracebacks, stderr
    dialogs_after_run: list[str] = dataclasses.field(default_factory=list)
    prompts: list[str] = dataclasses.field(default_factory=list)
    outputs: list[str | None] = dataclasses.field(default_factory=list)
    saved: dict[str, Any] | None = None  # the file after File -> Save Notebook
    dialogs_on_close: list[str] | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    broke: str | None = None  # a step that could not be done: which, and why
    screenshots: list[Path] = dataclasses.field(default_factory=list)


def visit(page: LabPage, name: str, shots: Path = SCREENSHOTS) -> Seen:
    """Open ``notebooks/<name>``, Run All Cells, save, close its tab — as a learner does, in
    the menus — and record what the page shows at each step. Never raises: a step that cannot
    be done (a timeout, say) ends the visit, is recorded in ``broke``, and the screen at that
    moment is saved as ``<stem>-failed.png``."""
    stem = Path(name).stem
    seen = Seen(lesson=name, before=read(page.lab.notebooks / name))
    step = "open"
    start = time.monotonic()
    try:
        state = page.open(name)
        seen.kernel, seen.dirty_in_model = state["kernel"], state["dirty"]
        seen.tab_on_open = page.tab()["classes"]
        seen.dialogs_on_open = page.dialogs()
        seen.notifications_on_open = page.notifications()
        seen.screenshots.append(page.screenshot(shots / f"{stem}-1-first.png"))
        seen.seconds["open"] = time.monotonic() - start

        step = "Run -> Run All Cells"
        seen.seconds["run all"] = page.run_all(RUN_ALL_TIMEOUT)
        seen.errors = page.error_outputs()
        seen.dialogs_after_run = page.dialogs()
        seen.prompts = page.prompts()
        seen.outputs = page.cell_outputs()
        page.scroll_to_end()
        seen.screenshots.append(page.screenshot(shots / f"{stem}-2-last.png"))

        step = "File -> Save Notebook"
        page.save()
        seen.saved = read(page.lab.notebooks / name)
        step = "File -> Close Tab"
        seen.dialogs_on_close = page.close_tab()
    except Exception as err:
        seen.broke = f"{step}: {type(err).__name__}: {err}".strip()
        with contextlib.suppress(Exception):
            seen.screenshots.append(page.screenshot(shots / f"{stem}-failed.png"))
    seen.seconds["total"] = time.monotonic() - start
    return seen


def longest_first(names: list[str]) -> list[str]:
    """``names`` ordered by their recorded run time, longest first (else as given)."""
    try:
        times = {r["lesson"]: float(r["seconds"]) for r in read(_TIMES)["lessons"]}
    except (OSError, ValueError, KeyError, TypeError):
        return list(names)
    return sorted(names, key=lambda n: -times.get(n, 0.0))


def visit_all(names: list[str], folder: Path, lanes: int = LANES) -> dict[str, Seen]:
    """:func:`visit` every lesson in ``names``, in up to ``lanes`` lanes side by side; each
    lane is its own :class:`JupyterLab` (ports, state dir) and Chromium, under ``folder``, and
    takes the next lesson when it is done with one. Every kernel a visit started is shut down
    before the next. A lane that cannot start raises."""
    queue = longest_first(names)
    lock = threading.Lock()
    seen: dict[str, Seen] = {}

    def lane(number: int) -> None:
        home = folder / f"lane-{number}"
        with JupyterLab(home, LESSONS) as lab:
            driver = chrome(home / "chromium")
            try:
                page = LabPage(driver, lab)
                while True:
                    with lock:
                        if not queue:
                            return
                        name = queue.pop(0)
                    seen[name] = visit(page, name)
                    lab.shut_down_kernels()
            finally:
                driver.quit()

    count = max(1, min(lanes, len(names)))
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        for done in [pool.submit(lane, n) for n in range(count)]:
            done.result()
    return seen
