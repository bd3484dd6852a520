"""Control-plane cost of tracing: create -> Running over N VMs on the libvirt test driver, with
tracing off and on (every service and launcher exporting OTLP/gRPC to a receiver this script
runs in its own process, bench/otlpsink.py), in alternating rounds so that drift of the machine
hits both sides alike.

    python bench/tracing.py [-n 100] [--rounds 3]

Reports per side the mean and p50/p95 create->Running latency and the throughput, the overhead
of tracing on the mean latency and on the wall time of a round, and where it goes: CPU per VM
start of each part of the mesh, off and on, and the spans each service sent.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests")]

from controlplane import Burst, burst, mesh_env, pct  # noqa: E402
from otlpsink import Sink  # noqa: E402


def run_round(n: int, libvirt_uri: str, otlp: str | None) -> Burst:
    """One fresh mesh, n VMs created back to back, exporting traces to `otlp` if given."""
    env = {k: v for k, v in mesh_env().items() if not k.startswith("OTEL_")}
    if otlp:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    b = burst(n, libvirt_uri, env)
    if not b.ok:
        raise SystemExit(f"timed out: {len(b.latencies)}/{n} Running")
    return b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per side, alternating off/on")
    ap.add_argument("--libvirt-uri", default="test:///default")
    args = ap.parse_args()

    results: dict[str, list[Burst]] = {"off": [], "on": []}
    with Sink() as sink:
        for r in range(args.rounds):
            for side in (("off", "on") if r % 2 == 0 else ("on", "off")):
                b = run_round(args.n, args.libvirt_uri, sink.endpoint if side == "on" else None)
                results[side].append(b)
                print(f"round {r + 1} tracing {side:3}: mean {statistics.mean(b.latencies) * 1000:.0f} ms, "
                      f"{args.n / b.wall:.1f} VMs/s", flush=True)
        spans, sink_cpu = sink.spans(), sink.cpu()
    vms = args.n * args.rounds
    mean, walls, cpu = {}, {}, {}
    for side, bursts in results.items():
        lat = [x for b in bursts for x in b.latencies]
        mean[side], walls[side] = statistics.mean(lat), sum(b.wall for b in bursts)
        cpu[side] = {role: sum(b.cpu.get(role, 0.0) for b in bursts) / vms * 1000
                     for role in sorted({role for b in bursts for role in b.cpu})}
        print(f"tracing {side:3}: {len(lat)} VMs, create->Running mean {mean[side] * 1000:.0f} ms, "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms; "
              f"{vms / walls[side]:.1f} VMs/s")
    print("CPU per VM start (ms), off -> on: " + ", ".join(
        f"{role} {cpu['off'].get(role, 0):.1f} -> {ms:.1f}" for role, ms in cpu["on"].items())
        + f"; total {sum(cpu['off'].values()):.1f} -> {sum(cpu['on'].values()):.1f}"
        + f"; the OTLP sink {sink_cpu / vms * 1000:.1f}")
    print("spans per VM start: " + ", ".join(f"{svc} {c / vms:.1f}" for svc, c in spans.items())
          + f"; total {sum(spans.values()) / vms:.1f}")
    lat_overhead = mean["on"] / mean["off"] - 1
    wall_overhead = walls["on"] / walls["off"] - 1
    print(f"tracing overhead: {lat_overhead * 100:+.1f} % on mean create->Running latency, "
          f"{wall_overhead * 100:+.1f} % on wall time (target <= 5 %)")


if __name__ == "__main__":
    main()
