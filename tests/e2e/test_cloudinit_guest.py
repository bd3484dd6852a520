"""A cloudInitNoCloud volume and a configMap volume on a real guest (QEMU, TCG): the guest finds a disk on
each volume's bus whose ISO 9660 volume label is `cidata` (the ConfigMap's: its volumeLabel) and which
carries the user data and network data the manifest gave (the ConfigMap's data) -- read by the guest
itself from its serial shell. (The test guest has no cloud-init of its own; the files' layout is checked
in tests/launcher/test_cloudinit.py and tests/integration/test_config_volumes.py.)"""
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
CONFIG_MARK = "config-map-mark-9d07"
LABEL_AT = 16 * 2048 + 40   # the primary volume descriptor's volume identifier


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmci-", f"{NS}_") as m:
        yield m


def manifest(name: str) -> str:
    network = f"version: 2\n# {NETWORK_MARK}\n"
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": NS},
         "data": {"app.conf": f"{CONFIG_MARK}\n"}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": NS},
         "spec": {"runStrategy": "Always", "template": {"spec": {
             "terminationGracePeriodSeconds": 0,
             "domain": {"memory": {"guest": "128Mi"},
                        "devices": {"disks": [{"name": "cloudinitdisk", "disk": {"bus": "virtio"}},
                                              {"name": "cfg", "disk": {"bus": "virtio"}}]},
                        "firmware": {"kernelBoot": {
                            "kernelArgs": "console=ttyS0 quiet panic=-1 virtmesh.marker=ci",
                            "container": {"image": f"{GUESTS}/amd64", "kernelPath": "/kernel",
                                          "initrdPath": "/initrd.img"}}}},
             "volumes": [{"name": "cloudinitdisk", "cloudInitNoCloud": {
                 "userData": f"#cloud-config\n# {USER_MARK}\n",
                 "networkDataBase64": base64.b64encode(network.encode()).decode()}},
                 {"name": "cfg", "configMap": {"name": "app", "volumeLabel": "appcfg"}}]}}}}])


def read(m, disk: str, what: str) -> str:
    """What the guest reads of /dev/`disk`: `what` is `label` (the first 6 bytes of the volume label) or a
    mark, then how many lines of the disk hold it."""
    if what == "label":
        cmd = f"echo GOT-$(dd if=/dev/{disk} bs=1 skip={LABEL_AT} count=6 2>/dev/null)-END"
    else:
        cmd = f"echo GOT-$(dd if=/dev/{disk} bs=2048 2>/dev/null | grep -c {what})-END"
    out = guest_shell(m, NS, "ci", cmd, "-END\r")
    return out[out.rindex("GOT-") + 4:out.rindex("-END")]


@pytest.mark.timeout(300)
def test_guest_reads_its_no_cloud_data_source_and_config_map(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=manifest("ci"))
    m.wait_for(lambda: "VIRTMESH-READY ci" in e2e_serial_log(m, "ci", NS) and m.vm_status("ci", NS) == "Running",
               120, "ci booted", interval=0.5)
    m.wait_for(lambda: "VIRTMESH-DISKS vda vdb" in e2e_serial_log(m, "ci", NS), 60, "the guest sees both disks")
    assert read(m, "vda", "label") == "cidata"
    assert read(m, "vda", USER_MARK) == "1" and read(m, "vda", NETWORK_MARK) == "1"
    assert read(m, "vdb", "label") == "appcfg" and read(m, "vdb", CONFIG_MARK) == "1"
    m.cli("delete", "vm", "ci", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "ci", NS) is None, 90, "ci gone")
