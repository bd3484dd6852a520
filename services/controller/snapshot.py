"""VirtualMachineSnapshot, VirtualMachineSnapshotContent and VirtualMachineRestore (KubeVirt's
pkg/storage/snapshot: VMSnapshotController.updateVMSnapshot / updateSnapshotStatus and
VMRestoreController.updateVMRestore), on the claims this mesh's nodes keep as image files.

Snapshot: the controller writes the content -- the VM as it is (metadata, spec, status) and one volume
backup per claim-backed volume (`vmsnapshot-<snapshot uid>-volume-<volume>`), annotated with the node that
holds the claims -- and protects those claims (finalizer) until the copy is done; that node's handler
copies the images (services/handler/snapshot.py: offline with qemu-img, online with libvirt's block copy)
and writes the content's status. The snapshot's status follows the content's as KubeVirt's does: phase
InProgress -> Succeeded (the content's creationTime) or Failed (failureDeadline passed: "snapshot deadline
exceeded"), readyToUse, creationTime, sourceUID, error, the Progressing/Ready conditions and, while a
running VM is copied, the Online and NoGuestAgent (or Paused) indications: no guest agent freezes the
filesystems here. Deleting a snapshot deletes its content (and so the images) unless deletionPolicy says
Retain and the content is ready; deleting the VM leaves its snapshots alone.

Restore: the target must have no VMI (KubeVirt's Ready); targetReadinessPolicy says what happens otherwise
(WaitGracePeriod, the default: "Waiting for target to be ready", failing after 5 min; FailImmediate:
"Restore target not ready"; StopTarget: stopped as the stop subresource would; WaitEventually). Each volume
backup becomes a new claim `restore-<restore uid>-<volume>` the snapshot's node fills from the image; the
target VM then gets the snapshot's spec with those claims. In place, the VM keeps its current run strategy
(KubeVirt 1.6, generateRestoredVMSpec: it is stopped, so RerunOnFailure or Manual do not start it); a VM of
another name is created Halted (or running: false) and owns nothing of the original's. DataVolumes of the
old spec's templates that the restored spec no longer uses are deleted (status.deletedDataVolumes).
"""
from __future__ import annotations

import logging

import grpc

from services.common import domain, proto, snapshots as S, timeutil, vmstate
from services.common.volumes import CLAIM_BOUND, DISK_FORMAT, SELECTED_NODE, claim_name

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


def _cond(obj, ctype: str, status: str, reason: str) -> None:
    """KubeVirt's snapshot conditions carry a reason only (newCondition)."""
    vmstate.set_condition(obj, ctype, status, reason=reason)


def _has(obj, ctype: str) -> bool:
    c = vmstate.get_condition(obj, ctype)
    return c is not None and c.status == "True"


# ---------------------------------------------------------------- snapshot: pure decisions

def progressing(s) -> bool:
    return s.status.phase not in (S.FAILED, S.SUCCEEDED)


def deadline_exceeded(s) -> bool:
    """vmSnapshotDeadlineExceeded: failed, or still progressing past failureDeadline (0: none)."""
    if s.status.phase == S.FAILED:
        return True
    if not progressing(s):
        return False
    deadline = S.failure_deadline(s)
    return deadline > 0 and timeutil.age_seconds(s.metadata.creationTimestamp) > deadline


def until_deadline(s) -> float | None:
    deadline = S.failure_deadline(s)
    if deadline <= 0 or not progressing(s):
        return None
    return max(0.5, deadline - timeutil.age_seconds(s.metadata.creationTimestamp) + 0.5)


def content_ready(c) -> bool:
    return c is not None and c.status.HasField("readyToUse") and c.status.readyToUse


def should_delete_content(s, c) -> bool:
    """shouldDeleteContent: the policy says Delete (the default), or the content is not ready."""
    policy = s.spec.deletionPolicy if s.spec.HasField("deletionPolicy") else S.DELETE
    return policy == S.DELETE or not content_ready(c)


