"""PrepareMigrationSource against libvirt's test driver: the source domain's migratable XML read while the
target gets ready is what the migration's call uses, unless the domain changed since."""
import asyncio

import pytest

pytest.importorskip("libvirt")

from services.common import proto  # noqa: E402
from services.launcher import migration as lm  # noqa: E402
from services.launcher import server  # noqa: E402

L, LM = proto.launcher, proto.lmigration


def _vmi(name: str, migration_uid: str = "mig-1"):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace, vmi.metadata.uid = name, "ns", f"uid-{name}"
    vmi.spec.domain.memory.guest = "64Mi"
    vmi.status.migrationState.migrationUid = migration_uid
    return vmi


@pytest.fixture
async def source(tmp_path):
    launcher = server.Launcher("test:///default", "uid-prep", "ns", "prep", str(tmp_path), "emulation")
    resp = await launcher.SyncVirtualMachine(L.VMIRequest(vmi=_vmi("prep")), None)
    assert resp.success, resp.message
    mig = lm.Migration(launcher)
    reads = []
    real = mig._read_source
    mig._read_source = lambda uid: reads.append(1) or real(uid)
    yield launcher, mig, reads
    launcher.hv.destroy()
    launcher.hv.undefine()


async def _begin(mig, vmi):
    """The migration's call as MigrateVirtualMachine starts it (the test driver then refuses it)."""
    ready = proto.copy(vmi)
    ready.status.migrationState.targetNodeAddress = "192.0.2.2"
    ready.status.migrationState.targetLauncherDirectory = "/elsewhere"
    mig.meta = LM.MigrationMetadata(uid=vmi.status.migrationState.migrationUid)
    begun = await mig._begin(ready, LM.MigrationOptions())
    assert begun is not None
    await asyncio.gather(begun[1], return_exceptions=True)


async def test_the_call_uses_what_was_prepared_for_its_migration(source):
    launcher, mig, reads = source
    resp = await mig.PrepareMigrationSource(LM.MigrateVirtualMachineRequest(vmi=_vmi("prep")), None)
    assert resp.success, resp.message
    assert "<domain" in mig._prepared.migratable_xml and mig._prepared.uid == "mig-1"
    await _begin(mig, _vmi("prep"))
    assert reads == [1]                 # read once, by the preparation
    assert mig._prepared is None        # used up: the next migration reads again
    await _begin(mig, _vmi("prep", "mig-2"))
    assert reads == [1, 1]


async def test_a_domain_changed_or_another_migration_is_read_again(source):
    launcher, mig, reads = source
    await mig.PrepareMigrationSource(LM.MigrateVirtualMachineRequest(vmi=_vmi("prep")), None)
    await launcher.PauseVirtualMachine(L.EmptyRequest(), None)
    await launcher.refresh()            # a new revision: what was read may be stale
    await _begin(mig, _vmi("prep"))
    assert reads == [1, 1]
    await mig.PrepareMigrationSource(LM.MigrateVirtualMachineRequest(vmi=_vmi("prep", "mig-3")), None)
    await _begin(mig, _vmi("prep", "mig-4"))   # prepared for another migration
    assert reads == [1, 1, 1, 1]


async def test_nothing_to_prepare_without_a_migration(source):
    _, mig, reads = source
    resp = await mig.PrepareMigrationSource(LM.MigrateVirtualMachineRequest(vmi=_vmi("prep", "")), None)
    assert not resp.success and reads == [] and mig._prepared is None


async def test_a_target_prepares_only_its_own_vmi(tmp_path):
    """A call sent to a spare launcher before the zygote named its VMI can reach a launcher given another
    VMI: SyncMigrationTarget refuses a VMI that is not the launcher's own, and prepares nothing."""
    launcher = server.Launcher("test:///default", "uid-mine", "ns", "mine", str(tmp_path), "emulation")
    mig = lm.Migration(launcher)
    resp = await mig.SyncMigrationTarget(LM.SyncMigrationTargetRequest(vmi=_vmi("other")), None)
    assert not resp.success and "uid-mine, not uid-other" in resp.message
    assert mig.meta.uid == "" and list(tmp_path.iterdir()) == []
