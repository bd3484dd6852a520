"""Facts of the VirtualMachineInstance domain spec that the api (admission, defaults) and the launcher
(the domain XML converter) share, defined once (KubeVirt keeps them in kubevirt.io/api/core/v1
types.go/schema.go, read by its webhooks and its converter alike).

Measured on this machine's libvirt 9.0 + QEMU 7.2 under TCG (the vm-recipe note has the rest):
- every Hyper-V enlightenment KubeVirt names starts a guest except `vpindex` ("kernel doesn't allow
  setting HyperV VP_INDEX": QEMU asks KVM for it); `<pvspinlock state="on"/>` is refused by libvirt
  ("host doesn't support paravirtual spinlocks"). Both need KVM.
- the PCI `pvpanic` panic device is unknown to libvirt 9.0 (it arrived in 9.1); `isa` and `hyperv` work.
- every timer (hpet, pit, rtc, kvmclock, hypervclock) and tick policy below is accepted.
"""
from __future__ import annotations

import re

# ---------------------------------------------------------------- clock

# Tick policies by timer (KubeVirt's HPETTickPolicy, PITTickPolicy, RTCTickPolicy, RTCTimerTrack).
TICK_POLICIES = {
    "hpet": ("delay", "catchup", "merge", "discard"),
    "pit": ("delay", "catchup", "discard"),
    "rtc": ("delay", "catchup"),
}
RTC_TRACKS = ("guest", "wall")
# spec timer -> libvirt <timer name>, in the order KubeVirt's converter writes them.
TIMER_NAMES = {"rtc": "rtc", "pit": "pit", "kvm": "kvmclock", "hpet": "hpet", "hyperv": "hypervclock"}

# ---------------------------------------------------------------- features

# spec name -> libvirt element under <hyperv> (synictimer is <stimer>, vendorid <vendor_id>).
HYPERV_FEATURES = {
    "relaxed": "relaxed", "vapic": "vapic", "spinlocks": "spinlocks", "vpindex": "vpindex",
    "runtime": "runtime", "synic": "synic", "synictimer": "stimer", "reset": "reset",
    "vendorid": "vendor_id", "frequencies": "frequencies", "reenlightenment": "reenlightenment",
    "tlbflush": "tlbflush", "ipi": "ipi", "evmcs": "evmcs",
}
# KubeVirt's Hyper-V dependencies (pkg/defaults/hyperv.go, the same in the admitter): feature ->
# the one it needs. Defaulting enables a need the user left unset; admission refuses one disabled.
HYPERV_REQUIRES = {"synic": "vpindex", "synictimer": "synic", "ipi": "vpindex", "tlbflush": "vpindex",
                   "evmcs": "vapic"}
DEFAULT_SPINLOCKS = 4096          # SetDefaults_FeatureSpinlocks
MIN_SPINLOCKS = 4095              # libvirt's lower bound for <spinlocks retries>
EVMCS_CPU_FEATURE = "vmx"         # setEVMCSDependency: eVMCS needs the guest to see VMX
# What only KVM gives (refused by the converter on a node that emulates).
KVM_ONLY_HYPERV = ("vpindex",)
KVM_ONLY_FEATURES = ("pvspinlock",)
X86_ONLY_FEATURES = ("hyperv", "hypervPassthrough", "kvm", "pvspinlock")

# ---------------------------------------------------------------- cpu

CPU_MODE_HOST_MODEL = "host-model"
CPU_MODE_HOST_PASSTHROUGH = "host-passthrough"
HOST_CPU_MODES = (CPU_MODE_HOST_MODEL, CPU_MODE_HOST_PASSTHROUGH)
CPU_FEATURE_POLICIES = ("force", "require", "optional", "disable", "forbid")   # "" means require
DEFAULT_CPU_FEATURE_POLICY = "require"

# ---------------------------------------------------------------- disks

DISK_TARGETS = ("disk", "cdrom", "lun")       # a disk's device target (none set: a disk)
DISK_BUSES = ("virtio", "sata", "scsi", "usb")  # DiskBus; an arch's machines may offer fewer (arch.py)
CDROM_BUSES = ("sata", "scsi", "usb")           # ejectable media: never virtio (libvirt refuses it)
LUN_BUSES = ("scsi",)                           # device="lun" passes SCSI commands through
IDE_BUS = "ide"                                 # KubeVirt names it to refuse it
DISK_CACHES = ("none", "writethrough", "writeback")   # DriverCache
DISK_IO_MODES = ("native", "threads")                 # DriverIO
IO_NATIVE = "native"
CACHE_NONE = "none"
CDROM_TRAYS = ("open", "closed")                      # TrayState
# Guest device name prefix per bus (KubeVirt's makeDeviceName: sata, scsi and usb share "sd").
BUS_PREFIX = {"virtio": "vd", "sata": "sd", "scsi": "sd", "usb": "sd"}

