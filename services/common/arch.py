"""The one architecture table: every per-arch fact more than one service needs (the api admits and
defaults by it, the controller schedules by it, the handler labels nodes by it, the launcher designs
domains by it). KubeVirt keeps these in pkg/virt-config (emulated machines), pkg/defaults/*.go,
pkg/virt-api/webhooks/arm64.go, converter/arch/*.go and node-labeller/*.go; here they are one row per
arch. The launcher's own design choices (emulator and firmware paths, TCG CPU models, consoles, video
and TPM models) stay in `services/launcher/domxml/archs.py`, keyed by the same names.

KubeVirt speaks amd64/arm64, libvirt and QEMU speak x86_64/aarch64. s390x and ppc64le are KubeVirt's
names, understood (machine globs, node labels) but refused at admission: no launcher design runs them.

Measured facts behind some entries (libvirt 9.0 + QEMU 7.2): a CD-ROM cannot sit on the virtio bus
(libvirt: "does not support ejectable media"); aarch64 `virt` has no SATA controller, no BIOS, no
APIC and no SMM, and gets ACPI tables only from UEFI.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Optional

from services.common import domain


@dataclass(frozen=True)
class Arch:
    name: str                            # KubeVirt's (spec.architecture, kubernetes.io/arch)
    title: str                           # how KubeVirt's messages name it ("Arm64 does not support ...")
    libvirt: str                         # libvirt's and QEMU's (<os><type arch>, <host><cpu><arch>)
    default_machine: str                 # setDefaultMachineType
    emulated_machines: tuple[str, ...]   # KubeVirt's Default<ARCH>EmulatedMachines globs (validateEmulatedMachine)
    runs: bool = False                   # a launcher design exists: the api admits VMIs of this arch
    disk_buses: tuple[str, ...] = domain.DISK_BUSES   # buses its machines attach disks/LUNs to
    cdrom_buses: tuple[str, ...] = domain.CDROM_BUSES  # buses that can hold ejectable media
    disk_bus: str = "virtio"             # defaults per disk target (spec bus unset)
    cdrom_bus: str = "sata"
    lun_bus: str = "scsi"
    cpu_model: Optional[str] = None      # the default CPU model, and then the only one admitted (arm64)
    cpu_hotplug: bool = False            # SupportCPUHotplug: maxSockets -> the <vcpus> layout
    pci_hole64_disabling: bool = False   # SupportPCIHole64Disabling (kubevirt.io/disablePCIHole64)
    bios: bool = False                   # a BIOS (SeaBIOS) exists
    secure_boot: bool = False            # UEFI secure boot exists (and is on unless secureBoot: false)
    efi_default: bool = False            # EFI when no bootloader and no kernelBoot is given
    acpi_needs_efi: bool = False         # ACPI tables come from the firmware (libvirt refuses otherwise)
    apic: bool = False                   # <apic/> exists (and is on by default)
    smm: bool = False                    # <smm/> exists
    # The PC platform: its timers (hpet, pit, rtc, kvmclock, hypervclock), Hyper-V and KVM paravirtual
    # features, the i6300esb watchdog, isa/hyperv panic notifiers and ich9/ac97 sound cards.
    pc_platform: bool = False
    # node-labeller: node-labeller.sh runs here (asking domain capabilities for the default machine);
    # archLabeller: host-model, named CPU models and host CPU features are labelled.
    labelled: bool = True
    cpu_model_labels: bool = False
    default_cpu_vendor: str = ""         # archLabeller.defaultVendor

    @property
    def labeller_machine(self) -> str:
        """What node-labeller.sh asks domain capabilities for ("" where it does not run)."""
        return self.default_machine if self.labelled else ""

    def admits_disk_bus(self, kind: str, bus: str) -> bool:
        """`bus` can hold a disk target of `kind` (disk, cdrom or lun) on this arch."""
        if kind == "cdrom":
            return bus in self.cdrom_buses
        if kind == "lun":
            return bus in domain.LUN_BUSES and bus in self.disk_buses
        return bus in self.disk_buses

    def default_bus(self, kind: str) -> str:
        return {"disk": self.disk_bus, "cdrom": self.cdrom_bus, "lun": self.lun_bus}[kind]


ARCHS: dict[str, Arch] = {a.name: a for a in (
    Arch(name="amd64", title="Amd64", libvirt="x86_64", default_machine="q35",
         emulated_machines=("q35*", "pc-q35*"), runs=True,
         disk_buses=("virtio", "sata", "scsi", "usb"), cdrom_buses=("sata", "scsi", "usb"),
         disk_bus="sata", cdrom_bus="sata", lun_bus="scsi",
         cpu_hotplug=True, pci_hole64_disabling=True, bios=True, secure_boot=True,
         apic=True, smm=True, pc_platform=True, cpu_model_labels=True),
    # pkg/virt-api/webhooks/arm64.go: virtio or scsi buses only, host-passthrough only, no BIOS, no
    # secure boot; pkg/defaults/arm64.go: EFI and host-passthrough by default.
    Arch(name="arm64", title="Arm64", libvirt="aarch64", default_machine="virt",
         emulated_machines=("virt*",), runs=True,
         disk_buses=("virtio", "scsi"), cdrom_buses=("scsi",),
         disk_bus="virtio", cdrom_bus="scsi", lun_bus="scsi",
         cpu_model=domain.CPU_MODE_HOST_PASSTHROUGH, efi_default=True, acpi_needs_efi=True),
    Arch(name="s390x", title="S390x", libvirt="s390x", default_machine="s390-ccw-virtio",
         emulated_machines=("s390-ccw-virtio*",), cpu_hotplug=True,
         cpu_model_labels=True, default_cpu_vendor="IBM"),
    Arch(name="ppc64le", title="Ppc64le", libvirt="ppc64le", default_machine="pseries",
         emulated_machines=("pseries*",), labelled=False),
)}
TO_LIBVIRT = {a.name: a.libvirt for a in ARCHS.values()}
FROM_LIBVIRT = {a.libvirt: a.name for a in ARCHS.values()}
# The guest architectures Virtmesh runs (launcher/domxml/archs.py has a design for each).
GUEST_ARCHS = tuple(a.name for a in ARCHS.values() if a.runs)


def get(name: str) -> Optional[Arch]:
    return ARCHS.get(name)


def of(spec) -> Arch:
    """The row of a VMI spec's architecture (unset: this host's), for a spec the api admitted."""
    return ARCHS[spec.architecture or host_arch()]


def set_defaults(spec) -> Optional[Arch]:
    """The architecture (this host's) and machine type (the arch's default) a VMI spec gets when it has
    none, set in place (KubeVirt's VMI mutator); the arch's row, None for an arch we do not know."""
    if not spec.architecture:
        spec.architecture = host_arch()
    a = get(spec.architecture)
    if not spec.domain.machine.type and a is not None:
        spec.domain.machine.type = a.default_machine
    return a


def host_arch() -> str:
    machine = platform.machine()
    return FROM_LIBVIRT.get(machine, {"AMD64": "amd64"}.get(machine, machine))
