"""CPU seconds of the processes a benchmark watches, from /proc: the mesh's services and launchers (by the
data dir in their command line) and the virtualization underneath them (QEMU, libvirt's daemons)."""
from __future__ import annotations

import os

VIRT_COMMANDS = ("qemu-system", "libvirtd", "virtqemud", "virtlogd")   # /proc/PID/comm, by prefix


def proc_stat(pid) -> tuple[str, float]:
    """A process's parent pid and the CPU seconds it has used, from /proc: the sum of its threads' time on a
    CPU (schedstat, in ns), not /proc/PID/stat's utime + stime, counted in 10 ms ticks here (a migration's
    few ms per process read as 0 or 10). A thread that has exited takes its time along."""
    with open(f"/proc/{pid}/stat") as f:
        ppid = f.read().rsplit(")", 1)[1].split()[1]
    ns = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
        except OSError:
            continue   # a thread that has just exited
    return ppid, ns / 1e9


def mesh_processes(data_dir: str):
    """(pid, role) of each process of the mesh running in `data_dir`: up (the supervisor `virtmesh up`
    becomes), api, controller, handler, zygote, launcher and spare (the zygote's launcher forked ahead,
    serving no VM yet). Launchers are double-forked zygote children (ppid 1), so they are found by their
    inherited command line."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            ppid = proc_stat(pid)[0]
        except OSError:
            continue
        if data_dir.encode() not in b" ".join(argv) or len(argv) < 3 or argv[1] != b"-m":
            continue
        module = argv[2].decode()
        role = "up" if module.startswith("services.cli") else module.rsplit(".", 1)[-1]
        if role == "zygote" and ppid == "1":  # ppid 1: a launcher forked off the zygote
            role = "spare" if comm == "launcher-spare" else "launcher"
        yield pid, role


def cpu_census(data_dir: str) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each role of the mesh running in `data_dir`
    (all launchers summed)."""
    cpu: dict[str, float] = {}
    for pid, role in mesh_processes(data_dir):
        try:
            cpu[role] = cpu.get(role, 0.0) + proc_stat(pid)[1]
        except OSError:
            continue
    return cpu


def virt_census() -> float:
    """CPU seconds used so far by every QEMU and libvirt daemon on this machine (all nodes together)."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm.startswith(VIRT_COMMANDS):
                total += proc_stat(pid)[1]
        except OSError:
            continue
    return total
