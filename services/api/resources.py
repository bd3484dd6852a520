"""The Resources service: Kubernetes-shaped CRUD + watch over the embedded store.

The api is the store's only writer; every successful write wakes the watch streams, which
read the committed event history from the revision they last sent.
"""
from __future__ import annotations

import logging

from services.api import configobjects, defaults, instancetype, store, validation
from services.api.errors import Invalid, RequestConflict, grpc_errors
from services.common import machines, names, proto, tracing
from services.common.volumes import claim_name

log = logging.getLogger(__name__)


def _check_kind(obj: proto.api.Object) -> proto.api.Kind:
    if obj.WhichOneof("kind") is None:
        raise Invalid("object: Required value: one of " + ", ".join(info.field for info in proto.KINDS.values()))
    return proto.kind_of(obj)


def _prune(obj: proto.api.Object) -> None:
    """Drop the fields our schema does not know (a newer client's, or bytes made up): protobuf keeps
    them and would store them, invisible to every reader and to `get -o json`. Kubernetes prunes
    what a CRD's structural schema does not declare, the same way."""
    obj.DiscardUnknownFields()


# Kubernetes' resource names in NotFound / in-use texts.
CLAIM_RESOURCE = {kind: proto.KINDS[kind].resource for kind in (proto.PVC, proto.DV)}


def _ref_key(ref) -> tuple[proto.api.Kind, str, str]:
    if ref.kind not in proto.KINDS:
        raise Invalid("ref.kind: Required value")
    ns = (ref.namespace or names.DEFAULT_NAMESPACE) if proto.namespaced(ref.kind) else ""
    if not ref.name:
        raise Invalid("ref.name: Required value")
    return ref.kind, ns, ref.name


class Resources:
    """Business logic shared by the gRPC servicer and the subresource handlers."""

    def __init__(self, db):
        self.db = db  # store.Store (SQLite) or store.KubeStore: the same reads, writes and watch

    def get(self, kind: proto.api.Kind, namespace: str, name: str) -> proto.api.Object:
        return self.db.get(kind, namespace, name)

    def machine_limits(self):
        """machine type -> the most vCPUs a node offering it allows (0: no node says)."""
        nodes = None

        def limit(machine: str) -> int:
            nonlocal nodes
            if nodes is None:  # read the nodes only when a check needs them
                nodes = [proto.inner(o) for o in self.db.list(proto.NODE)[0]]
            return machines.max_vcpus(nodes, machine)
        return limit

    def create(self, obj: proto.api.Object) -> proto.api.Object:
        _check_kind(obj)
        _prune(obj)
        # The request that created the object is the root of what follows from it (tracing.py).
        tracing.keep(obj)
        limits = self.machine_limits()
        instancetype.mutate(obj, self.db)
        defaults.create(obj, limits)
        self.validate(obj, limits)
        return self.db.create(obj)

    def validate(self, obj: proto.api.Object, machine_limits=None, old=None) -> None:
        """validation.validate, after the checks that read the store (services/api/instancetype.py).
        `old`: the stored resource an update replaces."""
        instancetype.validate(obj, self.db, machine_limits, old)

    def update(self, obj: proto.api.Object, status_only: bool = False, with_status: bool = False) -> proto.api.Object:
        """Replace metadata+spec (or only status; or, for a kind without a status subresource, all three)
        of the stored object, with optimistic concurrency."""
        kind = _check_kind(obj)
        if with_status and proto.KINDS[kind].status_subresource:
            raise Invalid(f"withStatus: {proto.KINDS[kind].kind} has a status subresource: its status is "
                          "written through it")
        _prune(obj)
        if not status_only:
            instancetype.mutate(obj, self.db)
        new = proto.inner(obj)
        ns = (new.metadata.namespace or names.DEFAULT_NAMESPACE) if proto.namespaced(kind) else ""
        stored_obj = self.db.get(kind, ns, new.metadata.name)
        stored = proto.inner(stored_obj)
        expect = new.metadata.resourceVersion or None
        if new.metadata.uid and new.metadata.uid != stored.metadata.uid:
            raise store.Conflict(f'Precondition failed: UID in object meta: {new.metadata.uid}, '
                                 f'UID in store: {stored.metadata.uid}')
        result_obj = proto.api.Object()
        result_obj.CopyFrom(stored_obj)
        result = proto.inner(result_obj)
        if status_only:
            result.status.CopyFrom(new.status)
            validation.size(result_obj)
        else:
            md = result.metadata
            # Server-owned metadata survives; user-owned metadata and the spec are replaced.
            md.ClearField("labels")
            md.labels.update(new.metadata.labels)
            md.ClearField("annotations")
            md.annotations.update(new.metadata.annotations)
            del md.finalizers[:]
            md.finalizers.extend(new.metadata.finalizers)
            del md.ownerReferences[:]
            md.ownerReferences.extend(new.metadata.ownerReferences)
            spec_changed = False
            if "spec" not in result.DESCRIPTOR.fields_by_name:
                # No spec (an Event, a Secret, a ConfigMap): all but the server's metadata is the writer's,
                # stored whole as Kubernetes stores such kinds.
                md_kept, api_version, kind_name = proto.copy(md), result.apiVersion, result.kind
                result.CopyFrom(new)
                result.metadata.CopyFrom(md_kept)
                result.apiVersion, result.kind = api_version, kind_name
                if kind in (proto.SECRET, proto.CONFIG_MAP):
                    configobjects.default(kind, result)
                    configobjects.update(kind, stored, result)
                validation.validate(result_obj, None)
                return self.db.update(result_obj, expect, status=False)
            if kind in (proto.PVC, proto.DV):
                defaults.storage_spec(kind, new.spec)
            if kind != proto.NODE or new.HasField("spec"):
                if result.spec != new.spec:
                    md.generation += 1
                    spec_changed = True
                result.spec.CopyFrom(new.spec)
            # Node limits only judge a new spec: a node shrinking must not block metadata updates.
            if spec_changed:
                self.validate(result_obj, self.machine_limits(), old=stored)
                validation.update(kind, stored, result)
                if kind == proto.VM:
                    instancetype.matcher_update(stored.spec, result.spec)
            elif kind == proto.VMI:   # its metadata: the controllers' labels, a migration's hand-off
                validation.validate(result_obj, spec=False)
            else:
                validation.validate(result_obj, None, instancetype.gates(self.db))
            if with_status:
                result.status.CopyFrom(new.status)
                validation.size(result_obj)
        tracing.keep(result_obj, tracing.kept(obj))
        return self.db.update(result_obj, expect, status=status_only)

    def claim_user(self, namespace: str, claim: str) -> str:
        """`Kind namespace/name` of the first VM or VMI in `namespace` whose volumes (or a pending add
        request) use `claim`, or "". A VM that makes the claim from its own dataVolumeTemplates does not
        hold it (it makes it again, as KubeVirt's VM controller does); its running VMI does."""
        for vm_obj in self.db.list(proto.VM, namespace)[0]:
            vm = proto.inner(vm_obj)
            if any(t.metadata.name == claim for t in vm.spec.dataVolumeTemplates):
                continue
            used = [claim_name(v) for v in vm.spec.template.spec.volumes]
            used += [claim_name(r.addVolumeOptions.volumeSource) for r in vm.status.volumeRequests
                     if r.HasField("addVolumeOptions")]
            if claim in used:
                return f"VirtualMachine {namespace}/{vm.metadata.name}"
        for vmi_obj in self.db.list(proto.VMI, namespace)[0]:
            vmi = proto.inner(vmi_obj)
            if claim in (claim_name(v) for v in vmi.spec.volumes):
                return f"VirtualMachineInstance {namespace}/{vmi.metadata.name}"
        return ""

    def delete(self, kind: proto.api.Kind, namespace: str, name: str, uid: str = "", rv: str = "") -> proto.api.Object:
        obj = self.db.get(kind, namespace, name)
        md = proto.inner(obj).metadata
        if uid and md.uid != uid:
            raise store.Conflict(f"Precondition failed: UID in precondition: {uid}, UID in object meta: {md.uid}")
        if kind in CLAIM_RESOURCE:
            user = self.claim_user(namespace, name)
            if user:
                raise RequestConflict(f'{CLAIM_RESOURCE[kind]} "{name}" is in use by {user}')
        # Graceful, as Kubernetes: with finalizers the object stays until their owners remove them.
        return self.db.delete(obj, rv or None)


