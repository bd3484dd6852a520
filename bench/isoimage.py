"""ISO image making: the launcher's way (services/launcher/isoimage.py, genisoimage) beside xorrisofs with
KubeVirt's options, the same cloud-init NoCloud files, alternately in one run (this machine drifts).

    python bench/isoimage.py [--rounds 20]

Prints each tool's wall time and CPU (its process's, from the wait) per image, median (min-max), and checks
both images carry the same files (osirrox reads them back). Every VM start with a cloud-init, ConfigMap or
Secret disk waits for one image per such volume.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from services.launcher import isoimage  # noqa: E402

FILES = {"user-data": b"#cloud-config\nhostname: bench\nssh_authorized_keys:\n  - ssh-ed25519 AAAA bench\n",
         "meta-data": b'{"instance-id":"5a9fc181-957e-5c32-9e5a-2de5e9673531","local-hostname":"bench"}',
         "network-config": b"version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def launchers_way(out_dir: str) -> str:
    path = os.path.join(out_dir, "mesh.iso")
    isoimage.make(path, "cidata", FILES, "bench")
    return path


def xorrisofs(out_dir: str) -> str:
    """KubeVirt's invocation: the files staged in a directory, then one xorrisofs run."""
    stage = os.path.join(out_dir, "stage")
    os.makedirs(stage)
    for name, body in FILES.items():
        with open(os.path.join(stage, name), "wb") as f:
            f.write(body)
    path = os.path.join(out_dir, "xorriso.iso")
    subprocess.run(["xorrisofs", "-output", path, "-volid", "cidata", "-joliet", "-rock", "-partition_cyl_align",
                    "on", stage], check=True, capture_output=True)
    return path


def read_back(iso: str, into: str) -> dict[str, bytes]:
    subprocess.run(["osirrox", "-indev", iso, "-extract", "/", into], check=True, capture_output=True)
    return {name: open(os.path.join(into, name), "rb").read() for name in os.listdir(into)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    ways = {"mesh (genisoimage)": launchers_way, "xorrisofs (KubeVirt's)": xorrisofs}
    wall: dict[str, list[float]] = {w: [] for w in ways}
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    for r in range(args.rounds):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for way in order:
            d = tempfile.mkdtemp(prefix="vmiso-")
            try:
                c0, t0 = children_cpu(), time.monotonic()
                iso = ways[way](d)
                wall[way].append(time.monotonic() - t0)
                cpu[way].append(children_cpu() - c0)
                if r == 0:
                    assert read_back(iso, os.path.join(d, "back")) == FILES, f"{way}: other files"
            finally:
                shutil.rmtree(d, ignore_errors=True)
    print(f"an ISO image of {len(FILES)} cloud-init files, {args.rounds} each, alternately; median (min-max):")
    for way in ways:
        w, c = sorted(wall[way]), sorted(cpu[way])
        print(f"  {way:<24} wall {statistics.median(w) * 1000:6.1f} ms ({w[0] * 1000:.1f}-{w[-1] * 1000:.1f}), "
              f"its process's CPU {statistics.median(c) * 1000:5.1f} ms")


if __name__ == "__main__":
    main()
