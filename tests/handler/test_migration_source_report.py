"""The source node's reports of a migration (services/handler/migration.py, Migrations.source_sync): the
launcher's word that the migration started is written alone only once it has run START_REPORT_SECONDS (most
migrations end first, and a write mid-way wakes every service while libvirt's job needs the CPU); a failure,
an abort or a switch to post-copy is written at once. tests/e2e/test_migration.py does it with real guests."""
from __future__ import annotations

import asyncio
import types

import yaml

from services.common import manifest, migrations, proto
from services.handler import migration as hm

VMI = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: a, namespace: ns, uid: u1}
status:
  nodeName: n1
  migrationState: {migrationUid: m1, sourceNode: n1, targetNode: n2, targetNodeAddress: 192.0.2.2}
"""


class Store:
    def __init__(self):
        self.written = []

    async def update_status(self, obj, tp=""):
        self.written.append(proto.copy(obj))
        return obj


def launcher(**meta):
    dom = proto.launcher.Domain(name="ns_a", exists=True, state="Running")
    dom.migration.CopyFrom(proto.lmigration.MigrationMetadata(uid="m1", **meta))
    return types.SimpleNamespace(domain=dom)


def sync(mg, vmi, h):
    return asyncio.run(mg.source_sync(vmi, h))


def test_a_start_waits_and_a_failure_does_not(monkeypatch):
    monkeypatch.setattr(hm, "START_REPORT_SECONDS", 0.2)
    store = Store()
    mg = hm.Migrations(store, types.SimpleNamespace(data=None), "n1")
    vmi = manifest.parse(yaml.safe_load(VMI), proto.kv.VirtualMachineInstance)
    started = launcher(startTimestamp="2026-12-03T04:00:00Z", mode=migrations.MODE_PRE_COPY)

    async def passes():
        first = await mg.source_sync(vmi, started)
        await asyncio.sleep(0.1)
        second = await mg.source_sync(vmi, started)
        await asyncio.sleep(0.15)
        third = await mg.source_sync(vmi, started)
        return first, second, third
    first, second, third = asyncio.run(passes())
    assert first[0] is vmi and 0.15 < first[1] <= 0.2 and second[1] <= 0.1   # not written, looked at again
    assert store.written[:1] == [third[0]] and len(store.written) == 1         # written once it ran 0.2 s
    st = third[0].status.migrationState
    assert (st.startTimestamp, st.mode) == ("2026-12-03T04:00:00Z", migrations.MODE_PRE_COPY)

    # A failure is written on the spot, start and all.
    store.written.clear()
    failed = launcher(startTimestamp="2026-12-03T04:00:00Z", mode=migrations.MODE_PRE_COPY, failed=True,
                      endTimestamp="2026-12-03T04:00:01Z", failureReason="Live migration failed boom")
    vmi2 = manifest.parse(yaml.safe_load(VMI.replace("m1", "m2")), proto.kv.VirtualMachineInstance)
    failed.domain.migration.uid = "m2"
    out, again = sync(mg, vmi2, failed)
    assert again is None and len(store.written) == 1
    st = out.status.migrationState
    assert st.failed and st.startTimestamp == "2026-12-03T04:00:00Z" and st.failureReason == "Live migration failed boom"

    # So is a switch to post-copy, and a start the user asked to abort.
    for meta, extra in (({"mode": migrations.MODE_POST_COPY}, ""), ({}, "abortRequested: true, ")):
        store.written.clear()
        v = manifest.parse(yaml.safe_load(VMI.replace("m1", "m3").replace("sourceNode", extra + "sourceNode")),
                           proto.kv.VirtualMachineInstance)
        h = launcher(startTimestamp="2026-12-03T04:00:00Z", **{"mode": migrations.MODE_PRE_COPY, **meta})
        h.domain.migration.uid = "m3"
        h.domain.migration.abortStatus = migrations.ABORTING if extra else ""
        out, again = sync(mg, v, h)
        assert again is None and len(store.written) == 1, (meta, extra)
