"""The node side of bridge-bound NICs (KubeVirt's virt-handler network setup, phase 1): a node
bridge per network and one tap per interface, made with `ip` (root), idempotent, found again by
name after a handler restart (names from services/common/network.py).

Hot-unplug order (KubeVirt #13941): a tap is removed only once its interface has left the domain,
i.e. the VMI's status.interfaces entry no longer has `domain` in its infoSource.
"""
from __future__ import annotations

import logging
import subprocess

from services.common import links, network
from services.common.links import exists

log = logging.getLogger(__name__)


def ensure_bridge(name: str) -> None:
    if not exists(name):
        try:
            links.ip("link", "add", name, "type", "bridge")
        except links.LinkError:
            if not exists(name):  # another handler on this host made it meanwhile: fine
                raise
    links.ip("link", "set", name, "up")


def ensure_bridge_address(name: str, cidr: str) -> None:
    """The node bridge with an address (the pod network's gateway: services/handler/podnet.py)."""
    ensure_bridge(name)
    links.ip("addr", "replace", cidr, "dev", name)


def remove_bridge_address(name: str, cidr: str) -> None:
    if exists(name):
        subprocess.run(["ip", "addr", "del", cidr, "dev", name], capture_output=True)   # gone already: fine


def ensure_tap(tap: str, bridge: str) -> None:
    """A persistent tap with vnet_hdr (what libvirt asks for when it opens a tap it did not create),
    without multi_queue (libvirt opens single-queue taps: EINVAL otherwise)."""
    ensure_bridge(bridge)
    if not exists(tap):
        links.ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr")
        log.info("created tap %s on bridge %s", tap, bridge)
    links.ip("link", "set", tap, "master", bridge)
    links.ip("link", "set", tap, "up")


def wanted(vmi) -> dict[str, str]:
    """tap -> node bridge, for each bridge-bound interface of the VMI that is not absent."""
    nets = {n.name: n for n in vmi.spec.networks}
    out = {}
    for iface in vmi.spec.domain.devices.interfaces:
        if iface.state == "absent" or network.binding(iface) != "bridge" or iface.name not in nets:
            continue
        out[network.tap_name(vmi.metadata.uid, iface.name)] = network.node_bridge(nets[iface.name])
    return out


def to_unplug(vmi, live=()) -> list[str]:
    """Taps of absent interfaces that have left the domain (KubeVirt's filterIfacesToUnplug): the
    stored status says so, and (belt and braces) the live domain we follow, `live`, agrees."""
    in_domain = {s.name for s in vmi.status.interfaces if "domain" in s.infoSource.split(", ")} | set(live)
    return [network.tap_name(vmi.metadata.uid, i.name) for i in vmi.spec.domain.devices.interfaces
            if i.state == "absent" and i.name not in in_domain]


def setup(vmi) -> None:
    for tap, bridge in wanted(vmi).items():
        ensure_tap(tap, bridge)


def cleanup_unplugged(vmi, live=()) -> None:
    for tap in to_unplug(vmi, live):
        links.remove(tap)
