"""PersistentVolumeClaim and DataVolume as stored kinds: CRUD + watch, defaulting, Kubernetes/CDI-style
validation, PVC spec immutability, and deletion of a claim in use refused."""
import asyncio

import grpc
import pytest

from services.common import proto

INVALID = grpc.StatusCode.INVALID_ARGUMENT
CONFLICT = grpc.StatusCode.FAILED_PRECONDITION


def pvc(name="data1", size="1Gi", modes=("ReadWriteOnce",), namespace="", **spec):
    p = proto.kv.PersistentVolumeClaim()
    p.metadata.name = name
    if namespace:
        p.metadata.namespace = namespace
    p.spec.accessModes.extend(modes)
    if size is not None:
        p.spec.resources.requests["storage"] = size
    for k, v in spec.items():
        setattr(p.spec, k, v)
    return p


def dv(name="dv1", source="blank", url="", size="1Gi", where="storage"):
    d = proto.kv.DataVolume()
    d.metadata.name = name
    if source == "blank":
        d.spec.source.blank.SetInParent()
    elif source == "http":
        d.spec.source.http.url = url
    elif source == "pvc":
        d.spec.source.pvc.name = "data1"
    if where:
        target = getattr(d.spec, where)
        target.SetInParent()
        if size:
            target.resources.requests["storage"] = size
        if where == "pvc":
            target.accessModes.append("ReadWriteOnce")
    return d


async def create(api, res):
    return proto.inner(await api.stub.Create(proto.api.CreateRequest(object=proto.wrap(res))))


async def get(api, kind, name, ns="default"):
    return proto.inner(await api.stub.Get(proto.api.GetRequest(ref=proto.ref(kind, ns, name))))


async def delete_pvc(api, name="data1"):
    return proto.inner(await api.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.PVC, "default", name))))


async def refused(call, request, code, text):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(request)
    assert (e.value.code(), e.value.details()) == (code, text)


async def refused_create(api, res, text):
    await refused(api.stub.Create, proto.api.CreateRequest(object=proto.wrap(res)), INVALID, text)
    kind = proto.KIND_BY_NAME[res.DESCRIPTOR.name]
    assert not (await api.stub.List(proto.api.ListRequest(kind=kind))).items  # nothing stored


# ---------------------------------------------------------------- CRUD, defaulting, watch

async def test_pvc_create_defaults_and_crud(api_server):
    sent = pvc()
    sent.status.phase = "Bound"  # a status sent with a create is ignored
    out = await create(api_server, sent)
    assert (out.apiVersion, out.kind) == ("v1", "PersistentVolumeClaim")
    assert out.metadata.namespace == "default" and out.metadata.uid and out.metadata.generation == 1
    assert out.spec.volumeMode == "Filesystem"
    assert out.status.phase == "Pending"
    assert list(out.metadata.finalizers) == ["kubernetes.io/pvc-protection"]

    assert await get(api_server, proto.PVC, "data1") == out
    items = (await api_server.stub.List(proto.api.ListRequest(kind=proto.PVC, namespace="default"))).items
    assert [proto.inner(o).metadata.name for o in items] == ["data1"]

    # The node binds it (status) ...
    out.status.phase = "Bound"
    out.status.accessModes.append("ReadWriteOnce")
    out.status.capacity["storage"] = "1Gi"
    bound = proto.inner(await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(out))))
    assert bound.status.phase == "Bound" and bound.metadata.generation == 1
    # ... labels are user metadata ...
    bound.metadata.labels["tier"] = "fast"
    labelled = proto.inner(await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(bound))))
    assert labelled.metadata.labels["tier"] == "fast"

    # Delete waits on the protection finalizer; removing it (the node's job) removes the claim.
    deleting = await delete_pvc(api_server)
    assert deleting.metadata.deletionTimestamp
    del deleting.metadata.finalizers[:]
    await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(deleting)))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await get(api_server, proto.PVC, "data1")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_datavolume_create_defaults_and_delete(api_server):
    out = await create(api_server, dv(source="http", url="https://example.com/disk.qcow2"))
    assert (out.apiVersion, out.kind) == ("cdi.kubevirt.io/v1beta1", "DataVolume")
    assert (out.status.phase, out.status.progress) == ("Pending", "N/A")
    assert not out.metadata.finalizers
    out.status.phase, out.status.progress = "Succeeded", "100.0%"
    done = proto.inner(await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(out))))
    assert done.status.progress == "100.0%"
    await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.DV, "default", "dv1")))
    assert not (await api_server.stub.List(proto.api.ListRequest(kind=proto.DV))).items


