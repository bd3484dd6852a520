"""Live migration of a guest whose kernel and disk come from a registry (issue 18's container disks meet
issue 15's migration), on two libvirt nodes and Debian's docker-registry on loopback: the target node pulls
the image by the digest the source resolved, so a tag moved meanwhile changes nothing under the guest (the
first migration, whose digest the registry no longer serves, ends Failed with the pull's reason and the guest
runs on); once the registry serves that digest again the guest moves, its disk's base read from the target's
copy of the image and what it wrote to its overlay copied along, its TICKs going on without a reboot, and no
QEMU is left on the source."""
from __future__ import annotations

import os
import subprocess

import pytest

from e2e.conftest import GUESTS
from migration_nodes import NS, Console, mesh_on_nodes, migrate, ticks, vm_manifest, wait_phase
from registry import Registry, build_image, require_tools

pytestmark = pytest.mark.e2e
REPO = "virtmesh/guest"
# In the guest: what its disk holds at 1 MiB (the image's base) and at 2 MiB (written by the guest), read
# past the page cache.
READ = ("echo 3 > /proc/sys/vm/drop_caches; echo {tag}=$(dd if=/dev/vda bs=512 skip=4096 count=1 2>/dev/null | "
        "head -c 9)/$(dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -c 6)\n")
WRITE = "echo OVERLAY-7 | dd of=/dev/vda bs=512 seek=4096 conv=notrunc 2>/dev/null; sync\n"


def image(tmp, name: str, base: bytes) -> str:
    """An image holding the guest's kernel and initrd and, as its one disk, a qcow2 whose byte 1 MiB on is `base`."""
    raw = os.path.join(tmp, f"{name}.raw")
    with open(raw, "wb") as f:
        f.truncate(8 << 20)
        f.seek(1 << 20)
        f.write(base)
    disk = os.path.join(tmp, f"{name}.qcow2")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, disk], check=True)
    amd64 = os.path.join(GUESTS, "amd64")
    return build_image(os.path.join(tmp, name), {"/bzImage": os.path.join(amd64, "bzImage"),
                                                 "/initrd.img": os.path.join(amd64, "initrd.img"),
                                                 "/disk/data.qcow2": disk})


@pytest.fixture
def registry_and_nodes(host_ready):
    require_tools()
    if not all(os.path.exists(os.path.join(GUESTS, "amd64", f)) for f in ("bzImage", "initrd.img")):
        pytest.skip("the amd64 guest is not built (tools/build_guest.py)")
    reg = Registry()
    try:
        with mesh_on_nodes({"A": "192.0.2.1", "B": "192.0.2.2"}, {"VIRTMESH_INSECURE_REGISTRIES": reg.host}) as mm:
            yield reg, mm
    finally:
        reg.stop()


