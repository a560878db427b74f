"""Tools that keep the workbook's generated parts honest.

- :mod:`.index` — the lesson table in ``notebooks/00-index.ipynb`` (``scripts/make-index``).
- :mod:`.labs` — learner copies in ``labs/`` from ``solutions/`` (``scripts/make-labs``).

Used by the scripts and tests, not by lessons; import the modules themselves.
"""

__all__: list[str] = []
