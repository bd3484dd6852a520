"""Container disks from a real registry (issue 18, item 5) on real QEMU (TCG): the test guest's BIOS
disk, converted to qcow2, is packed as a containerDisk image (the disk the one file under /disk/, as
KubeVirt's images are), pushed with skopeo to Debian's docker-registry on loopback (plain HTTP), and a
VM boots from `127.0.0.1:PORT/virtmesh/guest:TAG`: its console shows the guest running. A second VM of
the same image (pull policy Always: the tag is resolved again) downloads no layer again; a VM of a tag
not pushed yet shows ErrImagePull then ImagePullBackOff, and boots once the tag is pushed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from e2e.conftest import GUESTS, remove_domains, serial_log
from harness import Mesh, short_tmpdir
from registry import Registry, build_image, require_tools

pytestmark = pytest.mark.e2e
NS = "e2ereg"
TICK = re.compile(r"VIRTMESH-TICK (\d+)")

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}, namespace: {ns}}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {{guest: 128Mi}}
        devices:
          disks: [{{name: root, bootOrder: 1, disk: {{bus: virtio}}}}]
      volumes: [{{name: root, containerDisk: {{image: "{image}"{policy}}}}}]
"""


def vm(name, image, policy=""):
    return VM.format(name=name, ns=NS, image=image, policy=f", imagePullPolicy: {policy}" if policy else "")


def console(m, name, seconds=4):
    return m.cli("console", name, "-n", NS, "--no-stdin", "--stop-after", str(seconds), check=False,
                 timeout=seconds + 30).stdout


def ticking(m, name, timeout=300):
    """The guest booted from the image (its ready line in the console log) and runs: the console
    stream shows its heartbeat going on."""
    m.wait_for(lambda: "VIRTMESH-READY none" in serial_log(m, name, NS), timeout, f"{name} booted")
    ticks = m.wait_for(lambda: [int(n) for n in TICK.findall(console(m, name))], 60, f"{name}'s ticks on the console",
                       interval=0.5)
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), ticks


@pytest.fixture
def guest_image(host_ready, tmp_path):
    require_tools()
    src = os.path.join(GUESTS, "amd64", "disk.img")
    if not os.path.exists(src):
        pytest.skip("the amd64 BIOS disk is not built (tools/build_guest.py)")
    disk = tmp_path / "guest.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", src, str(disk)], check=True)
    return build_image(str(tmp_path / "layout"), {"/disk/guest.qcow2": str(disk)})


@pytest.mark.timeout(1200)   # three boots under TCG on a shared machine (236 s alone here)
def test_vms_boot_from_a_registry_image(guest_image):
    reg = Registry()
    d = short_tmpdir("vmreg-")
    try:
        m = Mesh(d, "qemu:///system", env={"VIRTMESH_INSECURE_REGISTRIES": reg.host,
                                           "VIRTMESH_IMAGE_PULL_BACKOFF": "2,4"})
        try:
            run(m, reg, guest_image)
        finally:
            m.stop()
            remove_domains(f"{NS}_")
    finally:
        reg.stop()
        shutil.rmtree(d, ignore_errors=True)


def run(m, reg, layout):
    reg.push(layout, "virtmesh/guest", "v1")
    image = f"{reg.host}/virtmesh/guest:v1"
    layer = reg.layers("virtmesh/guest", "v1")[0]
    m.cli("apply", "-f", "-", input=vm("first", image))
    ticking(m, "first")
    assert m.vm_status("first", NS) == "Running"
    assert reg.requests("GET", f"/blobs/{layer}") == 1

    # Another VM of the image, resolving the tag at the registry again: no layer comes down twice.
    manifests = reg.requests("GET", "/manifests/v1")
    m.cli("delete", "vm", "first", "-n", NS)
    m.cli("apply", "-f", "-", input=vm("second", image, "Always"))
    ticking(m, "second")
    assert reg.requests("GET", "/manifests/v1") == manifests + 1
    assert reg.requests("GET", f"/blobs/{layer}") == 1
    m.cli("delete", "vm", "second", "-n", NS)

    # A tag not pushed yet: the VM shows why it waits, as a launcher pod would, and boots once it is there.
    m.cli("apply", "-f", "-", input=vm("late", f"{reg.host}/virtmesh/guest:v2"))
    statuses = []

    def poll():
        s = m.vm_status("late", NS)
        if s and (not statuses or statuses[-1] != s):
            statuses.append(s)
        return statuses
    m.wait_for(lambda: "ErrImagePull" in poll(), 60, "VM ErrImagePull", interval=0.2)
    # Polled, so a first short ErrImagePull may go unseen: what counts is a back-off after a failed pull
    # (tests/integration/test_image_pulls.py follows every change through a watch).
    m.wait_for(lambda: "ImagePullBackOff" in poll()[statuses.index("ErrImagePull"):], 60,
               "VM ImagePullBackOff after ErrImagePull", interval=0.2)
    vmi = m.get("vmi", "late", NS)
    assert vmi["status"]["phase"] == "Scheduled"
    cond = [c for c in vmi["status"]["conditions"] if c["type"] == "Synchronized"][0]
    assert cond["status"] == "False" and "virtmesh/guest:v2" in cond["message"]
    reg.push(layout, "virtmesh/guest", "v2")
    ticking(m, "late")
    assert m.vm_status("late", NS) == "Running"
    assert reg.requests("GET", f"/blobs/{layer}") == 1   # v2 is the same image: its layer is cached
