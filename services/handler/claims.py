"""This node as the storage provisioner of PersistentVolumeClaims (local volumes, standalone mode).

A Pending claim is taken by the first node to write its name into `volume.kubernetes.io/selected-node`
(an optimistic-concurrency update: the loser sees the winner's name and leaves it), which then
creates the image (localvolumes.py) -- blank, imported from `cdi.kubevirt.io/storage.import.endpoint`,
or cloned from `k8s.io/CloneRequest` -- and marks the claim Bound. Deleting a claim removes the image,
then the `kubernetes.io/pvc-protection` finalizer. In a cluster a CSI provisioner does this; the
handler's seam is the image path it gives the launcher (VMIRequest.volumePaths).
"""
from __future__ import annotations

import asyncio
import logging
import os

import grpc

from services.common import progress, proto, snapshots, volumes
from services.common.volumes import (CLONE_REQUEST, DISK_FORMAT, IMPORT_ENDPOINT, IMPORT_PROGRESS, POD_PHASE,
                                     PROVISION_ERROR, PVC_PROTECTION, SELECTED_NODE)
from services.handler import localvolumes

log = logging.getLogger(__name__)
RETRY_FAILED_SECONDS = 30.0


def bound_here(pvc, node: str) -> bool:
    return pvc.status.phase == volumes.CLAIM_BOUND and pvc.metadata.annotations.get(SELECTED_NODE) == node


class ClaimProvisioner:
    def __init__(self, api, claims, node: str, root: str):
        self.api, self.claims, self.node, self.root = api, claims, node, root

    def image_path(self, pvc) -> str | None:
        """The image of a claim bound on this node, else None."""
        if pvc is None or not bound_here(pvc, self.node):
            return None
        path = localvolumes.image_path(self.root, pvc)
        return path if os.path.exists(path) else None

    async def reconcile(self, key: str):
        pvc = self.claims.get(key)
        if pvc is None:
            return None
        md = pvc.metadata
        node = md.annotations.get(SELECTED_NODE, "")
        if md.deletionTimestamp:
            return await self._delete(pvc, node)
        if node and node != self.node:
            return None
        if not node:  # take it; the update's event brings the claim back here
            out = proto.copy(pvc)
            out.metadata.annotations[SELECTED_NODE] = self.node
            await self.api.update(out)
            return None
        if pvc.status.phase == volumes.CLAIM_BOUND:
            if not os.path.exists(localvolumes.image_path(self.root, pvc)):
                log.warning("claim %s: its image is gone from this node", key)
                out = proto.copy(pvc)
                out.status.phase = volumes.CLAIM_LOST
                await self.api.update_status(out)
            return None
        return await self._provision(pvc, key)

    async def _provision(self, pvc, key: str):
        ann = pvc.metadata.annotations
        clone_from = ""
        if ann.get(CLONE_REQUEST):
            ns, _, name = ann[CLONE_REQUEST].rpartition("/")
            src = self.claims.get(f"{ns or pvc.metadata.namespace}/{name}")
            clone_from = self.image_path(src) or ""
            if not clone_from:
                log.info("claim %s: clone source %s not bound on this node yet", key, ann[CLONE_REQUEST])
                return 2.0
        elif ann.get(snapshots.RESTORE_SOURCE):   # a VirtualMachineRestore's claim: from a snapshot's image
            ns, _, vs = ann[snapshots.RESTORE_SOURCE].rpartition("/")
            clone_from = snapshots.image_path(self.root, ns or pvc.metadata.namespace, vs)
            if not os.path.exists(clone_from):
                log.info("claim %s: snapshot image %s not on this node", key, clone_from)
                return 5.0
        report = ImportReport(self.api, pvc, key) if ann.get(IMPORT_ENDPOINT) else None
        try:
            await asyncio.to_thread(localvolumes.provision, self.root, pvc, ann.get(DISK_FORMAT, "raw"),
                                    ann.get(IMPORT_ENDPOINT, ""), clone_from, report.heard if report else None)
        except localvolumes.LocalVolumeError as e:
            log.warning("claim %s: provisioning failed: %s", key, e)
            pvc = await report.close() if report else pvc
            out = proto.copy(pvc)
            out.metadata.annotations[POD_PHASE] = volumes.POD_FAILED
            out.metadata.annotations[PROVISION_ERROR] = str(e)
            out.metadata.annotations.pop(IMPORT_PROGRESS, None)
            if out.metadata != pvc.metadata:
                await self.api.update(out)
            return RETRY_FAILED_SECONDS  # a source may appear later (CDI retries its importer too)
        except BaseException:
            if report:
                await report.close()
            raise
        pvc = await report.close() if report else pvc
        out = proto.copy(pvc)
        if ann.get(IMPORT_ENDPOINT) or ann.get(CLONE_REQUEST) or ann.get(snapshots.RESTORE_SOURCE):
            out.metadata.annotations[POD_PHASE] = volumes.POD_SUCCEEDED
        out.metadata.annotations.pop(PROVISION_ERROR, None)
        out.metadata.annotations.pop(IMPORT_PROGRESS, None)
        if out.metadata != pvc.metadata:
            out = await self.api.update(out)
        out.status.phase = volumes.CLAIM_BOUND
        del out.status.accessModes[:]
        out.status.accessModes.extend(pvc.spec.accessModes)
        out.status.capacity["storage"] = pvc.spec.resources.requests.get("storage", "")
        await self.api.update_status(out)
        log.info("claim %s: bound on %s (%s)", key, self.node, localvolumes.image_path(self.root, pvc))
        return None

    async def _delete(self, pvc, node: str):
        if node and node != self.node:
            return None
        if any(f != PVC_PROTECTION for f in pvc.metadata.finalizers):
            return None   # still protected (a snapshot copying it): its finalizer's removal brings it back
        if node == self.node:
            await asyncio.to_thread(localvolumes.remove, self.root, pvc)
        if PVC_PROTECTION in pvc.metadata.finalizers:
            out = proto.copy(pvc)
            out.metadata.finalizers.remove(PVC_PROTECTION)
            await self.api.update(out)
        return None


