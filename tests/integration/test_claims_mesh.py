"""Claims through the real mesh on libvirt's test driver: a VM whose claim does not exist yet waits
(its domain is not defined, nothing fails), and starts once the claim is provisioned."""
from __future__ import annotations

import os
import time

import yaml


def test_a_vm_waits_for_its_claim_then_starts(mesh):
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "waits"},
          "spec": {"runStrategy": "Always", "template": {"spec": {
              "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "data", "disk": {"bus": "scsi"}}]}},
              "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "later", "hotpluggable": True}}]}}}}
    mesh.cli("apply", "-f", "-", input=yaml.safe_dump(vm))

    def volume():
        vmi = mesh.get("vmi", "waits") or {}
        return next(iter(vmi.get("status", {}).get("volumeStatus", [])), {})
    mesh.wait_for(lambda: volume().get("phase") == "Pending", 30, "volume Pending")
    assert volume()["message"] == "PVC later does not exist"
    time.sleep(2)  # held back, not failed: the launcher is not even asked to define the domain
    assert mesh.vmi_phase("waits") == "Scheduled"

    mesh.cli("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "later"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Mi"}}}}))
    mesh.wait_for(lambda: mesh.vmi_phase("waits") == "Running", 30, "Running once the claim is bound")
    pvc = mesh.get("pvc", "later")
    image = os.path.join(mesh.data_dir, "volumes", "default", f"later-{pvc['metadata']['uid']}", "disk.img")
    assert os.path.getsize(image) == 8 << 20
    assert volume()["phase"] in ("MountedToPod", "Ready")   # the test driver reports no disks back
    mesh.cli("delete", "vm", "waits")
    mesh.wait_for(lambda: mesh.get("vmi", "waits") is None, 30, "VM gone")
