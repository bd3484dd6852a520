"""The node side of bridge-bound NICs (KubeVirt's virt-handler network setup, phase 1): a node
bridge per network and one tap per interface, made with `ip` (root), idempotent, found again by
name after a handler restart (names from services/common/network.py).

Hot-unplug order (KubeVirt #13941): a tap is removed only once its interface has left the domain,
i.e. the VMI's status.interfaces entry no longer has `domain` in its infoSource.
"""
from __future__ import annotations

import logging
import os
import subprocess

from services.common import network

log = logging.getLogger(__name__)
SYS_NET = "/sys/class/net"


class PlumbingError(Exception):
    pass


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise PlumbingError(f"ip {' '.join(args)}: {r.stderr.strip() or r.returncode}")


def exists(dev: str) -> bool:
    return os.path.exists(os.path.join(SYS_NET, dev))


def ensure_bridge(name: str) -> None:
    if not exists(name):
        try:
            _ip("link", "add", name, "type", "bridge")
        except PlumbingError:
            if not exists(name):  # another handler on this host made it meanwhile: fine
                raise
    _ip("link", "set", name, "up")


def ensure_bridge_address(name: str, cidr: str) -> None:
    """The node bridge with an address (the pod network's gateway: services/handler/podnet.py)."""
    ensure_bridge(name)
    _ip("addr", "replace", cidr, "dev", name)


def remove_bridge_address(name: str, cidr: str) -> None:
    if exists(name):
        subprocess.run(["ip", "addr", "del", cidr, "dev", name], capture_output=True)   # gone already: fine


def ensure_tap(tap: str, bridge: str) -> None:
    """A persistent tap with vnet_hdr (what libvirt asks for when it opens a tap it did not create),
    without multi_queue (libvirt opens single-queue taps: EINVAL otherwise)."""
    ensure_bridge(bridge)
    if not exists(tap):
        _ip("tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr")
        log.info("created tap %s on bridge %s", tap, bridge)
    _ip("link", "set", tap, "master", bridge)
    _ip("link", "set", tap, "up")


def remove(dev: str) -> None:
    if exists(dev):
        _ip("link", "del", dev)
        log.info("removed tap %s", dev)


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
        remove(tap)


def remove_all(uid: str) -> None:
    """Every tap of a VMI that is gone (the shared name prefix finds them without its spec)."""
    prefix = network.tap_prefix(uid)
    for dev in os.listdir(SYS_NET) if os.path.isdir(SYS_NET) else []:
        if dev.startswith(prefix):
            try:
                remove(dev)
            except PlumbingError as e:
                log.warning("%s", e)
