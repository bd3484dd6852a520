"""Desired vs live NICs of a running domain -> the device operations that reconcile them
(KubeVirt's nichotplug.go: hotplug, hot-unplug, link state). Pure: XML strings in, ops out.

- attach: a desired interface (by `ua-` alias) missing from the live domain; its XML carries
  `<link state="down"/>` when it is to be plugged in down.
- detach: a live interface whose VMI interface is `state: absent`. Interfaces merely missing from the
  spec are left alone (KubeVirt never removes a NIC that way).
- update: the live definition with only the link state changed, and only when it differs
  (no `<link>` means up). The live element is reused so target, MAC and PCI address stay as they are.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from services.launcher.domxml import model as m


@dataclass(frozen=True)
class Op:
    action: str   # attach | detach | update
    alias: str
    xml: str


def _link(e: ET.Element) -> str:
    link = e.find("link")
    return (link.get("state") or "up") if link is not None else "up"


def live_interfaces(domain_xml: str) -> dict[str, ET.Element]:
    """alias -> <interface> element of the live domain (only ours, which carry a ua- alias)."""
    out = {}
    for e in ET.fromstring(domain_xml).findall("devices/interface"):
        a = e.find("alias")
        if a is not None and (a.get("name") or "").startswith(m.USER_ALIAS_PREFIX):
            out[a.get("name")] = e
    return out


def _text(e: ET.Element) -> str:
    return ET.tostring(e, encoding="unicode")


def plan(desired: list[m.Interface], live_xml: str, absent: set[str]) -> list[Op]:
    """`desired`: the converter's interfaces; `absent`: aliases of the interfaces to unplug."""
    live = live_interfaces(live_xml)
    ops: list[Op] = []
    for alias, e in live.items():
        if alias in absent:
            ops.append(Op("detach", alias, _text(e)))
    for want in desired:
        have = live.get(want.alias)
        if have is None:
            ops.append(Op("attach", want.alias, _text(want.to_element())))
            continue
        state = want.link_state or "up"
        if _link(have) == state:
            continue
        e = ET.fromstring(_text(have))
        link = e.find("link")
        if link is None:
            link = ET.SubElement(e, "link")
        link.set("state", state)  # explicit "up": an absent <link> would mean "no change" to libvirt
        ops.append(Op("update", want.alias, _text(e)))
    return ops


def interfaces_status(domain_xml: str) -> list[tuple[str, str, str, str]]:
    """(name, mac, linkState, target dev) of each of our interfaces in the live domain."""
    out = []
    for alias, e in live_interfaces(domain_xml).items():
        mac = e.find("mac")
        target = e.find("target")
        out.append((alias[len(m.USER_ALIAS_PREFIX):], mac.get("address", "") if mac is not None else "",
                    _link(e), target.get("dev", "") if target is not None else ""))
    return out
