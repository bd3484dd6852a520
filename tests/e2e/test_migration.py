"""Live migration of real guests between two libvirt nodes on this machine (tools/host.sh node, each
node a libvirtd in its own namespaces, TCP between them over a veth): back and forth without a reboot,
the console on the new node, nothing left on the old one; a target that fails mid-way (its QEMU or its
receiving launcher killed) ends the migration Failed with the guest still running on the source, and
the next migration succeeds."""
from __future__ import annotations

import os
import signal
import threading
import time

import grpc
import pytest

from services.common import manifest, proto

from e2e.conftest import GUESTS
from migration_nodes import (NS, Console, MigrationMesh, latest, mesh_on_nodes, migrate, migrations_of, ticks,
                             vm_manifest, wait_phase)

pytestmark = pytest.mark.e2e

KUBEVIRT = """
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata: {{name: kubevirt, namespace: kubevirt}}
spec:
  configuration:
    migrations: {migrations}
"""


def samples(text: str) -> list:
    from prometheus_client.parser import text_string_to_metric_families
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples]


def value(got, metric: str, **labels):
    """The sum of the samples called `metric` whose labels include `labels` (None: no such sample)."""
    vals = [s.value for s in got if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(vals) if vals else None


@pytest.fixture(scope="module")
def two_nodes(host_ready):
    with mesh_on_nodes({"A": "192.0.2.1", "B": "192.0.2.2"}) as mm:
        yield mm


def boot(mm: MigrationMesh, name: str, marker: str, memory: str = "128Mi", **manifest) -> dict:
    m = mm.mesh
    m.cli("apply", "-f", "-", input=vm_manifest(name, marker, f"{GUESTS}/amd64", memory, **manifest))
    m.wait_for(lambda: m.vmi_phase(name, NS) == "Running", 90, f"{name} Running")
    vmi = m.get("vmi", name, NS)
    node = vmi["status"]["nodeName"]
    uid = vmi["metadata"]["uid"]
    m.wait_for(lambda: f"VIRTMESH-READY {marker}" in mm.serial_log(node, uid) and ticks(mm.serial_log(node, uid)),
               60, f"{name} ready")
    return vmi


def set_migrations(m, migrations: str) -> None:
    m.cli("apply", "-f", "-", input=KUBEVIRT.format(migrations=migrations))


def test_a_guest_migrates_back_and_forth_without_a_reboot(two_nodes):
    mm = two_nodes
    m = mm.mesh
    vmi = boot(mm, "hop", "hop1")
    uid = vmi["metadata"]["uid"]
    assert next(c for c in vmi["status"]["conditions"] if c["type"] == "LiveMigratable")["status"] == "True"
    assert vmi["status"]["migrationMethod"] == "LiveMigration"
    seen: list[int] = []
    last_after: list[int] = []   # the last TICK read on each move's target
    for hop in range(2):
        source = m.get("vmi", "hop", NS)["status"]["nodeName"]
        target = "node02" if source == "node01" else "node01"
        console = Console(mm, "hop").follow()
        m.wait_for(lambda: ticks(console.text), 20, "console output on the source")
        source_qemu = mm.qemu_pid(source, "e2e_hop")
        assert source_qemu
        mig = migrate(m, "hop")
        done = wait_phase(mm, "hop", mig["metadata"]["name"], ("Succeeded", "Failed"))
        assert done["status"]["phase"] == "Succeeded", done
        phases = [t["phase"] for t in done["status"]["phaseTransitionTimestamps"]]
        assert phases == ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running",
                          "Succeeded"]
        # The source's console stream ends when its domain leaves; what it saw ends at TICK n.
        m.wait_for(console.done.is_set, 20, "the source's console stream to end")
        before = ticks(console.text)
        # The VMI: on the target, its migrationState KubeVirt's.
        v = m.get("vmi", "hop", NS)
        st = v["status"]["migrationState"]
        assert v["status"]["nodeName"] == target and v["metadata"]["labels"]["kubevirt.io/nodeName"] == target
        assert "kubevirt.io/migrationTargetNodeName" not in v["metadata"]["labels"]
        assert (st["sourceNode"], st["targetNode"], st["migrationUid"]) == (source, target, mig["metadata"]["uid"])
        assert st["completed"] is True and not st.get("failed") and st["mode"] == "PreCopy"
        assert st["startTimestamp"] <= st["endTimestamp"] and st["targetNodeDomainDetected"] is True
        assert st["targetNodeAddress"] == mm.nodes.addresses[mm.node_of[target]]
        # Once final, the controller keeps the VMI's state of it on the migration, then lets it go (two writes).
        final = m.wait_for(lambda: next((x for x in migrations_of(m, "hop") if x["metadata"]["uid"] == mig["metadata"]["uid"]
                                         and "kubevirt.io/migrationJobFinalize" not in x["metadata"].get("finalizers", [])),
                                        None), 10, "the migration finalized")
        assert final["status"]["migrationState"]["migrationUid"] == mig["metadata"]["uid"]
        # The guest runs on: the target's log goes on from the next TICK, and it did not boot again.
        m.wait_for(lambda: len(ticks(mm.serial_log(target, uid))) >= 3, 20, "ticks on the target")
        after_text = mm.serial_log(target, uid)
        after = ticks(after_text)
        assert "VIRTMESH-READY" not in after_text, "the guest booted again on the target"
        assert before and after and after[0] <= before[-1] + 1, (before[-3:], after[:3])
        joined = sorted(set(before) | set(after))
        assert joined == list(range(joined[0], joined[-1] + 1)), "a TICK went missing"
        assert not seen or joined[0] <= seen[-1] + 1
        seen = joined
        last_after.append(after[-1])
        # Nothing of it is left on the source: no domain, no QEMU, no launcher.
        m.wait_for(lambda: "e2e_hop" not in mm.domains(source) and not mm.qemu_pid(source, "e2e_hop")
                   and not mm.launcher_pid(source, uid), 30, "the source cleaned up")
        assert not os.path.exists(f"/proc/{source_qemu}")
        # The console works on the new node: what we type reaches the guest's shell there.
        console = Console(mm, "hop").follow()
        console.type(f"echo MIGRATED-$((40+{hop}))\n")
        m.wait_for(lambda: f"MIGRATED-{40 + hop}" in console.text, 20, "the guest's answer on the new node")
        console.close()
    # One counter across both moves (each move's TICKs contiguous, and the second's joined to the first's),
    # still counting on the second target after the first.
    assert last_after[1] > last_after[0], (last_after, seen)
    m.cli("delete", "vm", "hop", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "hop", NS) is None, 60, "VMI gone")
    assert not mm.domains("node01") and not mm.domains("node02")


