"""Scheduling by machine type (KubeVirt #13690) and, beyond KubeVirt, by the machine's vCPU limit."""
from __future__ import annotations

import json

from services.common import proto, timeutil
from services.controller import scheduler


def node(name, machines=("q35", "pc-q35-7.2"), limits=None):
    n = proto.kv.Node()
    n.metadata.name = name
    n.metadata.labels["kubevirt.io/schedulable"] = "true"
    for m in machines:
        n.metadata.labels["machine-type.node.kubevirt.io/" + m] = "true"
    n.metadata.annotations["kubevirt.io/heartbeat"] = timeutil.now()
    if limits is not None:
        n.metadata.annotations["virtmesh.io/machine-max-vcpus"] = json.dumps(limits)
    return n


def vmi(spec_machine="q35", status_machine="", sockets=1, max_sockets=0, cores=1):
    v = proto.kv.VirtualMachineInstance()
    v.spec.domain.machine.type = spec_machine
    v.status.machine.type = status_machine
    v.spec.domain.cpu.sockets, v.spec.domain.cpu.cores, v.spec.domain.cpu.threads = sockets, cores, 1
    v.spec.domain.cpu.maxSockets = max_sockets
    return v


def test_node_selector_for_machine_type():
    assert scheduler.node_selector(vmi())["machine-type.node.kubevirt.io/q35"] == "true"
    # the status machine type (what the domain really runs) takes precedence over the spec
    sel = scheduler.node_selector(vmi("q35", "pc-q35-7.2"))
    assert sel == {"machine-type.node.kubevirt.io/pc-q35-7.2": "true"}


def test_unsupported_machine_type_is_unschedulable():
    d = scheduler.choose(vmi("pc-q35-test1.2.3"), [node("a"), node("b")], {})
    assert d.node == ""
    assert d.message == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."


def test_only_nodes_offering_the_type():
    nodes = [node("x86"), node("arm", machines=("virt", "virt-7.2"))]
    assert scheduler.choose(vmi("virt"), nodes, {}).node == "arm"
    assert scheduler.choose(vmi("q35"), nodes, {}).node == "x86"


def test_vcpu_limit_of_the_machine():
    small = node("small", limits={"q35": 8})
    big = node("big", limits={"q35": 288})
    # the domain is defined with maxSockets*cores*threads vCPUs (CPU hotplug)
    assert scheduler.domain_vcpus(vmi(sockets=2, max_sockets=8, cores=2)) == 16
    assert scheduler.choose(vmi(sockets=2, max_sockets=8, cores=2), [small, big], {"big": 5}).node == "big"
    d = scheduler.choose(vmi(sockets=2, max_sockets=8, cores=2), [small], {})
    assert d.node == "" and "1 node(s) had a machine type with fewer than 16 vCPUs" in d.message
    # no CPU hotplug on arm64: the domain has just the requested vCPUs
    arm = vmi("virt", sockets=2, max_sockets=8, cores=2)
    arm.spec.architecture = "arm64"
    assert scheduler.domain_vcpus(arm) == 4
    # a node publishing no limits is not excluded
    assert scheduler.choose(vmi(sockets=64), [node("old")], {}).node == "old"


def test_a_vmi_runs_beside_its_local_claims():
    nodes = [node("n1"), node("n2")]
    assert scheduler.choose(vmi(), nodes, {}, frozenset({"n2"})).node == "n2"
    d = scheduler.choose(vmi(), nodes, {}, frozenset({"n1", "n2"}))   # claims on two nodes: nowhere
    assert not d.node and "2 node(s) had volume node affinity conflict" in d.message


class _Cache:
    def __init__(self, *objs):
        self.cache = {proto.key(o): o for o in objs}
        self.traceparent = {}

    def get(self, key):
        return self.cache.get(key)

    def items(self):
        return list(self.cache.values())


class _Api:
    def __init__(self):
        self.writes = []

    async def update_status(self, res, tp=""):
        self.writes.append(res)
        return res


async def test_an_unschedulable_vmi_is_written_once():
    """A VMI that stays Scheduling is not moved back through Pending on every pass (each pass added
    two phase transitions, a write, and the write's event another pass: a hot loop)."""
    from services.common import vmstate
    from services.controller.vmi import VMIController
    v = vmi("pc-q35-test1.2.3")
    v.metadata.name, v.metadata.namespace = "u", "default"
    api = _Api()
    ctl = VMIController(api, _Cache(), _Cache(v), _Cache(node("a")))
    await ctl.reconcile("default/u")
    assert len(api.writes) == 1 and api.writes[0].status.phase == vmstate.SCHEDULING
    ctl.vmis.cache["default/u"] = api.writes[0]
    await ctl.reconcile("default/u")
    assert len(api.writes) == 1


class _CreateApi(_Api):
    async def create(self, res, tp=""):
        self.writes.append(res)
        return res


def _vm(machine=""):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name, vm.metadata.namespace, vm.metadata.uid = "web", "default", "vm-uid"
    vm.spec.runStrategy = "Always"
    vm.spec.template.spec.domain.machine.type = machine
    return vm


async def test_a_vms_vmi_is_created_scheduled():
    """The VM controller creates its VMI already placed (phases Pending, Scheduling, Scheduled recorded,
    nodeName, PodScheduled and the node's label): one write per start, and the handler sees it at once.
    The machine type the api will default (the host arch's) is what the nodes are filtered by."""
    from services.common import arch, names, vmstate
    from services.controller.vm import VMController
    from services.controller.vmi import VMIController
    default = arch.get(arch.host_arch()).default_machine
    other = "virt" if default != "virt" else "q35"
    nodes = _Cache(node("elsewhere", machines=(other,)), node("here", machines=(default,)))
    api = _CreateApi()
    vmis = _Cache()
    placer = VMIController(api, _Cache(), vmis, nodes)
    await VMController(api, _Cache(_vm()), vmis, place=placer.place)._start(_vm(), "")
    (v,) = api.writes
    assert v.status.nodeName == "here" and v.metadata.labels[names.NODE_NAME_LABEL] == "here"
    assert v.status.phase == vmstate.SCHEDULED and vmstate.has_condition(v, vmstate.POD_SCHEDULED, "True")
    assert [t.phase for t in v.status.phaseTransitionTimestamps] == ["Pending", "Scheduling", "Scheduled"]
    assert not v.spec.domain.machine.type and not v.spec.architecture   # the api's to default, not ours

    # No node fits: created unscheduled, as a user's VMI; the VMI controller schedules it and says why not.
    api.writes.clear()
    await VMController(api, _Cache(_vm("pc-q35-test1.2.3")), vmis, place=placer.place)._start(
        _vm("pc-q35-test1.2.3"), "")
    (v,) = api.writes
    assert not v.status.phase and not v.status.nodeName and names.NODE_NAME_LABEL not in v.metadata.labels

    # Launcher pods: the kube-scheduler places the pod, the VMI follows it.
    api.writes.clear()
    pods = VMIController(api, _Cache(), vmis, nodes, pods=object())
    await VMController(api, _Cache(_vm()), vmis, place=pods.place)._start(_vm(), "")
    assert not api.writes[0].status.nodeName