# ---------------------------------------------------------------- interfaces and inputs

# validInterfaceModels (pkg/network/admitter/netiface.go); virtio is the default.
NIC_MODELS = ("virtio", "e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139")
DEFAULT_NIC_MODEL = "virtio"
INTERFACE_STATES = ("", "up", "down", "absent")        # InterfaceState; "" is up
BINDINGS = ("bridge", "masquerade", "slirp")           # interface binding methods the mesh has
INPUT_TYPES = ("tablet", "keyboard")                   # InputType
INPUT_BUSES = ("usb", "virtio")                        # InputBus; "" is usb

# ---------------------------------------------------------------- devices

DISK_ERROR_POLICIES = ("stop", "ignore", "report", "enospace")   # DiskErrorPolicy; stop is the default
DEFAULT_ERROR_POLICY = "stop"
BLOCK_SIZE_MIN, BLOCK_SIZE_MAX = 512, 2 * 1024 * 1024             # validateCustomBlockSize
WATCHDOG_ACTIONS = ("poweroff", "reset", "shutdown")              # WatchdogAction
SOUND_MODELS = ("ich9", "ac97")
DEFAULT_SOUND_MODEL = "ich9"
PANIC_MODELS = ("hyperv", "isa", "pvpanic")                       # PanicDeviceModel
PANIC_MODELS_HERE = ("hyperv", "isa")                             # libvirt 9.0 has no PCI pvpanic
VIDEO_TYPES = ("vga", "cirrus", "bochs", "virtio", "ramfb")
IO_THREADS_POLICIES = ("shared", "auto", "supplementalPool")      # IOThreadsPolicy
IO_THREADS_SUPPLEMENTAL = "supplementalPool"   # per-queue mapping: libvirt 10.0's <driver><iothreads>
AUTO_INPUT = ("tablet", "usb")                 # the input autoattachInputDevice adds (type, bus)
AUTO_INPUT_NAME = "default-0"
# The XML namespace of KubeVirt's element in a domain's <metadata> (the VMI's uid and grace period): the
# launcher writes it, the launcher and the handler read it back.
METADATA_NS = "http://kubevirt.io"

# Feature gates KubeVirt 1.6 puts these behind (the gates in effect: kvconfig.ClusterConfig.gates()).
PERSISTENT_RESERVATION_GATE = "PersistentReservation"
VIDEO_CONFIG_GATE = "VideoConfig"
PANIC_DEVICES_GATE = "PanicDevices"

# ---------------------------------------------------------------- scheduling and the rest

# VirtualMachineRunStrategy
RUN_ALWAYS, RUN_HALTED, RUN_MANUAL, RUN_ONCE = "Always", "Halted", "Manual", "Once"
RUN_RERUN_ON_FAILURE = "RerunOnFailure"
RUN_STRATEGIES = (RUN_ALWAYS, RUN_HALTED, RUN_MANUAL, RUN_RERUN_ON_FAILURE, RUN_ONCE)

DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
START_PAUSED = "Paused"
START_STRATEGIES = (START_PAUSED,)
UPDATE_VOLUMES_STRATEGIES = ("Replacement", "Migration")
DEFAULT_SCHEDULER = "default-scheduler"


# ---------------------------------------------------------------- readings of a spec both sides make

_PCI_ADDRESS = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


def pci_address(value: str) -> tuple[str, str, str, str] | None:
    """(domain, bus, slot, function) of a PCI address like 0000:81:01.0 (hwutil.ParsePciAddress), or None."""
    m = _PCI_ADDRESS.match(value)
    return (m[1], m[2], m[3], m[4]) if m else None


def disk_kind(disk) -> str:
    """The disk's device target (disk, cdrom or lun); none set is a disk, as in KubeVirt."""
    for kind in DISK_TARGETS:
        if disk.HasField(kind):
            return kind
    return "disk"


def uses_efi(firmware, efi_default: bool) -> bool:
    """EFI firmware: asked for, or the arch's default when neither a BIOS nor a kernel boot is asked for."""
    bl = firmware.bootloader
    if firmware.HasField("bootloader") and bl.HasField("efi"):
        return True
    has_bios = firmware.HasField("bootloader") and bl.HasField("bios")
    return not has_bios and not firmware.HasField("kernelBoot") and efi_default


def secure_boot(firmware, arch_secure_boot: bool) -> bool:
    """Secure boot of an EFI guest: as asked, else on where the arch has it (KubeVirt's default)."""
    efi = firmware.bootloader.efi
    return efi.secureBoot if efi.HasField("secureBoot") else arch_secure_boot
