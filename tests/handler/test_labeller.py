"""node-labeller over captured libvirt XML (tests/data/caps): an x86_64 host (captured here, QEMU 7.2
with qemu-system-aarch64 installed) and an aarch64 KVM host (a realistic capture), plus the
NodeAgent applying the result: owned prefixes recomputed, stale labels gone, skip-node honoured."""
from __future__ import annotations

import asyncio
import json
import os

import pytest

from services.common import machines, proto
from services.handler import hostcaps, labeller
from services.handler.node import NodeAgent

CAPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "caps")


def load(host: str, with_features: bool = True) -> hostcaps.HostCaps:
    def read(name):
        path = os.path.join(CAPS, host, name)
        return open(path).read() if os.path.exists(path) else ""
    return hostcaps.HostCaps(capabilities=read("capabilities.xml"), domcapabilities=read("domcapabilities.xml"),
                             supported_features=read("supported_features.xml") if with_features else "")


def test_x86_64_host_machine_type_labels():
    r = labeller.compute(load("x86_64"))
    assert r.arch == "amd64"
    for m in ("q35", "pc-q35-7.2", "pc-q35-2.4",         # x86_64 guest
              "virt", "virt-7.2", "virt-2.6"):           # aarch64 guest (emulated)
        assert r.labels["machine-type.node.kubevirt.io/" + m] == "true", m
    # Only what a VMI may name: no i440fx, isapc or microvm, none of QEMU's 32-bit ARM boards, nothing of
    # guest arches no VM here runs (i686, armv6l, armv7l).
    for m in ("pc", "pc-i440fx-7.2", "isapc", "microvm", "raspi2b", "vexpress-a15", "xlnx-zcu102", "sbsa-ref",
              "none"):
        assert "machine-type.node.kubevirt.io/" + m not in r.labels, m
    assert len([k for k in r.labels if k.startswith(machines.MACHINE_TYPE_LABEL)]) == 47   # QEMU 7.2: was 169
    assert all(v == "true" for k, v in r.labels.items() if k.startswith(machines.MACHINE_TYPE_LABEL))


def test_x86_64_host_cpu_labels():
    r = labeller.compute(load("x86_64"))
    L = r.labels
    assert L["cpu-vendor.node.kubevirt.io/AMD"] == "true"
    assert L["host-model-cpu.node.kubevirt.io/EPYC"] == "true"
    assert L["cpu-model-migration.node.kubevirt.io/EPYC"] == "true"
    assert L["host-model-required-features.node.kubevirt.io/hypervisor"] == "true"
    assert L["cpu-model.node.kubevirt.io/Penryn"] == "true"                  # usable='yes'
    assert L["cpu-model-migration.node.kubevirt.io/Penryn"] == "true"
    assert "cpu-model.node.kubevirt.io/Skylake-Server" not in L               # usable='no'
    assert "cpu-model.node.kubevirt.io/qemu64" not in L                      # obsolete
    assert "cpu-model.node.kubevirt.io/pentium3" not in L
    assert L["cpu-feature.node.kubevirt.io/sse4.2"] == "true"                # baseline policy=require
    assert "cpu-feature.node.kubevirt.io/rdseed" not in L                    # policy=disable
    assert L["cpu-timer.node.kubevirt.io/tsc-frequency"] == "2445430000"
    assert L["cpu-timer.node.kubevirt.io/tsc-scalable"] == "false"
    assert "node-labeller.kubevirt.io/obsolete-host-model" not in L


def test_obsolete_host_model():
    r = labeller.compute(load("x86_64"), obsolete=labeller.DEFAULT_OBSOLETE_CPU_MODELS | {"EPYC"})
    assert r.labels["node-labeller.kubevirt.io/obsolete-host-model"] == "true"
    assert "cpu-model-migration.node.kubevirt.io/EPYC" not in r.labels


def test_aarch64_host_only_arch_neutral_labels():
    r = labeller.compute(load("aarch64"))
    assert r.arch == "arm64"
    assert r.labels["machine-type.node.kubevirt.io/virt"] == "true"
    assert r.labels["machine-type.node.kubevirt.io/virt-7.2"] == "true"
    assert "machine-type.node.kubevirt.io/q35" not in r.labels
    for prefix in ("cpu-model.", "cpu-model-migration.", "cpu-feature.", "cpu-vendor.", "host-model-cpu.",
                   "host-model-required-features."):
        assert not any(k.startswith(prefix) for k in r.labels), prefix
    assert r.machine_max_vcpus["virt"] == 512


