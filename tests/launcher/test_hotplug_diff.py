"""The live-disk diff the launcher applies to a running domain (launcher/hotplug.py)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from services.launcher import hotplug
from services.launcher.domxml import model as m


def domain(*disks):
    body = "".join(f"<disk type='file' device='disk'><source file='/i/{v}.img'/><target dev='{dev}' bus='{bus}'/>"
                   f"<alias name='ua-{v}'/></disk>" for v, dev, bus in disks)
    return m.Domain.from_xml(f"<domain><devices>{body}<disk type='file' device='cdrom'><target dev='hdc'/></disk>"
                             "</devices></domain>")


def test_live_disks_are_ours_by_alias():
    assert hotplug.live_disks(domain(("root", "vda", "virtio"), ("data", "sda", "scsi"))) == \
        [("root", "vda"), ("data", "sda")]
    assert hotplug.live_disks(m.Domain(type="qemu", name="x")) == []


def test_attach_what_the_spec_gained():
    live = domain(("root", "vda", "virtio"))
    desired = domain(("root", "vda", "virtio"), ("data", "sda", "scsi"))
    attach, detach = hotplug.disk_changes(live, desired, {"root", "data"})
    assert [(c.volume, c.target) for c in attach] == [("data", "sda")] and detach == []
    el = ET.fromstring(attach[0].xml)
    assert el.tag == "disk" and el.find("alias").get("name") == "ua-data"


def test_detach_only_volumes_gone_from_the_spec():
    live = domain(("root", "vda", "virtio"), ("data", "sda", "scsi"), ("slow", "sdb", "scsi"))
    # "slow" is still in the spec but not in the desired domain (its claim is not mounted): kept.
    desired = domain(("root", "vda", "virtio"))
    attach, detach = hotplug.disk_changes(live, desired, {"root", "slow"})
    assert attach == [] and [(c.volume, c.target) for c in detach] == [("data", "sda")]


def test_nothing_to_do_is_nothing():
    live = domain(("root", "vda", "virtio"), ("data", "sda", "scsi"))
    assert hotplug.disk_changes(live, live, {"root", "data"}) == ([], [])


def test_a_new_disk_never_takes_a_live_device_name():
    # sda was removed from the spec earlier, so the spec now names the next disk sda again, while the
    # live domain still has "b" as sdb and "c" as sdc.
    live = domain(("root", "vda", "virtio"), ("b", "sdb", "scsi"), ("c", "sda", "scsi"))
    desired = domain(("root", "vda", "virtio"), ("b", "sdb", "scsi"), ("c", "sda", "scsi"), ("d", "sda", "scsi"))
    attach, _ = hotplug.disk_changes(live, desired, {"root", "b", "c", "d"})
    assert [(c.volume, c.target) for c in attach] == [("d", "sdc")]
    assert ET.fromstring(attach[0].xml).find("target").get("dev") == "sdc"


def test_boot_order_only_when_the_spec_gives_one():
    live = domain(("root", "vda", "virtio"))
    desired = domain(("root", "vda", "virtio"), ("a", "sda", "scsi"), ("b", "sdb", "scsi"))
    desired.disk_by_alias("ua-a").boot_order, desired.disk_by_alias("ua-b").boot_order = 2, 3
    attach, _ = hotplug.disk_changes(live, desired, {"root", "a", "b"}, explicit_boot=frozenset({"b"}))
    boots = {c.volume: ET.fromstring(c.xml).find("boot") for c in attach}
    assert boots["a"] is None and boots["b"].get("order") == "3"
