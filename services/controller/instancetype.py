"""The VM controller's instance type step (KubeVirt's pkg/instancetype/controller/vm, revision, expand).

Per VM with an instancetype or preference matcher, before its run strategy:
- the referenced objects must exist (else the VM's Failure condition, reason FailedFindInstancetype /
  FailedFindPreference: the object went after admission);
- referencePolicy `reference` (the KubeVirt object's, default): on first use each object is copied
  into a ControllerRevision owned by the VM, `<vm>-<object>-<apiVersion>-<uid>-<generation>`, and
  status.instancetypeRef / status.preferenceRef name it; the VM's spec is never written. A revision
  stays until the matcher's name or kind changes (restarts keep it, as in KubeVirt 1.6), so later edits
  of the object do not reach the VM; `revisionName` in the matcher picks a revision by hand;
- `expand` (only while no revision is referenced) and `expandAll`: the VM's template gets the values
  and the matchers go, in one spec write, and the revisions it referenced are deleted. (KubeVirt also
  writes its VMI defaults into the expanded template; here the VMI gets them when it is created.)
When the VMI is created, the copy in the revision (else the object) is applied to it
(`apply_to_vmi`): the instance type's values, the preference where the VM is silent, KubeVirt's
annotations naming both. Revisions of a VM that is gone are deleted (the mesh has no garbage collector).
"""
from __future__ import annotations

import logging

import grpc

from services.common import instancetype as it
from services.common import events, kvconfig, proto

log = logging.getLogger(__name__)

FAILED_FIND_INSTANCETYPE = "FailedFindInstancetype"
FAILED_FIND_PREFERENCE = "FailedFindPreference"
FAILED_CREATE = events.FAILED_CREATE                 # common.FailedCreateVirtualMachineReason
REASONS = (FAILED_FIND_INSTANCETYPE, FAILED_FIND_PREFERENCE, FAILED_CREATE)
STARTING_VMI_FAILURE = "Failure while starting VMI: {}"
STORE_FAILURE = "error encountered while storing instancetype.kubevirt.io controllerRevisions: {}"
EXPAND_FAILURE = "error encountered while expanding into VirtualMachine: {}"
SPEC_UPDATED = "spec-updated"
WATCHED = (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE, proto.PREFERENCE, proto.CLUSTER_PREFERENCE,
           proto.CONTROLLER_REVISION, proto.KUBEVIRT)