async def test_watch_streams_claims_of_their_kind_only(api_server):
    stream = api_server.stub.Watch(proto.api.WatchRequest(kind=proto.PVC, resourceVersion="0"))
    first = await stream.read()
    assert first.type == "BOOKMARK"
    await create(api_server, dv())
    await create(api_server, pvc())
    ev = await asyncio.wait_for(stream.read(), 5)
    assert ev.type == "ADDED" and ev.object.WhichOneof("kind") == "persistentVolumeClaim"
    assert proto.inner(ev.object).metadata.name == "data1"
    stream.cancel()


async def test_namespaces_are_separate(api_server):
    await create(api_server, pvc(namespace="a"))
    await create(api_server, pvc(namespace="b"))
    items = (await api_server.stub.List(proto.api.ListRequest(kind=proto.PVC))).items
    assert sorted(proto.key(proto.inner(o)) for o in items) == ["a/data1", "b/data1"]


# ---------------------------------------------------------------- validation

SUPPORTED_MODES = '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'


@pytest.mark.parametrize("claim, text", [
    (pvc(modes=()), "spec.accessModes: Required value"),
    (pvc(modes=("ReadWriteSometimes",)),
     f'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: {SUPPORTED_MODES}'),
    (pvc(modes=("ReadWriteOncePod", "ReadOnlyMany")),
     "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"),
    (pvc(size=None), "spec.resources.requests[storage]: Required value"),
    (pvc(size="0"), 'spec.resources.requests[storage]: Invalid value: "0": must be greater than 0'),
    (pvc(size="lots"), "spec.resources.requests[storage]: Invalid value: \"lots\": quantities must match the "
                       "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got 'lots'"),
    (pvc(volumeMode="Block"), 'spec.volumeMode: Unsupported value: "Block": supported values: "Filesystem"'),
    (pvc(name="Data_1"), 'metadata.name: Invalid value: "Data_1": a lowercase RFC 1123 subdomain must consist of '
                         "lower case alphanumeric characters, '-' or '.', and must start and end with an "
                         "alphanumeric character (at most 253 characters)"),
])
async def test_pvc_validation(api_server, claim, text):
    await refused_create(api_server, claim, text)


def _dv_two_sources():
    d = dv()
    d.spec.source.http.url = "https://example.com/a.img"
    return d


def _dv_both_targets():
    d = dv()
    d.spec.pvc.CopyFrom(d.spec.storage)
    d.spec.pvc.accessModes.append("ReadWriteOnce")
    return d


@pytest.mark.parametrize("volume, text", [
    (dv(source=None), "spec.source: Required value: exactly one of http, blank or pvc"),
    (_dv_two_sources(), "spec.source: Invalid value: Multiple Data volume sources (http, blank): "
                        "exactly one of http, blank or pvc"),
    (dv(source="http", url=""), "spec.source.http.url: Required value"),
    (dv(source="http", url="ftp://example.com/a.img"),
     'spec.source.http.url: Invalid value: "ftp://example.com/a.img": Invalid source URL: the scheme must be '
     "file, http or https (or an absolute path)"),
    (dv(source="http", url="images/a.img"),
     'spec.source.http.url: Invalid value: "images/a.img": Invalid source URL: the scheme must be '
     "file, http or https (or an absolute path)"),
    (dv(where=None), "spec.storage: Required value: Data volume should have either PVC or Storage"),
    (_dv_both_targets(), "spec: Invalid value: Data volume should have either PVC or Storage, not both"),
    (dv(size=None), "spec.storage.resources.requests[storage]: Required value"),
    (dv(where="pvc", size=None), "spec.pvc.resources.requests[storage]: Required value"),
])
async def test_datavolume_validation(api_server, volume, text):
    await refused_create(api_server, volume, text)


