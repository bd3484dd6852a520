"""SCSI persistent reservation (issue 14, item 6): the node's qemu-pr-helper run by the handler, and the
path from a reserved LUN to it.

- PrHelper against the real qemu-pr-helper binary: it answers its protocol (4 bytes of capability
  flags on connect), is restarted when it dies, replaces one an earlier handler left, goes on stop.
- A mesh on the test driver with the PersistentReservation gate: the handler runs the helper and
  the launcher's domain points the LUN's unmanaged <reservations> at that socket.
- Real QEMU: a domain with a reserved LUN gets past QEMU's pr-manager (QEMU connected to our
  helper) and then stops at the device — this host's kernel has no SCSI subsystem (no
  /sys/bus/scsi, no target modules), so no device here can honour reservations and no guest can
  try one; without the helper QEMU fails to connect to it. See the module's skip reasons.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml

from services.common import manifest, proto
from services.handler import prhelper
from services.launcher.domxml import convert
from services.launcher.storage import DiskSource

from harness import Mesh, short_tmpdir

HELPER = shutil.which(prhelper.BINARY)
needs_helper = pytest.mark.skipif(HELPER is None, reason="qemu-pr-helper is not installed (qemu-utils)")


def lun_vmi(name: str, source: str = "/dev/sdb"):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())},
           "spec": {"architecture": "amd64", "domain": {
               "memory": {"guest": "64Mi"}, "firmware": {"bootloader": {"bios": {}}},
               "devices": {"autoattachSerialConsole": False,
                           "disks": [{"name": "san", "lun": {"bus": "scsi", "reservation": True}}]}},
               "volumes": [{"name": "san", "hostDisk": {"path": source, "type": "Disk"}}]}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def test_which_vmis_need_the_helper():
    assert prhelper.has_reservation(lun_vmi("a"))
    plain = lun_vmi("b")
    plain.spec.domain.devices.disks[0].lun.reservation = False
    assert not prhelper.has_reservation(plain)
    assert prhelper.wanted({"PersistentReservation"}) and not prhelper.wanted({"HostDisk"})


@needs_helper
async def test_the_helper_answers_is_restarted_and_stops(tmp_path):
    d = short_tmpdir("vmpr-")
    h = prhelper.PrHelper(os.path.join(d, "pr", "pr-helper.sock"))
    try:
        await h.start()
        assert await h.answers() and h.starts == 1
        first = h.proc.pid
        os.kill(first, signal.SIGKILL)          # QEMU reconnects; the handler brings it back
        for _ in range(100):
            if h.starts == 2 and await h.answers():
                break
            await asyncio.sleep(0.05)
        assert h.starts == 2 and h.proc.pid != first and await h.answers()
    finally:
        await h.stop()
    assert not os.path.exists(h.socket) and not os.path.exists(h.pidfile)
    assert h.proc.returncode is not None
    shutil.rmtree(d, ignore_errors=True)


@needs_helper
async def test_a_helper_left_by_a_killed_handler_is_replaced():
    d = short_tmpdir("vmpr-")
    sock = os.path.join(d, "pr", "pr-helper.sock")
    old = prhelper.PrHelper(sock)
    await old.start()
    stale = old.proc
    old._task.cancel()            # the handler dies without stopping its helper
    new = prhelper.PrHelper(sock)
    try:
        await new.start()
        assert await asyncio.wait_for(stale.wait(), 5) is not None   # the earlier one was told to go
        assert new.proc.pid != stale.pid and await new.answers()
    finally:
        await new.stop()
        shutil.rmtree(d, ignore_errors=True)


def _block_device() -> str | None:
    """A loop device over a sparse file: a real block device, but no SCSI one."""
    if os.geteuid() != 0 or not shutil.which("losetup"):
        return None
    image = os.path.join(short_tmpdir("vmprlun-"), "lun.img")
    with open(image, "wb") as f:
        f.truncate(64 << 20)
    r = subprocess.run(["losetup", "--find", "--show", image], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


@pytest.fixture
def loop_device():
    dev = _block_device()
    if dev is None:
        pytest.skip("no loop device (needs root and losetup)")
    yield dev
    backing = subprocess.run(["losetup", "--noheadings", "--output", "BACK-FILE", dev], capture_output=True,
                             text=True).stdout.strip()
    subprocess.run(["losetup", "--detach", dev], capture_output=True)
    if backing:
        shutil.rmtree(os.path.dirname(backing), ignore_errors=True)


@needs_helper
def test_a_mesh_runs_the_helper_and_points_reserved_luns_at_it(loop_device):
    d = short_tmpdir("vmprm-")
    m = Mesh(d, "test:///default", extra=("--feature-gates", "HostDisk,PersistentReservation",
                                          "--allowed-host-path", "/dev"))
    try:
        sock = os.path.join(d, "run", "pr", "pr-helper.sock")
        m.wait_for(lambda: os.path.exists(sock), 30, "the handler's qemu-pr-helper socket")
        vmi = manifest.to_dict(lun_vmi("quorum", loop_device))
        del vmi["metadata"]["uid"]
        m.cli("apply", "-f", "-", input=yaml.safe_dump(vmi))
        m.wait_for(lambda: m.vmi_phase("quorum") == "Running", 60, "quorum Running")
        uid = m.get("vmi", "quorum")["metadata"]["uid"]
        root = ET.parse(os.path.join(d, "vms", uid, "domain.xml")).getroot()
        disk = root.find("devices/disk[@device='lun']")
        assert disk.find("source").get("dev") == loop_device
        res = disk.find("source/reservations")
        assert res.get("managed") == "no"
        assert res.find("source").attrib == {"type": "unix", "path": sock, "mode": "client"}
        helper = subprocess.run(["pgrep", "-f", f"{prhelper.BINARY} --socket {sock}"], capture_output=True,
                                text=True).stdout.split()
        assert len(helper) == 1   # one helper for the node
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert not subprocess.run(["pgrep", "-f", f"{prhelper.BINARY} --socket {sock}"],
                              capture_output=True).stdout   # stopped with the handler


def _qemu_system() -> str:
    try:
        import libvirt
        libvirt.open("qemu:///system").close()
    except Exception as e:  # noqa: BLE001 - any failure means no QEMU driver to try
        return f"no libvirtd on qemu:///system ({e})"
    return ""


@pytest.mark.e2e
@needs_helper
async def test_real_qemu_connects_to_the_nodes_helper_for_a_reserved_lun(loop_device):
    why = _qemu_system()
    if why:
        pytest.skip(why)
    import libvirt
    libvirt.registerErrorHandler(lambda _c, _e: None, None)
    d = short_tmpdir("vmprq-")
    h = prhelper.PrHelper(os.path.join(d, "pr", "pr-helper.sock"))
    name = f"e2e_prtest-{uuid.uuid4().hex[:6]}"
    vmi = lun_vmi(name.split("_", 1)[1])
    vmi.metadata.namespace = "e2e"
    ctx = convert.Context(domain_type="qemu", volumes={"san": DiskSource(loop_device, "raw", type="block")},
                          pr_helper_socket=h.socket, check_firmware=False)
    xml = convert.convert(vmi, ctx).to_xml()
    conn = libvirt.open("qemu:///system")
    dom = conn.defineXML(xml)
    try:
        await h.start()
        with pytest.raises(libvirt.libvirtError) as e:
            await asyncio.to_thread(dom.create)
        # QEMU's pr-manager connected to the helper; the device then is no SCSI device.
        assert "SG_IO" in str(e.value) and "Failed to connect" not in str(e.value), str(e.value)
        await h.stop()
        with pytest.raises(libvirt.libvirtError) as e:
            await asyncio.to_thread(dom.create)
        assert f"Failed to connect to '{h.socket}'" in str(e.value), str(e.value)
    finally:
        await h.stop()
        dom.undefine()
        conn.close()
        shutil.rmtree(d, ignore_errors=True)
