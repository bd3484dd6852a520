"""Issue 5 storage end to end on real QEMU (TCG): local claims provisioned by the node, volume
hotplug into a running guest (it reports its disks), state surviving a handler kill -9, refused
requests changing nothing, and a VM booting from a hotpluggable DataVolume imported from an image.
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest
import yaml

from e2e.conftest import GUESTS, qemu_mesh
from e2e.conftest import serial_log as e2e_serial_log

pytestmark = pytest.mark.e2e
NS = "e2ehp"


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmhp-", f"{NS}_") as m:
        yield m


def apply(m, obj):
    m.cli("apply", "-f", "-", input=yaml.safe_dump(obj))


def pvc(name, size="64Mi"):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}


def kernel_vm(name, marker):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": NS},
            "spec": {"runStrategy": "Always", "template": {"spec": {
                "terminationGracePeriodSeconds": 0,
                "domain": {"memory": {"guest": "128Mi"}, "devices": {},
                           "firmware": {"kernelBoot": {
                               "kernelArgs": f"console=ttyS0 quiet panic=-1 virtmesh.marker={marker}",
                               "container": {"image": f"{GUESTS}/amd64", "kernelPath": "/kernel",
                                             "initrdPath": "/initrd.img"}}}}}}}}


def serial_log(m, name) -> str:
    return e2e_serial_log(m, name, NS)


def last_disks(m, name) -> str:
    lines = [ln.strip() for ln in serial_log(m, name).splitlines() if ln.startswith("VIRTMESH-DISKS")]
    return lines[-1] if lines else ""


def volume_status(m, name, volume):
    vmi = m.get("vmi", name, NS) or {}
    return next((v for v in vmi.get("status", {}).get("volumeStatus", []) if v["name"] == volume), None)


def fails(m, *args) -> str:
    r = m.cli(*args, check=False)
    assert r.returncode != 0, r.stdout
    return r.stderr.strip()


def test_hotplug_a_claim_into_a_running_guest(mesh):
    m = mesh
    apply(m, pvc("data1"))
    m.wait_for(lambda: (m.get("pvc", "data1", NS) or {}).get("status", {}).get("phase") == "Bound", 30, "Bound")
    claim = m.get("pvc", "data1", NS)
    image = os.path.join(m.data_dir, "volumes", NS, f"data1-{claim['metadata']['uid']}", "disk.img")
    assert os.path.getsize(image) == 64 << 20                          # a sparse raw image of the size asked
    apply(m, kernel_vm("hp", "hp1"))
    m.wait_for(lambda: "VIRTMESH-READY hp1" in serial_log(m, "hp"), 90, "guest ready")
    assert last_disks(m, "hp") == "VIRTMESH-DISKS none"
    spec_before = m.get("vmi", "hp", NS)["spec"]

    # Refused, and nothing changes: a non-scsi bus, an unknown claim.
    assert "does not use a scsi bus" in fails(m, "addvolume", "hp", "--volume-name=data1", "--bus=virtio", "-n", NS)
    assert 'persistentvolumeclaims "nope" not found' in fails(m, "addvolume", "hp", "--volume-name=nope", "-n", NS)
    assert m.get("vmi", "hp", NS)["spec"] == spec_before

    m.cli("addvolume", "hp", "--volume-name=data1", "--serial=DATA1", "--persist", "-n", NS)
    m.wait_for(lambda: last_disks(m, "hp") == "VIRTMESH-DISKS sda", 60, "guest sees sda")
    m.wait_for(lambda: (volume_status(m, "hp", "data1") or {}).get("phase") == "Ready", 30, "Ready")
    vs = volume_status(m, "hp", "data1")
    assert vs["target"] == "sda" and "hotplugVolume" in vs
    assert vs["persistentVolumeClaimInfo"]["claimName"] == "data1"
    template = m.get("vm", "hp", NS)["spec"]["template"]["spec"]
    assert {"name": "data1", "persistentVolumeClaim": {"claimName": "data1", "hotpluggable": True}} in template["volumes"]
    assert "Unable to add volume [data1] because volume with that name already exists" in \
        fails(m, "addvolume", "hp", "--volume-name=data1", "-n", NS)
    assert "in use" in fails(m, "delete", "pvc", "data1", "-n", NS)
    assert m.get("pvc", "data1", NS)["metadata"].get("deletionTimestamp") is None

    # The handler dies (kill -9) and comes back: the state is still right, and hot-unplug works.
    old = m.pid_of("handler")
    os.kill(old, signal.SIGKILL)
    m.wait_for(lambda: m.pid_of("handler") not in (0, old), 30, "handler restarted")
    m.wait_for(lambda: m.node_ready("node01"), 30, "node ready")
    assert (volume_status(m, "hp", "data1") or {}).get("phase") == "Ready"
    m.cli("removevolume", "hp", "--volume-name=data1", "--persist", "-n", NS)
    m.wait_for(lambda: last_disks(m, "hp") == "VIRTMESH-DISKS none", 60, "guest lost sda")
    m.wait_for(lambda: volume_status(m, "hp", "data1") is None, 30, "volume status gone")
    xml = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"{NS}_hp"], capture_output=True, text=True).stdout
    assert "ua-data1" not in xml
    assert all(v["name"] != "data1" for v in m.get("vm", "hp", NS)["spec"]["template"]["spec"].get("volumes", []))

    m.cli("delete", "vm", "hp", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "hp", NS) is None, 60, "VM gone")
    m.cli("delete", "pvc", "data1", "-n", NS)
    m.wait_for(lambda: m.get("pvc", "data1", NS) is None and not os.path.exists(image), 30, "claim and image gone")


def test_boot_from_a_hotpluggable_datavolume(mesh):
    m = mesh
    source = f"{GUESTS}/amd64/disk.img"
    apply(m, {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
              "metadata": {"name": "boot1", "namespace": NS},
              "spec": {"source": {"http": {"url": f"file://{source}"}},
                       "storage": {"resources": {"requests": {"storage": "128Mi"}}}}})
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "hb", "namespace": NS},
          "spec": {"runStrategy": "Always", "template": {"spec": {
              "terminationGracePeriodSeconds": 0,
              "domain": {"memory": {"guest": "128Mi"},
                         "devices": {"disks": [{"name": "boot", "bootOrder": 1, "disk": {"bus": "scsi"}}]}},
              "volumes": [{"name": "boot", "dataVolume": {"name": "boot1", "hotpluggable": True}}]}}}}
    apply(m, vm)  # at once: the handler holds the domain back until the import is done (A3)
    m.wait_for(lambda: (m.get("dv", "boot1", NS) or {}).get("status", {}).get("phase") == "Succeeded", 60,
               "DataVolume Succeeded")
    assert m.get("dv", "boot1", NS)["status"]["progress"] == "100.0%"
    m.wait_for(lambda: "VIRTMESH-READY" in serial_log(m, "hb"), 120, "booted from the hotpluggable disk")
    vs = volume_status(m, "hb", "boot")
    assert vs["phase"] == "Ready" and vs["target"] == "sda"
    xml = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"{NS}_hb"], capture_output=True, text=True).stdout
    assert "<boot order='1'/>" in xml and "ua-boot" in xml
    m.cli("delete", "vm", "hb", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "hb", NS) is None, 60, "VM gone")
    m.cli("delete", "dv", "boot1", "-n", NS)
    m.wait_for(lambda: m.get("pvc", "boot1", NS) is None, 30, "the DataVolume's claim collected")
