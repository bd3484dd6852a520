"""Facts about snapshot.kubevirt.io every service needs: KubeVirt's names, phases, reasons and texts
(pkg/storage/snapshot, api/snapshot/v1beta1), and where a node keeps a snapshot's disk images."""
from __future__ import annotations

import os

from services.common import names, timeutil

GROUP = "snapshot.kubevirt.io"
VM_GROUP = "kubevirt.io"

# Finalizers and labels (pkg/storage/snapshot/snapshot.go, restore.go).
SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection"
CONTENT_FINALIZER = "snapshot.kubevirt.io/vmsnapshotcontent-protection"
RESTORE_FINALIZER = "snapshot.kubevirt.io/vmrestore-protection"
SOURCE_NAME_LABEL = "snapshot.kubevirt.io/source-vm-name"
SOURCE_NAMESPACE_LABEL = "snapshot.kubevirt.io/source-vm-namespace"
RESTORE_NAME_ANNOTATION = "restore.kubevirt.io/name"
LAST_RESTORE_ANNOTATION = "restore.kubevirt.io/lastRestoreUID"
RESTORE_SOURCE_NAME_LABEL = "restore.kubevirt.io/source-vm-name"
RESTORE_SOURCE_NAMESPACE_LABEL = "restore.kubevirt.io/source-vm-namespace"
# Virtmesh's own: a claim being copied into a content carries this finalizer until the copy is done
# (deleting the claim waits for it); a restored claim names the snapshot image it is made from; a content
# names the node that holds its images.
SOURCE_CLAIM_FINALIZER = "virtmesh.io/snapshot-source-protection"
RESTORE_SOURCE = "virtmesh.io/restore-from-volume-snapshot"     # "<namespace>/<volumeSnapshotName>"
CONTENT_NODE = "virtmesh.io/snapshot-node"

# Phases (VirtualMachineSnapshotPhase) and condition types.
IN_PROGRESS, SUCCEEDED, FAILED, DELETING, UNKNOWN = "InProgress", "Succeeded", "Failed", "Deleting", "Unknown"
READY, PROGRESSING, FAILURE = "Ready", "Progressing", "Failure"
DELETE, RETAIN = "Delete", "Retain"
DELETION_POLICIES = (DELETE, RETAIN)

# Indications and their messages (snapshotIndicationMessages).
ONLINE, NO_GUEST_AGENT, GUEST_AGENT, PAUSED = "Online", "NoGuestAgent", "GuestAgent", "Paused"
INDICATION_MESSAGES = {
    ONLINE: "Snapshot taken while the VM was running. Consistency depends on guest-agent quiescing.",
    GUEST_AGENT: "Guest agent was active and attempted to quiesce the filesystem for application consistency.",
    NO_GUEST_AGENT: "Guest agent was not available. Snapshot is crash-consistent and may not be "
                    "application-consistent.",
    PAUSED: "Snapshot taken while the VM was paused. Snapshot is crash-consistent and may not be "
            "application-consistent.",
}

# Restore policies (TargetReadinessPolicy, VolumeRestorePolicy, VolumeOwnershipPolicy).
STOP_TARGET, WAIT_GRACE_PERIOD, FAIL_IMMEDIATE, WAIT_EVENTUALLY = \
    "StopTarget", "WaitGracePeriod", "FailImmediate", "WaitEventually"
READINESS_POLICIES = (STOP_TARGET, WAIT_GRACE_PERIOD, FAIL_IMMEDIATE, WAIT_EVENTUALLY)
RANDOMIZE_NAMES, IN_PLACE = "RandomizeNames", "InPlace"
VOLUME_RESTORE_POLICIES = (RANDOMIZE_NAMES, IN_PLACE)
OWNERSHIP_VM, OWNERSHIP_NONE = "Vm", "None"
VOLUME_OWNERSHIP_POLICIES = (OWNERSHIP_VM, OWNERSHIP_NONE)

DEFAULT_FAILURE_DEADLINE = 300.0      # DefaultFailureDeadline: 5 min
DEFAULT_GRACE_PERIOD = 300.0          # DefaultGracePeriod: 5 min

# KubeVirt's texts.
DEADLINE_EXCEEDED = "snapshot deadline exceeded"
OPERATION_FAILED = "Operation failed"
OPERATION_COMPLETE = "Operation complete"
TARGET_NOT_READY = "Restore target not ready"
WAITING_FOR_TARGET = "Waiting for target to be ready"
GRACE_PERIOD_EXCEEDED = "Restore target failed to be ready within 5m0s"
RESTORE_TO_EXISTING_TARGET = "restore source and restore target are different but restore target already exists"
SOURCE_LOCKED = "Source locked and operation in progress"
SOURCE_NOT_LOCKED = "Source not locked"
SOURCE_MISSING = "Source does not exist"


def content_name(snapshot) -> str:
    """GetVMSnapshotContentName: the status's, else `vmsnapshot-content-<uid>`."""
    st = snapshot.status
    if st.HasField("virtualMachineSnapshotContentName"):
        return st.virtualMachineSnapshotContentName
    return f"vmsnapshot-content-{snapshot.metadata.uid}"


def volume_snapshot_name(snapshot_uid: str, volume: str) -> str:
    return f"vmsnapshot-{snapshot_uid}-volume-{volume}"


def restore_claim_name(restore_uid: str, volume: str) -> str:
    """restoreVolumeName under RandomizeNames (the default): `restore-<restore uid>-<volume>`."""
    return f"restore-{restore_uid}-{volume}"


def image_path(volumes_root: str, namespace: str, volume_snapshot_name: str) -> str:
    """Where the node that holds a claim keeps a snapshot of it: beside the claims, in a directory no
    namespace can be named (`.snapshots`), one qcow2 file per volume snapshot."""
    return os.path.join(volumes_root, ".snapshots", namespace or names.DEFAULT_NAMESPACE,
                        f"{volume_snapshot_name}.qcow2")


def failure_deadline(snapshot) -> float:
    spec = snapshot.spec
    if spec.HasField("failureDeadline"):
        return timeutil.parse_duration(spec.failureDeadline)
    return DEFAULT_FAILURE_DEADLINE