def claim_volumes(vm) -> list[tuple[str, str]]:
    """(volume name, claim name) of every claim-backed volume of the VM's template."""
    out = []
    for v in vm.spec.template.spec.volumes:
        name = claim_name(v)
        if name:
            out.append((v.name, name))
    return out


def indications(vmi) -> list[str]:
    """updateSnapshotSourceIndications for a source without a guest agent: Online with Paused or
    NoGuestAgent while a VMI runs, nothing offline (sorted, as KubeVirt's set)."""
    if vmi is None or vmstate.is_final(vmi) or vmi.status.phase != vmstate.RUNNING:
        return []
    paused = _has(vmi, vmstate.PAUSED)
    return sorted([S.ONLINE, S.PAUSED if paused else S.NO_GUEST_AGENT])


def snapshot_status(s, vm, vmi, content):
    """updateSnapshotStatus: the snapshot's next status (a copy of s)."""
    out = proto.copy(s)
    st = out.status
    if not st.HasField("readyToUse"):
        st.readyToUse = False
    if vm is not None:
        st.sourceUID = vm.metadata.uid
    if content is not None and content.status.ByteSize():
        st.virtualMachineSnapshotContentName = content.metadata.name
        if content.status.HasField("creationTime"):
            st.creationTime = content.status.creationTime
        st.readyToUse = content_ready(content)
        if content.status.HasField("error"):
            st.error.CopyFrom(content.status.error)
        else:
            st.ClearField("error")
    if deadline_exceeded(out):
        st.phase = S.FAILED
        _cond(out, S.FAILURE, "True", S.DEADLINE_EXCEEDED)
        _cond(out, S.PROGRESSING, "False", S.OPERATION_FAILED)
    elif st.phase == S.SUCCEEDED or st.HasField("creationTime"):
        st.phase = S.SUCCEEDED
        _cond(out, S.PROGRESSING, "False", S.OPERATION_COMPLETE)
        if content is not None:
            backed = {vb.volumeName for vb in content.spec.volumeBackups}
            vols = [v.name for v in content.spec.source.virtualMachine.spec.template.spec.volumes]
            st.snapshotVolumes.CopyFrom(proto.snapshot.SnapshotVolumesLists(
                includedVolumes=[v for v in vols if v in backed], excludedVolumes=[v for v in vols if v not in backed]))
    else:
        st.phase = S.IN_PROGRESS
        if vm is not None:
            # The source is "locked" from the content's creation on (we keep no lock on the VM itself).
            if content is not None:
                _cond(out, S.PROGRESSING, "True", S.SOURCE_LOCKED)
            else:
                _cond(out, S.PROGRESSING, "False", S.SOURCE_NOT_LOCKED)
            names = indications(vmi)
            del st.indications[:]
            st.indications.extend(names)
            del st.sourceIndications[:]
            for n in names:
                st.sourceIndications.add(indication=n, message=S.INDICATION_MESSAGES[n])
        else:
            _cond(out, S.PROGRESSING, "False", S.SOURCE_MISSING)
        if out.metadata.deletionTimestamp:
            st.phase = S.DELETING
            _cond(out, S.PROGRESSING, "False", "VM snapshot is deleting")
    if st.readyToUse:
        _cond(out, S.READY, "True", "Ready")
    else:
        _cond(out, S.READY, "False", "Not ready")
    if st.HasField("error"):
        _cond(out, S.PROGRESSING, "False", "In error state")
    return out


