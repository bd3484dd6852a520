"""VirtualMachine -> VirtualMachineInstance by runStrategy (virt-controller's vm controller).

Level-triggered: each pass reads the VM and its VMI from the caches, decides one step, writes,
and lets the resulting watch event bring it back. KubeVirt semantics: state change requests
(`status.stateChangeRequests`) carry manual start/stop/restart; failed starts back off
exponentially (`status.startFailure`); `status.printableStatus` is derived last.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import uuid

import grpc

from services.common import domain, events, migrations, proto, timeutil, vmstate, volumes
from services.controller import nichotplug, vmvolumes
from services.controller.instancetype import REASONS as INSTANCETYPE_REASONS
from services.controller.instancetype import SPEC_UPDATED, Instancetypes, SyncError

log = logging.getLogger(__name__)
MAX_CRASHLOOP_BACKOFF = 300  # KubeVirt's defaultMaxCrashLoopBackoffDelaySeconds
GENERATION_ANNOTATION = "kubevirt.io/vm-generation"
RESTARTING = (domain.RUN_ALWAYS, domain.RUN_RERUN_ON_FAILURE, domain.RUN_ONCE)


def start_backoff_seconds(fail_count: int, max_delay: int = MAX_CRASHLOOP_BACKOFF, rand=random.random) -> int:
    """KubeVirt's calculateStartBackoffTime: interval * count^2 plus up to 50% jitter, capped."""
    fail_count = max(fail_count, 1)
    interval = max(max_delay // 30, 10)
    delay = interval * fail_count ** 2
    delay += int(rand() * ((delay // 2) + 1))
    return min(delay, max_delay)


def backoff_left(vm) -> float:
    if not vm.status.HasField("startFailure") or not vm.status.startFailure.retryAfterTimestamp:
        return 0.0
    return max(0.0, -timeutil.age_seconds(vm.status.startFailure.retryAfterTimestamp))


def has_start_request(vm) -> bool:
    reqs = vm.status.stateChangeRequests
    return bool(reqs) and reqs[0].action == vmstate.START_REQUEST


def has_stop_request_for(vm, vmi) -> bool:
    reqs = vm.status.stateChangeRequests
    return (bool(reqs) and reqs[0].action == vmstate.STOP_REQUEST and reqs[0].HasField("uid")
            and reqs[0].uid == vmi.metadata.uid)


def is_set_to_start(vm, vmi) -> bool:
    rs = vmstate.run_strategy(vm)
    if rs == domain.RUN_ALWAYS:
        return True
    if rs == domain.RUN_MANUAL:
        return not has_stop_request_for(vm, vmi) if vmi is not None else has_start_request(vm)
    if rs == domain.RUN_RERUN_ON_FAILURE:
        return vmi.status.phase != vmstate.SUCCEEDED if vmi is not None else True
    if rs == domain.RUN_ONCE:
        return vmi is None
    return False


def sync_start_failure(status, vm, vmi) -> None:
    """KubeVirt's syncStartFailureStatus on a status copy."""
    rs = vmstate.run_strategy(vm)
    if (vmi is not None and vmstate.was_running(vmi)) or rs not in RESTARTING:
        status.ClearField("startFailure")
        return
    if vmi is None or not vmstate.is_final(vmi):
        return
    sf = status.startFailure
    if status.HasField("startFailure") and sf.lastFailedVMIUID == vmi.metadata.uid:
        return  # already counted
    count = sf.consecutiveFailCount + 1 if status.HasField("startFailure") else 1
    retry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=start_backoff_seconds(count))
    status.startFailure.CopyFrom(proto.kv.VirtualMachineStartFailure(
        consecutiveFailCount=count, lastFailedVMIUID=vmi.metadata.uid,
        retryAfterTimestamp=timeutil.format_time(retry)))


def printable_status(vm, vmi, storage=None) -> str:
    """KubeVirt's setPrintableStatus precedence, for the states we can reach. `storage` (the VM
    controller's DataVolumes, or None) reads the DataVolumes and claims of the template's volumes."""
    if vm.metadata.deletionTimestamp:
        return vmstate.STATUS_TERMINATING
    live = vmi is not None and not vmstate.is_final(vmi)
    if live and (vmi.metadata.deletionTimestamp or not is_set_to_start(vm, vmi)):
        return vmstate.STATUS_STOPPING
    if vmi is not None and migrations.is_migrating(vmi):
        return vmstate.STATUS_MIGRATING
    if live and vmstate.has_condition(vmi, vmstate.PAUSED):
        return vmstate.STATUS_PAUSED
    if live and vmi.status.phase == vmstate.RUNNING:
        return vmstate.STATUS_RUNNING
    if storage is not None and vmvolumes.data_volume_error(vm, storage.get_dv):
        return vmstate.STATUS_DATA_VOLUME_ERROR
    if live and vmstate.has_condition(vmi, vmstate.POD_SCHEDULED, "False"):
        c = vmstate.get_condition(vmi, vmstate.POD_SCHEDULED)
        if c.reason == vmstate.UNSCHEDULABLE_REASON:
            return vmstate.STATUS_UNSCHEDULABLE
    if storage is not None and vmvolumes.data_volume_provisioning(vm, storage.get_dv):
        return vmstate.STATUS_PROVISIONING
    if storage is not None and is_set_to_start(vm, vmi) and vmvolumes.unbound_claim(vm, storage.get_pvc):
        return vmstate.STATUS_WAITING_FOR_VOLUME_BINDING
    sync = vmstate.get_condition(vmi, vmstate.SYNCHRONIZED) if vmi is not None else None
    pulling = (vmstate.STATUS_ERR_IMAGE_PULL, vmstate.STATUS_IMAGE_PULL_BACKOFF)
    if sync is not None and sync.status == "False" and sync.reason in pulling:
        return sync.reason   # isVirtualMachineStatusErrImagePull / ImagePullBackOff: the VMI's Synchronized reason
    if live:
        return vmstate.STATUS_STARTING
    crashloop = (vm.status.HasField("startFailure") and vm.status.startFailure.consecutiveFailCount > 0
                 and vmstate.run_strategy(vm) in RESTARTING)
    if crashloop and (vmi is None or vmstate.is_final(vmi)):
        return vmstate.STATUS_CRASH_LOOP_BACKOFF
    if vmi is None and is_set_to_start(vm, vmi):
        return vmstate.STATUS_STARTING
    return vmstate.STATUS_STOPPED


def new_vmi(vm):
    """setupVMIFromVM: the template, named after the VM, owned by it, with a stable firmware UUID; a disk
    for every volume that has none (startVMI's SetDefaultVolumeDisk, before the preference applies)."""
    vmi = proto.kv.VirtualMachineInstance(apiVersion=proto.KINDS[proto.VMI].api_version, kind="VirtualMachineInstance")
    vmi.metadata.CopyFrom(vm.spec.template.metadata)
    vmi.metadata.name = vm.metadata.name
    vmi.metadata.namespace = vm.metadata.namespace
    vmi.metadata.ClearField("generateName")
    vmi.metadata.annotations[GENERATION_ANNOTATION] = str(vm.metadata.generation)
    vmi.metadata.ownerReferences.add(apiVersion=proto.KINDS[proto.VM].api_version, kind="VirtualMachine",
                                     name=vm.metadata.name, uid=vm.metadata.uid,
                                     controller=True, blockOwnerDeletion=True)
    vmi.spec.CopyFrom(vm.spec.template.spec)
    volumes.set_default_volume_disks(vmi.spec)
    reqs = vm.status.stateChangeRequests
    if reqs and reqs[0].action == vmstate.START_REQUEST and reqs[0].data.get("paused") == "true":
        vmi.spec.startStrategy = domain.START_PAUSED
    if not vmi.spec.domain.firmware.uuid:
        vmi.spec.domain.firmware.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                       f"kubevirt.io/{vm.metadata.namespace}/{vm.metadata.name}"))
    return vmi


class VMController:
    def __init__(self, api, vms, vmis, instancetypes: Instancetypes | None = None,
                 volumes: vmvolumes.DataVolumes | None = None, place=None):
        self.api, self.vms, self.vmis = api, vms, vmis
        self.place = place   # VMIController.place: a new VMI is created scheduled when a node fits
        self.instancetypes = instancetypes or Instancetypes.disabled()
        self.volumes = volumes   # None: no DataVolume informers (dataVolumeTemplates are not acted on)
        self.recorder = events.recorder(api, events.VM_CONTROLLER)

    async def reconcile(self, key: str):
        vm = self.vms.get(key)
        vmi = self.vmis.get(key)
        if vm is None:
            if vmi is not None and vmstate.owner_uid(vmi) and not vmi.metadata.deletionTimestamp:
                await self.api.delete(proto.VMI, vmi.metadata.namespace, vmi.metadata.name, uid=vmi.metadata.uid)
            await self.instancetypes.collect(key, None)
            if self.volumes is not None:
                ns, _, name = key.partition("/")
                return await self.volumes.collect(ns, name, "", vmi)
            return None
        vmi = self._own(vm, vmi)
        tp = self.vms.traceparent.get(key, "")
        if vm.status.volumeRequests and not vm.metadata.deletionTimestamp:
            return await self._apply_volume_requests(vm, vmi, tp)
        status = proto.copy(vm.status)
        sync_start_failure(status, vm, vmi)
        self._settle_requests(status, vmi)
        view = proto.copy(vm)
        view.status.CopyFrom(status)

        requeue = None
        failure: SyncError | None = None
        waiting = False   # for the VM's DataVolumes
        retry = None      # while a previous VM's DataVolume cannot be deleted yet
        if not vm.metadata.deletionTimestamp:
            try:
                if await self.instancetypes.sync(view, status, tp) == SPEC_UPDATED:
                    return None
            except SyncError as e:
                failure = e
            if failure is None and self.volumes is not None and vm.spec.dataVolumeTemplates:
                retry = await self.volumes.collect(vm.metadata.namespace, vm.metadata.name, vm.metadata.uid,
                                                     self.vmis.get(key))
                if vmvolumes.immediate(vm):
                    try:
                        # KubeVirt waits for them, except under Halted ("legacy behavior").
                        halted = vmstate.run_strategy(vm) == domain.RUN_HALTED
                        waiting = not await self.volumes.sync(view, tp) and not halted
                    except SyncError as e:
                        failure = e
            if (failure is None and not waiting) or vmi is not None:   # a live VMI still stops; nothing new starts
                try:
                    requeue = await self._sync_run_strategy(view, vmi, status, tp)
                except SyncError as e:
                    failure = e
            if failure is not None:
                log.info("VM %s/%s: %s: %s", vm.metadata.namespace, vm.metadata.name, failure.reason, failure)
            if requeue == "spec-updated":
                return None
            if vmi is None and (vmi := self._own(vm, self.vmis.get(key))) is not None:
                # Started this pass (the cache has the VMI since the create, Informer.observe):
                # the status says so in this write, not in another one after the VMI's event.
                self._settle_requests(status, vmi)
            await self._sync_interfaces(vm, vmi, view, tp)

        status.runStrategy = vmstate.run_strategy(vm)
        status.created = vmi is not None
        status.ready = (vmi is not None and vmi.status.phase == vmstate.RUNNING
                        and not vmstate.has_condition(vmi, vmstate.PAUSED))
        status.printableStatus = printable_status(view, vmi, self.volumes)
        vmstate.set_condition(view, vmstate.READY, "True" if status.ready else "False")
        self._copy_vmi_conditions(view, vmi)
        self._instancetype_failure(view, failure)
        status.ClearField("conditions")
        status.conditions.extend(view.status.conditions)
        status.observedGeneration = vm.metadata.generation
        status.desiredGeneration = vm.metadata.generation
        if status != vm.status:
            out = proto.copy(vm)
            out.status.CopyFrom(status)
            await self.api.update_status(out, tp)
        return requeue if isinstance(requeue, (int, float)) else retry

    @staticmethod
    def _own(vm, vmi):
        """`vmi` if it is this VM's (or no VM's), else None: a leftover of an earlier VM of this
        name, which the VMI controller collects."""
        return vmi if vmi is not None and vmstate.owner_uid(vmi) in ("", vm.metadata.uid) else None

    async def _apply_volume_requests(self, vm, vmi, tp):
        """addvolume/removevolume on a VM (status.volumeRequests): into the template, so they persist
        across restarts, and into the running VMI (the handler hot(un)plugs). Each step is idempotent,
        and the requests are cleared last, so a crash in between only repeats work."""
        template = proto.copy(vm)
        changed = False
        for req in vm.status.volumeRequests:
            changed |= volumes.apply_volume_request(template.spec.template.spec, req)
        if changed:
            await self.api.update(template, tp)
            return None  # the update's event brings the VM back with the new resourceVersion
        if vmi is not None and not vmstate.is_final(vmi) and not vmi.metadata.deletionTimestamp:
            out = proto.copy(vmi)
            if any([volumes.apply_volume_request(out.spec, req) for req in vm.status.volumeRequests]):
                await self.api.update(out, tp)
        out = proto.copy(vm)
        out.status.ClearField("volumeRequests")
        await self.api.update_status(out, tp)
        return None

    async def _sync_interfaces(self, vm, vmi, view, tp) -> None:
        """NIC hotplug/unplug and link state from the template to a live VMI. A refused update
        becomes the VM's Failure condition with KubeVirt's reason HotPlugNetworkInterfaceError."""
        def clear():
            c = vmstate.get_condition(view, vmstate.FAILURE)
            if c is not None and c.reason == nichotplug.HOTPLUG_ERROR_REASON:
                vmstate.remove_condition(view, vmstate.FAILURE)

        if vmi is None or vmstate.is_final(vmi) or vmi.metadata.deletionTimestamp or not is_set_to_start(view, vmi):
            return clear()  # no live VMI to change (or one being stopped this very pass)
        out = proto.copy(vmi)
        if not nichotplug.apply_dynamic_iface_request(vm.spec.template.spec, out.spec):
            return clear()
        try:
            await self.api.update(out, tp)
            clear()
            log.info("VM %s/%s: interfaces of the running VMI updated", vm.metadata.namespace, vm.metadata.name)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.ABORTED:
                raise  # a write race: the reconcile is retried
            vmstate.set_condition(view, vmstate.FAILURE, "True", nichotplug.HOTPLUG_ERROR_REASON,
                                  f"error encountered when trying to update the VMI interfaces: {e.details()}")

    @staticmethod
    def _instancetype_failure(view, failure: SyncError | None) -> None:
        """processFailureCondition for the instance type step's errors (the NIC hotplug's are its own)."""
        if failure is not None:
            vmstate.set_condition(view, vmstate.FAILURE, "True", failure.reason, str(failure))
            return
        c = vmstate.get_condition(view, vmstate.FAILURE)
        if c is not None and c.reason in INSTANCETYPE_REASONS:
            vmstate.remove_condition(view, vmstate.FAILURE)

    @staticmethod
    def _copy_vmi_conditions(view, vmi) -> None:
        """Mirror the VMI's Paused condition and a failed PodScheduled on the VM, as KubeVirt does."""
        for ctype, only_false in ((vmstate.PAUSED, False), (vmstate.POD_SCHEDULED, True)):
            c = vmstate.get_condition(vmi, ctype) if vmi is not None else None
            if c is not None and not (only_false and c.status == "True"):
                vmstate.set_condition(view, ctype, c.status, c.reason, c.message)
            else:
                vmstate.remove_condition(view, ctype)

    @staticmethod
    def _settle_requests(status, vmi) -> None:
        """Drop state change requests that are done: a stop whose VMI is gone, a start that produced a VMI."""
        reqs = status.stateChangeRequests
        if reqs and reqs[0].action == vmstate.STOP_REQUEST and (
                vmi is None or (reqs[0].HasField("uid") and reqs[0].uid != vmi.metadata.uid)):
            del reqs[0]
        if reqs and reqs[0].action == vmstate.START_REQUEST and vmi is not None and not vmstate.is_final(vmi) \
                and not vmi.metadata.deletionTimestamp:
            del reqs[0]

    async def _sync_run_strategy(self, vm, vmi, status, tp):
        rs = vmstate.run_strategy(vm)
        ns, name = vm.metadata.namespace, vm.metadata.name
        if rs == domain.RUN_ALWAYS:
            if vmi is not None:
                if has_stop_request_for(vm, vmi) or vmstate.is_final(vmi):
                    await self._stop(vmi)
                return None
            return await self._start_with_backoff(vm, status, tp)
        if rs == domain.RUN_RERUN_ON_FAILURE:
            if vmi is not None:
                failed = vmi.status.phase == vmstate.FAILED
                if not vmi.metadata.deletionTimestamp and (
                        has_stop_request_for(vm, vmi) or failed or vmi.status.phase == vmstate.SUCCEEDED):
                    await self._stop(vmi)
                    if failed and not has_start_request(vm):
                        status.stateChangeRequests.add(action=vmstate.START_REQUEST)
                return None
            if not has_start_request(vm) and vm.status.runStrategy == rs:
                return None
            return await self._start_with_backoff(vm, status, tp)
        if rs == domain.RUN_MANUAL:
            if vmi is not None:
                if has_stop_request_for(vm, vmi):
                    await self._stop(vmi)
            elif has_start_request(vm):
                await self._start(vm, tp)
            return None
        if rs == domain.RUN_HALTED:
            if vmi is None:
                if has_start_request(vm):  # start --paused on a Halted VM: flip to Always
                    out = proto.copy(self.vms.get(f"{ns}/{name}"))
                    if out.spec.HasField("running"):
                        out.spec.running = True
                    else:
                        out.spec.runStrategy = domain.RUN_ALWAYS
                    await self.api.update(out, tp)
                    return "spec-updated"
                return None
            await self._stop(vmi)
            return None
        if rs == domain.RUN_ONCE:
            if vmi is None:
                await self._start(vm, tp)
            return None
        log.error("VM %s/%s: unknown runStrategy %r", ns, name, rs)
        return None

    async def _start_with_backoff(self, vm, status, tp):
        left = backoff_left(vm)
        if left > 0:
            log.info("delaying start of VM %s/%s: start failure backoff, %.0fs left",
                     vm.metadata.namespace, vm.metadata.name, left)
            return left
        await self._start(vm, tp)
        return None

    async def _start(self, vm, tp) -> None:
        if self.volumes is not None and vm.spec.dataVolumeTemplates and not await self.volumes.sync(vm, tp):
            log.info("VM %s/%s: waiting for its DataVolumes before starting", vm.metadata.namespace, vm.metadata.name)
            return   # startVMI's handleDataVolumes: their events bring the VM back
        log.info("starting VM %s/%s: creating its VMI", vm.metadata.namespace, vm.metadata.name)
        vmi = new_vmi(vm)
        await self.instancetypes.apply_to_vmi(vm, vmi)
        if self.place is not None:
            self.place(vmi)
        try:
            await self.api.create(vmi, tp)
        except Exception as e:
            self.recorder.warning(vm, events.FAILED_CREATE, f"Error creating virtual machine instance: {_details(e)}")
            raise
        self.recorder.normal(vm, events.SUCCESSFUL_CREATE,
                             "Started the virtual machine by creating the new virtual machine instance "
                             f"{vmi.metadata.name}")

    async def _stop(self, vmi) -> None:
        if vmi.metadata.deletionTimestamp:
            return
        log.info("stopping VMI %s/%s (phase %s)", vmi.metadata.namespace, vmi.metadata.name,
                 vmi.status.phase or "unset")
        vm = self.vms.get(proto.key(vmi))   # a VM and its VMI share the key
        try:
            await self.api.delete(proto.VMI, vmi.metadata.namespace, vmi.metadata.name, uid=vmi.metadata.uid)
        except Exception as e:
            if vm is not None:
                self.recorder.warning(vm, events.FAILED_DELETE, f"Error deleting virtual machine instance "
                                      f"{vmi.metadata.name}: {_details(e)}")
            raise
        if vm is not None:   # KubeVirt names the VMI by its uid here
            self.recorder.normal(vm, events.SUCCESSFUL_DELETE,
                                 "Stopped the virtual machine by deleting the virtual machine instance "
                                 f"{vmi.metadata.uid}")


def _details(e: Exception) -> str:
    return (e.details() or "") if isinstance(e, grpc.aio.AioRpcError) else str(e)
