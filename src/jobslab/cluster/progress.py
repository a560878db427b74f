"""Progress lines with elapsed time, in the style of the Dapr CLI.

The library never prints: it hands each line to a callback. The CLI passes ``print``; the
default sends lines to the logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("jobslab.cluster")

ICONS = {"info": "ℹ️ ", "wait": "⌛", "ok": "✅", "warn": "⚠️ ", "fail": "❌"}
_LEVELS = {"warn": logging.WARNING, "fail": logging.ERROR}


class Progress:
    """Emits ``<icon>  [  12.3s] message`` lines, timed from construction."""

    def __init__(
        self,
        emit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._clock = clock
        self._start = clock()

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def __call__(self, message: str, kind: str = "info") -> None:
        line = f"{ICONS.get(kind, '  ')}  [{self.elapsed:6.1f}s] {message}"
        if self._emit is None:
            log.log(_LEVELS.get(kind, logging.INFO), "%s", line)
        else:
            self._emit(line)
