"""VirtualMachineInstance -> libvirt domain (KubeVirt's converter.go, Nova's designer.py).

All policy lives here: defaults, device naming, boot order, which controllers exist. Facts that
differ per architecture come from `archs.py` (the launcher's design) and `services/common/arch.py`
(what every service knows of an arch); the XML itself is `model.py`'s business.

The spec reaching here was admitted by the api (services/api/validation.py), which checks every
fact of the spec itself — enums, buses per arch, firmware and platform features per arch, boot
orders, PCI addresses — once. `ConversionError` is raised only for what the node decides: a volume
it has not prepared (or prepared as a file where a block device is needed), firmware files it lacks,
a file system without direct I/O, no qemu-pr-helper, KVM-only features on a node that emulates.

Deliberate choices (see the vm-recipe note for the measurements behind them):
- boot order is per device only, never `<os><boot dev>`: libvirt refuses to hotplug a disk with
  `<boot order>` into a domain that boots by `<os><boot>`. When no device has a bootOrder, the
  disks get 1, 2, ... in spec order (which is what `<boot dev="hd"/>` would have done).
- q35 and virt get spare `pcie-root-port`s for hotplug: libvirt puts the devices we define on the
  first ports, so we add one port per PCIe device plus `Arch.pcie_spare_ports`.
- the virtio-scsi controller always exists (disk hotplug is always enabled here).
- under TCG there is no host CPU: host-passthrough (and host-model on arm64) become `maximum`.
"""
from __future__ import annotations

import ipaddress
import math
import os
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Optional

from services.common import arch as common_arch
from services.common import domain as spec_facts
from services.common import names, network
from services.common import quantity
from services.common.volumes import hotpluggable
from services.launcher.domxml import archs
from services.launcher.domxml import model as m
from services.launcher.storage import DiskSource

GUEST_AGENT_CHANNEL = "org.qemu.guest_agent.0"
BALLOON_STATS_PERIOD = 10


class ConversionError(ValueError):
    """The spec cannot become a domain; str() is `<spec field>: <reason>`."""


@dataclass
class Context:
    domain_type: str                                   # "qemu" (TCG), "kvm", or "test" (libvirt's test driver)
    volumes: dict[str, DiskSource] = field(default_factory=dict)  # volume name -> resolved source
    kernel: Optional[str] = None                       # resolved kernelBoot paths
    initrd: Optional[str] = None
    serial_socket: Optional[str] = None                # unix socket of the serial console
    serial_log: Optional[str] = None                   # where the serial console's output is logged
    nvram_dir: Optional[str] = None                    # where this VM's EFI variable store goes
    vnc_socket: Optional[str] = None                   # VNC unix socket (autoattachGraphicsDevice: true)
    check_firmware: bool = True                        # fail early when EFI firmware files are missing
    pr_helper_socket: Optional[str] = None             # the node's qemu-pr-helper (reserved LUNs)

    @property
    def emulated(self) -> bool:
        """TCG (or the test driver): no host CPU to pass through."""
        return self.domain_type != "kvm"


# ---------------------------------------------------------------- names

