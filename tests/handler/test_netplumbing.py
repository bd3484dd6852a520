"""The handler's NIC plumbing: which taps a VMI needs, which may go (only after leaving the domain),
status.interfaces from the domain, and real taps/bridges made and removed with `ip`."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from services.common import links, manifest, network, proto
from services.handler import netplumbing
from services.handler.vmi import interfaces_status, net_fingerprint

L = proto.launcher


def vmi_of(interfaces, networks, status_ifaces=(), uid="uid-1"):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "v", "namespace": "n", "uid": uid},
           "spec": {"networks": networks, "domain": {"devices": {"interfaces": interfaces}}},
           "status": {"interfaces": list(status_ifaces)}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


POD = {"name": "default", "pod": {}}
BLUE = {"name": "blue", "multus": {"networkName": "blue-net"}}


def test_wanted_taps_only_for_bridge_bound_present_interfaces():
    v = vmi_of([{"name": "default", "masquerade": {}}, {"name": "blue", "bridge": {}},
                {"name": "red", "bridge": {}, "state": "absent"}, {"name": "plain"}],
               [POD, BLUE, {"name": "red", "multus": {"networkName": "red"}}, {"name": "plain", "pod": {}}])
    assert netplumbing.wanted(v) == {network.tap_name("uid-1", "blue"): network.node_bridge(v.spec.networks[1]),
                                     network.tap_name("uid-1", "plain"): network.POD_BRIDGE}
    assert network.node_bridge(v.spec.networks[1]) != network.POD_BRIDGE


def test_taps_go_only_after_the_interface_left_the_domain():
    ifaces = [{"name": "blue", "bridge": {}, "state": "absent"}]
    still = vmi_of(ifaces, [BLUE], [{"name": "blue", "infoSource": "domain, guest-agent"}])
    assert netplumbing.to_unplug(still) == []
    gone = vmi_of(ifaces, [BLUE], [{"name": "blue", "infoSource": "guest-agent"}])
    assert netplumbing.to_unplug(gone) == [network.tap_name("uid-1", "blue")]
    assert netplumbing.to_unplug(vmi_of(ifaces, [BLUE])) == [network.tap_name("uid-1", "blue")]
    assert netplumbing.to_unplug(gone, live={"blue"}) == []  # the live domain still has it: keep the tap


def test_status_interfaces_from_the_domain():
    v = vmi_of([{"name": "default", "masquerade": {}}, {"name": "blue", "bridge": {}}], [POD, BLUE])
    dom = L.Domain(exists=True, interfaces=[L.DomainInterface(name="default", mac="52:54:00:00:00:01", linkState="down"),
                                            L.DomainInterface(name="blue", mac="02:00:00:00:00:02", linkState="up",
                                                              target="vmtx")])
    got = [(i.name, i.mac, i.linkState, i.infoSource, i.podInterfaceName) for i in interfaces_status(v, dom)]
    assert got == [("default", "52:54:00:00:00:01", "down", "domain", ""),
                   ("blue", "02:00:00:00:00:02", "up", "domain", "vmtx")]


def test_fingerprint_follows_interfaces_and_networks_only():
    a = vmi_of([{"name": "default", "masquerade": {}}], [POD])
    b = vmi_of([{"name": "default", "masquerade": {}, "state": "down"}], [POD])
    c = vmi_of([{"name": "default", "masquerade": {}}], [POD])
    c.spec.domain.memory.guest = "1Gi"
    assert net_fingerprint(a) != net_fingerprint(b)
    assert net_fingerprint(a) == net_fingerprint(c)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="creating taps needs root and iproute2")
def test_real_taps_and_bridge_are_idempotent_and_removed_by_uid():
    uid = str(uuid.uuid4())
    bridge = "vmtestbr" + uid[:6]
    tap1, tap2 = network.tap_name(uid, "a"), network.tap_name(uid, "b")
    try:
        for _ in range(2):  # a restarted handler does it all again: no error, same result
            netplumbing.ensure_tap(tap1, bridge)
            netplumbing.ensure_tap(tap2, bridge)
        for tap in (tap1, tap2):
            assert os.path.realpath(f"/sys/class/net/{tap}/master").endswith("/" + bridge)
            flags = int(open(f"/sys/class/net/{tap}/tun_flags").read(), 16)
            # a persistent tap with vnet_hdr and without multi_queue: what libvirt can open (EINVAL otherwise)
            assert flags & 0x0002 and flags & 0x4000 and flags & 0x0800 and not flags & 0x0100, hex(flags)
        links.remove_taps(uid)
        assert not os.path.exists(f"/sys/class/net/{tap1}") and not os.path.exists(f"/sys/class/net/{tap2}")
        links.remove_taps(uid)  # nothing left: no error
    finally:
        for dev in (tap1, tap2, bridge):
            if os.path.exists(f"/sys/class/net/{dev}"):
                os.system(f"ip link del {dev}")
