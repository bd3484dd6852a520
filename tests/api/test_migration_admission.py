"""VirtualMachineInstanceMigration admission and the VM's migrate subresource (services/api/migration.py),
with KubeVirt 1.6's texts, against the api in process; and the node-filtered watch that tells a handler
when a VMI left its node."""
from __future__ import annotations

import grpc
import pytest

from services.common import migrations as M, proto, vmstate

from api.test_subresources import make_vm


async def create_vmim(api, vmi_name: str, name: str = "mig", **annotations):
    m = proto.migration.VirtualMachineInstanceMigration()
    m.metadata.name, m.spec.vmiName = name, vmi_name
    m.metadata.annotations.update(annotations)
    return (await api.stub.Create(proto.api.CreateRequest(object=proto.wrap(m)))).virtualMachineInstanceMigration


async def refused(coro, text: str, code=grpc.StatusCode.INVALID_ARGUMENT):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await coro
    assert (e.value.code(), e.value.details()) == (code, text)


def migrate_req(name="vm1", dry_run=False, **selector):
    opts = proto.migration.MigrateOptions(addedNodeSelector=selector, dryRun=["All"] if dry_run else [])
    return proto.api.MigrateRequest(namespace="default", name=name, options=opts)


async def list_vmims(api):
    return [o.virtualMachineInstanceMigration for o in
            (await api.stub.List(proto.api.ListRequest(kind=proto.VMIM, namespace="default"))).items]


async def test_the_mutator_labels_and_holds_it(api_server):
    await make_vm(api_server, "Always", vmi_phase="Running")
    m = await create_vmim(api_server, "vm1")
    assert m.metadata.labels[M.MIGRATION_SELECTOR_LABEL] == "vm1"
    assert list(m.metadata.finalizers) == [M.MIGRATION_FINALIZER]
    assert (m.apiVersion, m.kind, m.status.phase) == ("kubevirt.io/v1", "VirtualMachineInstanceMigration", "")
    # A delete only marks it: the controller finishes the cancellation and drops the finalizer.
    await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VMIM, "default", "mig")))
    held = (await api_server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VMIM, "default", "mig"))))
    assert held.virtualMachineInstanceMigration.metadata.deletionTimestamp


async def test_create_refusals_are_kubevirts(api_server):
    await refused(create_vmim(api_server, ""), "spec.vmiName: vmiName is missing")
    await refused(create_vmim(api_server, "nope"), 'the VMI "default/nope" does not exist')
    _, vmi = await make_vm(api_server, "Always", vmi_phase="Succeeded")
    await refused(create_vmim(api_server, "vm1"), "Cannot migrate VMI in finalized state.")
    vmstate.set_phase(vmi, "Running")
    vmstate.set_condition(vmi, M.LIVE_MIGRATABLE, "False", M.REASON_DISKS,
                          "cannot migrate VMI: PVC data is not shared, live migration requires that all PVCs must "
                          "be shared (using ReadWriteMany access mode)")
    vmi = (await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    await refused(create_vmim(api_server, "vm1"),
                  "Cannot migrate VMI, Reason: DisksNotLiveMigratable, Message: cannot migrate VMI: PVC data is not "
                  "shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)")
    vmstate.set_condition(vmi, M.LIVE_MIGRATABLE, "True")
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))
    first = await create_vmim(api_server, "vm1", name="first")
    await refused(create_vmim(api_server, "vm1", name="second"),
                  f"in-flight migration detected. Active migration job ({first.metadata.uid}) is currently already "
                  f"in progress for VMI vm1.")
    first.status.phase = M.FAILED
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(first)))
    await create_vmim(api_server, "vm1", name="second")      # a final one is no conflict


async def test_the_spec_cannot_change(api_server):
    await make_vm(api_server, "Always", vmi_phase="Running")
    m = await create_vmim(api_server, "vm1")
    m.spec.addedNodeSelector["zone"] = "b"
    await refused(api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(m))),
                  "update of Migration object's spec is restricted")
    m.spec.ClearField("addedNodeSelector")
    m.metadata.labels["x"] = "y"          # metadata may change
    await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(m)))


async def test_the_migrate_subresource_refusals(api_server):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, "default", "vm1")))
    await refused(api_server.sub.Migrate(migrate_req()), e.value.details(), grpc.StatusCode.NOT_FOUND)
    await make_vm(api_server, "Always", vmi_phase="Scheduled")
    await refused(api_server.sub.Migrate(migrate_req()), "VM is not running", grpc.StatusCode.FAILED_PRECONDITION)