class SyncError(Exception):
    """KubeVirt's SyncError: `reason` for the VM's Failure condition, str() its message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Instancetypes:
    """Informers of the instancetype kinds, ControllerRevisions and the KubeVirt object, and the steps
    above over them. `on_vm(key)` requeues a VM; `vms` is the VM informer."""

    def __init__(self, api, vms, on_vm):
        self.api, self.vms, self.on_vm = api, vms, on_vm
        self.informers = {kind: api.informer(kind, self._changed(kind)) for kind in WATCHED}

    @classmethod
    def disabled(cls):
        """No informers: every reference is missing (a VM controller built without this step)."""
        self = cls.__new__(cls)
        self.api, self.vms, self.on_vm, self.informers = None, None, lambda key: None, {}
        return self

    def _changed(self, kind: proto.api.Kind):
        def changed(key: str) -> None:
            if kind == proto.CONTROLLER_REVISION:
                rev = self.informers[kind].get(key)
                owner = _owner(rev) if rev is not None else None
                if owner is not None:   # its VM (or the collection of a gone VM's revisions)
                    self.on_vm(f"{rev.metadata.namespace}/{owner.name}")
                return
            # An object (or the configuration) changed: the VMs that reference one may proceed now.
            for vm in (self.vms.items() if self.vms is not None else ()):
                if it.has_matchers(vm):
                    self.on_vm(proto.key(vm))
        return changed

    # ------------------------------------------------------------ lookups

    def config(self) -> kvconfig.ClusterConfig:
        inf = self.informers.get(proto.KUBEVIRT)
        return kvconfig.ClusterConfig.of(inf.items() if inf is not None else ())

    async def _get(self, kind: proto.api.Kind, namespace: str, name: str):
        """From the cache, else from the store (an object created a moment ago may not be cached yet)."""
        inf = self.informers.get(kind)
        if inf is None:
            raise it.not_found(kind, name)
        obj = inf.get(f"{namespace}/{name}" if namespace else name)
        if obj is None:
            obj = await self.api.get_or_none(kind, namespace, name)
        if obj is None:
            raise it.not_found(kind, name)
        return obj

    async def _object(self, vm, field: str):
        m = getattr(vm.spec, field)
        kind = it.instancetype_kind(m) if field == "instancetype" else it.preference_kind(m)
        return kind, await self._get(*it.object_key(kind, vm.metadata.namespace, m.name))

    async def _revision(self, vm, field: str):
        """find/revision.go: spec.revisionName, else the status ref's revision if it holds the object named."""
        m = getattr(vm.spec, field)
        ns = vm.metadata.namespace
        if m.revisionName:
            return await self._get(proto.CONTROLLER_REVISION, ns, m.revisionName)
        ref = getattr(vm.status, f"{field}Ref")
        if ref.controllerRevisionRef.name:
            try:
                rev = await self._get(proto.CONTROLLER_REVISION, ns, ref.controllerRevisionRef.name)
            except it.NotFound:
                return None
            if rev.metadata.labels.get(it.REVISION_NAME_LABEL) == m.name:
                return rev
        return None

    async def find(self, vm, field: str):
        """The spec a VM runs with (SpecFinder.Find / FindPreference), None without a matcher."""
        if not vm.spec.HasField(field):
            return None
        rev = await self._revision(vm, field)
        if rev is not None:
            return it.revision_object(rev)[1].spec
        return (await self._object(vm, field))[1].spec

    async def specs(self, vm):
        """(instancetype spec, preference spec), or SyncError with KubeVirt's FailedFind reasons."""
        out = []
        for field, reason in (("instancetype", FAILED_FIND_INSTANCETYPE), ("preference", FAILED_FIND_PREFERENCE)):
            try:
                out.append(await self.find(vm, field))
            except (it.NotFound, it.Unresolvable) as e:
                raise SyncError(reason, str(e)) from None
        return tuple(out)

    # ------------------------------------------------------------ the sync step

    async def sync(self, vm, status, tp: str = ""):
        """Controller.Sync for one pass. `vm` is the pass's view (its status is `status`'s copy); the
        status refs are written into both. Returns SPEC_UPDATED when the VM's spec was written (the
        pass ends), else None; raises SyncError."""
        for field in ("instancetype", "preference"):
            if not vm.spec.HasField(field):   # the refs follow the matchers
                status.ClearField(f"{field}Ref")
                vm.status.ClearField(f"{field}Ref")
        if not it.has_matchers(vm) or vm.metadata.deletionTimestamp:
            return None
        await self.specs(vm)   # checkResourcesExist
        policy = self.config().reference_policy()
        if policy != kvconfig.REFERENCE:
            return await self._expand(vm, policy, tp)
        for field in ("instancetype", "preference"):
            if not vm.spec.HasField(field):
                continue
            ref = getattr(status, f"{field}Ref")
            try:
                await self._store(vm, field, ref)
            except (it.NotFound, it.Unresolvable) as e:
                raise SyncError(FAILED_CREATE, STORE_FAILURE.format(e)) from None
            getattr(vm.status, f"{field}Ref").CopyFrom(ref)
        return None

    async def _store(self, vm, field: str, ref) -> None:
        """syncStatusWithMatcher: the ref follows the matcher; a ref without a revision gets one."""
        m = getattr(vm.spec, field)
        clear = False
        if m.name and m.name != ref.name:
            ref.name, clear = m.name, True
        if m.kind and m.kind != ref.kind:
            ref.kind, clear = m.kind, True
        if m.inferFromVolume and m.inferFromVolume != ref.inferFromVolume:
            ref.inferFromVolume, clear = m.inferFromVolume, True
        if clear:
            ref.ClearField("controllerRevisionRef")
        if m.HasField("inferFromVolumeFailurePolicy"):
            ref.inferFromVolumeFailurePolicy = m.inferFromVolumeFailurePolicy
        if m.revisionName:
            ref.controllerRevisionRef.name = m.revisionName
        if not ref.controllerRevisionRef.name:
            rev = await self._create_revision(vm, field)
            ref.controllerRevisionRef.name = rev.metadata.name

    async def _create_revision(self, vm, field: str):
        kind, obj = await self._object(vm, field)
        if field == "instancetype":
            # The object may have changed since the VM was admitted: check once more, as KubeVirt does.
            spec = proto.copy(vm.spec.template)
            conflicts = it.apply("spec.template.spec", obj.spec, None, spec.spec, spec.metadata)
            if conflicts:
                raise SyncError(FAILED_CREATE, STORE_FAILURE.format(it.conflicts_text(conflicts)))
        unsupported = it.unsupported(kind, obj.spec)
        if unsupported:
            raise SyncError(FAILED_CREATE, STORE_FAILURE.format(
                f"{unsupported[0][0]}: not supported (no {unsupported[0][1]})"))
        rev = it.new_revision(vm, kind, obj)
        try:
            return await self.api.create(rev)
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        existing = await self.api.get(proto.CONTROLLER_REVISION, rev.metadata.namespace, rev.metadata.name)
        if not it.same_spec(existing, rev):
            raise SyncError(FAILED_CREATE, STORE_FAILURE.format(
                f"found existing ControllerRevision with unexpected data: {rev.metadata.name}"))
        return existing

    async def _expand(self, vm, policy: str, tp: str):
        """handleExpand: `expand` leaves a VM that already references revisions alone."""
        refs = [getattr(vm.status, f"{f}Ref").controllerRevisionRef.name for f in ("instancetype", "preference")]
        if policy == kvconfig.EXPAND and any(refs):
            return None
        itspec, pref = await self.specs(vm)
        current = self.vms.get(proto.key(vm)) if self.vms is not None else None
        out = proto.copy(current if current is not None else vm)
        conflicts = it.apply("spec.template.spec", itspec, pref, out.spec.template.spec, out.spec.template.metadata)
        if conflicts:
            raise SyncError(FAILED_CREATE, EXPAND_FAILURE.format(it.conflicts_text(conflicts)))
        out.spec.ClearField("instancetype")
        out.spec.ClearField("preference")
        await self.api.update(out, tp)
        log.info("VM %s/%s: instance type and preference expanded into its spec (referencePolicy %s)",
                 vm.metadata.namespace, vm.metadata.name, policy)
        for name in filter(None, refs):   # the copies are no longer referenced
            await self.api.delete(proto.CONTROLLER_REVISION, vm.metadata.namespace, name)
        return SPEC_UPDATED

    # ------------------------------------------------------------ VMI creation and collection

    async def apply_to_vmi(self, vm, vmi) -> None:
        """ApplyToVMI when the VM controller creates a VMI; SyncError(FailedCreate, …) on conflicts."""
        if not it.has_matchers(vm):
            return
        itspec, pref = await self.specs(vm)
        it.set_annotations(vm, vmi.metadata)
        conflicts = it.apply("spec", itspec, pref, vmi.spec, vmi.metadata)
        if conflicts:
            raise SyncError(FAILED_CREATE, STARTING_VMI_FAILURE.format(
                f"VMI conflicts with instancetype spec in fields: [{', '.join(c.path for c in conflicts)}]"))

    async def collect(self, key: str, vm) -> None:
        """Delete the revisions of VM `key` owned by another (gone) VM of that name."""
        inf = self.informers.get(proto.CONTROLLER_REVISION)
        if inf is None:
            return
        ns, _, name = key.partition("/")
        for rev in inf.items():
            owner = _owner(rev)
            if rev.metadata.namespace == ns and owner is not None and owner.name == name and \
                    (vm is None or owner.uid != vm.metadata.uid) and not rev.metadata.deletionTimestamp:
                log.info("deleting ControllerRevision %s/%s of a deleted VM", ns, rev.metadata.name)
                await self.api.delete(proto.CONTROLLER_REVISION, ns, rev.metadata.name, uid=rev.metadata.uid)


def _owner(rev):
    return next((r for r in rev.metadata.ownerReferences if r.kind == "VirtualMachine" and r.controller), None)
