"""Issue 19, item 2: every check of a VMI spec happens at admission (services/api/validation.py), each
cause with its field path, all causes at once. The checks here were the launcher converter's (it met
a bad NIC model, input bus, CPU feature policy, cache/io pair ... only when a node converted the
spec); the converter keeps only what its node decides (tests/launcher/test_domxml_rules.py)."""
from __future__ import annotations

import copy

import pytest

from services.api import store, validation
from services.api.errors import Invalid
from services.common import manifest, proto


def spec_of(domain: dict | None = None, arch: str = "amd64", **spec):
    dom = {"memory": {"guest": "64Mi"}, **(domain or {})}
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"architecture": arch, "domain": dom, **spec}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance).spec


def causes_of(spec, path: str = "spec") -> tuple[tuple[str, str], ...]:
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(spec, path)
    assert str(e.value) == "; ".join(f"{f}: {m}" for f, m in e.value.causes)
    return e.value.causes


def disk(name="a", **fields) -> dict:
    return {"name": name, **fields}


def with_disks(*disks, arch="amd64", **domain):
    vols = [{"name": d["name"], "emptyDisk": {"capacity": "1Gi"}} for d in disks]
    return spec_of({"devices": {"disks": list(disks)}, **domain}, arch, volumes=vols)


def with_nics(*ifaces, networks=None, **devices):
    nets = networks if networks is not None else [{"name": i["name"], "pod": {}} for i in ifaces]
    return spec_of({"devices": {"interfaces": list(ifaces), **devices}}, networks=nets)


D = "spec.domain.devices"
FW = "spec.domain.firmware"

