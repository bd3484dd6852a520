"""Snapshots and restores in cluster mode (issue 17) against a real kube-apiserver: the three
snapshot.kubevirt.io CRDs (KubeVirt's short names, printer columns, status subresources), their webhooks
refusing with KubeVirt's causes, and a stopped VM snapshotted and restored in place (its run strategy kept,
its claim's bytes back) and to a new, Halted VM -- all through kubectl, on libvirt's test driver."""
from __future__ import annotations

import json
import os

import pytest
import yaml

pytestmark = pytest.mark.cluster

MARK_AT = 1 << 20


def manifests() -> str:
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "ks-data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Mi"}}}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "ks"},
         "spec": {"runStrategy": "Manual", "template": {"spec": {
             "terminationGracePeriodSeconds": 0,
             "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "data", "disk": {"bus": "virtio"}}]}},
             "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "ks-data"}}]}}}}])


def obj(cp, kind: str, name: str) -> dict:
    r = cp.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def image(m, cp, claim: str) -> str:
    uid = obj(cp, "pvc", claim)["metadata"]["uid"]
    return os.path.join(m.data_dir, "volumes", "default", f"{claim}-{uid}", "disk.img")


def mark(path: str, text: bytes | None = None, n: int = 8) -> bytes:
    with open(path, "r+b") as f:
        f.seek(MARK_AT)
        if text is not None:
            f.write(text)
            return text
        return f.read(n)


def test_snapshot_and_restore_through_kubectl(cluster_mesh):
    m, cp = cluster_mesh, cluster_mesh.cp
    crds = {c["metadata"]["name"]: c for c in json.loads(cp.kubectl("get", "crd", "-o", "json").stdout)["items"]}
    snap_crd = crds["virtualmachinesnapshots.snapshot.kubevirt.io"]
    assert snap_crd["spec"]["names"]["shortNames"] == ["vmsnapshot", "vmsnapshots"]
    assert crds["virtualmachinerestores.snapshot.kubevirt.io"]["spec"]["names"]["shortNames"] == ["vmrestore", "vmrestores"]
    assert crds["virtualmachinesnapshotcontents.snapshot.kubevirt.io"]["spec"]["names"]["shortNames"] == \
        ["vmsnapshotcontent", "vmsnapshotcontents"]

    cp.kubectl("apply", "-f", "-", input=manifests())
    m.wait_for(lambda: obj(cp, "pvc", "ks-data").get("status", {}).get("phase") == "Bound", 60, "claim bound")
    mark(image(m, cp, "ks-data"), b"original")

    # the webhook: every cause, KubeVirt's words
    bad = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot", "metadata": {"name": "bad"},
           "spec": {"source": {"kind": "VirtualMachine", "name": "ks"}}}
    r = cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert r.returncode != 0 and "missing apiGroup" in r.stderr, r.stderr

    snap = {**bad, "metadata": {"name": "ks-snap"},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "ks"}}}
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(snap))
    m.wait_for(lambda: obj(cp, "vmsnapshot", "ks-snap").get("status", {}).get("readyToUse"), 90, "snapshot ready")
    row = cp.kubectl("get", "vmsnapshots", "ks-snap", "--no-headers").stdout.split()
    assert row[:5] == ["ks-snap", "VirtualMachine", "ks", "Succeeded", "true"], row
    st = obj(cp, "vmsnapshot", "ks-snap")["status"]
    assert st["sourceUID"] == obj(cp, "vm", "ks")["metadata"]["uid"]
    content = obj(cp, "vmsnapshotcontent", st["virtualMachineSnapshotContentName"])
    assert content["status"]["readyToUse"] and content["spec"]["volumeBackups"][0]["volumeName"] == "data"
    # the spec is fixed once made (KubeVirt's admitter)
    changed = {**snap, "spec": {**snap["spec"], "deletionPolicy": "Retain"}}
    r = cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(changed), check=False)
    assert r.returncode != 0 and "spec in immutable after creation" in r.stderr, r.stderr

    mark(image(m, cp, "ks-data"), b"changed!")
    restore = {"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
               "metadata": {"name": "ks-back"},
               "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "ks"},
                        "virtualMachineSnapshotName": "ks-snap"}}
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(restore))
    m.wait_for(lambda: obj(cp, "vmrestore", "ks-back").get("status", {}).get("complete"), 90, "restored in place")
    vm = obj(cp, "vm", "ks")
    assert vm["spec"]["runStrategy"] == "Manual"
    claim = vm["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim.startswith("restore-") and mark(image(m, cp, claim)) == b"original"

    other = {**restore, "metadata": {"name": "ks-clone"}, "spec": {**restore["spec"], "target": {
        "apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "ks2"}}}
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(other))
    m.wait_for(lambda: obj(cp, "vmrestore", "ks-clone").get("status", {}).get("complete"), 90, "restored to ks2")
    row = cp.kubectl("get", "vmrestores", "ks-clone", "--no-headers").stdout.split()
    assert row[:4] == ["ks-clone", "VirtualMachine", "ks2", "true"], row
    vm2 = obj(cp, "vm", "ks2")
    assert vm2["spec"]["runStrategy"] == "Halted"
    claim2 = vm2["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim2 != claim and mark(image(m, cp, claim2)) == b"original"

    cp.kubectl("delete", "vm", "ks", "ks2")
    assert obj(cp, "vmsnapshot", "ks-snap")["status"]["readyToUse"]   # the VM's deletion leaves it
    cp.kubectl("delete", "vmrestore", "ks-back", "ks-clone")
    cp.kubectl("delete", "vmsnapshot", "ks-snap")
    m.wait_for(lambda: not obj(cp, "vmsnapshotcontent", content["metadata"]["name"]), 60, "content deleted")
