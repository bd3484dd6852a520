"""Online disk snapshots: a point-in-time copy of a running domain's disk through libvirt's block copy.

libvirt mirrors the disk into a new file (`virDomainBlockCopy`) while the guest keeps running; once the
mirror is in sync (the job's cur == end: every write since goes to both), aborting the job without a
pivot leaves the destination as a crash-consistent copy of the disk at that instant, and the guest on its
own image as before. No guest agent freezes the filesystems here (the snapshot's NoGuestAgent
indication). A copy job left by an earlier attempt (the handler died mid-copy) is aborted first.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from services.launcher import virt

POLL_SECONDS = 0.2


def disk_target(domain_xml: str, source: str) -> str:
    """The target dev (vda, sdb, …) of the disk whose file is `source`."""
    for disk in ET.fromstring(domain_xml).findall("./devices/disk"):
        src = disk.find("source")
        if src is not None and src.get("file") == source:
            tgt = disk.find("target")
            if tgt is not None:
                return tgt.get("dev", "")
    raise virt.VirtError(f"no disk of the domain reads {source}")


def copy_disk(hv: virt.Hypervisor, source: str, destination: str, fmt: str, timeout: float) -> None:
    """Blocking (run in a thread). Raises VirtError with libvirt's message."""
    lv = virt.libvirt
    dom = hv._domain()
    if dom is None or not dom.isActive():
        raise virt.VirtError(f"domain {hv.name} is not running")
    dev = disk_target(hv._call("XMLDesc", lambda: dom.XMLDesc(0)), source)
    if dom.blockJobInfo(dev, 0):
        hv._call("abort of an earlier block job", lambda: dom.blockJobAbort(dev, 0))
        _wait_no_job(dom, dev, 30.0)
    dest = ET.Element("disk", type="file")
    ET.SubElement(dest, "source", file=destination)
    ET.SubElement(dest, "driver", type=fmt)
    # A transient job: the persistent definition keeps its disk (libvirt >= 6.0 copies persistent domains).
    flags = getattr(lv, "VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB", 0)
    hv._call("block copy", lambda: dom.blockCopy(dev, ET.tostring(dest, encoding="unicode"), None, flags))
    deadline = time.monotonic() + timeout
    try:
        while True:
            info = hv._call("block job info", lambda: dom.blockJobInfo(dev, 0))
            if not info:
                raise virt.VirtError(f"block copy of {dev} ended before it was in sync")
            if info.get("end", 0) > 0 and info.get("cur") == info.get("end"):
                break
            if time.monotonic() > deadline:
                raise virt.VirtError(f"block copy of {dev} not in sync within {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
    finally:
        # In sync: this ends the mirror and leaves the copy as of now; otherwise it cancels the copy.
        try:
            dom.blockJobAbort(dev, 0)
        except lv.libvirtError:
            pass
    _wait_no_job(dom, dev, 30.0)


def _wait_no_job(dom, dev: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while dom.blockJobInfo(dev, 0):
        if time.monotonic() > deadline:
            raise virt.VirtError(f"block job on {dev} did not end")
        time.sleep(POLL_SECONDS)
