"""The node's pod network for bridge-bound interfaces: addresses (IPAM) and DHCP.

In KubeVirt a bridge-bound interface on the pod network takes the pod's IP: the CNI gives the pod an
address from the node's pod CIDR, virt-launcher hands it to the guest with a single-client DHCP server in
the pod's network namespace (infinite lease, the pod's gateway), and the VMI's status reports it. Here
the node bridge `virtmesh0` is the pod network of every VMI on the node, so the node plays the CNI:
- the node has a pod CIDR (`--pod-cidr`, default DEFAULT_CIDR; on a cluster the Node's spec.podCIDR when
  set); its first address is the gateway, put on virtmesh0, so the node (the launcher's port-forward
  dial) reaches the guests;
- IPAM: each bridge-bound interface on the pod network gets the lowest free address, kept in a JSON file
  under the data dir that is replaced atomically, so a restarted handler, even after kill -9, keeps every
  allocation; they go when the VMI's launcher is deleted;
- DHCP: Debian's dnsmasq on virtmesh0 with one static host entry (MAC -> address, infinite lease) per
  interface and no dynamic range, so only the node's own guests get an address; nameservers and search
  domains go with it as the kubelet makes a pod's resolv.conf from its dnsPolicy and dnsConfig
  (guest_dns). Chosen over a per-VM server in the launcher because launchers share the node's network
  namespace and all taps share one bridge: a per-VM server would have to pick its client's frames out of
  a shared segment, which is what dnsmasq's host entries do, with the DHCP implementation libvirt itself
  runs for its networks. It is not authoritative and answers only its hosts, so several nodes (handlers)
  on one host coexist on the bridge. The server outlives a handler (as the launchers do); it and the
  gateway go with the last allocation.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass

from services.common import links, network
from services.handler import netplumbing

log = logging.getLogger(__name__)
DEFAULT_CIDR = "10.244.0.0/24"   # the first node's /24 of the usual cluster CIDR 10.244.0.0/16: clear of
                                 # slirp's 10.0.2.0/24, libvirt's 192.168.122.0/24 and docker's 172.17.0.0/16
DNSMASQ = "dnsmasq"
RESOLV_CONF = "/etc/resolv.conf"   # the kubelet's --resolv-conf default
MAX_NAMESERVERS = 3                # the kubelet's limit (glibc's resolver reads no more)
MAX_SEARCHES = 32                  # Kubernetes' MaxDNSSearchPaths
SANDBOX_FAILED = "FailedCreatePodSandBox"   # the kubelet's reason when the CNI cannot set a pod up
_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Exhausted(Exception):
    """No free address: the CNI host-local plugin's text, which the kubelet shows on the pod."""


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError as e:
        raise ValueError(f"pod CIDR {text!r}: {e}") from None
    if net.prefixlen > 30:
        raise ValueError(f"pod CIDR {text!r}: a /{net.prefixlen} has no room for a gateway and a guest (/30 at most)")
    if net.overlaps(ipaddress.IPv4Network(network.MASQUERADE_CIDR)):
        raise ValueError(f"pod CIDR {text!r} overlaps masquerade's {network.MASQUERADE_CIDR}")
    return net


def node_dns(path: str = RESOLV_CONF) -> tuple[list[str], list[str]]:
    """The guests' DNS, as a pod with dnsPolicy Default gets it from the kubelet: the nameservers and search
    domains of the node's resolv.conf. Only IPv4 nameservers a guest can reach go (DHCPv4 carries no other;
    a loopback one, systemd-resolved's 127.0.0.53, is the node's own), three at most. No file: none."""
    servers: list[str] = []
    search: list[str] = []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return [], []
    for line in lines:
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                addr = ipaddress.ip_address(words[1])
            except ValueError:
                continue
            if addr.version == 4 and not addr.is_loopback and words[1] not in servers:
                servers.append(words[1])
        elif words[:1] in (["search"], ["domain"]):
            search = words[1:]   # the last one wins, as in the resolver
    return servers[:MAX_NAMESERVERS], search


