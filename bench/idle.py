"""What running VMs cost when nothing happens (issue 19, item 8): N VMs on libvirt's test driver, then a
quiet window in which the mesh's processes should use almost no CPU (event-driven launchers and handler:
no per-VM polling loop), and the control plane's memory (PSS).

    python bench/idle.py [-n 200] [--window 30] [--rate 20]

Prints CPU per role over the window as % of one core (target: all of it together <= 5 %), per VM, and
the PSS of api + controller + handler + `virtmesh up` (target <= 150 MiB) beside the launchers'. The
bare alternative is libvirt alone, which spends nothing per idle domain on the test driver (it runs
inside each launcher), so the mesh's figure is its whole overhead. Last, what a launcher's first full
garbage collection copies of the zygote's pages, with the zygote's objects frozen (as it forks) and not.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from controlplane import BenchMesh, mesh_env  # noqa: E402
from proccpu import mesh_processes  # noqa: E402

CONTROL_PLANE = ("api", "controller", "handler", "up")


def pss_mib(data_dir: str) -> dict[str, float]:
    """PSS (MiB) per role of the mesh in `data_dir` (smaps_rollup; launchers summed)."""
    out: dict[str, float] = {}
    for pid, role in mesh_processes(data_dir):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
        out[role] = out.get(role, 0.0) + kib / 1024
    return out


COW_PROBE = """
import gc, os, sys
import services.launcher.zygote  # what the zygote imports before it forks launchers
def private_kib():
    with open("/proc/self/smaps_rollup") as f:
        return sum(int(l.split()[1]) for l in f if l.startswith(("Private_Clean", "Private_Dirty")))
gc.collect()
if sys.argv[1] == "frozen":
    gc.freeze()   # as services/launcher/zygote.py does before each fork
pid = os.fork()
if pid == 0:
    before = private_kib()
    gc.collect()   # a long-lived launcher's collector gets to a full collection sooner or later
    print(before, private_kib())
    os._exit(0)
os.waitpid(pid, 0)
"""


def fork_copy_mib(frozen: bool) -> tuple[float, float]:
    """A process importing what the zygote imports forks a child that runs a full collection: the child's
    private memory (MiB) right after the fork and after the collection, with the zygote's objects frozen
    (gc.freeze) or not. The pages the collection copies are what each launcher would own alone."""
    out = subprocess.run([sys.executable, "-c", COW_PROBE, "frozen" if frozen else "plain"], check=True,
                         capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT)).stdout
    before, after = (int(x) / 1024 for x in out.split())
    return before, after


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--window", type=float, default=30.0, help="seconds of quiet measured")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds after the last VM runs, before measuring")
    ap.add_argument("--rate", type=float, default=20.0, help="VMs created per second")
    ap.add_argument("--libvirt-uri", default="test:///default")
    args = ap.parse_args()

    mesh = BenchMesh(args.n, args.libvirt_uri, mesh_env())
    try:
        mesh.start().warm()
        t0 = time.monotonic()
        for i in range(args.n):
            time.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
            mesh.create(i)
        if not mesh.wait(timeout=max(120, args.n * 2)):
            sys.exit(f"not all {args.n} VMs ran")
        time.sleep(args.settle)
        before, t = mesh.census(), time.monotonic()
        time.sleep(args.window)
        after, dt = mesh.census(), time.monotonic() - t
        memory = pss_mib(mesh.dir)
    finally:
        mesh.stop()

    used = {role: (after.get(role, 0.0) - before.get(role, 0.0)) / dt * 100 for role in after}
    total = sum(used.values())
    print(f"{args.n + 1} idle VMs (test driver), {dt:.0f} s window: CPU {total:.2f} % of one core in all "
          f"(target <= 5 %), {total / (args.n + 1) * 10:.3f} per mille per VM")
    print("  by role: " + ", ".join(f"{r} {u:.2f} %" for r, u in sorted(used.items(), key=lambda x: -x[1])))
    plane = sum(memory.get(r, 0.0) for r in CONTROL_PLANE)
    print(f"PSS: control plane {plane:.0f} MiB (target <= 150 MiB: "
          + ", ".join(f"{r} {memory.get(r, 0.0):.0f}" for r in CONTROL_PLANE) + "); "
          f"launchers {memory.get('launcher', 0.0):.0f} MiB ({memory.get('launcher', 0.0) / (args.n + 1):.1f} per VM), "
          f"zygote {memory.get('zygote', 0.0):.0f} MiB")
    print("bare libvirt: 0 % (the test driver lives inside each launcher; nothing runs per idle domain)")
    for frozen in (False, True):
        before, after = fork_copy_mib(frozen)
        state = "frozen" if frozen else "not frozen"
        print(f"a launcher's first full garbage collection, the zygote's objects {state}: private memory "
              f"{before:.1f} -> {after:.1f} MiB")


if __name__ == "__main__":
    main()
