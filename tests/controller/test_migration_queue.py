"""The migration controller (services/controller/migration.py): KubeVirt's phase steps, the limits and the
priority queue as pure decisions, and the controller against the api in process — admission under
parallelMigrationsPerCluster / parallelOutboundMigrationsPerNode, evacuations first, waiting that never
times out, the hand-off to the nodes, cancellation by delete, and what a final migration keeps."""
from __future__ import annotations

import asyncio

import pytest

from harness import until
from services.common import arch, client, machines, migrations as M, names, proto, timeutil, vmstate, workqueue
from services.controller import migration as C


def vmim(name: str, vmi: str = "", created: str = "2026-01-01T00:00:00Z", evacuation: bool = False, phase: str = ""):
    m = proto.migration.VirtualMachineInstanceMigration()
    m.metadata.name, m.metadata.namespace, m.metadata.uid = name, "default", f"uid-{name}"
    m.metadata.creationTimestamp = created
    if evacuation:
        m.metadata.annotations[M.EVACUATION_ANNOTATION] = "node01"
    m.spec.vmiName = vmi or name
    m.status.phase = phase
    return m


# ---------------------------------------------------------------- pure decisions

def test_admission_keeps_both_limits_and_never_lets_a_full_node_block_another():
    pending = [vmim(f"a{i}", created=f"2026-01-01T00:00:0{i}Z") for i in range(4)] + \
              [vmim(f"b{i}", created=f"2026-01-01T00:00:1{i}Z") for i in range(4)]
    node = {**{f"a{i}": "n1" for i in range(4)}, **{f"b{i}": "n2" for i in range(4)}}
    src = lambda m: node[m.metadata.name]  # noqa: E731
    got = [m.metadata.name for m in C.plan_admissions(pending, [], C.Limits(5, 2), src)]
    assert got == ["a0", "a1", "b0", "b1"]        # two per node, n1's full queue does not hold n2 back
    got = [m.metadata.name for m in C.plan_admissions(pending, [vmim("r", phase=M.RUNNING)] * 3, C.Limits(5, 2),
                                                      lambda m: node.get(m.metadata.name, "n3"))]
    assert got == ["a0", "a1"]                    # five in the cluster at most
    assert C.plan_admissions(pending, [vmim("r")] * 5, C.Limits(5, 2), lambda m: "n3") == []


def test_evacuations_go_first_then_the_oldest():
    user_old = vmim("old", created="2026-01-01T00:00:00Z")
    user_new = vmim("new", created="2026-01-01T00:00:05Z")
    evac = vmim("evac", created="2026-01-01T00:00:09Z", evacuation=True)
    plan = C.plan_admissions([user_new, evac, user_old], [], C.Limits(2, 2), lambda m: "n1")
    assert [m.metadata.name for m in plan] == ["evac", "old"]


def test_the_phases_follow_what_the_nodes_report():
    m = vmim("m", phase=M.SCHEDULING)
    vmi = proto.kv.VirtualMachineInstance()
    assert C.next_phase(m, vmi) == ""                      # not handed off
    st = vmi.status.migrationState
    st.migrationUid, st.targetNode, st.sourceNode = m.metadata.uid, "n2", "n1"
    seen = []
    for report in ("targetPod", None, "targetNodeAddress", "startTimestamp", "completed"):
        if report == "completed":
            st.completed = True
        elif report:
            setattr(st, report, "x")
        while (nxt := C.next_phase(m, vmi)) and C.set_phase(m, nxt):
            seen.append(nxt)
    assert seen == [M.SCHEDULED, M.PREPARING_TARGET, M.TARGET_READY, M.RUNNING, M.SUCCEEDED]
    assert C.next_phase(m, vmi) == ""                      # final stays final
    failing = vmim("f", phase=M.TARGET_READY)
    vmi.status.migrationState.migrationUid, vmi.status.migrationState.failed = failing.metadata.uid, True
    assert C.next_phase(failing, vmi) == M.FAILED


class Cache:
    """An informer's cache (items, get by key), filled by hand."""

    def __init__(self, objects):
        self.objects = {proto.key(o): o for o in objects}

    def items(self):
        return list(self.objects.values())

    def get(self, key):
        return self.objects.get(key)