@dataclass(frozen=True)
class ClusterDNS:
    """The kubelet's --cluster-dns and --cluster-domain: what dnsPolicy ClusterFirst (the default) gives a
    pod. No servers (standalone, or a node not told): ClusterFirst falls back to Default, as the kubelet's."""
    servers: tuple[str, ...] = ()
    domain: str = "cluster.local"


def guest_dns(vmi, node: tuple[list[str], list[str]], cluster: ClusterDNS) -> tuple[list[str], list[str]]:
    """The nameservers and search domains a VMI's guest gets, as the kubelet makes its pod's resolv.conf from
    spec.dnsPolicy and spec.dnsConfig: ClusterFirst the cluster DNS with `<ns>.svc.<domain> svc.<domain>
    <domain>` before the node's search; Default the node's (`node`, from node_dns); None only dnsConfig's;
    dnsConfig's nameservers and searches added after, without repeats (3 nameservers at most, 32 searches).
    IPv4 nameservers only: DHCPv4 carries no others."""
    policy = vmi.spec.dnsPolicy or "ClusterFirst"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and cluster.servers:
        d = cluster.domain
        servers = list(cluster.servers)
        search = [f"{vmi.metadata.namespace}.svc.{d}", f"svc.{d}", d, *node[1]]
    elif policy == "None":
        servers, search = [], []
    else:
        servers, search = list(node[0]), list(node[1])
    servers += vmi.spec.dnsConfig.nameservers
    search += vmi.spec.dnsConfig.searches
    servers = [a for a in dict.fromkeys(servers) if _ipv4(a)]
    return servers[:MAX_NAMESERVERS], list(dict.fromkeys(search))[:MAX_SEARCHES]


def _ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def pod_interfaces(vmi) -> list:
    """The interfaces that take the pod's address: bridge binding on the default (pod) network."""
    nets = {n.name: n for n in vmi.spec.networks}
    return [i for i in vmi.spec.domain.devices.interfaces
            if i.state != "absent" and network.binding(i) == "bridge" and i.name in nets
            and network.is_default_network(nets[i.name]) and network.node_bridge(nets[i.name]) == network.POD_BRIDGE]


def hostname_of(vmi) -> str:
    """What KubeVirt's DHCP offers as the hostname: the pod's, i.e. spec.hostname or the VMI's name."""
    name = (vmi.spec.hostname or vmi.metadata.name).lower()
    return name if _HOSTNAME.match(name) else ""


