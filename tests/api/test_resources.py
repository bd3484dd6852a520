"""The api's Resources service over gRPC: defaulting, validation, concurrency, watch resume."""
import asyncio

import grpc
import pytest

from services.common import manifest, proto

VM = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "testvm"},
    "spec": {"runStrategy": "Always", "template": {"spec": {
        "domain": {"resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}},
}


def vm_obj(**changes):
    import copy
    d = copy.deepcopy(VM)
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return manifest.to_object(d)


async def test_create_defaults(api_server):
    out = await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj()))
    md = out.virtualMachine.metadata
    assert md.namespace == "default" and md.uid and md.generation == 1 and md.creationTimestamp
    assert md.resourceVersion == "1"


async def test_vmi_create_gets_finalizer_and_arch_defaults(api_server):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "v"
    vmi.spec.domain.memory.guest = "64Mi"
    out = (await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    assert list(out.metadata.finalizers) == ["foregroundDeleteVirtualMachine"]
    assert out.spec.architecture == "amd64" and out.spec.domain.machine.type == "q35"
    assert out.spec.terminationGracePeriodSeconds == 30


@pytest.mark.parametrize("changes, message", [
    ({"metadata__name": ""}, "metadata.name: Required value"),
    ({"metadata__name": "Bad_Name"}, 'metadata.name: Invalid value: "Bad_Name"'),
    ({"spec__runStrategy": "Sometimes"}, 'spec.runStrategy: Unsupported value: "Sometimes"'),
    ({"spec__running": True}, "spec.running: Running and RunStrategy are mutually exclusive"),
    ({"spec__template__spec__domain__resources__requests__memory": "lots"},
     'spec.template.spec.domain.resources.requests.memory: Invalid value: "lots"'),
    ({"spec__template__spec__domain__devices__disks": [{"name": "d", "disk": {}}]},
     "spec.template.spec.domain.devices.disks[0].name: d must have a matching volume"),
    ({"spec__template__spec__volumes": [{"name": "d"}]},
     "spec.template.spec.volumes[0]: must have exactly one volume source"),
])
async def test_invalid_objects_are_rejected_and_not_stored(api_server, changes, message):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj(**changes)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith(message)
    assert api_server.db.revision == 0


async def test_missing_memory_is_named(api_server):
    obj = vm_obj()
    obj.virtualMachine.spec.template.spec.domain.resources.ClearField("requests")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=obj))
    assert "spec.template.spec.domain.resources.requests.memory: Required value" in e.value.details()


async def test_stale_update_is_aborted(api_server):
    created = await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj()))
    first = proto.api.Object()
    first.CopyFrom(created)
    first.virtualMachine.metadata.labels["a"] = "1"
    updated = await api_server.stub.Update(proto.api.UpdateRequest(object=first))
    assert updated.virtualMachine.metadata.resourceVersion == "2"
    assert updated.virtualMachine.metadata.generation == 1  # labels are not spec
    stale = proto.api.Object()
    stale.CopyFrom(created)
    stale.virtualMachine.spec.runStrategy = "Halted"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Update(proto.api.UpdateRequest(object=stale))
    assert e.value.code() == grpc.StatusCode.ABORTED
    assert "the object has been modified" in e.value.details()
    got = await api_server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, "default", "testvm")))
    assert got.virtualMachine.spec.runStrategy == "Always" and got.virtualMachine.metadata.labels["a"] == "1"


async def test_spec_change_bumps_generation_and_status_is_separate(api_server):
    created = (await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj()))).virtualMachine
    created.spec.runStrategy = "Halted"
    created.status.printableStatus = "Hacked"
    out = (await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(created)))).virtualMachine
    assert out.metadata.generation == 2 and out.status.printableStatus == ""
    out.status.printableStatus = "Stopped"
    out.spec.runStrategy = "Always"
    st = (await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(out)))).virtualMachine
    assert st.status.printableStatus == "Stopped" and st.spec.runStrategy == "Halted"