def content_for(s, vm, claims) -> tuple[proto.snapshot.VirtualMachineSnapshotContent, str]:
    """The VirtualMachineSnapshotContent of a snapshot (createContent) and the node holding its claims.
    Raises ValueError when a claim cannot be snapshotted (unbound, or on another node than the rest)."""
    c = proto.snapshot.VirtualMachineSnapshotContent(apiVersion=f"{S.GROUP}/v1beta1",
                                                      kind="VirtualMachineSnapshotContent")
    md = c.metadata
    md.name, md.namespace = S.content_name(s), s.metadata.namespace
    md.finalizers.append(S.CONTENT_FINALIZER)
    md.labels[S.SOURCE_NAME_LABEL] = vm.metadata.name
    md.labels[S.SOURCE_NAMESPACE_LABEL] = vm.metadata.namespace
    c.spec.virtualMachineSnapshotName = s.metadata.name
    src = c.spec.source.virtualMachine
    for f in ("name", "namespace", "uid", "generation", "labels", "annotations"):
        if f in ("labels", "annotations"):
            getattr(src.metadata, f).update(getattr(vm.metadata, f))
        else:
            setattr(src.metadata, f, getattr(vm.metadata, f))
    src.spec.CopyFrom(vm.spec)
    src.status.CopyFrom(vm.status)
    node = ""
    for volume, claim in claim_volumes(vm):
        pvc = claims.get(f"{vm.metadata.namespace}/{claim}")
        if pvc is None or pvc.status.phase != CLAIM_BOUND:
            raise ValueError(f"PersistentVolumeClaim {vm.metadata.namespace}/{claim} of volume {volume} is not bound")
        where = pvc.metadata.annotations.get(SELECTED_NODE, "")
        if node and where != node:
            raise ValueError(f"the claims of VirtualMachine {vm.metadata.name} are on several nodes ({node}, {where})")
        node = where
        vb = c.spec.volumeBackups.add(volumeName=volume, volumeSnapshotName=S.volume_snapshot_name(
            s.metadata.uid, volume))
        pmd = vb.persistentVolumeClaim.metadata
        pmd.name, pmd.namespace = pvc.metadata.name, pvc.metadata.namespace
        pmd.labels.update(pvc.metadata.labels)
        if DISK_FORMAT in pvc.metadata.annotations:
            pmd.annotations[DISK_FORMAT] = pvc.metadata.annotations[DISK_FORMAT]
        vb.persistentVolumeClaim.spec.CopyFrom(pvc.spec)
    if node:
        md.annotations[S.CONTENT_NODE] = node
    return c, node


# ---------------------------------------------------------------- restore: pure decisions

def last_restore_value(r) -> str:
    return f"{r.metadata.name}-{r.metadata.uid}"


def restored_vm(snapshot_vm, live_vm, r):
    """generateRestoredVMSpec: the target VM after the restore. The snapshot's spec with each restored
    claim in place of the original (a DataVolume volume becomes a claim volume; its template goes); run
    strategy as KubeVirt 1.6: a new VM is Halted (running: false if the snapshot used running); the same
    VM keeps its current run strategy (running: false if it uses running)."""
    new_claims = {vr.volumeName: vr.persistentVolumeClaim for vr in r.status.restores}
    spec = proto.copy(snapshot_vm.spec)
    replaced_dvs = set()
    for v in spec.template.spec.volumes:
        if v.name not in new_claims:
            continue
        if v.HasField("dataVolume"):
            replaced_dvs.add(v.dataVolume.name)
            hot = v.dataVolume.hotpluggable
            v.ClearField("dataVolume")
            v.persistentVolumeClaim.hotpluggable = hot
        v.persistentVolumeClaim.claimName = new_claims[v.name]
    keep = [t for t in spec.dataVolumeTemplates if t.metadata.name not in replaced_dvs]
    del spec.dataVolumeTemplates[:]
    spec.dataVolumeTemplates.extend(keep)
    if live_vm is None:
        vm = proto.kv.VirtualMachine(apiVersion=proto.KINDS[proto.VM].api_version, kind="VirtualMachine")
        vm.metadata.name, vm.metadata.namespace = r.spec.target.name, r.metadata.namespace
        vm.metadata.labels.update(snapshot_vm.metadata.labels)
        vm.metadata.annotations.update(snapshot_vm.metadata.annotations)
        vm.spec.CopyFrom(spec)
        if vm.spec.HasField("running"):
            vm.spec.running = False
        else:
            vm.spec.runStrategy = domain.RUN_HALTED
    else:
        vm = proto.copy(live_vm)
        vm.spec.CopyFrom(spec)
        if live_vm.spec.HasField("running"):
            vm.spec.running = False
            vm.spec.ClearField("runStrategy")
        else:
            vm.spec.runStrategy = vmstate.run_strategy(live_vm)
            vm.spec.ClearField("running")
    vm.metadata.annotations[S.LAST_RESTORE_ANNOTATION] = last_restore_value(r)
    return vm


