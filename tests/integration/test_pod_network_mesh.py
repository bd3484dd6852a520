"""The node's pod network through a real mesh (libvirt's test driver, real taps, real dnsmasq): a
bridge-bound pod interface shows its allocated address in the VMI's status; with the range full a new
VMI waits with the CNI's error on the VMI (Synchronized=False, FailedCreatePodSandBox, a Warning event)
and starts once an address is free; a handler kill -9 keeps the allocation."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest
import yaml

from harness import Mesh, short_tmpdir
from services.common import network

CIDR = "10.244.254.0/30"     # the gateway .1 and one guest, .2


def vm(name: str) -> str:
    return yaml.safe_dump({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
                           "spec": {"runStrategy": "Always", "template": {"spec": {
                               "terminationGracePeriodSeconds": 0,
                               "networks": [{"name": "default", "pod": {}}],
                               "domain": {"resources": {"requests": {"memory": "64Mi"}},
                                          "devices": {"interfaces": [{"name": "default", "bridge": {}}]}}}}}})


@pytest.fixture
def mesh():
    if os.geteuid() != 0 or not shutil.which("dnsmasq"):
        if os.environ.get("CI"):
            pytest.fail("the pod network needs root (taps) and dnsmasq (tools/host.sh install)")
        pytest.skip("needs root and dnsmasq")
    d = short_tmpdir("vmpod-")
    m = Mesh(d, "test:///default", extra=("--pod-cidr", CIDR))
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


def address(m, name) -> str:
    ifaces = ((m.get("vmi", name) or {}).get("status") or {}).get("interfaces") or []
    return ifaces[0].get("ipAddress", "") if ifaces else ""


def sandbox_condition(m, name):
    for c in ((m.get("vmi", name) or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == "Synchronized" and c["status"] == "False" and c["reason"] == "FailedCreatePodSandBox":
            return c
    return None


def test_addresses_are_reported_exhaustion_waits_on_the_vmi_and_a_release_lets_it_start(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=vm("first"))
    m.wait_for(lambda: address(m, "first") == "10.244.254.2", 60, "first's address in its status")
    assert m.vm_status("first") == "Running"
    dhcp = int(open(os.path.join(m.data_dir, "net", "node01", "dnsmasq.pid")).read())
    assert open(f"/proc/{dhcp}/comm").read().strip() == "dnsmasq"

    m.cli("apply", "-f", "-", input=vm("second"))
    cond = m.wait_for(lambda: sandbox_condition(m, "second"), 60, "second waiting for an address")
    assert cond["message"] == ("pod network: failed to allocate for range 0: no IP addresses available in range "
                               "set: 10.244.254.2-10.244.254.2"), cond
    assert m.vmi_phase("second") == "Scheduled" and len(m.launcher_pids()) == 1   # no launcher without an address
    events = m.cli("get", "events", "--field-selector", "involvedObject.name=second").stdout
    assert "FailedCreatePodSandBox" in events and "no IP addresses available" in events, events

    # kill -9: the new handler knows first's address (from its file), and second still waits
    handler = m.pid_of("handler")
    os.kill(handler, signal.SIGKILL)
    m.wait_for(lambda: m.pid_of("handler") not in (0, handler), 30, "handler restarted")
    assert address(m, "first") == "10.244.254.2" and sandbox_condition(m, "second") is not None

    m.cli("delete", "vm", "first")
    m.wait_for(lambda: m.vmi_phase("second") == "Running", 60, "second started with the freed address")
    m.wait_for(lambda: address(m, "second") == "10.244.254.2", 30, "second's address")
    assert sandbox_condition(m, "second") is None
    dhcp = int(open(os.path.join(m.data_dir, "net", "node01", "dnsmasq.pid")).read())   # serving second now
    assert open(f"/proc/{dhcp}/comm").read().strip() == "dnsmasq"
    m.cli("delete", "vm", "second")
    m.wait_for(lambda: m.get("vmi", "second") is None, 30, "second gone")
    # the last address released: the node's DHCP server and the gateway go
    m.wait_for(lambda: not os.path.exists(f"/proc/{dhcp}"), 30, "DHCP server stopped")
    gone = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "virtmesh0"], capture_output=True, text=True).stdout
    assert "10.244.254.1/30" not in gone


def test_stopping_the_mesh_takes_its_vms_taps_along(mesh):
    """`virtmesh up` stopping its VMs leaves none of their taps behind: each goes with its launcher, as a
    pod's network goes with the pod (the handler has stopped before the launchers do)."""
    m = mesh
    m.cli("apply", "-f", "-", input=vm("first"))
    m.wait_for(lambda: address(m, "first") == "10.244.254.2", 60, "first's address in its status")
    tap = network.tap_name(m.get("vmi", "first")["metadata"]["uid"], "default")
    assert os.path.exists(f"/sys/class/net/{tap}")
    m.stop()
    assert not m.leftover
    assert not os.path.exists(f"/sys/class/net/{tap}"), f"tap {tap} outlived virtmesh up"