def test_a_vmi_change_concerns_its_unfinished_migrations_and_the_one_it_names():
    """Its finished migrations (KubeVirt keeps five) wait for nothing from the VMI, except the last one, which
    takes its final state from the VMI's migrationState; a VMI gone concerns them all (they fail or go)."""
    kept = [vmim(f"old{i}", vmi="v", phase=M.SUCCEEDED) for i in range(4)]
    last, failed_now = vmim("last", vmi="v", phase=M.SUCCEEDED), vmim("f", vmi="v", phase=M.FAILED)
    running, waiting, elsewhere = vmim("now", vmi="v", phase=M.RUNNING), vmim("w", vmi="v"), vmim("x", vmi="other")
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace = "v", "default"
    vmi.status.migrationState.migrationUid = last.metadata.uid
    ctl = C.MigrationController(None, Cache([*kept, last, failed_now, running, waiting, elsewhere]), Cache([vmi]),
                                None, None)
    assert sorted(ctl.keys_for_vmi("default/v")) == ["default/last", "default/now", "default/w"]
    ctl.vmis = Cache([])
    assert sorted(ctl.keys_for_vmi("default/v")) == sorted(proto.key(m) for m in [*kept, last, failed_now, running,
                                                                                  waiting])


# ---------------------------------------------------------------- the controller, against the api

def node(name: str):
    n = proto.kv.Node()
    n.metadata.name = name
    n.metadata.labels.update({names.SCHEDULABLE_LABEL: "true", names.MIGRATION_TARGET_LABEL: "true"})
    for machine in (a.default_machine for a in arch.ARCHS.values()):   # what the api defaults a VMI's machine type to
        n.metadata.labels[machines.MACHINE_TYPE_LABEL + machine] = "true"
    n.metadata.annotations[names.HEARTBEAT_ANNOTATION] = timeutil.now()
    return n


class Mesh:
    """The controller's informers and queue over an api in this process; the nodes' part played by hand."""

    def __init__(self, api_server):
        self.api = client.ApiClient(api_server.target)
        self.raw = api_server.stub

    async def start(self, nodes=("node01", "node02", "node03")):
        for n in nodes:
            await self.api.create(node(n))
        q = {}
        self.vmims = self.api.informer(proto.VMIM, lambda k: q["m"].add(k))
        self.vmis = self.api.informer(proto.VMI, lambda k: [q["m"].add(x) for x in self.ctl.keys_for_vmi(k)])
        self.nodes = self.api.informer(proto.NODE, lambda k: None)
        self.kvs = self.api.informer(proto.KUBEVIRT, lambda k: [q["m"].add(x) for x in self.ctl.waiting_keys()])
        self.api.track(self.vmims, self.vmis, self.nodes, self.kvs)
        self.ctl = C.MigrationController(self.api, self.vmims, self.vmis, self.nodes, self.kvs)
        q["m"] = self.ctl.queue = workqueue.WorkQueue("migration", self.ctl.reconcile, workers=4)
        self.tasks = [asyncio.create_task(i.run()) for i in (self.vmims, self.vmis, self.nodes, self.kvs)]
        await asyncio.gather(*(i.synced.wait() for i in (self.vmims, self.vmis, self.nodes, self.kvs)))
        self.tasks.append(asyncio.create_task(q["m"].run()))

    async def stop(self):
        for t in self.tasks:
            t.cancel()
        await self.api.close()

    async def running_vmi(self, name: str, node_name: str):
        vmi = proto.kv.VirtualMachineInstance()
        vmi.metadata.name = name
        vmi.spec.domain.memory.guest = "64Mi"
        vmi = await self.api.create(vmi)
        vmi.status.nodeName = node_name
        vmstate.set_phase(vmi, vmstate.RUNNING)
        return await self.api.update_status(vmi)

    async def migrate(self, name: str, vmi: str, **annotations):
        m = proto.migration.VirtualMachineInstanceMigration()
        m.metadata.name, m.spec.vmiName = name, vmi
        m.metadata.annotations.update(annotations)
        return await self.api.create(m)

    def phase(self, name: str) -> str:
        m = self.vmims.get(f"default/{name}")
        return m.status.phase if m is not None else None

    def phases(self) -> dict[str, str]:
        return {m.metadata.name: m.status.phase for m in self.vmims.items()}

    async def finish(self, vmi_name: str, failed: bool = False):
        """What the nodes write at the end: the target acks (or the source reports a failure)."""
        vmi = proto.copy(self.vmis.get(f"default/{vmi_name}"))
        st = vmi.status.migrationState
        st.startTimestamp = st.startTimestamp or timeutil.now()
        st.endTimestamp = timeutil.now()
        if failed:
            st.failed = True
        else:
            st.completed = True
            vmi.status.nodeName = st.targetNode
        del vmi.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL]
        vmi = await self.api.update_status(vmi)
        vmi = proto.copy(vmi)
        vmi.metadata.labels.pop(M.MIGRATION_TARGET_NODE_LABEL, None)
        await self.api.update(vmi)


