"""DataVolumes (CDI's DataVolume controller, the part standalone mode needs): each DataVolume
owns a PersistentVolumeClaim of its own name, annotated with what to fill it from (import URL or
clone source; the node's provisioner does the copy), and its phase follows the claim's:
Pending -> ImportScheduled/CloneScheduled (a node took the claim) -> Succeeded (bound and filled),
or Failed with the node's error (the node keeps retrying, as CDI's importer does)."""
from __future__ import annotations

import grpc

from services.common import progress, proto, vmstate, volumes
from services.common.volumes import (CLONE_REQUEST, DISK_FORMAT, IMPORT_ENDPOINT, IMPORT_PROGRESS, POD_PHASE,
                                     PROVISION_ERROR, SELECTED_NODE)

PREVIOUS_CLAIM_RETRY_SECONDS = 5.0
SOURCE_WAIT_SECONDS = 2.0


def owner_uid(pvc) -> str:
    """The uid of the DataVolume that controls a claim, "" for a claim no DataVolume made."""
    return next((r.uid for r in pvc.metadata.ownerReferences if r.kind == "DataVolume"), "")


def clone_source_key(dv) -> str:
    """`namespace/name` of the claim a clone DataVolume copies, "" for any other source."""
    src = dv.spec.source
    return f"{src.pvc.namespace or dv.metadata.namespace}/{src.pvc.name}" if src.HasField("pvc") else ""


def needs_source_size(dv) -> bool:
    """A clone through CDI's storage API without a size: the claim gets the source's."""
    return bool(clone_source_key(dv)) and dv.spec.HasField("storage") and \
        not dv.spec.storage.resources.requests.get("storage")


def source_size(source) -> str:
    """The size of a source claim: what it holds (status.capacity), else what it asked for."""
    return source.status.capacity.get("storage") or source.spec.resources.requests.get("storage", "")


def claim_for(dv, size: str = ""):
    """The claim a DataVolume owns; `size` for a clone that names none (needs_source_size)."""
    pvc = proto.kv.PersistentVolumeClaim(apiVersion="v1", kind="PersistentVolumeClaim")
    md = pvc.metadata
    md.namespace, md.name = dv.metadata.namespace, dv.metadata.name
    md.ownerReferences.add(apiVersion=dv.apiVersion or proto.KINDS[proto.DV].api_version, kind="DataVolume",
                           name=dv.metadata.name, uid=dv.metadata.uid, controller=True)
    spec = dv.spec.storage if dv.spec.HasField("storage") else dv.spec.pvc
    pvc.spec.CopyFrom(spec)
    if not pvc.spec.accessModes:
        pvc.spec.accessModes.append("ReadWriteOnce")  # the storage API's default from a storage profile
    if size and not pvc.spec.resources.requests.get("storage"):
        pvc.spec.resources.requests["storage"] = size
    src = dv.spec.source
    if src.HasField("http"):
        md.annotations[IMPORT_ENDPOINT] = src.http.url
    elif src.HasField("pvc"):
        md.annotations[CLONE_REQUEST] = clone_source_key(dv)
    if DISK_FORMAT in dv.metadata.annotations:
        md.annotations[DISK_FORMAT] = dv.metadata.annotations[DISK_FORMAT]
    return pvc


