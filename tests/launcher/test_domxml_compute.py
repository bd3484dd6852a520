"""Issue 4 converter contracts (KubeVirt v1.6): 64-bit PCI hole, TPM, CPU hotplug layout, arm64 CPU."""
from __future__ import annotations

import pytest

from services.common import manifest, proto
from launcher.test_domxml_rules import vmi, xml_of


def annotated(arch: str, value):
    v = vmi(arch)
    if value is not None:
        v.metadata.annotations["kubevirt.io/disablePCIHole64"] = value
    return v


# KubeVirt's DescribeTable "PCIHole64 on pcie-root Controller should": only amd64 + "true" adds it.
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
@pytest.mark.parametrize("value", ["true", "TRUE", "True", None, "something", "false"])
def test_pcihole64(arch, value):
    root = xml_of(annotated(arch, value))
    holes = root.findall("devices/controller[@type='pci']/pcihole64")
    expect = arch == "amd64" and value is not None and value.lower() == "true"
    if not expect:
        assert holes == []
        return
    assert len(holes) == 1
    (ctrl,) = [c for c in root.findall("devices/controller[@type='pci']") if c.find("pcihole64") is not None]
    assert ctrl.attrib == {"type": "pci", "index": "0", "model": "pcie-root"}
    assert holes[0].attrib == {"unit": "KiB"} and holes[0].text == "0"


@pytest.mark.parametrize("tpm, expect", [
    ({}, ("tpm-tis", None)),                                   # empty device: enabled, not persistent
    ({"enabled": True}, ("tpm-tis", None)),                    # explicitly enabled
    ({"persistent": True}, ("tpm-crb", "yes")),                # persistent=true
    (None, None),                                              # nil in VMI
    ({"enabled": False}, None),                                # explicitly disabled
    ({"enabled": False, "persistent": True}, None),            # disabled wins over persistent
])
def test_tpm(tpm, expect):
    v = vmi(devices={"tpm": tpm} if tpm is not None else {})
    tpms = xml_of(v).findall("devices/tpm")
    if expect is None:
        assert tpms == []
        return
    (t,) = tpms
    backend = t.find("backend")
    assert t.get("model") == expect[0]
    assert backend.attrib.get("type") == "emulator" and backend.get("version") == "2.0"
    assert backend.get("persistent_state") == expect[1]


def test_cpu_hotplug_layout_amd64():
    root = xml_of(vmi(cpu={"sockets": 2, "cores": 2, "threads": 1, "maxSockets": 8}))
    assert root.findtext("vcpu") == "16"
    assert root.find("cpu/topology").attrib == {"sockets": "8", "cores": "2", "threads": "1"}
    slots = [(v.get("id"), v.get("enabled"), v.get("hotpluggable")) for v in root.findall("vcpus/vcpu")]
    assert len(slots) == 16
    # enabled: id < requested (4); hotpluggable: id >= cores*threads (the first socket never is)
    assert slots[:5] == [("0", "yes", "no"), ("1", "yes", "no"), ("2", "yes", "yes"), ("3", "yes", "yes"),
                         ("4", "no", "yes")]
    assert all(e == "no" for _, e, _ in slots[4:])


def test_no_cpu_hotplug_on_arm64():
    root = xml_of(vmi("arm64", cpu={"sockets": 2, "cores": 1, "threads": 1, "maxSockets": 8}))
    assert root.findtext("vcpu") == "2"
    assert root.find("vcpus") is None
    assert root.find("cpu/topology").get("sockets") == "2"


def test_no_hotplug_without_max_sockets():
    root = xml_of(vmi(cpu={"sockets": 2}))
    assert root.findtext("vcpu") == "2" and root.find("vcpus") is None


def test_arm64_tcg_cpu_is_cortex_a57():
    for cpu in ({}, {"model": "host-passthrough"}):
        root = xml_of(vmi("arm64", cpu=cpu))
        assert root.find("cpu").get("mode") == "custom" and root.findtext("cpu/model") == "cortex-a57"
    assert xml_of(vmi("arm64", cpu={"model": "host-passthrough"}), domain_type="kvm").find("cpu").get(
        "mode") == "host-passthrough"


def test_arm64_defaults_table():
    """B.5's arch table: virt, aarch64 emulator, virtio disks, usb tablet+keyboard, no vmport/SMBIOS."""
    v = vmi("arm64", disks=[{"name": "a", "disk": {}}], firmware={"serial": "S"})
    root = xml_of(v)
    assert root.find("os/type").attrib == {"arch": "aarch64", "machine": "virt"}
    assert root.findtext("devices/emulator") == "/usr/bin/qemu-system-aarch64"
    assert root.find("devices/disk/target").get("bus") == "virtio"
    assert [(i.get("type"), i.get("bus")) for i in root.findall("devices/input")] == [
        ("tablet", "usb"), ("keyboard", "usb")]
    assert root.find("features/vmport") is None and root.find("sysinfo") is None
    assert root.find("os/smbios") is None
    assert root.find("os/loader").get("secure") == "no"  # EFI is the default without kernelBoot


def test_manifest_roundtrip_of_tpm_enabled_false():
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "x"},
           "spec": {"domain": {"devices": {"tpm": {"enabled": False}}}}}
    v = manifest.parse(doc, proto.kv.VirtualMachineInstance)
    assert v.spec.domain.devices.HasField("tpm") and not v.spec.domain.devices.tpm.enabled
