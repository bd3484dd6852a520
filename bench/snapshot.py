"""Snapshot and restore benchmark: the mesh against a bare qemu-img copy of the same image, same run.

    python bench/snapshot.py [--sizes 1,4] [-n 1]

For each claim size (GiB) a real `virtmesh up` (libvirt's test driver: an offline snapshot is a disk copy,
no guest needed) gets a claim filled with data (1 MiB random blocks, no holes) and a Halted VM using it:
  bare snapshot: `qemu-img convert -f raw -O qcow2` of the claim image (what the node runs for it)
  mesh snapshot: VirtualMachineSnapshot created -> status.readyToUse (content, copy, check, rename, status)
  bare restore:  `qemu-img convert -f qcow2 -O raw` of that copy into a new image
  mesh restore:  VirtualMachineRestore to a new VM created -> status.complete (claim, copy, VM written)
Page cache is dropped before each timed copy when this runs as root, so each reads from disk.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import yaml  # noqa: E402

from harness import Mesh  # noqa: E402


def drop_caches() -> None:
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass   # not root: warm caches for both sides alike


def fill(path: str, gib: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "r+b") as f:
        for i in range(gib << 10):
            f.write(block[i % 97:] + block[:i % 97])   # every MiB different: nothing for a copy to skip


def timed(fn) -> float:
    drop_caches()
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def doc(kind: str, name: str, spec: dict) -> str:
    return yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": kind,
                           "metadata": {"name": name}, "spec": spec})


def status(m: Mesh, kind: str, name: str) -> dict:
    return (m.get(kind, name) or {}).get("status", {})


def run_size(m: Mesh, gib: int, rounds: int, work: str, mesh_first: bool = False) -> list[dict]:
    claim = f"c{gib}g"
    m.cli("apply", "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{gib}Gi"}}}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": f"vm{gib}g"},
         "spec": {"runStrategy": "Halted", "template": {"spec": {
             "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "d", "disk": {"bus": "virtio"}}]}},
             "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}}}}]))
    m.wait_for(lambda: status(m, "pvc", claim).get("phase") == "Bound", 120, "claim bound")
    uid = m.get("pvc", claim)["metadata"]["uid"]
    src = os.path.join(m.data_dir, "volumes", "default", f"{claim}-{uid}", "disk.img")
    fill(src, gib)
    rows = []
    for r in range(rounds):
        bare_copy = os.path.join(work, f"bare-{gib}-{r}.qcow2")
        bare_back = os.path.join(work, f"bare-{gib}-{r}.img")

        def bare() -> tuple[float, float]:
            snap_s = timed(lambda: qemu_img("convert", "-f", "raw", "-O", "qcow2", src, bare_copy))
            restore_s = timed(lambda: qemu_img("convert", "-f", "qcow2", "-O", "raw", bare_copy, bare_back))
            os.remove(bare_back)
            os.remove(bare_copy)
            return snap_s, restore_s

        if not mesh_first:
            bare_snap, bare_restore = bare()
        snap = f"s{gib}g{r}"

        def snapshot():
            m.cli("apply", "-f", "-", input=doc("VirtualMachineSnapshot", snap, {
                "source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": f"vm{gib}g"},
                "failureDeadline": "30m"}))
            m.wait_for(lambda: status(m, "vmsnapshot", snap).get("readyToUse"), 1800, "snapshot ready", interval=0.05)
        mesh_snap = timed(snapshot)
        target = f"r{gib}g{r}"

        def restore():
            m.cli("apply", "-f", "-", input=doc("VirtualMachineRestore", target, {
                "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
                "virtualMachineSnapshotName": snap}))
            m.wait_for(lambda: status(m, "vmrestore", target).get("complete"), 1800, "restore complete", interval=0.05)
        mesh_restore = timed(restore)
        if mesh_first:
            bare_snap, bare_restore = bare()
        rows.append({"GiB": gib, "bare_snapshot_s": bare_snap, "mesh_snapshot_s": mesh_snap,
                     "bare_restore_s": bare_restore, "mesh_restore_s": mesh_restore})
        # free the space for the next round
        m.cli("delete", "vm", target)
        m.cli("delete", "vmrestore", target)
        m.cli("delete", "vmsnapshot", snap)
        restored = json.loads(m.cli("get", "pvc", "-o", "json").stdout)["items"]
        for p in restored:
            if p["metadata"]["name"].startswith("restore-"):
                m.cli("delete", "pvc", p["metadata"]["name"], "--wait=false")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1,4", help="claim sizes in GiB")
    p.add_argument("-n", type=int, default=1, help="rounds per size")
    p.add_argument("--mesh-first", action="store_true", help="time the mesh before the bare copy in each round")
    args = p.parse_args()
    d = tempfile.mkdtemp(prefix="vmsnapbench-", dir="/var/tmp")
    m = Mesh(d, "test:///default")
    rows = []
    try:
        for gib in (int(s) for s in args.sizes.split(",")):
            rows += run_size(m, gib, args.n, d, args.mesh_first)
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{'GiB':>4} {'bare snap':>10} {'mesh snap':>10} {'+%':>6} "
          f"{'bare restore':>13} {'mesh restore':>13} {'+%':>6}")
    for r in rows:
        print(f"{r['GiB']:>4} {r['bare_snapshot_s']:>9.2f}s {r['mesh_snapshot_s']:>9.2f}s "
              f"{100 * (r['mesh_snapshot_s'] / r['bare_snapshot_s'] - 1):>5.0f}% {r['bare_restore_s']:>12.2f}s "
              f"{r['mesh_restore_s']:>12.2f}s {100 * (r['mesh_restore_s'] / r['bare_restore_s'] - 1):>5.0f}%")


if __name__ == "__main__":
    main()