def test_cloud_init_and_config_map_disks_go_along(two_nodes):
    """A cloudInitNoCloud volume and a configMap volume are disks in the VM's directory: the VMI
    block-migrates (the target's handler hands its launcher the ConfigMap's files too), and on the new node
    the guest still reads its data source (label and user data) and the ConfigMap from those disks."""
    mm = two_nodes
    m = mm.mesh
    m.cli("apply", "-f", "-", input=f"{{apiVersion: v1, kind: ConfigMap, metadata: {{name: hopcfg, namespace: {NS}}},"
                                    " data: {app.conf: mark-hopcfg-e81}}")
    vmi = boot(mm, "cihop", "cihop1", user_data="#cloud-config\n# mark-cihop-5b2\n", config_map="hopcfg")
    assert vmi["status"]["migrationMethod"] == "BlockMigration"
    source = vmi["status"]["nodeName"]
    mig = migrate(m, "cihop")
    done = wait_phase(mm, "cihop", mig["metadata"]["name"], ("Succeeded", "Failed"))
    assert done["status"]["phase"] == "Succeeded", done
    assert m.get("vmi", "cihop", NS)["status"]["nodeName"] != source
    console = Console(mm, "cihop").follow()
    console.type("echo CI-$(dd if=/dev/vda bs=1 skip=32808 count=6 2>/dev/null)-"
                 "$(dd if=/dev/vda bs=2048 2>/dev/null | grep -c mark-cihop-5b2)-END\n")
    m.wait_for(lambda: "-END" in console.text, 20, "the guest's answer on the new node")
    assert "CI-cidata-1-END" in console.text, console.text[-500:]
    console.type("echo CM-$(dd if=/dev/vdb bs=1 skip=32808 count=7 2>/dev/null)-"
                 "$(dd if=/dev/vdb bs=2048 2>/dev/null | grep -c mark-hopcfg-e81)-FIN\n")
    m.wait_for(lambda: "-FIN" in console.text, 20, "the guest's answer about the ConfigMap disk")
    assert "CM-cfgdata-1-FIN" in console.text, console.text[-500:]
    console.close()
    m.cli("delete", "vm", "cihop", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "cihop", NS) is None, 60, "VMI gone")


