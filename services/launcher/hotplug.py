"""Live disk changes of a running domain (KubeVirt's syncDiskHotplug): disks the desired domain has
and the live one lacks are attached; disks whose volume left the VMI spec are detached. Pure
functions over domain XML, so they are tested without libvirt; virt.py makes the calls."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from services.launcher.domxml.convert import format_device_name
from services.launcher.domxml.model import parse_alias

_DEV = re.compile(r"^([a-z]+d)([a-z]+)$")  # sda -> ("sd", "a"), vdb -> ("vd", "b")


@dataclass
class DiskChange:
    volume: str
    xml: str            # the <disk> element to attach / detach
    target: str = ""


def disks_by_volume(domain_xml: str) -> dict[str, ET.Element]:
    """Volume name -> <disk>, for the disks carrying our ua- alias."""
    out = {}
    if not domain_xml:
        return out
    for disk in ET.fromstring(domain_xml).findall("./devices/disk"):
        alias = disk.find("alias")
        volume = parse_alias(alias.get("name") if alias is not None else None)
        if volume:
            out[volume] = disk
    return out


def live_disks(domain_xml: str) -> list[tuple[str, str]]:
    """(volume, guest device) of every disk of ours in a domain."""
    return [(vol, d.find("target").get("dev", "")) for vol, d in disks_by_volume(domain_xml).items()
            if d.find("target") is not None]


def _index(suffix: str) -> int:
    n = 0
    for ch in suffix:
        n = n * 26 + (ord(ch) - ord("a") + 1)
    return n - 1


def _free_target(wanted: str, used: set[str]) -> str:
    """`wanted`, or the first name with its prefix the live domain does not use (a disk removed
    earlier shifts the spec's names; the live domain keeps the ones it has)."""
    if wanted not in used:
        return wanted
    m = _DEV.match(wanted)
    prefix, i = (m.group(1), _index(m.group(2))) if m else (wanted, 0)
    while format_device_name(prefix, i) in used:
        i += 1
    return format_device_name(prefix, i)


def disk_changes(live_xml: str, desired_xml: str, spec_volumes: set[str],
                 explicit_boot: frozenset[str] = frozenset()) -> tuple[list[DiskChange], list[DiskChange]]:
    """(to attach, to detach). Only volumes gone from the spec are detached: a desired domain
    lacking a disk whose volume is still in the spec (a hotplug volume not mounted yet) changes nothing.
    A disk attached live keeps a boot order only if its spec gives one (`explicit_boot`): libvirt
    refuses per-device boot orders on a domain that boots by <os><boot dev>."""
    live, desired = disks_by_volume(live_xml), disks_by_volume(desired_xml)
    used = {d.find("target").get("dev") for d in live.values() if d.find("target") is not None}
    attach = []
    for vol, disk in desired.items():
        if vol in live:
            continue
        target = disk.find("target")
        dev = _free_target(target.get("dev", ""), used)
        target.set("dev", dev)
        used.add(dev)
        boot = disk.find("boot")
        if boot is not None and vol not in explicit_boot:
            disk.remove(boot)
        attach.append(DiskChange(vol, ET.tostring(disk, encoding="unicode"), dev))
    detach = [DiskChange(vol, ET.tostring(disk, encoding="unicode"), disk.find("target").get("dev", ""))
              for vol, disk in live.items() if vol not in spec_volumes]
    return attach, detach
