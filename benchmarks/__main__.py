"""Run every ``benchmarks/bench_*.py`` (or the ones named) and write ``benchmarks/results/``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    results = HERE / "results"
    for name in names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        if module.main(results) is None:
            continue  # skipped (it said why)
        stem = getattr(module, "RESULT_NAME", name)
        print(f"   wrote {results.relative_to(HERE.parent)}/{stem}.json and .md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