class ImportReport:
    """An import's bytes published on its claim (IMPORT_PROGRESS) while the download runs in a
    thread: the thread only notes the figure (`heard`); a task on the loop writes the newest one at
    most once a second and per whole percent (progress.Throttle), never once per chunk. The claim's
    controller turns it into the DataVolume's status.progress, as CDI's does from its importer."""

    def __init__(self, api, pvc, key: str):
        self.api, self.pvc, self.key = api, pvc, key
        self.figure: tuple[int, int | None] | None = None
        self.throttle = progress.Throttle()
        self.stop = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._publish())

    def heard(self, done: int, total: int | None) -> None:
        self.figure = (done, total)   # one tuple assignment: read whole by the loop

    async def _publish(self) -> None:
        written = None
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), progress.MIN_INTERVAL_SECONDS / 2)
                return
            except asyncio.TimeoutError:
                pass
            figure = self.figure
            if figure is None or figure == written or not self.throttle.due(*figure):
                continue
            out = proto.copy(self.pvc)
            out.metadata.annotations[IMPORT_PROGRESS] = progress.encode(*figure)
            try:
                self.pvc = await self.api.update(out)
                written = figure
            except grpc.aio.AioRpcError as e:   # written meanwhile (a conflict): the newest and go on
                log.info("claim %s: import progress not written: %s", self.key, e.details())
                try:
                    self.pvc = await self.api.get(proto.PVC, self.pvc.metadata.namespace, self.pvc.metadata.name)
                except grpc.aio.AioRpcError:
                    pass

    async def close(self):
        """Stop publishing (a write under way completes); the claim as last written, which the
        next update must start from."""
        self.stop.set()
        await self.task
        return self.pvc