@pytest.fixture
async def cmesh(api_server):
    m = Mesh(api_server)
    await m.start()
    yield m
    await m.stop()


async def test_per_node_limit_queue_order_and_hand_off(cmesh):
    m = cmesh
    for i in range(5):
        await m.running_vmi(f"v{i}", "node01")
    for i in range(4):
        await m.migrate(f"m{i}", f"v{i}")
        await asyncio.sleep(1.05)   # creation timestamps have second precision: the queue's order is age
    await m.migrate("evac", "v4", **{M.EVACUATION_ANNOTATION: "node01"})
    await until(lambda: list(m.phases().values()).count(M.SCHEDULING) == 2
                and list(m.phases().values()).count(M.PENDING) == 3, 10)
    assert m.phase("m0") == m.phase("m1") == M.SCHEDULING     # the oldest two leave node01 first
    for name, v in (("m0", "v0"), ("m1", "v1")):
        vmi = m.vmis.get(f"default/{v}")
        st = vmi.status.migrationState
        assert st.migrationUid == m.vmims.get(f"default/{name}").metadata.uid
        assert (st.sourceNode, vmi.metadata.labels[M.MIGRATION_TARGET_NODE_LABEL]) == ("node01", st.targetNode)
        assert st.targetNode in ("node02", "node03")
        assert st.migrationConfiguration.parallelMigrationsPerCluster == 5   # KubeVirt's defaults
    # Waiting is not running: minutes in the queue count towards no timeout.
    await asyncio.sleep(1.5)
    assert [m.phase(x) for x in ("m2", "m3", "evac")] == [M.PENDING] * 3
    # A slot frees: the evacuation goes before the older user requests.
    await m.finish("v0")
    await until(lambda: m.phase("m0") == M.SUCCEEDED and m.phase("evac") == M.SCHEDULING, 30)
    assert m.phase("m2") == m.phase("m3") == M.PENDING
    assert m.vmis.get("default/v0").status.nodeName in ("node02", "node03")
    await until(lambda: M.MIGRATION_FINALIZER not in m.vmims.get("default/m0").metadata.finalizers, 30)
    assert m.vmims.get("default/m0").status.migrationState.completed      # the VMI's state, kept
    await m.finish("v1", failed=True)
    await until(lambda: m.phase("m1") == M.FAILED and m.phase("m2") == M.SCHEDULING, 30)
    assert m.phase("m3") == M.PENDING


async def test_the_cluster_limit_and_a_raised_limit(cmesh):
    m = cmesh
    for i in range(9):
        await m.running_vmi(f"c{i}", f"node0{i % 3 + 1}")
        await m.migrate(f"c{i}", f"c{i}")
    await until(lambda: list(m.phases().values()).count(M.SCHEDULING) == 5, 30)
    await asyncio.sleep(0.5)
    assert list(m.phases().values()).count(M.SCHEDULING) == 5
    per_node: dict[str, int] = {}
    for v in m.vmis.items():
        if M.in_flight(v):
            per_node[v.status.nodeName] = per_node.get(v.status.nodeName, 0) + 1
    assert max(per_node.values()) <= 2
    kv = proto.kubevirt.KubeVirt()
    kv.metadata.name, kv.metadata.namespace = "kubevirt", "kubevirt"
    kv.spec.configuration.migrations.parallelMigrationsPerCluster = 7
    await m.api.create(kv)
    await until(lambda: list(m.phases().values()).count(M.SCHEDULING) == 6, 10)   # now 2 per node bind


