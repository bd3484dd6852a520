"""VM template -> running VMI interfaces (KubeVirt's ApplyDynamicIfaceRequestOnVMI)."""
from __future__ import annotations

from services.common import manifest, proto
from services.controller.nichotplug import apply_dynamic_iface_request


def spec(interfaces, networks):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"networks": networks, "domain": {"devices": {"interfaces": interfaces}}}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance).spec


POD = {"name": "default", "pod": {}}
BLUE = {"name": "blue", "multus": {"networkName": "blue-net"}}


def states(s):
    return [(i.name, i.state) for i in s.domain.devices.interfaces]


def test_state_change_is_copied():
    vmi = spec([{"name": "default", "masquerade": {}}], [POD])
    assert apply_dynamic_iface_request(spec([{"name": "default", "masquerade": {}, "state": "down"}], [POD]), vmi)
    assert states(vmi) == [("default", "down")]
    assert apply_dynamic_iface_request(spec([{"name": "default", "masquerade": {}, "state": "up"}], [POD]), vmi)
    assert states(vmi) == [("default", "up")]


def test_same_state_changes_nothing():
    vmi = spec([{"name": "default", "masquerade": {}, "state": "down"}], [POD])
    before = proto.copy(vmi)
    assert not apply_dynamic_iface_request(spec([{"name": "default", "masquerade": {}, "state": "down"}], [POD]), vmi)
    assert vmi == before


def test_absent_on_the_vmi_is_final():
    vmi = spec([{"name": "blue", "bridge": {}, "state": "absent"}], [BLUE])
    assert not apply_dynamic_iface_request(spec([{"name": "blue", "bridge": {}, "state": "up"}], [BLUE]), vmi)
    assert states(vmi) == [("blue", "absent")]


def test_new_interface_and_network_are_hotplugged():
    vmi = spec([{"name": "default", "masquerade": {}}], [POD])
    vm = spec([{"name": "default", "masquerade": {}}, {"name": "blue", "bridge": {}, "state": "down"}], [POD, BLUE])
    assert apply_dynamic_iface_request(vm, vmi)
    assert states(vmi) == [("default", ""), ("blue", "down")]
    assert [n.name for n in vmi.networks] == ["default", "blue"]
    assert vmi.networks[1].multus.networkName == "blue-net" and vmi.domain.devices.interfaces[1].HasField("bridge")


def test_new_interface_already_absent_is_not_added():
    vmi = spec([{"name": "default", "masquerade": {}}], [POD])
    vm = spec([{"name": "default", "masquerade": {}}, {"name": "blue", "bridge": {}, "state": "absent"}], [POD, BLUE])
    assert not apply_dynamic_iface_request(vm, vmi)
    assert states(vmi) == [("default", "")] and len(vmi.networks) == 1