def _throttled(mm: MigrationMesh, name: str, uid: str):
    """Start a migration at 8 MiB/s (128 MiB take ~8 s) and wait until the target's QEMU receives."""
    m = mm.mesh
    set_migrations(m, "{bandwidthPerMigration: 8Mi}")
    source = m.get("vmi", name, NS)["status"]["nodeName"]
    target = "node02" if source == "node01" else "node01"
    mig = migrate(m, name)
    wait_phase(mm, name, mig["metadata"]["name"], ("Running",), 30)
    m.wait_for(lambda: mm.qemu_pid(target, f"e2e_{name}"), 30, "the target's QEMU")
    time.sleep(1.5)   # mid-way: some MiB are over
    return mig, source, target


def test_a_target_that_fails_mid_way_leaves_the_guest_running_on_the_source(two_nodes):
    mm = two_nodes
    m = mm.mesh
    vmi = boot(mm, "fail", "fail1")
    uid = vmi["metadata"]["uid"]
    try:
        for what in ("qemu", "launcher", "cancel"):
            mig, source, target = _throttled(mm, "fail", uid)
            source_qemu = mm.qemu_pid(source, "e2e_fail")
            if what == "qemu":
                os.kill(mm.qemu_pid(target, "e2e_fail"), signal.SIGKILL)
            elif what == "launcher":
                os.kill(mm.launcher_pid(target, uid), signal.SIGKILL)
            else:   # virtctl migrate-cancel: the running migration is deleted, which aborts it
                # Meanwhile the metrics show it: KubeVirt's names and labels.
                c = samples(mm.scrape("node01", "controller"))
                assert value(c, "kubevirt_vmi_migrations_in_running_phase") == 1
                assert value(c, "kubevirt_vmi_migrations_in_pending_phase") == 0
                labels = dict(namespace=NS, name="fail", node=source)
                m.wait_for(lambda: (value(samples(mm.scrape(source)), "kubevirt_vmi_migration_data_processed_bytes",
                                          **labels) or 0) > 8 * 2 ** 20, 10, "the migration's progress in /metrics",
                           interval=0.5)
                h = samples(mm.scrape(source))
                assert value(h, "kubevirt_vmi_migration_data_total_bytes", **labels) >= 128 * 2 ** 20
                assert value(h, "kubevirt_vmi_migration_data_remaining_bytes", **labels) > 0
                assert value(h, "kubevirt_vmi_migration_disk_transfer_rate_bytes", **labels) > 0
                r = m.cli("migrate-cancel", "fail", "-n", NS)
                assert r.stdout.strip() == "VM fail was scheduled to migrate-cancel"
            if what == "cancel":
                # Its finalizer held it until it failed; then it goes.
                m.wait_for(lambda: not any(x["metadata"]["uid"] == mig["metadata"]["uid"]
                                           for x in migrations_of(m, "fail")), 60, "the cancelled migration gone")
                r = m.cli("migrate-cancel", "fail", "-n", NS, check=False)
                assert r.returncode == 1 and "Found no migration to cancel for fail" in r.stderr
            else:
                done = wait_phase(mm, "fail", mig["metadata"]["name"], ("Succeeded", "Failed"))
                assert done["status"]["phase"] == "Failed", (what, done)
            v = m.get("vmi", "fail", NS)
            st = v["status"]["migrationState"]
            assert st["migrationUid"] == mig["metadata"]["uid"]
            if what == "cancel":
                assert st["abortRequested"] is True and st["abortStatus"] == "Succeeded", st
            assert v["status"]["phase"] == "Running" and v["status"]["nodeName"] == source, what
            assert st["failed"] is True and st["failureReason"] and st.get("endTimestamp"), st
            if what == "launcher":
                assert "receiving virt-launcher" in st["failureReason"] and st["abortStatus"] == "Succeeded", st
            # The guest keeps running on the source, in the same QEMU; the target keeps nothing.
            assert mm.qemu_pid(source, "e2e_fail") == source_qemu
            n = ticks(mm.serial_log(source, uid))[-1]
            m.wait_for(lambda: ticks(mm.serial_log(source, uid))[-1] >= n + 2, 20, "ticks on the source")
            m.wait_for(lambda: "e2e_fail" not in mm.domains(target) and not mm.launcher_pid(target, uid), 30,
                       "the target cleaned up")
            assert "kubevirt.io/migrationTargetNodeName" not in m.get("vmi", "fail", NS)["metadata"]["labels"]
        # Unthrottled, the next one succeeds.
        set_migrations(m, "{}")
        mig = migrate(m, "fail")
        done = wait_phase(mm, "fail", mig["metadata"]["name"], ("Succeeded", "Failed"))
        assert done["status"]["phase"] == "Succeeded", done
        assert m.get("vmi", "fail", NS)["status"]["nodeName"] != source
        c = samples(mm.scrape("node01", "controller"))
        assert value(c, "kubevirt_vmi_migration_succeeded", vmi="fail", vmim=mig["metadata"]["name"],
                     namespace=NS) == 1
        assert value(c, "kubevirt_vmi_migration_failed", vmi="fail", namespace=NS) == 2   # the cancelled one went
        assert value(c, "kubevirt_vmi_migration_phase_transition_time_from_creation_seconds_count",
                     phase="Succeeded") >= 1
    finally:
        set_migrations(m, "{}")
        m.cli("delete", "vm", "fail", "-n", NS, check=False)
        m.wait_for(lambda: m.get("vmi", "fail", NS) is None, 60, "VMI gone")


