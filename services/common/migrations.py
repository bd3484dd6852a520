"""Live migration facts every service shares, defined once (KubeVirt's kubevirt.io/api/core/v1 names):
the phases of a VirtualMachineInstanceMigration, the labels, annotations and finalizer that tie it to
its VMI, the LiveMigratable condition's reasons, and small predicates over a VMI's migrationState.

The flow (KubeVirt's split): the controller picks the target node and hands the migration off by
writing the VMI's status.migrationState (migrationUid, sourceNode, targetNode, the configuration) and
the label kubevirt.io/migrationTargetNodeName; the target node's handler prepares a receiving launcher
and publishes targetNodeAddress; the source node's handler has its launcher run libvirt's migration and
reports startTimestamp / endTimestamp / failed; the target's handler sees the domain arrive
(targetNodeDomainDetected, targetNodeDomainReadyTimestamp) and, once it runs there, moves the VMI
(status.nodeName, kubevirt.io/nodeName) and marks the state completed.
"""
from __future__ import annotations

# VirtualMachineInstanceMigrationPhase
UNSET, PENDING, SCHEDULING, SCHEDULED = "", "Pending", "Scheduling", "Scheduled"
PREPARING_TARGET, TARGET_READY, RUNNING = "PreparingTarget", "TargetReady", "Running"
SUCCEEDED, FAILED = "Succeeded", "Failed"
PHASES = (PENDING, SCHEDULING, SCHEDULED, PREPARING_TARGET, TARGET_READY, RUNNING, SUCCEEDED, FAILED)
FINAL_PHASES = (SUCCEEDED, FAILED)
# VirtualMachineInstanceMigration.IsRunning(): the phases that count against the limits.
RUNNING_PHASES = (SCHEDULING, SCHEDULED, PREPARING_TARGET, TARGET_READY, RUNNING)

# Conditions of a migration (VirtualMachineInstanceMigrationConditionType).
ABORT_REQUESTED = "migrationAbortRequested"

# Labels, annotations, finalizer (kubevirt.io/api/core/v1/types.go).
MIGRATION_SELECTOR_LABEL = "kubevirt.io/vmi-name"                 # on the migration: its VMI
MIGRATION_TARGET_NODE_LABEL = "kubevirt.io/migrationTargetNodeName"   # on the VMI: the target's handler acts
MIGRATION_FINALIZER = "kubevirt.io/migrationJobFinalize"
EVACUATION_ANNOTATION = "kubevirt.io/evacuationMigration"         # a system-initiated (drain) migration
ALLOW_POD_BRIDGE_ANNOTATION = "kubevirt.io/allow-pod-bridge-network-live-migration"
GENERATE_NAME = "kubevirt-migrate-vm-"                            # the migrate subresource's migrations

# The VMI's LiveMigratable condition (VirtualMachineInstanceIsMigratable) and its reasons.
LIVE_MIGRATABLE = "LiveMigratable"
REASON_DISKS = "DisksNotLiveMigratable"
REASON_INTERFACE = "InterfaceNotLiveMigratable"

# migrationState values
ABORT_SUCCEEDED, ABORT_FAILED, ABORTING = "Succeeded", "Failed", "Aborting"
MODE_PRE_COPY, MODE_POST_COPY, MODE_PAUSED = "PreCopy", "PostCopy", "Paused"
BLOCK_MIGRATION, LIVE_MIGRATION = "BlockMigration", "LiveMigration"


def is_final(m) -> bool:
    return m.status.phase in FINAL_PHASES


def is_running(m) -> bool:
    """VirtualMachineInstanceMigration.IsRunning (no decentralized migrations here)."""
    return m.status.phase in RUNNING_PHASES


def state_of(vmi):
    """The VMI's migrationState, or None."""
    return vmi.status.migrationState if vmi.status.HasField("migrationState") else None


def state_for(vmi, migration_uid: str):
    """The VMI's migrationState when it belongs to `migration_uid` (handed off to the nodes), else None."""
    st = state_of(vmi)
    return st if st is not None and st.migrationUid == migration_uid else None


def in_flight(vmi) -> bool:
    """A migration of this VMI has been handed to the nodes and has not ended (KubeVirt's IsMigrating
    without a start yet counts: the target may be preparing)."""
    st = state_of(vmi)
    return st is not None and bool(st.migrationUid) and not st.completed and not st.failed


def is_migrating(vmi) -> bool:
    """KubeVirt's IsMigrating: the migration has started (the source launcher began libvirt's job) and not
    ended. The VM's printable status says Migrating meanwhile."""
    st = state_of(vmi)
    return st is not None and bool(st.startTimestamp) and not st.endTimestamp


def is_target(vmi, node: str) -> bool:
    return vmi.metadata.labels.get(MIGRATION_TARGET_NODE_LABEL) == node


# ---------------------------------------------------------------- eviction (node drain)

LIVE_MIGRATE, LIVE_MIGRATE_IF_POSSIBLE = "LiveMigrate", "LiveMigrateIfPossible"
EXTERNAL, NO_EVICTION = "External", "None"
EVICTION_STRATEGIES = (NO_EVICTION, LIVE_MIGRATE, LIVE_MIGRATE_IF_POSSIBLE, EXTERNAL)   # EvictionStrategy
EVACUATION_GENERATE_NAME = "kubevirt-evacuation-"


def is_migratable(vmi) -> bool:
    return any(c.type == LIVE_MIGRATABLE and c.status == "True" for c in vmi.status.conditions)


def eviction_strategy(vmi, cluster_default: str = "") -> str:
    """KubeVirt's VMIEvictionStrategy: the VMI's own, else the cluster's (KubeVirt's evictionStrategy)."""
    return vmi.spec.evictionStrategy or cluster_default or NO_EVICTION


def migratable_on_eviction(vmi, strategy: str) -> bool:
    """KubeVirt's VMIMigratableOnEviction."""
    return strategy == LIVE_MIGRATE or (strategy == LIVE_MIGRATE_IF_POSSIBLE and is_migratable(vmi))


def eviction(vmi, strategy: str, node: str) -> tuple[str, str]:
    """What evicting the VMI's launcher from `node` does (KubeVirt's pod-eviction admitter): ("evacuate",
    message) marks it for a live migration (status.evacuationNodeName; the eviction itself is refused, 429),
    ("refuse", message) refuses it, ("stop", "") lets it go: the VMI shuts down."""
    marked = False
    if strategy == LIVE_MIGRATE:
        if not is_migratable(vmi):
            return "refuse", (f"VMI {vmi.metadata.name} is configured with an eviction strategy but is not "
                              "live-migratable")
        marked = True
    elif strategy == LIVE_MIGRATE_IF_POSSIBLE:
        marked = is_migratable(vmi)
    elif strategy == EXTERNAL:
        marked = True
    if not marked:
        return "stop", ""
    text = f'Eviction triggered evacuation of VMI "{vmi.metadata.namespace}/{vmi.metadata.name}"'
    if vmi.status.evacuationNodeName:
        return "refuse", "Evacuation in progress: " + text
    if vmi.status.nodeName != node:
        return "refuse", "Eviction request for target Pod"
    return "evacuate", text
