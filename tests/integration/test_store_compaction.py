"""An informer whose resume point the store compacted away (issue 13: bounded history) gets
OUT_OF_RANGE, relists, and ends with exactly the store's objects (what went meanwhile is dropped)."""
import asyncio

from harness import halted_vm, until
from services.common import client, informer, proto


async def test_an_informer_behind_the_compacted_history_relists(api_server):
    api_server.db.history_events = 8  # a tiny window: compacted past any resume point below
    api = client.ApiClient(api_server.target)
    vms = informer.Informer(api.channel, proto.VM, lambda key: None)
    task = asyncio.create_task(vms.run())
    try:
        await asyncio.wait_for(vms.synced.wait(), 10)
        await api.create(halted_vm("a"))
        await api.create(halted_vm("b"))
        await until(lambda: vms.get("default/b") is not None)
        task.cancel()  # the informer is away; meanwhile "a" goes and many writes pass
        resume = vms.resource_version
        await api.delete(proto.VM, "default", "a")
        for i in range(20):
            await api.create(halted_vm(f"n{i}"))
        assert api_server.db.compacted > int(resume)
        assert vms.get("default/a") is not None  # stale until it relists
        task = asyncio.create_task(vms.run())
        await until(lambda: vms.get("default/a") is None and vms.get("default/n19") is not None)
        assert sorted(vms.cache) == sorted(["default/b"] + [f"default/n{i}" for i in range(20)])
    finally:
        task.cancel()
        await api.close()
