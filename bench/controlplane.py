"""Control-plane benchmark: create N VMs against the libvirt test driver and measure create -> Running.

    python bench/controlplane.py [-n 200] [--rate R] [--stages]
                                 [--kubeconfig FILE [--audit-log PATH] [--node-name N] [--sequential]]

Runs a real `virtmesh up` (api, controller, handler as processes; one launcher process per VM)
in a temp dir, creates the VMs through the api (gRPC) back to back, or R a second (steady state),
follows a VMI watch and reports create->VMI Running latency p50/p95/p99 and throughput (VMs/s).
With --stages the mesh traces into an OTLP sink and each start is shown stage by stage
(bench/stages.py: api write, controller, scheduling, handler, launcher spawn and ready, define+create).

With --kubeconfig the same burst also runs in cluster mode (`virtmesh up --kubeconfig`, its own data
dir; the Node is registered first, as a kubelet would, and made schedulable as the node lifecycle
controller would): VMs are created at that kube-apiserver (through the api's admission webhooks) and
followed with a watch of its VMIs. Both meshes run side by side, VMs created in each alternately (as
bench/tracing.py does: this machine's speed drifts, and side by side both see the same machine;
--sequential runs one after the other). Prints both in one table, cluster p50 / standalone p50, and the
writes per VM start counted from the kube-apiserver's audit log (bench/kubeaudit.py; --audit-log,
default audit.log beside the kubeconfig). The cluster's
VMs are deleted at the end (their launchers waited for), so runs can repeat on one plane.
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

from services.common import kube, proto  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
import kubeaudit  # noqa: E402
from proccpu import cpu_census, proc_stat  # noqa: E402
import stages  # noqa: E402
from otlpsink import Sink  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
import kubelet_standin  # noqa: E402 (the kubelet's Node registration)


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def vm(name: str, namespace: str = ""):
    v = proto.kv.VirtualMachine()
    v.metadata.name, v.metadata.namespace = name, namespace
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
    env = dict(os.environ, VIRTMESH_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p), **extra)
    return env


class Burst(NamedTuple):
    latencies: list[float]    # create -> VMI Running, seconds, per VM that got there
    wall: float               # first create to last Running
    ok: bool                  # all n Running in time
    cpu: dict[str, float]     # CPU seconds per role (cpu_census) from the first create to the last Running
    startup: float            # `virtmesh up` to the warm-up VM Running (imports, connections, first VM)
    calls: tuple = ()         # how long each create call took (it is part of its VM's latency)


class BenchMesh:
    """A fresh `virtmesh up` in a temp dir for a benchmark: start() it (a warm-up VM first: every
    service has started and done its first VM), create() VMs through the api (gRPC), wait() for
    them to be Running, result(), stop(). Several can run side by side."""

    def __init__(self, n: int, libvirt_uri: str, env: dict):
        self.n, self.libvirt_uri, self.env = n, libvirt_uri, env
        self.dir = tempfile.mkdtemp(prefix="vmbench-", dir="/tmp")
        self.created: dict[str, float] = {}
        self.calls: list[float] = []
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
        self.base = self.census()

    def census(self) -> dict[str, float]:
        return cpu_census(self.dir)

    def create(self, i: int) -> None:
        name = f"bench-{i:04d}"
        self.created[name] = time.monotonic()
        self.stub.Create(proto.api.CreateRequest(object=vm(name)), timeout=30)
        self.calls.append(time.monotonic() - self.created[name])

    def wait(self, timeout: float) -> bool:
        self.ok = self.done.wait(timeout)
        if not self.ok:
            print(f"logs: {self.dir}/logs", file=sys.stderr)
        return self.ok

    def result(self, t0: float) -> Burst:
        """What happened since the warm-up (t0: when the first VM was created)."""
        last = max(self.running[k] for k in self.created if k in self.running) if self.created else t0
        cpu = {role: sec - self.base.get(role, 0.0) for role, sec in self.census().items()}
        return Burst([self.running[k] - self.created[k] for k in list(self.running) if k in self.created],
                     last - t0, self.ok, cpu, self.startup, tuple(self.calls))

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


NAMESPACE = "default"

# A sitecustomize for the cluster-mode mesh's interpreters: each service's requests to the
# kube-apiserver carry User-Agent virtmesh-<service>, so the audit log tells which service wrote what
# (they all authenticate as the same admin, and the client's own agent names no one).
def follow_running_kube(kubeconfig: str, n: int) -> tuple[dict[str, float], threading.Event]:
    """follow_running's twin on the kube-apiserver: a watch of the namespace's VMIs (listed again
    after a 410 or a dropped connection; VMIs already Running then count from that moment)."""
    running: dict[str, float] = {}
    done = threading.Event()

    def seen(obj) -> None:
        v = proto.inner(obj)
        if not is_ours(v.metadata.name):
            return  # another VMI of the namespace (not this benchmark's) must not count
        if v.status.phase == "Running" and v.metadata.name not in running:
            running[v.metadata.name] = time.monotonic()
            if len(running) == n:
                done.set()

    def follow():
        k = kube.Kube(kube.api_client(kubeconfig, "bench"))
        rv = ""
        while not done.is_set():
            try:
                if not rv:
                    items, rv = k.list(proto.VMI, NAMESPACE)
                    rv = str(rv)
                    for obj in items:
                        seen(obj)
                for _, obj, rv in k.watch_events(proto.VMI, rv, NAMESPACE, stop=done):
                    if obj is not None:
                        seen(obj)
            except Exception:  # noqa: BLE001 - 410 Gone, a dropped stream: list again
                rv = ""
                time.sleep(0.2)
        k.close()

    threading.Thread(target=follow, daemon=True).start()
    return running, done


def is_ours(name: str) -> bool:
    return name == "warm-up" or name.startswith("bench-")


class ClusterBenchMesh(BenchMesh):
    """BenchMesh in cluster mode: `virtmesh up --kubeconfig` in its own data dir, VMs created at the
    kube-apiserver and followed there. Its result() also counts the kube-apiserver's writes (self.writes);
    its stop() deletes the VMs first and waits for their launchers, so the plane is clean for the next run."""

    def __init__(self, n: int, libvirt_uri: str, env: dict, kubeconfig: str, node: str, audit_log: str):
        super().__init__(n, libvirt_uri, env)
        self.kubeconfig, self.node, self.audit_log = os.path.abspath(kubeconfig), node, audit_log
        self.kube = kube.Kube(kube.api_client(self.kubeconfig, "bench"))  # the audit log tells our creates apart
        self.writes: kubeaudit.Writes | None = None

    def start(self) -> "ClusterBenchMesh":
        kubelet_standin.register_node(self.kube.request, self.node)
        self.t_up = time.monotonic()
        log_path = os.path.join(self.dir, "up.log")
        with open(log_path, "ab") as log:
            self.up = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "--data-dir", self.dir, "up", "--node-name", self.node,
                 "--libvirt-uri", self.libvirt_uri, "--kubeconfig", self.kubeconfig],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        # "mesh is up": CRDs installed, the api healthy (its webhooks registered); the Node must exist.
        while b"mesh is up" not in open(log_path, "rb").read():
            if self.up.poll() is not None or time.monotonic() - self.t_up > 120:
                raise SystemExit(f"cluster mesh did not come up; see {log_path}")
            time.sleep(0.1)
        self.clean()  # a crashed earlier run's VMs would collide with ours
        self.running, self.done = follow_running_kube(self.kubeconfig, self.n + 1)
        while True:  # the kube-apiserver may not reach the api's webhooks yet
            try:
                self.kube.create(vm("warm-up", NAMESPACE))
                return self
            except grpc.RpcError:
                if time.monotonic() - self.t_up > 120:
                    raise
                time.sleep(0.5)

    def census(self) -> dict[str, float]:
        """The mesh's CPU and the control plane's (tools/kube.sh keeps the pids beside the kubeconfig)."""
        cpu = cpu_census(self.dir)
        for part in ("apiserver", "etcd"):
            try:
                pidfile = os.path.join(os.path.dirname(self.kubeconfig), f"{part}.pid")
                cpu[part] = proc_stat(open(pidfile).read().strip())[1]
            except (OSError, ValueError):
                pass
        return cpu

    def create(self, i: int) -> None:
        name = f"bench-{i:04d}"
        if not self.created:
            self.t_first = time.time()                      # the audit window opens
            self.audit_at = kubeaudit.size(self.audit_log)  # and the log is read from here
        self.created[name] = time.monotonic()
        self.kube.create(vm(name, NAMESPACE))
        self.calls.append(time.monotonic() - self.created[name])

    def result(self, t0: float) -> Burst:
        out = super().result(t0)
        if os.path.exists(self.audit_log) and self.created:
            self.writes = self.settled_writes()
        return out

    def settled_writes(self, quiet: float = 2.0, limit: float = 30.0) -> kubeaudit.Writes:
        """The audit window closes once the mesh has stopped writing (a VM's status follows its VMI's
        Running) for `quiet` seconds, `limit` at most."""
        start = last_change = time.monotonic()
        count = -1
        while True:
            writes = kubeaudit.Writes(kubeaudit.read(self.audit_log, self.audit_at), self.t_first, time.time())
            now = time.monotonic()
            if sum(writes.mesh.values()) != count:
                count, last_change = sum(writes.mesh.values()), now
            elif now - last_change >= quiet or now - start >= limit:
                return writes
            time.sleep(0.25)

    def clean(self, timeout: float = 120) -> None:
        """Delete this benchmark's VMs; wait until their VMIs are gone and their launchers have exited."""
        for obj in self.kube.list(proto.VM, NAMESPACE)[0]:
            if is_ours(proto.inner(obj).metadata.name):
                try:
                    self.kube.delete(obj)
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.up.poll() is None:
            vmis = [o for o in self.kube.list(proto.VMI, NAMESPACE)[0] if is_ours(proto.inner(o).metadata.name)]
            if not vmis and "launcher" not in cpu_census(self.dir):
                return
            time.sleep(0.5)
        print(f"cluster: VMs not cleaned up after {timeout:.0f} s; logs: {self.dir}/logs", file=sys.stderr)

    def stop(self, keep: bool = False) -> None:
        try:
            if getattr(self, "up", None) is not None and self.up.poll() is None:
                self.clean()
        finally:
            if getattr(self, "up", None) is not None:
                super().stop(keep)
            self.kube.close()


