"""Live disk changes of a running domain (KubeVirt's syncDiskHotplug): disks the desired domain has
and the live one lacks are attached; disks whose volume left the VMI spec are detached. Pure
functions over domain models (the live one parsed by model.Domain.from_xml), so they are tested without
libvirt; virt.py makes the calls."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from services.launcher.domxml import model as m
from services.launcher.domxml.convert import format_device_name

_DEV = re.compile(r"^([a-z]+d)([a-z]+)$")  # sda -> ("sd", "a"), vdb -> ("vd", "b")


@dataclass
class DiskChange:
    volume: str
    xml: str            # the <disk> element to attach / detach
    target: str = ""


def live_disks(live: m.Domain) -> list[tuple[str, str]]:
    """(volume, guest device) of every disk of ours in a domain."""
    return [(vol, d.target_dev) for vol, d in live.user_disks().items() if d.target_dev]


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
    match = _DEV.match(wanted)
    prefix, i = (match.group(1), _index(match.group(2))) if match else (wanted, 0)
    while format_device_name(prefix, i) in used:
        i += 1
    return format_device_name(prefix, i)


def disk_changes(live: m.Domain, desired: m.Domain, spec_volumes: set[str],
                 explicit_boot: frozenset[str] = frozenset()) -> tuple[list[DiskChange], list[DiskChange]]:
    """(to attach, to detach). Only volumes gone from the spec are detached: a desired domain
    lacking a disk whose volume is still in the spec (a hotplug volume not mounted yet) changes nothing.
    A disk attached live keeps a boot order only if its spec gives one (`explicit_boot`): libvirt
    refuses per-device boot orders on a domain that boots by <os><boot dev>."""
    have, want = live.user_disks(), desired.user_disks()
    used = {d.target_dev for d in have.values() if d.target_dev}
    attach = []
    for vol, disk in want.items():
        if vol in have:
            continue
        dev = _free_target(disk.target_dev or "", used)
        used.add(dev)
        disk = dataclasses.replace(disk, target_dev=dev,
                                   boot_order=disk.boot_order if vol in explicit_boot else None)
        attach.append(DiskChange(vol, m.device_xml(disk), dev))
    detach = [DiskChange(vol, m.device_xml(disk), disk.target_dev or "") for vol, disk in have.items()
              if vol not in spec_volumes]
    return attach, detach
