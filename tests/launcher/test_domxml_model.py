"""model.py: emits only what is set, deterministically; disks and interfaces parse back."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.launcher.domxml import model as m


def text(el) -> str:
    return ET.tostring(el, encoding="unicode")


def test_emit_only_what_is_set():
    assert text(m.Disk().to_element()) == '<disk type="file" device="disk" />'
    assert text(m.Interface().to_element()) == '<interface type="user" />'
    assert text(m.Cpu().to_element()) == "<cpu />"
    assert text(m.Features().to_element()) == "<features />" and m.Features().empty()
    assert text(m.Controller("usb", 0, "none").to_element()) == '<controller type="usb" index="0" model="none" />'
    dom = m.Domain(type="qemu", name="x")
    assert dom.to_xml() == ('<domain type="qemu">\n  <name>x</name>\n  <os>\n    <type>hvm</type>\n  </os>\n'
                            "  <devices />\n</domain>\n")


def test_bools_are_fields_the_model_spells():
    assert text(m.Loader("/code", readonly=True, secure=False).to_element()) == \
        '<loader readonly="yes" secure="no">/code</loader>'
    assert text(m.Features(smm=True, vmport=False).to_element()) == \
        '<features><smm state="on" /><vmport state="off" /></features>'
    with pytest.raises(TypeError, match="yes_no"):
        m._el("x", flag=True)


def test_metadata_uses_the_kubevirt_default_namespace():
    out = text(m.KubevirtMetadata(uid="u1").to_element())
    assert out == '<kubevirt xmlns="http://kubevirt.io"><uid>u1</uid></kubevirt>'
    dom = m.Domain(type="qemu", name="x", metadata=m.KubevirtMetadata(uid="u1"))
    assert '<metadata>\n    <kubevirt xmlns="http://kubevirt.io">\n      <uid>u1</uid>' in dom.to_xml()


def test_disk_round_trip():
    d = m.Disk(type="block", device="disk", model="virtio-non-transitional",
               driver=m.DiskDriver(name="qemu", type="raw", cache="none", io="native", error_policy="stop",
                                   discard="unmap"),
               source="/dev/vg/lv", target_dev="vdb", target_bus="virtio", readonly=True, shareable=True,
               serial="S1", boot_order=3, alias=m.make_alias("data"),
               address=m.PciAddress(bus="0x05"))
    assert m.Disk.from_element(d.to_element()) == d
    cd = m.Disk(device="cdrom", source="/x.iso", target_dev="sda", target_bus="sata", target_tray="open",
                readonly=True, alias="ua-cd")
    assert m.Disk.from_element(ET.fromstring(text(cd.to_element()))) == cd


def test_interface_round_trip():
    i = m.Interface(type="user", mac="02:00:00:00:00:01", model="virtio-non-transitional", link_state="down",
                    rom_enabled=False, alias="ua-default", address=m.PciAddress(bus="0x01"))
    assert m.Interface.from_element(i.to_element()) == i
    b = m.Interface(type="bridge", source_bridge="br0", boot_order=1, alias="ua-b")
    assert m.Interface.from_element(b.to_element()) == b
    tap = m.Interface(type="ethernet", target_dev="vmt0123456789ab", target_managed=False, alias="ua-t")
    assert text(tap.to_element()) == ('<interface type="ethernet"><target dev="vmt0123456789ab" managed="no" />'
                                      '<alias name="ua-t" /></interface>')
    assert m.Interface.from_element(tap.to_element()) == tap
    user = m.Interface(type="user", ip_address="10.0.2.0", ip_prefix=24)
    assert text(user.to_element()) == '<interface type="user"><ip family="ipv4" address="10.0.2.0" prefix="24" /></interface>'
    assert m.Interface.from_element(user.to_element()) == user


def test_domain_from_live_xml_finds_devices_by_alias():
    live = """<domain type='qemu' id='7'><name>ns_vm</name><uuid>5d307ca9-b3ef-428c-8861-06e72d69f223</uuid>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
        <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2' index='1'/>
          <target dev='vda' bus='virtio'/><alias name='ua-root'/>
          <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>
        <interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio-non-transitional'/>
          <alias name='ua-default'/></interface>
        <serial type='pty'><alias name='serial0'/></serial>
      </devices></domain>"""
    dom = m.Domain.from_xml(live)
    assert (dom.type, dom.name, dom.os.machine) == ("qemu", "ns_vm", "pc-q35-7.2")
    disk = dom.disk_by_alias("ua-root")
    assert (disk.source, disk.target_dev, disk.address.bus) == ("/a.qcow2", "vda", "0x04")
    assert dom.interface_by_alias("ua-default").mac == "52:54:00:12:34:56"
    assert dom.disk_by_alias("ua-nope") is None
    assert m.parse_alias("ua-root") == "root" and m.parse_alias("serial0") is None