def obsolete_data_volumes(live_vm, restored) -> list[str]:
    """The DataVolumes of the live VM's templates the restored spec no longer names (deleteObsoleteVolumes)."""
    if live_vm is None:
        return []
    used = {claim_name(v) for v in restored.spec.template.spec.volumes}
    return [t.metadata.name for t in live_vm.spec.dataVolumeTemplates if t.metadata.name not in used]


def restore_claim(r, vb, content, target_uid: str = ""):
    """The claim a volume backup is restored into, filled by the snapshot's node from its image."""
    pvc = proto.kv.PersistentVolumeClaim(apiVersion="v1", kind="PersistentVolumeClaim")
    md = pvc.metadata
    md.namespace, md.name = r.metadata.namespace, S.restore_claim_name(r.metadata.uid, vb.volumeName)
    src = vb.persistentVolumeClaim
    md.labels.update(src.metadata.labels)
    md.labels[S.RESTORE_SOURCE_NAME_LABEL] = content.spec.source.virtualMachine.metadata.name
    md.labels[S.RESTORE_SOURCE_NAMESPACE_LABEL] = content.spec.source.virtualMachine.metadata.namespace
    md.annotations[S.RESTORE_NAME_ANNOTATION] = r.metadata.name
    md.annotations[S.RESTORE_SOURCE] = f"{content.metadata.namespace}/{vb.volumeSnapshotName}"
    md.annotations[SELECTED_NODE] = content.metadata.annotations.get(S.CONTENT_NODE, "")
    if DISK_FORMAT in src.metadata.annotations:
        md.annotations[DISK_FORMAT] = src.metadata.annotations[DISK_FORMAT]
    for o in r.spec.volumeRestoreOverrides:
        if o.volumeName == vb.volumeName:
            if o.restoreName:
                md.name = o.restoreName
            md.labels.update(o.labels)
            md.annotations.update(o.annotations)
    pvc.spec.CopyFrom(src.spec)
    pvc.spec.ClearField("volumeName")
    return pvc


# ---------------------------------------------------------------- the controllers