def test_machine_max_vcpus_from_caps_and_domcaps():
    r = labeller.compute(load("x86_64"))
    assert r.machine_max_vcpus["q35"] == 288 and r.machine_max_vcpus["pc-q35-7.2"] == 288   # QEMU 7.2
    assert r.machine_max_vcpus["pc-q35-2.4"] == 255 and "pc" not in r.machine_max_vcpus
    assert r.machine_max_vcpus["virt"] == 512


def test_host_model_cpu_for_baseline():
    cpu = hostcaps.host_model_cpu(load("x86_64").domcapabilities)
    assert cpu.startswith('<cpu mode="custom" match="exact"><model fallback="forbid">EPYC</model>')
    assert hostcaps.host_model_cpu(load("aarch64").domcapabilities) == ""  # no host-model on arm64


def test_test_driver_caps():
    r = labeller.compute(hostcaps.read("test:///default"))
    assert r.labels["machine-type.node.kubevirt.io/q35"] == "true"
    assert r.labels["machine-type.node.kubevirt.io/virt"] == "true"


def _node(labels=None, annotations=None):
    n = proto.kv.Node()
    n.metadata.name = "n1"
    n.metadata.labels.update(labels or {})
    n.metadata.annotations.update(annotations or {})
    return n


def test_apply_recomputes_owned_prefixes():
    r = labeller.compute(load("aarch64"))
    n = _node({"machine-type.node.kubevirt.io/q35": "true", "cpu-model.node.kubevirt.io/Old": "true",
               "kubevirt.io/sev": "", "team": "a"})
    assert labeller.apply(n, r)
    assert "machine-type.node.kubevirt.io/q35" not in n.metadata.labels      # stale: removed
    assert "cpu-model.node.kubevirt.io/Old" not in n.metadata.labels
    assert "kubevirt.io/sev" not in n.metadata.labels
    assert n.metadata.labels["team"] == "a"                                  # not ours: kept
    assert n.metadata.labels["machine-type.node.kubevirt.io/virt"] == "true"
    assert json.loads(n.metadata.annotations[machines.MACHINE_MAX_VCPUS_ANNOTATION])["virt"] == 512


def test_apply_skip_node():
    r = labeller.compute(load("aarch64"))
    n = _node({"machine-type.node.kubevirt.io/q35": "true"}, {"node-labeller.kubevirt.io/skip-node": ""})
    assert not labeller.apply(n, r)
    assert dict(n.metadata.labels) == {"machine-type.node.kubevirt.io/q35": "true"}


class FakeApi:
    def __init__(self):
        self.node = None

    async def get_or_none(self, kind, ns, name):
        return self.node

    async def create(self, node):
        self.node = node
        return node

    async def update(self, node):
        self.node = node
        return node

    async def update_status(self, node):
        return node


def test_node_agent_publishes_labels(monkeypatch):
    monkeypatch.setattr(hostcaps, "read", lambda uri: load("x86_64"))
    api = FakeApi()
    agent = NodeAgent(api, "n1", "unix:///x", libvirt_uri="qemu:///system")
    asyncio.run(agent.beat())
    labels = api.node.metadata.labels
    assert labels["machine-type.node.kubevirt.io/q35"] == "true"
    assert labels["kubevirt.io/schedulable"] == "true" and labels["kubernetes.io/arch"]
    # a stale owned label an old run (or an admin) left is removed on the next beat...
    api.node.metadata.labels["machine-type.node.kubevirt.io/gone"] = "true"
    asyncio.run(agent.beat())
    assert "machine-type.node.kubevirt.io/gone" not in api.node.metadata.labels
    # ...unless the node opts out
    api.node.metadata.annotations["node-labeller.kubevirt.io/skip-node"] = ""
    api.node.metadata.labels["machine-type.node.kubevirt.io/gone"] = "true"
    asyncio.run(agent.beat())
    assert api.node.metadata.labels["machine-type.node.kubevirt.io/gone"] == "true"


def test_node_agent_survives_unreadable_caps(monkeypatch):
    def fail(uri):
        raise hostcaps.CapsError("libvirtd is down")
    monkeypatch.setattr(hostcaps, "read", fail)
    api = FakeApi()
    asyncio.run(NodeAgent(api, "n1", "unix:///x", libvirt_uri="qemu:///system").beat())
    assert api.node.metadata.labels["kubevirt.io/schedulable"] == "true"
    assert not any(k.startswith("machine-type.") for k in api.node.metadata.labels)


@pytest.mark.skipif(not os.path.exists("/var/run/libvirt/libvirt-sock"), reason="no libvirtd")
def test_read_real_host():
    try:
        caps = hostcaps.read("qemu:///system")
    except hostcaps.CapsError as e:
        pytest.skip(str(e))
    r = labeller.compute(caps)
    assert "machine-type.node.kubevirt.io/" + ("q35" if r.arch == "amd64" else "virt") in r.labels
