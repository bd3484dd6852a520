"""subresources.kubevirt.io/v1 for VMs (start/stop/restart) and VMIs (pause/unpause; console, portforward, vnc
and softreboot are streams.py's).

VM verbs follow KubeVirt's lifecycle handlers: depending on the runStrategy they either flip
`spec.runStrategy` or append `status.stateChangeRequests` for the controller, and they refuse
with KubeVirt's exact texts. VMI verbs are proxied to the handler on the VMI's node.
"""
from __future__ import annotations

import asyncio
import logging

import grpc

from services.api import instancetype, store, validation
from services.api.errors import Invalid, RequestConflict, Unavailable, grpc_errors
from services.api.resources import CLAIM_RESOURCE, Resources
from services.api.streams import StreamSubresources
from services.common import domain, grpcclient, meshtls, names, proto, reasons, vmstate
from services.common.volumes import apply_volume_request, claim_name, hotpluggable

log = logging.getLogger(__name__)
VM_NOT_RUNNING = "VM is not running"
VMI_NOT_RUNNING = "VMI is not running"


# client-go's retry.DefaultRetry: 5 attempts, 10 ms apart.
CONFLICT_ATTEMPTS = 5
CONFLICT_PAUSE_SECONDS = 0.01


async def _retry_on_conflict(step):
    """client-go's RetryOnConflict. `step` reads an object, decides and writes it back carrying the
    resourceVersion it read. When another writer came in between (the controller or a handler writing
    status), the write is refused as stale; read again and decide again. A refusal of the verb itself
    (RequestConflict) is never retried."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return step()
        except store.Conflict:
            if attempt == CONFLICT_ATTEMPTS:
                raise
            await asyncio.sleep(CONFLICT_PAUSE_SECONDS)


def _add_change_requests(vm, *changes) -> None:
    """KubeVirt's getChangeRequestJson: add to an empty list, let a lone stop replace, else refuse."""
    existing = vm.status.stateChangeRequests
    if existing and not (len(changes) == 1 and changes[0].action == vmstate.STOP_REQUEST):
        raise RequestConflict("unable to complete request: stop/start already underway")
    del existing[:]
    existing.extend(changes)
    vm.status.ClearField("startFailure")


def _stop(uid: str):
    return proto.kv.VirtualMachineStateChangeRequest(action=vmstate.STOP_REQUEST, uid=uid)


def _start(paused: bool = False):
    req = proto.kv.VirtualMachineStateChangeRequest(action=vmstate.START_REQUEST)
    if paused:
        req.data["paused"] = "true"
    return req


def _set_running(vm, running: bool) -> None:
    if vm.spec.HasField("runStrategy") or not vm.spec.HasField("running"):
        vm.spec.runStrategy = domain.RUN_ALWAYS if running else domain.RUN_HALTED
    else:
        vm.spec.running = running


# ---------------------------------------------------------------- volume hotplug (KubeVirt's subresource.go)

DRY_RUN_ALL = "All"


def _verify_volume_option(spec, add=None, remove=None) -> str:
    """verifyVolumeOption against a VMI spec (or a VM's template). Beyond KubeVirt, a disk of the
    added name counts as a duplicate too. Returns the name of the volume a remove matched."""
    if add is not None:
        if spec.domain.devices.disableHotplug:   # beyond KubeVirt: no hotplug controller to attach to
            raise RequestConflict(f"Unable to add volume [{add.name}] because hotplug is disabled "
                                  "(spec.domain.devices.disableHotplug)")
        source = claim_name(add.volumeSource)
        for volume in spec.volumes:
            if volume.name == add.name:
                raise RequestConflict(f"Unable to add volume [{add.name}] because volume with that name already exists")
            if source and claim_name(volume) == source:
                raise RequestConflict(f"Unable to add volume source [{source}] because it already exists")
        if any(d.name == add.name for d in spec.domain.devices.disks):
            raise RequestConflict(f"Unable to add volume [{add.name}] because volume with that name already exists")
        return ""
    for volume in spec.volumes:
        if volume.name == remove.name or claim_name(volume) == remove.name:
            if not hotpluggable(volume):
                raise RequestConflict(f"Unable to remove volume [{volume.name}] because it is not hotpluggable")
            return volume.name
    raise RequestConflict(f"Unable to remove volume [{remove.name}] because it does not exist")


