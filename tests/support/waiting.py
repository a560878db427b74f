"""Waiting in tests: one deadline-bound poll, which says what it waited for when it gives up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               *, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy and return that; after
    ``timeout`` seconds fail, naming ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(interval)
