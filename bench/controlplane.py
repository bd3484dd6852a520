"""Control-plane benchmark: create N VMs against the libvirt test driver and measure create -> Running.

    python bench/controlplane.py [-n 200]

Runs a real `virtmesh up` (api, controller, handler as processes; one launcher process per VM)
in a temp dir, creates the VMs through the api (gRPC) back to back, follows a VMI watch and
reports create->VMI Running latency p50/p95/p99 and throughput (VMs/s).
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
import threading
import time
from typing import NamedTuple

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from services.common import proto  # noqa: E402


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def vm(name: str):
    v = proto.kv.VirtualMachine()
    v.metadata.name = name
    v.spec.runStrategy = "Always"
    v.spec.template.spec.domain.memory.guest = "64Mi"
    v.spec.template.spec.terminationGracePeriodSeconds = 0
    return proto.wrap(v)


def wait_for_node(stub, timeout: float = 60) -> None:
    """Until the mesh's handler has registered its node (the mesh can place VMs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stub.List(proto.api.ListRequest(kind=proto.NODE), timeout=2).items:
                return
        except grpc.RpcError:
            pass
        time.sleep(0.1)


def follow_running(stub, n: int) -> tuple[dict[str, float], threading.Event]:
    """Record when each VMI first reports Running (from a watch); the event fires after `n`."""
    running: dict[str, float] = {}
    done = threading.Event()

    def follow():
        for ev in stub.Watch(proto.api.WatchRequest(kind=proto.VMI)):
            v = ev.object.virtualMachineInstance
            if ev.type != "BOOKMARK" and v.status.phase == "Running" and v.metadata.name not in running:
                running[v.metadata.name] = time.monotonic()
                if len(running) == n:
                    done.set()
                    return

    threading.Thread(target=follow, daemon=True).start()
    return running, done


def mesh_env(**extra) -> dict:
    """The environment of a benchmark's `virtmesh up`: this one, quiet logs, ROOT importable."""
    return dict(os.environ, VIRTMESH_LOG_LEVEL="WARNING",
                PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p), **extra)


def proc_stat(pid) -> tuple[str, float]:
    """A process's parent pid and the CPU seconds (user + system) it has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    return stat[1], (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def cpu_census(data_dir: str) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each role of the mesh running in `data_dir`:
    up, api, controller, handler, zygote and launcher (all launchers summed). Launchers are
    double-forked zygote children (ppid 1), so they are found by their inherited command line."""
    cpu: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            ppid, seconds = proc_stat(pid)
        except OSError:
            continue
        if data_dir.encode() not in b" ".join(argv) or len(argv) < 3 or argv[1] != b"-m":
            continue
        module = argv[2].decode()
        role = module.rsplit(".", 1)[-1] if module != "services.cli" else "up"
        if role == "zygote" and ppid == "1":  # ppid 1: a launcher forked off the zygote
            role = "launcher"
        cpu[role] = cpu.get(role, 0.0) + seconds
    return cpu


class Burst(NamedTuple):
    latencies: list[float]    # create -> VMI Running, seconds, per VM that got there
    wall: float               # first create to last Running
    ok: bool                  # all n Running in time
    cpu: dict[str, float]     # CPU seconds per role (cpu_census) from the first create to the last Running
    startup: float            # `virtmesh up` to the warm-up VM Running (imports, connections, first VM)


class BenchMesh:
    """A fresh `virtmesh up` in a temp dir for a benchmark: start() it (a warm-up VM first: every
    service has started and done its first VM), create() VMs through the api (gRPC), wait() for
    them to be Running, result(), stop(). Several can run side by side."""

    def __init__(self, n: int, libvirt_uri: str, env: dict):
        self.n, self.libvirt_uri, self.env = n, libvirt_uri, env
        self.dir = tempfile.mkdtemp(prefix="vmbench-", dir="/tmp")
        self.created: dict[str, float] = {}
        self.ok = False

    def start(self) -> "BenchMesh":
        self.t_up = time.monotonic()
        self.up = subprocess.Popen([sys.executable, "-m", "services.cli", "--data-dir", self.dir, "up",
                                    "--node-name", "bench", "--libvirt-uri", self.libvirt_uri], env=self.env,
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.stub = proto.api_grpc.ResourcesStub(grpc.insecure_channel(f"unix://{self.dir}/run/api.sock"))
        wait_for_node(self.stub)
        self.running, self.done = follow_running(self.stub, self.n + 1)
        self.stub.Create(proto.api.CreateRequest(object=vm("warm-up")), timeout=30)
        return self

    def warm(self, timeout: float = 120) -> None:
        """Until the warm-up VM runs; the CPU counts of result() start here."""
        while "warm-up" not in self.running and time.monotonic() - self.t_up < timeout:
            time.sleep(0.01)
        self.startup = self.running.get("warm-up", float("nan")) - self.t_up
        self.base = cpu_census(self.dir)

    def create(self, i: int) -> None:
        name = f"bench-{i:04d}"
        self.created[name] = time.monotonic()
        self.stub.Create(proto.api.CreateRequest(object=vm(name)), timeout=30)

    def wait(self, timeout: float) -> bool:
        self.ok = self.done.wait(timeout)
        if not self.ok:
            print(f"logs: {self.dir}/logs", file=sys.stderr)
        return self.ok

    def result(self, t0: float) -> Burst:
        """What happened since the warm-up (t0: when the first VM was created)."""
        last = max(self.running[k] for k in self.created if k in self.running) if self.created else t0
        cpu = {role: sec - self.base.get(role, 0.0) for role, sec in cpu_census(self.dir).items()}
        return Burst([self.running[k] - self.created[k] for k in list(self.running) if k in self.created],
                     last - t0, self.ok, cpu, self.startup)

    def stop(self, keep: bool = False) -> None:
        self.up.send_signal(signal.SIGTERM)
        try:
            self.up.wait(120)
        except subprocess.TimeoutExpired:
            self.up.kill()
        if self.ok and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def burst(n: int, libvirt_uri: str, env: dict, keep: bool = False, rate: float = 0.0) -> Burst:
    """One BenchMesh and `n` VMs created back to back, or `rate` per second. Returns the
    create->VMI Running latencies, the wall time from the first create to the last Running, whether
    all `n` got there (else the logs are kept and their dir is printed), the CPU each part of the
    mesh used meanwhile, and how long the mesh took to run its first VM."""
    mesh = BenchMesh(n, libvirt_uri, env)
    try:
        mesh.start().warm()
        t0 = time.monotonic()
        for i in range(n):
            if rate:
                time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            mesh.create(i)
        mesh.wait(timeout=max(120, n * 2))
        return mesh.result(t0)
    finally:
        mesh.stop(keep)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--libvirt-uri", default="test:///default")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    lat, wall, ok, cpu, startup = burst(args.n, args.libvirt_uri, mesh_env(), keep=args.keep)
    print(f"mesh start to a first VM Running: {startup:.2f} s")
    print(f"VMs: {len(lat)}/{args.n} Running ({'complete' if ok else 'TIMED OUT'})")
    if lat:
        print(f"create->Running latency: p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
              f"p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, "
              f"mean {statistics.mean(lat) * 1000:.0f} ms")
        print(f"throughput: {len(lat) / wall:.1f} VMs/s ({wall:.1f} s for {len(lat)})")
        print("CPU per VM start: " + ", ".join(f"{role} {sec / args.n * 1000:.1f} ms" for role, sec in sorted(cpu.items())))


if __name__ == "__main__":
    main()