@pytest.mark.parametrize("side", ["source", "target"])
def test_a_handler_killed_mid_way_catches_up(two_nodes, side):
    """kill -9 of the source's or the target's handler while libvirt migrates: the launchers carry on, the
    handler started again finds its launchers (and the one receiving) and the migration succeeds."""
    mm = two_nodes
    m = mm.mesh
    name = f"hk-{side}"
    vmi = boot(mm, name, name)
    uid = vmi["metadata"]["uid"]
    try:
        mig, source, target = _throttled(mm, name, uid)
        victim = source if side == "source" else target
        mm.kill_handler(victim)
        time.sleep(1)
        mm.restart_handler(victim)   # node01's comes back by itself (virtmesh up)
        done = wait_phase(mm, name, mig["metadata"]["name"], ("Succeeded", "Failed"), 90)
        assert done["status"]["phase"] == "Succeeded", done
        v = m.get("vmi", name, NS)
        assert v["status"]["nodeName"] == target and v["status"]["phase"] == "Running"
        assert v["status"]["migrationState"]["completed"] is True
        # The guest runs on at the target, not booted again; nothing is left on the source.
        m.wait_for(lambda: len(ticks(mm.serial_log(target, uid))) >= 3, 30, "ticks on the target")
        assert "VIRTMESH-READY" not in mm.serial_log(target, uid), "the guest booted again on the target"
        m.wait_for(lambda: f"e2e_{name}" not in mm.domains(source) and not mm.launcher_pid(source, uid), 30,
                   "the source cleaned up")
        assert mm.launcher_pid(target, uid) and mm.qemu_pid(target, f"e2e_{name}")
    finally:
        set_migrations(m, "{}")
        m.cli("delete", "vm", name, "-n", NS, check=False)
        m.wait_for(lambda: m.get("vmi", name, NS) is None, 60, "VMI gone")


# ---------------------------------------------------------------- many at once: the limits and the queue

RUNNING_PHASES = ("Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")
# kubevirt.io/migrationPendingPodTimeoutSeconds: admitted, the target must be up by then. The last of four
# waves waits about three waves in the queue (9-10 s measured, ~3 s a wave) while a target comes up within
# 1-2 s, so 3 s is under the wait and over a target's start, on a fast machine and on a slow one.
TARGET_TIMEOUT = 3


def phase_seconds(mig: dict, a: str, b: str) -> float:
    from services.common import timeutil
    at = {t["phase"]: timeutil.parse(t["phaseTransitionTimestamp"]) for t in mig["status"]["phaseTransitionTimestamps"]}
    return (at[b] - at[a]).total_seconds()


@pytest.fixture(scope="module")
def three_nodes(host_ready):
    with mesh_on_nodes({"A": "192.0.2.1", "B": "192.0.2.2", "C": "192.0.2.3"}) as mm:
        yield mm


