"""Snapshots and restores through the real mesh on libvirt's test driver (issue 17): the claims are real
image files the node keeps, so offline snapshots copy real bytes (qemu-img), and a restore's claims are
made from those copies. Markers are written straight into the claim images (no guest on this driver;
tests/e2e/test_snapshot_guest.py does it from inside a real guest, online and offline)."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

MARK_AT = 1 << 20


def claim_vm(name: str, claim: str, strategy: str = "Halted", fmt: str = "") -> str:
    ann = {"virtmesh.io/disk-format": fmt} if fmt else {}
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim, "annotations": ann},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Mi"}}}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "labels": {"app": name}},
         "spec": {"runStrategy": strategy, "template": {"spec": {
             "terminationGracePeriodSeconds": 0,
             "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "data", "disk": {"bus": "virtio"}}]}},
             "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}}}])


def snapshot(name: str, vm: str, **spec) -> str:
    return yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                           "metadata": {"name": name},
                           "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm},
                                    **spec}})


def restore(name: str, target: str, snap: str, **spec) -> str:
    return yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
                           "metadata": {"name": name},
                           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
                                    "virtualMachineSnapshotName": snap, **spec}})


def image(mesh, claim: str) -> str:
    pvc = mesh.get("pvc", claim)
    return os.path.join(mesh.data_dir, "volumes", "default", f"{claim}-{pvc['metadata']['uid']}", "disk.img")


def write_mark(path: str, text: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(MARK_AT)
        f.write(text)


def read_mark(path: str, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(MARK_AT)
        return f.read(n)


def bound(mesh, claim: str) -> bool:
    p = mesh.get("pvc", claim)
    return bool(p) and p.get("status", {}).get("phase") == "Bound"


def status(mesh, kind: str, name: str) -> dict:
    return (mesh.get(kind, name) or {}).get("status", {})


def cond(st: dict, ctype: str) -> dict:
    return next((c for c in st.get("conditions", []) if c["type"] == ctype), {})


@pytest.mark.timeout(600)   # a dozen reconcile chains; slow on a loaded 2-core machine
def test_offline_snapshot_and_restores(mesh):
    mesh.cli("apply", "-f", "-", input=claim_vm("db", "db-data", "RerunOnFailure"))
    mesh.wait_for(lambda: bound(mesh, "db-data"), 30, "claim bound")
    mesh.wait_for(lambda: mesh.vmi_phase("db") == "Running", 30, "RerunOnFailure starts")
    mesh.cli("stop", "db")
    mesh.wait_for(lambda: mesh.get("vmi", "db") is None, 30, "stopped")
    write_mark(image(mesh, "db-data"), b"original")

    mesh.cli("apply", "-f", "-", input=snapshot("snap1", "db"))
    mesh.wait_for(lambda: status(mesh, "vmsnapshot", "snap1").get("readyToUse"), 60, "snapshot ready")
    st = status(mesh, "vmsnapshot", "snap1")
    vm = mesh.get("vm", "db")
    assert st["phase"] == "Succeeded" and st["sourceUID"] == vm["metadata"]["uid"] and st["creationTime"]
    assert cond(st, "Ready") == {**cond(st, "Ready"), "status": "True", "reason": "Ready"}
    assert cond(st, "Progressing")["status"] == "False" and cond(st, "Progressing")["reason"] == "Operation complete"
    assert "indications" not in st   # offline: nothing to indicate
    assert st["snapshotVolumes"] == {"includedVolumes": ["data"]}
    content = mesh.get("vmsnapshotcontent", st["virtualMachineSnapshotContentName"])
    assert content["spec"]["source"]["virtualMachine"]["spec"]["runStrategy"] == "RerunOnFailure"
    vs = content["spec"]["volumeBackups"][0]["volumeSnapshotName"]
    assert vs == f"vmsnapshot-{mesh.get('vmsnapshot', 'snap1')['metadata']['uid']}-volume-data"
    copy = os.path.join(mesh.data_dir, "volumes", ".snapshots", "default", f"{vs}.qcow2")
    subprocess.run(["qemu-img", "check", copy], check=True, capture_output=True)
    # the copy is free: the claim no longer carries the snapshot's protection
    assert "virtmesh.io/snapshot-source-protection" not in mesh.get("pvc", "db-data")["metadata"]["finalizers"]
    # KubeVirt's short names and columns
    out = mesh.cli("get", "vmsnapshots").stdout.split("\n")
    assert out[0].split()[:6] == ["NAME", "SOURCEKIND", "SOURCENAME", "PHASE", "READYTOUSE", "CREATIONTIME"]
    assert out[1].split()[:5] == ["snap1", "VirtualMachine", "db", "Succeeded", "true"]

    write_mark(image(mesh, "db-data"), b"OVERWRITE")

    # in place: the claim is restored, the run strategy stays RerunOnFailure and nothing starts
    mesh.cli("apply", "-f", "-", input=restore("back", "db", "snap1"))
    mesh.wait_for(lambda: status(mesh, "vmrestore", "back").get("complete"), 60, "restore complete")
    rst = status(mesh, "vmrestore", "back")
    assert rst["restoreTime"] and cond(rst, "Ready")["status"] == "True"
    vm = mesh.get("vm", "db")
    assert vm["spec"]["runStrategy"] == "RerunOnFailure"
    claim = vm["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == rst["restores"][0]["persistentVolumeClaim"] and claim.startswith("restore-")
    assert read_mark(image(mesh, claim), 8) == b"original"
    assert mesh.get("vmi", "db") is None
    mesh.cli("start", "db")
    mesh.wait_for(lambda: mesh.vmi_phase("db") == "Running", 30, "starts on request")

    # a restore of a running VM: refused at once with FailImmediate, waits by default
    mesh.cli("apply", "-f", "-", input=restore("now", "db", "snap1", targetReadinessPolicy="FailImmediate"))
    mesh.wait_for(lambda: cond(status(mesh, "vmrestore", "now"), "Failure").get("status") == "True", 30, "refused")
    st = status(mesh, "vmrestore", "now")
    assert cond(st, "Failure")["reason"] == "Restore target not ready" and not st["complete"]
    mesh.cli("delete", "vmrestore", "now")
    mesh.cli("apply", "-f", "-", input=restore("later", "db", "snap1"))
    mesh.wait_for(lambda: cond(status(mesh, "vmrestore", "later"), "Ready").get("reason")
                  == "Waiting for target to be ready", 30, "waits for the target")
    mesh.cli("delete", "vmrestore", "later")

    # to another name: a second, independent, Halted VM with a claim of its own
    mesh.cli("apply", "-f", "-", input=restore("clone", "db2", "snap1"))
    mesh.wait_for(lambda: status(mesh, "vmrestore", "clone").get("complete"), 60, "restore to a new VM")
    vm2 = mesh.get("vm", "db2")
    assert vm2["spec"]["runStrategy"] == "Halted" and vm2["metadata"]["uid"] != vm["metadata"]["uid"]
    claim2 = vm2["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim2 not in (claim, "db-data") and read_mark(image(mesh, claim2), 8) == b"original"
    out = mesh.cli("get", "vmrestores").stdout
    assert out.split("\n")[0].split()[:4] == ["NAME", "TARGETKIND", "TARGETNAME", "COMPLETE"]

    # deleting the VM keeps its snapshots; deleting the snapshot takes its content and image
    mesh.cli("delete", "vm", "db")
    mesh.wait_for(lambda: mesh.get("vm", "db") is None, 30, "VM gone")
    assert status(mesh, "vmsnapshot", "snap1")["readyToUse"]
    mesh.cli("delete", "vmsnapshot", "snap1")
    mesh.wait_for(lambda: mesh.get("vmsnapshotcontent", content["metadata"]["name"]) is None, 30, "content gone")
    assert not os.path.exists(copy)


def test_retain_keeps_the_content(mesh):
    mesh.cli("apply", "-f", "-", input=claim_vm("keep", "keep-data"))
    mesh.wait_for(lambda: bound(mesh, "keep-data"), 30, "claim bound")
    mesh.cli("apply", "-f", "-", input=snapshot("kept", "keep", deletionPolicy="Retain"))
    mesh.wait_for(lambda: status(mesh, "vmsnapshot", "kept").get("readyToUse"), 60, "snapshot ready")
    name = status(mesh, "vmsnapshot", "kept")["virtualMachineSnapshotContentName"]
    mesh.cli("delete", "vmsnapshot", "kept")
    mesh.wait_for(lambda: mesh.get("vmsnapshot", "kept") is None, 30, "snapshot gone")
    assert mesh.get("vmsnapshotcontent", name)["status"]["readyToUse"]


def test_a_disk_that_cannot_be_copied_fails_the_snapshot(mesh):
    mesh.cli("apply", "-f", "-", input=claim_vm("bad", "bad-data", fmt="qcow2"))
    mesh.wait_for(lambda: bound(mesh, "bad-data"), 30, "claim bound")
    with open(image(mesh, "bad-data"), "r+b") as f:   # not a qcow2 image any more
        f.write(b"\0" * 512)
    mesh.cli("apply", "-f", "-", input=snapshot("broken", "bad", failureDeadline="20s"))
    mesh.wait_for(lambda: status(mesh, "vmsnapshot", "broken").get("error"), 30, "the error")
    st = status(mesh, "vmsnapshot", "broken")
    assert "qemu-img convert" in st["error"]["message"] and st["phase"] == "InProgress"
    assert cond(st, "Progressing") == {**cond(st, "Progressing"), "status": "False", "reason": "In error state"}
    mesh.wait_for(lambda: status(mesh, "vmsnapshot", "broken").get("phase") == "Failed", 90, "failed at the deadline")
    st = status(mesh, "vmsnapshot", "broken")
    assert cond(st, "Failure")["reason"] == "snapshot deadline exceeded" and not st["readyToUse"]
    # the failed snapshot's unready content goes, and with it the claim's protection
    mesh.wait_for(lambda: not mesh.cli("get", "vmsnapshotcontents", "-o", "name").stdout.strip(), 30, "content gone")
    mesh.wait_for(lambda: "virtmesh.io/snapshot-source-protection"
                  not in mesh.get("pvc", "bad-data")["metadata"]["finalizers"], 30, "claim unprotected")


def test_admission_names_every_cause(mesh):
    bad = yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
                          "metadata": {"name": "r"},
                          "spec": {"target": {"apiGroup": "apps", "kind": "VirtualMachine", "name": "x"},
                                   "virtualMachineSnapshotName": "s", "volumeRestorePolicy": "Nope",
                                   "targetReadinessPolicy": "Soon"}})
    r = mesh.cli("apply", "-f", "-", input=bad, check=False)
    assert r.returncode != 0
    for text in ("spec.target.apiGroup: invalid apiGroup", 'spec.volumeRestorePolicy: volume restore policy "Nope"',
                 'spec.targetReadinessPolicy: Unsupported value: "Soon"'):
        assert text in r.stderr, r.stderr
    r = mesh.cli("apply", "-f", "-", input=snapshot("s", "x", failureDeadline="soon"), check=False)
    assert "spec.failureDeadline: time: invalid duration 'soon'" in r.stderr, r.stderr


def test_handler_killed_mid_copy_leaves_no_ready_content_nor_a_bad_image(mesh):
    """kill -9 of the handler while it copies a claim full of data: the content is not ready meanwhile,
    the half copy is never taken for a whole one, and the copy made after the restart is whole and equal
    to the claim (qemu-img check, qemu-img compare)."""
    import signal
    import time
    big = claim_vm("big", "big-data").replace("8Mi", "1Gi")
    mesh.cli("apply", "-f", "-", input=big)
    mesh.wait_for(lambda: bound(mesh, "big-data"), 30, "claim bound")
    src = image(mesh, "big-data")
    with open(src, "r+b") as f, open("/dev/urandom", "rb") as rnd:   # data to copy, not holes
        for _ in range(1024):
            f.write(rnd.read(1 << 20))
    mesh.cli("apply", "-f", "-", input=snapshot("mid", "big"))
    snaps = os.path.join(mesh.data_dir, "volumes", ".snapshots", "default")
    part = lambda: [n for n in os.listdir(snaps) if n.endswith(".part")] if os.path.isdir(snaps) else []  # noqa: E731
    old = mesh.pid_of("handler")
    mesh.wait_for(part, 60, "the copy under way", interval=0.01)
    os.kill(old, signal.SIGKILL)
    time.sleep(0.5)
    assert not [n for n in os.listdir(snaps) if n.endswith(".qcow2")], "the copy ended before the kill"
    name = f"vmsnapshot-content-{mesh.get('vmsnapshot', 'mid')['metadata']['uid']}"   # KubeVirt's name
    assert not mesh.get("vmsnapshotcontent", name).get("status", {}).get("readyToUse")
    assert not status(mesh, "vmsnapshot", "mid").get("readyToUse")
    mesh.wait_for(lambda: mesh.pid_of("handler") not in (0, old), 30, "handler restarted")
    mesh.wait_for(lambda: status(mesh, "vmsnapshot", "mid").get("readyToUse"), 120, "snapshot ready after the restart")
    vs = mesh.get("vmsnapshotcontent", name)["spec"]["volumeBackups"][0]["volumeSnapshotName"]
    copy = os.path.join(snaps, f"{vs}.qcow2")
    subprocess.run(["qemu-img", "check", copy], check=True, capture_output=True)
    subprocess.run(["qemu-img", "compare", "-f", "raw", "-F", "qcow2", src, copy], check=True, capture_output=True)
    assert not part()