@pytest.mark.timeout(900)
def test_a_guest_from_a_registry_image_migrates_with_the_image_it_started_with(registry_and_nodes, tmp_path):
    reg, mm = registry_and_nodes
    m = mm.mesh
    first, moved = image(str(tmp_path), "first", b"BASE-1"), image(str(tmp_path), "moved", b"BASE-2")
    reg.push(first, REPO, "v1")
    digest = reg.digest(REPO, "v1")
    ref = f"{reg.host}/{REPO}:v1"
    m.cli("apply", "-f", "-", input=vm_manifest("reghop", "reghop", ref, kernel="/bzImage", disk_image=ref))
    m.wait_for(lambda: m.vmi_phase("reghop", NS) == "Running", 180, "reghop Running")
    vmi = m.get("vmi", "reghop", NS)
    uid, source = vmi["metadata"]["uid"], vmi["status"]["nodeName"]
    target = "node02" if source == "node01" else "node01"
    # The node recorded what the tag resolved to; the disk's base is the image's, and the guest writes its own.
    assert vmi["status"]["containerImageIDs"] == {ref: f"{reg.host}/{REPO}@{digest}"}
    assert next(c for c in vmi["status"]["conditions"] if c["type"] == "LiveMigratable")["status"] == "True"
    assert vmi["status"]["migrationMethod"] == "BlockMigration"
    m.wait_for(lambda: "VIRTMESH-DISKS vda" in mm.serial_log(source, uid) and ticks(mm.serial_log(source, uid)),
               120, "reghop ready with its disk")
    console = Console(mm, "reghop").follow()
    console.type(WRITE + READ.format(tag="R0"))
    m.wait_for(lambda: "R0=" in console.text, 30, "the guest's disk read on the source")
    assert "R0=OVERLAY-7/BASE-1" in console.text, console.text[-300:]
    source_qemu = mm.qemu_pid(source, "e2e_reghop")
    assert source_qemu

    # The tag moves to another image and the registry forgets the first: the target cannot have the guest's
    # image, and the migration fails with why instead of waiting; the guest runs on in the same QEMU.
    reg.delete(REPO, digest)
    reg.push(moved, REPO, "v1")
    mig = migrate(m, "reghop")
    done = wait_phase(mm, "reghop", mig["metadata"]["name"], ("Succeeded", "Failed"), 120)
    assert done["status"]["phase"] == "Failed", done
    st = m.get("vmi", "reghop", NS)["status"]["migrationState"]
    assert st["failed"] is True and st["failureReason"].startswith("ErrImagePull: ") and digest in st["failureReason"], st
    assert m.get("vmi", "reghop", NS)["status"]["nodeName"] == source and mm.qemu_pid(source, "e2e_reghop") == source_qemu
    n = ticks(mm.serial_log(source, uid))[-1]
    m.wait_for(lambda: ticks(mm.serial_log(source, uid))[-1] >= n + 2, 20, "ticks on the source")
    m.wait_for(lambda: "e2e_reghop" not in mm.domains(target) and not mm.launcher_pid(target, uid), 30,
               "the target cleaned up")

    # The first image is served again (under another tag): the guest moves, its image by its digest.
    reg.push(first, REPO, "old")
    assert reg.digest(REPO, "old") == digest and reg.digest(REPO, "v1") != digest
    mig = migrate(m, "reghop")
    done = wait_phase(mm, "reghop", mig["metadata"]["name"], ("Succeeded", "Failed"), 180)
    assert done["status"]["phase"] == "Succeeded", done
    assert reg.requests("GET", f"/manifests/{digest}") >= 1
    m.wait_for(console.done.is_set, 20, "the source's console stream to end")
    before = ticks(console.text)
    v = m.get("vmi", "reghop", NS)
    assert v["status"]["nodeName"] == target and v["status"]["migrationState"]["completed"] is True
    m.wait_for(lambda: len(ticks(mm.serial_log(target, uid))) >= 3, 30, "ticks on the target")
    after_text = mm.serial_log(target, uid)
    assert "VIRTMESH-READY" not in after_text, "the guest booted again on the target"
    after = ticks(after_text)
    assert before and after and after[0] <= before[-1] + 1, (before[-3:], after[:3])
    m.wait_for(lambda: "e2e_reghop" not in mm.domains(source) and not mm.qemu_pid(source, "e2e_reghop")
               and not mm.launcher_pid(source, uid), 30, "the source cleaned up")
    assert not os.path.exists(f"/proc/{source_qemu}")
    # On the target the disk is the first image's under the guest's own writes, not the moved tag's.
    console = Console(mm, "reghop").follow()
    console.type(READ.format(tag="R1"))
    m.wait_for(lambda: "R1=" in console.text, 30, "the guest's disk read on the target")
    console.close()
    assert "R1=OVERLAY-7/BASE-1" in console.text, console.text[-300:]
    m.cli("delete", "vm", "reghop", "-n", NS)
    m.wait_for(lambda: m.get("vmi", "reghop", NS) is None, 60, "VMI gone")
