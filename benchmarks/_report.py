"""Shared helpers: describe the machine, summarise samples, write JSON + Markdown."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What the numbers were measured on (no host names or paths)."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kb = int(fh.readline().split()[1])
            info["memory_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def percentiles(samples: list[float], points: tuple[int, ...] = (50, 90, 99)) -> dict[str, float]:
    """p50/p90/p99 (and min/max/mean) of a list of samples."""
    if not samples:
        return {}
    ordered = sorted(samples)
    out = {f"p{p}": ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] for p in points}
    out.update(min=ordered[0], max=ordered[-1], mean=statistics.fmean(ordered), n=len(ordered))
    return out


def write(results_dir: Path, name: str, data: dict[str, Any], markdown: str) -> None:
    """Write ``<name>.json`` and ``<name>.md`` with the machine description attached."""
    results_dir.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%d"), "machine": machine(),
            **data}
    (results_dir / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    m = data["machine"]
    header = (
        f"# {name}\n\nMeasured {data['measured_at']} on {m.get('cpus')} CPUs "
        f"({m.get('cpu', 'unknown CPU')}), {m.get('memory_gib', '?')} GiB, "
        f"Python {m['python']}, {m['platform']}. Single runs on a shared machine: read them "
        "as distributions and ratios, not as guarantees.\n\n"
    )
    (results_dir / f"{name}.md").write_text(header + markdown.rstrip() + "\n", encoding="utf-8")
