"""A VM's DataVolumes (virt-controller's vm controller, handleDataVolumes, and the storage predicates of
pkg/storage/types its printable status reads).

Every template of `spec.dataVolumeTemplates` becomes a DataVolume of the template's name in the VM's
namespace, owned by the VM (controller reference, `kubevirt.io/created-by: <vm uid>`), made on every
sync unless the VM says `kubevirt.io/immediate-data-volume-creation: "false"` (then only when it
starts). The VM starts once each one is `Succeeded` (or waits for its first consumer / population);
until then a VM that should run waits, as KubeVirt's does, and shows `Provisioning`, `DataVolumeError`
or `WaitingForVolumeBinding`. With no garbage collector in this mesh (none in standalone mode, and none
that a one-machine cluster runs) the VM controller deletes the DataVolumes a deleted VM owned, once its
VMI is gone; each DataVolume's claim and image follow (datavolume.py, the node's provisioner).
"""
from __future__ import annotations

import logging

import grpc

from services.common import names, proto, vmstate, volumes
from services.controller.instancetype import FAILED_CREATE, SyncError

log = logging.getLogger(__name__)

ALLOW_CLAIM_ADOPTION = "cdi.kubevirt.io/allowClaimAdoption"          # CDI: take over a claim of the same name
IMMEDIATE_CREATION = "kubevirt.io/immediate-data-volume-creation"    # virtv1.ImmediateDataVolumeCreation
CREATE_FAILURE = "Error encountered while creating DataVolumes: {}"
# CDI phases a VM may start on (handleDataVolumes): filled, or waiting for the VM to be its consumer.
READY_PHASES = (volumes.DV_SUCCEEDED, volumes.DV_WAIT_FOR_FIRST_CONSUMER, volumes.DV_PENDING_POPULATION)
COLLECT_RETRY_SECONDS = 5.0


def new_data_volume(vm, template):
    """CreateDataVolumeManifest / GenerateDataVolumeFromTemplate: the template's metadata and spec, in the
    VM's namespace, claim adoption allowed, owned by the VM."""
    dv = proto.kv.DataVolume(apiVersion=proto.KINDS[proto.DV].api_version, kind="DataVolume")
    dv.metadata.CopyFrom(template.metadata)
    for f in ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "generateName"):
        dv.metadata.ClearField(f)
    dv.metadata.namespace = vm.metadata.namespace
    dv.metadata.annotations[ALLOW_CLAIM_ADOPTION] = "true"
    dv.metadata.labels[names.CREATED_BY_LABEL] = vm.metadata.uid
    del dv.metadata.ownerReferences[:]
    dv.metadata.ownerReferences.add(apiVersion=proto.KINDS[proto.VM].api_version, kind="VirtualMachine",
                                    name=vm.metadata.name, uid=vm.metadata.uid, controller=True,
                                    blockOwnerDeletion=True)
    dv.spec.CopyFrom(template.spec)
    return dv


def immediate(vm) -> bool:
    """KubeVirt makes the DataVolumes at once unless the annotation says "false" (legacy default)."""
    return vm.metadata.annotations.get(IMMEDIATE_CREATION) != "false"


def _dv_volumes(vm):
    return [v.dataVolume.name for v in vm.spec.template.spec.volumes if v.HasField("dataVolume")]


def data_volume_error(vm, get_dv) -> str:
    """HasDataVolumeErrors: the message for the first DataVolume of the template's volumes that failed
    (phase Failed, or an importer stopped on an error), else "". `get_dv(namespace, name)` reads a cache."""
    for name in _dv_volumes(vm):
        dv = get_dv(vm.metadata.namespace, name)
        if dv is None:
            continue
        if dv.status.phase == volumes.DV_FAILED:
            return f"DataVolume {name} is in Failed phase"
        running = vmstate.get_condition(dv, volumes.DV_RUNNING)
        if running is not None and running.status == "False" and running.reason in ("Error", "ImagePullFailed"):
            return f"DataVolume {name} importer has stopped running due to an error: {running.message}"
    return ""


def data_volume_provisioning(vm, get_dv) -> bool:
    """HasDataVolumeProvisioning: a DataVolume of the template's volumes is neither filled nor waiting for
    population, and not merely waiting (unbound) for its first consumer."""
    for name in _dv_volumes(vm):
        dv = get_dv(vm.metadata.namespace, name)
        if dv is None or dv.status.phase in (volumes.DV_SUCCEEDED, volumes.DV_PENDING_POPULATION):
            continue
        if vmstate.has_condition(dv, volumes.DV_BOUND) or dv.status.phase != volumes.DV_WAIT_FOR_FIRST_CONSUMER:
            return True
    return False


