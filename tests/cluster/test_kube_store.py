"""services/common/kube.py and KubeInformer against a real kube-apiserver: our messages in and out,
Kubernetes' answers as our gRPC status errors, Kubernetes' own kinds kept whole, and an informer that
resumes and relists (410 Gone) like client-go's reflector."""
from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common import client, informer, kube, manifest, proto

pytestmark = pytest.mark.cluster

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}, namespace: default}}
spec:
  runStrategy: Halted
  template:
    spec:
      domain: {{devices: {{}}, memory: {{guest: 64Mi}}}}
"""


def vm(name: str) -> proto.api.Object:
    return manifest.to_object(manifest.load_documents(VM.format(name=name))[0])


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value.code()


def test_writes_and_their_errors(control_plane):
    k = control_plane.kube
    created = k.create(vm("store1"))
    res = proto.inner(created)
    assert res.metadata.uid and res.metadata.resourceVersion
    assert code_of(lambda: k.create(vm("store1"))) == grpc.StatusCode.ALREADY_EXISTS
    assert code_of(lambda: k.get(proto.VM, "default", "nope")) == grpc.StatusCode.NOT_FOUND
    res.spec.runStrategy = "Manual"
    updated = proto.inner(k.update(proto.wrap(res)))
    assert updated.spec.runStrategy == "Manual" and updated.metadata.generation == 2
    # A write from the stale version is our stale-write error; the stored object is unchanged.
    res.spec.runStrategy = "Always"
    assert code_of(lambda: k.update(proto.wrap(res))) == grpc.StatusCode.ABORTED
    assert proto.inner(k.get(proto.VM, "default", "store1")).spec.runStrategy == "Manual"
    # The VM's status goes through its status subresource, which ignores the spec.
    updated.status.printableStatus = "Stopped"
    updated.spec.runStrategy = "Always"
    after = proto.inner(k.update(proto.wrap(updated), status=True))
    assert (after.status.printableStatus, after.spec.runStrategy) == ("Stopped", "Manual")
    # A delete with a uid precondition of another object is refused.
    other = proto.copy(after)
    other.metadata.uid = "00000000-0000-0000-0000-000000000000"
    assert code_of(lambda: k.delete(proto.wrap(other))) == grpc.StatusCode.ABORTED
    k.delete(proto.wrap(after))
    assert code_of(lambda: k.get(proto.VM, "default", "store1")) == grpc.StatusCode.NOT_FOUND


def test_traceparent_rides_as_an_annotation_and_int64_as_a_number(control_plane):
    k = control_plane.kube
    obj = vm("store2")
    obj.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    obj.tracestate = "vendor=abc,vm=1"
    back = k.create(obj)
    assert (back.traceparent, back.tracestate) == (obj.traceparent, obj.tracestate)
    annotations = proto.inner(back).metadata.annotations
    assert annotations[kube.TRACEPARENT_ANNOTATION] == obj.traceparent
    assert annotations[kube.TRACESTATE_ANNOTATION] == obj.tracestate
    # A later write's traceparent without a tracestate: the earlier tracestate is not its.
    back.traceparent, back.tracestate = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""
    back = k.update(back)
    assert back.tracestate == "" and kube.TRACESTATE_ANNOTATION not in proto.inner(back).metadata.annotations
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace = "store2", "default"
    vmi.spec.domain.memory.guest = "64Mi"
    vmi.status.volumeStatus.add(name="disk", size=10 * 2 ** 30)
    stored = proto.inner(k.create(proto.wrap(vmi)))
    assert stored.status.volumeStatus[0].size == 10 * 2 ** 30
    k.delete(proto.wrap(stored))
    k.delete(back)


def test_kubernetes_own_kinds_keep_the_fields_we_do_not_model(control_plane):
    k = control_plane.kube
    k.request("POST", "/api/v1/nodes", body={
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "keeper", "labels": {"a": "1", "stale": "x"}},
        "spec": {"podCIDR": "10.1.0.0/24", "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}})
    node = proto.inner(k.get(proto.NODE, "", "keeper"))
    node.metadata.labels.pop("stale")
    node.metadata.labels["kubevirt.io/schedulable"] = "true"
    k.update(proto.wrap(node))
    raw = k.get_raw(proto.NODE, "", "keeper")
    assert raw["metadata"]["labels"] == {"a": "1", "kubevirt.io/schedulable": "true"}
    assert raw["spec"]["podCIDR"] == "10.1.0.0/24" and raw["spec"]["taints"][0]["key"] == "k"
    k.delete(proto.wrap(node))


async def test_informer_lists_watches_and_relists_after_410(control_plane):
    k = control_plane.kube
    changes: list[str] = []
    inf = informer.KubeInformer(k, proto.VM, changes.append)
    # As if it had synced long ago: a resourceVersion the apiserver has compacted, and an object
    # deleted meanwhile. The watch is answered 410 Gone; the informer relists and drops the ghost.
    inf.resource_version = "1"
    ghost = proto.inner(vm("ghost"))
    ghost.metadata.resourceVersion = "1"
    inf.cache["default/ghost"] = ghost
    await asyncio.to_thread(k.create, vm("present"))
    task = asyncio.create_task(inf.run())
    try:
        for _ in range(100):
            if "default/present" in inf.cache and "default/ghost" not in inf.cache:
                break
            await asyncio.sleep(0.1)
        assert set(inf.cache) >= {"default/present"} and "default/ghost" not in inf.cache
        assert "default/ghost" in changes
        # Then it follows: a new object and a deletion arrive through the watch.
        await asyncio.to_thread(k.create, vm("later"))
        for _ in range(100):
            if "default/later" in inf.cache:
                break
            await asyncio.sleep(0.05)
        assert "default/later" in inf.cache
        later = await asyncio.to_thread(k.get, proto.VM, "default", "later")
        await asyncio.to_thread(k.delete, later)
        for _ in range(100):
            if "default/later" not in inf.cache:
                break
            await asyncio.sleep(0.05)
        assert "default/later" not in inf.cache
    finally:
        task.cancel()
        for name in ("present",):
            await asyncio.to_thread(k.delete, await asyncio.to_thread(k.get, proto.VM, "default", name))


async def test_client_writes_go_into_the_cache_at_once(control_plane):
    api = client.KubeApiClient(control_plane.kubeconfig, "test")
    inf = api.informer(proto.VM, lambda key: None)
    api.track(inf)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 10)
        made = await api.create(proto.inner(vm("mine")))
        assert inf.get("default/mine").metadata.resourceVersion == made.metadata.resourceVersion
        assert await api.delete(proto.VM, "default", "mine", uid="not-its-uid") is None
        assert await api.get_or_none(proto.VM, "default", "mine") is not None
        await api.delete(proto.VM, "default", "mine")
        assert await api.get_or_none(proto.VM, "default", "mine") is None
    finally:
        task.cancel()
        await api.close()


async def test_the_api_store_watches_like_the_sqlite_store(control_plane):
    """The api's gRPC Watch over the cluster (services/api/store/kube.py): the objects as ADDED, a
    BOOKMARK, then the changes; and its Node list comes from a watch cache."""
    from services.api import store as api_store
    s = api_store.KubeStore(kube.api_client(control_plane.kubeconfig, "test"))
    await asyncio.to_thread(s.create, vm("watched"))
    events = s.watch(proto.VM, "default", "")
    try:
        typ, obj, _ = await asyncio.wait_for(events.__anext__(), 10)
        assert (typ, proto.inner(obj).metadata.name) == ("ADDED", "watched")
        assert (await asyncio.wait_for(events.__anext__(), 10))[0] == "BOOKMARK"
        await asyncio.to_thread(s.delete, await asyncio.to_thread(s.get, proto.VM, "default", "watched"))
        typ, obj, _ = await asyncio.wait_for(events.__anext__(), 10)
        assert (typ, proto.inner(obj).metadata.name) == ("DELETED", "watched")
    finally:
        await events.aclose()
    nodes, _ = await asyncio.to_thread(s.list, proto.NODE)
    direct, _ = await asyncio.to_thread(kube.Kube.list, s, proto.NODE)
    assert sorted(proto.inner(n).metadata.name for n in nodes) == sorted(proto.inner(n).metadata.name for n in direct)
    s.close()
