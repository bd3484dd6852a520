"""The launcher's domain design per guest architecture (KubeVirt's converter/arch/*.go; Nova's lesson:
don't scatter `if arch == ...` through the converter): emulator and firmware paths, CPU models under
TCG, consoles, controllers, video and TPM models. What the api, controller or handler also need (buses,
machines, firmware kinds, platform features) is the common table's, `services/common/arch.py`, read
here through `Arch.guest`; a design exists exactly for the arches that table says run.

Measured facts behind some entries (libvirt 9.0 + QEMU 7.2, see the vm-recipe note):
- under TCG there is no host CPU to pass through: `host-passthrough` is unsupported on both arches
  and `host-model` on aarch64; libvirt's `maximum` mode (QEMU `-cpu max`) is the TCG equivalent
  on x86; on aarch64 `cortex-a57` boots 4x faster than `max`.
- aarch64 `virt` with the default GICv2 stops at 8 vCPUs; more need `<gic version="3"/>`.
- aarch64 guests get ACPI only from UEFI: with direct kernel boot and no EFI libvirt refuses
  `<acpi/>` ("ACPI requires UEFI on this architecture"); the kernel uses the device tree
  (common arch.py: acpi_needs_efi).
- qemu-system-aarch64 has no `tpm-crb`; `tpm-tis` works (and can be persistent).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Optional

from services.common import arch as common_arch


@dataclass(frozen=True)
class Firmware:
    code: str       # <loader> (read-only pflash)
    vars: str       # <nvram template=...>


@dataclass(frozen=True)
class Arch:
    name: str                           # KubeVirt's name (spec.architecture)
    pcie_machines: tuple[str, ...]      # fnmatch patterns of machine types with a PCIe root complex
    emulator: str
    kvm_cpu_mode: str                   # default CPU when running on KVM
    tcg_cpu_model: Optional[str]        # default named CPU under TCG (None: leave it to libvirt/QEMU)
    tcg_cpu_modes: dict = field(default_factory=dict)  # what host-* modes become under TCG
    serial_console: str = "ttyS0"       # what the guest kernel calls the first serial port
    usb_always: bool = False            # qemu-xhci controller even when no USB device is asked for
    usb_inputs: tuple[str, ...] = ()    # USB input devices every guest gets (no PS/2 on arm)
    vmport_off: bool = False            # <vmport state="off"/>
    smbios_sysinfo: bool = False        # <sysinfo type="smbios"> + <os><smbios mode="sysinfo"/>
    efi: Optional[Firmware] = None
    efi_secure: Optional[Firmware] = None  # exactly where the common table says secure_boot
    pcie_spare_ports: int = 8           # free pcie-root-ports left for hotplug
    video_model: str = "vga"
    tpm_model: str = "tpm-tis"          # non-persistent TPM
    tpm_persistent_model: str = "tpm-crb"
    gicv2_max_vcpus: Optional[int] = None  # above this many vCPUs use GICv3
    virtio_model: str = "virtio-non-transitional"
    virtio_transitional_model: str = "virtio-transitional"  # useVirtioTransitional: legacy virtio 0.9 too

    @property
    def guest(self) -> common_arch.Arch:
        """The common facts of this arch (buses, machines, firmware kinds, platform features)."""
        return common_arch.ARCHS[self.name]

    def is_pcie(self, machine: str) -> bool:
        return any(fnmatch.fnmatchcase(machine, p) for p in self.pcie_machines)


ARCHS: dict[str, Arch] = {
    "amd64": Arch(
        name="amd64",
        pcie_machines=("q35", "pc-q35-*"),
        emulator="/usr/bin/qemu-system-x86_64",
        kvm_cpu_mode="host-model",
        tcg_cpu_model=None,  # QEMU's default (qemu64) runs everywhere under TCG
        tcg_cpu_modes={"host-model": "host-model", "host-passthrough": "maximum"},
        serial_console="ttyS0",
        usb_always=False,
        usb_inputs=(),
        vmport_off=True,
        smbios_sysinfo=True,
        # Debian 12's ovmf package (4 MiB builds; the 2 MiB ones are legacy).
        efi=Firmware("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        # Secure boot: the SMM-enforcing build with Microsoft's keys enrolled (KubeVirt ships the same).
        efi_secure=Firmware("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"),
        pcie_spare_ports=8,
        video_model="vga",
        tpm_model="tpm-tis",
        tpm_persistent_model="tpm-crb",
    ),
    "arm64": Arch(
        name="arm64",
        pcie_machines=("virt", "virt-*"),
        emulator="/usr/bin/qemu-system-aarch64",
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
