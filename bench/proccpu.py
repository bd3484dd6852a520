"""CPU seconds of the processes a benchmark watches, from /proc: the mesh's services and launchers (by the
data dir in their command line) and the virtualization underneath them (QEMU, libvirt's daemons)."""
from __future__ import annotations

import os

VIRT_COMMANDS = ("qemu-system", "libvirtd", "virtqemud", "virtlogd")   # /proc/PID/comm, by prefix


def _ticks(stat_path: str) -> tuple[str, int]:
    """The parent pid and utime + stime (clock ticks) in a /proc stat file."""
    with open(stat_path) as f:
        stat = f.read().rsplit(")", 1)[1].split()
    return stat[1], int(stat[11]) + int(stat[12])


def proc_stat(pid) -> tuple[str, float]:
    """A process's parent pid and the CPU seconds it has used, from /proc: its live threads' time on a CPU
    (schedstat, in ns), plus its exited threads' (the process's utime + stime beyond its live threads', in
    clock ticks). utime + stime alone count 10 ms ticks here: a migration's few ms per process read 0 or 10."""
    ppid, total_ticks = _ticks(f"/proc/{pid}/stat")
    ns = live_ticks = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns += int(f.read().split()[0])
            live_ticks += _ticks(f"/proc/{pid}/task/{tid}/stat")[1]
        except OSError:
            continue   # a thread that has just exited
    return ppid, ns / 1e9 + max(0, total_ticks - live_ticks) / os.sysconf("SC_CLK_TCK")


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