@pytest.mark.timeout(1200)
def test_twenty_at_once_keep_the_limits_and_all_succeed(three_nodes):
    """20 migrations requested together over three nodes: never more than parallelMigrationsPerCluster (5)
    run, never more than parallelOutboundMigrationsPerNode (2) leave one node, the rest wait in the queue
    (a 3 s timeout for the target to come up, on each, does not touch them while they wait) and every one
    succeeds. The guests start paused (startStrategy Paused) and migrate paused: 20 TCG guests booting at
    once took 100 s of this machine's two cores, and the guest's run across a move is what the
    back-and-forth test shows."""
    mm = three_nodes
    m = mm.mesh
    names = [f"q{i:02d}" for i in range(20)]
    t0 = time.monotonic()
    m.cli("apply", "-f", "-", input="---".join(vm_manifest(n, n, f"{GUESTS}/amd64", paused=True)
                                               for n in names))
    m.wait_for(lambda: sum(m.vmi_phase(n, NS) == "Running" for n in names) == 20, 480, "20 VMIs Running",
               interval=1)
    placed = {n: m.get("vmi", n, NS)["status"]["nodeName"] for n in names}
    print(f"20 VMIs Running after {time.monotonic() - t0:.0f} s")
    assert len(set(placed.values())) == 3, placed
    ch = grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock")
    stub = proto.api_grpc.ResourcesStub(ch)
    samples_seen: list[tuple[int, int]] = []      # (running in the cluster, most leaving one node)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            ms = [o.virtualMachineInstanceMigration for o in
                  stub.List(proto.api.ListRequest(kind=proto.VMIM, namespace=NS), timeout=10).items]
            running = [x for x in ms if x.status.phase in RUNNING_PHASES]
            per_node: dict[str, int] = {}
            for x in running:
                src = placed[x.spec.vmiName]
                per_node[src] = per_node.get(src, 0) + 1
            samples_seen.append((len(running), max(per_node.values(), default=0)))
            time.sleep(0.05)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for n in names:   # as fast as the api takes them
            mig = proto.migration.VirtualMachineInstanceMigration()
            mig.metadata.name, mig.metadata.namespace, mig.spec.vmiName = f"mig-{n}", NS, n
            mig.metadata.annotations["kubevirt.io/migrationPendingPodTimeoutSeconds"] = str(TARGET_TIMEOUT)
            stub.Create(proto.api.CreateRequest(object=proto.wrap(mig)), timeout=10)
        c = samples(mm.scrape("node01", "controller"))
        assert value(c, "kubevirt_vmi_migrations_in_pending_phase") + \
            value(c, "kubevirt_vmi_migrations_in_unset_phase") >= 10     # the queue, visible
        start = time.monotonic()
        m.wait_for(lambda: all(x.get("status", {}).get("phase") in ("Succeeded", "Failed")
                               for x in migrations_of_all(m)) and len(migrations_of_all(m)) == 20, 600,
                   "20 migrations final", interval=1)
        took = time.monotonic() - start
    finally:
        stop.set()
        sampler.join(10)
    waited = max(phase_seconds(x, "Pending", "Scheduling") for x in migrations_of_all(m) if x["status"]["phase"]
                 == "Succeeded")
    print(f"20 migrations in {took:.1f} s, {len(samples_seen)} samples, the longest wait in the queue {waited:.0f} s,"
          f" at most {max(s[0] for s in samples_seen)} running")
    failed = {x["spec"]["vmiName"]: x["status"].get("migrationState", {}).get("failureReason", "?")
              for x in migrations_of_all(m) if x["status"]["phase"] != "Succeeded"}
    if failed:
        uids = [m.get("vmi", n, NS)["metadata"]["uid"] for n in failed]
        print(mm.logs_about([*failed, *uids]))
    assert not failed, failed
    assert max(s[0] for s in samples_seen) == 5, samples_seen     # the cluster limit held, and was reached
    assert max(s[1] for s in samples_seen) == 2, samples_seen     # so did the per-node limit
    assert waited > TARGET_TIMEOUT, waited      # queued longer than the timeout, and no harm done
    for n in names:
        v = m.get("vmi", n, NS)
        assert v["status"]["phase"] == "Running" and v["status"]["nodeName"] != placed[n]
        assert any(c["type"] == "Paused" and c["status"] == "True" for c in v["status"]["conditions"]), v  # still
    m.cli("delete", "vm", *names, "-n", NS)
    m.wait_for(lambda: not any(m.get("vmi", n, NS) for n in names), 120, "VMIs gone", interval=1)