# (spec, the cause expected among those admission returns) for each check the converter used to make.
MOVED = {
    "architecture without a launcher design": (
        spec_of(arch="s390x"), ("spec.architecture", 'Unsupported value: "s390x": supported values: "amd64", "arm64"')),
    "ide bus": (
        with_disks(disk(disk={"bus": "ide"})), (f"{D}.disks[0].disk.bus", "IDE bus is not supported")),
    "unknown bus": (
        with_disks(disk(disk={"bus": "floppy"})),
        (f"{D}.disks[0].disk.bus", f"{D}.disks[0] is set with an unrecognized bus floppy, must be one of: "
                                   "[virtio sata scsi usb]")),
    "cdrom on virtio": (
        with_disks(disk(cdrom={"bus": "virtio"})),
        (f"{D}.disks[0].cdrom.bus", "Bus type virtio is invalid for CD-ROM device")),
    "sata on arm64": (
        with_disks(disk(disk={"bus": "sata"}), arch="arm64"),
        (f"{D}.disks[0].disk.bus", "Arm64 not support this disk bus type, please use virtio or scsi")),
    "usb on arm64": (
        with_disks(disk(disk={"bus": "usb"}), arch="arm64"),
        (f"{D}.disks[0].disk.bus", "Arm64 not support this disk bus type, please use virtio or scsi")),
    "a lun off scsi": (
        with_disks(disk(lun={"bus": "virtio"})),
        (f"{D}.disks[0].lun.bus", 'Unsupported value: "virtio": a LUN needs the "scsi" bus')),
    "cache mode": (
        with_disks(disk(disk={}, cache="unsafe")), (f"{D}.disks[0].cache", f"{D}.disks[0].cache has invalid value unsafe")),
    "native io with the host cache": (
        with_disks(disk(disk={}, cache="writeback", io="native")),
        (f"{D}.disks[0].io", '"native" needs cache "none" (got "writeback")')),
    "cdrom tray": (
        with_disks(disk(cdrom={"tray": "ajar"})),
        (f"{D}.disks[0].cdrom.tray", 'Unsupported value: "ajar": supported values: "open", "closed"')),
    "disk pci address off virtio": (
        with_disks(disk(disk={"bus": "sata", "pciAddress": "0000:81:01.0"})),
        (f"{D}.disks[0].disk.pciAddress", f"disk {D}.disks[0].name - setting a PCI address is only possible with "
                                          "bus type virtio.")),
    "malformed disk pci address": (
        with_disks(disk(disk={"bus": "virtio", "pciAddress": "10:1"})),
        (f"{D}.disks[0].disk.pciAddress", f"disk {D}.disks[0].name has malformed PCI address (10:1).")),
    "malformed nic pci address": (
        with_nics({"name": "n", "masquerade": {}, "pciAddress": "0000:81:01"}),
        (f"{D}.interfaces[0].pciAddress", f"interface {D}.interfaces[0].name has malformed PCI address "
                                          "(0000:81:01).")),
    "nic boot order below 1": (
        with_nics({"name": "n", "masquerade": {}, "bootOrder": 0}),
        (f"{D}.interfaces[0].bootOrder", f"{D}.interfaces[0] must have a boot order > 0, if supplied")),
    "boot order used twice": (
        spec_of({"devices": {"disks": [disk(disk={}, bootOrder=1)],
                             "interfaces": [{"name": "n", "masquerade": {}, "bootOrder": 1}]}},
                volumes=[{"name": "a", "emptyDisk": {"capacity": "1Gi"}}], networks=[{"name": "n", "pod": {}}]),
        (f"{D}.interfaces[0].bootOrder", f"Boot order for {D}.interfaces[0].bootOrder already set for a different "
                                         "device.")),
    "input bus": (
        spec_of({"devices": {"inputs": [{"name": "t", "type": "tablet", "bus": "ps2"}]}}),
        (f"{D}.inputs[0].bus", "Input device can have only virtio or usb bus.")),
    "input type": (
        spec_of({"devices": {"inputs": [{"name": "m", "type": "mouse", "bus": "usb"}]}}),
        (f"{D}.inputs[0].type", 'Unsupported value: "mouse": supported values: "tablet", "keyboard"')),
    "nic model": (
        with_nics({"name": "n", "masquerade": {}, "model": "virtio-net"}),
        (f"{D}.interfaces[0].model", f"interface {D}.interfaces[0].name uses model virtio-net that is not "
                                     "supported.")),
    "network without a source": (
        with_nics({"name": "n", "bridge": {}}, networks=[{"name": "n"}]), ("spec.networks[0]", "should have a network type")),
    "pod network cidr": (
        with_nics({"name": "n", "masquerade": {}}, networks=[{"name": "n", "pod": {"vmNetworkCIDR": "nope"}}]),
        ("spec.networks[0].pod.vmNetworkCIDR", 'Invalid value: "nope": must be an IPv4 CIDR')),
    "cpu feature without a name": (
        spec_of({"cpu": {"features": [{"policy": "require"}]}}), ("spec.domain.cpu.features[0].name", "Required value")),
    "cpu feature policy": (
        spec_of({"cpu": {"features": [{"name": "pcid", "policy": "maybe"}]}}),
        ("spec.domain.cpu.features[0].policy", "CPU feature pcid uses policy maybe that is not supported.")),
    "bios and efi": (
        spec_of({"firmware": {"bootloader": {"bios": {}, "efi": {"secureBoot": False}}}}),
        (f"{FW}.bootloader", f"{FW}.bootloader has both EFI and BIOS configured, but they are mutually exclusive.")),
    "persistent efi variables": (
        spec_of({"firmware": {"bootloader": {"efi": {"persistent": True}}}}),
        (f"{FW}.bootloader.efi.persistent", "Unsupported value: not supported: persistent EFI variables (the nodes "
                                            "keep no EFI variable store across restarts)")),
    "memory hotplug": (
        spec_of({"memory": {"guest": "64Mi", "maxGuest": "256Mi"}}),
        ("spec.domain.memory.maxGuest", "Unsupported value: not supported: memory hotplug (the domains are defined "
                                        "without hotpluggable memory slots)")),
    "kernel arguments without a kernel": (
        spec_of({"firmware": {"kernelBoot": {"kernelArgs": "quiet"}}}),
        (f"{FW}.kernelBoot.kernelArgs", "kernel arguments cannot be provided without an external kernel")),
    "an initrd alone": (
        spec_of({"firmware": {"kernelBoot": {"container": {"image": "/g", "initrdPath": "/i"}}}}),
        (f"{FW}.kernelBoot.container.kernelPath", "Required value: direct kernel boot needs a kernel (an initrd "
                                                  "alone cannot boot)")),
    "acpi without efi on arm64": (
        spec_of({"features": {"acpi": {}}, "firmware": {"kernelBoot": {"container": {"image": "/g", "kernelPath": "/k"}}}},
                "arm64"),
        ("spec.domain.features.acpi", "ACPI on arm64 needs EFI firmware (spec.domain.firmware.bootloader.efi)")),
    "apic on arm64": (
        spec_of({"features": {"apic": {}}}, "arm64"), ("spec.domain.features.apic", "there is no APIC on arm64")),
    "smm on arm64": (
        spec_of({"features": {"smm": {}}}, "arm64"), ("spec.domain.features.smm", "there is no SMM on arm64")),
    "secure boot without smm": (
        spec_of({"firmware": {"bootloader": {"efi": {}}}, "features": {"smm": {"enabled": False}}}),
        ("spec.domain", "spec.domain has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently "
                        "disabled.")),
    "a sound card on arm64": (
        spec_of({"devices": {"sound": {"name": "s"}}}, "arm64"),
        (f"{D}.sound", "Unsupported value: not supported: a sound card on arm64 (ich9 and ac97 are PC devices)")),
    "firmware uuid": (
        spec_of({"firmware": {"uuid": "nope"}}), (f"{FW}.uuid", 'Invalid value: "nope": not a UUID')),
}


