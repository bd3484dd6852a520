"""VirtualMachineInstanceMigration (virt-controller's migration controller, pkg/virt-controller/watch/migration).

Phases as KubeVirt's, with the receiving launcher in the target pod's place:

    ""  -> Pending          accepted (another active migration of the VMI makes it Failed instead)
    Pending -> Scheduling   admitted under the limits; the target node is chosen (the scheduler's rules, the
                            source excluded, addedNodeSelector added) and the migration handed to the nodes:
                            the VMI's status.migrationState (migrationUid, source/target node, the
                            configuration) and the label kubevirt.io/migrationTargetNodeName
    Scheduling -> Scheduled the target's receiving launcher runs (migrationState.targetPod)
    Scheduled -> PreparingTarget -> TargetReady   the target published targetNodeAddress
    TargetReady -> Running  the source started libvirt's migration (startTimestamp)
    Running -> Succeeded    the target runs the VMI (completed); Failed when the nodes report failed

Limits and the queue (KubeVirt's handleTargetPodCreation, with 1.6's priority queue made exact): a Pending
migration starts only while fewer than parallelMigrationsPerCluster run (Scheduling..Running) and fewer
than parallelOutboundMigrationsPerNode leave its VMI's node. Waiting migrations are admitted in priority
order — evacuations (kubevirt.io/evacuationMigration) before user requests, then the oldest — whenever a
slot frees (`plan_admissions`, decided under one lock so two workers never take the same slot). Waiting
is not running: no timeout counts while a migration is Pending; the unschedulable (5 min) and catch-all
(15 min) timeouts start when it is admitted, the launcher's progress/completion timeouts when libvirt's
migration starts.

Deleting a migration cancels it (its finalizer holds it): before the hand-off it just fails; after, the
VMI's migrationState.abortRequested makes the source abort libvirt's job. A final migration keeps the VMI's
migrationState, loses its finalizer, and only the newest five finalized migrations of a VMI are kept.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from prometheus_client import Histogram

from services.common import events, kvconfig, migrations, names, proto, timeutil, vmstate
from services.controller import scheduler
from services.controller.metrics import PHASE_TRANSITION_BUCKETS

log = logging.getLogger(__name__)
M = migrations
UNSCHEDULABLE_TIMEOUT = 5 * 60        # KubeVirt's defaultUnschedulablePendingTimeoutSeconds
CATCH_ALL_TIMEOUT = 15 * 60           # KubeVirt's defaultCatchAllPendingTimeoutSeconds
UNSCHEDULABLE_TIMEOUT_ANNOTATION = "kubevirt.io/migrationUnschedulablePodTimeoutSeconds"
PENDING_TIMEOUT_ANNOTATION = "kubevirt.io/migrationPendingPodTimeoutSeconds"
FINALIZED_KEPT = 5                    # KubeVirt's defaultFinalizedMigrationGarbageCollectionBuffer

PHASE_TRANSITION_FROM_CREATION = Histogram(
    "kubevirt_vmi_migration_phase_transition_time_from_creation_seconds",
    "Histogram of VM migration phase transitions duration from creation time in seconds.", ["phase"],
    buckets=PHASE_TRANSITION_BUCKETS)


# ------------------------------------------------------------------------------ pure decisions

def vmi_key(m) -> str:
    return f"{m.metadata.namespace}/{m.spec.vmiName}"


def priority(m) -> tuple:
    """Queue order: system-initiated evacuations first, then the oldest (KubeVirt's migration priority)."""
    return (0 if M.EVACUATION_ANNOTATION in m.metadata.annotations else 1, m.metadata.creationTimestamp,
            m.metadata.namespace, m.metadata.name)


def handed_off(m, vmi) -> bool:
    return vmi is not None and M.state_for(vmi, m.metadata.uid) is not None


def source_node(m, vmi) -> str:
    st = M.state_for(vmi, m.metadata.uid) if vmi is not None else None
    return st.sourceNode if st is not None and st.sourceNode else (vmi.status.nodeName if vmi is not None else "")


def occupies_slot(m, vmi) -> bool:
    """Counted against the limits: running (Scheduling..Running), or handed off and not final yet."""
    return not M.is_final(m) and (M.is_running(m) or handed_off(m, vmi))


@dataclass
class Limits:
    cluster: int
    per_node: int


def limits_of(config) -> Limits:
    return Limits(config.parallelMigrationsPerCluster, config.parallelOutboundMigrationsPerNode)


def plan_admissions(pending: list, running: list, limits: Limits, source_of) -> list:
    """Which waiting migrations may start now, in priority order: each in turn while the cluster has a
    slot and its source node an outbound one (a migration whose node is full does not block one from
    another node). `running`: the migrations holding slots; `source_of(m)`: the node it leaves."""
    total = len(running)
    per_node: dict[str, int] = {}
    for r in running:
        n = source_of(r)
        per_node[n] = per_node.get(n, 0) + 1
    out = []
    for m in sorted(pending, key=priority):
        if total >= limits.cluster:
            break
        n = source_of(m)
        if per_node.get(n, 0) >= limits.per_node:
            continue
        out.append(m)
        total += 1
        per_node[n] = per_node.get(n, 0) + 1
    return out


def next_phase(m, vmi) -> str:
    """The phase the nodes' reports move a handed-off migration to (KubeVirt's processMigrationPhase),
    one step at a time from its current phase; "" when nothing changes."""
    st = M.state_for(vmi, m.metadata.uid) if vmi is not None else None
    if st is None:
        return ""
    ph = m.status.phase
    if M.is_final(m):
        return ""
    if st.failed:
        return M.FAILED
    # A later report implies the earlier ones (a pass may see several at once).
    started = bool(st.startTimestamp) or st.completed
    ready = bool(st.targetNodeAddress) or started
    if ph == M.SCHEDULING and (st.targetPod or ready):
        return M.SCHEDULED
    if ph == M.SCHEDULED and st.targetNode:
        return M.PREPARING_TARGET
    if ph == M.PREPARING_TARGET and st.targetNode and ready:
        return M.TARGET_READY
    if ph == M.TARGET_READY and started:
        return M.RUNNING
    if ph == M.RUNNING and st.completed:
        return M.SUCCEEDED
    return ""


def set_phase(m, phase: str) -> bool:
    return vmstate.set_phase(m, phase)


def _annotation_seconds(m, key: str, default: int) -> int:
    try:
        return int(m.metadata.annotations.get(key, default))
    except ValueError:
        return default


def _since(m, phase: str) -> float:
    stamp = next((t.phaseTransitionTimestamp for t in reversed(m.status.phaseTransitionTimestamps)
                  if t.phase == phase), "")
    return timeutil.age_seconds(stamp) if stamp else 0.0


# ------------------------------------------------------------------------------ the controller

class MigrationController:
    def __init__(self, api, vmims, vmis, nodes, kubevirts, policies=None):
        self.api, self.vmims, self.vmis, self.nodes = api, vmims, vmis, nodes
        self.kubevirts = kubevirts    # the KubeVirt object's informer: limits and per-migration settings
        self.policies = policies      # MigrationPolicy informer (or None)
        self.start_lock = asyncio.Lock()   # KubeVirt's migrationStartLock: one admission decision at a time
        self.queue = None             # set by __main__: waiting migrations are queued again when a slot frees
        self._unschedulable_said: set[str] = set()
        self.recorder = events.recorder(api, events.VM_CONTROLLER)   # KubeVirt's migration controller records so
        self.evacuation_recorder = events.recorder(api, events.EVACUATION_CONTROLLER)

    # ------------------------------------------------------------------ events (controller __main__)

    def config(self):
        return kvconfig.ClusterConfig.of(self.kubevirts.items()).migrations()

    def keys_for_vmi(self, vmi_key: str) -> list[str]:
        """The migrations a change of the VMI concerns: every one of it once it is gone; else the unfinished
        ones and the one its migrationState names (a final one keeps its last state from there). The
        finished ones it keeps (FINALIZED_KEPT) would each be reconciled for nothing at every VMI write."""
        ns, _, name = vmi_key.partition("/")
        vmi = self.vmis.get(vmi_key)
        st = M.state_of(vmi) if vmi is not None else None
        current = st.migrationUid if st is not None else ""
        return [proto.key(m) for m in self.vmims.items() if m.metadata.namespace == ns and m.spec.vmiName == name
                and (vmi is None or not M.is_final(m) or m.metadata.uid == current)]

    def waiting_keys(self) -> list[str]:
        return [proto.key(m) for m in self.vmims.items() if m.status.phase in (M.UNSET, M.PENDING)
                or (m.status.phase == M.SCHEDULING and not handed_off(m, self._vmi(m)))]

    def _vmi(self, m):
        return self.vmis.get(vmi_key(m))

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str):
        m = self.vmims.get(key)
        if m is None:
            self._wake_waiting()
            return None
        vmi = self._vmi(m)
        if M.MIGRATION_SELECTOR_LABEL not in m.metadata.labels and not M.is_final(m):
            out = proto.copy(m)     # KubeVirt's ensureSelectorLabelPresent
            out.metadata.labels[M.MIGRATION_SELECTOR_LABEL] = m.spec.vmiName
            await self.api.update(out)
            return None
        if vmi is None:
            return await self._vmi_gone(m)
        if M.is_final(m):
            return await self._finalize(m, vmi)
        out = proto.copy(m)
        again = await self._progress(m, out, vmi)
        if out.status != m.status:
            written = await self.api.update_status(out)
            self._observe_phase(m, written)
            if M.is_final(written):
                log.info("migration %s of VMI %s: %s", key, vmi_key(m), written.status.phase)
                self._final_event(m, written, vmi)
                self._wake_waiting()
        return again

    async def _progress(self, m, out, vmi):
        """KubeVirt's updateStatus + sync for a migration that is not final; edits `out`."""
        ph = m.status.phase
        deleting = bool(m.metadata.deletionTimestamp)
        off = handed_off(m, vmi)
        st = M.state_for(vmi, m.metadata.uid)
        if vmstate.is_final(vmi) or vmi.metadata.deletionTimestamp:
            set_phase(out, M.FAILED)   # "Migration failed vmi shutdown during migration."
            return None
        if ph == M.UNSET:
            if not self._can_migrate(m, vmi):
                # "VMI is not eligible for migration because another migration job is in progress."
                set_phase(out, M.FAILED)
                return None
            set_phase(out, M.PENDING)
            if deleting:
                set_phase(out, M.FAILED)
                return None
            return await self._admit(m, out, vmi)   # accepted and, if a slot is free, started: one write
        if deleting and not vmstate.has_condition(out, M.ABORT_REQUESTED):
            vmstate.set_condition(out, M.ABORT_REQUESTED, "True")
        if not off:
            if deleting:   # cancelled before the hand-off: nothing ran (KubeVirt's handlePreHandoffMigrationCancel)
                set_phase(out, M.FAILED)
                return None
            if ph in (M.PENDING, M.SCHEDULING):
                return await self._admit(m, out, vmi)
            # handed off once, and the VMI's state is not ours any more: cleared or taken over
            set_phase(out, M.FAILED)
            return None
        if deleting and not st.abortRequested and not st.completed and not st.failed:
            vmi_out = proto.copy(vmi)
            vmi_out.status.migrationState.abortRequested = True
            await self.api.update_status(vmi_out)
            log.info("migration %s/%s: abort requested", m.metadata.namespace, m.metadata.name)
        if ph == M.PENDING:   # handed off by an earlier pass whose phase write was lost
            set_phase(out, M.SCHEDULING)
        if not vmi.metadata.labels.get(M.MIGRATION_TARGET_NODE_LABEL) and not st.completed and not st.failed:
            vmi_out = proto.copy(vmi)
            vmi_out.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL] = st.targetNode
            await self.api.update(vmi_out)
        while (nxt := next_phase(out, vmi)) and set_phase(out, nxt):
            pass
        if out.status.phase == M.SCHEDULING:
            # The receiving launcher never came up (KubeVirt's catch-all for a target pod stuck pending).
            timeout = _annotation_seconds(m, PENDING_TIMEOUT_ANNOTATION, CATCH_ALL_TIMEOUT)
            left = timeout - _since(out, M.SCHEDULING)
            if left <= 0 and not st.abortRequested:
                vmi_out = proto.copy(vmi)
                vmi_out.status.migrationState.abortRequested = True
                vmi_out.status.migrationState.failureReason = (
                    f"the migration target on node {st.targetNode} was not ready within {timeout} seconds")
                await self.api.update_status(vmi_out)
                return None
            return max(left, 1.0)
        return None

    def _can_migrate(self, m, vmi) -> bool:
        """KubeVirt's canMigrateVMI: no other migration of the VMI is handed off and unfinished."""
        st = M.state_of(vmi)
        if st is None or not st.migrationUid or st.migrationUid == m.metadata.uid:
            return True
        other = next((x for x in self.vmims.items() if x.metadata.uid == st.migrationUid), None)
        return other is None or M.is_final(other)

    async def _admit(self, m, out, vmi):
        """Start the migration when the limits and the queue allow, choosing its target node."""
        if vmi.status.phase != vmstate.RUNNING:
            return None    # KubeVirt creates the target pod only for a running VMI
        async with self.start_lock:
            config = self.config()
            items = self.vmims.items()
            fresh = self.vmims.get(proto.key(m))
            if fresh is None or fresh.metadata.resourceVersion != m.metadata.resourceVersion:
                return 0.0   # changed meanwhile: decide again on the new version
            vmis = {k: self._vmi(x) for x in items for k in [proto.key(x)]}
            running = [x for x in items if x.metadata.uid != m.metadata.uid and occupies_slot(x, vmis[proto.key(x)])]
            # Admitted-but-unplaced ones (Scheduling without a hand-off) hold their slot too.
            waiting = [x for x in items if x.status.phase in (M.UNSET, M.PENDING) and vmis[proto.key(x)] is not None
                       and vmis[proto.key(x)].status.phase == vmstate.RUNNING
                       and not handed_off(x, vmis[proto.key(x)])]
            if m.status.phase == M.SCHEDULING:
                admitted = True
            else:
                plan = plan_admissions(waiting, running, limits_of(config),
                                       lambda x: source_node(x, vmis[proto.key(x)]))
                admitted = any(x.metadata.uid == m.metadata.uid for x in plan)
            if not admitted:
                return None   # queued: a slot freeing (a migration ending) wakes the waiting ones
            set_phase(out, M.SCHEDULING)
            decision = self._choose_target(m, vmi)
            if not decision.node:
                if proto.key(m) not in self._unschedulable_said:
                    self._unschedulable_said.add(proto.key(m))
                    log.warning("Migration target for VMI [%s] is currently unschedulable: %s", vmi_key(m),
                                decision.message)
                timeout = _annotation_seconds(m, UNSCHEDULABLE_TIMEOUT_ANNOTATION, UNSCHEDULABLE_TIMEOUT)
                left = timeout - _since(out, M.SCHEDULING)
                if left <= 0:
                    log.warning("migration %s: no target node within %d seconds", proto.key(m), timeout)
                    set_phase(out, M.FAILED)
                    return None
                return min(left, 10.0)   # nodes changing wake it too
            await self._hand_off(m, vmi, decision.node, config)
            self._unschedulable_said.discard(proto.key(m))
            return None

    def _choose_target(self, m, vmi):
        """The scheduler's rules for the target (KubeVirt renders the target pod like the source's): the
        VMI's node selector and machine type, plus addedNodeSelector where the VMI sets no value, among the
        nodes that receive migrations, the source excluded."""
        candidate = proto.copy(vmi)
        for k, v in m.spec.addedNodeSelector.items():
            if k not in candidate.spec.nodeSelector:
                candidate.spec.nodeSelector[k] = v
        candidate.spec.nodeSelector[names.MIGRATION_TARGET_LABEL] = "true"
        source = vmi.status.nodeName
        nodes = [n for n in self.nodes.items() if n.metadata.name != source]
        load: dict[str, int] = {}
        for v in self.vmis.items():
            for n in (v.status.nodeName, (M.state_of(v).targetNode if M.in_flight(v) else "")):
                if n and not vmstate.is_final(v):
                    load[n] = load.get(n, 0) + 1
        decision = scheduler.choose(candidate, nodes, load)
        if not decision.message.startswith("0/") and not decision.node:
            decision.message = f"0/{len(nodes)} nodes are available."
        return decision

    async def _hand_off(self, m, vmi, node: str, config) -> None:
        """KubeVirt's handleTargetPodHandoff: the VMI's migrationState names this migration and its nodes,
        the settings it runs with (the cluster's, or a matching MigrationPolicy's over them), and the label
        that makes the target's handler act."""
        out = proto.copy(vmi)
        st = out.status.migrationState
        st.Clear()
        st.migrationUid = m.metadata.uid
        st.sourceNode = vmi.status.nodeName
        st.targetNode = node
        config = proto.copy(config)
        if self.policies is not None:
            policy = match_policy(self.policies.items(), dict(vmi.metadata.labels),
                                  await self._namespace_labels(vmi.metadata.namespace))
            if policy is not None and apply_policy(policy, config):
                st.migrationPolicyName = policy.metadata.name
        st.migrationConfiguration.CopyFrom(config)
        st.migrationNetworkType = "Pod"
        out.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL] = node
        await self.api.update_with_status(out)   # one write: the target's handler sees both at once
        log.info("migration %s/%s: VMI %s from node %s to node %s", m.metadata.namespace, m.metadata.name,
                 vmi.metadata.name, st.sourceNode, node)

    async def _namespace_labels(self, namespace: str) -> dict:
        """The namespace's labels: the cluster's Namespace object, or (standalone, where namespaces are
        only names) the one label Kubernetes gives every namespace."""
        kube = getattr(self.api, "kube", None)
        if kube is not None:
            try:
                doc = await asyncio.to_thread(kube.request, "GET", f"/api/v1/namespaces/{namespace}")
                return dict(doc.get("metadata", {}).get("labels") or {})
            except Exception as e:  # noqa: BLE001 - no namespace read: match on its name alone
                log.warning("namespace %s: %s", namespace, e)
        return {NAMESPACE_NAME_LABEL: namespace}

    def _final_event(self, m, written, vmi) -> None:
        """KubeVirt's events on a migration that ended (pkg/virt-controller/watch/migration, its texts)."""
        if written.status.phase == M.SUCCEEDED:
            self.recorder.normal(written, events.SUCCESSFUL_MIGRATION, "Source node reported migration succeeded")
            return
        st = M.state_for(vmi, m.metadata.uid)
        if vmstate.is_final(vmi) or vmi.metadata.deletionTimestamp:
            why = "Migration failed vmi shutdown during migration."
        elif st is not None and st.failed:
            why = "source node reported migration failed"
        elif m.metadata.deletionTimestamp:
            why = "Migration failed due to being canceled"
        elif m.status.phase == M.UNSET:
            why = "VMI is not eligible for migration because another migration job is in progress."
        else:
            why = "VMI's migration state was cleared during the active migration."
        self.recorder.warning(written, events.FAILED_MIGRATION, why)

    async def _vmi_gone(self, m):
        if not M.is_final(m):
            out = proto.copy(m)
            set_phase(out, M.FAILED)      # "Migration failed because vmi does not exist."
            written = await self.api.update_status(out)
            self.recorder.warning(written, events.FAILED_MIGRATION, "Migration failed because vmi does not exist.")
            self._observe_phase(m, written)
            self._wake_waiting()
            return None
        await self._drop_finalizer(m)
        if not m.metadata.deletionTimestamp:
            await self.api.delete(proto.VMIM, m.metadata.namespace, m.metadata.name, uid=m.metadata.uid)
        return None

    async def _finalize(self, m, vmi):
        """A final migration: the VMI's state of it kept on the migration, the finalizer off, old ones gone."""
        st = M.state_for(vmi, m.metadata.uid)
        if st is not None and m.status.migrationState != st:
            out = proto.copy(m)
            out.status.migrationState.CopyFrom(st)
            await self.api.update_status(out)
            return None
        await self._drop_finalizer(m)
        await self._collect_garbage(m)
        return None

    async def _drop_finalizer(self, m) -> None:
        if M.MIGRATION_FINALIZER in m.metadata.finalizers:
            out = proto.copy(m)
            out.metadata.finalizers.remove(M.MIGRATION_FINALIZER)
            await self.api.update(out)

    async def _collect_garbage(self, m) -> None:
        finalized = sorted((x for x in self.vmims.items() if x.metadata.namespace == m.metadata.namespace
                            and x.spec.vmiName == m.spec.vmiName and M.is_final(x)
                            and not x.metadata.deletionTimestamp),
                           key=lambda x: (x.metadata.creationTimestamp, x.metadata.name))
        for old in finalized[:max(len(finalized) - FINALIZED_KEPT, 0)]:
            await self.api.delete(proto.VMIM, old.metadata.namespace, old.metadata.name, uid=old.metadata.uid)

    def _wake_waiting(self) -> None:
        if self.queue is not None:
            for key in self.waiting_keys():
                self.queue.add(key)

    @staticmethod
    def _observe_phase(old, new) -> None:
        """kubevirt_vmi_migration_phase_transition_time_from_creation_seconds (KubeVirt's informer hook)."""
        if new is None or old.status.phase == new.status.phase or not new.status.phase:
            return
        stamp = next((t.phaseTransitionTimestamp for t in new.status.phaseTransitionTimestamps
                      if t.phase == new.status.phase), "")
        if stamp and new.metadata.creationTimestamp:
            seconds = (timeutil.parse(stamp) - timeutil.parse(new.metadata.creationTimestamp)).total_seconds()
            PHASE_TRANSITION_FROM_CREATION.labels(new.status.phase).observe(max(seconds, 0.0))