class SnapshotController:
    def __init__(self, api, snapshots, contents, restores, vms, vmis, claims):
        self.api, self.snapshots, self.contents, self.restores = api, snapshots, contents, restores
        self.vms, self.vmis, self.claims = vms, vmis, claims

    # snapshots and their contents share nothing in their keys: a content names its snapshot
    def snapshot_key_of_content(self, key: str) -> str | None:
        c = self.contents.get(key)
        if c is None or not c.spec.HasField("virtualMachineSnapshotName"):
            return None
        return f"{c.metadata.namespace}/{c.spec.virtualMachineSnapshotName}"

    def snapshot_keys_of_vm(self, key: str) -> list[str]:
        ns, _, name = key.partition("/")
        return [proto.key(s) for s in self.snapshots.items()
                if s.metadata.namespace == ns and s.spec.source.name == name]

    async def reconcile(self, key: str):
        s = self.snapshots.get(key)
        if s is None:
            return None
        ns = s.metadata.namespace
        vm = self.vms.get(f"{ns}/{s.spec.source.name}") if s.spec.source.kind == "VirtualMachine" else None
        vmi = self.vmis.get(f"{ns}/{s.spec.source.name}")
        content = self.contents.get(f"{ns}/{S.content_name(s)}")
        terminating = bool(s.metadata.deletionTimestamp) or deadline_exceeded(s)
        if not terminating and S.SNAPSHOT_FINALIZER not in s.metadata.finalizers:
            out = proto.copy(s)
            out.metadata.finalizers.append(S.SNAPSHOT_FINALIZER)
            await self.api.update(out)
            return None
        if s.status.ByteSize() and vm is not None and progressing(s) and not terminating and content is None:
            try:
                new, node = content_for(s, vm, self.claims)
            except ValueError as e:   # a disk that cannot be snapshotted: the error until the deadline
                out = snapshot_status(s, vm, vmi, None)
                if out.status.error.message != str(e):
                    out.status.error.time, out.status.error.message = timeutil.now(), str(e)
                _cond(out, S.PROGRESSING, "False", "In error state")
                if out.status != s.status:
                    await self.api.update_status(out)
                return until_deadline(s) or POLL_SECONDS * 5
            await self._protect_claims(new, True)
            if not new.spec.volumeBackups:
                new.metadata.finalizers.remove(S.CONTENT_FINALIZER)   # no images, no node to clean up
            content = await self.api.create(new)
            if not new.spec.volumeBackups:   # nothing to copy: ready at once
                done = proto.copy(content)
                done.status.readyToUse, done.status.creationTime = True, timeutil.now()
                content = await self.api.update_status(done)
        if content is not None and (not progressing(s) or content_ready(content) or terminating):
            await self._protect_claims(content, False)
        if terminating and content is not None and not content.metadata.deletionTimestamp \
                and should_delete_content(s, content):
            await self._delete(proto.VMSNAPSHOT_CONTENT, ns, content.metadata.name)
        out = snapshot_status(s, vm, vmi, content)
        if out.status != s.status:
            s = await self.api.update_status(out)
        if s.metadata.deletionTimestamp and S.SNAPSHOT_FINALIZER in s.metadata.finalizers:
            if content is not None and should_delete_content(s, content):
                return POLL_SECONDS   # wait for the content (and its images) to go
            out = proto.copy(s)
            out.metadata.finalizers.remove(S.SNAPSHOT_FINALIZER)
            await self.api.update(out)
            return None
        return until_deadline(s)

    async def _protect_claims(self, content, on: bool) -> None:
        """The source claims carry a finalizer while their images are being copied (deleting one waits)."""
        for vb in content.spec.volumeBackups:
            md = vb.persistentVolumeClaim.metadata
            pvc = self.claims.get(f"{md.namespace or content.metadata.namespace}/{md.name}")
            if pvc is None or (S.SOURCE_CLAIM_FINALIZER in pvc.metadata.finalizers) == on:
                continue
            others = [c for c in self.contents.items() if c.metadata.name != content.metadata.name
                      and not content_ready(c) and not c.metadata.deletionTimestamp
                      and any(b.persistentVolumeClaim.metadata.name == md.name for b in c.spec.volumeBackups)]
            if not on and others:
                continue   # another snapshot is still copying it
            out = proto.copy(pvc)
            if on:
                out.metadata.finalizers.append(S.SOURCE_CLAIM_FINALIZER)
            else:
                out.metadata.finalizers.remove(S.SOURCE_CLAIM_FINALIZER)
            await self.api.update(out)

    async def _delete(self, kind: proto.api.Kind, ns: str, name: str) -> None:
        try:
            await self.api.delete(kind, ns, name)
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise

    async def reconcile_content(self, key: str):
        """A content whose snapshot is gone (and is not retained) goes; one without images loses its
        finalizer when deleted (nothing on a node to clean up)."""
        c = self.contents.get(key)
        if c is None:
            return None
        if c.metadata.deletionTimestamp:
            if S.CONTENT_FINALIZER in c.metadata.finalizers and not c.spec.volumeBackups:
                out = proto.copy(c)
                out.metadata.finalizers.remove(S.CONTENT_FINALIZER)
                await self.api.update(out)
            return None
        return None


