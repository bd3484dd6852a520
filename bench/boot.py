"""Boot benchmark: bare libvirt-python vs the whole mesh, side by side, on real QEMU.

    python bench/boot.py [-n 5] [--arch amd64|arm64|both] [--stages]

For each arch, boots the test guest N times in two ways, alternately, and reports p50/p95:
  bare: libvirt-python defineXML + create of the same domain XML our converter makes -> ready line
  mesh: create a VirtualMachine through the api (what `virtmesh apply` sends) -> VMI Running -> ready line
and the ratio mesh/bare. The ready line is read from the guest's serial log in both cases. With
--stages the mesh traces into an OTLP sink and its starts are shown stage by stage (bench/stages.py).
Needs tools/setup.sh (libvirtd running, guests built).
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import grpc  # noqa: E402
import libvirt  # noqa: E402

from services.common import manifest, proto  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "bench"))
import stages  # noqa: E402
from controlplane import pct, wait_for_node  # noqa: E402
from otlpsink import Sink  # noqa: E402
from services.launcher import storage  # noqa: E402
from services.launcher.domxml import convert  # noqa: E402

GUESTS = os.environ.get("VIRTMESH_GUEST_DIR", "/var/cache/virtmesh/guests")
CONSOLE = {"amd64": "ttyS0", "arm64": "ttyAMA0"}


def vm_doc(name: str, arch: str, marker: str) -> dict:
    return {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {"runStrategy": "Always", "template": {"spec": {
            "architecture": arch, "terminationGracePeriodSeconds": 0,
            "domain": {"memory": {"guest": "128Mi"}, "devices": {"autoattachSerialConsole": True},
                       "firmware": {"kernelBoot": {
                           "kernelArgs": f"console={CONSOLE[arch]} quiet panic=-1 virtmesh.marker={marker}",
                           "container": {"image": f"{GUESTS}/{arch}", "kernelPath": "/kernel",
                                         "initrdPath": "/initrd.img"}}}}}}},
    }


def wait_line(path: str, needle: bytes, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                if needle in f.read():
                    return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"no {needle!r} in {path} after {timeout}s")


def bare_once(conn, arch: str, i: int, work: str) -> float:
    marker = f"bare{i}"
    vmi = proto.kv.VirtualMachineInstance()
    vm = manifest.parse(vm_doc(f"bare{i}", arch, marker), proto.kv.VirtualMachine)
    vmi.metadata.name, vmi.metadata.namespace = f"bare{i}", "bench"
    vmi.metadata.uid = str(uuid.uuid4())
    vmi.spec.CopyFrom(vm.spec.template.spec)
    vmi.spec.domain.machine.type = {"amd64": "q35", "arm64": "virt"}[arch]
    vm_dir = os.path.join(work, vmi.metadata.uid)
    os.makedirs(vm_dir)
    kernel, initrd = storage.resolve_kernel_boot(vmi)
    ctx = convert.Context(domain_type="qemu", volumes={}, kernel=kernel, initrd=initrd,
                          serial_socket=os.path.join(vm_dir, "serial0.sock"),
                          serial_log=os.path.join(vm_dir, "serial0.log"), nvram_dir=vm_dir)
    xml = convert.convert(vmi, ctx).to_xml()
    t0 = time.monotonic()
    dom = conn.defineXML(xml)
    dom.create()
    t1 = wait_line(ctx.serial_log, f"VIRTMESH-READY {marker}".encode())
    dom.destroy()
    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    return t1 - t0


def mesh_once(stub, data: str, arch: str, i: int) -> tuple[float, float]:
    """What `virtmesh apply` does (one Create call), then the VMI's phase from a watch."""
    marker, name = f"mesh{i}", f"mesh{i}"
    obj = manifest.to_object(vm_doc(name, arch, marker))
    watch = stub.Watch(proto.api.WatchRequest(kind=proto.VMI, namespace="bench"))
    t0 = time.monotonic()
    stub.Create(proto.api.CreateRequest(object=obj), timeout=30)
    running_at, uid = None, None
    for ev in watch:
        v = ev.object.virtualMachineInstance
        if v.metadata.name == name and v.status.phase == "Running":
            running_at, uid = time.monotonic(), v.metadata.uid
            break
    watch.cancel()
    t1 = wait_line(os.path.join(data, "vms", uid, "serial0.log"), f"VIRTMESH-READY {marker}".encode())
    stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VM, "bench", name)), timeout=30)
    while glob.glob(os.path.join(data, "run", "l-*.pid")):
        time.sleep(0.05)
    return t1 - t0, running_at - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--arch", choices=["amd64", "arm64", "both"], default="both")
    ap.add_argument("--stages", action="store_true",
                    help="trace the mesh into an OTLP sink and print its starts stage by stage (bench/stages.py)")
    args = ap.parse_args()
    arches = ["amd64", "arm64"] if args.arch == "both" else [args.arch]
    work = tempfile.mkdtemp(prefix="vmboot-", dir="/tmp")
    data = os.path.join(work, "mesh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(VIRTMESH_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    sink = Sink().__enter__() if args.stages else None
    if sink is not None:
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint, OTEL_BSP_SCHEDULE_DELAY="200")
    up = subprocess.Popen([sys.executable, "-m", "services.cli", "--data-dir", data, "up", "--node-name", "bench"],
                          env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = libvirt.open("qemu:///system")
    stub = proto.api_grpc.ResourcesStub(grpc.insecure_channel(f"unix://{data}/run/api.sock"))
    try:
        wait_for_node(stub)
        for arch in arches:
            if not os.path.exists(os.path.join(GUESTS, arch, "kernel")):
                print(f"{arch}: guest not built, skipped")
                continue
            # Alternately, so that both see the same machine (its speed drifts).
            bare, mesh, running = [], [], []
            for i in range(args.n):
                bare.append(bare_once(conn, arch, i, work))
                ready, run = mesh_once(stub, data, arch, i)
                mesh.append(ready)
                running.append(run)
            print(f"{arch} x{args.n}: bare define+create->ready p50 {pct(bare, 50):.2f}s p95 {pct(bare, 95):.2f}s | "
                  f"mesh apply->ready p50 {pct(mesh, 50):.2f}s p95 {pct(mesh, 95):.2f}s "
                  f"(apply->VMI Running p50 {pct(running, 50):.2f}s) | "
                  f"ratio mesh/bare p50 {statistics.median(mesh) / statistics.median(bare):.3f}")
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(120)
        conn.close()
        if sink is not None:   # the mesh has stopped: its services flushed their spans
            sink.dump(os.path.join(work, "spans.jsonl"))
            print("\n".join(stages.report(stages.load(os.path.join(work, "spans.jsonl")), prefix="mesh")))
            sink.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
