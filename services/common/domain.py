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
X86_ONLY_TIMERS = tuple(TIMER_NAMES)   # all of them: x86 platform timers and paravirtual clocks

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

EVICTION_STRATEGIES = ("None", "LiveMigrate", "LiveMigrateIfPossible", "External")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
START_STRATEGIES = ("Paused",)
UPDATE_VOLUMES_STRATEGIES = ("Replacement", "Migration")
DEFAULT_SCHEDULER = "default-scheduler"
