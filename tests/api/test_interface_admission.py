"""Interface admission (KubeVirt's network admitter): link state values and the unplug rules, MAC,
bindings, with the exact texts on the field path; the bridge default binding."""
from __future__ import annotations

import grpc
import pytest

from services.api import defaults, validation
from services.api.errors import Invalid
from services.common import manifest, proto

POD = {"name": "default", "pod": {}}
BLUE = {"name": "blue", "multus": {"networkName": "blue-net"}}


def spec_of(interfaces, networks):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"networks": networks,
                    "domain": {"memory": {"guest": "64Mi"}, "devices": {"interfaces": interfaces}}}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance).spec


def error(interfaces, networks, path="spec") -> str:
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(spec_of(interfaces, networks), path)
    return str(e.value)


@pytest.mark.parametrize("state", ["", "up", "down"])
def test_link_states_accepted_on_any_binding(state):
    for binding in ("masquerade", "bridge"):
        validation.vmi_spec(spec_of([{"name": "default", binding: {}, "state": state}], [POD]), "spec")


def test_unsupported_state_value():
    assert error([{"name": "default", "masquerade": {}, "state": "Down"}], [POD]) == (
        "spec.domain.devices.interfaces[0].state: logical default interface state value is unsupported: Down")


def test_absent_needs_bridge_binding():
    assert error([{"name": "default", "masquerade": {}}, {"name": "blue", "masquerade": {}, "state": "absent"}],
                 [POD, BLUE]) == ('spec.domain.devices.interfaces[1].state: "blue" interface\'s state "absent" '
                                  "is supported only for bridge binding; spec.domain.devices.interfaces[1].masquerade: "
                                  "masquerade binding is only supported on the pod network")


def test_absent_refused_on_the_default_network():
    for iface in ({"name": "default", "bridge": {}, "state": "absent"}, {"name": "default", "state": "absent"}):
        assert error([iface], [POD]) == ('spec.domain.devices.interfaces[0].state: "default" interface\'s state '
                                         '"absent" is not supported on default networks')
    multus_default = {"name": "default", "multus": {"networkName": "x", "default": True}}
    assert "not supported on default networks" in error([{"name": "default", "bridge": {}, "state": "absent"}],
                                                         [multus_default])


def test_absent_bridge_on_a_secondary_network_is_accepted():
    validation.vmi_spec(spec_of([{"name": "default", "masquerade": {}},
                                 {"name": "blue", "bridge": {}, "state": "absent"}], [POD, BLUE]), "spec")


def test_vm_template_path():
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "v", "namespace": "n"},
           "spec": {"template": {"spec": {"networks": [POD], "domain": {
               "memory": {"guest": "64Mi"}, "devices": {"interfaces": [{"name": "default", "state": "off"}]}}}}}}
    with pytest.raises(Invalid) as e:
        validation.validate(manifest.to_object(doc))
    assert str(e.value) == ("spec.template.spec.domain.devices.interfaces[0].state: logical default interface "
                            "state value is unsupported: off")


def test_mac_binding_and_duplicates():
    assert error([{"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:00"}], [POD]) == (
        "spec.domain.devices.interfaces[0].macAddress: interface default has malformed MAC address "
        "(02:00:00:00:00).")
    validation.vmi_spec(spec_of([{"name": "default", "masquerade": {}, "macAddress": "02-00-00-00-00-0a"}], [POD]),
                        "spec")
    assert error([{"name": "default", "masquerade": {}, "bridge": {}}], [POD]) == (
        "spec.domain.devices.interfaces[0]: Invalid value: only one binding method may be set, got bridge, masquerade")
    assert error([{"name": "blue", "masquerade": {}}], [BLUE]) == (
        "spec.domain.devices.interfaces[0].masquerade: masquerade binding is only supported on the pod network")
    assert error([{"name": "default", "masquerade": {}}, {"name": "default", "bridge": {}}], [POD]) == (
        'spec.domain.devices.interfaces[1].name: Duplicate value: "default"')


def test_no_binding_defaults_to_bridge():
    spec = spec_of([{"name": "default"}, {"name": "m", "masquerade": {}}], [POD, {"name": "m", "pod": {}}])
    defaults.vmi_spec(spec)
    assert spec.domain.devices.interfaces[0].HasField("bridge")
    assert not spec.domain.devices.interfaces[1].HasField("bridge")


async def test_refused_update_changes_nothing(api_server):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "nic"},
           "spec": {"runStrategy": "Halted", "template": {"spec": {"networks": [POD], "domain": {
               "memory": {"guest": "64Mi"}, "devices": {"interfaces": [{"name": "default", "masquerade": {}}]}}}}}}
    created = (await api_server.stub.Create(proto.api.CreateRequest(object=manifest.to_object(doc)))).virtualMachine
    bad = proto.kv.VirtualMachine()
    bad.CopyFrom(created)
    bad.spec.template.spec.domain.devices.interfaces[0].state = "absent"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(bad)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is supported only for bridge binding" in e.value.details()
    stored = (await api_server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, "default", "nic")))).virtualMachine
    assert stored == created
