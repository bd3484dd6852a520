"""Live migration benchmark: the mesh's migration of a real guest beside bare libvirt's, same run.

    python bench/migration.py [--rounds 12] [--sizes 128Mi,512Mi]

Two libvirt nodes on this machine (tools/host.sh node), a mesh over them (virtmesh up on one, a handler
on the other; tests/migration_nodes.py). For each guest size a VM boots through the mesh and a twin
domain is defined straight in libvirt from the mesh's own domain XML (renamed, its files in a directory of
the benchmark's), and both start a 50 Hz heartbeat on their serial console (`echo HB; usleep 20000`).
Then, alternately (this machine's speed drifts; each round the other goes first), the mesh's VM migrates
to the other node and back and the twin does the same with bare libvirt, the launcher's very call
(virDomainMigrateToURI3, LIVE | PEER2PEER | PERSIST_DEST | UNSAFE, the migratable XML with its paths moved).

Reported per size, medians (min-max) over the rounds:
- wall: mesh = the VirtualMachineInstanceMigration created -> Succeeded, as its user sees it (admission,
  controller, target launcher, libvirt's migration, the target's ack); bare = the libvirt call.
- libvirt: the migration job's own elapsed time and downtime (the target's completed job statistics).
- heartbeat gap: the longest silence of the console heartbeat across the move, read from the two
  nodes' serial logs every 2 ms (what the guest's downtime looks like from outside; 20 ms resolution).
The mesh's overhead is runs-on-target(mesh) / runs-on-target(bare) - 1 (target: <= 10 %), also paired by
round (the median of each round's difference, which the machine's drift between rounds does not move), split
into the part before and around libvirt's job and the job itself; then every move with the CPU it took.

Fair turns: the mesh's migration is followed by a watch (no polling), its console is closed once the
heartbeat is typed, and the next migration starts only once the mesh's source QEMU has stopped (libvirt's
Confirm phase, ~2 s here, which the twin's call includes): a migration overlapping the previous one's tail
was up to 3x slower, whichever of the two it was.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import grpc  # noqa: E402
import libvirt  # noqa: E402

from migration_nodes import MigrationMesh, Nodes, vm_manifest  # noqa: E402
from proccpu import cpu_census, virt_census  # noqa: E402
from services.common import proto  # noqa: E402
from services.launcher import migration as lm  # noqa: E402

GUESTS = os.environ.get("VIRTMESH_GUEST_DIR", "/var/cache/virtmesh/guests")
NS = "bench"
HEARTBEAT = "while :; do echo HB; usleep 20000; done &\n"
class LogWatch:
    """When each heartbeat line appears in any of the files (polled every 2 ms)."""

    def __init__(self, paths):
        self.paths = paths
        self.offsets = {p: 0 for p in paths}
        self.arrivals: list[float] = []
        self.stop = threading.Event()
        for p in paths:   # only what comes from now on
            self.offsets[p] = os.path.getsize(p) if os.path.exists(p) else 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            for p in self.paths:
                try:
                    with open(p, "rb") as f:
                        f.seek(self.offsets[p])
                        data = f.read()
                except OSError:
                    continue
                if data:
                    self.offsets[p] += len(data)
                    now = time.monotonic()
                    self.arrivals += [now] * data.count(b"HB\r\n")   # the console ends lines with CRLF
            time.sleep(0.002)

    def gap(self) -> float:
        self.stop.set()
        self.thread.join(2)
        a = self.arrivals
        return max((b - x for x, b in zip(a, a[1:])), default=float("nan"))


class CpuMeter:
    """CPU seconds the mesh's processes (every node's) and QEMU + libvirt's daemons use from now until
    stop(): where a move's CPU went, the mesh's own beside the virtualization's, split where libvirt's job
    began (split()). Stopped when the guest runs on the target, while the source's QEMU still lives (a
    process gone takes its CPU time along)."""

    def __init__(self, mm: MigrationMesh):
        self.dirs = list(mm.data_dirs.values())
        self.start = self.mid = self._now()
        self.used: dict = {"mesh_cpu": float("nan"), "virt_cpu": float("nan"), "roles": {}, "roles_in_job": {}}

    def _now(self) -> tuple[dict[str, float], float]:
        roles: dict[str, float] = {}
        for d in self.dirs:
            for role, seconds in cpu_census(d).items():
                roles[role] = roles.get(role, 0.0) + seconds
        return roles, virt_census()

    def split(self) -> None:
        self.mid = self._now()

    @staticmethod
    def _delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        # A launcher that appeared meanwhile (the receiving one) counts from 0; one gone takes its time along.
        return {r: b.get(r, 0.0) - a.get(r, 0.0) for r in {*a, *b}}

    def stop(self) -> None:
        end = self._now()
        roles = self._delta(self.start[0], end[0])
        self.used = {"mesh_cpu": sum(roles.values()), "virt_cpu": end[1] - self.start[1], "roles": roles,
                     "roles_in_job": self._delta(self.mid[0], end[0])}


class RunningOn:
    """When the domain first runs on the target (polled every 5 ms on a connection of its own): the moment
    the guest is back, for the mesh and for bare libvirt alike; and when it first appeared there (libvirt's
    Prepare: the job has begun)."""

    def __init__(self, uri: str, name: str, t0: float, cpu: CpuMeter):
        self.at = self.arrived = float("nan")
        self.cpu = cpu
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(uri, name, t0), daemon=True)
        self.thread.start()

    def _run(self, uri: str, name: str, t0: float) -> None:
        conn = libvirt.open(uri)
        try:
            while not self.stop.is_set():
                try:
                    state = conn.lookupByName(name).state()[0]
                    if state != libvirt.VIR_DOMAIN_SHUTOFF and math.isnan(self.arrived):   # the first time
                        self.arrived = time.monotonic() - t0
                        self.cpu.split()
                    if state == libvirt.VIR_DOMAIN_RUNNING:
                        self.at = time.monotonic() - t0
                        self.cpu.stop()
                        return
                except libvirt.libvirtError:
                    pass
                time.sleep(0.005)
        finally:
            conn.close()

    def seconds(self) -> float:
        self.thread.join(30)
        self.stop.set()
        return self.at


def completed_job(uri: str, name: str) -> tuple[float, float]:
    """(elapsed ms, downtime ms) of the migration the domain last arrived with, from the target. libvirt has
    none while the incoming job still finishes (a loaded machine): asked again until it has."""
    conn = libvirt.open(uri)
    try:
        deadline = time.monotonic() + 10
        while True:
            stats = conn.lookupByName(name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
            if "time_elapsed" in stats or time.monotonic() > deadline:
                return float(stats.get("time_elapsed", "nan")), float(stats.get("downtime", "nan"))
            time.sleep(0.1)
    finally:
        conn.close()


def settle(uri: str, name: str, timeout: float = 30) -> None:
    """Until the domain no longer runs on this node (a source after its migration)."""
    conn = libvirt.open(uri)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not conn.lookupByName(name).isActive():
                    return
            except libvirt.libvirtError:
                return   # gone (its launcher undefined it)
            time.sleep(0.05)
    finally:
        conn.close()


def console_type(mm: MigrationMesh, name: str, text: str) -> None:
    """Types `text` on the VMI's console, then hangs up (as the twin's socket does): a console left open
    would stream the heartbeat through the launcher, handler and api during the migrations, the twin
    having no such reader."""
    ch = grpc.insecure_channel(f"unix://{mm.mesh.data_dir}/run/api.sock")
    stub = proto.api_grpc.SubresourcesStub(ch)

    def reqs():
        yield proto.api.ConsoleRequest(namespace=NS, name=name)
        yield proto.api.ConsoleRequest(data=text.encode())
        time.sleep(1.0)
    call = stub.Console(reqs())
    threading.Timer(1.5, call.cancel).start()
    try:
        for _ in call:
            pass
    except grpc.RpcError:
        pass
    ch.close()


class MeshGuest:
    def __init__(self, mm: MigrationMesh, size: str):
        self.mm, self.name = mm, f"m{size.lower()}"
        m = mm.mesh
        m.cli("apply", "-f", "-", input=vm_manifest(self.name, self.name, f"{GUESTS}/amd64", size, namespace=NS))
        m.wait_for(lambda: m.vmi_phase(self.name, NS) == "Running", 120, "mesh VM Running")
        self.uid = m.get("vmi", self.name, NS)["metadata"]["uid"]
        m.wait_for(lambda: "VIRTMESH-TICK" in mm.serial_log(self.node(), self.uid), 90, "mesh guest ready")
        threading.Thread(target=console_type, args=(mm, self.name, HEARTBEAT), daemon=True).start()
        m.wait_for(lambda: "HB" in mm.serial_log(self.node(), self.uid), 30, "mesh heartbeat")
        self.stub = proto.api_grpc.ResourcesStub(grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock"))

    def node(self) -> str:
        return self.mm.mesh.get("vmi", self.name, NS)["status"]["nodeName"]

    def domain_xml(self) -> str:
        conn = libvirt.open(self.mm.nodes.uris[self.mm.node_of[self.node()]])
        try:
            return conn.lookupByName(f"{NS}_{self.name}").XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        finally:
            conn.close()

    def migrate(self) -> dict:
        source = self.node()
        target = "node02" if source == "node01" else "node01"
        logs = [os.path.join(self.mm.data_dirs[n], "vms", self.uid, "serial0.log") for n in (source, target)]
        watch = LogWatch(logs)
        time.sleep(0.3)
        mig = proto.migration.VirtualMachineInstanceMigration()
        mig.metadata.namespace, mig.metadata.generateName, mig.spec.vmiName = NS, "bench-", self.name
        cpu = CpuMeter(self.mm)
        t0 = time.monotonic()
        running = RunningOn(self.mm.nodes.uris[self.mm.node_of[target]], f"{NS}_{self.name}", t0, cpu)
        made = self.stub.Create(proto.api.CreateRequest(object=proto.wrap(mig)), timeout=10)
        name = made.virtualMachineInstanceMigration.metadata.name
        # Its end comes as a watch event: polling the api (every 5 ms) would take the CPU the migration needs.
        phase = ""
        since = made.virtualMachineInstanceMigration.metadata.resourceVersion
        events = self.stub.Watch(proto.api.WatchRequest(kind=proto.VMIM, namespace=NS, resourceVersion=since),
                                 timeout=120)
        for ev in events:
            got = ev.object.virtualMachineInstanceMigration
            if got.metadata.name == name and got.status.phase in ("Succeeded", "Failed"):
                phase = got.status.phase
                break
        wall = time.monotonic() - t0
        events.cancel()
        if phase != "Succeeded":
            raise RuntimeError(f"mesh migration {name} {phase}")
        # libvirt's Confirm phase (the source's QEMU stopped) ends after the guest runs on the target: awaited
        # here, as the twin's call awaits it, or it would run into the next migration (the twin's).
        settle(self.mm.nodes.uris[self.mm.node_of[source]], f"{NS}_{self.name}")
        time.sleep(0.3)
        elapsed, downtime = completed_job(self.mm.nodes.uris[self.mm.node_of[target]], f"{NS}_{self.name}")
        return {"wall": wall, "target": running.seconds(), "arrived": running.arrived, "elapsed": elapsed / 1000,
                "downtime": downtime / 1000,
                "gap": watch.gap(), "move": f"{self.mm.node_of[source]}>{self.mm.node_of[target]}", **cpu.used}


class BareGuest:
    """The mesh guest's domain, defined straight in libvirt (another name and UUID, its own files)."""

    def __init__(self, mm: MigrationMesh, xml: str, src_dir: str, size: str):
        self.mm = mm
        self.name = f"bare_{size.lower()}"
        self.dirs = {n: os.path.join(mm.nodes.dir, f"bare-{size}-{n}") for n in mm.nodes.addresses}
        for d in self.dirs.values():
            os.makedirs(d, exist_ok=True)
        root = ET.fromstring(lm.rewrite_paths(xml, src_dir, self.dirs["A"]))
        root.find("name").text = self.name
        root.find("uuid").text = new_uuid = str(uuid.uuid4())
        for entry in root.iter("entry"):   # SMBIOS carries the UUID too
            if entry.get("name") == "uuid":
                entry.text = new_uuid
        md = root.find("metadata")
        if md is not None:
            root.remove(md)
        self.where = "A"
        conn = libvirt.open(mm.nodes.uris["A"])
        try:   # defined, then started: as the launcher starts the mesh's (virt.Hypervisor.define_and_start)
            conn.defineXML(ET.tostring(root, encoding="unicode")).create()
        finally:
            conn.close()
        self._wait("VIRTMESH-TICK", 90)
        sock = root.find("devices/serial/source").get("path")
        self._type(sock, HEARTBEAT)
        self._wait("HB", 30)

    def log(self, node: str) -> str:
        return os.path.join(self.dirs[node], "serial0.log")

    def _wait(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.log(self.where)) and text in open(self.log(self.where), errors="replace").read():
                return
            time.sleep(0.2)
        raise RuntimeError(f"bare guest: no {text!r} within {timeout}s")

    @staticmethod
    def _type(sock: str, text: str) -> None:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(text.encode())
        time.sleep(1.0)   # the guest reads it while we hold the socket open
        s.close()

    def migrate(self) -> dict:
        src, dst = self.where, ("B" if self.where == "A" else "A")
        watch = LogWatch([self.log(src), self.log(dst)])
        time.sleep(0.3)
        conn = libvirt.open(self.mm.nodes.uris[src])
        try:
            dom = conn.lookupByName(self.name)
            xml = lm.rewrite_paths(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE), self.dirs[src], self.dirs[dst])
            uri, data_uri = lm.target_uris(self.mm.nodes.addresses[dst])
            params = {libvirt.VIR_MIGRATE_PARAM_URI: data_uri, libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml,
                      libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: xml}
            flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST
                     | libvirt.VIR_MIGRATE_UNSAFE)
            cpu = CpuMeter(self.mm)
            t0 = time.monotonic()
            running = RunningOn(self.mm.nodes.uris[dst], self.name, t0, cpu)
            dom.migrateToURI3(uri, params, flags)
            wall = time.monotonic() - t0
        finally:
            conn.close()
        self.where = dst
        time.sleep(0.3)
        elapsed, downtime = completed_job(self.mm.nodes.uris[dst], self.name)
        return {"wall": wall, "target": running.seconds(), "arrived": running.arrived, "elapsed": elapsed / 1000,
                "downtime": downtime / 1000,
                "gap": watch.gap(), "move": f"{src}>{dst}", **cpu.used}

    def close(self) -> None:
        for n in self.mm.nodes.addresses:
            try:
                conn = libvirt.open(self.mm.nodes.uris[n])
                for d in conn.listAllDomains():
                    if d.name() == self.name:
                        if d.isActive():
                            d.destroy()
                        if d.isPersistent():
                            d.undefine()
                conn.close()
            except libvirt.libvirtError:
                pass


