"""dataVolumeTemplates through a real `virtmesh up` on libvirt's test driver (issue 14, item 3): the VM's
DataVolume imported over HTTP by the node while the VM shows Provisioning, the VM Running from the filled
claim, a failed import shown as DataVolumeError, and the DataVolumes, claims and images gone with the VM."""
from __future__ import annotations

import os
import shutil

import pytest
import yaml

from harness import Mesh, short_tmpdir
from imageserver import ImageServer


@pytest.fixture
def images(tmp_path):
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.write(b"virtmesh" * 65536)   # 512 KiB of raw "disk"
    srv = ImageServer()
    srv.disk = str(disk)
    yield srv
    srv.close()


@pytest.fixture
def mesh_importing():
    """A mesh whose importer may fetch from loopback (where the test's image server listens)."""
    d = short_tmpdir("vmdvt-")
    m = Mesh(d, "test:///default", extra=("--import-allow-internal",))
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


def vm(name: str, url: str, strategy: str = "Always") -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": strategy,
                     "dataVolumeTemplates": [{"metadata": {"name": f"{name}-rootdisk"},
                                              "spec": {"source": {"http": {"url": url}},
                                                       "storage": {"resources": {"requests": {"storage": "8Mi"}}}}}],
                     "template": {"spec": {"terminationGracePeriodSeconds": 0, "domain": {
                         "memory": {"guest": "64Mi"},
                         "devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}]}},
                         "volumes": [{"name": "rootdisk", "dataVolume": {"name": f"{name}-rootdisk"}}]}}}}


def phase(m, kind, name):
    return ((m.get(kind, name) or {}).get("status") or {}).get("phase")


def test_a_vm_waits_for_its_imported_disk_runs_and_takes_it_along(mesh_importing, images):
    m = mesh_importing
    url = images.add("/alpine.img", images.disk)
    images.gate("/alpine.img")
    m.cli("apply", "-f", "-", input=yaml.safe_dump(vm("imported", url)))
    m.wait_for(lambda: phase(m, "dv", "imported-rootdisk") == "ImportInProgress", 30, "import in progress")
    m.wait_for(lambda: m.vm_status("imported") == "Provisioning", 30, "VM Provisioning")
    table = m.cli("get", "vms").stdout.splitlines()
    assert table[1].split()[0] == "imported" and "Provisioning" in table[1].split()
    assert m.get("vmi", "imported") is None                         # not started before its disk is filled
    dv = m.get("dv", "imported-rootdisk")
    vm_uid = m.get("vm", "imported")["metadata"]["uid"]
    assert dv["metadata"]["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                                  "name": "imported", "uid": vm_uid, "controller": True,
                                                  "blockOwnerDeletion": True}]

    images.release("/alpine.img")
    m.wait_for(lambda: m.vm_status("imported") == "Running", 60, "VM Running")
    dv = m.get("dv", "imported-rootdisk")
    assert (dv["status"]["phase"], dv["status"]["progress"]) == ("Succeeded", "100.0%")
    pvc = m.get("pvc", "imported-rootdisk")
    image = os.path.join(m.data_dir, "volumes", "default", f"imported-rootdisk-{pvc['metadata']['uid']}", "disk.img")
    with open(image, "rb") as f:
        assert f.read(16) == b"virtmesh" * 2                      # the server's bytes, grown to the claim's size
    assert os.path.getsize(image) == 8 << 20
    assert images.requests.count("/alpine.img") == 1

    # A source that is not there: the VM shows DataVolumeError and does not start.
    m.cli("apply", "-f", "-", input=yaml.safe_dump(vm("broken", images.url("/nope.img"))))
    m.wait_for(lambda: m.vm_status("broken") == "DataVolumeError", 60, "DataVolumeError")
    assert phase(m, "dv", "broken-rootdisk") == "Failed" and m.get("vmi", "broken") is None

    for name in ("imported", "broken"):
        m.cli("delete", "vm", name)
    m.wait_for(lambda: m.get("dv", "imported-rootdisk") is None and m.get("dv", "broken-rootdisk") is None,
               60, "DataVolumes deleted with their VMs")
    m.wait_for(lambda: m.get("pvc", "imported-rootdisk") is None and not os.path.exists(image), 60,
               "claim and image gone")


def test_a_vm_on_a_claim_still_being_filled_waits_for_its_binding(mesh_importing, images):
    """A claim the node is still importing into is not Bound: a VM set to run on it shows
    WaitingForVolumeBinding (KubeVirt's precedence puts it before Starting) and its domain waits."""
    m = mesh_importing
    url = images.add("/data.img", images.disk)
    images.gate("/data.img")
    m.cli("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "filling", "annotations": {"cdi.kubevirt.io/storage.import.endpoint": url}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Mi"}}}}))
    doc = vm("onclaim", url)
    del doc["spec"]["dataVolumeTemplates"]
    doc["spec"]["template"]["spec"]["volumes"] = [{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "filling"}}]
    m.cli("apply", "-f", "-", input=yaml.safe_dump(doc))
    m.wait_for(lambda: m.vm_status("onclaim") == "WaitingForVolumeBinding", 30, "WaitingForVolumeBinding")
    assert m.vmi_phase("onclaim") in ("Pending", "Scheduling", "Scheduled")
    images.release("/data.img")
    m.wait_for(lambda: m.vm_status("onclaim") == "Running", 60, "Running once the claim is bound")
    m.cli("delete", "vm", "onclaim")
    m.wait_for(lambda: m.get("vmi", "onclaim") is None, 30, "VM gone")
    assert m.get("pvc", "filling") is not None      # a claim the VM did not make stays
