"""An informer whose resume point the store compacted away (issue 13: bounded history) gets
OUT_OF_RANGE, relists, and ends with exactly the store's objects (what went meanwhile is dropped)."""
import asyncio

from services.common import client, informer, proto


def _vm(name: str):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name, vm.metadata.namespace = name, "default"
    vm.spec.runStrategy = "Halted"
    vm.spec.template.spec.domain.memory.guest = "64Mi"
    return vm


async def _until(cond, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_an_informer_behind_the_compacted_history_relists(api_server):
    api_server.db.history_events = 8  # a tiny window: compacted past any resume point below
    api = client.ApiClient(api_server.target)
    vms = informer.Informer(api.channel, proto.VM, lambda key: None)
    task = asyncio.create_task(vms.run())
    try:
        await asyncio.wait_for(vms.synced.wait(), 10)
        await api.create(_vm("a"))
        await api.create(_vm("b"))
        await _until(lambda: vms.get("default/b") is not None)
        task.cancel()  # the informer is away; meanwhile "a" goes and many writes pass
        resume = vms.resource_version
        await api.delete(proto.VM, "default", "a")
        for i in range(20):
            await api.create(_vm(f"n{i}"))
        assert api_server.db.compacted > int(resume)
        assert vms.get("default/a") is not None  # stale until it relists
        task = asyncio.create_task(vms.run())
        await _until(lambda: vms.get("default/a") is None and vms.get("default/n19") is not None)
        assert sorted(vms.cache) == sorted(["default/b"] + [f"default/n{i}" for i in range(20)])
    finally:
        task.cancel()
        await api.close()
