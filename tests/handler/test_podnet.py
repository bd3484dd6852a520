"""The node's pod network (handler/podnet.py): IPAM (lowest free address, one per interface, kept on
disk across a restart, released by VMI, exhaustion in the CNI's words), which interfaces take an
address, and a real DHCP exchange: the handler's dnsmasq on a bridge answers a busybox udhcpc client in
another network namespace with its allocation, and nothing to an unknown MAC."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from services.common import manifest, proto
from services.handler import podnet
from services.handler.vmi import interfaces_status

L = proto.launcher


def vmi_of(interfaces, networks=None, uid="uid-1", name="v"):
    return manifest.parse({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                           "metadata": {"name": name, "namespace": "n", "uid": uid},
                           "spec": {"networks": networks or [{"name": "default", "pod": {}}],
                                    "domain": {"devices": {"interfaces": interfaces}}}},
                          proto.kv.VirtualMachineInstance)


def test_addresses_are_the_lowest_free_ones_after_the_gateway_and_stable_per_interface(tmp_path):
    ipam = podnet.IPAM(str(tmp_path / "ipam.json"), "10.250.0.0/24")
    assert str(ipam.gateway) == "10.250.0.1"
    assert ipam.allocate("a", "default") == "10.250.0.2"
    assert ipam.allocate("b", "default") == "10.250.0.3"
    assert ipam.allocate("a", "default") == "10.250.0.2"   # again: the same one
    assert ipam.release("a") and not ipam.release("a")
    assert ipam.allocate("c", "default") == "10.250.0.2"   # the freed one comes back first
    assert ipam.address("b", "default") == "10.250.0.3" and ipam.address("a", "default") == ""


def test_allocations_survive_a_restart_and_a_release_is_written_at_once(tmp_path):
    path = str(tmp_path / "net" / "ipam.json")
    ipam = podnet.IPAM(path, "10.250.0.0/24")
    ipam.allocate("a", "default")
    ipam.allocate("b", "default")
    assert ipam.describe("b", "default", "02:00:00:00:00:0B", "vm-b")
    assert not ipam.describe("b", "default", "02:00:00:00:00:0b", "vm-b")   # nothing new
    # a new handler (the old one was killed: only what reached the file counts)
    again = podnet.IPAM(path, "10.250.0.0/24")
    assert again.address("a", "default") == "10.250.0.2" and again.address("b", "default") == "10.250.0.3"
    assert again.hosts() == "02:00:00:00:00:0b,10.250.0.3,vm-b,infinite\n"   # a MAC-less one has no entry yet
    again.release("a")
    assert podnet.IPAM(path, "10.250.0.0/24").allocate("new", "default") == "10.250.0.2"
    assert not os.path.exists(path + ".tmp")
    assert json.load(open(path))["cidr"] == "10.250.0.0/24"


def test_a_changed_cidr_waits_until_the_old_addresses_are_released(tmp_path):
    path = str(tmp_path / "ipam.json")
    podnet.IPAM(path, "10.250.0.0/24").allocate("a", "default")
    ipam = podnet.IPAM(path, "10.251.0.0/24")
    assert str(ipam.net) == "10.250.0.0/24" and ipam.allocate("b", "default") == "10.250.0.3"
    ipam.release("a")
    ipam.release("b")
    assert podnet.IPAM(path, "10.251.0.0/24").allocate("c", "default") == "10.251.0.2"


def test_the_nodes_pod_cidr_wins_when_it_comes_and_given_addresses_keep_their_range(tmp_path):
    """A cluster's node IPAM controller may give the Node its spec.podCIDR after the handler started: each
    heartbeat hands the Node to the pod network (NodeAgent's on_node), and the range is used from then on."""
    import asyncio
    from services.handler.node import NodeAgent
    pn = podnet.PodNetwork(str(tmp_path), "10.250.0.0/24")
    first = vmi_of([{"name": "default", "bridge": {}}], uid="a")
    assert pn.allocate(first) == {"default": "10.250.0.2"}

    class Api:   # the cluster's Node, as the kubelet registered it and the node IPAM controller then updated it
        node = proto.kv.Node()

        async def get_or_none(self, kind, ns, name):
            return self.node

        async def update(self, node):
            return node
    api = Api()
    api.node.metadata.name = "n1"
    agent = NodeAgent(api, "n1", "unix:///x", kubelet=False, on_node=pn.take_node_cidr)
    asyncio.run(agent.beat())
    assert pn.cidr == "10.250.0.0/24"   # no range on the Node yet: the flag's
    api.node.spec.podCIDR = "10.250.7.0/24"
    asyncio.run(agent.beat())
    second = vmi_of([{"name": "default", "bridge": {}}], uid="b")
    assert pn.allocate(second) == {"default": "10.250.0.3"}   # the given address keeps its range until released
    pn.release("a")
    pn.release("b")
    assert pn.allocate(second) == {"default": "10.250.7.2"}
    api.node.spec.podCIDR = "10.0.2.0/24"   # overlaps masquerade's: refused, said once
    asyncio.run(agent.beat())
    assert pn.cidr == "10.250.7.0/24"


def test_exhaustion_says_which_range_is_full(tmp_path):
    ipam = podnet.IPAM(str(tmp_path / "ipam.json"), "10.250.0.0/29")   # .1 gateway, .2-.6 guests
    got = [ipam.allocate(f"u{i}", "default") for i in range(5)]
    assert got == [f"10.250.0.{i}" for i in range(2, 7)]
    with pytest.raises(podnet.Exhausted, match=r"^failed to allocate for range 0: no IP addresses available in "
                                               r"range set: 10\.250\.0\.2-10\.250\.0\.6$"):
        ipam.allocate("u5", "default")
    ipam.release("u3")
    assert ipam.allocate("u5", "default") == "10.250.0.5"


@pytest.mark.parametrize("cidr, why", [("10.250.0.0/31", "no room for a gateway and a guest"),
                                       ("10.0.0.0/16", "overlaps masquerade's 10.0.2.0/24"),
                                       ("nonsense", "pod CIDR .nonsense.: Expected 4 octets")])
def test_bad_cidrs_are_refused_with_the_reason(cidr, why):
    with pytest.raises(ValueError, match=why):
        podnet.parse_cidr(cidr)


def test_only_bridge_bound_pod_interfaces_take_an_address():
    nets = [{"name": "default", "pod": {}}, {"name": "red", "multus": {"networkName": "red-net"}}]
    v = vmi_of([{"name": "default", "bridge": {}}, {"name": "red", "bridge": {}}], nets)
    assert [i.name for i in podnet.pod_interfaces(v)] == ["default"]
    assert [i.name for i in podnet.pod_interfaces(vmi_of([{"name": "default"}]))] == ["default"]  # KubeVirt's default
    assert podnet.pod_interfaces(vmi_of([{"name": "default", "masquerade": {}}])) == []   # slirp's own DHCP
    v = vmi_of([{"name": "default", "bridge": {}}], name="My.VM")
    assert podnet.hostname_of(v) == ""   # not a hostname: none offered
    v.spec.hostname = "web"
    assert podnet.hostname_of(v) == "web"


def test_status_reports_the_pod_address_of_the_interface():
    v = vmi_of([{"name": "default", "bridge": {}}])
    dom = L.Domain(exists=True, interfaces=[L.DomainInterface(name="default", mac="52:54:00:00:00:01",
                                                              linkState="up", target="vmtx")])
    st = interfaces_status(v, dom, {"default": "10.244.0.2"})[0]
    assert (st.ipAddress, list(st.ipAddresses), st.podInterfaceName) == ("10.244.0.2", ["10.244.0.2"], "vmtx")
    assert interfaces_status(v, dom)[0].ipAddress == ""


# ---------------------------------------------------------------- a real DHCP exchange

UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] && echo "LEASE ip=$ip mask=$mask router=$router" && echo "DNS dns=$dns search=$search"
exit 0
"""
# The node's resolv.conf as the guests' DNS comes from it (podnet.node_dns): a loopback and an IPv6
# nameserver are left out, the search line that comes last counts.
RESOLV_CONF = """# written by the test
nameserver 192.0.2.53
nameserver 127.0.0.53
nameserver 2001:db8::53
search old.test
nameserver 198.51.100.53   # a comment
search example.test corp.test
"""


def _sh(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def segment(tmp_path):
    """A bridge with one veth whose other end is in a network namespace of its own (the guest)."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "busybox", podnet.DNSMASQ)):
        if os.environ.get("CI"):
            pytest.fail("the DHCP test needs root, iproute2, busybox and dnsmasq (tools/host.sh install)")
        pytest.skip("needs root, iproute2, busybox and dnsmasq")
    tag = uuid.uuid4().hex[:6]
    bridge, host_end, ns = f"vmtdb{tag}", f"vmtdv{tag}", f"vmtdns{tag}"
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(RESOLV_CONF)
    pn = podnet.PodNetwork(str(tmp_path / "net"), "10.251.7.0/29", bridge=bridge, resolv_conf=str(resolv))
    _sh("ip", "netns", "add", ns)
    try:
        _sh("ip", "link", "add", bridge, "type", "bridge")
        _sh("ip", "link", "set", bridge, "up")
        _sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
        _sh("ip", "link", "set", host_end, "master", bridge, "up")

        def lease(mac, what="LEASE"):
            _sh("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "address", mac, "up")
            r = _sh("ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-q", "-n", "-f", "-t", "4", "-T", "1", "-O", "search",
                    "-s", str(script), check=False)
            return next((line for line in r.stdout.splitlines() if line.startswith(what)), "")
        yield pn, lease
    finally:
        pn.dhcp.stop()
        _sh("ip", "netns", "del", ns, check=False)
        for dev in (host_end, bridge):
            _sh("ip", "link", "del", dev, check=False)


def test_the_guests_dns_is_the_nodes_reachable_ipv4_resolvers_and_search_domains(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text(RESOLV_CONF)
    assert podnet.node_dns(str(path)) == (["192.0.2.53", "198.51.100.53"], ["example.test", "corp.test"])
    path.write_text("".join(f"nameserver 10.0.0.{i}\n" for i in range(1, 6)) + "domain corp.test\n")
    assert podnet.node_dns(str(path)) == (["10.0.0.1", "10.0.0.2", "10.0.0.3"], ["corp.test"])   # the kubelet's 3
    path.write_text("nameserver 127.0.0.53\noptions edns0\n")   # systemd-resolved's stub: nothing a guest reaches
    assert podnet.node_dns(str(path)) == ([], [])
    assert podnet.node_dns(str(tmp_path / "absent")) == ([], [])


def test_a_guests_dns_follows_its_dns_policy_and_config_as_a_pods_resolv_conf_does():
    node = (["192.0.2.53"], ["example.test"])
    v = vmi_of([{"name": "default", "bridge": {}}])
    none = podnet.ClusterDNS()
    cluster = podnet.ClusterDNS(("10.96.0.10",), "cluster.local")
    # ClusterFirst, the default: the cluster's DNS and its search path before the node's; without one
    # (standalone), the node's, as the kubelet falls back to Default
    assert podnet.guest_dns(v, node, cluster) == (["10.96.0.10"], ["n.svc.cluster.local", "svc.cluster.local",
                                                                   "cluster.local", "example.test"])
    assert podnet.guest_dns(v, node, none) == node
    v.spec.dnsPolicy = "Default"
    assert podnet.guest_dns(v, node, cluster) == node
    # dnsConfig adds to the policy's, without repeats, 3 nameservers at most, IPv4 only (DHCPv4)
    v.spec.dnsConfig.nameservers.extend(["192.0.2.53", "2001:db8::1", "198.51.100.1", "198.51.100.2", "198.51.100.3"])
    v.spec.dnsConfig.searches.extend(["example.test", "extra.test"])
    assert podnet.guest_dns(v, node, cluster) == (["192.0.2.53", "198.51.100.1", "198.51.100.2"],
                                                  ["example.test", "extra.test"])
    v.spec.dnsPolicy = "None"   # dnsConfig alone
    assert podnet.guest_dns(v, node, cluster) == (["192.0.2.53", "198.51.100.1", "198.51.100.2"],
                                                  ["example.test", "extra.test"])


def test_the_guest_gets_its_address_by_dhcp_and_an_unknown_mac_gets_none(segment, tmp_path):
    pn, lease = segment
    v = vmi_of([{"name": "default", "bridge": {}, "macAddress": "02:00:00:5e:00:01"}], uid="vmi-a")
    assert pn.allocate(v) == {"default": "10.251.7.2"}
    pn.serve(v, {})
    assert "inet 10.251.7.1/29" in _sh("ip", "-4", "-o", "addr", "show", "dev", pn.bridge).stdout
    assert lease("02:00:00:5e:00:01") == "LEASE ip=10.251.7.2 mask=29 router=10.251.7.1"
    # the node's resolvers and search domains, as a pod's resolv.conf has them (dnsPolicy Default)
    assert lease("02:00:00:5e:00:01", "DNS") == "DNS dns=192.0.2.53 198.51.100.53 search=example.test corp.test"
    assert lease("02:00:00:5e:00:99") == ""   # no dynamic range: only known guests
    pid = pn.dhcp.pid()

    # a restarted handler (new objects, same directory) adopts the server and the allocations; a
    # second VMI whose MAC libvirt chose (known from the domain) is served after a SIGHUP, not a restart
    pn2 = podnet.PodNetwork(pn.dir, "10.251.7.0/29", bridge=pn.bridge, resolv_conf=pn.resolv_conf)
    w = vmi_of([{"name": "default", "bridge": {}}], uid="vmi-b")
    assert pn2.allocate(w) == {"default": "10.251.7.3"}
    pn2.serve(w, {"default": "52:54:00:12:34:56"})
    assert pn2.dhcp.pid() == pid
    assert lease("52:54:00:12:34:56") == "LEASE ip=10.251.7.3 mask=29 router=10.251.7.1"
    assert pn2.addresses(v) == {"default": "10.251.7.2"}

    # the server was killed (kill -9): the next serve starts another
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if pn2.dhcp.pid() is None:
            break
        time.sleep(0.05)
    pn2.serve(v, {})
    assert pn2.dhcp.pid() not in (None, pid)
    assert lease("02:00:00:5e:00:01") == "LEASE ip=10.251.7.2 mask=29 router=10.251.7.1"

    # a guest with a DNS of its own (dnsPolicy None, spec.dnsConfig) beside the others: each gets its own
    x = vmi_of([{"name": "default", "bridge": {}, "macAddress": "02:00:00:5e:00:03"}], uid="vmi-c")
    x.spec.dnsPolicy = "None"
    x.spec.dnsConfig.nameservers.append("203.0.113.53")
    x.spec.dnsConfig.searches.append("only.test")
    assert pn2.allocate(x) == {"default": "10.251.7.4"}
    pn2.serve(x, {})
    assert lease("02:00:00:5e:00:03", "DNS") == "DNS dns=203.0.113.53 search=only.test"
    assert lease("02:00:00:5e:00:01", "DNS") == "DNS dns=192.0.2.53 198.51.100.53 search=example.test corp.test"
    # ... and one more with the usual DNS comes after it: a SIGHUP with a tagged guest configured
    pid = pn2.dhcp.pid()
    y = vmi_of([{"name": "default", "bridge": {}, "macAddress": "02:00:00:5e:00:04"}], uid="vmi-d")
    assert pn2.allocate(y) == {"default": "10.251.7.5"}
    pn2.serve(y, {})
    assert pn2.dhcp.pid() == pid
    assert lease("02:00:00:5e:00:04", "DNS") == "DNS dns=192.0.2.53 198.51.100.53 search=example.test corp.test"
    assert lease("02:00:00:5e:00:03", "DNS") == "DNS dns=203.0.113.53 search=only.test"
    pn2.release("vmi-c")
    pn2.release("vmi-d")

    # released: the entry goes; the last release stops the server
    pn2.release("vmi-a")
    assert lease("02:00:00:5e:00:01") == ""
    last = pn2.dhcp.pid()
    pn2.release("vmi-b")
    assert pn2.dhcp.pid() is None and not os.path.exists(f"/proc/{last}")
    assert "10.251.7.1/29" not in _sh("ip", "-4", "-o", "addr", "show", "dev", pn.bridge).stdout   # nor the gateway
