"""Reproducible measurements. ``python -m benchmarks [NAME ...]`` runs them.

Each ``benchmarks/bench_<name>.py`` has ``main(results_dir: Path) -> dict`` that measures,
writes ``results/<name>.json`` and ``results/<name>.md`` (see :mod:`benchmarks._report`), and
returns the JSON data. Speeds are reported as distributions and ratios, never asserted.
"""
