"""This node's part of VirtualMachineSnapshotContents: the disk images of the claims it holds.

The method. Claims here are image files the node keeps (raw by default, qcow2 when asked; claims.py).
A volume snapshot is an independent qcow2 copy of the claim's image, kept beside the claims
(`DATA_DIR/volumes/.snapshots/<namespace>/<volumeSnapshotName>.qcow2`; snapshots.image_path):
- offline (no VMI of the VM runs here): `qemu-img convert -O qcow2` of the image;
- online: the launcher's libvirt block copy, stopped once in sync (launcher/snapshot.py) -- the guest runs
  on, nothing is frozen (no guest agent), so the copy is crash-consistent (NoGuestAgent indication).
Copies rather than qcow2 internal snapshots or overlays: a raw claim has no internal snapshots, an overlay
would chain the claim to the snapshot (deleting either, or restoring, would need a commit or rebase of a
disk a guest may be using), while a copy lives and dies alone -- the claim can be deleted or restored over
and the snapshot stays whole. The price is the copy's time and space (bench/snapshot.py measures it against
a bare qemu-img copy); qcow2 keeps the copy sparse and lets `qemu-img check` vouch for it.

Crash safety: a copy is written to `<image>.part`, checked (`qemu-img check`), flushed and renamed into
place, and only then does the content say readyToUse. A handler killed mid-copy leaves a `.part` (and its
qemu-img dies with it: PR_SET_PDEATHSIG) that the next attempt discards; a copy found whole is kept.
Deleting the content removes its images, then the content's finalizer.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess

from services.common import proto, snapshots, timeutil, volumes

log = logging.getLogger(__name__)
QEMU_IMG = "qemu-img"
RETRY_SECONDS = 5.0
ERROR_RETRY_SECONDS = 10.0
ONLINE_COPY_TIMEOUT = 3600


class SnapshotError(Exception):
    pass


def _die_with_parent() -> None:   # preexec_fn: qemu-img must not outlive a killed handler
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def qemu_img(*args: str) -> str:
    r = subprocess.run([QEMU_IMG, *args], capture_output=True, text=True, preexec_fn=_die_with_parent)
    if r.returncode != 0:
        raise SnapshotError(f"qemu-img {args[0]}: {(r.stderr or r.stdout).strip()}")
    return r.stdout


def check(path: str) -> None:
    qemu_img("check", "-q", "-f", "qcow2", path)


def seal(part: str, final: str) -> None:
    """Check, flush and rename a finished copy into place: it appears whole or not at all."""
    check(part)
    fd = os.open(part, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, final)
    dfd = os.open(os.path.dirname(final), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def offline_copy(source: str, fmt: str, part: str) -> None:
    # The claim's format is named, never probed (a guest could write a qcow2 header into a raw disk).
    qemu_img("convert", "-f", fmt, "-O", "qcow2", source, part)


def remove_images(root: str, content) -> None:
    for vb in content.spec.volumeBackups:
        path = snapshots.image_path(root, content.metadata.namespace, vb.volumeSnapshotName)
        for p in (path, path + ".part"):
            try:
                os.remove(p)
            except FileNotFoundError:
                pass


class SnapshotAgent:
    """Reconciles the contents whose images this node holds (annotation virtmesh.io/snapshot-node)."""

    def __init__(self, api, contents, claims, vmis, launchers, provisioner, node: str, root: str):
        self.api, self.contents, self.claims, self.vmis = api, contents, claims, vmis
        self.launchers, self.provisioner, self.node, self.root = launchers, provisioner, node, root

    async def reconcile(self, key: str):
        c = self.contents.get(key)
        if c is None or c.metadata.annotations.get(snapshots.CONTENT_NODE) != self.node:
            return None
        if c.metadata.deletionTimestamp:
            await asyncio.to_thread(remove_images, self.root, c)
            if snapshots.CONTENT_FINALIZER in c.metadata.finalizers:
                out = proto.copy(c)
                out.metadata.finalizers.remove(snapshots.CONTENT_FINALIZER)
                await self.api.update(out)
            return None
        if c.status.HasField("readyToUse") and c.status.readyToUse:
            return None
        try:
            done = await self._take(c)
        except SnapshotError as e:
            log.warning("snapshot content %s: %s", key, e)
            await self._status(c, ready=False, error=str(e))
            return ERROR_RETRY_SECONDS
        if not done:
            return RETRY_SECONDS
        await self._status(c, ready=True)
        log.info("snapshot content %s: ready on %s", key, self.node)
        return None

    def _running_vmi(self, c):
        """The VMI of the snapshot's VM running here, if any (then the copy is online)."""
        vm = c.spec.source.virtualMachine.metadata
        vmi = self.vmis.get(f"{c.metadata.namespace}/{vm.name}")
        if vmi is None or vmi.status.nodeName != self.node or vmi.status.phase != "Running":
            return None
        return vmi

    async def _take(self, c) -> bool:
        ns = c.metadata.namespace
        vmi = self._running_vmi(c)
        for vb in c.spec.volumeBackups:
            final = snapshots.image_path(self.root, ns, vb.volumeSnapshotName)
            if os.path.exists(final):
                continue   # copied before (a retry, or a restarted handler)
            claim_name = vb.persistentVolumeClaim.metadata.name
            pvc = self.claims.get(f"{ns}/{claim_name}")
            source = self.provisioner.image_path(pvc)
            if source is None:
                raise SnapshotError(f"PersistentVolumeClaim {ns}/{claim_name} of volume {vb.volumeName} "
                                    f"has no image on node {self.node}")
            os.makedirs(os.path.dirname(final), exist_ok=True)
            part = final + ".part"
            if os.path.exists(part):
                os.remove(part)   # an attempt that did not finish (a killed handler): never trusted
            uses = vmi is not None and any(volumes.claim_name(v) == claim_name for v in vmi.spec.volumes)
            if uses:
                h = self.launchers.get(vmi.metadata.uid)
                if h is None:
                    return False   # the launcher is being re-attached: try again shortly
                resp = await h.stub.CopyDisk(proto.launcher.CopyDiskRequest(
                    source=source, destination=part, format="qcow2", timeoutSeconds=ONLINE_COPY_TIMEOUT),
                    timeout=ONLINE_COPY_TIMEOUT + 30)
                if not resp.success:
                    raise SnapshotError(f"volume {vb.volumeName}: online copy: {resp.message}")
            else:
                fmt = pvc.metadata.annotations.get(volumes.DISK_FORMAT, "raw")
                await asyncio.to_thread(offline_copy, source, fmt, part)
            await asyncio.to_thread(seal, part, final)
        return True

    async def _status(self, c, ready: bool, error: str = "") -> None:
        out = proto.copy(c)
        st = out.status
        now = timeutil.now()
        st.readyToUse = ready
        if ready:
            st.creationTime = now
            st.ClearField("error")
            del st.volumeSnapshotStatus[:]
            for vb in c.spec.volumeBackups:
                st.volumeSnapshotStatus.add(volumeSnapshotName=vb.volumeSnapshotName, creationTime=now,
                                            readyToUse=True)
        elif error and st.error.message != error:
            st.error.time, st.error.message = now, error
        if out.status != c.status:
            await self.api.update_status(out)