def unbound_claim(vm, get_pvc) -> bool:
    """HasUnboundPVC: a claim of the template's volumes (a PVC's, or a DataVolume's own) exists and is not Bound."""
    for v in vm.spec.template.spec.volumes:
        name = volumes.claim_name(v)
        pvc = get_pvc(vm.metadata.namespace, name) if name else None
        if pvc is not None and pvc.status.phase != volumes.CLAIM_BOUND:
            return True
    return False


class DataVolumes:
    """The VM controller's DataVolume step over the DataVolume and claim informers."""

    def __init__(self, api, dvs, pvcs):
        self.api, self.dvs, self.pvcs = api, dvs, pvcs

    def get_dv(self, namespace: str, name: str):
        return self.dvs.get(f"{namespace}/{name}")

    def get_pvc(self, namespace: str, name: str):
        return self.pvcs.get(f"{namespace}/{name}")

    async def sync(self, vm, traceparent: str = "") -> bool:
        """handleDataVolumes: make the missing DataVolumes; True when every template's is ready to use.
        A refused create is the VM's SyncError (FailedCreate, KubeVirt's text)."""
        ready = True
        for t in vm.spec.dataVolumeTemplates:
            dv = self.get_dv(vm.metadata.namespace, t.metadata.name)
            if dv is not None:
                if self.foreign(vm, dv) or dv.status.phase not in READY_PHASES:
                    ready = False
                    if dv.status.phase == volumes.DV_FAILED:
                        log.warning("VM %s/%s: DataVolume %s failed to import disk image", vm.metadata.namespace,
                                    vm.metadata.name, t.metadata.name)
                continue
            ready = False
            try:
                await self.api.create(new_data_volume(vm, t), traceparent)
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.ALREADY_EXISTS:
                    continue   # made since the cache was read: its event brings the VM back
                if e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                                grpc.StatusCode.PERMISSION_DENIED):
                    raise SyncError(FAILED_CREATE, CREATE_FAILURE.format(f"failed to create DataVolume: {e.details()}"))
                raise
            log.info("VM %s/%s: created DataVolume %s", vm.metadata.namespace, vm.metadata.name, t.metadata.name)
        return ready

    async def collect(self, namespace: str, vm_name: str, keep_uid: str = "", vmi=None) -> float | None:
        """The garbage collector's work for controller references: delete the DataVolumes whose controller
        is a VM of this name other than `keep_uid` (a deleted VM, or the one an equally named VM
        replaced), once that VM's VMI (`vmi`, the key's) is gone, since the api refuses to delete a claim
        in use. Returns a requeue delay while some other VM or VMI still uses one."""
        retry = None
        for dv in self.dvs.items():
            if dv.metadata.namespace != namespace or dv.metadata.deletionTimestamp:
                continue
            ref = next((r for r in dv.metadata.ownerReferences
                        if r.kind == "VirtualMachine" and r.controller and r.name == vm_name), None)
            if ref is None or ref.uid == keep_uid:
                continue
            if vmi is not None and vmstate.owner_uid(vmi) == ref.uid:
                continue   # its VMI's deletion brings this key back
            log.info("deleting DataVolume %s/%s: its VirtualMachine %s (uid %s) is gone", namespace,
                     dv.metadata.name, vm_name, ref.uid)
            try:
                await self.api.delete(proto.DV, namespace, dv.metadata.name, uid=dv.metadata.uid)
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    raise
                log.info("DataVolume %s/%s not deleted yet: %s", namespace, dv.metadata.name, e.details())
                retry = COLLECT_RETRY_SECONDS
        return retry

    def foreign(self, vm, dv) -> bool:
        """A DataVolume of a template's name that a previous VM of this name controls (collected soon)."""
        return any(r.kind == "VirtualMachine" and r.controller and r.name == vm.metadata.name
                   and r.uid != vm.metadata.uid for r in dv.metadata.ownerReferences)

    def vms_using(self, vms, key: str) -> list[str]:
        """Keys of the VMs a DataVolume or claim `namespace/name` matters to: its controller, and every VM
        whose template or dataVolumeTemplates name it (KubeVirt's queueVMsForDataVolume)."""
        namespace, _, name = key.partition("/")
        dv = self.dvs.get(key)
        out = [f"{namespace}/{r.name}" for r in (dv.metadata.ownerReferences if dv is not None else ())
               if r.kind == "VirtualMachine" and r.controller]
        for vm in vms.items():
            if vm.metadata.namespace != namespace:
                continue
            if any(t.metadata.name == name for t in vm.spec.dataVolumeTemplates) or \
                    any(volumes.claim_name(v) == name for v in vm.spec.template.spec.volumes):
                out.append(proto.key(vm))
        return list(dict.fromkeys(out))
