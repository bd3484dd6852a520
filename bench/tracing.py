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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests")]

from controlplane import follow_running, pct, vm, wait_for_node  # noqa: E402
from observability.otlp import Receiver  # noqa: E402
from services.common import proto  # noqa: E402


def run_round(n: int, libvirt_uri: str, otlp: str | None) -> tuple[list[float], float]:
    """One fresh mesh, n VMs created back to back; returns (create->Running latencies, wall seconds)."""
    d = tempfile.mkdtemp(prefix="vmtbench-", dir="/tmp")
    env = dict(os.environ, VIRTMESH_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for k in [k for k in env if k.startswith("OTEL_")]:
        del env[k]
    if otlp:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "--data-dir", d, "up", "--node-name", "bench",
                           "--libvirt-uri", libvirt_uri], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ch = grpc.insecure_channel(f"unix://{d}/run/api.sock")
        stub = proto.api_grpc.ResourcesStub(ch)
        wait_for_node(stub)
        created: dict[str, float] = {}
        running, done = follow_running(stub, n)
        time.sleep(0.3)
        t0 = time.monotonic()
        for i in range(n):
            name = f"bench-{i:04d}"
            created[name] = time.monotonic()
            stub.Create(proto.api.CreateRequest(object=vm(name)), timeout=30)
        if not done.wait(timeout=max(120, n * 2)):
            raise SystemExit(f"timed out: {len(running)}/{n} Running (logs in {d}/logs)")
        wall = time.monotonic() - t0
        return [running[k] - created[k] for k in running], wall
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(120)
        except subprocess.TimeoutExpired:
            up.kill()
        shutil.rmtree(d, ignore_errors=True)


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
