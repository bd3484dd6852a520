"""Converter rules for what the whole VMI schema added (issue 14, items 4-6): clocks and timers,
Hyper-V/KVM features, legacy buses and NICs, watchdog, sound, panic, video, chassis, disk error
policies, block sizes, multi-queue, IO threads, ACPI indexes, virtio-transitional, disableHotplug,
logSerialConsole and SCSI persistent reservation. VMI spec in, the relevant bit of XML (read back
through the model where it parses it) or the error naming the field out."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
import yaml

from services.common import manifest, proto
from services.launcher.domxml import convert
from services.launcher.domxml import model as m
from services.launcher.storage import DiskSource
from test_domxml_golden import CASES
from test_domxml_rules import ctx, error_of, vmi, xml_of

WINDOWS_CLOCK = {"utc": {"offsetSeconds": 3600},
                 "timer": {"hpet": {"present": False}, "pit": {"tickPolicy": "delay"},
                           "rtc": {"tickPolicy": "catchup", "track": "guest"}, "hyperv": {}, "kvm": {"present": False}}}


def test_clock_timers_in_kubevirts_order_present_unless_said_otherwise():
    clock = xml_of(vmi(clock=WINDOWS_CLOCK)).find("clock")
    assert clock.attrib == {"offset": "utc", "adjustment": "3600"}
    assert [t.attrib for t in clock] == [
        {"name": "rtc", "tickpolicy": "catchup", "track": "guest", "present": "yes"},
        {"name": "pit", "tickpolicy": "delay", "present": "yes"},
        {"name": "kvmclock", "present": "no"},
        {"name": "hpet", "present": "no"},
        {"name": "hypervclock", "present": "yes"}]


HYPERV = {"relaxed": {}, "vapic": {}, "spinlocks": {"spinlocks": 8191}, "runtime": {}, "synic": {},
          "synictimer": {"direct": {}}, "reset": {"enabled": False}, "vendorid": {"vendorid": "virtmesh"},
          "frequencies": {}, "reenlightenment": {}, "tlbflush": {}, "ipi": {}, "evmcs": {}}


def test_hyperv_enlightenments_each_on_unless_disabled():
    f = xml_of(vmi(features={"hyperv": HYPERV, "apic": {"endOfInterrupt": True}, "kvm": {"hidden": True},
                             "pvspinlock": {"enabled": False}})).find("features")
    hv = f.find("hyperv")
    assert hv.get("mode") == "custom"
    assert [(c.tag, c.get("state")) for c in hv] == [
        ("relaxed", "on"), ("vapic", "on"), ("spinlocks", "on"), ("runtime", "on"), ("synic", "on"),
        ("stimer", "on"), ("reset", "off"), ("vendor_id", "on"), ("frequencies", "on"), ("reenlightenment", "on"),
        ("tlbflush", "on"), ("ipi", "on"), ("evmcs", "on")]
    assert hv.find("spinlocks").get("retries") == "8191" and hv.find("vendor_id").get("value") == "virtmesh"
    assert hv.find("stimer/direct").get("state") == "on"
    assert f.find("apic").get("eoi") == "on"
    assert f.find("kvm/hidden").get("state") == "on" and f.find("pvspinlock").get("state") == "off"
    # Spinlocks without a count: KubeVirt's default retries.
    assert xml_of(vmi(features={"hyperv": {"spinlocks": {}}})).find("features/hyperv/spinlocks").get("retries") == "4096"


def test_what_needs_kvm_is_refused_on_a_node_that_emulates_and_written_on_kvm():
    v = vmi(features={"hyperv": {"vpindex": {}, "synic": {}}})
    assert error_of(v) == ("spec.domain.features.hyperv.vpindex: the Hyper-V vpindex enlightenment needs KVM; "
                           "this node emulates the CPU (TCG)")
    assert xml_of(v, domain_type="kvm").find("features/hyperv/vpindex").get("state") == "on"
    v = vmi(features={"pvspinlock": {}})
    assert error_of(v) == ("spec.domain.features.pvspinlock: paravirtual spinlocks need KVM; this node emulates "
                           "the CPU (TCG)")
    assert xml_of(v, domain_type="kvm").find("features/pvspinlock").get("state") == "on"


def test_hyperv_passthrough():
    assert xml_of(vmi(features={"hypervPassthrough": {"enabled": True}})).find("features/hyperv").attrib == {
        "mode": "passthrough"}
    assert xml_of(vmi(features={"hypervPassthrough": {"enabled": False}})).find("features/hyperv") is None


def test_legacy_buses_and_nics_with_acpi_indexes():
    v = vmi(disks=[{"name": "a", "disk": {"bus": "sata"}}, {"name": "b", "disk": {"bus": "usb"}}],
            interfaces=[{"name": "default", "masquerade": {}, "model": "e1000", "acpiIndex": 3}])
    xml = convert.convert(v, ctx(v)).to_xml()
    dom = m.Domain.from_xml(xml)
    assert [(d.target_bus, d.target_dev, d.model) for d in dom.devices.disks] == [("sata", "sda", None),
                                                                                  ("usb", "sdb", None)]
    nic = dom.interface_by_alias("ua-default")
    assert (nic.model, nic.acpi_index) == ("e1000", 3)
    assert ET.fromstring(xml).find("devices/controller[@type='usb']").get("model") == "qemu-xhci"  # for the USB disk


def test_watchdog_sound_panic_and_video():
    root = xml_of(vmi(devices={"watchdog": {"name": "wd", "i6300esb": {"action": "reset"}},
                               "sound": {"name": "audio"}, "panicDevices": [{"model": "isa"}, {"model": "hyperv"}],
                               "autoattachGraphicsDevice": True, "video": {"type": "bochs"}}))
    devs = root.find("devices")
    assert devs.find("watchdog").attrib == {"model": "i6300esb", "action": "reset"}
    assert devs.find("watchdog/alias").get("name") == "ua-wd"
    assert devs.find("sound").get("model") == "ich9"   # KubeVirt's default card
    assert [p.get("model") for p in devs.findall("panic")] == ["isa", "hyperv"]
    assert devs.find("video/model").get("type") == "bochs"
    assert xml_of(vmi(devices={"watchdog": {"name": "wd", "i6300esb": {}}})).find(
        "devices/watchdog").get("action") == "poweroff"
    # a video type without autoattachGraphicsDevice asks for the display
    root = xml_of(vmi(devices={"video": {"type": "virtio"}}))
    assert root.find("devices/video/model").get("type") == "virtio" and root.find("devices/graphics") is not None


def test_chassis_goes_to_smbios():
    root = xml_of(vmi(chassis={"manufacturer": "Virtmesh", "asset": "A-7"}))
    assert [(e.get("name"), e.text) for e in root.findall("sysinfo/chassis/entry")] == [
        ("manufacturer", "Virtmesh"), ("asset", "A-7")]
    assert root.find("os/smbios").get("mode") == "sysinfo"


def test_error_policy_block_sizes_and_multi_queue(tmp_path):
    disks = [{"name": "a", "disk": {"bus": "virtio"}, "errorPolicy": "report",
              "blockSize": {"custom": {"logical": 512, "physical": 4096}}},
             {"name": "b", "disk": {"bus": "sata"}, "blockSize": {"matchVolume": {}}}]
    v = vmi(disks=disks, cpu={"sockets": 1, "cores": 2, "threads": 1, "maxSockets": 4},
            devices={"blockMultiQueue": True})
    image = tmp_path / "b.img"
    image.write_bytes(b"")
    dom = m.Domain.from_xml(convert.convert(v, ctx(v, volumes={
        "a": DiskSource("/images/a.qcow2", "qcow2"), "b": DiskSource(str(image), "raw")})).to_xml())
    a, b = dom.devices.disks
    assert (a.driver.error_policy, a.logical_block_size, a.physical_block_size) == ("report", 512, 4096)
    assert a.driver.queues == 2   # the requested vCPUs, not the hotplug maximum
    fs = os.statvfs(tmp_path).f_bsize
    assert (b.driver.error_policy, b.logical_block_size, b.physical_block_size, b.driver.queues) == (
        "stop", fs, fs, None)


def test_io_threads_shared_auto_and_dedicated():
    disks = [{"name": n, "disk": {"bus": "virtio"}} for n in ("a", "b", "c")]
    disks[2]["dedicatedIOThread"] = True
    root = xml_of(vmi(disks=disks, ioThreadsPolicy="shared"))
    assert root.findtext("iothreads") == "2"
    assert [d.get("iothread") for d in root.findall("devices/disk/driver")] == ["1", "1", "2"]
    root = xml_of(vmi(disks=disks + [{"name": "d", "disk": {"bus": "virtio"}}], ioThreadsPolicy="auto",
                      resources={"requests": {"cpu": "1"}}))
    assert root.findtext("iothreads") == "2"   # 2 per CPU: one shared, one dedicated
    assert [d.get("iothread") for d in root.findall("devices/disk/driver")] == ["1", "1", "2", "1"]
    root = xml_of(vmi(disks=[{"name": "s", "disk": {"bus": "scsi"}, "dedicatedIOThread": True}],
                      cpu={"cores": 2}))
    assert root.find("devices/controller[@type='scsi']/driver").attrib == {"iothread": "1", "queues": "2"}
    assert xml_of(vmi(disks=disks[:1])).find("iothreads") is None


def test_virtio_transitional_disable_hotplug_and_serial_log():
    v = vmi(disks=[{"name": "a", "disk": {"bus": "virtio"}}], devices={"useVirtioTransitional": True, "rng": {}})
    root = xml_of(v)
    assert {d.get("model") for d in root.findall("devices/disk")} == {"virtio-transitional"}
    assert root.find("devices/controller[@type='virtio-serial']").get("model") == "virtio-transitional"
    assert root.find("devices/rng").get("model") == "virtio-transitional"
    hot = xml_of(vmi(disks=[{"name": "a", "disk": {"bus": "virtio"}}]))
    cold = xml_of(vmi(disks=[{"name": "a", "disk": {"bus": "virtio"}}], devices={"disableHotplug": True}))
    assert hot.find("devices/controller[@type='scsi']") is not None
    assert cold.find("devices/controller[@type='scsi']") is None      # needsSCSIController
    ports = lambda r: len(r.findall("devices/controller[@model='pcie-root-port']"))  # noqa: E731
    assert ports(hot) - ports(cold) == 9   # the spare ports and the SCSI controller's
    logged = xml_of(vmi(), serial_log="/var/log/s.log").find("devices/serial/log")
    assert logged is not None and logged.get("file") == "/var/log/s.log"
    assert xml_of(vmi(devices={"logSerialConsole": False}), serial_log="/var/log/s.log").find(
        "devices/serial/log") is None


def test_a_reserved_lun_points_at_the_nodes_pr_helper():
    v = vmi(disks=[{"name": "san", "lun": {"bus": "scsi", "reservation": True}}])
    vols = {"san": DiskSource("/dev/sdb", "raw", type="block")}
    sock = "/var/lib/virtmesh/run/pr/pr-helper.sock"
    dom = m.Domain.from_xml(convert.convert(v, ctx(v, volumes=vols, pr_helper_socket=sock)).to_xml())
    disk = dom.disk_by_alias("ua-san")
    assert (disk.device, disk.type, disk.source) == ("lun", "block", "/dev/sdb")
    assert disk.reservations == m.Reservations(path=sock, managed=False, mode="client")
    assert error_of(v, volumes=vols) == ("spec.domain.devices.disks[0].lun.reservation: this node runs no "
                                         "qemu-pr-helper (the PersistentReservation feature gate is off on it)")
    plain = vmi(disks=[{"name": "san", "lun": {"bus": "scsi"}}])
    assert m.Domain.from_xml(convert.convert(plain, ctx(plain, volumes=vols)).to_xml()).disk_by_alias(
        "ua-san").reservations is None


def test_the_windows_legacy_domain_starts_on_the_test_driver():
    """The golden Windows XP-style domain (test_domxml_golden.py) defines and starts on libvirt's test
    driver (real QEMU: tests/e2e/test_legacy_guests.py)."""
    libvirt = pytest.importorskip("libvirt")
    text, make_ctx = CASES["amd64_windows_legacy"]
    v = manifest.parse(yaml.safe_load(text), proto.kv.VirtualMachineInstance)
    ctx = make_ctx()
    ctx.domain_type = "test"
    root = ET.fromstring(convert.convert(v, ctx).to_xml())
    root.find("name").text = "legacy-start-check"
    conn = libvirt.open("test:///default")
    try:
        dom = conn.defineXML(ET.tostring(root, encoding="unicode"))
        dom.create()
        assert dom.isActive()
        live = m.Domain.from_xml(dom.XMLDesc(0))
        assert [(d.target_bus, d.device) for d in live.devices.disks] == [("sata", "disk"), ("sata", "cdrom")]
        assert live.interface_by_alias("ua-default").model == "e1000"
        dom.destroy()
        dom.undefine()
    finally:
        conn.close()
