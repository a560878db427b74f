"""Waiting with a live progress line in a notebook, and silently everywhere else.

- :func:`sleep` — ``progress.sleep(5, what="letting the job fire")``: a live countdown.
- :func:`until` — ``progress.until(lambda: jobs.get(name) is None, timeout=10, what=...)``:
  poll a condition, return its (truthy) value, raise ``TimeoutError`` saying what was awaited.
- :class:`Line` — the one output line both use (and ``handle.wait_for`` too, for its live
  "3/6 triggers of 'tick'").

In a Jupyter kernel the line is ONE ``display_data`` output, updated in place through its
display id, so a cell that waits shows one line that moves, not a scroll of text. Outside a
kernel (plain Python, pytest, the CLI) nothing is printed: library code logs at DEBUG.

Only the caller's thread updates the line, and only when that thread is the main thread (the
one that runs cells): output from any other thread would land in whatever cell runs at that
moment (docs/architecture.md#kernel-hygiene). Nothing here starts a thread.

Every line starts with :data:`MARKER`. nbval (``--nbval-lax``) sees only the first state of the
line (it ignores ``update_display_data``) while the committed notebook holds the last one, so
``tests/nbval-sanitize.cfg`` maps any progress line to one constant and both compare equal.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

log = logging.getLogger(__name__)

#: Every progress line starts with this; the nbval sanitize rule keys on it.
MARKER = "⏱ "
#: The least time between two updates of the line (seconds); the last state is always shown.
MIN_UPDATE_INTERVAL = 0.1
_BAR_WIDTH = 20

T = TypeVar("T")


def _kernel_shell() -> Any | None:
    """The IPython shell when running in a Jupyter kernel on the main thread, else None.

    Never imports IPython: a kernel has always imported it already.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
    except Exception:  # a half-imported or unusual IPython: behave as outside a kernel
        return None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None  # the terminal IPython has no kernel and no display ids
    return shell


def bar(done: float, total: float, width: int = _BAR_WIDTH) -> str:
    """``"▕██████░░░░▏"``: ``done`` of ``total`` as a text bar of ``width`` cells."""
    frac = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    full = round(frac * width)
    return "▕" + "█" * full + "░" * (width - full) + "▏"


class Line:
    """One progress line: shown on creation, updated in place, left in its last state.

    In a kernel it is a ``display_data`` output with a display id; elsewhere it only logs.
    Use it as a context manager; :meth:`update` is throttled to :data:`MIN_UPDATE_INTERVAL`
    unless ``force=True``; :meth:`close` shows the final text. Leaving the ``with`` block on
    an exception (a ``KeyboardInterrupt`` from "Interrupt kernel", say) marks the line
    interrupted instead of leaving it looking live.
    """

    def __init__(self, text: str) -> None:
        self._text = MARKER + text
        self._handle: Any | None = None
        self._shown_at = time.monotonic()
        self._pending = False
        self._closed = False
        if _kernel_shell() is not None:
            from IPython.display import display

            self._handle = display(self._bundle(), raw=True, display_id=True)
        log.debug("progress: %s", text)

    def _bundle(self) -> dict[str, str]:
        return {"text/plain": self._text}

    @property
    def text(self) -> str:
        """The line as last set (with the marker)."""
        return self._text

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` (without the marker); at most every MIN_UPDATE_INTERVAL seconds."""
        new = MARKER + text
        if new == self._text and not self._pending:
            return
        self._text = new
        now = time.monotonic()
        if not force and now - self._shown_at < MIN_UPDATE_INTERVAL:
            self._pending = True
            return
        self._show(now)

    def _show(self, now: float) -> None:
        self._pending = False
        self._shown_at = now
        if self._handle is not None and threading.current_thread() is threading.main_thread():
            self._handle.update(self._bundle(), raw=True)

    def close(self, text: str) -> None:
        """Show the final ``text`` (always, however recent the last update)."""
        self._text = MARKER + text
        self._show(time.monotonic())
        self._closed = True
        log.debug("progress: %s", text)

    def __enter__(self) -> Line:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._closed:
            return
        if exc_type is None:
            self.close(self._text[len(MARKER):])
        else:
            self.close(self._text[len(MARKER):] + " (interrupted)")


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def sleep(seconds: float, what: str = "waiting") -> None:
    """Sleep ``seconds`` with a live countdown in a notebook (silently elsewhere).

    Example::

        progress.sleep(3, what="letting the job fire three times")
    """
    seconds = max(float(seconds), 0.0)
    start = time.monotonic()
    deadline = start + seconds
    with Line(f"{what}: {_seconds(seconds)} left {bar(0, seconds)}") as line:
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                break
            line.update(f"{what}: {_seconds(left)} left {bar(now - start, seconds)}")
            time.sleep(min(MIN_UPDATE_INTERVAL, left))
        line.close(f"{what}: done ({_seconds(seconds)}) {bar(1, 1)}")


def until(condition: Callable[[], T], *, timeout: float, interval: float = 0.1,
          what: str = "waiting") -> T:
    """Call ``condition()`` every ``interval`` seconds until it returns something truthy.

    Returns that value. Raises ``TimeoutError`` naming ``what`` when ``timeout`` seconds pass
    first (``condition`` is checked once more at the deadline). An exception from
    ``condition`` propagates at once. In a notebook a live line shows the time waited.

    Example::

        progress.until(lambda: jobs.get("l02-once") is None, timeout=10,
                       what="Dapr deletes the finished job")
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    start = time.monotonic()
    deadline = start + max(float(timeout), 0.0)
    checks = 0
    with Line(f"{what}: {_seconds(0)} of {timeout:g} s") as line:
        while True:
            value = condition()
            checks += 1
            now = time.monotonic()
            if value:
                line.close(f"{what}: done after {_seconds(now - start)}")
                return value
            if now >= deadline:
                line.close(f"{what}: timed out after {timeout:g} s")
                break
            line.update(f"{what}: {_seconds(now - start)} of {timeout:g} s")
            time.sleep(min(interval, deadline - now))
    raise TimeoutError(
        f"{what}: timed out after {timeout:g} s; the condition was checked {checks} time(s) "
        "and never held. Check what it waits for, or give it longer (timeout=...)."
    )


__all__ = ["MARKER", "Line", "bar", "sleep", "until"]
