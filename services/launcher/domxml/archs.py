"""Everything that differs between guest architectures, in one table (KubeVirt's converter/arch/*.go
and pkg/defaults/*.go, Nova's lesson: don't scatter `if arch == ...` through the converter).

Measured facts behind some entries (libvirt 9.0 + QEMU 7.2, see the vm-recipe note):
- under TCG there is no host CPU to pass through: `host-passthrough` is unsupported on both arches
  and `host-model` on aarch64; libvirt's `maximum` mode (QEMU `-cpu max`) is the TCG equivalent
  on x86; on aarch64 `cortex-a57` boots 4x faster than `max`.
- KubeVirt's arch differences kept here: CPU hotplug (`<vcpus>`) and disabling the 64-bit PCI hole
  exist on amd64 only.
- aarch64 `virt` with the default GICv2 stops at 8 vCPUs; more need `<gic version="3"/>`.
- aarch64 guests get ACPI only from UEFI: with direct kernel boot and no EFI libvirt refuses
  `<acpi/>` ("ACPI requires UEFI on this architecture"); the kernel uses the device tree.
- qemu-system-aarch64 has no `tpm-crb`; `tpm-tis` works (and can be persistent).
- a CD-ROM cannot sit on the virtio bus (libvirt: "does not support ejectable media"), and
  aarch64 `virt` has no SATA controller.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Firmware:
    code: str       # <loader> (read-only pflash)
    vars: str       # <nvram template=...>


@dataclass(frozen=True)
class Arch:
    name: str                           # KubeVirt's name (spec.architecture)
    libvirt_arch: str                   # <os><type arch=...>
    default_machine: str
    pcie_machines: tuple[str, ...]      # fnmatch patterns of machine types with a PCIe root complex
    emulator: str
    disk_bus: str                       # default bus for disk targets
    cdrom_bus: str                      # default bus for cdrom targets
    lun_bus: str                        # default bus for lun targets
    disk_buses: tuple[str, ...]         # buses this arch's machines can attach disks to
    cdrom_buses: tuple[str, ...]        # buses that can hold ejectable media
    kvm_cpu_mode: str                   # default CPU when running on KVM
    tcg_cpu_model: Optional[str]        # default named CPU under TCG (None: leave it to libvirt/QEMU)
    tcg_cpu_modes: dict = field(default_factory=dict)  # what host-* modes become under TCG
    serial_console: str = "ttyS0"       # what the guest kernel calls the first serial port
    usb_always: bool = False            # qemu-xhci controller even when no USB device is asked for
    usb_inputs: tuple[str, ...] = ()    # USB input devices every guest gets (no PS/2 on arm)
    vmport_off: bool = False            # <vmport state="off"/>
    smbios_sysinfo: bool = False        # <sysinfo type="smbios"> + <os><smbios mode="sysinfo"/>
    apic: bool = False                  # <apic/> exists (and is on by default)
    smm: bool = False                   # <smm/> exists
    acpi_needs_efi: bool = False        # ACPI tables come from the firmware (libvirt refuses otherwise)
    bios: bool = False                  # a BIOS (SeaBIOS) is available
    efi_default: bool = False           # EFI when no bootloader (and no kernelBoot) is given
    efi: Optional[Firmware] = None
    efi_secure: Optional[Firmware] = None
    pcie_spare_ports: int = 8           # free pcie-root-ports left for hotplug
    video_model: str = "vga"
    tpm_model: str = "tpm-tis"          # non-persistent TPM
    tpm_persistent_model: str = "tpm-crb"
    gicv2_max_vcpus: Optional[int] = None  # above this many vCPUs use GICv3
    cpu_hotplug: bool = False           # SupportCPUHotplug: maxSockets -> <vcpus> layout
    pci_hole64_disabling: bool = False  # SupportPCIHole64Disabling (kubevirt.io/disablePCIHole64)
    virtio_model: str = "virtio-non-transitional"
    virtio_transitional_model: str = "virtio-transitional"  # useVirtioTransitional: legacy virtio 0.9 too
    # The PC platform's timers (hpet, pit, rtc, kvmclock, hypervclock), Hyper-V and KVM paravirtual
    # features, the i6300esb watchdog, isa/hyperv panic notifiers and ich9/ac97 sound cards.
    pc_platform: bool = False

    def is_pcie(self, machine: str) -> bool:
        return any(fnmatch.fnmatchcase(machine, p) for p in self.pcie_machines)


ARCHS: dict[str, Arch] = {
    "amd64": Arch(
        name="amd64",
        libvirt_arch="x86_64",
        default_machine="q35",
        pcie_machines=("q35", "pc-q35-*"),
        emulator="/usr/bin/qemu-system-x86_64",
        disk_bus="sata",
        cdrom_bus="sata",
        lun_bus="scsi",
        disk_buses=("virtio", "sata", "scsi", "usb"),
        cdrom_buses=("sata", "scsi", "usb"),
        kvm_cpu_mode="host-model",
        tcg_cpu_model=None,  # QEMU's default (qemu64) runs everywhere under TCG
        tcg_cpu_modes={"host-model": "host-model", "host-passthrough": "maximum"},
        serial_console="ttyS0",
        usb_always=False,
        usb_inputs=(),
        vmport_off=True,
        smbios_sysinfo=True,
        apic=True,
        smm=True,
        bios=True,
        efi_default=False,
        # Debian 12's ovmf package (4 MiB builds; the 2 MiB ones are legacy).
        efi=Firmware("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        # Secure boot: the SMM-enforcing build with Microsoft's keys enrolled (KubeVirt ships the same).
        efi_secure=Firmware("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"),
        pcie_spare_ports=8,
        video_model="vga",
        tpm_model="tpm-tis",
        tpm_persistent_model="tpm-crb",
        cpu_hotplug=True,
        pci_hole64_disabling=True,
        pc_platform=True,
    ),
    "arm64": Arch(
        name="arm64",
        libvirt_arch="aarch64",
        default_machine="virt",
        pcie_machines=("virt", "virt-*"),
        emulator="/usr/bin/qemu-system-aarch64",
        disk_bus="virtio",
        cdrom_bus="scsi",
        lun_bus="scsi",
        disk_buses=("virtio", "scsi", "usb"),
        cdrom_buses=("scsi", "usb"),
        kvm_cpu_mode="host-passthrough",
        tcg_cpu_model="cortex-a57",  # boots a guest in ~2.5 s; `max` works but takes ~10 s
        # KubeVirt defaults arm64 guests to host-passthrough; under TCG that becomes cortex-a57
        # (a real Arm core QEMU emulates fast) rather than `max` (4x slower to boot).
        tcg_cpu_modes={"host-model": "cortex-a57", "host-passthrough": "cortex-a57"},
        serial_console="ttyAMA0",
        usb_always=True,
        usb_inputs=("tablet", "keyboard"),
        vmport_off=False,
        smbios_sysinfo=False,
        apic=False,
        smm=False,
        acpi_needs_efi=True,
        bios=False,
        efi_default=True,
        efi=Firmware("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),
        efi_secure=None,
        pcie_spare_ports=8,
        video_model="virtio",
        tpm_model="tpm-tis",
        tpm_persistent_model="tpm-tis",
        gicv2_max_vcpus=8,
    ),
}


def get(name: str) -> Optional[Arch]:
    return ARCHS.get(name)