def run_bursts(meshes: dict[str, BenchMesh], n: int, keep: bool, sequential: bool,
               rate: float = 0.0) -> dict[str, Burst]:
    """`burst` for several meshes: side by side (VMs created in each alternately) or one after the other;
    back to back, or `rate` VMs per second in each (a machine that is not saturated)."""
    out: dict[str, Burst] = {}
    for group in [[m] for m in meshes.values()] if sequential else [list(meshes.values())]:
        try:
            for m in group:
                m.start()
            for m in group:
                m.warm()
            t0 = time.monotonic()
            for i in range(n):
                if rate:
                    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                for m in group if i % 2 == 0 else group[::-1]:
                    m.create(i)
            for m in group:
                m.wait(timeout=max(120, n * 2))
            for m in group:
                out[next(k for k, v in meshes.items() if v is m)] = m.result(t0)
        finally:
            for m in group:
                m.stop(keep)
    return out


def print_table(results: dict[str, Burst], n: int) -> None:
    print(f"{'mode':<11} {'Running':>9} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'mean':>7} "
          f"{'VMs/s':>6} {'wall':>6} {'first VM':>8} {'create call p50':>15}")
    for mode, b in results.items():
        lat = b.latencies or [float("nan")]
        ms = lambda x: f"{x * 1000:.0f}ms"  # noqa: E731
        print(f"{mode:<11} {len(b.latencies):>5}/{n:<3} {ms(pct(lat, 50)):>7} {ms(pct(lat, 95)):>7} "
              f"{ms(pct(lat, 99)):>7} {ms(max(lat)):>7} {ms(statistics.mean(lat)):>7} "
              f"{len(b.latencies) / b.wall if b.wall else 0:>6.1f} {b.wall:>5.1f}s {b.startup:>7.1f}s "
              f"{ms(pct(b.calls or [float('nan')], 50)):>15}"
              + ("" if b.ok else "  TIMED OUT"))
    for mode, b in results.items():
        print(f"CPU per VM start, {mode}: "
              + ", ".join(f"{role} {sec / n * 1000:.1f} ms" for role, sec in sorted(b.cpu.items())))