async def test_deleting_cancels_before_and_after_the_hand_off(cmesh):
    m = cmesh
    await m.running_vmi("x", "node01")
    await m.running_vmi("y", "node01")
    await m.running_vmi("z", "node01")
    await m.migrate("mx", "x")
    await m.migrate("my", "y")
    await m.migrate("mz", "z")
    await until(lambda: m.phase("mz") == M.PENDING and m.phase("mx") == M.SCHEDULING, 30)
    # Waiting: it just fails (abort condition), loses its finalizer and goes.
    await m.api.delete(proto.VMIM, "default", "mz")
    await until(lambda: m.vmims.get("default/mz") is None, 30)
    assert m.vmis.get("default/z").status.HasField("migrationState") is False
    # Handed off: the VMI is told to abort; the source's failure ends it.
    await m.api.delete(proto.VMIM, "default", "mx")
    await until(lambda: m.vmis.get("default/x").status.migrationState.abortRequested, 30)
    got = m.vmims.get("default/mx")
    assert got.metadata.deletionTimestamp and vmstate.has_condition(got, M.ABORT_REQUESTED)
    await m.finish("x", failed=True)
    await until(lambda: m.vmims.get("default/mx") is None, 30)


async def test_a_second_migration_of_a_vmi_in_flight_is_refused(cmesh, api_server):
    import grpc
    m = cmesh
    await m.running_vmi("w", "node01")
    await m.migrate("w1", "w")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await m.migrate("w2", "w")
    assert e.value.details().startswith("in-flight migration detected. Active migration job (")
    assert e.value.details().endswith(") is currently already in progress for VMI w.")


async def test_no_target_node_keeps_it_scheduling_until_the_unschedulable_timeout(cmesh):
    m = cmesh
    vmi = await m.running_vmi("solo", "node01")
    vmi = proto.copy(vmi)
    vmi.spec.nodeSelector["kubernetes.io/hostname"] = "node01"   # only the source fits
    await m.api.update(vmi)
    await m.migrate("ms", "solo", **{C.UNSCHEDULABLE_TIMEOUT_ANNOTATION: "2"})
    await until(lambda: m.phase("ms") == M.SCHEDULING, 30)
    assert not m.vmis.get("default/solo").status.HasField("migrationState")
    await until(lambda: m.phase("ms") == M.FAILED, 30)


# ---------------------------------------------------------------- MigrationPolicy

def policy(name: str, vmi=None, ns=None, **spec):
    p = proto.migration.MigrationPolicy()
    p.metadata.name = name
    if vmi is not None or ns is not None:
        p.spec.selectors.SetInParent()
        p.spec.selectors.virtualMachineInstanceSelector.update(vmi or {})
        p.spec.selectors.namespaceSelector.update(ns or {})
    for k, v in spec.items():
        setattr(p.spec, k, v)
    return p


def test_the_most_detailed_policy_wins_then_vmi_labels_then_the_name():
    labels = {"app": "db", "tier": "gold"}
    ns = {C.NAMESPACE_NAME_LABEL: "prod", "team": "a"}
    ps = [policy("none"),                                           # no selectors: matches nothing
          policy("wide", vmi={"app": "db"}),
          policy("narrow", vmi={"app": "db", "tier": "gold"}),
          policy("nsonly", ns={"team": "a", C.NAMESPACE_NAME_LABEL: "prod"}),
          policy("miss", vmi={"app": "web"})]
    assert C.match_policy(ps, labels, ns).metadata.name == "narrow"   # 2 = 2: the VMI's labels count more
    assert C.match_policy(ps[:2] + ps[3:], labels, ns).metadata.name == "nsonly"   # 2 > 1
    tie = [policy("b", vmi={"app": "db"}), policy("a", vmi={"tier": "gold"})]
    assert C.match_policy(tie, labels, ns).metadata.name == "a"
    assert C.match_policy([policy("miss", vmi={"app": "web"})], labels, ns) is None