def summary(values: list[float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    v = [x * scale for x in values]
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python bench/migration.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=12, help="migrations of each kind per size (one way each)")
    p.add_argument("--sizes", default="128Mi,512Mi")
    args = p.parse_args(argv)
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    nodes = Nodes({"A": "192.0.2.1", "B": "192.0.2.2"})
    rows = []
    try:
        mm = MigrationMesh(nodes)
        try:
            for size in args.sizes.split(","):
                mesh = MeshGuest(mm, size)
                if mm.node_of[mesh.node()] != "A":
                    mesh.migrate()   # the twin starts on A: let the mesh's guest start from A too
                bare = BareGuest(mm, mesh.domain_xml(), os.path.join(mm.data_dirs[mesh.node()], "vms", mesh.uid),
                                 size)
                got: dict = {"mesh": [], "bare": [], "moves": []}
                try:
                    for i in range(args.rounds):   # which goes first alternates: neither gets the other's tail
                        for who in (("mesh", "bare") if i % 2 == 0 else ("bare", "mesh")):
                            got[who].append((mesh if who == "mesh" else bare).migrate())
                            got["moves"].append((i + 1, who, got[who][-1]))
                finally:
                    bare.close()
                    mm.mesh.cli("delete", "vm", mesh.name, "-n", NS, check=False)
                    mm.mesh.wait_for(lambda: mm.mesh.get("vmi", mesh.name, NS) is None, 60, "mesh VM gone")
                rows.append((size, got))
        finally:
            mm.close()
    finally:
        nodes.close()
    print(f"\nlive migration between two libvirt nodes on this machine, {args.rounds} one-way migrations each, "
          "median (min-max):")
    print(f"{'guest':>6} {'who':>4} {'runs on target s':>18} {'wall s':>18} {'libvirt job s':>18} {'downtime ms':>16} "
          f"{'heartbeat gap ms':>18}")
    for size, got in rows:
        for who in ("mesh", "bare"):
            r = got[who]
            print(f"{size:>6} {who:>4} {summary([x['target'] for x in r]):>18} {summary([x['wall'] for x in r]):>18} "
                  f"{summary([x['elapsed'] for x in r]):>18} "
                  f"{summary([x['downtime'] for x in r], 1000, '{:.0f}'):>16} "
                  f"{summary([x['gap'] for x in r], 1000, '{:.0f}'):>18}")
        for what, key in (("until the guest runs on the target", "target"), ("wall", "wall")):
            mesh_t = statistics.median(x[key] for x in got["mesh"])
            bare_t = statistics.median(x[key] for x in got["bare"])
            print(f"{size:>6} mesh / bare, {what}: {mesh_t / bare_t:.2f} ({(mesh_t / bare_t - 1) * 100:+.0f} %)")
        # Paired by round (the two moves of a round ran back to back on the same machine): what the mesh adds,
        # split into before libvirt's job (runs on target - job) and the job itself.
        pairs = list(zip(got["mesh"], got["bare"]))
        added = statistics.median(m["target"] - b["target"] for m, b in pairs)
        before = statistics.median((m["target"] - m["elapsed"]) - (b["target"] - b["elapsed"]) for m, b in pairs)
        job = statistics.median(m["elapsed"] - b["elapsed"] for m, b in pairs)
        bare_t = statistics.median(x["target"] for x in got["bare"])
        print(f"{size:>6} paired by round, median: the mesh adds {added * 1000:+.0f} ms until the guest runs on the "
              f"target ({added / bare_t * 100:+.0f} % of bare's median): {before * 1000:+.0f} ms before and around "
              f"libvirt's job, {job * 1000:+.0f} ms in the job itself")
        print(f"{size:>6} CPU until the guest runs on the target, mesh's move vs bare's, median: the mesh's processes "
              f"{summary([x['mesh_cpu'] for x in got['mesh']], 1000, '{:.0f}')} vs "
              f"{summary([x['mesh_cpu'] for x in got['bare']], 1000, '{:.0f}')} ms, QEMU + libvirt "
              f"{summary([x['virt_cpu'] for x in got['mesh']], 1000, '{:.0f}')} vs "
              f"{summary([x['virt_cpu'] for x in got['bare']], 1000, '{:.0f}')} ms")
        print(f"{size:>6} the domain arrives on the target (libvirt's job has begun), median: mesh "
              f"{summary([x['arrived'] for x in got['mesh']], 1000, '{:.0f}')} vs bare "
              f"{summary([x['arrived'] for x in got['bare']], 1000, '{:.0f}')} ms after the start")
        # Per process the census ticks in 10 ms steps: a mean over the moves says more than a median.
        roles = sorted({r for x in got["mesh"] for r in x["roles"]})
        print(f"{size:>6} the mesh's CPU per move by process, mean (of it once libvirt's job began): " + ", ".join(
            f"{r} {statistics.mean(x['roles'].get(r, 0.0) for x in got['mesh']) * 1000:.0f} "
            f"({statistics.mean(x['roles_in_job'].get(r, 0.0) for x in got['mesh']) * 1000:.0f}) ms"
            for r in roles))
    print("\nmove by move, in the order they ran (CPU: from the call until the guest runs on the target; the "
          "mesh's processes on every node, and all QEMUs and libvirt daemons):")
    print(f"{'guest':>6} {'round':>5} {'who':>4} {'move':>5} {'arrives s':>9} {'runs on target s':>16} "
          f"{'libvirt job s':>13} {'wall s':>7} {'mesh CPU ms':>11} {'QEMU+libvirt CPU ms':>19}  "
          "mesh CPU by process ms")
    for size, got in rows:
        for i, who, r in got["moves"]:
            roles = " ".join(f"{k} {v * 1000:.0f}" for k, v in sorted(r["roles"].items()) if v)
            print(f"{size:>6} {i:>5} {who:>4} {r['move']:>5} {r['arrived']:>9.3f} {r['target']:>16.3f} "
                  f"{r['elapsed']:>13.3f} {r['wall']:>7.3f} {r['mesh_cpu'] * 1000:>11.0f} "
                  f"{r['virt_cpu'] * 1000:>19.0f}  {roles}")
    return 0


if __name__ == "__main__":
    shutil.which("virsh") or sys.exit("virsh not found: run tools/host.sh install")
    sys.exit(main())
