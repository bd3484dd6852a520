#!/usr/bin/env python3
"""Smoke-boot the Virtmesh test guests under real libvirt/QEMU (TCG) with the virsh CLI (stdlib only).

Each check creates a transient domain (`virsh create`, domain type 'qemu'), with a 1 MiB virtio
scratch disk and a virtio user-mode NIC, a serial console written to a file, waits for
`VIRTMESH-READY <marker>` and a few heartbeats, prints the timings and the guest's VIRTMESH-* lines,
then destroys the domain.

Checks (default: amd64-kernel amd64-disk arm64-kernel):
  amd64-kernel   q35, cpu qemu64, direct boot of the ELF vmlinux (PVH), marker on the cmdline
  amd64-bzimage  same with the bzImage
  amd64-disk     q35, BIOS (SeaBIOS) boot of disk.img on SATA; marker via fw_cfg opt/virtmesh/marker
  arm64-kernel   virt, cpu cortex-a57, direct boot of the Image

Usage: boot_check.py [CHECK ...] [--timeout S] [--memory MIB] [--keep-logs]
Needs libvirtd (tools/host.sh start); builds the guests first if needed (tools/build_guest.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

URI = "qemu:///system"
TOOLS = Path(__file__).resolve().parent
CHECKS = ("amd64-kernel", "amd64-bzimage", "amd64-disk", "arm64-kernel")
DEFAULT_CHECKS = ("amd64-kernel", "amd64-disk", "arm64-kernel")


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["virsh", "-q", "-c", URI, *args], check=check, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def guest_files(arch: str) -> dict:
    out = subprocess.run([sys.executable, str(TOOLS / "build_guest.py"), "--json", "--arch", arch],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[arch]


def domain_xml(check: str, name: str, files: dict, marker: str, workdir: Path, memory: int) -> str:
    arch, mode = check.split("-")
    serial_log = workdir / "serial.log"
    scratch = workdir / "scratch.raw"
    with open(scratch, "wb") as f:
        f.truncate(1 << 20)
    cmdline = f"{files['cmdline']} virtmesh.marker={marker}"
    disks = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
             f"<source file='{escape(str(scratch))}'/><target dev='vda' bus='virtio'/></disk>")
    sysinfo = ""
    if arch == "amd64":
        osxml = "<type arch='x86_64' machine='q35'>hvm</type>"
        cpu = "<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>"
        features = "<features><acpi/></features>"
    else:
        osxml = "<type arch='aarch64' machine='virt'>hvm</type>"
        cpu = "<cpu mode='custom' match='exact'><model fallback='forbid'>cortex-a57</model></cpu>"
        features = ""
    if mode in ("kernel", "bzimage"):
        kernel = files["kernel"] if mode == "kernel" else files["bzImage"]
        osxml += (f"<kernel>{escape(kernel)}</kernel><initrd>{escape(files['initrd.img'])}</initrd>"
                  f"<cmdline>{escape(cmdline)}</cmdline>")
    else:
        # The disk is written to by nobody, but a private copy keeps the cached image pristine.
        disk = workdir / "disk.img"
        shutil.copyfile(files["disk.img"], disk)
        disks = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                 f"<source file='{escape(str(disk))}'/><target dev='sda' bus='sata'/>"
                 f"<boot order='1'/></disk>") + disks
        # SYSLINUX's command line has no marker: the guest's /init reads it from fw_cfg instead.
        sysinfo = (f"<sysinfo type='fwcfg'><entry name='opt/virtmesh/marker'>{escape(marker)}"
                   f"</entry></sysinfo>")
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>1</vcpu>
  <os>{osxml}</os>
  {sysinfo}
  {features}
  {cpu}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    {disks}
    <interface type='user'><model type='virtio'/></interface>
    <serial type='file'><source path='{escape(str(serial_log))}'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    # Serial output ends lines with CRLF; keep only complete lines.
    return [ln.rstrip("\r") for ln in data.decode(errors="replace").split("\n")[:-1]]


def run_check(check: str, marker: str, timeout: float, memory: int, keep_logs: bool) -> bool:
    arch = check.split("-")[0]
    files = guest_files(arch)
    name = f"virtmesh-bootcheck-{check}-{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix=f"virtmesh-bootcheck-{check}-"))
    xml = workdir / "domain.xml"
    xml.write_text(domain_xml(check, name, files, marker, workdir, memory))
    serial = workdir / "serial.log"
    ok = False
    created = False
    try:
        t0 = time.monotonic()
        res = virsh("create", str(xml), check=False)
        t_create = time.monotonic() - t0
        if res.returncode != 0:
            print(f"{check}: virsh create failed: {res.stderr.strip()}")
            return False
        created = True
        t_ready = None
        deadline = t0 + timeout
        lines: list[str] = []
        while time.monotonic() < deadline:
            lines = read_lines(serial)
            if t_ready is None and f"VIRTMESH-READY {marker}" in lines:
                t_ready = time.monotonic() - t0
            # After ready, wait for the second heartbeat: the reporter loop is running.
            if t_ready is not None and "VIRTMESH-TICK 2" in lines:
                ok = True
                break
            if virsh("domstate", name, check=False).returncode != 0:
                created = False  # gone (e.g. kernel panic -> reboot -> destroyed)
                break
            time.sleep(0.05)
        if ok:
            print(f"{check}: create {t_create:.2f}s, ready {t_ready:.2f}s after create start")
        else:
            print(f"{check}: FAILED (ready={'no' if t_ready is None else f'{t_ready:.2f}s'}); serial tail:")
            for ln in lines[-20:]:
                print(f"    | {ln}")
            qlog = Path(f"/var/log/libvirt/qemu/{name}.log")
            if qlog.exists():
                print(f"  QEMU log tail ({qlog}):")
                for ln in qlog.read_text(errors="replace").splitlines()[-10:]:
                    print(f"    | {ln}")
        for ln in lines:
            if ln.startswith("VIRTMESH-"):
                print(f"    {ln}")
        return ok
    finally:
        if created:
            t1 = time.monotonic()
            virsh("destroy", name, check=False)
            print(f"{check}: destroy {time.monotonic() - t1:.2f}s")
        if keep_logs or not ok:
            print(f"{check}: files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checks", nargs="*", metavar="CHECK",
                    help=f"one of {', '.join(CHECKS)} (default: {' '.join(DEFAULT_CHECKS)})")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per check (default 120)")
    ap.add_argument("--memory", type=int, default=128, help="guest MiB (default 128)")
    ap.add_argument("--keep-logs", action="store_true", help="keep the serial log and domain XML")
    args = ap.parse_args()
    for check in args.checks:
        if check not in CHECKS:
            ap.error(f"unknown check {check!r}; choose from {', '.join(CHECKS)}")
    if virsh("version", check=False).returncode != 0:
        print(f"libvirt does not answer on {URI}: run tools/host.sh start", file=sys.stderr)
        return 2
    failed = []
    for check in args.checks or DEFAULT_CHECKS:
        marker = f"bc{secrets.token_hex(4)}"
        if not run_check(check, marker, args.timeout, args.memory, args.keep_logs):
            failed.append(check)
    if failed:
        print(f"FAILED: {' '.join(failed)}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