# ------------------------------------------------------------------------------ migration policies

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"   # the label Kubernetes gives every namespace


def _count(selector, labels, score: list) -> bool:
    """KubeVirt's countLabelsHelper: every selector label must match; matches are counted."""
    for k, v in selector.items():
        if labels.get(k) != v:
            return False
        score[0] += 1
    return True


def match_policy(policies, vmi_labels: dict, namespace_labels: dict):
    """KubeVirt's matchPolicy: the policy whose selectors all match the VMI's and its namespace's labels
    with the most labels (VMI labels break a tie), then the first name in lexicographic order; None if no
    policy matches. A policy without selectors matches nothing; as in KubeVirt, selectors are checked only
    when the VMI has labels at all (every VMI a VM starts has some: kubevirt.io/nodeName)."""
    best, best_score = [], (-1, -1)
    for p in policies:
        if not p.spec.HasField("selectors"):
            continue
        sel = p.spec.selectors
        vmi_n, ns_n = [0], [0]
        if sel.virtualMachineInstanceSelector and vmi_labels and \
                not _count(sel.virtualMachineInstanceSelector, vmi_labels, vmi_n):
            continue
        if sel.namespaceSelector and vmi_labels and not _count(sel.namespaceSelector, namespace_labels, ns_n):
            continue
        score = (vmi_n[0] + ns_n[0], vmi_n[0])
        if score > best_score:
            best, best_score = [p], score
        elif score == best_score:
            best.append(p)
    return min(best, key=lambda p: p.metadata.name) if best else None


