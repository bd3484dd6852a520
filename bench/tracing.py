"""Control-plane cost of tracing: create -> Running over N VMs on the libvirt test driver, with
tracing off and on (every service and launcher exporting OTLP/gRPC to a receiver this script
runs in its own process, bench/otlpsink.py), in alternating rounds so that drift of the machine
hits both sides alike.

    python bench/tracing.py [-n 100] [--rounds 3] [--rate 10]

`--rate R` creates R VMs a second (default 10, about a third of what this mesh sustains on two
cores): the latency of a VM start as a user sees it, tracing's work on its path included.
`--rate 0` creates them back to back: the mesh saturated, where the cost shows as throughput and
CPU, and the mean latency is mostly queueing (noisy: rounds of one side differ by +-20 %).

Reports per side the mean and p50/p95 create->Running latency and the throughput, the overhead
of tracing on the mean latency, on the wall time of a round and on CPU, and where it goes: CPU per
VM start of each part of the mesh, off and on, and the spans each service sent. Each round starts
timing once a warm-up VM runs: the SDK's one-off cost at start (imports, the exporter's
connection) is reported apart, as the time from `virtmesh up` to that first VM Running.

This machine is a VM on shared hardware: a round's CPU per VM start drifts by +-5 % whatever it
runs. Each pair of rounds (one off, one on, back to back) gives a ratio, and the overhead is
reported both over all VMs pooled and as the median of the pairs' ratios, which one disturbed
round does not move.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]

from controlplane import Burst, burst, mesh_env, pct  # noqa: E402
from otlpsink import Sink  # noqa: E402


def run_round(n: int, libvirt_uri: str, rate: float, otlp: str | None) -> Burst:
    """One fresh mesh, n VMs created at `rate` (0: back to back), exporting traces to `otlp` if given."""
    env = {k: v for k, v in mesh_env().items() if not k.startswith("OTEL_")}
    if otlp:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    b = burst(n, libvirt_uri, env, rate=rate)
    if not b.ok:
        raise SystemExit(f"timed out: {len(b.latencies)}/{n} Running")
    return b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="rounds per side, alternating off/on")
    ap.add_argument("--rate", type=float, default=10.0, help="VMs created per second (0: back to back)")
    ap.add_argument("--libvirt-uri", default="test:///default")
    args = ap.parse_args()

    results: dict[str, list[Burst]] = {"off": [], "on": []}
    with Sink() as sink:
        for r in range(args.rounds):
            for side in (("off", "on") if r % 2 == 0 else ("on", "off")):
                b = run_round(args.n, args.libvirt_uri, args.rate, sink.endpoint if side == "on" else None)
                results[side].append(b)
                print(f"round {r + 1} tracing {side:3}: mean {statistics.mean(b.latencies) * 1000:.0f} ms, "
                      f"{args.n / b.wall:.1f} VMs/s, {sum(b.cpu.values()) / args.n * 1000:.1f} ms CPU/VM",
                      flush=True)
        spans, sink_cpu = sink.spans(), sink.cpu()
    pairs = [(statistics.mean(on.latencies) / statistics.mean(off.latencies) - 1,
              sum(on.cpu.values()) / sum(off.cpu.values()) - 1) for off, on in zip(results["off"], results["on"])]
    vms = args.n * args.rounds
    mean, walls, cpu, startup = {}, {}, {}, {}
    for side, bursts in results.items():
        lat = [x for b in bursts for x in b.latencies]
        mean[side], walls[side] = statistics.mean(lat), sum(b.wall for b in bursts)
        startup[side] = statistics.mean(b.startup for b in bursts)
        cpu[side] = {role: sum(b.cpu.get(role, 0.0) for b in bursts) / vms * 1000
                     for role in sorted({role for b in bursts for role in b.cpu})}
        print(f"tracing {side:3}: {len(lat)} VMs, create->Running mean {mean[side] * 1000:.1f} ms, "
              f"p50 {pct(lat, 50) * 1000:.1f} ms, p95 {pct(lat, 95) * 1000:.1f} ms; "
              f"{vms / walls[side]:.1f} VMs/s")
    total = {side: sum(c.values()) for side, c in cpu.items()}
    print("CPU per VM start (ms), off -> on: " + ", ".join(
        f"{role} {cpu['off'].get(role, 0):.1f} -> {ms:.1f}" for role, ms in cpu["on"].items())
        + f"; total {total['off']:.1f} -> {total['on']:.1f}; the OTLP sink {sink_cpu / vms * 1000:.1f}")
    print("spans per VM start: " + ", ".join(f"{svc} {c / vms:.1f}" for svc, c in spans.items())
          + f"; total {sum(spans.values()) / vms:.1f}")
    print(f"mesh start to a first VM Running: {startup['off']:.2f} s off, {startup['on']:.2f} s on "
          f"(the SDK's imports and connections; not in the figures below)")
    print("pairs of rounds, on/off: " + ", ".join(f"{lat * 100:+.1f} % latency {cpu * 100:+.1f} % CPU"
                                                  for lat, cpu in pairs))
    print(f"tracing overhead ({'back to back' if not args.rate else f'{args.rate:g} VMs/s'}), pooled: "
          f"{(mean['on'] / mean['off'] - 1) * 100:+.1f} % on mean create->Running latency, "
          f"{(walls['on'] / walls['off'] - 1) * 100:+.1f} % on wall time, "
          f"{(total['on'] / total['off'] - 1) * 100:+.1f} % on CPU; median of pairs: "
          f"{statistics.median(p[0] for p in pairs) * 100:+.1f} % on latency, "
          f"{statistics.median(p[1] for p in pairs) * 100:+.1f} % on CPU (target <= 5 %)")


if __name__ == "__main__":
    main()
