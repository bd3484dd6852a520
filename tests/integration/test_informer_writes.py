"""Informer + ApiClient against a real api server (tests/conftest.py's, over gRPC and SQLite):
the result of a write of ours is in the cache at once (no stale read before the write's own
event), and that event is no news."""
import asyncio

from harness import halted_vm, until
from services.common import client, informer, proto


async def test_our_writes_are_in_the_cache_at_once_and_their_events_are_no_news(api_server):
    api = client.ApiClient(api_server.target)
    changes: list[str] = []
    vms = informer.Informer(api.channel, proto.VM, changes.append)
    api.track(vms)
    task = asyncio.create_task(vms.run())
    try:
        await asyncio.wait_for(vms.synced.wait(), 10)
        created = await api.create(halted_vm("a"))
        assert vms.get("default/a").metadata.resourceVersion == created.metadata.resourceVersion
        assert changes == ["default/a"]  # reported at once, by the write
        created.status.printableStatus = "Stopped"
        first = await api.update_status(created)
        first.status.printableStatus = "Starting"
        second = await api.update_status(first)
        assert vms.get("default/a").status.printableStatus == "Starting"
        # The three events arrive and change nothing: no stale state, no second report.
        await until(lambda: vms.resource_version == second.metadata.resourceVersion)
        assert vms.get("default/a").metadata.resourceVersion == second.metadata.resourceVersion
        assert changes == ["default/a"] * 3
        # A reply that comes after the watch passed its revision (here: the object's deletion)
        # does not bring the object back.
        await api.delete(proto.VM, "default", "a")
        await until(lambda: vms.get("default/a") is None)
        vms.observe(proto.wrap(second))
        assert vms.get("default/a") is None
        # Someone else's write still arrives through the watch.
        await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(halted_vm("b"))))
        await until(lambda: vms.get("default/b") is not None)
    finally:
        task.cancel()
        await api.close()


async def test_a_node_scoped_informer_takes_only_its_node_s_objects(api_server):
    api = client.ApiClient(api_server.target)
    vmis = informer.Informer(api.channel, proto.VMI, lambda key: None, node_name="node01")
    api.track(vmis)
    try:
        vmi = proto.kv.VirtualMachineInstance()
        vmi.metadata.name, vmi.metadata.namespace = "elsewhere", "default"
        vmi.spec.domain.memory.guest = "64Mi"
        vmi = await api.create(vmi)
        assert vmis.get("default/elsewhere") is None       # no node yet: not this node's
        vmi.status.nodeName = "node02"
        await api.update_status(vmi)
        assert vmis.get("default/elsewhere") is None       # another node's
    finally:
        await api.close()