async def test_a_vmi_is_written_whole_in_one_update_with_status(api_server):
    """KubeVirt's VMI has no status subresource: withStatus writes its labels and status in one revision
    (the migration hand-off's single write); a kind with one (a VM) refuses it, naming why."""
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "w"
    vmi.spec.domain.memory.guest = "64Mi"
    created = (await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    created.metadata.labels["kubevirt.io/migrationTargetNodeName"] = "node02"
    created.status.migrationState.targetNode = "node02"
    out = (await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(created), withStatus=True)))
    out = out.virtualMachineInstance
    assert int(out.metadata.resourceVersion) == int(created.metadata.resourceVersion) + 1
    assert out.metadata.labels["kubevirt.io/migrationTargetNodeName"] == "node02"
    assert out.status.migrationState.targetNode == "node02"
    out.status.migrationState.targetNode = "node03"   # without withStatus, a status sent along is not written
    plain = (await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(out)))).virtualMachineInstance
    assert plain.status.migrationState.targetNode == "node02"
    vm = (await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj()))).virtualMachine
    vm.status.printableStatus = "Hacked"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(vm), withStatus=True))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith("withStatus: VirtualMachine has a status subresource")


async def test_finalizers_hold_deletion(api_server):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "v"
    vmi.spec.domain.memory.guest = "64Mi"
    await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi)))
    ref = proto.ref(proto.VMI, "default", "v")
    held = (await api_server.stub.Delete(proto.api.DeleteRequest(ref=ref))).virtualMachineInstance
    assert held.metadata.deletionTimestamp
    held.metadata.ClearField("finalizers")
    await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(held)))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Get(proto.api.GetRequest(ref=ref))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def _collect(stream, n):
    out = []
    async for ev in stream:
        if ev.type != "BOOKMARK":
            out.append(ev)
        if len(out) == n:
            return out


async def test_watch_resumes_after_reconnect(api_server):
    stub = api_server.stub
    for n in ("a", "b"):
        await stub.Create(proto.api.CreateRequest(object=vm_obj(metadata__name=n)))
    first = stub.Watch(proto.api.WatchRequest(kind=proto.VM))
    seen = await asyncio.wait_for(_collect(first, 2), 5)
    assert [e.type for e in seen] == ["ADDED", "ADDED"]
    last = seen[-1].resourceVersion
    first.cancel()  # the client goes away; meanwhile things change
    await stub.Create(proto.api.CreateRequest(object=vm_obj(metadata__name="c")))
    await stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VM, "default", "a")))
    resumed = stub.Watch(proto.api.WatchRequest(kind=proto.VM, resourceVersion=last))
    events = await asyncio.wait_for(_collect(resumed, 2), 5)
    assert [(e.type, e.object.virtualMachine.metadata.name) for e in events] == [("ADDED", "c"), ("DELETED", "a")]
    resumed.cancel()


async def test_watch_from_compacted_revision_is_gone(api_server):
    api_server.db.history_events = 2   # a busy history: compacted at the next writes
    for i in range(4):
        await api_server.stub.Create(proto.api.CreateRequest(object=vm_obj(metadata__name=f"vm{i}")))
    assert api_server.db.compacted > 1
    stream = api_server.stub.Watch(proto.api.WatchRequest(kind=proto.VM, resourceVersion="1"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        async for _ in stream:
            pass
    assert e.value.code() == grpc.StatusCode.OUT_OF_RANGE


async def test_health_and_reflection(api_server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    h = await health_pb2_grpc.HealthStub(api_server.channel).Check(
        health_pb2.HealthCheckRequest(service="virtmesh.v1.Resources"))
    assert h.status == health_pb2.HealthCheckResponse.SERVING

    async def reqs():
        yield reflection_pb2.ServerReflectionRequest(list_services="")
    async for resp in reflection_pb2_grpc.ServerReflectionStub(api_server.channel).ServerReflectionInfo(reqs()):
        names = {s.name for s in resp.list_services_response.service}
        assert {"virtmesh.v1.Resources", "virtmesh.v1.Subresources", "grpc.health.v1.Health"} <= names
        break
