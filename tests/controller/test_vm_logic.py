"""The VM controller's pure decisions: printable status precedence, start backoff, VMI template."""
import pytest

from services.common import proto, timeutil, vmstate
from services.controller import vm as vmc
from services.controller import scheduler


def make_vm(strategy="Always"):
    v = proto.kv.VirtualMachine()
    v.metadata.name, v.metadata.namespace, v.metadata.uid, v.metadata.generation = "a", "default", "u1", 3
    v.spec.runStrategy = strategy
    v.spec.template.metadata.labels["app"] = "x"
    v.spec.template.spec.domain.memory.guest = "64Mi"
    return v


def make_vmi(phase="", uid="i1", **conds):
    v = proto.kv.VirtualMachineInstance()
    v.metadata.uid = uid
    if phase:
        vmstate.set_phase(v, phase)
    for ctype, (status, reason) in conds.items():
        vmstate.set_condition(v, ctype, status, reason)
    return v


@pytest.mark.parametrize("strategy, vmi, expected", [
    ("Always", None, "Starting"),
    ("Halted", None, "Stopped"),
    ("Always", make_vmi("Scheduling"), "Starting"),
    ("Always", make_vmi("Running"), "Running"),
    ("Always", make_vmi("Running", Paused=("True", "PausedByUser")), "Paused"),
    ("Halted", make_vmi("Running"), "Stopping"),
    ("Always", make_vmi("Scheduling", PodScheduled=("False", "Unschedulable")), "ErrorUnschedulable"),
    ("RerunOnFailure", make_vmi("Succeeded"), "Stopped"),
    ("Manual", None, "Stopped"),
    ("Once", make_vmi("Succeeded"), "Stopped"),
])
def test_printable_status(strategy, vmi, expected):
    assert vmc.printable_status(make_vm(strategy), vmi) == expected


def test_terminating_wins():
    v = make_vm()
    v.metadata.deletionTimestamp = timeutil.now()
    assert vmc.printable_status(v, make_vmi("Running")) == "Terminating"


def test_crash_loop_backoff():
    v = make_vm()
    sf = v.status.startFailure
    sf.consecutiveFailCount, sf.lastFailedVMIUID = 2, "i1"
    assert vmc.printable_status(v, None) == "CrashLoopBackOff"
    assert vmc.printable_status(v, make_vmi("Failed")) == "CrashLoopBackOff"


def test_backoff_formula_matches_kubevirt():
    # interval max(300/30, 10)=10s times count^2, plus up to half of that as jitter, capped at 300 s.
    assert vmc.start_backoff_seconds(1, rand=lambda: 0.0) == 10
    assert vmc.start_backoff_seconds(2, rand=lambda: 0.0) == 40
    assert vmc.start_backoff_seconds(2, rand=lambda: 0.999) == 40 + 20
    assert vmc.start_backoff_seconds(10, rand=lambda: 0.0) == 300


def test_start_failure_counts_each_failed_vmi_once_and_clears_after_running():
    v = make_vm()
    status = proto.kv.VirtualMachineStatus()
    failed = make_vmi("Failed", uid="i1")
    vmc.sync_start_failure(status, v, failed)
    assert status.startFailure.consecutiveFailCount == 1 and status.startFailure.retryAfterTimestamp
    vmc.sync_start_failure(status, v, failed)
    assert status.startFailure.consecutiveFailCount == 1
    vmc.sync_start_failure(status, v, make_vmi("Failed", uid="i2"))
    assert status.startFailure.consecutiveFailCount == 2
    ran = make_vmi("Running", uid="i3")
    vmstate.set_phase(ran, "Failed")
    vmc.sync_start_failure(status, v, ran)
    assert not status.HasField("startFailure")


def test_new_vmi_from_template():
    v = make_vm()
    v.status.stateChangeRequests.add(action="Start", data={"paused": "true"})
    vmi = vmc.new_vmi(v)
    assert vmi.metadata.name == "a" and vmi.metadata.labels["app"] == "x"
    assert vmi.metadata.annotations["kubevirt.io/vm-generation"] == "3"
    ref = vmi.metadata.ownerReferences[0]
    assert (ref.kind, ref.uid, ref.controller) == ("VirtualMachine", "u1", True)
    assert vmi.spec.startStrategy == "Paused"
    assert vmi.spec.domain.firmware.uuid == vmc.new_vmi(make_vm()).spec.domain.firmware.uuid  # stable


def _node(name, **labels):
    n = proto.kv.Node()
    n.metadata.name = name
    n.metadata.labels.update({"kubevirt.io/schedulable": "true", **labels})
    n.metadata.annotations["kubevirt.io/heartbeat"] = timeutil.now()
    return n


def test_scheduler_honours_selector_readiness_and_load():
    vmi = make_vmi()
    vmi.spec.nodeSelector["disk"] = "ssd"
    stale = _node("n3", disk="ssd")
    stale.metadata.annotations["kubevirt.io/heartbeat"] = "2000-01-01T00:00:00Z"
    nodes = [_node("n1", disk="hdd"), _node("n2", disk="ssd"), stale, _node("n4", disk="ssd")]
    assert scheduler.choose(vmi, nodes, {"n2": 3}).node == "n4"
    vmi.spec.nodeSelector["disk"] = "nvme"
    d = scheduler.choose(vmi, nodes, {})
    assert not d.node
    assert d.message == ("0/4 nodes are available: 3 node(s) didn't match Pod's node affinity/selector, "
                         "1 node(s) were unschedulable.")