def migrations_of_all(m) -> list[dict]:
    with grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock") as ch:
        got = proto.api_grpc.ResourcesStub(ch).List(proto.api.ListRequest(kind=proto.VMIM, namespace=NS), timeout=10)
    return [manifest.to_dict(proto.inner(o)) for o in got.items]


# ---------------------------------------------------------------- drain

def test_drain_migrates_live_migrate_vmis_and_stops_the_others(two_nodes):
    """virtmesh drain NODE: cordoned; a VMI with evictionStrategy LiveMigrate is evacuated by a live migration
    (kubevirt-evacuation-*, no reboot); one without is stopped, and its VM's next VMI cannot come back
    until the node is uncordoned."""
    mm = two_nodes
    m = mm.mesh
    m.cli("apply", "-f", "-", input=vm_manifest("keep", "keep1", f"{GUESTS}/amd64")
          .replace("      terminationGracePeriodSeconds: 0\n",
                   "      terminationGracePeriodSeconds: 0\n      evictionStrategy: LiveMigrate\n"))
    m.wait_for(lambda: m.vmi_phase("keep", NS) == "Running", 90, "keep Running")
    keep = m.get("vmi", "keep", NS)
    node = keep["status"]["nodeName"]
    other = "node02" if node == "node01" else "node01"
    m.cli("apply", "-f", "-", input=vm_manifest("plain", "plain1", f"{GUESTS}/amd64")
          .replace("      terminationGracePeriodSeconds: 0\n",
                   f"      terminationGracePeriodSeconds: 0\n      nodeSelector: {{kubernetes.io/hostname: {node}}}\n"))
    m.wait_for(lambda: m.vmi_phase("plain", NS) == "Running", 90, "plain Running")
    plain_uid = m.get("vmi", "plain", NS)["metadata"]["uid"]
    m.wait_for(lambda: ticks(mm.serial_log(node, keep["metadata"]["uid"])), 60, "keep's guest ticking")
    try:
        r = m.cli("drain", node, "--timeout", "120", timeout=180)
        out = r.stdout
        assert f"node/{node} cordoned" in out and f"node/{node} drained" in out, out
        assert f"evicting vmi {NS}/keep" in out and 'Eviction triggered evacuation of VMI "e2e/keep"' in out, out
        assert f"evicting vmi {NS}/plain" in out and "vmi/plain evicted" in out, out
        assert m.get("node", node)["spec"]["unschedulable"] is True
        v = m.get("vmi", "keep", NS)
        assert v["status"]["nodeName"] == other and v["status"]["phase"] == "Running"
        assert "evacuationNodeName" not in v["status"] and v["status"]["migrationState"]["completed"] is True
        evac = latest(m, "keep")
        assert evac["metadata"]["name"].startswith("kubevirt-evacuation-")
        assert evac["metadata"]["annotations"]["kubevirt.io/evacuationMigration"] == node
        assert evac["status"]["phase"] == "Succeeded"
        assert "VIRTMESH-READY" not in mm.serial_log(other, v["metadata"]["uid"])      # no reboot
        # plain was stopped; its VM's next VMI waits for the cordoned node it is pinned to.
        m.wait_for(lambda: (m.get("vmi", "plain", NS) or {}).get("metadata", {}).get("uid") not in (None, plain_uid),
                   60, "plain's next VMI")
        assert m.vmi_phase("plain", NS) in ("Pending", "Scheduling")
        assert "e2e_plain" not in mm.domains(node) and "e2e_keep" not in mm.domains(node)
        r = m.cli("uncordon", node)
        assert r.stdout.strip() == f"node/{node} uncordoned"
        m.wait_for(lambda: m.vmi_phase("plain", NS) == "Running", 90, "plain Running again")
        assert m.get("vmi", "plain", NS)["status"]["nodeName"] == node
    finally:
        m.cli("uncordon", node, check=False)
        m.cli("delete", "vm", "keep", "plain", "-n", NS, check=False)
        m.wait_for(lambda: m.get("vmi", "keep", NS) is None and m.get("vmi", "plain", NS) is None, 60, "VMIs gone")