CONTROL_PLANE = ("apiserver", "etcd")   # the cluster's store: its CPU is the Kubernetes binaries'


def store_floor(standalone: dict[str, float], cluster: dict[str, float], n: int) -> str:
    """What swapping the store costs in CPU per VM start, from one run: standalone's store is its api;
    cluster mode's is the kube-apiserver and etcd, with the api left serving the webhooks. Every other
    process held at standalone's cost, the cluster would need (rest + its store) / standalone's total:
    a floor on the CPU ratio that no change to the mesh's other processes can go below. On a machine the
    burst saturates, create->Running latency grows faster than the CPU a start needs."""
    ms = lambda sec: sec / n * 1000  # noqa: E731
    s_total, c_total = sum(standalone.values()), sum(cluster.values())
    plane = sum(cluster.get(p, 0.0) for p in CONTROL_PLANE)
    floor = s_total - standalone.get("api", 0.0) + cluster.get("api", 0.0) + plane
    if not s_total:
        return "CPU per VM start: not measured"
    return (f"CPU per VM start, all processes: standalone {ms(s_total):.1f} ms, cluster {ms(c_total):.1f} ms "
            f"({c_total / s_total:.2f}x); the kube-apiserver and etcd alone {ms(plane):.1f} ms "
            f"({plane / s_total * 100:.0f} % of standalone's whole mesh); with every process but the store at "
            f"standalone's cost the cluster would still need {ms(floor):.1f} ms ({floor / s_total:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--libvirt-uri", default="test:///default")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--kubeconfig", help="also run the burst in cluster mode against this cluster")
    ap.add_argument("--audit-log", help="the kube-apiserver's audit log (default: audit.log beside the kubeconfig)")
    ap.add_argument("--node-name", default="bench", help="the cluster's Node the mesh runs VMs on (created if missing)")
    ap.add_argument("--sequential", action="store_true", help="standalone, then cluster (default: side by side)")
    ap.add_argument("--rate", type=float, default=0.0, help="VMs per second (default: back to back)")
    ap.add_argument("--stages", action="store_true",
                    help="standalone: trace the mesh into an OTLP sink and print each VM start stage by stage "
                         "(tracing costs a few %% of CPU)")
    args = ap.parse_args()

    if args.kubeconfig:
        audit_log = args.audit_log or os.path.join(os.path.dirname(os.path.abspath(args.kubeconfig)), "audit.log")
        env = mesh_env()
        cluster = ClusterBenchMesh(args.n, args.libvirt_uri, env, args.kubeconfig, args.node_name, audit_log)
        results = run_bursts({"standalone": BenchMesh(args.n, args.libvirt_uri, env), "cluster": cluster},
                             args.n, args.keep, args.sequential, args.rate)
        print_table(results, args.n)
        s, c = (results[m].latencies for m in ("standalone", "cluster"))
        if s and c:
            print(f"cluster p50 / standalone p50: {pct(c, 50) / pct(s, 50):.2f}x (target <= 1.5x)")
        print(store_floor(results["standalone"].cpu, results["cluster"].cpu, args.n))
        if cluster.writes is None:
            print(f"no audit log at {audit_log}: writes not counted")
        else:
            print("\n".join(cluster.writes.report(args.n)))
        return

    if args.stages:
        # The mesh's own traces, to an OTLP sink: where each VM start spent its time (bench/stages.py).
        with Sink() as sink:
            env = {k: v for k, v in mesh_env().items() if not k.startswith("OTEL_")}
            env.update(OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
            lat, wall, ok, cpu, startup, _ = burst(args.n, args.libvirt_uri, env, keep=args.keep, rate=args.rate)
            with tempfile.NamedTemporaryFile(suffix=".jsonl") as f:
                sink.dump(f.name)
                stage_lines = stages.report(stages.load(f.name), prefix="bench-")
    else:
        lat, wall, ok, cpu, startup, _ = burst(args.n, args.libvirt_uri, mesh_env(), keep=args.keep, rate=args.rate)
        stage_lines = []
    print(f"mesh start to a first VM Running: {startup:.2f} s")
    print(f"VMs: {len(lat)}/{args.n} Running ({'complete' if ok else 'TIMED OUT'})")
    if lat:
        print(f"create->Running latency: p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
              f"p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms, "
              f"mean {statistics.mean(lat) * 1000:.0f} ms")
        print(f"throughput: {len(lat) / wall:.1f} VMs/s ({wall:.1f} s for {len(lat)})")
        print("CPU per VM start: "
              + ", ".join(f"{role} {sec / args.n * 1000:.1f} ms" for role, sec in sorted(cpu.items())))
    for line in stage_lines:
        print(line)


if __name__ == "__main__":
    main()
