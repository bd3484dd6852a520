"""Facts about VM / VMI objects that more than one service needs (KubeVirt's v1 helpers)."""
from __future__ import annotations

from services.common import domain, images, timeutil

RUNNING, SUCCEEDED, FAILED = "Running", "Succeeded", "Failed"
PENDING, SCHEDULING, SCHEDULED, UNKNOWN = "Pending", "Scheduling", "Scheduled", "Unknown"
FINAL_PHASES = (SUCCEEDED, FAILED)
# VirtualMachineInstancePhase (the decentralized-migration values are absent: the mesh has no such feature).
PHASES = (PENDING, SCHEDULING, SCHEDULED, RUNNING, SUCCEEDED, FAILED, UNKNOWN)

# VirtualMachinePrintableStatus: the controller writes status.printableStatus, its metrics group it,
# the CRD enumerates it, the CLI prints it.
STATUS_STOPPED, STATUS_PROVISIONING, STATUS_STARTING = "Stopped", "Provisioning", "Starting"
STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPING = "Running", "Paused", "Stopping"
STATUS_TERMINATING, STATUS_CRASH_LOOP_BACKOFF, STATUS_MIGRATING = "Terminating", "CrashLoopBackOff", "Migrating"
STATUS_UNKNOWN, STATUS_UNSCHEDULABLE = "Unknown", "ErrorUnschedulable"
# the kubelet's pull reasons, as the VMI's Synchronized reason shows them
STATUS_ERR_IMAGE_PULL, STATUS_IMAGE_PULL_BACKOFF = images.ERR_IMAGE_PULL, images.IMAGE_PULL_BACKOFF
STATUS_PVC_NOT_FOUND, STATUS_DATA_VOLUME_NOT_FOUND = "ErrorPvcNotFound", "ErrorDataVolumeNotFound"
STATUS_DATA_VOLUME_ERROR, STATUS_WAITING_FOR_VOLUME_BINDING = "DataVolumeError", "WaitingForVolumeBinding"
# ... by the group KubeVirt's kubevirt_vm_* metrics count it under.
PRINTABLE_STATUS_GROUPS = {
    "starting": (STATUS_PROVISIONING, STATUS_STARTING, STATUS_WAITING_FOR_VOLUME_BINDING),
    "running": (STATUS_RUNNING,),
    "migrating": (STATUS_MIGRATING,),
    "non_running": (STATUS_STOPPED, STATUS_PAUSED, STATUS_STOPPING, STATUS_TERMINATING),
    "error": (STATUS_CRASH_LOOP_BACKOFF, STATUS_UNKNOWN, STATUS_UNSCHEDULABLE, STATUS_ERR_IMAGE_PULL,
              STATUS_IMAGE_PULL_BACKOFF, STATUS_PVC_NOT_FOUND, STATUS_DATA_VOLUME_NOT_FOUND,
              STATUS_DATA_VOLUME_ERROR),
}
PRINTABLE_STATUSES = tuple(s for statuses in PRINTABLE_STATUS_GROUPS.values() for s in statuses)

# Condition types (KubeVirt's names).
PAUSED = "Paused"
READY = "Ready"
POD_SCHEDULED = "PodScheduled"
SYNCHRONIZED = "Synchronized"
AGENT_CONNECTED = "AgentConnected"   # the guest agent answers (never set here: the mesh has no agent channel)
FAILURE = "Failure"
UNSCHEDULABLE_REASON = "Unschedulable"   # PodReasonUnschedulable: PodScheduled=False, no node fits

# StateChangeRequestAction: what start/stop/restart queue in a VM's status.stateChangeRequests.
START_REQUEST, STOP_REQUEST = "Start", "Stop"


def run_strategy(vm) -> str:
    """spec.runStrategy, or the legacy spec.running bool mapped to Always/Halted."""
    if vm.spec.HasField("runStrategy"):
        return vm.spec.runStrategy
    if vm.spec.HasField("running"):
        return domain.RUN_ALWAYS if vm.spec.running else domain.RUN_HALTED
    return domain.RUN_HALTED


def is_final(vmi) -> bool:
    return vmi.status.phase in FINAL_PHASES


def get_condition(obj, ctype: str):
    for c in obj.status.conditions:
        if c.type == ctype:
            return c
    return None


def has_condition(obj, ctype: str, status: str = "True") -> bool:
    c = get_condition(obj, ctype)
    return c is not None and c.status == status


def set_condition(obj, ctype: str, status: str, reason: str = "", message: str = "") -> bool:
    """Add or update a condition; returns True when something changed."""
    c = get_condition(obj, ctype)
    if c is not None and (c.status, c.reason, c.message) == (status, reason, message):
        return False
    if c is None:
        c = obj.status.conditions.add(type=ctype)
    if c.status != status:
        c.lastTransitionTime = timeutil.now()
    c.status, c.reason, c.message = status, reason, message
    c.lastProbeTime = ""
    return True


def remove_condition(obj, ctype: str) -> bool:
    keep = [c for c in obj.status.conditions if c.type != ctype]
    if len(keep) == len(obj.status.conditions):
        return False
    del obj.status.conditions[:]
    obj.status.conditions.extend(keep)
    return True


def set_phase(vmi, phase: str) -> bool:
    """Move a VMI to `phase`, recording phaseTransitionTimestamps like KubeVirt."""
    if vmi.status.phase == phase:
        return False
    vmi.status.phase = phase
    vmi.status.phaseTransitionTimestamps.add(phase=phase, phaseTransitionTimestamp=timeutil.now())
    return True


def was_running(vmi) -> bool:
    return any(t.phase == RUNNING for t in vmi.status.phaseTransitionTimestamps)


def owner_uid(vmi) -> str:
    for ref in vmi.metadata.ownerReferences:
        if ref.kind == "VirtualMachine" and ref.controller:
            return ref.uid
    return ""
