"""Networking with a real guest: masquerade + bridge bindings, link state down/up, NIC hotplug and
unplug, bad interface requests refused without changing anything, all across a handler kill -9.
The guest's /init prints `VIRTMESH-LINKS eth0=1 ...` (carrier per NIC) whenever it changes."""
from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from e2e.conftest import GUESTS, qemu_mesh, serial_log
from e2e.test_compute import run_in_guest
from services.common import network, proto

pytestmark = pytest.mark.e2e
NS = "e2e"


def vm(interfaces, networks):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "nic", "namespace": NS},
            "spec": {"runStrategy": "Always", "template": {"spec": {
                "terminationGracePeriodSeconds": 0, "networks": networks,
                "domain": {"memory": {"guest": "128Mi"},
                           "devices": {"autoattachSerialConsole": True, "interfaces": interfaces},
                           "firmware": {"kernelBoot": {
                               "kernelArgs": "console=ttyS0 quiet panic=-1 virtmesh.marker=nic",
                               "container": {"image": f"{GUESTS}/amd64", "kernelPath": "/kernel",
                                             "initrdPath": "/initrd.img"}}}}}}}}


@pytest.fixture
def mesh(host_ready):
    with qemu_mesh("vmnet-", f"{NS}_nic") as m:
        yield m
    for name in ("red-net", "blue-net", "green-net"):  # this test's node bridges and whatever taps a
        br = network.node_bridge(proto.kv.Network(multus=proto.kv.MultusNetwork(networkName=name)))
        if os.path.isdir(f"/sys/class/net/{br}/brif"):  # failed run left on them (the VM was never deleted)
            for tap in os.listdir(f"/sys/class/net/{br}/brif"):
                subprocess.run(["ip", "link", "del", tap], capture_output=True)
            subprocess.run(["ip", "link", "del", br], capture_output=True)


def links(m) -> str:
    """The guest's latest carrier line, from the launcher's console log."""
    found = re.findall(r"VIRTMESH-LINKS ([^\r\n]*)", serial_log(m, "nic", NS))
    return found[-1] if found else ""


def status_ifaces(m) -> dict:
    vmi = m.get("vmi", "nic", NS) or {}
    return {i["name"]: i for i in vmi.get("status", {}).get("interfaces", [])}


def apply(m, doc, check=True):
    return m.cli("apply", "-f", "-", input=yaml.safe_dump(doc), check=check)


def wait(m, what, predicate, timeout=60):
    return m.wait_for(predicate, timeout, what, interval=0.3)