@pytest.mark.parametrize("url", ["file:///var/images/a.img", "/var/images/a.img", "http://h/a.img",
                                 "HTTPS://h/a.img"])
async def test_datavolume_accepts_file_http_https_and_absolute_paths(api_server, url, monkeypatch):
    monkeypatch.setenv("VIRTMESH_HOST_PATHS", "/var/images")   # the operator allows file sources there
    out = await create(api_server, dv(source="http", url=url))
    assert out.spec.source.http.url == url


async def test_datavolume_storage_may_leave_access_modes_empty_but_pvc_may_not(api_server):
    await create(api_server, dv(name="ok"))  # spec.storage without accessModes: CDI picks them
    d = dv(name="bad", where="pvc")
    del d.spec.pvc.accessModes[:]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await create(api_server, d)
    assert (e.value.code(), e.value.details()) == (INVALID, "spec.pvc.accessModes: Required value")


# ---------------------------------------------------------------- PVC immutability

IMMUTABLE = ("spec: Forbidden: spec is immutable after creation except resources.requests and "
             "volumeAttributesClassName for bound claims")


async def _bound(api, size="1Gi"):
    p = await create(api, pvc(size=size))
    p.status.phase = "Bound"
    return proto.inner(await api.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(p))))


async def test_pvc_spec_is_immutable_but_a_bound_claim_may_grow(api_server):
    p = await _bound(api_server)
    rv = p.metadata.resourceVersion
    shrink = "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
    for change, text in ((lambda s: s.accessModes.append("ReadOnlyMany"), IMMUTABLE),
                         (lambda s: setattr(s, "storageClassName", "fast"), IMMUTABLE),
                         (lambda s: s.resources.limits.__setitem__("storage", "5Gi"), IMMUTABLE),
                         (lambda s: s.resources.requests.__setitem__("storage", "512Mi"), shrink)):
        edited = proto.copy(p)
        change(edited.spec)
        await refused(api_server.stub.Update, proto.api.UpdateRequest(object=proto.wrap(edited)), INVALID, text)
    assert (await get(api_server, proto.PVC, "data1")).metadata.resourceVersion == rv

    grown = proto.copy(p)
    grown.spec.resources.requests["storage"] = "2Gi"
    out = proto.inner(await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(grown))))
    assert out.spec.resources.requests["storage"] == "2Gi" and out.metadata.generation == 2


async def test_binding_may_set_volume_name_once(api_server):
    p = await create(api_server, pvc())
    p.spec.volumeName = "pv-1"
    p = proto.inner(await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(p))))
    assert p.spec.volumeName == "pv-1"
    p.spec.volumeName = "pv-2"
    await refused(api_server.stub.Update, proto.api.UpdateRequest(object=proto.wrap(p)), INVALID, IMMUTABLE)


async def test_pvc_shrink_names_the_size_field(api_server):
    p = await _bound(api_server)
    p.spec.resources.requests["storage"] = "512Mi"
    await refused(api_server.stub.Update, proto.api.UpdateRequest(object=proto.wrap(p)), INVALID,
                  "spec.resources.requests.storage: Forbidden: field can not be less than previous value")


async def test_pending_pvc_cannot_be_resized(api_server):
    p = await create(api_server, pvc())
    p.spec.resources.requests["storage"] = "2Gi"
    await refused(api_server.stub.Update, proto.api.UpdateRequest(object=proto.wrap(p)), INVALID, IMMUTABLE)


async def test_pvc_update_without_volume_mode_is_defaulted_not_a_change(api_server):
    p = await create(api_server, pvc())
    p.spec.ClearField("volumeMode")  # a re-applied manifest that never said it
    out = proto.inner(await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(p))))
    assert out.spec.volumeMode == "Filesystem" and out.metadata.generation == 1