def _hotplug_disk(disk, name: str) -> None:
    """vmi-update-admitter's rule for a newly hotplugged disk: a disk or lun on the scsi bus. An empty
    bus is refused too (KubeVirt does; virtctl and `virtmesh addvolume` send --bus scsi by default)."""
    if disk.HasField("cdrom") or not (disk.HasField("disk") or disk.HasField("lun")):
        raise Invalid(f"Disk {name} requires diskDevice of type 'disk' or 'lun' to be hotplugged.")
    if (not disk.HasField("disk") or disk.disk.bus != "scsi") and (not disk.HasField("lun") or disk.lun.bus != "scsi"):
        raise Invalid(f"hotplugged Disk {name} does not use a scsi bus")


def _dry_run(options) -> bool:
    return bool(options.dryRun) and options.dryRun[0] == DRY_RUN_ALL


class Subresources(StreamSubresources, proto.api_grpc.SubresourcesServicer):
    def __init__(self, resources: Resources):
        self.r = resources
        self._channels: dict[tuple, grpc.aio.Channel] = {}

    # ------------------------------------------------------------------ helpers

    def _vm_and_vmi(self, request):
        vm = proto.inner(self.r.get(proto.VM, request.namespace or names.DEFAULT_NAMESPACE, request.name))
        return vm, self._vmi_or_none(request)

    def _vmi_or_none(self, request):
        try:
            return self._vmi(request)
        except store.NotFound:
            return None

    def _write_vm(self, vm, status: bool, dry_run: bool) -> None:
        if not dry_run:
            self.r.update(proto.wrap(vm), status_only=status)

    def _handler_stub(self, node_name: str):
        try:
            node = proto.inner(self.r.get(proto.NODE, "", node_name))
        except store.NotFound:
            raise Unavailable(f'node "{node_name}" is not registered') from None
        address = node.metadata.annotations.get(names.HANDLER_ADDRESS_ANNOTATION)
        if not address:
            raise Unavailable(f'node "{node_name}" has no handler address')
        # Over TCP a renewed certificate of ours opens a new channel (the previous one finishes
        # what it carries, e.g. an open console, and is dropped).
        ident = grpcclient.identity()
        key = (address, None if grpcclient.is_unix(address) or ident is None else ident.stamp())
        ch = self._channels.get(key)
        if ch is None:
            ch = self._channels[key] = grpcclient.aio_channel(address, metrics=True,
                                                              server_name=meshtls.HANDLER_SERVER_NAME)
        return proto.handler_grpc.HandlerStub(ch)

    async def _proxy(self, vmi, call: str, request):
        stub = self._handler_stub(vmi.status.nodeName)
        try:
            return await getattr(stub, call)(request, timeout=30)
        except grpc.aio.AioRpcError as e:
            # A launcher's reason when the refusal came from the domain (services/common/reasons.py), else
            # the handler's own status code; never the message's words.
            if reasons.of_error(e) in reasons.STATE_REASONS or e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                raise RequestConflict(e.details()) from None
            raise Unavailable(f"handler on node {vmi.status.nodeName}: {e.details()}") from None

    # ------------------------------------------------------------------ VM verbs

    @grpc_errors
    async def Start(self, request, context):
        await _retry_on_conflict(lambda: self._start_vm(request))
        return proto.api.SubresourceResponse(message="start requested")

    def _start_vm(self, request) -> None:
        vm, vmi = self._vm_and_vmi(request)
        if vmi is not None and not vmstate.is_final(vmi) and vmi.status.phase not in ("", vmstate.UNKNOWN):
            raise RequestConflict("VM is already running")
        vm = proto.copy(vm)
        rs = vmstate.run_strategy(vm)
        if rs == domain.RUN_HALTED:
            if request.paused:
                _add_change_requests(vm, _start(paused=True))
                self._write_vm(vm, True, request.dryRun)
            else:
                _set_running(vm, True)
                self._write_vm(vm, False, request.dryRun)
        elif rs in (domain.RUN_RERUN_ON_FAILURE, domain.RUN_MANUAL):
            if rs == domain.RUN_RERUN_ON_FAILURE and vmi is not None and vmi.status.phase == vmstate.FAILED:
                raise RequestConflict("RerunOnFailure does not support starting VM from failed state")
            needs_restart = vmi is not None and (
                (rs == domain.RUN_RERUN_ON_FAILURE and vmi.status.phase == vmstate.SUCCEEDED)
                or (rs == domain.RUN_MANUAL and vmstate.is_final(vmi)))
            if needs_restart:
                _add_change_requests(vm, _stop(vmi.metadata.uid), _start(request.paused))
            else:
                _add_change_requests(vm, _start(request.paused))
            self._write_vm(vm, True, request.dryRun)
        else:  # Always, Once
            raise RequestConflict(f"{rs} does not support manual start requests")

    @grpc_errors
    async def Stop(self, request, context):
        grace = request.gracePeriodSeconds if request.HasField("gracePeriodSeconds") else None
        _, vmi = self._vm_and_vmi(request)
        old_grace = None   # the VMI's own, read before this request shortens it
        if vmi is not None and not vmstate.is_final(vmi) and grace is not None:
            if vmi.spec.HasField("terminationGracePeriodSeconds"):
                old_grace = vmi.spec.terminationGracePeriodSeconds
            if not request.dryRun:
                await _retry_on_conflict(lambda: self._set_grace(request, grace))
        await _retry_on_conflict(lambda: self._stop_vm(request, grace, old_grace))
        return proto.api.SubresourceResponse(message="stop requested")

    def _set_grace(self, request, grace: int) -> None:
        """The running VMI's terminationGracePeriodSeconds, for a stop or restart that asks for less."""
        vmi = self._vmi_or_none(request)
        if vmi is None or vmstate.is_final(vmi):
            return
        shorter = proto.copy(vmi)
        shorter.spec.terminationGracePeriodSeconds = grace
        self.r.update(proto.wrap(shorter))

    def _stop_vm(self, request, grace: int | None, old_grace: int | None) -> None:
        vm, vmi = self._vm_and_vmi(request)
        vm = proto.copy(vm)
        rs = vmstate.run_strategy(vm)
        has_vmi = vmi is not None
        if rs == domain.RUN_HALTED:
            if not has_vmi or vmstate.is_final(vmi):
                raise RequestConflict(VM_NOT_RUNNING)
            if grace is None or (old_grace is not None and grace >= old_grace):
                raise RequestConflict("Halted only supports manual stop requests with a shorter graceperiod")
            _add_change_requests(vm, _stop(vmi.metadata.uid))
            self._write_vm(vm, True, request.dryRun)
        elif rs in (domain.RUN_RERUN_ON_FAILURE, domain.RUN_MANUAL):
            if not has_vmi or vmstate.is_final(vmi):
                raise RequestConflict(VM_NOT_RUNNING)
            _add_change_requests(vm, _stop(vmi.metadata.uid))
            self._write_vm(vm, True, request.dryRun)
        else:  # Always, Once
            _set_running(vm, False)
            self._write_vm(vm, False, request.dryRun)

    @grpc_errors
    async def Restart(self, request, context):
        grace = request.gracePeriodSeconds if request.HasField("gracePeriodSeconds") else None
        if grace is not None and grace > 0:
            raise Invalid("For force restart, only gracePeriod=0 is supported for now")
        if grace is not None and grace < 0:
            raise Invalid("gracePeriod has to be greater or equal to 0")
        await _retry_on_conflict(lambda: self._restart_vm(request))
        if grace == 0 and not request.dryRun:
            # Force restart: no graceful ACPI wait for the old instance.
            await _retry_on_conflict(lambda: self._set_grace(request, 0))
        return proto.api.SubresourceResponse(message="restart requested")

    def _restart_vm(self, request) -> None:
        vm, vmi = self._vm_and_vmi(request)
        rs = vmstate.run_strategy(vm)
        if rs in (domain.RUN_HALTED, domain.RUN_ONCE):
            raise RequestConflict(f"RunStategy {rs} does not support manual restart requests")
        if vmi is None:
            raise RequestConflict("VM is not running: Halted")
        vm = proto.copy(vm)
        _add_change_requests(vm, _stop(vmi.metadata.uid), _start())
        self._write_vm(vm, True, request.dryRun)

    @grpc_errors
    async def Migrate(self, request, context):
        """virtctl migrate: a VirtualMachineInstanceMigration for the VM's running VMI (services/api/migration.py)."""
        from services.api import migration
        return migration.migrate_vm(self.r, request)

    # ------------------------------------------------------------------ addvolume / removevolume

    def _claim(self, namespace: str, source) -> None:
        """The claim an add request names must exist (and not be on its way out)."""
        kind = proto.DV if source.HasField("dataVolume") else proto.PVC
        name = claim_name(source) or ""
        try:
            claim = proto.inner(self.r.get(kind, namespace, name))
        except store.NotFound:
            raise store.NotFound(f'{CLAIM_RESOURCE[kind]} "{name}" not found') from None
        if claim.metadata.deletionTimestamp:
            raise RequestConflict(f'{CLAIM_RESOURCE[kind]} "{name}" is being deleted')

    @staticmethod
    def _target_kind(request) -> int:
        if request.kind not in (proto.VM, proto.VMI):
            raise Invalid("kind: Unsupported value: supported values: VIRTUAL_MACHINE, VIRTUAL_MACHINE_INSTANCE")
        return request.kind

    async def _submit(self, request, volume_request) -> proto.api.SubresourceResponse:
        """Check and store one hotplug request (_volume_request); KubeVirt's reply to it."""
        verb = "add" if volume_request.HasField("addVolumeOptions") else "remove"
        options = getattr(volume_request, f"{verb}VolumeOptions")
        target = await _retry_on_conflict(lambda: self._volume_request(request, volume_request))
        suffix = " (dry run)" if _dry_run(options) else ""
        return proto.api.SubresourceResponse(
            message=f"Successfully submitted {verb} volume request to {target} {request.name} for volume "
                    f"{options.name}{suffix}")

    def _volume_request(self, request, volume_request) -> str:
        """Check and (unless dry run) store one hotplug request; returns "VM" or "VMI"."""
        kind = self._target_kind(request)
        ns = request.namespace or names.DEFAULT_NAMESPACE
        add = volume_request.addVolumeOptions if volume_request.HasField("addVolumeOptions") else None
        options = add if add is not None else volume_request.removeVolumeOptions
        dry_run = _dry_run(options)
        if kind == proto.VMI:
            vmi = proto.inner(self.r.get(proto.VMI, ns, request.name))
            if vmi.status.phase != vmstate.RUNNING:
                raise RequestConflict(VMI_NOT_RUNNING)
            found = _verify_volume_option(vmi.spec, add=add, remove=None if add else options)
            if add is not None:
                _hotplug_disk(add.disk, add.name)
                self._claim(ns, add.volumeSource)
            new = proto.copy(vmi)
            if add is None:  # the volume verify matched (by name or by claim) is the one that goes
                volume_request = proto.kv.VirtualMachineVolumeRequest(
                    removeVolumeOptions=proto.kv.RemoveVolumeOptions(name=found))
            apply_volume_request(new.spec, volume_request)
            validation.vmi_spec(new.spec, "spec", gates=instancetype.gates(self.r.db))
            if not dry_run:
                self.r.update(proto.wrap(new))  # optimistic: the VMI's resourceVersion must still match
            return "VMI"
        vm = proto.inner(self.r.get(proto.VM, ns, request.name))
        template = vm.spec.template.spec
        _verify_volume_option(template, add=add, remove=None if add else options)
        existing = list(vm.status.volumeRequests)
        if add is not None:  # addAddVolumeRequests
            for r in existing:
                if r.HasField("addVolumeOptions") and r.addVolumeOptions.name == add.name:
                    raise RequestConflict(f"add volume request for volume [{add.name}] already exists")
                if r.HasField("removeVolumeOptions") and r.removeVolumeOptions.name == add.name:
                    raise RequestConflict("unable to add volume since a remove volume request for volume "
                                          f"[{add.name}] already exists and is still being processed")
            requests = existing + [volume_request]
        else:  # addRemoveVolumeRequests: a pending add of the same name is dropped
            requests = []
            for r in existing:
                if r.HasField("addVolumeOptions") and r.addVolumeOptions.name == options.name:
                    continue
                if r.HasField("removeVolumeOptions") and r.removeVolumeOptions.name == options.name:
                    raise RequestConflict(f"a remove volume request for volume [{options.name}] already exists "
                                          "and is still being processed")
                requests.append(r)
            requests.append(volume_request)
        if add is not None:
            _hotplug_disk(add.disk, add.name)
            self._claim(ns, add.volumeSource)
        # The VM status admitter's simulation: every request applied to the template must stay valid.
        simulated = proto.copy(template)
        for r in requests:
            apply_volume_request(simulated, r)
        validation.vmi_spec(simulated, "spec.template.spec", gates=instancetype.gates(self.r.db))
        new = proto.copy(vm)
        del new.status.volumeRequests[:]
        new.status.volumeRequests.extend(requests)
        if not dry_run:
            self.r.update(proto.wrap(new), status_only=True)  # optimistic on the VM's resourceVersion
        return "VM"

    @grpc_errors
    async def AddVolume(self, request, context):
        opts = proto.copy(request.addVolumeOptions)
        if not opts.name:
            raise Invalid("AddVolumeOptions requires name to be set")
        if not opts.HasField("disk"):
            raise Invalid("AddVolumeOptions requires disk to not be nil")
        if not opts.HasField("volumeSource"):
            raise Invalid("AddVolumeOptions requires VolumeSource to not be nil")
        src = opts.volumeSource
        sources = [f.name for f, _ in src.ListFields()]
        if len(sources) != 1:
            raise Invalid("AddVolumeOptions requires VolumeSource to have exactly one of persistentVolumeClaim "
                          f"or dataVolume, got {len(sources)}")
        if src.HasField("dataVolume"):
            if not src.dataVolume.name:
                raise Invalid("volumeSource.dataVolume.name: Required value")
            src.dataVolume.hotpluggable = True
        else:
            if not src.persistentVolumeClaim.claimName:
                raise Invalid("volumeSource.persistentVolumeClaim.claimName: Required value")
            src.persistentVolumeClaim.hotpluggable = True
        opts.disk.name = opts.name
        return await self._submit(request, proto.kv.VirtualMachineVolumeRequest(addVolumeOptions=opts))

    @grpc_errors
    async def RemoveVolume(self, request, context):
        opts = proto.copy(request.removeVolumeOptions)
        if not opts.name:
            raise Invalid("RemoveVolumeOptions requires name to be set")
        return await self._submit(request, proto.kv.VirtualMachineVolumeRequest(removeVolumeOptions=opts))

    # ------------------------------------------------------------------ VMI verbs

    def _vmi(self, request):
        return proto.inner(self.r.get(proto.VMI, request.namespace or names.DEFAULT_NAMESPACE, request.name))

    @grpc_errors
    async def Pause(self, request, context):
        vmi = self._vmi(request)
        if vmi.status.phase != vmstate.RUNNING:
            raise RequestConflict(VM_NOT_RUNNING)
        if vmstate.get_condition(vmi, vmstate.PAUSED) is not None:
            raise RequestConflict("VMI is already paused")
        if request.dryRun:
            return proto.api.SubresourceResponse(message="dry run")
        return await self._proxy(vmi, "Pause", request)

    @grpc_errors
    async def Unpause(self, request, context):
        vmi = self._vmi(request)
        if vmi.status.phase != vmstate.RUNNING:
            raise RequestConflict(VMI_NOT_RUNNING)
        if vmstate.get_condition(vmi, vmstate.PAUSED) is None:
            raise RequestConflict("VMI is not paused")
        if request.dryRun:
            return proto.api.SubresourceResponse(message="dry run")
        return await self._proxy(vmi, "Unpause", request)

    def console_target(self, namespace: str, name: str):
        """(the VMI, a stub of its node's handler) for a console, or the reason there is none
        (store.NotFound, RequestConflict, Unavailable). Call it on the server's event loop."""
        vmi = proto.inner(self.r.get(proto.VMI, namespace or names.DEFAULT_NAMESPACE, name))
        if vmi.status.phase != vmstate.RUNNING:
            raise RequestConflict(VMI_NOT_RUNNING)
        return vmi, self._handler_stub(vmi.status.nodeName)