def apply_policy(policy, config) -> bool:
    """KubeVirt's GetMigrationConfByPolicy: the policy's settings override the cluster's; without its own
    allowWorkloadDisruption it follows the policy's allowPostCopy. Returns whether anything was set."""
    spec = policy.spec
    changed = False
    for name in ("allowAutoConverge", "bandwidthPerMigration", "completionTimeoutPerGiB", "allowPostCopy",
                 "allowWorkloadDisruption"):
        if spec.HasField(name):
            setattr(config, name, getattr(spec, name))
            changed = True
    if not spec.HasField("allowWorkloadDisruption") and spec.HasField("allowPostCopy"):
        config.allowWorkloadDisruption = spec.allowPostCopy
    return changed


# ------------------------------------------------------------------------------ evacuation (node drain)

EVACUATION_BACKOFF = (20, 40, 80, 160, 320)   # seconds after a failed evacuation before the next try


def has_drain_taint(node, key: str) -> bool:
    return node is not None and any(t.key == key and t.effect == "NoSchedule" for t in node.spec.taints)


class Evacuations:
    """KubeVirt's evacuation controller: a VMI marked for eviction (status.evacuationNodeName, set when its
    launcher is evicted from a draining node) or on a node with the drain taint (nodeDrainTaintKey,
    NoSchedule) gets a migration (kubevirt-evacuation-*, annotated kubevirt.io/evacuationMigration: the
    node), which the queue starts before user requests. A VMI that cannot migrate stays (the eviction
    refused it); one whose last evacuation failed waits a growing backoff."""

    def __init__(self, controller: MigrationController):
        self.c = controller

    async def reconcile(self, key: str):
        c = self.c
        vmi = c.vmis.get(key)
        if vmi is None or vmstate.is_final(vmi) or vmi.metadata.deletionTimestamp \
                or vmi.status.phase != vmstate.RUNNING:
            return None
        node = vmi.status.nodeName
        marked = vmi.status.evacuationNodeName == node and bool(node)
        node_obj = c.nodes.get(node)
        if not marked and (node_obj is None or not node_obj.spec.taints):
            return None   # the common case, decided without the configuration
        config = kvconfig.ClusterConfig.of(c.kubevirts.items())
        if not (marked or has_drain_taint(node_obj, config.migrations().nodeDrainTaintKey)):
            return None
        if not M.migratable_on_eviction(vmi, M.eviction_strategy(vmi, config.eviction_strategy())) \
                or not M.is_migratable(vmi):
            return None
        mine = [m for m in c.vmims.items() if m.metadata.namespace == vmi.metadata.namespace
                and m.spec.vmiName == vmi.metadata.name]
        if any(not M.is_final(m) for m in mine):
            return None   # already migrating
        failed = sorted((m for m in mine if m.status.phase == M.FAILED and M.EVACUATION_ANNOTATION in
                         m.metadata.annotations), key=lambda m: m.metadata.creationTimestamp)
        if failed:
            wait = EVACUATION_BACKOFF[min(len(failed), len(EVACUATION_BACKOFF)) - 1] - _since(failed[-1], M.FAILED)
            if wait > 0:
                return wait
        m = proto.migration.VirtualMachineInstanceMigration()
        m.metadata.namespace = vmi.metadata.namespace
        m.metadata.generateName = M.EVACUATION_GENERATE_NAME
        m.metadata.annotations[M.EVACUATION_ANNOTATION] = node
        m.spec.vmiName = vmi.metadata.name
        made = await c.api.create(m)
        log.info("evacuating VMI %s off node %s: migration %s", key, node, made.metadata.name)
        c.evacuation_recorder.normal(vmi, events.SUCCESSFUL_CREATE, f"Created Migration {made.metadata.name}")
        return None
