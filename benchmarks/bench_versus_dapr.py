"""The stand-in next to real Dapr (``daprd`` + ``scheduler``), measured the same way.

Runs only when the Dapr binaries are in ``~/.dapr/bin`` or on PATH (``dapr init --slim``);
otherwise it prints one line and writes nothing.

Both get the same no-op app (:mod:`benchmarks._noop_app`), the same load generator
(:mod:`benchmarks._loadgen`, raw asyncio, 16 keep-alive connections) and the same driver,
in alternating rounds (stand-in first, then Dapr first, ...), each round on fresh processes
and fresh state. Per round and system:

- ready: scheduler started → ready (stand-in: its port accepts; Dapr: healthz 200), then
  sidecar started → the first schedule call answered 204;
- schedule calls/s and latency p50/p99: 5,000 calls ``{"dueTime":"24h","data":"perftest"}``
  over 16 connections (after 500 unmeasured ones);
- a burst: 2,000 jobs all due at the same instant; drain time is the last trigger's
  arrival at the app minus that instant, and the app counts the TCP connections the sidecar
  opened to deliver them;
- fire lateness at 100 jobs/s for 5 s (the app's clock at arrival minus the planned time),
  once with the machine otherwise idle and once with two busy-loop processes keeping both
  cores full. The load generator and driver are idle while the jobs fire;
- memory: RSS of scheduler + sidecar at the end of the round.

The report gives each system's median over the rounds (lateness: percentiles of all rounds'
samples pooled) and the ratio stand-in ÷ Dapr.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _loadgen, _rigs
from benchmarks._report import percentiles, write
from jobslab.schedules import format_rfc3339

RESULT_NAME = "versus-dapr"
ROUNDS = 3
SCHEDULE_CALLS = 5000
BURST = 2000
LATENESS_RATE = 100
LATENESS_SECONDS = 5.0
BUSY_LOOP = "while True:\n    pass\n"


def _schedule_payloads(port: int, prefix: str, n: int) -> list[bytes]:
    body = json.dumps({"dueTime": "24h", "data": "perftest"}).encode()
    return [_loadgen.post(port, f"/v1.0/jobs/{prefix}-{i}", body) for i in range(n)]


def _due_payloads(port: int, prefix: str, planned: list[int]) -> list[bytes]:
    return [_loadgen.post(port, f"/v1.0/jobs/{prefix}-{i}-{ns}",
                          json.dumps({"dueTime": format_rfc3339(ns)}).encode())
            for i, ns in enumerate(planned)]


def _collect(rig: _rigs.Rig, expected: int, not_before_ns: int,
             timeout: float = 60.0) -> tuple[list[tuple[str, int]], int]:
    """The app's records and accepted connections, first asked at ``not_before_ns`` (wall
    clock) so that collecting does not compete with the deliveries being measured."""
    time.sleep(max(0.0, (not_before_ns - time.time_ns()) / 1e9))
    recs: list[tuple[str, int]] = []
    accepts = 0
    deadline = time.monotonic() + timeout
    while True:
        got = rig.dump()
        recs += [(p, t) for p, t in got["recs"]]
        accepts += got["accepts"]
        if len(recs) >= expected or time.monotonic() > deadline:
            return recs, accepts
        time.sleep(0.25)


def _schedule(rig: _rigs.Rig) -> dict[str, Any]:
    asyncio.run(_loadgen.run(rig.http_port, _schedule_payloads(rig.http_port, "warm", 500)))
    rate, lat = asyncio.run(_loadgen.run(
        rig.http_port, _schedule_payloads(rig.http_port, "perf", SCHEDULE_CALLS)))
    q = percentiles(lat)
    return {"calls_per_s": rate, "p50_ms": q["p50"], "p99_ms": q["p99"]}


def _burst(rig: _rigs.Rig, schedule_rate: float) -> dict[str, Any]:
    due = time.time_ns() + int((BURST / schedule_rate * 2 + 1.0) * 1e9)
    asyncio.run(_loadgen.run(rig.http_port, _due_payloads(rig.http_port, "burst", [due] * BURST)))
    if time.time_ns() >= due:
        raise RuntimeError("scheduling the burst took longer than planned")
    recs, accepts = _collect(rig, BURST, due + 2_500_000_000)
    last = max(t for _, t in recs)
    drain = (last - due) / 1e9
    return {"triggers": len(recs), "drain_s": drain, "triggers_per_s": len(recs) / drain,
            "connections": accepts,
            "early": sum(t < due for _, t in recs)}


def _busy_loops(n: int = 2) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP], start_new_session=True)
            for _ in range(n)]


def _lateness(rig: _rigs.Rig, schedule_rate: float, busy: bool, tag: str) -> dict[str, Any]:
    n = int(LATENESS_RATE * LATENESS_SECONDS)
    start = time.time_ns() + int((n / schedule_rate * 2 + 1.5) * 1e9)
    planned = [start + int(i * 1e9 / LATENESS_RATE) for i in range(n)]
    asyncio.run(_loadgen.run(rig.http_port, _due_payloads(rig.http_port, tag, planned)))
    if time.time_ns() >= start - 500_000_000:
        raise RuntimeError("scheduling the lateness jobs took longer than planned")
    loops = _busy_loops() if busy else []
    try:
        time.sleep(max(0.0, (planned[-1] - time.time_ns()) / 1e9 + 0.5))
    finally:
        for p in loops:
            p.kill()
            p.wait()
    recs, _ = _collect(rig, n, 0, timeout=30)
    late = [(t - int(path.rsplit("-", 1)[1])) / 1e6 for path, t in recs]
    return {"jobs": n, "delivered": len(late), "early": sum(x < 0 for x in late),
            "samples_ms": late}


def _round(rig: _rigs.Rig) -> dict[str, Any]:
    rig.start()
    try:
        out: dict[str, Any] = {"ready": rig.ready}
        out["schedule"] = _schedule(rig)
        rate = out["schedule"]["calls_per_s"]
        out["burst"] = _burst(rig, rate)
        out["lateness_idle"] = _lateness(rig, rate, False, "idle")
        out["lateness_busy"] = _lateness(rig, rate, True, "busy")
        out["rss_mib"] = rig.rss_mib()
        return out
    finally:
        rig.close()


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    bins = _rigs.dapr_binaries()
    assert bins is not None
    daprd, scheduler = bins
    runs: dict[str, list[dict[str, Any]]] = {"stand-in": [], "daprd": []}
    calibration = []
    for r in range(rounds):
        order = ["stand-in", "daprd"] if r % 2 == 0 else ["daprd", "stand-in"]
        for system in order:
            with tempfile.TemporaryDirectory() as tmp:
                rig: _rigs.Rig = (_rigs.StandinRig(Path(tmp)) if system == "stand-in"
                                  else _rigs.DaprRig(Path(tmp), daprd, scheduler))
                print(f"   round {r + 1}/{rounds}: {system}", flush=True)
                runs[system].append(_round(rig))
        calibration.append(_calibrate())
    return {"dapr_version": _rigs.dapr_version(daprd), "rounds": rounds,
            "loadgen_ceiling_per_s": statistics.median(calibration),
            "summary": {s: _summary(v) for s, v in runs.items()},
            "runs": {s: [_strip(x) for x in v] for s, v in runs.items()}}


def _calibrate() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        rig = _rigs.Rig(Path(tmp))
        rig._spawn([sys.executable, str(_rigs.NOOP_APP), str(rig.app_port)], "app.log")
        try:
            _rigs._until(lambda: _rigs._status(rig.app_port, "GET", "/dump") == 200, "app")
            return _loadgen.calibrate(rig.app_port)
        finally:
            rig.close()


def _strip(run: dict[str, Any]) -> dict[str, Any]:
    """A round without its raw lateness samples (percentiles instead)."""
    out = dict(run)
    for key in ("lateness_idle", "lateness_busy"):
        lat = dict(run[key])
        lat["lateness_ms"] = {k: round(v, 3) for k, v in percentiles(lat.pop("samples_ms")).items()}
        out[key] = lat
    return out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(f: Any) -> float:
        return float(statistics.median(f(x) for x in runs))

    out: dict[str, Any] = {
        "ready_s": med(lambda x: x["ready"]["total_s"]),
        "schedule_calls_per_s": med(lambda x: x["schedule"]["calls_per_s"]),
        "schedule_p50_ms": med(lambda x: x["schedule"]["p50_ms"]),
        "schedule_p99_ms": med(lambda x: x["schedule"]["p99_ms"]),
        "burst_drain_s": med(lambda x: x["burst"]["drain_s"]),
        "burst_triggers_per_s": med(lambda x: x["burst"]["triggers_per_s"]),
        "burst_connections": med(lambda x: x["burst"]["connections"]),
        "rss_mib": med(lambda x: x["rss_mib"]),
        "early": sum(x["burst"]["early"] + x["lateness_idle"]["early"]
                     + x["lateness_busy"]["early"] for x in runs),
        "undelivered": sum(BURST - x["burst"]["triggers"]
                           + x["lateness_idle"]["jobs"] - x["lateness_idle"]["delivered"]
                           + x["lateness_busy"]["jobs"] - x["lateness_busy"]["delivered"]
                           for x in runs),
    }
    for key in ("lateness_idle", "lateness_busy"):
        pooled = [s for x in runs for s in x[key]["samples_ms"]]
        q = percentiles(pooled)
        out[f"{key}_p50_ms"], out[f"{key}_p99_ms"] = q["p50"], q["p99"]
        out[f"{key}_max_ms"] = q["max"]
    return out


#: (label, summary key, unit format, higher is better?)
ROWS: list[tuple[str, str, str, bool]] = [
    ("schedule calls/s (16 connections)", "schedule_calls_per_s", "{:,.0f}/s", True),
    ("schedule latency p50", "schedule_p50_ms", "{:.2f} ms", False),
    ("schedule latency p99", "schedule_p99_ms", "{:.2f} ms", False),
    (f"burst of {BURST:,} simultaneous triggers: drain time", "burst_drain_s", "{:.3f} s",
     False),
    ("burst: triggers/s", "burst_triggers_per_s", "{:,.0f}/s", True),
    ("burst: TCP connections opened to the app", "burst_connections", "{:,.0f}", False),
    (f"fire lateness p50, {LATENESS_RATE} jobs/s, machine idle", "lateness_idle_p50_ms",
     "{:.2f} ms", False),
    (f"fire lateness p99, {LATENESS_RATE} jobs/s, machine idle", "lateness_idle_p99_ms",
     "{:.2f} ms", False),
    (f"fire lateness p50, {LATENESS_RATE} jobs/s, both cores busy", "lateness_busy_p50_ms",
     "{:.2f} ms", False),
    (f"fire lateness p99, {LATENESS_RATE} jobs/s, both cores busy", "lateness_busy_p99_ms",
     "{:.2f} ms", False),
    ("ready (scheduler, then sidecar to first schedule call)", "ready_s", "{:.2f} s", False),
    ("memory: RSS of scheduler + sidecar", "rss_mib", "{:.0f} MiB", False),
]


def _markdown(d: dict[str, Any]) -> str:
    s, p = d["summary"]["stand-in"], d["summary"]["daprd"]
    out = [f"Stand-in vs Dapr {d['dapr_version']} (`daprd` + `scheduler`, self-hosted), "
           f"{d['rounds']} alternating rounds each on fresh processes. Medians over the "
           "rounds; lateness percentiles over all rounds' samples pooled "
           f"({d['rounds']} × {int(LATENESS_RATE * LATENESS_SECONDS)} triggers per "
           "condition).", "",
           "| measure | stand-in | daprd | stand-in ÷ daprd | stand-in ahead? |",
           "|---|---|---|---|---|"]
    for label, key, fmt, higher in ROWS:
        a, b = s[key], p[key]
        ratio = a / b if b else float("inf")
        ahead = a > b if higher else a < b
        better = "higher is better" if higher else "lower is better"
        out.append(f"| {label} | {fmt.format(a)} | {fmt.format(b)} | {ratio:.2f}× "
                   f"({better}) | {'yes' if ahead else '**no**'} |")
    out += ["", f"Triggers before their planned time: stand-in {s['early']}, daprd "
            f"{p['early']}. Not delivered: stand-in {s['undelivered']}, daprd "
            f"{p['undelivered']}. Worst single lateness: idle {s['lateness_idle_max_ms']:.1f} "
            f"vs {p['lateness_idle_max_ms']:.1f} ms, busy {s['lateness_busy_max_ms']:.1f} vs "
            f"{p['lateness_busy_max_ms']:.1f} ms.", "",
            f"The load generator's own ceiling against the no-op app: "
            f"{d['loadgen_ceiling_per_s']:,.0f} requests/s.", "", "## Per round", "",
            "| round | system | schedule/s (p99) | burst drain (conns) | lateness idle p50/p99 "
            "| lateness busy p50/p99 | ready | RSS |", "|---|---|---|---|---|---|---|---|"]
    for system, runs in d["runs"].items():
        for i, x in enumerate(runs, 1):
            li, lb = x["lateness_idle"]["lateness_ms"], x["lateness_busy"]["lateness_ms"]
            out.append(
                f"| {i} | {system} | {x['schedule']['calls_per_s']:,.0f} "
                f"({x['schedule']['p99_ms']:.1f} ms) | {x['burst']['drain_s']:.3f} s "
                f"({x['burst']['connections']}) | {li['p50']:.2f} / {li['p99']:.2f} ms | "
                f"{lb['p50']:.2f} / {lb['p99']:.2f} ms | {x['ready']['total_s']:.2f} s | "
                f"{x['rss_mib']:.0f} MiB |")
    out += ["", _NOTE]
    return "\n".join(out) + "\n"


_NOTE = """\
## How to read this

Everything runs on one 2-core machine: the load generator, the no-op app, the scheduler and
the sidecar compete for the same cores, and the machine is shared with other work. One run
is a sample; the ratios are steadier than the absolute numbers, and the p99 rows (decided
by the slowest 1 % of each condition's samples) move from run to run. "Both cores busy"
means two `while True: pass` processes at normal priority for as long as the jobs fire.
The burst counts connections the sidecar opened to the app that carried at least one
trigger: the stand-in delivers over a pool of 64 keep-alive connections; daprd's Go HTTP
client reuses idle connections but opens a new one whenever none is idle, so it opens about
one per trigger in flight at the peak."""


def main(results_dir: Path) -> dict[str, Any] | None:
    if _rigs.dapr_binaries() is None:
        print("   skipped: daprd and scheduler not found in ~/.dapr/bin or on PATH "
              "(dapr init --slim --runtime-version 1.18.3)", flush=True)
        return None
    data = measure()
    write(results_dir, RESULT_NAME, data, _markdown(data))
    return data


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
