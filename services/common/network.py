"""Network rules shared by the api, the handler and the launcher (one place, so they never disagree).

Bindings on a node without a cluster:
- `bridge` (KubeVirt's default when no binding is given): a tap the handler creates and plugs into a
  node bridge; libvirt uses it as `<interface type="ethernet"><target dev=TAP managed="no"/>`.
  The pod network's bridge is `virtmesh0`; a secondary (multus) network gets a bridge of its own,
  named from its networkName.
- `masquerade` / `slirp`: libvirt user-mode networking (QEMU's slirp NAT), nothing on the node.
Tap names come from the VMI uid and the interface name, so a restarted handler finds its taps, and
all taps of one VMI share a prefix, so they can be cleaned up knowing only the uid.
"""
from __future__ import annotations

import hashlib

POD_BRIDGE = "virtmesh0"
TAP_PREFIX = "vmt"          # vmt + 6 hex of the uid + 6 hex of the interface name = 15 chars (IFNAMSIZ-1)
MASQUERADE_CIDR = "10.0.2.0/24"  # KubeVirt's default vmNetworkCIDR for masquerade
DHCP_PID_FILE = "dnsmasq.pid"     # the node's pod network DHCP server, in DataDir.pod_network(node)


def _h(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def binding(iface) -> str:
    """bridge | masquerade | slirp; no binding given means KubeVirt's default, bridge."""
    for b in ("masquerade", "slirp", "bridge"):
        if iface.HasField(b):
            return b
    return "bridge"


def is_default_network(net) -> bool:
    """The pod network (or a multus network marked default) is the VMI's default network."""
    return net.HasField("pod") or (net.HasField("multus") and net.multus.default)


def tap_prefix(uid: str) -> str:
    return TAP_PREFIX + _h(uid, 6)


def tap_name(uid: str, iface_name: str) -> str:
    return tap_prefix(uid) + _h(iface_name, 6)


def node_bridge(net) -> str:
    """The node bridge a bridge-bound interface's tap joins."""
    if net.HasField("multus"):
        return "vmnet" + _h(net.multus.networkName, 10)
    return POD_BRIDGE