async def test_datavolume_spec_is_immutable(api_server):
    d = await create(api_server, dv())
    d.spec.storage.resources.requests["storage"] = "2Gi"
    await refused(api_server.stub.Update, proto.api.UpdateRequest(object=proto.wrap(d)), INVALID,
                  "spec: Forbidden: DataVolume spec is immutable after creation")


# ---------------------------------------------------------------- deleting a claim in use

def _vm(name="vm1", claim="data1", source="persistentVolumeClaim", namespace=""):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name = name
    if namespace:
        vm.metadata.namespace = namespace
    vm.spec.runStrategy = "Halted"
    spec = vm.spec.template.spec
    spec.domain.memory.guest = "64Mi"
    if claim:
        v = spec.volumes.add(name="disk1")
        if source == "persistentVolumeClaim":
            v.persistentVolumeClaim.claimName = claim
        else:
            v.dataVolume.name = claim
        spec.domain.devices.disks.add(name="disk1").disk.bus = "virtio"
    return vm


def _vmi(name="vmi1", claim="data1"):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = name
    vmi.spec.domain.memory.guest = "64Mi"
    vmi.spec.volumes.add(name="disk1").persistentVolumeClaim.claimName = claim
    vmi.spec.domain.devices.disks.add(name="disk1")
    return vmi


async def _refused_delete(api, kind, name, text):
    before = await get(api, kind, name)
    await refused(api.stub.Delete, proto.api.DeleteRequest(ref=proto.ref(kind, "default", name)), CONFLICT, text)
    after = await get(api, kind, name)
    assert after.metadata.resourceVersion == before.metadata.resourceVersion
    assert not after.metadata.deletionTimestamp


async def test_delete_pvc_used_by_vm_template_is_refused(api_server):
    await create(api_server, pvc())
    await create(api_server, _vm())
    await _refused_delete(api_server, proto.PVC, "data1",
                          'persistentvolumeclaims "data1" is in use by VirtualMachine default/vm1')
    # Once the VM is gone the claim may go.
    await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VM, "default", "vm1")))
    out = await delete_pvc(api_server)
    assert out.metadata.deletionTimestamp


async def test_delete_pvc_used_by_vmi_is_refused(api_server):
    await create(api_server, pvc())
    await create(api_server, _vmi())
    await _refused_delete(api_server, proto.PVC, "data1",
                          'persistentvolumeclaims "data1" is in use by VirtualMachineInstance default/vmi1')


async def test_delete_pvc_named_by_a_pending_add_request_is_refused(api_server):
    await create(api_server, pvc())
    vm = await create(api_server, _vm(claim=""))
    req = vm.status.volumeRequests.add()
    req.addVolumeOptions.name = "data1"
    req.addVolumeOptions.volumeSource.persistentVolumeClaim.claimName = "data1"
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vm)))
    await _refused_delete(api_server, proto.PVC, "data1",
                          'persistentvolumeclaims "data1" is in use by VirtualMachine default/vm1')


async def test_datavolume_and_its_pvc_are_both_in_use_through_a_datavolume_volume(api_server):
    await create(api_server, dv(name="dv1"))
    await create(api_server, pvc(name="dv1"))  # CDI's PVC of the same name
    await create(api_server, _vm(claim="dv1", source="dataVolume"))
    await _refused_delete(api_server, proto.DV, "dv1",
                          'datavolumes.cdi.kubevirt.io "dv1" is in use by VirtualMachine default/vm1')
    await _refused_delete(api_server, proto.PVC, "dv1",
                          'persistentvolumeclaims "dv1" is in use by VirtualMachine default/vm1')


async def test_claim_in_use_only_counts_in_its_namespace(api_server):
    await create(api_server, pvc())
    await create(api_server, _vm(namespace="other"))
    out = await delete_pvc(api_server)
    assert out.metadata.deletionTimestamp


async def test_unused_datavolume_deletes_at_once(api_server):
    await create(api_server, dv())
    await create(api_server, _vm(claim="other"))
    await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.DV, "default", "dv1")))
    assert not (await api_server.stub.List(proto.api.ListRequest(kind=proto.DV))).items