def format_device_name(prefix: str, index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa, as Linux names disks."""
    name = ""
    while index >= 0:
        name = chr(ord("a") + index % 26) + name
        index = index // 26 - 1
    return prefix + name


def arch_of(vmi) -> archs.Arch:
    """The launcher's design for the VMI's arch (admission refuses an arch without one)."""
    return archs.ARCHS[vmi.spec.architecture or common_arch.host_arch()]


def disk_target(disk, a: archs.Arch) -> tuple[str, str]:
    """(kind, bus) of a spec disk, the arch's default bus applied."""
    kind = spec_facts.disk_kind(disk)
    bus = getattr(disk, kind).bus if disk.HasField(kind) else ""
    return kind, bus or a.guest.default_bus(kind)


def device_names(vmi) -> dict[str, str]:
    """Disk name -> guest device name (vda, sda, ...), KubeVirt's makeDeviceName: one counter per
    prefix, in order of appearance (sata, scsi and usb share "sd")."""
    a = arch_of(vmi)
    counters: dict[str, int] = {}
    out: dict[str, str] = {}
    for disk in vmi.spec.domain.devices.disks:
        _, bus = disk_target(disk, a)
        prefix = spec_facts.BUS_PREFIX[bus]
        out[disk.name] = format_device_name(prefix, counters.get(prefix, 0))
        counters[prefix] = counters.get(prefix, 0) + 1
    return out


# ---------------------------------------------------------------- quantities

def guest_memory(vmi) -> int:
    """Bytes of guest RAM: memory.guest, else resources.requests.memory, else limits.memory (admission
    requires one and checks the quantities)."""
    dom = vmi.spec.domain
    res = dom.resources
    return quantity.to_bytes(dom.memory.guest or res.requests.get("memory", "") or res.limits.get("memory", ""))


def _pci_address(value: str) -> m.PciAddress:
    parsed = spec_facts.pci_address(value)
    assert parsed is not None, f"admission checks PCI addresses: {value!r}"
    d, b, s, f = parsed
    return m.PciAddress(domain=f"0x{d.lower()}", bus=f"0x{b.lower()}", slot=f"0x{s.lower()}", function=f"0x{f}")


def _feature_on(features, name: str, default: Optional[bool]) -> Optional[bool]:
    """KubeVirt's FeatureState: present means enabled unless enabled: false."""
    if not features.HasField(name):
        return default
    fs = getattr(features, name)
    return fs.enabled if fs.HasField("enabled") else True


# ---------------------------------------------------------------- the converter

class _Converter:
    def __init__(self, vmi, ctx: Context):
        self.vmi, self.ctx = vmi, ctx
        self.spec = vmi.spec
        self.dom_spec = vmi.spec.domain
        self.a = arch_of(vmi)
        self.g = self.a.guest
        self.pcie_devices = 0   # devices libvirt will put on a pcie-root-port
        self.usb_needed = self.a.usb_always or bool(self.a.usb_inputs)
        devs = self.dom_spec.devices
        # InterpretTransitionalModelType: every virtio device of the domain takes the same model.
        transitional = devs.HasField("useVirtioTransitional") and devs.useVirtioTransitional
        self.virtio_model = self.a.virtio_transitional_model if transitional else self.a.virtio_model
        self.requested_vcpus = 1   # sockets x cores x threads asked for (not the hotplug maximum)

    def run(self) -> m.Domain:
        md = self.vmi.metadata
        name = f"{md.namespace or 'default'}_{md.name}"
        dom = m.Domain(type=self.ctx.domain_type, name=name,
                       metadata=m.KubevirtMetadata(uid=md.uid))
        fw = self.dom_spec.firmware
        if fw.uuid:
            dom.uuid = str(uuidlib.UUID(fw.uuid))
        dom.memory_bytes = guest_memory(self.vmi)
        dom.cpu, dom.vcpus, dom.vcpu_slots = self._cpu()
        dom.vcpu_placement = "static"
        dom.iothreads = self._io_threads()
        machine = self.dom_spec.machine.type or self.g.default_machine
        dom.os = m.Os(arch=self.g.libvirt, machine=machine)
        secure = self._firmware(dom)
        self._sysinfo(dom)
        dom.features = self._features(secure, dom.vcpus, efi=dom.os.loader is not None)
        dom.clock = self._clock()
        dom.devices = self._devices(machine)
        return dom

    # -- cpu

    def _cpu(self) -> tuple[m.Cpu, int, list]:
        """KubeVirt's vcpu.GetCPUTopology + domainVCPUTopologyForHotplug: with maxSockets (on an
        arch with CPU hotplug) the domain gets maxSockets sockets, all their vCPUs in <vcpu>, and a
        <vcpus> list enabling the requested ones; the first socket is never hotpluggable."""
        cpu = self.dom_spec.cpu
        sockets, cores, threads = cpu.sockets, cpu.cores, cpu.threads
        if not (sockets or cores or threads):
            res = self.dom_spec.resources
            for section in ("limits", "requests"):
                value = getattr(res, section).get("cpu")
                if value:
                    sockets = max(1, math.ceil(quantity.parse(value)))
                    break
        sockets, cores, threads = sockets or 1, cores or 1, threads or 1
        requested = sockets * cores * threads
        self.requested_vcpus = requested
        slots: list[m.VcpuSlot] = []
        total = requested
        if cpu.maxSockets and self.g.cpu_hotplug:
            total = cpu.maxSockets * cores * threads
            slots = [m.VcpuSlot(id=i, enabled=i < requested, hotpluggable=i >= cores * threads)
                     for i in range(total)]
            sockets = cpu.maxSockets
        out = m.Cpu(sockets=sockets, cores=cores, threads=threads)
        model = cpu.model
        if not model:
            if not self.ctx.emulated:
                out.mode = self.a.kvm_cpu_mode
            elif self.a.tcg_cpu_model:
                out.mode, out.model = "custom", self.a.tcg_cpu_model
        elif model in spec_facts.HOST_CPU_MODES:
            mode = self.a.tcg_cpu_modes.get(model, model) if self.ctx.emulated else model
            if mode in spec_facts.HOST_CPU_MODES or mode == "maximum":
                out.mode = mode
            else:  # a named model stands in for the host CPU under emulation
                out.mode, out.model = "custom", mode
        else:
            out.mode, out.model = "custom", model
        for f in cpu.features:
            out.features.append(m.CpuFeature(f.name, f.policy or spec_facts.DEFAULT_CPU_FEATURE_POLICY))
        return out, total, slots

    # -- firmware

    def _firmware(self, dom: m.Domain) -> bool:
        """Fill <os> loader/kernel; returns whether secure boot is on."""
        fw = self.dom_spec.firmware
        where = "spec.domain.firmware"
        bl = fw.bootloader
        kernel_boot = fw.HasField("kernelBoot")
        efi = spec_facts.uses_efi(fw, self.g.efi_default)
        secure = False
        if fw.HasField("bootloader") and bl.HasField("bios"):
            if bl.bios.HasField("useSerial") and bl.bios.useSerial:
                dom.os.bios_useserial = True
        if efi:
            secure = spec_facts.secure_boot(fw, self.g.secure_boot)
            rom = self.a.efi_secure if secure else self.a.efi
            if rom is None:   # admission refuses EFI (or Secure Boot) where the arch table has none
                raise ConversionError(f"{where}.bootloader.efi: no EFI firmware for {self.a.name} with "
                                      f"SecureBoot={str(secure).lower()}")
            if self.ctx.check_firmware and self.ctx.domain_type != "test":
                missing = [p for p in (rom.code, rom.vars) if not os.path.exists(p)]
                if missing:
                    raise ConversionError(f"{where}.bootloader.efi: EFI firmware missing on the node for "
                                          f"SecureBoot={str(secure).lower()}: {', '.join(missing)}")
            dom.os.loader = m.Loader(rom.code, readonly=True, secure=bool(secure), type="pflash")
            nvram = (os.path.join(self.ctx.nvram_dir, f"{self.vmi.metadata.name}_VARS.fd")
                     if self.ctx.nvram_dir else None)
            dom.os.nvram = m.Nvram(nvram, template=rom.vars)
        if kernel_boot and fw.kernelBoot.HasField("container"):
            if self.ctx.kernel is None:
                raise ConversionError(f"{where}.kernelBoot.container.kernelPath: the kernel was not prepared "
                                      "on the node")
            dom.os.kernel = self.ctx.kernel
            dom.os.initrd = self.ctx.initrd
            dom.os.cmdline = fw.kernelBoot.kernelArgs or None
        return secure

    def _sysinfo(self, dom: m.Domain) -> None:
        fw = self.dom_spec.firmware
        if not self.a.smbios_sysinfo:
            return
        entries = []
        if dom.uuid:
            entries.append(("uuid", dom.uuid))
        if fw.serial:
            entries.append(("serial", fw.serial))
        ch = self.dom_spec.chassis
        chassis = [(name, getattr(ch, name)) for name in ("manufacturer", "version", "serial", "asset", "sku")
                   if getattr(ch, name)]
        if entries or chassis:
            dom.sysinfo = m.Sysinfo(system=entries, chassis=chassis)
            dom.os.smbios_mode = "sysinfo"

    # -- features and clock

    def _features(self, secure: bool, vcpus: int, efi: bool) -> m.Features:
        feats = self.dom_spec.features
        acpi = _feature_on(feats, "acpi", efi or not self.g.acpi_needs_efi)
        apic = _feature_on(feats, "apic", self.g.apic)
        smm = True if secure else _feature_on(feats, "smm", None)   # admission: secure boot needs SMM
        out = m.Features(acpi=bool(acpi), apic=bool(apic), smm=True if smm else None)
        if apic and feats.apic.endOfInterrupt:
            out.apic_eoi = True
        self._pc_features(feats, out)
        if self.a.vmport_off:
            out.vmport = False
        if self.a.gicv2_max_vcpus is not None and vcpus > self.a.gicv2_max_vcpus:
            out.gic_version = "3"
        return out

    def _pc_features(self, feats, out: m.Features) -> None:
        """Convert_v1_Features_To_api_Features for Hyper-V, KVM and pvspinlock: the PC platform's, and
        what needs KVM refused on a node that emulates (services/common/domain.py has the facts)."""
        where = "spec.domain.features"
        if feats.HasField("hyperv"):
            out.hyperv = self._hyperv(feats.hyperv, f"{where}.hyperv")
        elif feats.HasField("hypervPassthrough") and _feature_on(feats, "hypervPassthrough", False):
            out.hyperv = m.Hyperv(mode="passthrough")
        if feats.HasField("kvm"):
            out.kvm_hidden = bool(feats.kvm.hidden)
        if feats.HasField("pvspinlock"):
            on = _feature_on(feats, "pvspinlock", True)
            if on and self.ctx.emulated and "pvspinlock" in spec_facts.KVM_ONLY_FEATURES:
                raise ConversionError(f"{where}.pvspinlock: paravirtual spinlocks need KVM; this node emulates "
                                      "the CPU (TCG)")
            out.pvspinlock = bool(on)

    def _hyperv(self, hv, where: str) -> m.Hyperv:
        """Convert_v1_FeatureHyperv_To_api_FeatureHyperv: each feature set is on unless disabled."""
        out = m.Hyperv(mode="custom")
        for name, element in spec_facts.HYPERV_FEATURES.items():
            if not hv.HasField(name):
                continue
            on = _feature_on(hv, name, True)
            if on and self.ctx.emulated and name in spec_facts.KVM_ONLY_HYPERV:
                raise ConversionError(f"{where}.{name}: the Hyper-V {name} enlightenment needs KVM; this node "
                                      "emulates the CPU (TCG)")
            f = m.HypervFeature(element, bool(on))
            if name == "spinlocks" and on:
                f.retries = hv.spinlocks.spinlocks if hv.spinlocks.HasField("spinlocks") \
                    else spec_facts.DEFAULT_SPINLOCKS
            elif name == "vendorid" and on:
                f.value = hv.vendorid.vendorid
            elif name == "synictimer" and hv.synictimer.HasField("direct"):
                f.direct = bool(_feature_on(hv.synictimer, "direct", True))
            out.features.append(f)
        return out

    def _clock(self) -> m.Clock:
        """Convert_v1_Clock_To_api_Clock: utc (with its offset, else "reset") or a timezone, and the
        timers in KubeVirt's order, each present unless `present: false`."""
        if not self.dom_spec.HasField("clock"):
            return m.Clock(offset="utc")
        c = self.dom_spec.clock
        if c.timezone:
            out = m.Clock(offset="timezone", timezone=c.timezone)
        elif c.HasField("utc"):
            out = m.Clock(offset="utc", adjustment=str(c.utc.offsetSeconds) if c.utc.HasField("offsetSeconds")
                          else "reset")
        else:
            out = m.Clock(offset="utc")
        for name, libvirt_name in spec_facts.TIMER_NAMES.items():
            if not c.timer.HasField(name):
                continue
            timer = getattr(c.timer, name)
            policy = getattr(timer, "tickPolicy", "")
            present = timer.present if timer.HasField("present") else True
            out.timers.append(m.Timer(libvirt_name, present=bool(present), tickpolicy=policy or None,
                                      track=getattr(timer, "track", "") or None))
        return out

    # -- devices

    def _devices(self, machine: str) -> m.Devices:
        devs = m.Devices(emulator=self.a.emulator)
        spec_devs = self.dom_spec.devices
        boot = self._boot_orders()
        devs.disks = self._disks(boot)
        devs.interfaces = self._interfaces(boot)
        devs.inputs = self._inputs()

        autoserial = spec_devs.autoattachSerialConsole if spec_devs.HasField("autoattachSerialConsole") else True
        if autoserial:
            c = self.ctx
            # logSerialConsole (default on): the console's output also goes to the node's log file.
            logged = spec_devs.logSerialConsole if spec_devs.HasField("logSerialConsole") else True
            log_file, log_append = (c.serial_log, True) if c.serial_log and logged else (None, None)
            if c.serial_socket:
                devs.serials.append(m.Serial(type="unix", source_mode="bind", source_path=c.serial_socket,
                                             target_port=0, log_file=log_file, log_append=log_append))
            else:
                devs.serials.append(m.Serial(type="pty", target_port=0, log_file=log_file, log_append=log_append))
            devs.consoles.append(m.Console(type="pty", target_type="serial", target_port=0))

        # KubeVirt always adds the guest agent channel; libvirt picks the socket path.
        devs.channels.append(m.Channel(type="unix", source_mode="bind", target_type="virtio",
                                       target_name=GUEST_AGENT_CHANNEL))

        # A VNC display unless autoattachGraphicsDevice is false, as KubeVirt (virtctl vnc reaches it).
        graphics = (spec_devs.autoattachGraphicsDevice if spec_devs.HasField("autoattachGraphicsDevice")
                    else True)
        if graphics:
            if self.ctx.vnc_socket:
                devs.graphics.append(m.Graphics(type="vnc", listen_type="socket", listen_socket=self.ctx.vnc_socket))
            else:
                devs.graphics.append(m.Graphics(type="vnc", listen_type="none"))
            video = spec_devs.video.type or self.a.video_model   # VideoConfig: the spec's type wins
            devs.videos.append(m.Video(model_type=video, heads=1))
            if video == "virtio":
                self.pcie_devices += 1

        if spec_devs.HasField("tpm"):
            t = spec_devs.tpm
            if not t.HasField("enabled") or t.enabled:
                persistent = t.HasField("persistent") and t.persistent
                devs.tpms.append(m.Tpm(model=self.a.tpm_persistent_model if persistent else self.a.tpm_model,
                                       backend_type="emulator", backend_version="2.0",
                                       persistent_state=True if persistent else None))

        devs.watchdogs, devs.sounds, devs.panics = self._watchdog(), self._sound(), self._panics()

        if spec_devs.HasField("rng"):
            devs.rngs.append(m.Rng(model=self.virtio_model, backend_model="random", backend_path="/dev/urandom"))
            self.pcie_devices += 1

        if spec_devs.HasField("autoattachMemBalloon") and spec_devs.autoattachMemBalloon:
            devs.memballoon = m.Memballoon(model=self.virtio_model, free_page_reporting=True,
                                           stats_period=BALLOON_STATS_PERIOD)
            self.pcie_devices += 1
        else:
            devs.memballoon = m.Memballoon(model="none")

        devs.controllers = self._controllers(machine)
        return devs

    def _watchdog(self) -> list[m.Watchdog]:
        wd = self.dom_spec.devices.watchdog
        if not self.dom_spec.devices.HasField("watchdog"):
            return []
        action = wd.i6300esb.action or spec_facts.WATCHDOG_ACTIONS[0]
        return [m.Watchdog("i6300esb", action=action, alias=m.make_alias(wd.name) if wd.name else None)]

    def _sound(self) -> list[m.Sound]:
        """Convert_v1_Sound_To_api_Sound: one card, ich9 unless the spec says ac97."""
        if not self.dom_spec.devices.HasField("sound"):
            return []
        s = self.dom_spec.devices.sound
        model = s.model or spec_facts.DEFAULT_SOUND_MODEL
        return [m.Sound(model, alias=m.make_alias(s.name) if s.name else None)]

    def _panics(self) -> list[m.Panic]:
        return [m.Panic(p.model if p.HasField("model") else None) for p in self.dom_spec.devices.panicDevices]

    def _io_threads(self) -> Optional[int]:
        """getIOThreadsCountType/setIOThreads: with an IO threads policy or a disk's dedicatedIOThread,
        the domain gets a pool of shared threads (at most 1 for `shared`, 2 per requested CPU for
        `auto`, at least 1) and one thread per dedicated disk. Virtio disks are spread over the
        shared threads in turn; a SCSI disk asking for its own thread gives the controller one."""
        dom, disks = self.dom_spec, self.dom_spec.devices.disks
        self.disk_threads: dict[int, int] = {}   # disk index -> IO thread (virtio disks)
        self.scsi_thread: Optional[int] = None
        dedicated = [d.HasField("dedicatedIOThread") and d.dedicatedIOThread for d in disks]
        if not dom.HasField("ioThreadsPolicy") and not any(dedicated):
            return None
        policy = dom.ioThreadsPolicy if dom.HasField("ioThreadsPolicy") else "shared"
        limit = 1
        if policy == "auto":
            res = dom.resources
            cpus = res.requests.get("cpu") or res.limits.get("cpu")
            limit = 2 * (int(quantity.parse(cpus)) if cpus else 1)
        n_dedicated = sum(dedicated)
        shared = len(disks) - n_dedicated
        if shared + n_dedicated > limit:
            shared = max(limit - n_dedicated, 1)
        next_shared, next_dedicated = 1, shared + 1
        for i, disk in enumerate(disks):
            bus = disk_target(disk, self.a)[1]
            if bus == "virtio" and dedicated[i]:
                self.disk_threads[i] = next_dedicated
                next_dedicated += 1
            elif bus == "virtio":
                self.disk_threads[i] = next_shared
                next_shared = next_shared % shared + 1
        if any(dedicated[i] and disk_target(d, self.a)[1] == "scsi" for i, d in enumerate(disks)):
            self.scsi_thread = next_shared
        return shared + n_dedicated

    def _boot_orders(self) -> dict[tuple[str, int], int]:
        """(kind, index) -> boot order. Explicit orders win; without any, disks boot in spec order."""
        out: dict[tuple[str, int], int] = {}
        items = [("disks", i, d) for i, d in enumerate(self.dom_spec.devices.disks)]
        items += [("interfaces", i, n) for i, n in enumerate(self.dom_spec.devices.interfaces)
                  if n.state != "absent"]
        for kind, i, dev in items:
            if dev.HasField("bootOrder"):   # admission: each at least 1, none used twice
                out[(kind, i)] = dev.bootOrder
        if not out:
            for i, _ in enumerate(self.dom_spec.devices.disks):
                out[("disks", i)] = i + 1
        return out

    def _disks(self, boot: dict) -> list[m.Disk]:
        names = device_names(self.vmi)
        hotplug_pending = {v.name for v in self.spec.volumes if hotpluggable(v)}
        out = []
        for i, disk in enumerate(self.dom_spec.devices.disks):
            where = f"spec.domain.devices.disks[{i}]"
            kind, bus = disk_target(disk, self.a)
            src = self.ctx.volumes.get(disk.name)
            if src is None and disk.name in hotplug_pending:
                continue  # a hotplug volume the node has not mounted yet: attached live once it is
            if src is None:
                raise ConversionError(f"{where}.name: volume {disk.name!r} was not prepared on the node")
            if kind == "lun" and src.type != "block":
                raise ConversionError(f"{where}.lun: a LUN needs a block device; volume {disk.name!r} is a file")
            if kind == "cdrom":
                readonly = disk.cdrom.readonly if disk.cdrom.HasField("readonly") else True
            else:
                readonly = getattr(disk, kind).readonly
            cache = self._cache(disk, src, where)
            io = disk.io or None
            if io == spec_facts.IO_NATIVE and cache != spec_facts.CACHE_NONE:
                # Admission refuses native with another cache asked for; here the cache was defaulted
                # to writethrough because the node's file system has no direct I/O.
                raise ConversionError(f'{where}.io: "native" needs cache "none", and the file system where '
                                      f"{src.path} is stored does not support direct I/O")
            policy = disk.errorPolicy if disk.HasField("errorPolicy") else spec_facts.DEFAULT_ERROR_POLICY
            multi_queue = self.dom_spec.devices.HasField("blockMultiQueue") and self.dom_spec.devices.blockMultiQueue
            d = m.Disk(type=src.type, device=kind,
                       model=self.virtio_model if bus == "virtio" else None,
                       driver=m.DiskDriver(name="qemu", type=src.format, cache=cache, io=io, error_policy=policy,
                                           discard=None if kind == "cdrom" else "unmap",
                                           iothread=self.disk_threads.get(i),
                                           queues=self.requested_vcpus if multi_queue and bus == "virtio" else None),
                       source=src.path, target_dev=names[disk.name], target_bus=bus,
                       target_tray=(disk.cdrom.tray or None) if kind == "cdrom" else None,
                       readonly=readonly, shareable=disk.shareable, serial=disk.serial or None,
                       boot_order=boot.get(("disks", i)), alias=m.make_alias(disk.name))
            d.logical_block_size, d.physical_block_size = self._block_size(disk, src, where)
            if kind == "lun" and disk.lun.reservation:
                if not self.ctx.pr_helper_socket:
                    raise ConversionError(f"{where}.lun.reservation: this node runs no qemu-pr-helper (the "
                                          f"{spec_facts.PERSISTENT_RESERVATION_GATE} feature gate is off on it)")
                # setReservation: an unmanaged helper, the node's, reached over its socket.
                d.reservations = m.Reservations(path=self.ctx.pr_helper_socket)
            if kind == "disk" and disk.disk.pciAddress:
                d.address = _pci_address(disk.disk.pciAddress)
            if bus == "virtio":
                self.pcie_devices += 1
            if bus == "usb":
                self.usb_needed = True
            out.append(d)
        return out

    @staticmethod
    def _block_size(disk, src: DiskSource, where: str) -> tuple[Optional[int], Optional[int]]:
        """Convert_v1_BlockSize_To_api_BlockIO: the custom sizes, or matchVolume's: the device's
        logical/physical sector sizes for a block device, the file system's block size for a file."""
        if not disk.HasField("blockSize"):
            return None, None
        bs = disk.blockSize
        if bs.HasField("custom"):
            return bs.custom.logical, bs.custom.physical
        if bs.HasField("matchVolume") and _feature_on(bs, "matchVolume", True):
            try:
                return volume_block_sizes(src)
            except OSError as e:
                raise ConversionError(f"{where}.blockSize.matchVolume: cannot read the block size of "
                                      f"{src.path}: {e}") from None
        return None, None

    def _cache(self, disk, src: DiskSource, where: str) -> str:
        if disk.cache:
            if disk.cache == spec_facts.CACHE_NONE and not src.direct_io:
                raise ConversionError(f'{where}.cache: Unable to use "none" cache mode, the file system where '
                                      f"{src.path} is stored does not support direct I/O")
            return disk.cache
        # KubeVirt's default: no host page cache when the file system allows O_DIRECT.
        return spec_facts.CACHE_NONE if src.direct_io else "writethrough"

    def _interfaces(self, boot: dict) -> list[m.Interface]:
        """Bindings (services/common/network.py): bridge -> the node's tap as an unmanaged
        `ethernet` interface; masquerade/slirp -> libvirt user-mode networking (slirp NAT)."""
        networks = {n.name: n for n in self.spec.networks}
        out = []
        for i, iface in enumerate(self.dom_spec.devices.interfaces):
            if iface.state == "absent":
                continue  # hot-unplugged (or to be): not part of the domain
            net = networks[iface.name]
            model = iface.model or spec_facts.DEFAULT_NIC_MODEL
            order = boot.get(("interfaces", i))
            nic = m.Interface(mac=iface.macAddress.replace("-", ":").lower() or None,
                              model=self.virtio_model if model == spec_facts.DEFAULT_NIC_MODEL else model,
                              link_state="down" if iface.state == "down" else None,
                              boot_order=order, rom_enabled=None if order is not None else False,
                              alias=m.make_alias(iface.name))
            kind = network.binding(iface)
            if kind == "bridge":
                nic.type, nic.target_managed = "ethernet", False
                nic.target_dev = network.tap_name(self.vmi.metadata.uid, iface.name)
            else:
                nic.type = "user"
                net4 = ipaddress.IPv4Network(net.pod.vmNetworkCIDR or network.MASQUERADE_CIDR, strict=False)
                nic.ip_address, nic.ip_prefix = str(net4.network_address), net4.prefixlen
            if iface.pciAddress:
                nic.address = _pci_address(iface.pciAddress)
            if iface.acpiIndex > 0:
                nic.acpi_index = iface.acpiIndex
            # Legacy PCI NICs still take a port (for the pcie-to-pci bridge); counting them is harmless.
            self.pcie_devices += 1
            out.append(nic)
        return out

    def _inputs(self) -> list[m.Input]:
        out = []
        for inp in self.dom_spec.devices.inputs:
            bus = inp.bus or spec_facts.AUTO_INPUT[1]
            if bus == "usb":
                self.usb_needed = True
            else:
                self.pcie_devices += 1
            out.append(m.Input(type=inp.type, bus=bus, model=self.virtio_model if bus == "virtio" else None,
                               alias=m.make_alias(inp.name) if inp.name else None))
        for t in self.a.usb_inputs:  # arm has no PS/2: give every guest a USB tablet and keyboard
            if not any(i.type == t for i in out):
                out.append(m.Input(type=t, bus="usb"))
        return out

    def _controllers(self, machine: str) -> list[m.Controller]:
        # needsSCSIController: a SCSI disk, or disk hotplug (which attaches to this controller).
        hotplug = not self.dom_spec.devices.disableHotplug
        scsi = hotplug or any(disk_target(d, self.a)[1] == "scsi" for d in self.dom_spec.devices.disks)
        out = [m.Controller("usb", 0, "qemu-xhci" if self.usb_needed else "none")]
        if scsi:
            out.append(m.Controller("scsi", 0, self.virtio_model, driver_iothread=self.scsi_thread,
                                    driver_queues=self.requested_vcpus if self.scsi_thread else None))
        out.append(m.Controller("virtio-serial", 0, self.virtio_model))   # the guest agent channel
        self.pcie_devices += (2 if scsi else 1) + (1 if self.usb_needed else 0)
        hole64 = 0 if self._pci_hole64_disabled() else None
        if self.a.is_pcie(machine):
            out.append(m.Controller("pci", 0, "pcie-root", pcihole64_kib=hole64))
            spare = self.a.pcie_spare_ports if hotplug else 0   # disableHotplug: no ports kept free
            for idx in range(1, self.pcie_devices + spare + 1):
                out.append(m.Controller("pci", idx, "pcie-root-port"))
        elif hole64 is not None:
            out.append(m.Controller("pci", 0, "pci-root", pcihole64_kib=hole64))
        return out

    def _pci_hole64_disabled(self) -> bool:
        """Annotation kubevirt.io/disablePCIHole64 (strings.EqualFold "true"), amd64 only; any other
        value, or another arch, is ignored without error, as in KubeVirt."""
        value = self.vmi.metadata.annotations.get(names.DISABLE_PCI_HOLE64_ANNOTATION, "")
        return self.g.pci_hole64_disabling and value.lower() == "true"


def volume_block_sizes(src: DiskSource) -> tuple[int, int]:
    """(logical, physical) block sizes of a disk's source: the device's for a block device (sysfs), the
    file system's block size for both on a file (getOptimalBlockIOForFile)."""
    if src.type == "block":
        dev = os.path.basename(os.path.realpath(src.path))
        q = f"/sys/class/block/{dev}/queue"
        with open(f"{q}/logical_block_size") as f:
            logical = int(f.read())
        with open(f"{q}/physical_block_size") as f:
            physical = int(f.read())
        return logical, max(logical, physical)
    size = os.statvfs(os.path.dirname(src.path) or "/").f_bsize
    return size, size


def convert(vmi, ctx: Context) -> m.Domain:
    """The libvirt domain for `vmi`; raises ConversionError naming the offending spec field."""
    return _Converter(vmi, ctx).run()
