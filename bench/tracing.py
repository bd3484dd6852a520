"""Control-plane cost of tracing: create -> Running over N VMs on the libvirt test driver, with
tracing off and on (every service and launcher exporting OTLP/gRPC to a receiver this script
runs), in alternating rounds so that drift of the machine hits both sides alike.

    python bench/tracing.py [-n 100] [--rounds 3]

Reports per side the mean and p50/p95 create->Running latency and the throughput, and the
overhead of tracing on the mean latency and on the wall time of a round.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests")]

from controlplane import burst, mesh_env, pct  # noqa: E402
from observability.otlp import Receiver  # noqa: E402


def run_round(n: int, libvirt_uri: str, otlp: str | None) -> tuple[list[float], float]:
    """One fresh mesh, n VMs created back to back; returns (create->Running latencies, wall seconds)."""
    env = {k: v for k, v in mesh_env().items() if not k.startswith("OTEL_")}
    if otlp:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    lat, wall, ok = burst(n, libvirt_uri, env)
    if not ok:
        raise SystemExit(f"timed out: {len(lat)}/{n} Running")
    return lat, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per side, alternating off/on")
    ap.add_argument("--libvirt-uri", default="test:///default")
    args = ap.parse_args()

    receiver = Receiver().start()
    results = {"off": ([], []), "on": ([], [])}
    try:
        for r in range(args.rounds):
            for side in (("off", "on") if r % 2 == 0 else ("on", "off")):
                lat, wall = run_round(args.n, args.libvirt_uri, receiver.endpoint if side == "on" else None)
                results[side][0].extend(lat)
                results[side][1].append(wall)
                print(f"round {r + 1} tracing {side:3}: mean {statistics.mean(lat) * 1000:.0f} ms, "
                      f"{args.n / wall:.1f} VMs/s", flush=True)
    finally:
        receiver.stop()
    for side, (lat, walls) in results.items():
        print(f"tracing {side:3}: {len(lat)} VMs, create->Running mean {statistics.mean(lat) * 1000:.0f} ms, "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms; "
              f"{args.n * len(walls) / sum(walls):.1f} VMs/s")
    off, on = results["off"], results["on"]
    lat_overhead = statistics.mean(on[0]) / statistics.mean(off[0]) - 1
    wall_overhead = sum(on[1]) / sum(off[1]) - 1
    print(f"spans received: {len(receiver.snapshot())}")
    print(f"tracing overhead: {lat_overhead * 100:+.1f} % on mean create->Running latency, "
          f"{wall_overhead * 100:+.1f} % on wall time (target <= 5 %)")


if __name__ == "__main__":
    main()
