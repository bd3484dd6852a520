"""Issue 4 admission (KubeVirt v1.6): emulated machines, arm64 rules, CPU hotplug defaults and bounds."""
from __future__ import annotations

import json

import pytest

from services.api import defaults, validation
from services.api.errors import Invalid
from services.common import manifest, proto


def spec_of(doc_spec: dict, arch="amd64"):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"architecture": arch, "domain": {"memory": {"guest": "64Mi"}, **doc_spec}}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance).spec


def error(spec, limits=None) -> str:
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(spec, "spec", limits)
    return str(e.value)


# ---------------------------------------------------------------- machine types (#14437)

@pytest.mark.parametrize("arch, machine, ok", [
    ("amd64", "q35", True), ("amd64", "pc-q35-7.2", True), ("amd64", "q35-rhel9.6.0", True),
    ("amd64", "pc-i440fx-7.2", False), ("amd64", "pc", False), ("amd64", "virt", False),
    ("arm64", "virt", True), ("arm64", "virt-7.2", True), ("arm64", "q35", False),
])
def test_emulated_machines(arch, machine, ok):
    s = spec_of({"machine": {"type": machine}}, arch)
    if ok:
        validation.vmi_spec(s, "spec")
        return
    allowed = {"amd64": "[q35* pc-q35*]", "arm64": "[virt*]"}[arch]
    assert error(s) == (f"spec.domain.machine.type: spec.domain.machine.type is not supported: {machine} "
                        f"(allowed values: {allowed})")


# ---------------------------------------------------------------- arm64 (#14562 and friends)

def test_arm64_named_cpu_models_rejected():
    for model in ("cortex-a57", "host-model", "Neoverse-N1"):
        assert error(spec_of({"cpu": {"model": model}}, "arm64")) == (
            "spec.domain.cpu.model: currently, host-passthrough is the only model supported on Arm64")
    validation.vmi_spec(spec_of({"cpu": {"model": "host-passthrough"}}, "arm64"), "spec")
    validation.vmi_spec(spec_of({"cpu": {"model": "Skylake-Client"}}, "amd64"), "spec")


def test_arm64_boot_and_bus_rules():
    assert error(spec_of({"firmware": {"bootloader": {"bios": {}}}}, "arm64")) == (
        "spec.domain.firmware.bootloader.bios: Arm64 does not support bios boot, please change to uefi boot")
    assert error(spec_of({"firmware": {"bootloader": {"efi": {}}}}, "arm64")) == (
        "spec.domain.firmware.bootloader.efi.secureboot: UEFI secure boot is currently not supported on aarch64 Arch")
    s = spec_of({"devices": {"disks": [{"name": "d", "disk": {"bus": "sata"}}]}}, "arm64")
    s.volumes.add(name="d").emptyDisk.capacity = "1Gi"
    assert error(s) == ("spec.domain.devices.disks[0].disk.bus: Arm64 not support this disk bus type, "
                        "please use virtio or scsi")


def test_arm64_defaults():
    s = spec_of({}, "arm64")
    defaults.vmi_spec(s)
    assert s.domain.machine.type == "virt"
    assert s.domain.cpu.model == "host-passthrough"
    assert s.domain.firmware.bootloader.HasField("efi") and not s.domain.firmware.bootloader.efi.secureBoot
    validation.vmi_spec(s, "spec")
    kb = spec_of({"firmware": {"kernelBoot": {"container": {"image": "/g", "kernelPath": "/k"}}}}, "arm64")
    defaults.vmi_spec(kb)
    assert not kb.domain.firmware.HasField("bootloader")  # direct kernel boot: no EFI forced


# ---------------------------------------------------------------- vCPUs (#14338)

@pytest.mark.parametrize("topology, limit, expected", [
    ((1, 1, 1), 0, 4),           # 4x sockets
    ((2, 2, 1), 0, 8),
    ((32, 2, 3), 0, 85),         # KubeVirt's unit test: 32*4*6 = 768 > 512 -> 512/6 = 85
    ((200, 2, 2), 0, 200),       # never below sockets
    ((100, 1, 1), 288, 288),     # beyond KubeVirt: the machine type's limit (q35 here: 288)
    ((32, 2, 3), 288, 48),       # 288/6
    ((60, 2, 3), 288, 60),       # still never below sockets (validation rejects 360 > 288)
])
def test_max_sockets_defaulting(topology, limit, expected):
    s = spec_of({"cpu": dict(zip(("sockets", "cores", "threads"), topology))})
    defaults.vmi_spec(s, (lambda m: limit) if limit else None)
    assert s.domain.cpu.maxSockets == expected


def test_explicit_max_sockets_kept():
    s = spec_of({"cpu": {"sockets": 2, "maxSockets": 1000}})
    defaults.vmi_spec(s, lambda m: 288)
    assert s.domain.cpu.maxSockets == 1000


def test_sockets_from_cpu_resources():
    s = spec_of({"resources": {"requests": {"cpu": "2500m", "memory": "64Mi"}}})
    defaults.vmi_spec(s)
    assert (s.domain.cpu.sockets, s.domain.cpu.cores, s.domain.cpu.threads) == (3, 1, 1)


def test_sockets_above_max_sockets():
    assert error(spec_of({"cpu": {"sockets": 4, "maxSockets": 2}})) == (
        "spec.domain.cpu.sockets: Number of sockets in CPU topology is greater than the maximum sockets allowed")


def test_vcpus_above_the_machine_limit():
    limits = {"q35": 288}.get
    limits_fn = lambda m: limits(m, 0)  # noqa: E731
    msg = error(spec_of({"machine": {"type": "q35"}, "cpu": {"sockets": 300}}), limits_fn)
    assert msg.startswith("spec.domain.cpu: Invalid value: 300 vCPUs (sockets 300 x cores 1 x threads 1): "
                          "machine type q35 supports at most 288 vCPUs")
    msg = error(spec_of({"machine": {"type": "q35"}, "cpu": {"sockets": 2, "maxSockets": 200, "cores": 2}}),
                limits_fn)
    assert msg.startswith("spec.domain.cpu.maxSockets: Invalid value: 200: CPU hotplug up to 400 vCPUs")
    validation.vmi_spec(spec_of({"machine": {"type": "q35"}, "cpu": {"sockets": 288}}), "spec", limits_fn)
    # no node says anything about the type: nothing to judge by
    validation.vmi_spec(spec_of({"machine": {"type": "q35"}, "cpu": {"sockets": 300}}), "spec", lambda m: 0)


async def test_create_uses_the_nodes_limits(api_server):
    n = proto.kv.Node()
    n.metadata.name = "n1"
    n.metadata.labels["machine-type.node.kubevirt.io/q35"] = "true"
    n.metadata.annotations["virtmesh.io/machine-max-vcpus"] = json.dumps({"q35": 288})
    await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(n)))
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "v"
    vmi.spec.domain.memory.guest = "64Mi"
    vmi.spec.domain.cpu.sockets = 100
    out = (await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    assert out.spec.domain.cpu.maxSockets == 288
