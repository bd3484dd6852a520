"""Online disk snapshots: a point-in-time copy of a running domain's disk through libvirt's block copy.

libvirt mirrors the disk into a new file (`virDomainBlockCopy`) while the guest keeps running; once the
mirror is in sync (the job's cur == end: every write since goes to both), aborting the job without a
pivot leaves the destination as a crash-consistent copy of the disk at that instant, and the guest on its
own image as before. No guest agent freezes the filesystems here (the snapshot's NoGuestAgent
indication). A copy job left by an earlier attempt (the handler died mid-copy) is aborted first.
"""
from __future__ import annotations

import time

from services.launcher import virt
from services.launcher.domxml import model as m

POLL_SECONDS = 0.2


def disk_target(live: m.Domain, source: str) -> str:
    """The target dev (vda, sdb, …) of the disk whose file is `source`."""
    for disk in live.devices.disks:
        if disk.type == "file" and disk.source == source and disk.target_dev:
            return disk.target_dev
    raise virt.DeviceNotFound(f"no disk of the domain reads {source}")


def copy_disk(hv: virt.Hypervisor, source: str, destination: str, fmt: str, timeout: float) -> None:
    """Blocking (run in a thread). Raises a VirtError with libvirt's message."""
    lv = virt.libvirt
    dom = hv._running()
    dev = disk_target(hv.live_domain(), source)
    if hv._call("block job info", dom.blockJobInfo, dev, 0):
        hv._call("abort of an earlier block job", dom.blockJobAbort, dev, 0)
        _wait_no_job(hv, dom, dev, 30.0)
    dest = m.device_xml(m.Disk(type="file", source=destination, driver=m.DiskDriver(type=fmt)))
    # A transient job: the persistent definition keeps its disk (libvirt >= 6.0 copies persistent domains).
    flags = getattr(lv, "VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB", 0)
    hv._call("block copy", dom.blockCopy, dev, dest, None, flags)
    deadline = time.monotonic() + timeout
    try:
        while True:
            info = hv._call("block job info", dom.blockJobInfo, dev, 0)
            if not info:
                raise virt.OperationFailed(f"block copy of {dev} ended before it was in sync")
            if info.get("end", 0) > 0 and info.get("cur") == info.get("end"):
                break
            if time.monotonic() > deadline:
                raise virt.OperationTimeout(f"block copy of {dev} not in sync within {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
    finally:
        # In sync: this ends the mirror and leaves the copy as of now; otherwise it cancels the copy.
        try:
            hv._call("block job abort", dom.blockJobAbort, dev, 0)
        except virt.VirtError:
            pass
    _wait_no_job(hv, dom, dev, 30.0)


def _wait_no_job(hv: virt.Hypervisor, dom, dev: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while hv._call("block job info", dom.blockJobInfo, dev, 0):
        if time.monotonic() > deadline:
            raise virt.OperationTimeout(f"block job on {dev} did not end")
        time.sleep(POLL_SECONDS)