def _annotate(obj: proto.api.Object) -> None:
    if tracing.enabled and obj.WhichOneof("kind"):
        res = proto.inner(obj)
        tracing.annotate(kind=res.DESCRIPTOR.name, namespace=res.metadata.namespace, name=res.metadata.name,
                         phase=getattr(getattr(res, "status", None), "phase", "") or "")


class ResourcesServicer(proto.api_grpc.ResourcesServicer):
    def __init__(self, resources: Resources):
        self.r = resources

    @grpc_errors
    async def Create(self, request, context):
        _annotate(request.object)
        return self.r.create(request.object)

    @grpc_errors
    async def Get(self, request, context):
        return self.r.get(*_ref_key(request.ref))

    @grpc_errors
    async def List(self, request, context):
        if request.kind not in proto.KINDS:
            raise Invalid("kind: Required value")
        items, rev = self.r.db.list(request.kind, request.namespace)
        items = [o for o in items if proto.selects(o, request.labelSelector, request.nodeName)]
        return proto.api.ObjectList(items=items, resourceVersion=str(rev))

    @grpc_errors
    async def Update(self, request, context):
        _annotate(request.object)
        return self.r.update(request.object, with_status=request.withStatus)

    @grpc_errors
    async def UpdateStatus(self, request, context):
        _annotate(request.object)
        return self.r.update(request.object, status_only=True)

    @grpc_errors
    async def Delete(self, request, context):
        kind, ns, name = _ref_key(request.ref)
        return self.r.delete(kind, ns, name, request.uid, request.resourceVersion)

    @grpc_errors
    async def Watch(self, request, context):
        if request.kind not in proto.KINDS:
            raise Invalid("kind: Required value")
        try:
            async for typ, obj, rv in self.r.db.watch(request.kind, request.namespace, request.resourceVersion,
                                                      request.nodeName, dict(request.labelSelector)):
                yield proto.api.WatchEvent(type=typ, object=obj, resourceVersion=rv)
        except ValueError as e:
            raise Invalid(str(e)) from None
