"""The domain model read back (model -> XML -> model) for every element the launcher parses from a live
domain: disks, interfaces, TPMs, KubeVirt's metadata, identity and machine; and the golden domains
parse back into the very devices they were written from."""
from __future__ import annotations

import glob
import os
import xml.etree.ElementTree as ET

import pytest

from services.common.domainmeta import KubevirtMetadata
from services.launcher.domxml import model as m

GOLDEN = sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                       "data", "domxml", "*.xml")))


def again(obj, cls):
    """model -> text -> model, as a live domain's XML reaches the launcher."""
    return cls.from_element(ET.fromstring(m.device_xml(obj)))


def test_booleans_parse_from_either_spelling():
    assert [m._bool(v) for v in ("yes", "on", "no", "off", None)] == [True, True, False, False, None]
    with pytest.raises(ValueError, match="not a libvirt boolean"):
        m._bool("true")


def test_disk_round_trip_with_every_field():
    d = m.Disk(type="block", device="lun", model=None,
               driver=m.DiskDriver(name="qemu", type="raw", cache="none", io="native", error_policy="report",
                                   discard="unmap", iothread=2, queues=4),
               source="/dev/sdz", target_dev="sdb", target_bus="scsi", readonly=False, shareable=True,
               serial="S9", boot_order=2, alias="ua-lun", address=m.PciAddress(bus="0x07", slot="0x01"),
               logical_block_size=512, physical_block_size=4096,
               reservations=m.Reservations(path="/run/pr.sock"))
    assert again(d, m.Disk) == d
    assert 'managed="no"' in m.device_xml(d)


def test_interface_round_trip_with_booleans():
    i = m.Interface(type="ethernet", mac="02:00:00:00:00:07", target_dev="vmt1", target_managed=False,
                    model="virtio-non-transitional", link_state="down", rom_enabled=False, alias="ua-red",
                    acpi_index=3, address=m.PciAddress(bus="0x02"))
    assert again(i, m.Interface) == i
    assert ('<target dev="vmt1" managed="no" />' in m.device_xml(i)
            and '<rom enabled="no" />' in m.device_xml(i))
    assert again(m.Interface(type="user", rom_enabled=True), m.Interface).rom_enabled is True


@pytest.mark.parametrize("persistent", [True, False, None])
def test_tpm_round_trip(persistent):
    t = m.Tpm(model="tpm-crb", backend_version="2.0", persistent_state=persistent)
    assert again(t, m.Tpm) == t


def test_kubevirt_metadata_round_trip_and_libvirts_prefixed_form():
    md = KubevirtMetadata(uid="u-1")
    assert KubevirtMetadata.from_element(ET.fromstring(ET.tostring(md.to_element(), encoding="unicode"))) == md
    # virDomainGetMetadata answers with the namespace under a prefix of libvirt's choosing.
    assert KubevirtMetadata.from_xml('<kv:kubevirt xmlns:kv="http://kubevirt.io"><kv:uid>u-2</kv:uid>'
                                     "</kv:kubevirt>").uid == "u-2"
    with pytest.raises(ValueError, match="not XML"):
        KubevirtMetadata.from_xml("<kubevirt")
    # Another tool's metadata beside ours is not ours.
    other = ET.fromstring('<metadata><x:kubevirt xmlns:x="urn:other"><x:uid>no</x:uid></x:kubevirt></metadata>')
    assert KubevirtMetadata.find_in(other) is None


def test_domain_round_trip_of_what_is_read_back():
    dom = m.Domain(type="kvm", name="ns_vm", uuid="6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0001",
                   metadata=KubevirtMetadata(uid="u1"), os=m.Os(arch="x86_64", machine="pc-q35-7.2"))
    dom.devices.emulator = "/usr/bin/qemu-system-x86_64"
    dom.devices.disks = [m.Disk(source="/v/a.qcow2", target_dev="vda", target_bus="virtio", alias="ua-a"),
                         m.Disk(device="cdrom", target_dev="sda", target_bus="sata", readonly=True)]
    dom.devices.interfaces = [m.Interface(type="bridge", source_bridge="br0", alias="ua-b")]
    dom.devices.tpms = [m.Tpm(model="tpm-tis", persistent_state=True)]
    back = m.Domain.from_xml(dom.to_xml())
    assert (back.type, back.name, back.uuid, back.metadata, back.os) == (dom.type, dom.name, dom.uuid,
                                                                         dom.metadata, dom.os)
    assert back.devices == dom.devices
    assert back.user_disks() == {"a": dom.devices.disks[0]}
    assert back.user_interfaces() == {"b": dom.devices.interfaces[0]}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: os.path.basename(p)[:-4])
def test_golden_domains_parse_back_into_the_devices_they_hold(path):
    """Each disk, interface and TPM of a converter-written domain re-emits as the same element."""
    text = open(path).read()
    root = ET.fromstring(text)
    dom = m.Domain.from_xml(text)
    for tag, parsed in (("disk", dom.devices.disks), ("interface", dom.devices.interfaces),
                        ("tpm", dom.devices.tpms)):
        written = root.findall(f"devices/{tag}")
        assert len(parsed) == len(written)
        for el, obj in zip(written, parsed):
            assert ET.canonicalize(m.device_xml(obj), strip_text=True) == \
                ET.canonicalize(ET.tostring(el, encoding="unicode"), strip_text=True)
    md = root.find("metadata")
    assert dom.metadata == KubevirtMetadata.find_in(md)
    assert dom.os.machine == root.find("os/type").get("machine")