async def test_migrate_makes_a_migration_and_a_dry_run_none(api_server):
    vm, vmi = await make_vm(api_server, "Always", vmi_phase="Running")
    resp = await api_server.sub.Migrate(migrate_req(dry_run=True, zone="b"))
    assert "dry run" in resp.message and await list_vmims(api_server) == []
    resp = await api_server.sub.Migrate(migrate_req(zone="b"))
    made, = await list_vmims(api_server)
    assert made.metadata.name == resp.message and made.metadata.name.startswith("kubevirt-migrate-vm-")
    assert made.metadata.generateName == "kubevirt-migrate-vm-"
    assert (made.spec.vmiName, dict(made.spec.addedNodeSelector)) == ("vm1", {"zone": "b"})
    await refused(api_server.sub.Migrate(migrate_req()),
                  f"in-flight migration detected. Active migration job ({made.metadata.uid}) is currently already "
                  f"in progress for VMI vm1.")


async def test_a_node_watch_is_told_when_a_vmi_leaves_its_node(api_server):
    """As the kube-apiserver's field-selector watch: DELETED once the VMI's nodeName moves on, for a live
    watch and for one that resumes from before the move."""
    import asyncio
    vm, vmi = await make_vm(api_server, "Always", vmi_phase="Running")
    vmi.status.nodeName = "node01"
    vmi = (await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    live: list = []
    bookmarks: list = []

    async def follow():
        async for typ, obj, rev in api_server.db.watch(proto.VMI, "", "", "node01"):
            if typ == "BOOKMARK":
                bookmarks.append(rev)
            else:
                live.append((typ, proto.inner(obj).status.nodeName))
    task = asyncio.create_task(follow())
    while not bookmarks:
        await asyncio.sleep(0.01)
    before_move = bookmarks[0]
    moved = proto.copy(vmi)
    moved.status.nodeName = "node02"
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(moved)))
    for _ in range(200):
        if len(live) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert live == [("ADDED", "node01"), ("DELETED", "node02")]

    async def resumed():
        async for typ, obj, rev in api_server.db.watch(proto.VMI, "", before_move, "node01"):
            if typ != "BOOKMARK":
                return typ, proto.inner(obj).status.nodeName
    assert await asyncio.wait_for(resumed(), 5) == ("DELETED", "node02")


async def test_a_label_watch_sees_only_the_labelled_and_is_told_when_the_label_goes(api_server):
    """The target node's informer of migrating VMIs (kubevirt.io/migrationTargetNodeName=<node>), over the
    api's gRPC Watch: an unlabelled VMI is never sent; labelled -> MODIFIED, unlabelled -> DELETED, for a
    live watch and for one resumed from before the label went."""
    import asyncio
    vm, vmi = await make_vm(api_server, "Always", vmi_phase="Running")
    selector = {M.MIGRATION_TARGET_NODE_LABEL: "node02"}
    live: list = []
    bookmarks: list = []

    async def follow(rev="", out=live, until=None):
        call = api_server.stub.Watch(proto.api.WatchRequest(kind=proto.VMI, resourceVersion=rev,
                                                            labelSelector=selector))
        async for ev in call:
            if ev.type == "BOOKMARK":
                bookmarks.append(ev.resourceVersion)
            else:
                out.append((ev.type, dict(proto.inner(ev.object).metadata.labels).get(M.MIGRATION_TARGET_NODE_LABEL)))
                if until is not None and len(out) == until:
                    return out
    task = asyncio.create_task(follow())
    while not bookmarks:
        await asyncio.sleep(0.01)
    other = proto.copy(vmi)
    other.metadata.labels["unrelated"] = "yes"
    vmi = (await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(other)))).virtualMachineInstance
    labelled = proto.copy(vmi)
    labelled.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL] = "node02"
    vmi = (await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(labelled)))).virtualMachineInstance
    before_unlabel = vmi.metadata.resourceVersion
    unlabelled = proto.copy(vmi)
    del unlabelled.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL]
    await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(unlabelled)))
    for _ in range(200):
        if len(live) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert live == [("MODIFIED", "node02"), ("DELETED", None)]
    assert await asyncio.wait_for(follow(before_unlabel, [], until=1), 5) == [("DELETED", None)]


async def test_a_migration_policy_with_negative_settings_is_refused(api_server):
    p = proto.migration.MigrationPolicy()
    p.metadata.name = "bad"
    p.spec.selectors.virtualMachineInstanceSelector["app"] = "db"
    p.spec.completionTimeoutPerGiB = -1
    p.spec.bandwidthPerMigration = "-5Mi"
    await refused(api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(p))),
                  "spec.completionTimeoutPerGiB: must not be negative; spec.bandwidthPerMigration: must not be negative")
    p.spec.completionTimeoutPerGiB, p.spec.bandwidthPerMigration = 0, "64Mi"
    made = (await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(p)))).migrationPolicy
    assert (made.apiVersion, made.kind, made.metadata.namespace) == ("migrations.kubevirt.io/v1alpha1",
                                                                     "MigrationPolicy", "")
