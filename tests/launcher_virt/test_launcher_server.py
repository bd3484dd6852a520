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


async def _until(what, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not what():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


async def test_a_domain_migrating_away_is_read_only_once_the_job_ends(tmp_path):
    """While libvirt's job moves the domain away, its events (the switchover's pause) wake no read of it: the
    read would call its libvirtd just then. The job's end, however it ends (here a failure), reads it."""
    from services.launcher import migration, virt
    launcher = _launcher(tmp_path, "away1")
    watcher = None
    try:
        assert (await launcher.SyncVirtualMachine(L.VMIRequest(vmi=_vmi("away1")), None)).success
        watcher = asyncio.create_task(launcher.watch_domain())
        await asyncio.sleep(0.1)
        launcher.outgoing = True   # what MigrateVirtualMachine sets before libvirt's call
        launcher.hv._domain().suspend()   # libvirt's event wakes the watcher
        await asyncio.sleep(0.5)
        assert launcher.domain.state == "Running"   # not read
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(virt.VirtError("migration failed", 1, "the target went away"))
        await migration.Migration(launcher)._run(_vmi("away1"), proto.lmigration.MigrationOptions(
            progressTimeout=150, completionTimeoutPerGiB=150), launcher.hv._domain(), failed, 0)
        assert not launcher.outgoing and launcher.migration.failed
        await _until(lambda: launcher.domain.state == "Paused")
    finally:
        if watcher is not None:
            watcher.cancel()
        launcher.hv.destroy()
        launcher.hv.undefine()


async def test_a_new_definition_wakes_no_read_and_other_lifecycle_events_do(tmp_path):
    """A migration persists the domain it brings ~3 ms before it resumes it: the definition's event wakes
    nothing (RESUMED does), nor does a definer's (STARTED follows); a changed definition still does."""
    import libvirt
    woken = []
    hv = server.virt.Hypervisor("test:///default", "ns_ev1", on_event=lambda: woken.append(1))

    class Dom:
        def name(self):
            return "ns_ev1"
    for event, detail, wakes in ((libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED, False),
                                 (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_UPDATED, True),
                                 (libvirt.VIR_DOMAIN_EVENT_RESUMED, libvirt.VIR_DOMAIN_EVENT_RESUMED_MIGRATED, True),
                                 (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_STARTED_BOOTED, True)):
        woken.clear()
        hv._lifecycle_event(None, Dom(), event, detail, None)
        assert bool(woken) == wakes, (event, detail)
