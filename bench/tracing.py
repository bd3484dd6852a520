"""Control-plane cost of tracing: create -> Running over N VMs on the libvirt test driver, with
tracing off and on.

    python bench/tracing.py [-n 100] [--rounds 3] [--rate 5]

Each round runs two meshes side by side, one with tracing off and one with every service and
launcher exporting OTLP/gRPC to a receiver this script runs in its own process
(bench/otlpsink.py), and creates VMs in both alternately: `--rate R` VMs a second in each
(default 5, together about a third of what two cores sustain), `--rate 0` back to back. Side
by side, because this machine is a VM on shared hardware whose speed drifts by 10 % and more
within a minute: meshes measured one after the other differ by that much whatever they run;
side by side, both see the same machine.

Reports per side the create->Running latency (mean, p50, p95) and CPU per VM start of each part
of the mesh (the figure that does not depend on how the two meshes share the cores), the spans
each service sent, and the overhead of tracing on the mean latency and on CPU: per round, and
over all rounds. Each mesh starts counting once a warm-up VM runs: the SDK's one-off cost at start
(imports, the exporter's connection) is reported apart, as the time from `virtmesh up` to that
first VM Running.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]

from controlplane import BenchMesh, Burst, mesh_env, pct, run_bursts  # noqa: E402
from otlpsink import Sink  # noqa: E402

SIDES = ("off", "on")


def run_round(n: int, libvirt_uri: str, rate: float, otlp: str, first: str) -> dict[str, Burst]:
    """Two fresh meshes, tracing off and on; n VMs created in each, alternately (`first` first)."""
    meshes = {}
    for side in SIDES:
        env = {k: v for k, v in mesh_env().items() if not k.startswith("OTEL_")}
        if side == "on":
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
        meshes[side] = BenchMesh(n, libvirt_uri, env)
    # `first` creates first: dicts keep their order, and run_bursts alternates from there.
    ordered = {side: meshes[side] for side in (first, SIDES[1 - SIDES.index(first)])}
    results = run_bursts(ordered, n, keep=False, sequential=False, rate=rate)
    for side, b in results.items():
        if not b.ok:
            raise SystemExit(f"tracing {side}: timed out, {len(b.latencies)}/{n} Running")
    return {side: results[side] for side in meshes}


def cpu_ms(b: Burst, n: int) -> float:
    return sum(b.cpu.values()) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100, help="VMs per mesh and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=5.0, help="VMs created per second in each mesh (0: back to back)")
    ap.add_argument("--libvirt-uri", default="test:///default")
    args = ap.parse_args()

    rounds: list[dict[str, Burst]] = []
    with Sink() as sink:
        for r in range(args.rounds):
            res = run_round(args.n, args.libvirt_uri, args.rate, sink.endpoint, first=SIDES[r % 2])
            rounds.append(res)
            off, on = res["off"], res["on"]
            print(f"round {r + 1}: mean {statistics.mean(off.latencies) * 1000:.1f} -> "
                  f"{statistics.mean(on.latencies) * 1000:.1f} ms, CPU/VM {cpu_ms(off, args.n):.1f} -> "
                  f"{cpu_ms(on, args.n):.1f} ms", flush=True)
        spans, sink_cpu = sink.spans(), sink.cpu()
    vms = args.n * args.rounds
    mean, cpu = {}, {}
    for side in SIDES:
        bursts = [res[side] for res in rounds]
        lat = [x for b in bursts for x in b.latencies]
        mean[side] = statistics.mean(lat)
        cpu[side] = {role: sum(b.cpu.get(role, 0.0) for b in bursts) / vms * 1000
                     for role in sorted({role for b in bursts for role in b.cpu})}
        print(f"tracing {side:3}: {len(lat)} VMs, create->Running mean {mean[side] * 1000:.1f} ms, "
              f"p50 {pct(lat, 50) * 1000:.1f} ms, p95 {pct(lat, 95) * 1000:.1f} ms; first VM after "
              f"`virtmesh up` in {statistics.mean(b.startup for b in bursts):.2f} s")
    total = {side: sum(c.values()) for side, c in cpu.items()}
    print("CPU per VM start (ms), off -> on: " + ", ".join(
        f"{role} {cpu['off'].get(role, 0):.1f} -> {ms:.1f}" for role, ms in cpu["on"].items())
        + f"; total {total['off']:.1f} -> {total['on']:.1f}; the OTLP sink {sink_cpu / vms * 1000:.1f}")
    print("spans per VM start: " + ", ".join(f"{svc} {c / vms:.1f}" for svc, c in spans.items())
          + f"; total {sum(spans.values()) / vms:.1f}")
    per_round = [(statistics.mean(r["on"].latencies) / statistics.mean(r["off"].latencies) - 1,
                  cpu_ms(r["on"], args.n) / cpu_ms(r["off"], args.n) - 1) for r in rounds]
    print("per round: " + ", ".join(f"{lat * 100:+.1f} % latency {c * 100:+.1f} % CPU" for lat, c in per_round))
    print(f"tracing overhead ({'back to back' if not args.rate else f'{args.rate:g} VMs/s per mesh'}): "
          f"{(mean['on'] / mean['off'] - 1) * 100:+.1f} % on mean create->Running latency, "
          f"{(total['on'] / total['off'] - 1) * 100:+.1f} % on CPU per VM start (target <= 5 %)")


if __name__ == "__main__":
    main()