def test_a_policy_overrides_the_cluster_settings():
    cfg = proto.migrationstate.MigrationConfiguration(bandwidthPerMigration="0Mi", completionTimeoutPerGiB=150,
                                                      allowPostCopy=False, allowWorkloadDisruption=False)
    assert C.apply_policy(policy("p", vmi={}, bandwidthPerMigration="64Mi", allowPostCopy=True), cfg)
    assert (cfg.bandwidthPerMigration, cfg.completionTimeoutPerGiB, cfg.allowPostCopy,
            cfg.allowWorkloadDisruption) == ("64Mi", 150, True, True)   # disruption follows post-copy
    assert not C.apply_policy(policy("q", vmi={}), proto.migrationstate.MigrationConfiguration())


async def test_the_hand_off_carries_the_matching_policy(api_server):
    m = Mesh(api_server)
    await m.start()
    try:
        m.ctl.policies = m.api.informer(proto.MIGRATION_POLICY, lambda k: None)
        m.api.track(m.ctl.policies)
        m.tasks.append(asyncio.create_task(m.ctl.policies.run()))
        await m.ctl.policies.synced.wait()
        await m.api.create(policy("slow", vmi={"app": "db"}, ns={C.NAMESPACE_NAME_LABEL: "default"},
                                  bandwidthPerMigration="16Mi", completionTimeoutPerGiB=300))
        await until(lambda: m.ctl.policies.items(), 5)
        for name, labels in (("db", {"app": "db"}), ("other", {"app": "web"})):
            vmi = proto.copy(await m.running_vmi(name, "node01"))
            vmi.metadata.labels.update(labels)
            await m.api.update(vmi)
        await m.migrate("mdb", "db")
        await m.migrate("mother", "other")
        await until(lambda: all(M.in_flight(m.vmis.get(f"default/{v}")) for v in ("db", "other")
                                if m.vmis.get(f"default/{v}") is not None), 10)
        st = m.vmis.get("default/db").status.migrationState
        assert (st.migrationPolicyName, st.migrationConfiguration.bandwidthPerMigration,
                st.migrationConfiguration.completionTimeoutPerGiB) == ("slow", "16Mi", 300)
        other = m.vmis.get("default/other").status.migrationState
        assert not other.HasField("migrationPolicyName")
        assert other.migrationConfiguration.bandwidthPerMigration == "0Mi"     # the cluster's default
    finally:
        await m.stop()


async def test_the_drain_taint_evacuates_live_migrate_vmis_only(cmesh):
    m = cmesh
    n = proto.copy(m.nodes.get("node01"))
    n.spec.taints.add(key="kubevirt.io/drain", effect="NoSchedule")
    await m.api.update(n)
    for name, strategy in (("lm", "LiveMigrate"), ("none", "")):
        vmi = proto.copy(await m.running_vmi(name, "node01"))
        vmi.spec.evictionStrategy = strategy
        vmi = proto.copy(await m.api.update(vmi))
        vmstate.set_condition(vmi, M.LIVE_MIGRATABLE, "True")
        await m.api.update_status(vmi)
    await until(lambda: m.nodes.get("node01").spec.taints and m.vmis.get("default/none") is not None
                and vmstate.has_condition(m.vmis.get("default/none"), M.LIVE_MIGRATABLE), 5)
    ev = C.Evacuations(m.ctl)
    for key in ("default/lm", "default/none"):
        await ev.reconcile(key)
    await until(lambda: len(m.vmims.items()) == 1, 5)
    made, = m.vmims.items()
    assert made.spec.vmiName == "lm" and made.metadata.name.startswith("kubevirt-evacuation-")
    assert made.metadata.annotations[M.EVACUATION_ANNOTATION] == "node01"
    await ev.reconcile("default/lm")          # one at a time: it is already migrating
    await asyncio.sleep(0.3)
    assert len(m.vmims.items()) == 1