@pytest.mark.parametrize("name", MOVED)
def test_refused_at_admission_naming_the_field(name):
    spec, cause = MOVED[name]
    assert cause in causes_of(spec)


def test_every_fault_of_a_spec_at_once():
    """One refusal with a cause per fault, in the order of the areas (disks, interfaces, inputs, boot
    order, firmware, platform, cpu, then the rest of the schema)."""
    spec = spec_of({"devices": {"disks": [disk(disk={"bus": "ide"}, cache="unsafe"), disk("b", cdrom={"tray": "ajar"})],
                                "interfaces": [{"name": "n", "masquerade": {}, "model": "rtl", "bootOrder": 0}],
                                "inputs": [{"name": "i", "type": "mouse", "bus": "ps2"}]},
                    "cpu": {"features": [{"name": "pcid", "policy": "maybe"}]},
                    "firmware": {"bootloader": {"bios": {}, "efi": {}}},
                    "clock": {"utc": {}, "timezone": "UTC"}},
                   volumes=[{"name": "a", "emptyDisk": {"capacity": "1Gi"}}, {"name": "b", "emptyDisk": {"capacity": "1Gi"}}],
                   networks=[{"name": "n", "pod": {}}])
    assert [f for f, _ in causes_of(spec)] == [
        f"{D}.disks[0].disk.bus", f"{D}.disks[0].cache", f"{D}.disks[1].cdrom.tray", f"{D}.interfaces[0].model",
        f"{D}.inputs[0].bus", f"{D}.inputs[0].type", f"{D}.interfaces[0].bootOrder", f"{FW}.bootloader",
        "spec.domain.cpu.features[0].policy", "spec.domain.clock"]


def test_the_basics_are_collected_too():
    """Names, volumes, memory and the grace period: once the first fault, now every one."""
    spec = spec_of({"memory": {"guest": "12Q"}, "devices": {"disks": [disk("Bad_Name", disk={})]}},
                   terminationGracePeriodSeconds=-1, volumes=[{"name": "v"}])
    fields = [f for f, _ in causes_of(spec)]
    assert fields == ["spec.domain.memory.guest", "spec.volumes[0]", f"{D}.disks[0].name", f"{D}.disks[0].name",
                      "spec.terminationGracePeriodSeconds"]


def test_a_vm_template_names_its_own_paths():
    spec = spec_of({"devices": {"inputs": [{"name": "i", "type": "tablet", "bus": "ps2"}]}})
    assert causes_of(spec, "spec.template.spec") == (
        ("spec.template.spec.domain.devices.inputs[0].bus", "Input device can have only virtio or usb bus."),)


def test_what_the_arch_table_allows_is_admitted():
    """The defaults of each arch pass its own rules (arch.py: a bus, firmware and CPU each arch admits)."""
    for arch in ("amd64", "arm64"):
        validation.vmi_spec(with_disks(disk(disk={}), disk("c", cdrom={}), disk("l", lun={}), arch=arch), "spec")
    validation.vmi_spec(with_disks(disk(disk={"bus": "scsi"}), arch="arm64",
                                   cpu={"model": "host-passthrough"},
                                   firmware={"bootloader": {"efi": {"secureBoot": False}}}), "spec")
    validation.vmi_spec(with_disks(disk(disk={"bus": "virtio", "pciAddress": "0000:0a:1f.3"}, cache="none",
                                        io="native")), "spec")
    validation.vmi_spec(with_nics({"name": "n", "masquerade": {}, "model": "e1000e", "bootOrder": 1,
                                   "pciAddress": "0000:81:01.0"},
                                  inputs=[{"name": "k", "type": "keyboard", "bus": "virtio"}]), "spec")


def test_refused_through_the_api_before_any_node_sees_it(resources):
    """A VMI whose NIC model and input bus no launcher would take: the create is refused with both
    causes and nothing is stored (no launcher ever converts it)."""
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "v", "namespace": "default"},
           "spec": {"architecture": "amd64", "networks": [{"name": "n", "pod": {}}],
                    "domain": {"memory": {"guest": "64Mi"},
                               "devices": {"interfaces": [{"name": "n", "masquerade": {}, "model": "virtio-net"}],
                                           "inputs": [{"name": "i", "bus": "ps2"}]}}}}
    with pytest.raises(Invalid) as e:
        resources.create(manifest.to_object(copy.deepcopy(doc)))
    assert [f for f, _ in e.value.causes] == [f"{D}.interfaces[0].model", f"{D}.inputs[0].bus"]
    with pytest.raises(store.NotFound):
        resources.get(proto.VMI, "default", "v")
