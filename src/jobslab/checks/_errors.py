"""The root exception, until ``jobslab.errors`` (the layers refactor) is on this branch."""

from __future__ import annotations

try:
    from ..errors import JobslabError
except ImportError:  # pragma: no cover - before jobslab/errors.py exists

    class JobslabError(Exception):  # type: ignore[no-redef]
        """Root of every exception jobslab raises on purpose."""


__all__ = ["JobslabError"]