class RestoreController:
    def __init__(self, api, restores, snapshots, contents, vms, vmis, claims, dvs):
        self.api, self.restores, self.snapshots, self.contents = api, restores, snapshots, contents
        self.vms, self.vmis, self.claims, self.dvs = vms, vmis, claims, dvs

    def restore_keys_of_vm(self, key: str) -> list[str]:
        ns, _, name = key.partition("/")
        return [proto.key(r) for r in self.restores.items()
                if r.metadata.namespace == ns and r.spec.target.name == name]

    async def _status(self, r, out):
        if out.status != r.status:
            return await self.api.update_status(out)
        return r

    async def _error(self, r, message: str):
        """doUpdateError: Progressing and Ready false with the error as reason (the restore retries)."""
        out = proto.copy(r)
        _cond(out, S.PROGRESSING, "False", message)
        _cond(out, S.READY, "False", message)
        await self._status(r, out)
        return POLL_SECONDS * 2

    async def reconcile(self, key: str):
        r = self.restores.get(key)
        if r is None:
            return None
        if not r.status.HasField("complete"):
            out = proto.copy(r)
            out.status.complete = False
            _cond(out, S.PROGRESSING, "True", "Initializing VirtualMachineRestore")
            _cond(out, S.READY, "False", "Initializing VirtualMachineRestore")
            await self.api.update_status(out)
            return None
        ns = r.metadata.namespace
        target = self.vms.get(f"{ns}/{r.spec.target.name}")
        if r.metadata.deletionTimestamp:
            if S.RESTORE_FINALIZER in r.metadata.finalizers:
                out = proto.copy(r)
                _cond(out, S.PROGRESSING, "False", "VM restore is deleting")
                _cond(out, S.READY, "False", "VM restore is deleting")
                r = await self._status(r, out)
                out = proto.copy(r)
                out.metadata.finalizers.remove(S.RESTORE_FINALIZER)
                await self.api.update(out)
            return None
        if r.status.complete or _has(r, S.FAILURE):
            return None
        if S.RESTORE_FINALIZER not in r.metadata.finalizers:
            out = proto.copy(r)
            out.metadata.finalizers.append(S.RESTORE_FINALIZER)
            await self.api.update(out)
            return None
        restored_here = target is not None and \
            target.metadata.annotations.get(S.LAST_RESTORE_ANNOTATION) == last_restore_value(r)
        if target is not None and not restored_here and self.vmis.get(f"{ns}/{target.metadata.name}") is not None:
            return await self._not_ready(r, target)
        s = self.snapshots.get(f"{ns}/{r.spec.virtualMachineSnapshotName}")
        if s is None:
            return await self._error(r, f"VMSnapshot {ns}/{r.spec.virtualMachineSnapshotName} does not exist")
        if not (s.status.HasField("readyToUse") and s.status.readyToUse):
            return await self._error(r, f"VMSnapshot {ns}/{s.metadata.name} not ready")
        content = self.contents.get(f"{ns}/{S.content_name(s)}")
        if content is None:
            return await self._error(r, f"VirtualMachineSnapshotContent {ns}/{S.content_name(s)} does not exist")
        if target is not None and not restored_here and s.status.HasField("sourceUID") and \
                target.metadata.uid != s.status.sourceUID:
            return await self._error(r, S.RESTORE_TO_EXISTING_TARGET)
        # status.restores: one claim per volume backup
        restores = [proto.snapshot.VolumeRestore(
            volumeName=vb.volumeName, persistentVolumeClaim=restore_claim(r, vb, content).metadata.name,
            volumeSnapshotName=vb.volumeSnapshotName) for vb in content.spec.volumeBackups]
        if list(r.status.restores) != restores:
            out = proto.copy(r)
            del out.status.restores[:]
            out.status.restores.extend(restores)
            await self.api.update_status(out)
            return None
        waiting = False
        for vb in content.spec.volumeBackups:
            want = restore_claim(r, vb, content)
            pvc = self.claims.get(f"{ns}/{want.metadata.name}")
            if pvc is None:
                await self.api.create(want)
                waiting = True
            elif pvc.status.phase != CLAIM_BOUND:
                waiting = True
        if waiting:
            out = proto.copy(r)
            _cond(out, S.PROGRESSING, "True", "Creating new PVCs")
            _cond(out, S.READY, "False", "Waiting for new PVCs")
            await self._status(r, out)
            return POLL_SECONDS
        if not restored_here:
            vm = restored_vm(content.spec.source.virtualMachine, target, r)
            if target is None:
                await self.api.create(vm)
            else:
                await self.api.update(vm)
            out = proto.copy(r)
            _cond(out, S.PROGRESSING, "True", "Updating target spec")
            _cond(out, S.READY, "False", "Waiting for target update")
            out.status.ClearField("deletedDataVolumes")
            out.status.deletedDataVolumes.extend(obsolete_data_volumes(target, vm))
            await self._status(r, out)
            return None
        for name in r.status.deletedDataVolumes:
            if self.dvs.get(f"{ns}/{name}") is not None:
                try:
                    await self.api.delete(proto.DV, ns, name)
                except grpc.aio.AioRpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        raise
        out = proto.copy(r)
        out.status.complete = True
        out.status.restoreTime = timeutil.now()
        _cond(out, S.PROGRESSING, "False", S.OPERATION_COMPLETE)
        _cond(out, S.READY, "True", S.OPERATION_COMPLETE)
        await self._status(r, out)
        log.info("restore %s: %s restored from %s", key, r.spec.target.name, r.spec.virtualMachineSnapshotName)
        return None

    async def _not_ready(self, r, target):
        """handleVMRestoreTargetNotReady: the target still has a VMI."""
        policy = r.spec.targetReadinessPolicy if r.spec.HasField("targetReadinessPolicy") else S.WAIT_GRACE_PERIOD
        out = proto.copy(r)
        _cond(out, S.PROGRESSING, "False", S.WAITING_FOR_TARGET)
        _cond(out, S.READY, "False", S.WAITING_FOR_TARGET)
        if policy == S.STOP_TARGET:
            await self._stop(target)
        elif policy == S.WAIT_GRACE_PERIOD and \
                timeutil.age_seconds(r.metadata.creationTimestamp) > S.DEFAULT_GRACE_PERIOD:
            _cond(out, S.PROGRESSING, "False", S.OPERATION_FAILED)
            _cond(out, S.FAILURE, "True", S.GRACE_PERIOD_EXCEEDED)
            _cond(out, S.READY, "False", S.OPERATION_FAILED)
        elif policy == S.FAIL_IMMEDIATE:
            _cond(out, S.PROGRESSING, "False", S.OPERATION_FAILED)
            _cond(out, S.FAILURE, "True", S.TARGET_NOT_READY)
            _cond(out, S.READY, "False", S.OPERATION_FAILED)
        await self._status(r, out)
        return None if _has(out, S.FAILURE) else POLL_SECONDS

    async def _stop(self, vm) -> None:
        """What the stop subresource does: Always/Once -> Halted; RerunOnFailure/Manual -> a Stop request
        for the running VMI (the run strategy stays)."""
        vmi = self.vmis.get(f"{vm.metadata.namespace}/{vm.metadata.name}")
        rs = vmstate.run_strategy(vm)
        out = proto.copy(vm)
        if rs in (domain.RUN_RERUN_ON_FAILURE, domain.RUN_MANUAL, domain.RUN_HALTED):
            stopping = any(c.action == vmstate.STOP_REQUEST for c in vm.status.stateChangeRequests)
            if vmi is None or vmstate.is_final(vmi) or stopping:
                return
            del out.status.stateChangeRequests[:]
            out.status.stateChangeRequests.add(action=vmstate.STOP_REQUEST, uid=vmi.metadata.uid)
            await self.api.update_status(out)
        elif vmstate.run_strategy(vm) != domain.RUN_HALTED:
            if out.spec.HasField("running") and not out.spec.HasField("runStrategy"):
                out.spec.running = False
            else:
                out.spec.runStrategy = domain.RUN_HALTED
            await self.api.update(out)