class IPAM:
    """Addresses of one pod CIDR, one per (VMI uid, interface). The file is the truth: every change
    is written (temp file, fsync, rename) before it is used."""

    def __init__(self, path: str, cidr: str):
        self.path = path
        self.lock = threading.Lock()
        self.net = parse_cidr(cidr)
        self.allocations: dict[str, dict] = {}
        try:
            with open(path) as f:
                stored = json.load(f)
        except FileNotFoundError:
            stored = {}
        if stored.get("allocations"):
            if stored.get("cidr") != str(self.net):   # running guests keep their addresses
                log.warning("pod network: %d address(es) of %s are still allocated: keeping %s instead of %s "
                            "until they are released", len(stored["allocations"]), stored["cidr"], stored["cidr"],
                            self.net)
                self.net = ipaddress.IPv4Network(stored["cidr"])
            self.allocations = stored["allocations"]

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.net.network_address + 1

    @property
    def first(self) -> ipaddress.IPv4Address:
        return self.gateway + 1

    @property
    def last(self) -> ipaddress.IPv4Address:
        return self.net.broadcast_address - 1

    def _save(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"cidr": str(self.net), "allocations": self.allocations}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def address(self, uid: str, iface: str) -> str:
        a = self.allocations.get(f"{uid}/{iface}")
        return a["ip"] if a else ""

    def allocate(self, uid: str, iface: str) -> str:
        with self.lock:
            key = f"{uid}/{iface}"
            if key in self.allocations:
                return self.allocations[key]["ip"]
            taken = {a["ip"] for a in self.allocations.values()}
            ip = next((str(a) for a in self._candidates() if str(a) not in taken), None)
            if ip is None:
                raise Exhausted(f"failed to allocate for range 0: no IP addresses available in range set: "
                                f"{self.first}-{self.last}")
            self.allocations[key] = {"ip": ip, "mac": "", "hostname": ""}
            self._save()
            return ip

    def _candidates(self):
        a = self.first
        while a <= self.last:
            yield a
            a += 1

    def describe(self, uid: str, iface: str, mac: str, hostname: str,
                 dns: tuple[list[str], list[str]] = ([], [])) -> bool:
        """Record what the DHCP host entry needs: the MAC, hostname and the guest's DNS (nameservers, search
        domains); True if that changed anything."""
        with self.lock:
            a = self.allocations.get(f"{uid}/{iface}")
            want = {"mac": mac.lower(), "hostname": hostname, "dns": [list(dns[0]), list(dns[1])]}
            if a is None or all(a.get(k) == v for k, v in want.items()):
                return False
            a.update(want)
            self._save()
            return True

    def uids(self) -> set[str]:
        with self.lock:
            return {k.split("/", 1)[0] for k in self.allocations}

    def release(self, uid: str) -> bool:
        with self.lock:
            keys = [k for k in self.allocations if k.split("/", 1)[0] == uid]
            for k in keys:
                del self.allocations[k]
            if keys:
                self._save()
            return bool(keys)

    def hosts(self, usual: tuple[list[str], list[str]] = ([], [])) -> str:
        """dnsmasq's dhcp-hostsfile: MAC,address[,hostname],infinite per interface with a known MAC whose
        guest has the node's usual DNS (`usual`, the server's untagged options)."""
        return "".join(line + "\n" for line in self._entries(usual, own=False))

    def own_dns(self, usual: tuple[list[str], list[str]] = ([], [])) -> list[str]:
        """dnsmasq configuration lines for the guests whose DNS is not `usual` (a dnsConfig, a cluster
        DNS's namespace search path): each host entry sets a tag naming its options. They are not in the
        hosts file: dnsmasq 2.90 dies on a SIGHUP that re-reads host entries which set tags."""
        lines: dict[str, None] = {}   # ordered, without repeats
        for entry in self._entries(usual, own=True):
            lines[f"dhcp-host={entry}"] = None
        for a in self.allocations.values():
            servers, search = _dns_of(a)
            if a["mac"] and (servers, search) != _as_lists(usual):
                tag = _dns_tag(a)
                if servers:
                    lines[f"dhcp-option=tag:{tag},option:dns-server,{','.join(servers)}"] = None
                if search:
                    lines[f"dhcp-option=tag:{tag},option:domain-search,{','.join(search)}"] = None
        return list(lines)

    def _entries(self, usual, own: bool) -> list[str]:
        out = []
        for _key, a in sorted(self.allocations.items(), key=lambda kv: ipaddress.IPv4Address(kv[1]["ip"])):
            if not a["mac"] or ("dns" in a and _dns_of(a) != _as_lists(usual)) != own:
                continue
            tag = f"set:{_dns_tag(a)}" if own else ""
            out.append(",".join(p for p in (a["mac"], tag, a["ip"], a["hostname"], "infinite") if p))
        return out


def _as_lists(dns: tuple[list[str], list[str]]) -> tuple[list[str], list[str]]:
    return list(dns[0]), list(dns[1])


def _dns_of(allocation: dict) -> tuple[list[str], list[str]]:
    dns = allocation.get("dns") or [[], []]
    return list(dns[0]), list(dns[1])


