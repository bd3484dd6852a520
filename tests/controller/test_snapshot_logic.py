"""The snapshot and restore controllers' pure decisions (services/controller/snapshot.py), KubeVirt's
rules: generateRestoredVMSpec's run strategy (KubeVirt 1.6, PR #14281), the snapshot's phases and
conditions from its content, indications, deadlines and the content's deletion."""
from __future__ import annotations

import datetime as dt

from services.common import proto, snapshots as S, timeutil
from services.controller import snapshot as ctl


def vm(name="db", strategy=None, running=None):
    v = proto.kv.VirtualMachine()
    v.metadata.name, v.metadata.namespace, v.metadata.uid = name, "default", f"uid-{name}"
    if strategy is not None:
        v.spec.runStrategy = strategy
    if running is not None:
        v.spec.running = running
    vol = v.spec.template.spec.volumes.add(name="data")
    vol.persistentVolumeClaim.claimName = "db-data"
    dvv = v.spec.template.spec.volumes.add(name="root")
    dvv.dataVolume.name = "db-root"
    v.spec.dataVolumeTemplates.add().metadata.name = "db-root"
    return v


def restore(target="db"):
    r = proto.snapshot.VirtualMachineRestore()
    r.metadata.name, r.metadata.namespace, r.metadata.uid = "r1", "default", "ruid"
    r.spec.target.apiGroup, r.spec.target.kind, r.spec.target.name = "kubevirt.io", "VirtualMachine", target
    r.status.restores.add(volumeName="data", persistentVolumeClaim="restore-ruid-data")
    r.status.restores.add(volumeName="root", persistentVolumeClaim="restore-ruid-root")
    return r


def test_in_place_keeps_the_live_run_strategy():
    snap = vm(strategy="Always")                    # what the snapshot saw
    live = vm(strategy="RerunOnFailure")            # what the VM says now (stopped)
    out = ctl.restored_vm(snap, live, restore())
    assert out.spec.runStrategy == "RerunOnFailure" and not out.spec.HasField("running")
    assert out.metadata.annotations[S.LAST_RESTORE_ANNOTATION] == "r1-ruid"
    vols = {v.name: v for v in out.spec.template.spec.volumes}
    assert vols["data"].persistentVolumeClaim.claimName == "restore-ruid-data"
    assert vols["root"].persistentVolumeClaim.claimName == "restore-ruid-root" and not vols["root"].HasField("dataVolume")
    assert not out.spec.dataVolumeTemplates
    assert ctl.obsolete_data_volumes(live, out) == ["db-root"]


def test_in_place_with_running_sets_running_false_and_drops_a_mixed_run_strategy():
    snap = vm(strategy="Manual", running=True)      # a snapshot that mixed both
    live = vm(running=True)
    out = ctl.restored_vm(snap, live, restore())
    assert out.spec.running is False and not out.spec.HasField("runStrategy")


def test_a_new_vm_is_halted_or_not_running():
    out = ctl.restored_vm(vm(strategy="Always"), None, restore("db2"))
    assert (out.metadata.name, out.spec.runStrategy) == ("db2", "Halted") and not out.metadata.uid
    out = ctl.restored_vm(vm(running=True), None, restore("db2"))
    assert out.spec.running is False


def snapshot(deadline=None, age=0):
    s = proto.snapshot.VirtualMachineSnapshot()
    s.metadata.name, s.metadata.namespace, s.metadata.uid = "s1", "default", "suid"
    s.metadata.creationTimestamp = timeutil.format_time(dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age))
    s.spec.source.name = "db"
    if deadline is not None:
        s.spec.failureDeadline = deadline
    return s


def cond(obj, ctype):
    c = next(c for c in obj.status.conditions if c.type == ctype)
    return c.status, c.reason


def test_status_follows_the_content():
    s, v = snapshot(), vm(strategy="Always")
    c = proto.snapshot.VirtualMachineSnapshotContent()
    c.metadata.name = "vmsnapshot-content-suid"
    c.status.readyToUse = False
    out = ctl.snapshot_status(s, v, None, c)
    assert (out.status.phase, out.status.readyToUse, out.status.sourceUID) == ("InProgress", False, "uid-db")
    assert cond(out, "Progressing") == ("True", S.SOURCE_LOCKED) and cond(out, "Ready") == ("False", "Not ready")
    c.status.error.message = "qemu-img convert: boom"
    out = ctl.snapshot_status(out, v, None, c)
    assert cond(out, "Progressing") == ("False", "In error state") and out.status.error.message.endswith("boom")
    c.status.ClearField("error")
    c.status.readyToUse, c.status.creationTime = True, "2026-01-01T00:00:00Z"
    out = ctl.snapshot_status(out, v, None, c)
    assert (out.status.phase, out.status.readyToUse) == ("Succeeded", True) and not out.status.HasField("error")
    assert cond(out, "Ready") == ("True", "Ready") and cond(out, "Progressing") == ("False", "Operation complete")


def test_online_indications_without_a_guest_agent():
    vmi = proto.kv.VirtualMachineInstance()
    vmi.status.phase = "Running"
    assert ctl.indications(vmi) == ["NoGuestAgent", "Online"]
    vmi.status.conditions.add(type="Paused", status="True")
    assert ctl.indications(vmi) == ["Online", "Paused"]
    assert ctl.indications(None) == []


def test_deadline():
    assert not ctl.deadline_exceeded(snapshot("30s", age=10))
    assert ctl.deadline_exceeded(snapshot("30s", age=40))
    assert not ctl.deadline_exceeded(snapshot("0s", age=4000))      # 0: no deadline, as KubeVirt
    assert ctl.deadline_exceeded(snapshot(age=301))                  # the 5 min default
    out = ctl.snapshot_status(snapshot("5s", age=10), vm(), None, None)
    assert out.status.phase == "Failed" and cond(out, "Failure") == ("True", "snapshot deadline exceeded")


def test_content_deletion_policy():
    s, c = snapshot(), proto.snapshot.VirtualMachineSnapshotContent()
    c.status.readyToUse = True
    assert ctl.should_delete_content(s, c)
    s.spec.deletionPolicy = "Retain"
    assert not ctl.should_delete_content(s, c)
    c.status.readyToUse = False
    assert ctl.should_delete_content(s, c)    # an unready content is never kept


def test_durations():
    assert timeutil.parse_duration("5m0s") == 300 and timeutil.parse_duration("1h30m") == 5400 and timeutil.parse_duration("1.5s") == 1.5
    for bad in ("", "5", "5x", "m5"):
        try:
            timeutil.parse_duration(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
