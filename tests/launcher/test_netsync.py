"""netsync.plan: desired NICs vs the live domain XML -> attach / detach / update, and only what differs."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from services.launcher import netsync
from services.launcher.domxml import model as m

LIVE = """<domain><devices>
  <interface type='ethernet'>
    <mac address='02:00:00:00:00:01'/>
    <target dev='vmtaaaaaabbbbbb' managed='no'/>
    <model type='virtio-non-transitional'/>
    <alias name='ua-default'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
  </interface>
  <interface type='user'>
    <mac address='52:54:00:00:00:02'/>
    <model type='virtio-non-transitional'/>
    <link state='down'/>
    <alias name='ua-masq'/>
  </interface>
  <interface type='network'><alias name='net0'/></interface>
</devices></domain>"""
LIVE_DOMAIN = m.Domain.from_xml(LIVE)


def nic(name, link=None, **kw):
    return m.Interface(type="ethernet", alias=f"ua-{name}", link_state=link, target_dev=f"tap-{name}",
                       target_managed=False, **kw)


def el(xml):
    return ET.fromstring(xml)


def test_nothing_to_do_when_link_states_match():
    # No <link> and "up" are the same; "down" matches the live <link state='down'/>.
    assert netsync.plan([nic("default"), nic("masq", "down")], LIVE_DOMAIN, set()) == []
    assert netsync.plan([nic("default", "up"), nic("masq", "down")], LIVE_DOMAIN, set()) == []


def test_link_down_updates_the_live_definition():
    (op,) = netsync.plan([nic("default", "down"), nic("masq", "down")], LIVE_DOMAIN, set())
    assert (op.action, op.alias) == ("update", "ua-default")
    e = el(op.xml)
    assert e.find("link").get("state") == "down"
    # The live element is reused: the tap, MAC and PCI address are those libvirt has.
    assert e.find("target").get("dev") == "vmtaaaaaabbbbbb"
    assert e.find("mac").get("address") == "02:00:00:00:00:01"
    assert e.find("address").get("bus") == "0x01"


def test_link_up_is_explicit():
    (op,) = netsync.plan([nic("default"), nic("masq")], LIVE_DOMAIN, set())
    assert (op.action, op.alias) == ("update", "ua-masq")
    assert [link.get("state") for link in el(op.xml).findall("link")] == ["up"]


def test_hotplug_attaches_the_desired_xml_with_its_link_state():
    ops = netsync.plan([nic("default"), nic("masq", "down"), nic("blue", "down", mac="02:00:00:00:00:09")],
                       LIVE_DOMAIN, set())
    assert [(o.action, o.alias) for o in ops] == [("attach", "ua-blue")]
    e = el(ops[0].xml)
    assert e.get("type") == "ethernet" and e.find("target").attrib == {"dev": "tap-blue", "managed": "no"}
    assert e.find("link").get("state") == "down" and e.find("mac").get("address") == "02:00:00:00:00:09"


def test_absent_detaches_the_live_element_only():
    ops = netsync.plan([nic("masq", "down")], LIVE_DOMAIN, {"ua-default", "ua-never-plugged"})
    assert [(o.action, o.alias) for o in ops] == [("detach", "ua-default")]
    assert el(ops[0].xml).find("target").get("dev") == "vmtaaaaaabbbbbb"


def test_interfaces_missing_from_the_spec_are_left_alone():
    assert netsync.plan([], LIVE_DOMAIN, set()) == []


def test_interfaces_status_reads_our_nics():
    assert netsync.interfaces_status(LIVE_DOMAIN) == [("default", "02:00:00:00:00:01", "up", "vmtaaaaaabbbbbb"),
                                               ("masq", "52:54:00:00:00:02", "down", "")]
