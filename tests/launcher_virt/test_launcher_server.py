"""The launcher's Cmd service against libvirt's test driver: what a sync replies, and that its
domain watcher stops when cancelled."""
import asyncio

import pytest

pytest.importorskip("libvirt")

from services.common import proto  # noqa: E402
from services.launcher import server  # noqa: E402

L = proto.launcher


def _launcher(tmp_path, name: str) -> server.Launcher:
    return server.Launcher("test:///default", f"uid-{name}", "ns", name, str(tmp_path), "emulation")


def _vmi(name: str):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace, vmi.metadata.uid = name, "ns", f"uid-{name}"
    vmi.spec.domain.memory.guest = "64Mi"
    return vmi


async def test_a_sync_replies_with_the_started_domain_and_its_revision(tmp_path):
    launcher = _launcher(tmp_path, "sync1")
    try:
        resp = await launcher.SyncVirtualMachine(L.VMIRequest(vmi=_vmi("sync1")), None)
        assert resp.success, resp.message
        assert (resp.domain.exists, resp.domain.state) == (True, "Running")
        first = resp.domain.revision
        assert first > 0 and resp.domain == launcher.domain  # what the event stream publishes too
        # Every published change gets the next revision; a sync that changes nothing keeps it.
        again = await launcher.SyncVirtualMachine(L.VMIRequest(vmi=_vmi("sync1")), None)
        assert again.success and again.domain.revision == first
        await launcher.PauseVirtualMachine(L.EmptyRequest(), None)
        await launcher.refresh()
        assert launcher.domain.state == "Paused" and launcher.domain.revision == first + 1
    finally:
        launcher.hv.destroy()
        launcher.hv.undefine()


async def test_the_domain_watcher_ends_when_cancelled_as_it_wakes(tmp_path):
    launcher = _launcher(tmp_path, "watch1")
    watcher = asyncio.create_task(launcher.watch_domain())
    await asyncio.sleep(0.1)   # waiting for a wake-up (or the poll)
    launcher._wake.set()       # a libvirt event and the cancellation in the same loop iteration:
    watcher.cancel()           # Python 3.11's wait_for returned the event and dropped the cancel
    done, _ = await asyncio.wait([watcher], timeout=3)
    assert watcher in done and watcher.cancelled()
