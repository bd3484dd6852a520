"""VMI lifecycle on the control plane: "" -> Pending -> Scheduling -> Scheduled (virt-controller's
vmi controller without pods), orphan collection, and finalizer release for VMIs no node owns.

A VM's VMI is placed before it is created (`place`, called by the VM controller): its create carries
the decision, which spares each start one write and one round trip through the store. What cannot be
placed then (no node fits yet) and VMIs created by users are scheduled here after their create."""
from __future__ import annotations

import logging

from services.common import arch, names, proto, vmstate, volumes
from services.controller import scheduler

log = logging.getLogger(__name__)
VMI_FINALIZER = "foregroundDeleteVirtualMachine"


def _copy(msg):
    c = type(msg)()
    c.CopyFrom(msg)
    return c


class VMIController:
    def __init__(self, api, vms, vmis, nodes, pvcs=None, pods=None):
        self.api, self.vms, self.vmis, self.nodes = api, vms, vmis, nodes
        self.pods = pods   # launcherpod.LauncherPods: launcher pods and the kube-scheduler place VMIs
        self.pvcs = pvcs   # local claims are bound to the node that provisioned them

    def _volume_nodes(self, vmi) -> frozenset[str]:
        out = set()
        for vol in vmi.spec.volumes if self.pvcs is not None else ():
            name = volumes.claim_name(vol)
            pvc = self.pvcs.get(f"{vmi.metadata.namespace}/{name}") if name else None
            node = pvc.metadata.annotations.get(volumes.SELECTED_NODE, "") if pvc is not None else ""
            if node:
                out.add(node)
        return frozenset(out)

    def _load(self) -> dict[str, int]:
        load: dict[str, int] = {}
        for v in self.vmis.items():
            if v.status.nodeName and not vmstate.is_final(v):
                load[v.status.nodeName] = load.get(v.status.nodeName, 0) + 1
        return load

    async def reconcile(self, key: str):
        vmi = self.vmis.get(key)
        if self.pods is not None:
            await self.pods.orphans(key, vmi)
        if vmi is None:
            return None
        tp = self.vmis.traceparent.get(key, "")
        if self.pods is not None:
            vmi = await self.pods.reconcile(vmi, tp)
        if vmi.metadata.deletionTimestamp:
            return await self._release_unowned(vmi, tp)
        owner = vmstate.owner_uid(vmi)
        if owner:
            vm = self.vms.get(key)
            if vm is None or vm.metadata.uid != owner:
                log.info("deleting VMI %s: its VirtualMachine is gone", key)
                await self.api.delete(proto.VMI, vmi.metadata.namespace, vmi.metadata.name,
                                      uid=vmi.metadata.uid)
                return None
        if vmi.status.phase in ("", vmstate.PENDING, vmstate.SCHEDULING) and self.pods is None:
            vmi = await self._schedule(vmi, tp)
        node = vmi.status.nodeName
        if node and vmi.metadata.labels.get(names.NODE_NAME_LABEL) != node:
            out = _copy(vmi)
            out.metadata.labels[names.NODE_NAME_LABEL] = node
            await self.api.update(out, tp)
        return None

    async def _release_unowned(self, vmi, tp):
        """A deleted VMI that never reached a node has nobody else to drop its finalizer."""
        node = vmi.status.nodeName
        if VMI_FINALIZER in vmi.metadata.finalizers and (
                not node or self.nodes.get(node) is None):
            out = _copy(vmi)
            out.metadata.finalizers.remove(VMI_FINALIZER)
            await self.api.update(out, tp)
        return None

    def _choose(self, vmi) -> scheduler.Decision:
        placed = [v for v in self.vmis.items() if v.status.nodeName and not vmstate.is_final(v)
                  and v.metadata.uid != vmi.metadata.uid]
        return scheduler.choose(vmi, self.nodes.items(), self._load(), self._volume_nodes(vmi), placed)

    @staticmethod
    def _bind(out, node: str) -> None:
        """`out` (a copy being written) scheduled to `node`; the node's label with the status: the node's
        handler only sees the VMI once it is labelled for it, and would race a later label write with
        its own status writes."""
        out.status.nodeName = node
        vmstate.set_condition(out, vmstate.POD_SCHEDULED, "True")
        vmstate.set_phase(out, vmstate.SCHEDULED)
        out.metadata.labels[names.NODE_NAME_LABEL] = node

    def place(self, vmi) -> None:
        """Schedule `vmi`, not created yet, in place (the VM controller calls this before its create);
        left unscheduled when no node fits or launcher pods place VMIs (then reconcile does, and says
        why not). The api defaults the architecture and machine type at the create; the choice sees them
        as they will be, because the nodes are filtered by machine type."""
        if self.pods is not None:
            return
        probe = _copy(vmi)
        arch.set_defaults(probe.spec)
        decision = self._choose(probe)
        if not decision.node:
            return
        vmstate.set_phase(vmi, vmstate.PENDING)
        vmstate.set_phase(vmi, vmstate.SCHEDULING)
        self._bind(vmi, decision.node)
        log.info("VMI %s/%s placed on node %s before its create", vmi.metadata.namespace, vmi.metadata.name,
                 decision.node)

    async def _schedule(self, vmi, tp):
        out = _copy(vmi)
        if not out.status.phase:   # a Scheduling VMI stays so: back to Pending would add two transitions a pass
            vmstate.set_phase(out, vmstate.PENDING)
        vmstate.set_phase(out, vmstate.SCHEDULING)
        decision = self._choose(out)
        if not decision.node:
            vmstate.set_condition(out, vmstate.POD_SCHEDULED, "False", vmstate.UNSCHEDULABLE_REASON, decision.message)
            if out.status != vmi.status:
                out = await self.api.update_status(out, tp)
            return out  # node changes requeue Scheduling VMIs
        relabel = vmi.metadata.labels.get(names.NODE_NAME_LABEL) != decision.node
        self._bind(out, decision.node)
        if relabel:
            out = await self.api.update_with_status(out, tp)
        else:
            out = await self.api.update_status(out, tp)
        log.info("scheduled VMI %s/%s to node %s%s", out.metadata.namespace, out.metadata.name, decision.node,
                 f" (priorityClassName {out.spec.priorityClassName})" if out.spec.priorityClassName else "")
        return out
