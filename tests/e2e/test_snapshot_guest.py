"""Snapshots of a real guest's data disk (issue 17), on real QEMU (TCG): the guest writes a marker to its
claim (dd with fsync, from its serial shell), the VM is snapshotted once online (libvirt's block copy while
the guest runs: the Online and NoGuestAgent indications) and once offline (qemu-img), the guest overwrites
the marker, and each restore brings back what the guest wrote before that snapshot -- read by the guest
itself after booting again."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from e2e.conftest import GUESTS, guest_shell, qemu_mesh
from e2e.conftest import serial_log as e2e_serial_log

pytestmark = pytest.mark.e2e
NS = "e2esnap"
SECTOR = 4096   # where the marker goes on the data disk (512-byte sectors: 2 MiB in)


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmsnap-", f"{NS}_") as m:
        yield m


def manifests(name: str, claim: str) -> str:
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim, "namespace": NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}}},
        {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name, "namespace": NS},
         "spec": {"runStrategy": "Always", "template": {"spec": {
             "terminationGracePeriodSeconds": 0,
             "domain": {"memory": {"guest": "128Mi"},
                        "devices": {"disks": [{"name": "data", "disk": {"bus": "virtio"}}]},
                        "firmware": {"kernelBoot": {
                            "kernelArgs": "console=ttyS0 quiet panic=-1 virtmesh.marker=snap",
                            "container": {"image": f"{GUESTS}/amd64", "kernelPath": "/kernel",
                                          "initrdPath": "/initrd.img"}}}},
             "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}}}])


def snapshot(name: str, vm: str) -> str:
    return yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                           "metadata": {"name": name, "namespace": NS},
                           "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}})


def restore(name: str, vm: str, snap: str) -> str:
    return yaml.safe_dump({"apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineRestore",
                           "metadata": {"name": name, "namespace": NS},
                           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm},
                                    "virtualMachineSnapshotName": snap}})


def write_marker(m, name: str, text: str) -> None:
    guest_shell(m, NS, name, f"printf '{text}#' | dd of=/dev/vda bs=512 seek={SECTOR} conv=fsync 2>/dev/null; "
                         f"echo WROTE-{text}", f"WROTE-{text}\r")


def read_marker(m, name: str) -> str:
    out = guest_shell(m, NS, name, f"echo READ-$(dd if=/dev/vda bs=512 skip={SECTOR} count=1 2>/dev/null "
                               f"| cut -d'#' -f1)-END", "-END\r")
    return out[out.rindex("READ-") + 5:out.rindex("-END")]


def booted(m, name: str, times: int) -> None:
    m.wait_for(lambda: e2e_serial_log(m, name, NS).count("VIRTMESH-READY snap") >= 1 and
               m.vm_status(name, NS) == "Running", 120, f"{name} booted ({times})", interval=0.5)
    m.wait_for(lambda: "VIRTMESH-DISKS vda" in e2e_serial_log(m, name, NS), 60, "the guest sees its disk")


def stop(m, name: str) -> None:
    m.cli("stop", name, "-n", NS)
    m.wait_for(lambda: m.get("vmi", name, NS) is None, 90, f"{name} stopped")


def start(m, name: str, times: int) -> None:
    m.cli("start", name, "-n", NS)
    booted(m, name, times)


def ready(m, snap: str) -> dict:
    m.wait_for(lambda: ((m.get("vmsnapshot", snap, NS) or {}).get("status") or {}).get("readyToUse"), 180,
               f"{snap} ready", interval=0.5)
    return m.get("vmsnapshot", snap, NS)["status"]


def images_check(m, snap_status: dict) -> None:
    content = m.get("vmsnapshotcontent", snap_status["virtualMachineSnapshotContentName"], NS)
    for vb in content["spec"]["volumeBackups"]:
        path = os.path.join(m.data_dir, "volumes", ".snapshots", NS, f"{vb['volumeSnapshotName']}.qcow2")
        subprocess.run(["qemu-img", "check", path], check=True, capture_output=True)


def restored(m, rname: str, vm: str, snap: str) -> None:
    m.cli("apply", "-f", "-", input=restore(rname, vm, snap))
    m.wait_for(lambda: ((m.get("vmrestore", rname, NS) or {}).get("status") or {}).get("complete"), 120,
               f"{rname} complete", interval=0.5)


@pytest.mark.timeout(900)   # four boots and two copies under TCG on a shared machine
def test_online_and_offline_snapshots_restore_what_the_guest_wrote(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=manifests("sg", "sg-data"))
    booted(m, "sg", 1)
    uid = m.get("vmi", "sg", NS)["metadata"]["uid"]

    write_marker(m, "sg", "ONLINE-A")
    m.cli("apply", "-f", "-", input=snapshot("online", "sg"))
    st = ready(m, "online")
    assert st["phase"] == "Succeeded"
    assert st["indications"] == ["NoGuestAgent", "Online"]   # running, and nothing froze the guest
    assert {i["indication"]: i["message"] for i in st["sourceIndications"]}["NoGuestAgent"].startswith(
        "Guest agent was not available. Snapshot is crash-consistent")
    assert m.get("vmi", "sg", NS)["metadata"]["uid"] == uid and m.vmi_phase("sg", NS) == "Running"
    images_check(m, st)
    assert read_marker(m, "sg") == "ONLINE-A"   # the guest ran on, on its own disk

    write_marker(m, "sg", "OFFLINE-B")
    stop(m, "sg")
    m.cli("apply", "-f", "-", input=snapshot("offline", "sg"))
    st = ready(m, "offline")
    assert "indications" not in st
    images_check(m, st)

    start(m, "sg", 2)
    write_marker(m, "sg", "OVERWRITTEN")
    assert read_marker(m, "sg") == "OVERWRITTEN"
    stop(m, "sg")

    restored(m, "to-online", "sg", "online")
    assert m.get("vm", "sg", NS)["spec"]["runStrategy"] == "Halted"   # as the stop left it: kept
    start(m, "sg", 3)
    assert read_marker(m, "sg") == "ONLINE-A"
    stop(m, "sg")

    restored(m, "to-offline", "sg", "offline")
    start(m, "sg", 4)
    assert read_marker(m, "sg") == "OFFLINE-B"
