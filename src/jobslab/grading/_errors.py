"""The grader's exception."""

from __future__ import annotations

from ..errors import JobslabError


class GradingError(JobslabError):
    """Grading could not run at all (no submissions, no free ports, an unknown lab)."""


__all__ = ["GradingError"]