def phase_of(dv, pvc) -> tuple[str, str, str]:
    """(phase, progress, message) from the owned claim; progress "N/A" until the node reports bytes."""
    filled = dv.spec.source.HasField("http") or dv.spec.source.HasField("pvc")
    verb = "Import" if dv.spec.source.HasField("http") else "Clone"
    if pvc is None:
        return volumes.DV_PENDING, "N/A", "the claim is being created"
    ann = pvc.metadata.annotations
    if pvc.status.phase == volumes.CLAIM_BOUND and (not filled or ann.get(POD_PHASE) == volumes.POD_SUCCEEDED):
        done = "imported" if verb == "Import" else "cloned"
        return volumes.DV_SUCCEEDED, "100.0%", (f"Successfully {done} into PVC {pvc.metadata.name}" if filled
                                       else f"PVC {pvc.metadata.name} Bound")
    if ann.get(POD_PHASE) == volumes.POD_FAILED:
        return volumes.DV_FAILED, "N/A", ann.get(PROVISION_ERROR, "")
    if ann.get(SELECTED_NODE):
        message = f"node {ann[SELECTED_NODE]} is provisioning"
        if ann.get(POD_PHASE) == volumes.POD_SUCCEEDED:
            # The node's copy is done (its byte count gone with it) and the claim's Bound is its next write:
            # all of it is in, not back to no figure at all.
            return volumes.DV_IN_PROGRESS.format(verb), "100.0%", f"{message}: done, binding the claim"
        figure = progress.decode(ann.get(IMPORT_PROGRESS, ""))
        if figure is None:
            return (volumes.DV_IN_PROGRESS.format(verb) if filled else volumes.DV_PENDING), "N/A", message
        # the node's importer reports its bytes: CDI's percent, and the bytes in the message
        return volumes.DV_IN_PROGRESS.format(verb), progress.percent(*figure), f"{message}: {progress.amount(*figure)}"
    return volumes.DV_PENDING, "N/A", "waiting for a node to provision the claim"


class DataVolumeController:
    def __init__(self, api, dvs, pvcs):
        self.api, self.dvs, self.pvcs = api, dvs, pvcs

    async def reconcile(self, key: str):
        dv = self.dvs.get(key)
        pvc = self.pvcs.get(key)
        if dv is None:
            # Garbage collection of the claim a deleted DataVolume owned.
            if pvc is not None and any(r.kind == "DataVolume" for r in pvc.metadata.ownerReferences) \
                    and not pvc.metadata.deletionTimestamp:
                await self.api.delete(proto.PVC, pvc.metadata.namespace, pvc.metadata.name, uid=pvc.metadata.uid)
            return None
        if dv.metadata.deletionTimestamp:
            return None
        if pvc is None:
            size = ""
            if needs_source_size(dv):
                source = self.pvcs.get(clone_source_key(dv))
                size = source_size(source) if source is not None else ""
                if not size:   # its creation (a claim event of that key) does not bring this one back: poll
                    await self._set_status(dv, None, volumes.DV_PENDING, "N/A",
                                           f"waiting for the clone source claim {clone_source_key(dv)} to size it")
                    return SOURCE_WAIT_SECONDS
            await self.api.create(claim_for(dv, size))
            return None
        if pvc.metadata.deletionTimestamp or owner_uid(pvc) not in ("", dv.metadata.uid):
            # The claim of an earlier DataVolume of this name (deleted and made again, as a VM does with
            # its templates): never this one's content. It goes first; its deletion brings the key back.
            retry = None
            if not pvc.metadata.deletionTimestamp:
                try:
                    await self.api.delete(proto.PVC, pvc.metadata.namespace, pvc.metadata.name, uid=pvc.metadata.uid)
                except grpc.aio.AioRpcError as e:
                    if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                        raise
                    retry = PREVIOUS_CLAIM_RETRY_SECONDS   # still in use
            await self._set_status(dv, pvc, volumes.DV_PENDING, "N/A",
                                   f"waiting for the claim of a previous DataVolume {pvc.metadata.name} to be deleted")
            return retry
        await self._set_status(dv, pvc, *phase_of(dv, pvc))
        return None

    async def _set_status(self, dv, pvc, phase: str, progress: str, message: str) -> None:
        out = proto.copy(dv)
        st = out.status
        st.phase, st.progress = phase, progress
        ready = "True" if phase == volumes.DV_SUCCEEDED else "False"
        vmstate.set_condition(out, volumes.DV_READY, ready, reason=phase, message=message)
        if pvc is not None:
            st.claimName = pvc.metadata.name
            claim_phase = pvc.status.phase or volumes.CLAIM_PENDING
            vmstate.set_condition(out, volumes.DV_BOUND, "True" if claim_phase == volumes.CLAIM_BOUND else "False",
                                  reason=claim_phase, message=f"PVC {pvc.metadata.name} {claim_phase}")
        if out.status != dv.status:
            await self.api.update_status(out)
