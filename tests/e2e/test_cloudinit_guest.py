"""A cloudInitNoCloud volume on a real guest (QEMU, TCG): the guest finds a disk on the volume's bus
whose ISO 9660 volume label is `cidata` and which carries the user data and network data the manifest
gave -- read by the guest itself from its serial shell. (The test guest has no cloud-init of its own;
the files' layout is checked in tests/launcher/test_cloudinit.py.)"""
from __future__ import annotations

import base64

import pytest
import yaml

from e2e.conftest import GUESTS, guest_shell, qemu_mesh
from e2e.conftest import serial_log as e2e_serial_log

pytestmark = pytest.mark.e2e
NS = "e2ecloudinit"
USER_MARK = "user-data-mark-7f3a"
NETWORK_MARK = "network-data-mark-c41e"
LABEL_AT = 16 * 2048 + 40   # the primary volume descriptor's volume identifier


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmci-", f"{NS}_") as m:
        yield m


def manifest(name: str) -> str:
    network = f"version: 2\n# {NETWORK_MARK}\n"
    return yaml.safe_dump({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": NS},
        "spec": {"runStrategy": "Always", "template": {"spec": {
            "terminationGracePeriodSeconds": 0,
            "domain": {"memory": {"guest": "128Mi"},
                       "devices": {"disks": [{"name": "cloudinitdisk", "disk": {"bus": "virtio"}}]},
                       "firmware": {"kernelBoot": {
                           "kernelArgs": "console=ttyS0 quiet panic=-1 virtmesh.marker=ci",
                           "container": {"image": f"{GUESTS}/amd64", "kernelPath": "/kernel",
                                         "initrdPath": "/initrd.img"}}}},
            "volumes": [{"name": "cloudinitdisk", "cloudInitNoCloud": {
                "userData": f"#cloud-config\n# {USER_MARK}\n",
                "networkDataBase64": base64.b64encode(network.encode()).decode()}}]}}}})


@pytest.mark.timeout(300)
def test_guest_reads_its_no_cloud_data_source(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=manifest("ci"))
    m.wait_for(lambda: "VIRTMESH-READY ci" in e2e_serial_log(m, "ci", NS) and m.vm_status("ci", NS) == "Running",
               120, "ci booted", interval=0.5)
    m.wait_for(lambda: "VIRTMESH-DISKS vda" in e2e_serial_log(m, "ci", NS), 60, "the guest sees the cloud-init disk")
    out = guest_shell(m, NS, "ci", f"echo LABEL-$(dd if=/dev/vda bs=1 skip={LABEL_AT} count=6 2>/dev/null)-END",
                      "-END\r")
    assert "LABEL-cidata-END" in out
    for mark in (USER_MARK, NETWORK_MARK):
        out = guest_shell(m, NS, "ci", f"echo FOUND-$(dd if=/dev/vda bs=2048 2>/dev/null | grep -c {mark})-END",
                          "-END\r")
        assert "FOUND-1-END" in out, out[-500:]
    m.cli("delete", "vm", "ci", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "ci", NS) is None, 90, "ci gone")