def test_link_state_and_nic_hotplug_in_a_real_guest(mesh):
    m = mesh
    # masquerade on the pod network, plus a bridge-bound NIC on a secondary network from boot on
    ifaces = [{"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:aa:01"},
              {"name": "red", "bridge": {}, "macAddress": "02:00:00:00:aa:02"}]
    nets = [{"name": "default", "pod": {}}, {"name": "red", "multus": {"networkName": "red-net"}}]
    doc = vm(ifaces, nets)
    apply(m, doc)
    wait(m, "VM Running", lambda: m.vm_status("nic", NS) == "Running")
    wait(m, "guest links up", lambda: links(m) == "eth0=1 eth1=1", 90)
    wait(m, "status from the domain", lambda: status_ifaces(m).get("default", {}).get("linkState") == "up")
    st = status_ifaces(m)["default"]
    assert st["infoSource"] == "domain" and st["mac"] == "02:00:00:00:aa:01"
    uid = m.get("vmi", "nic", NS)["metadata"]["uid"]
    assert status_ifaces(m)["red"]["podInterfaceName"] == network.tap_name(uid, "red")
    assert os.path.exists(f"/sys/class/net/{network.tap_name(uid, 'red')}/brport")
    # masquerade = QEMU's user-mode NAT: the guest's gateway (10.0.2.2 in slirp's 10.0.2.0/24) answers.
    run_in_guest(m, "nic", "d=$(grep -l 02:00:00:00:aa:01 /sys/class/net/*/address | cut -d/ -f5); "
                 "ip addr add 10.0.2.15/24 dev $d; ping -c1 -W5 10.0.2.2 >/dev/null && echo NET-$((40+2))",
                 "NET-42")

    # Bad requests: KubeVirt's messages, nothing stored changes.
    before = m.get("vm", "nic", NS)
    for state, msg in (("sideways", "spec.template.spec.domain.devices.interfaces[0].state: logical default "
                                    "interface state value is unsupported: sideways"),
                       ("absent", "spec.template.spec.domain.devices.interfaces[0].state: \"default\" interface's "
                                  "state \"absent\" is supported only for bridge binding")):
        bad = copy.deepcopy(doc)
        bad["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["state"] = state
        r = apply(m, bad, check=False)
        assert r.returncode != 0 and msg in r.stderr, r.stderr
    bad = copy.deepcopy(doc)
    bad["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0] = {"name": "default", "bridge": {},
                                                                             "state": "absent"}
    r = apply(m, bad, check=False)
    assert r.returncode != 0 and ("\"default\" interface's state \"absent\" is not supported on default networks"
                                  in r.stderr), r.stderr
    assert m.get("vm", "nic", NS)["metadata"]["generation"] == before["metadata"]["generation"]
    assert m.get("vm", "nic", NS)["spec"] == before["spec"]

    # Link down: applied live, the guest loses carrier, status says down.
    ifaces[0]["state"] = "down"
    apply(m, vm(ifaces, nets))
    wait(m, "guest carrier 0", lambda: sorted(links(m).split()) == ["eth0=0", "eth1=1"])
    wait(m, "status down", lambda: status_ifaces(m)["default"]["linkState"] == "down")

    # The handler dies; the new one finds the same state and can still flip the link.
    handler = m.pid_of("handler")
    os.kill(handler, signal.SIGKILL)
    m.wait_for(lambda: m.pid_of("handler") not in (0, handler), 30, "handler restarted")
    ifaces[0]["state"] = "up"
    apply(m, vm(ifaces, nets))
    wait(m, "guest carrier 1", lambda: links(m) == "eth0=1 eth1=1")
    wait(m, "status up", lambda: status_ifaces(m)["default"]["linkState"] == "up")
    assert status_ifaces(m)["red"]["linkState"] == "up"
    assert m.get("vmi", "nic", NS)["metadata"]["uid"] == uid  # the same VMI all along

    # Hotplug a bridge-bound NIC on a secondary network: the node makes a tap, the guest sees eth1.
    tap = network.tap_name(uid, "blue")
    ifaces.append({"name": "blue", "bridge": {}})  # index 2
    nets.append({"name": "blue", "multus": {"networkName": "blue-net"}})
    apply(m, vm(ifaces, nets))
    wait(m, "guest sees the new link", lambda: links(m) == "eth0=1 eth1=1 eth2=1", 90)
    wait(m, "status has blue", lambda: status_ifaces(m).get("blue", {}).get("infoSource") == "domain")
    assert status_ifaces(m)["blue"]["podInterfaceName"] == tap
    assert os.path.exists(f"/sys/class/net/{tap}/brport")  # plugged into the node bridge
    # What the guest sends on eth1 comes out of the node's tap (an ARP for the unanswered ping).
    rx = int(open(f"/sys/class/net/{tap}/statistics/rx_packets").read())
    run_in_guest(m, "nic", "ip addr add 192.168.77.2/24 dev eth2; ping -c1 -W1 192.168.77.1; echo BR-$((40+2))",
                 "BR-42")
    wait(m, "frames on the tap", lambda: int(open(f"/sys/class/net/{tap}/statistics/rx_packets").read()) > rx)

    # Another handler kill -9: the new one finds the tap by its name and reports the same interfaces.
    handler = m.pid_of("handler")
    os.kill(handler, signal.SIGKILL)
    m.wait_for(lambda: m.pid_of("handler") not in (0, handler), 30, "handler restarted again")
    assert set(status_ifaces(m)) == {"default", "red", "blue"} and os.path.exists(f"/sys/class/net/{tap}")

    # Unplug: state absent -> detached from the domain, the guest loses eth1, then the tap goes.
    ifaces[2]["state"] = "absent"
    apply(m, vm(ifaces, nets))
    wait(m, "guest lost the link", lambda: links(m) == "eth0=1 eth1=1", 90)
    wait(m, "status without blue", lambda: "blue" not in status_ifaces(m))
    wait(m, "tap removed", lambda: not os.path.exists(f"/sys/class/net/{tap}"))
    assert m.vm_status("nic", NS) == "Running"
    assert os.path.exists(f"/sys/class/net/{network.tap_name(uid, 'red')}")  # only the unplugged NIC's tap went

    # A hotplug libvirt refuses (the PCI slot of eth0): reported on the VMI, the VM keeps running;
    # withdrawing it (absent) clears the report and drops its tap.
    dom = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", "e2e_nic"], capture_output=True, text=True).stdout
    taken = ET.fromstring(dom).find("devices/interface/alias[@name='ua-default']/../address").get("bus")
    ifaces.append({"name": "green", "bridge": {}, "pciAddress": f"0000:{int(taken, 16):02x}:00.0"})
    nets.append({"name": "green", "multus": {"networkName": "green-net"}})
    apply(m, vm(ifaces, nets))

    def sync_failure():
        c = [c for c in (m.get("vmi", "nic", NS) or {}).get("status", {}).get("conditions", [])
             if c["type"] == "Synchronized"]
        return c[0] if c and c[0]["status"] == "False" else None
    cond = wait(m, "attach failure reported", sync_failure)
    assert cond["reason"] == "SyncFailed" and "attach device" in cond["message"], cond
    assert m.vm_status("nic", NS) == "Running" and links(m) == "eth0=1 eth1=1"
    ifaces[3]["state"] = "absent"
    apply(m, vm(ifaces, nets))
    wait(m, "failure cleared", lambda: sync_failure() is None)
    wait(m, "green tap removed", lambda: not os.path.exists(f"/sys/class/net/{network.tap_name(uid, 'green')}"))

    m.cli("delete", "vm", "nic", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "nic", NS) is None, 60, "VMI gone")
    assert not [d for d in os.listdir("/sys/class/net") if d.startswith(network.tap_prefix(uid))]