def _dns_tag(allocation: dict) -> str:
    """One tag per distinct DNS configuration (dnsmasq tags are names: a digest of it)."""
    return "dns" + hashlib.sha256(json.dumps(_dns_of(allocation)).encode()).hexdigest()[:12]


class Dnsmasq:
    """The node's DHCP server: one dnsmasq per node, found again after a handler restart by its pid
    file (and its command line naming our config file)."""

    def __init__(self, directory: str, bridge: str = network.POD_BRIDGE):
        self.dir, self.bridge = directory, bridge
        self.conf = os.path.join(directory, "dnsmasq.conf")
        self.hostsfile = os.path.join(directory, "dhcp-hosts")
        self.pidfile = os.path.join(directory, network.DHCP_PID_FILE)
        self.logfile = os.path.join(directory, "dnsmasq.log")

    def config(self, net: ipaddress.IPv4Network, usual: tuple[list[str], list[str]] = ([], []),
               own: list[str] | None = None) -> str:
        """`usual`: the DNS most guests get (untagged options); `own`: the lines of those with their own."""
        gw = net.network_address + 1
        servers, search = usual
        dns = [f"dhcp-option=option:dns-server,{','.join(servers)}"] if servers else []
        if search:
            dns.append(f"dhcp-option=option:domain-search,{','.join(search)}")
        return "\n".join([
            "# the node's pod network DHCP (services/handler/podnet.py); regenerated by the handler",
            "port=0",                        # no DNS: DHCP only
            f"interface={self.bridge}",
            "bind-interfaces",               # its own socket on the bridge: other nodes' servers may share it
            "except-interface=lo",
            f"dhcp-range={net.network_address},static,{net.netmask},infinite",   # host entries only
            f"dhcp-option=option:router,{gw}",
            *dns,                            # what most guests get: the node's resolvers (node_dns)
            f"dhcp-hostsfile={self.hostsfile}",
            *(own or []),                    # the guests with a DNS of their own, tagged
            "leasefile-ro",                  # the host entries are the leases
            f"pid-file={self.pidfile}",
            f"log-facility={self.logfile}",
            "log-dhcp",
            "user=root", "group=root",       # it re-reads the hosts file (root's data dir) on SIGHUP
            "",
        ])

    def pid(self) -> int | None:
        """The running server's pid, if it is ours (its command line names our config)."""
        try:
            pid = int(open(self.pidfile).read().strip())
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if f"--conf-file={self.conf}".encode() in cmdline else None

    def ensure(self, net: ipaddress.IPv4Network, hosts: str, usual: tuple[list[str], list[str]] = ([], []),
               own: list[str] | None = None) -> None:
        """The server runs with this config (`usual` and `own`: see config) and these host entries (SIGHUP
        when only they changed; a restart when the config did, e.g. a guest with a DNS of its own came)."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        conf = self.config(net, usual, own)
        try:
            same_conf = open(self.conf).read() == conf
        except OSError:
            same_conf = False
        try:
            same_hosts = open(self.hostsfile).read() == hosts
        except OSError:
            same_hosts = False
        if not same_hosts:
            _write(self.hostsfile, hosts)
        pid = self.pid()
        if pid is not None and same_conf:
            if not same_hosts:
                os.kill(pid, signal.SIGHUP)   # re-reads dhcp-hostsfile
            return
        if pid is not None:
            self.stop()
        _write(self.conf, conf)
        r = subprocess.run([DNSMASQ, f"--conf-file={self.conf}"], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, start_new_session=True)   # forks into the background
        if r.returncode != 0:
            raise links.LinkError(f"dnsmasq: {(r.stderr or r.stdout).strip() or r.returncode}")
        log.info("pod network DHCP: dnsmasq %s on %s for %s", self.pid(), self.bridge, net)

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not os.path.exists(f"/proc/{pid}"):
                break
            threading.Event().wait(0.05)
        log.info("pod network DHCP: dnsmasq %d stopped", pid)


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class PodNetwork:
    """IPAM + DHCP of one node. `cidr` may be set late (a cluster's Node spec.podCIDR): nothing is
    allocated before the first bridge-bound pod interface."""

    def __init__(self, directory: str, cidr: str = DEFAULT_CIDR, bridge: str = network.POD_BRIDGE,
                 resolv_conf: str = RESOLV_CONF, cluster_dns: ClusterDNS = ClusterDNS()):
        self.dir, self.cidr, self.bridge = directory, cidr, bridge
        self.resolv_conf, self.cluster_dns = resolv_conf, cluster_dns
        self._ipam: IPAM | None = None
        self._refused_cidr = ""
        self.dhcp = Dnsmasq(directory, bridge)
        self.lock = threading.Lock()

    @property
    def ipam(self) -> IPAM:
        ipam = self._ipam
        if ipam is None or (str(ipam.net) != str(parse_cidr(self.cidr)) and not ipam.allocations):
            ipam = self._ipam = IPAM(os.path.join(self.dir, "ipam.json"), self.cidr)
        return ipam

    def take_node_cidr(self, node) -> None:
        """A cluster's Node spec.podCIDR, from the node IPAM controller, wins over the flag, also when it
        comes after the handler started (every heartbeat looks): addresses given out already keep their
        range until they are all released (IPAM)."""
        cidr = node.spec.podCIDR
        if not cidr or cidr in (self.cidr, self._refused_cidr):
            return
        try:
            parse_cidr(cidr)
        except ValueError as e:
            self._refused_cidr = cidr   # said once, not every heartbeat
            log.warning("node %s: spec.podCIDR: %s; using %s", node.metadata.name, e, self.cidr)
            return
        log.info("node %s: pod network %s (the Node's spec.podCIDR)", node.metadata.name, cidr)
        self.cidr = cidr

    def addresses(self, vmi) -> dict[str, str]:
        """interface name -> its address, for the VMI's status."""
        return {i.name: ip for i in pod_interfaces(vmi) if (ip := self.ipam.address(vmi.metadata.uid, i.name))}

    def allocate(self, vmi) -> dict[str, str]:
        """An address for each bridge-bound pod interface (Exhausted when none is left)."""
        return {i.name: self.ipam.allocate(vmi.metadata.uid, i.name) for i in pod_interfaces(vmi)}

    def serve(self, vmi, macs: dict[str, str]) -> None:
        """The gateway on the bridge and a DHCP host entry for each allocated interface whose MAC is
        known (the spec's macAddress, else what libvirt chose: `macs`, from the domain)."""
        ipam, changed = self.ipam, False
        usual = node_dns(self.resolv_conf)
        dns = guest_dns(vmi, usual, self.cluster_dns)
        for i in pod_interfaces(vmi):
            mac = i.macAddress.replace("-", ":") or macs.get(i.name, "")
            if mac and ipam.address(vmi.metadata.uid, i.name):
                changed |= ipam.describe(vmi.metadata.uid, i.name, mac, hostname_of(vmi), dns)
        if not ipam.allocations:
            return
        with self.lock:
            netplumbing.ensure_bridge_address(self.bridge, f"{ipam.gateway}/{ipam.net.prefixlen}")
            self.dhcp.ensure(ipam.net, ipam.hosts(usual), usual, ipam.own_dns(usual))

    def release(self, uid: str) -> None:
        ipam = self.ipam
        if not ipam.release(uid):
            return
        with self.lock:
            if ipam.allocations:
                usual = node_dns(self.resolv_conf)
                self.dhcp.ensure(ipam.net, ipam.hosts(usual), usual, ipam.own_dns(usual))
            else:   # no guest left to serve
                self.dhcp.stop()
                netplumbing.remove_bridge_address(self.bridge, f"{ipam.gateway}/{ipam.net.prefixlen}")
