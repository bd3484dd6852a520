"""Object model of the libvirt domain XML we emit (https://libvirt.org/formatdomain.html).

No policy lives here: every field defaults to "not set", and `to_element()` emits only what is set,
in a fixed order, so the same objects always give the same text. All decisions (defaults, arch
differences, naming) belong to `convert.py` and `archs.py`.

Booleans are bool fields; the model alone spells them yes/no or on/off, as each element wants.

Parsing back is partial on purpose (as in Nova's config.py and guest.py): what the launcher reads from a
live domain -- identity, machine, KubeVirt's metadata, and the devices it finds by alias (disks,
interfaces) or inspects (TPM) -- for hotplug, NIC sync, domain stats, migration and snapshots.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional

from services.common.domainmeta import KubevirtMetadata

USER_ALIAS_PREFIX = "ua-"


# ---------------------------------------------------------------- helpers

def _attrs(**kv) -> dict[str, str]:
    """Attributes that are set, as strings; `class_` style trailing underscores are dropped."""
    out = {}
    for k, v in kv.items():
        if v is None:
            continue
        if isinstance(v, bool):
            raise TypeError(f"attribute {k}: spell a bool with yes_no() or on_off()")
        out[k.rstrip("_")] = str(v)
    return out


def _el(tag: str, text=None, **attrs) -> ET.Element:
    e = ET.Element(tag, _attrs(**attrs))
    if text is not None:
        e.text = str(text)
    return e


def _sub(parent: ET.Element, tag: str, text=None, **attrs) -> ET.Element:
    e = _el(tag, text, **attrs)
    parent.append(e)
    return e


def yes_no(value: Optional[bool]) -> Optional[str]:
    return None if value is None else ("yes" if value else "no")


def on_off(value: Optional[bool]) -> Optional[str]:
    return None if value is None else ("on" if value else "off")


def _bool(text: Optional[str]) -> Optional[bool]:
    """yes/no or on/off (libvirt writes both) back to a bool; None when absent."""
    if text is None:
        return None
    if text in ("yes", "on"):
        return True
    if text in ("no", "off"):
        return False
    raise ValueError(f"not a libvirt boolean: {text!r}")


def _int(text: Optional[str]) -> Optional[int]:
    return None if text is None else int(text)


def device_xml(device) -> str:
    """One device's element as text, what virDomainAttachDevice and friends take."""
    return ET.tostring(device.to_element(), encoding="unicode")


def make_alias(name: str) -> str:
    """User aliases (`ua-<name>`) identify our devices in a live domain's XML."""
    return USER_ALIAS_PREFIX + name


def parse_alias(alias: Optional[str]) -> Optional[str]:
    if alias and alias.startswith(USER_ALIAS_PREFIX):
        return alias[len(USER_ALIAS_PREFIX):]
    return None


# ---------------------------------------------------------------- devices

@dataclass
class PciAddress:
    domain: str = "0x0000"
    bus: str = "0x00"
    slot: str = "0x00"
    function: str = "0x0"

    def to_element(self) -> ET.Element:
        return _el("address", type="pci", domain=self.domain, bus=self.bus, slot=self.slot,
                   function=self.function)

    @classmethod
    def from_element(cls, e: ET.Element | None) -> Optional["PciAddress"]:
        if e is None or e.get("type") != "pci":
            return None
        return cls(e.get("domain", "0x0000"), e.get("bus", "0x00"), e.get("slot", "0x00"),
                   e.get("function", "0x0"))


@dataclass
class DiskDriver:
    name: Optional[str] = None          # "qemu"
    type: Optional[str] = None          # raw | qcow2
    cache: Optional[str] = None         # none | writethrough | writeback | ...
    io: Optional[str] = None            # native | threads | io_uring
    error_policy: Optional[str] = None  # stop | report | ignore | enospace
    discard: Optional[str] = None       # unmap | ignore
    iothread: Optional[int] = None      # the <iothreads> thread serving a virtio disk
    queues: Optional[int] = None        # virtio-blk multi-queue

    def to_element(self) -> ET.Element:
        return _el("driver", name=self.name, type=self.type, cache=self.cache, io=self.io,
                   error_policy=self.error_policy, discard=self.discard, iothread=self.iothread, queues=self.queues)

    @classmethod
    def from_element(cls, e: ET.Element) -> "DiskDriver":
        return cls(e.get("name"), e.get("type"), e.get("cache"), e.get("io"), e.get("error_policy"),
                   e.get("discard"), _int(e.get("iothread")), _int(e.get("queues")))


@dataclass
class Reservations:
    """SCSI persistent reservations of a LUN (<source><reservations>): `managed="no"` hands the
    PERSISTENT RESERVE commands to a qemu-pr-helper listening on `path` (libvirt connects as client)."""
    path: str
    managed: bool = False
    mode: str = "client"

    def to_element(self) -> ET.Element:
        e = _el("reservations", managed=yes_no(self.managed))
        _sub(e, "source", type="unix", path=self.path, mode=self.mode)
        return e

    @classmethod
    def from_element(cls, e: Optional[ET.Element]) -> Optional["Reservations"]:
        if e is None:
            return None
        src = e.find("source")
        return cls(path=src.get("path", "") if src is not None else "", managed=bool(_bool(e.get("managed"))),
                   mode=src.get("mode", "client") if src is not None else "client")


@dataclass
class Disk:
    type: str = "file"                  # file | block
    device: str = "disk"                # disk | cdrom | lun
    model: Optional[str] = None         # virtio-non-transitional (virtio bus only)
    driver: Optional[DiskDriver] = None
    source: Optional[str] = None        # file path (type file) or device path (type block)
    target_dev: Optional[str] = None
    target_bus: Optional[str] = None
    target_tray: Optional[str] = None   # open | closed (cdrom)
    readonly: bool = False
    shareable: bool = False
    serial: Optional[str] = None
    boot_order: Optional[int] = None
    alias: Optional[str] = None
    address: Optional[PciAddress] = None
    logical_block_size: Optional[int] = None   # <blockio>
    physical_block_size: Optional[int] = None
    reservations: Optional[Reservations] = None

    def to_element(self) -> ET.Element:
        e = _el("disk", type=self.type, device=self.device, model=self.model)
        if self.driver is not None:
            e.append(self.driver.to_element())
        if self.source is not None:
            src = _sub(e, "source", **({"dev": self.source} if self.type == "block" else {"file": self.source}))
            if self.reservations is not None:
                src.append(self.reservations.to_element())
        if self.target_dev or self.target_bus:
            _sub(e, "target", dev=self.target_dev, bus=self.target_bus, tray=self.target_tray)
        if self.readonly:
            _sub(e, "readonly")
        if self.shareable:
            _sub(e, "shareable")
        if self.serial is not None:
            _sub(e, "serial", self.serial)
        if self.logical_block_size is not None or self.physical_block_size is not None:
            _sub(e, "blockio", logical_block_size=self.logical_block_size,
                 physical_block_size=self.physical_block_size)
        if self.boot_order is not None:
            _sub(e, "boot", order=self.boot_order)
        if self.alias is not None:
            _sub(e, "alias", name=self.alias)
        if self.address is not None:
            e.append(self.address.to_element())
        return e

    @classmethod
    def from_element(cls, e: ET.Element) -> "Disk":
        d = cls(type=e.get("type", "file"), device=e.get("device", "disk"), model=e.get("model"))
        if (drv := e.find("driver")) is not None:
            d.driver = DiskDriver.from_element(drv)
        if (src := e.find("source")) is not None:
            d.source = src.get("dev") if d.type == "block" else src.get("file")
            d.reservations = Reservations.from_element(src.find("reservations"))
        if (bio := e.find("blockio")) is not None:
            d.logical_block_size = _int(bio.get("logical_block_size"))
            d.physical_block_size = _int(bio.get("physical_block_size"))
        if (tgt := e.find("target")) is not None:
            d.target_dev, d.target_bus, d.target_tray = tgt.get("dev"), tgt.get("bus"), tgt.get("tray")
        d.readonly = e.find("readonly") is not None
        d.shareable = e.find("shareable") is not None
        if (ser := e.find("serial")) is not None:
            d.serial = ser.text or ""
        if (boot := e.find("boot")) is not None:
            d.boot_order = _int(boot.get("order"))
        if (alias := e.find("alias")) is not None:
            d.alias = alias.get("name")
        d.address = PciAddress.from_element(e.find("address"))
        return d


@dataclass
class Controller:
    type: str                           # usb | scsi | virtio-serial | pci | sata
    index: Optional[int] = None
    model: Optional[str] = None
    pcihole64_kib: Optional[int] = None  # <pcihole64 unit="KiB"> on the pci(e)-root
    driver_iothread: Optional[int] = None  # virtio-scsi: the IO thread and queues of the controller
    driver_queues: Optional[int] = None

    def to_element(self) -> ET.Element:
        e = _el("controller", type=self.type, index=self.index, model=self.model)
        if self.driver_iothread is not None or self.driver_queues is not None:
            _sub(e, "driver", iothread=self.driver_iothread, queues=self.driver_queues)
        if self.pcihole64_kib is not None:
            _sub(e, "pcihole64", self.pcihole64_kib, unit="KiB")
        return e


@dataclass
class VcpuSlot:
    id: int
    enabled: bool
    hotpluggable: bool

    def to_element(self) -> ET.Element:
        return _el("vcpu", id=self.id, enabled=yes_no(self.enabled), hotpluggable=yes_no(self.hotpluggable))


@dataclass
class Interface:
    type: str = "user"                  # user | ethernet | bridge | network
    mac: Optional[str] = None
    source_bridge: Optional[str] = None
    target_dev: Optional[str] = None    # ethernet: the tap the node created
    target_managed: Optional[bool] = None  # False: libvirt opens that tap instead of creating one
    ip_address: Optional[str] = None    # user: the slirp network's address and prefix
    ip_prefix: Optional[int] = None
    model: Optional[str] = None
    link_state: Optional[str] = None    # up | down
    boot_order: Optional[int] = None
    rom_enabled: Optional[bool] = None
    alias: Optional[str] = None
    address: Optional[PciAddress] = None
    acpi_index: Optional[int] = None    # <acpi index>: the guest's stable NIC name (eno<N>)

    def to_element(self) -> ET.Element:
        e = _el("interface", type=self.type)
        if self.mac is not None:
            _sub(e, "mac", address=self.mac)
        if self.source_bridge is not None:
            _sub(e, "source", bridge=self.source_bridge)
        if self.ip_address is not None:
            _sub(e, "ip", family="ipv4", address=self.ip_address, prefix=self.ip_prefix)
        if self.target_dev is not None:
            _sub(e, "target", dev=self.target_dev, managed=yes_no(self.target_managed))
        if self.model is not None:
            _sub(e, "model", type=self.model)
        if self.link_state is not None:
            _sub(e, "link", state=self.link_state)
        if self.boot_order is not None:
            _sub(e, "boot", order=self.boot_order)
        if self.rom_enabled is not None:
            _sub(e, "rom", enabled=yes_no(self.rom_enabled))
        if self.alias is not None:
            _sub(e, "alias", name=self.alias)
        if self.acpi_index is not None:
            _sub(e, "acpi", index=self.acpi_index)
        if self.address is not None:
            e.append(self.address.to_element())
        return e

    @classmethod
    def from_element(cls, e: ET.Element) -> "Interface":
        i = cls(type=e.get("type", "user"))
        if (mac := e.find("mac")) is not None:
            i.mac = mac.get("address")
        if (src := e.find("source")) is not None:
            i.source_bridge = src.get("bridge")
        if (ip := e.find("ip")) is not None:
            i.ip_address, i.ip_prefix = ip.get("address"), _int(ip.get("prefix"))
        if (target := e.find("target")) is not None:
            i.target_dev, i.target_managed = target.get("dev"), _bool(target.get("managed"))
        if (m := e.find("model")) is not None:
            i.model = m.get("type")
        if (link := e.find("link")) is not None:
            i.link_state = link.get("state")
        if (boot := e.find("boot")) is not None:
            i.boot_order = _int(boot.get("order"))
        if (rom := e.find("rom")) is not None:
            i.rom_enabled = _bool(rom.get("enabled"))
        if (alias := e.find("alias")) is not None:
            i.alias = alias.get("name")
        if (acpi := e.find("acpi")) is not None:
            i.acpi_index = _int(acpi.get("index"))
        i.address = PciAddress.from_element(e.find("address"))
        return i


@dataclass
class Serial:
    type: str = "pty"                   # pty | unix | file
    source_mode: Optional[str] = None   # bind | connect (unix)
    source_path: Optional[str] = None
    target_port: Optional[int] = None
    log_file: Optional[str] = None
    log_append: Optional[bool] = None

    def to_element(self) -> ET.Element:
        e = _el("serial", type=self.type)
        if self.source_mode is not None or self.source_path is not None:
            _sub(e, "source", mode=self.source_mode, path=self.source_path)
        if self.target_port is not None:
            _sub(e, "target", port=self.target_port)
        if self.log_file is not None:
            _sub(e, "log", file=self.log_file, append=on_off(self.log_append))
        return e


@dataclass
class Console:
    type: str = "pty"
    target_type: Optional[str] = None   # serial | virtio
    target_port: Optional[int] = None

    def to_element(self) -> ET.Element:
        e = _el("console", type=self.type)
        if self.target_type is not None or self.target_port is not None:
            _sub(e, "target", type=self.target_type, port=self.target_port)
        return e


@dataclass
class Channel:
    type: str = "unix"
    source_mode: Optional[str] = None
    source_path: Optional[str] = None
    target_type: Optional[str] = None   # virtio
    target_name: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("channel", type=self.type)
        if self.source_mode is not None or self.source_path is not None:
            _sub(e, "source", mode=self.source_mode, path=self.source_path)
        _sub(e, "target", type=self.target_type, name=self.target_name)
        return e


@dataclass
class Input:
    type: str                           # tablet | keyboard | mouse
    bus: Optional[str] = None           # usb | virtio
    model: Optional[str] = None
    alias: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("input", type=self.type, bus=self.bus, model=self.model)
        if self.alias is not None:
            _sub(e, "alias", name=self.alias)
        return e


@dataclass
class Graphics:
    type: str = "vnc"
    listen_type: Optional[str] = None   # socket | none | address
    listen_socket: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("graphics", type=self.type)
        if self.listen_type is not None:
            _sub(e, "listen", type=self.listen_type, socket=self.listen_socket)
        return e


@dataclass
class Video:
    model_type: str                     # vga | bochs | virtio
    heads: Optional[int] = None
    vram: Optional[int] = None

    def to_element(self) -> ET.Element:
        e = _el("video")
        _sub(e, "model", type=self.model_type, heads=self.heads, vram=self.vram)
        return e


@dataclass
class Tpm:
    model: str                          # tpm-tis | tpm-crb
    backend_type: str = "emulator"
    backend_version: Optional[str] = None
    persistent_state: Optional[bool] = None  # the emulator keeps its state across restarts

    def to_element(self) -> ET.Element:
        e = _el("tpm", model=self.model)
        _sub(e, "backend", type=self.backend_type, version=self.backend_version,
             persistent_state=yes_no(self.persistent_state))
        return e

    @classmethod
    def from_element(cls, e: ET.Element) -> "Tpm":
        t = cls(model=e.get("model", ""))
        if (b := e.find("backend")) is not None:
            t.backend_type, t.backend_version = b.get("type", "emulator"), b.get("version")
            t.persistent_state = _bool(b.get("persistent_state"))
        return t


@dataclass
class Rng:
    model: str = "virtio"
    backend_model: str = "random"
    backend_path: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("rng", model=self.model)
        _sub(e, "backend", self.backend_path, model=self.backend_model)
        return e


@dataclass
class Watchdog:
    model: str                          # i6300esb
    action: Optional[str] = None        # poweroff | reset | shutdown
    alias: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("watchdog", model=self.model, action=self.action)
        if self.alias is not None:
            _sub(e, "alias", name=self.alias)
        return e


@dataclass
class Sound:
    model: str                          # ich9 | ac97
    alias: Optional[str] = None

    def to_element(self) -> ET.Element:
        e = _el("sound", model=self.model)
        if self.alias is not None:
            _sub(e, "alias", name=self.alias)
        return e


@dataclass
class Panic:
    model: Optional[str] = None         # isa | hyperv (libvirt 9.0)

    def to_element(self) -> ET.Element:
        return _el("panic", model=self.model)


@dataclass
class Memballoon:
    model: str = "none"
    free_page_reporting: Optional[bool] = None
    stats_period: Optional[int] = None

    def to_element(self) -> ET.Element:
        e = _el("memballoon", model=self.model, freePageReporting=on_off(self.free_page_reporting))
        if self.stats_period is not None:
            _sub(e, "stats", period=self.stats_period)
        return e


@dataclass
class Devices:
    emulator: Optional[str] = None
    disks: list[Disk] = field(default_factory=list)
    controllers: list[Controller] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    serials: list[Serial] = field(default_factory=list)
    consoles: list[Console] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    graphics: list[Graphics] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    tpms: list[Tpm] = field(default_factory=list)
    sounds: list[Sound] = field(default_factory=list)
    watchdogs: list[Watchdog] = field(default_factory=list)
    memballoon: Optional[Memballoon] = None
    rngs: list[Rng] = field(default_factory=list)
    panics: list[Panic] = field(default_factory=list)

    def to_element(self) -> ET.Element:
        e = _el("devices")
        if self.emulator is not None:
            _sub(e, "emulator", self.emulator)
        for group in (self.disks, self.controllers, self.interfaces, self.serials, self.consoles,
                      self.channels, self.inputs, self.graphics, self.sounds, self.videos, self.watchdogs,
                      self.tpms):
            for dev in group:
                e.append(dev.to_element())
        if self.memballoon is not None:
            e.append(self.memballoon.to_element())
        for rng in self.rngs:
            e.append(rng.to_element())
        for panic in self.panics:
            e.append(panic.to_element())
        return e


# ---------------------------------------------------------------- domain-level elements

@dataclass
class Loader:
    path: str
    readonly: Optional[bool] = None
    secure: Optional[bool] = None
    type: Optional[str] = None          # pflash | rom

    def to_element(self) -> ET.Element:
        return _el("loader", self.path, readonly=yes_no(self.readonly), secure=yes_no(self.secure), type=self.type)


@dataclass
class Nvram:
    path: Optional[str] = None
    template: Optional[str] = None

    def to_element(self) -> ET.Element:
        return _el("nvram", self.path, template=self.template)


@dataclass
class Os:
    arch: Optional[str] = None
    machine: Optional[str] = None
    type: str = "hvm"
    loader: Optional[Loader] = None
    nvram: Optional[Nvram] = None
    kernel: Optional[str] = None
    initrd: Optional[str] = None
    cmdline: Optional[str] = None
    boot_devs: list[str] = field(default_factory=list)
    bios_useserial: Optional[bool] = None
    smbios_mode: Optional[str] = None     # sysinfo | host | emulate

    def to_element(self) -> ET.Element:
        e = _el("os")
        _sub(e, "type", self.type, arch=self.arch, machine=self.machine)
        if self.loader is not None:
            e.append(self.loader.to_element())
        if self.nvram is not None:
            e.append(self.nvram.to_element())
        for tag, value in (("kernel", self.kernel), ("initrd", self.initrd), ("cmdline", self.cmdline)):
            if value is not None:
                _sub(e, tag, value)
        for dev in self.boot_devs:
            _sub(e, "boot", dev=dev)
        if self.bios_useserial is not None:
            _sub(e, "bios", useserial=yes_no(self.bios_useserial))
        if self.smbios_mode is not None:
            _sub(e, "smbios", mode=self.smbios_mode)
        return e


@dataclass
class Sysinfo:
    type: str = "smbios"
    system: list[tuple[str, str]] = field(default_factory=list)  # <system><entry name=...>value
    chassis: list[tuple[str, str]] = field(default_factory=list)  # <chassis><entry name=...>value

    def to_element(self) -> ET.Element:
        e = _el("sysinfo", type=self.type)
        for tag, entries in (("system", self.system), ("chassis", self.chassis)):
            if entries:
                s = _sub(e, tag)
                for name, value in entries:
                    _sub(s, "entry", value, name=name)
        return e


@dataclass
class HypervFeature:
    """One Hyper-V enlightenment: <relaxed state="on"/>, <spinlocks state="on" retries="8191"/>,
    <vendor_id state="on" value="..."/>, <stimer state="on"><direct state="on"/></stimer>."""
    name: str
    state: bool
    retries: Optional[int] = None       # spinlocks
    value: Optional[str] = None         # vendor_id
    direct: Optional[bool] = None       # stimer: <direct state>

    def to_element(self) -> ET.Element:
        e = _el(self.name, state=on_off(self.state), retries=self.retries, value=self.value)
        if self.direct is not None:
            _sub(e, "direct", state=on_off(self.direct))
        return e


@dataclass
class Hyperv:
    mode: Optional[str] = None          # custom | passthrough
    features: list[HypervFeature] = field(default_factory=list)

    def to_element(self) -> ET.Element:
        e = _el("hyperv", mode=self.mode)
        for f in self.features:
            e.append(f.to_element())
        return e


@dataclass
class Features:
    acpi: bool = False
    apic: bool = False
    apic_eoi: Optional[bool] = None     # <apic eoi="on|off">
    hyperv: Optional[Hyperv] = None
    kvm_hidden: Optional[bool] = None   # <kvm><hidden state="on|off"/></kvm>
    pvspinlock: Optional[bool] = None
    smm: Optional[bool] = None
    vmport: Optional[bool] = None
    gic_version: Optional[str] = None   # 2 | 3 | host (arm)

    def to_element(self) -> ET.Element:
        e = _el("features")
        if self.acpi:
            _sub(e, "acpi")
        if self.apic:
            _sub(e, "apic", eoi=on_off(self.apic_eoi))
        if self.hyperv is not None:
            e.append(self.hyperv.to_element())
        if self.kvm_hidden is not None:
            _sub(_sub(e, "kvm"), "hidden", state=on_off(self.kvm_hidden))
        if self.pvspinlock is not None:
            _sub(e, "pvspinlock", state=on_off(self.pvspinlock))
        if self.smm is not None:
            _sub(e, "smm", state=on_off(self.smm))
        if self.vmport is not None:
            _sub(e, "vmport", state=on_off(self.vmport))
        if self.gic_version is not None:
            _sub(e, "gic", version=self.gic_version)
        return e

    def empty(self) -> bool:
        return not (self.acpi or self.apic or self.hyperv) and all(
            v is None for v in (self.kvm_hidden, self.pvspinlock, self.smm, self.vmport, self.gic_version))


@dataclass
class CpuFeature:
    name: str
    policy: str = "require"


@dataclass
class Cpu:
    mode: Optional[str] = None          # custom | host-model | host-passthrough | maximum
    model: Optional[str] = None
    sockets: Optional[int] = None
    cores: Optional[int] = None
    threads: Optional[int] = None
    features: list[CpuFeature] = field(default_factory=list)

    def to_element(self) -> ET.Element:
        e = _el("cpu", mode=self.mode)
        if self.model is not None:
            _sub(e, "model", self.model)
        if self.sockets is not None or self.cores is not None or self.threads is not None:
            _sub(e, "topology", sockets=self.sockets, cores=self.cores, threads=self.threads)
        for f in self.features:
            _sub(e, "feature", policy=f.policy, name=f.name)
        return e


@dataclass
class Timer:
    name: str                           # rtc | pit | hpet | kvmclock | hypervclock
    present: Optional[bool] = None
    tickpolicy: Optional[str] = None    # delay | catchup | merge | discard
    track: Optional[str] = None         # guest | wall (rtc)

    def to_element(self) -> ET.Element:
        return _el("timer", name=self.name, tickpolicy=self.tickpolicy, track=self.track, present=yes_no(self.present))


@dataclass
class Clock:
    offset: str = "utc"                 # utc | timezone | variable | localtime
    adjustment: Optional[str] = None    # seconds, or "reset"
    timezone: Optional[str] = None
    timers: list[Timer] = field(default_factory=list)

    def to_element(self) -> ET.Element:
        e = _el("clock", offset=self.offset, adjustment=self.adjustment, timezone=self.timezone)
        for t in self.timers:
            e.append(t.to_element())
        return e


@dataclass
class Domain:
    type: str                           # qemu | kvm | test
    name: str
    uuid: Optional[str] = None
    metadata: Optional[KubevirtMetadata] = None
    memory_bytes: Optional[int] = None
    vcpus: Optional[int] = None
    vcpu_placement: Optional[str] = None
    vcpu_slots: list[VcpuSlot] = field(default_factory=list)  # <vcpus> (CPU hotplug layout)
    iothreads: Optional[int] = None     # <iothreads>: IO threads disks and controllers are pinned to
    sysinfo: Optional[Sysinfo] = None
    os: Os = field(default_factory=Os)
    features: Features = field(default_factory=Features)
    cpu: Optional[Cpu] = None
    clock: Optional[Clock] = None
    on_poweroff: Optional[str] = None
    on_reboot: Optional[str] = None
    on_crash: Optional[str] = None
    devices: Devices = field(default_factory=Devices)

    def to_element(self) -> ET.Element:
        e = _el("domain", type=self.type)
        _sub(e, "name", self.name)
        if self.uuid is not None:
            _sub(e, "uuid", self.uuid)
        if self.metadata is not None:
            _sub(e, "metadata").append(self.metadata.to_element())
        if self.memory_bytes is not None:
            _sub(e, "memory", self.memory_bytes, unit="b")
        if self.vcpus is not None:
            _sub(e, "vcpu", self.vcpus, placement=self.vcpu_placement)
        if self.vcpu_slots:
            slots = _sub(e, "vcpus")
            for v in self.vcpu_slots:
                slots.append(v.to_element())
        if self.iothreads is not None:
            _sub(e, "iothreads", self.iothreads)
        if self.sysinfo is not None:
            e.append(self.sysinfo.to_element())
        e.append(self.os.to_element())
        if not self.features.empty():
            e.append(self.features.to_element())
        if self.cpu is not None:
            e.append(self.cpu.to_element())
        if self.clock is not None:
            e.append(self.clock.to_element())
        for tag in ("on_poweroff", "on_reboot", "on_crash"):
            if getattr(self, tag) is not None:
                _sub(e, tag, getattr(self, tag))
        e.append(self.devices.to_element())
        return e

    def to_xml(self) -> str:
        root = self.to_element()
        ET.indent(root, space="  ")
        return ET.tostring(root, encoding="unicode") + "\n"

    @classmethod
    def from_xml(cls, text: str) -> "Domain":
        """Partial parse of a (live) domain: identity, machine, KubeVirt's metadata, and the devices the
        launcher reads back (disks, interfaces, TPMs); what it does not model is left out."""
        root = ET.fromstring(text)
        dom = cls(type=root.get("type", ""), name=root.findtext("name", ""), uuid=root.findtext("uuid"))
        dom.metadata = KubevirtMetadata.find_in(root.find("metadata"))
        t = root.find("os/type")
        if t is not None:
            dom.os = Os(arch=t.get("arch"), machine=t.get("machine"), type=t.text or "hvm")
        dom.devices = Devices(emulator=root.findtext("devices/emulator"),
                              disks=[Disk.from_element(d) for d in root.findall("devices/disk")],
                              interfaces=[Interface.from_element(i) for i in root.findall("devices/interface")],
                              tpms=[Tpm.from_element(t) for t in root.findall("devices/tpm")])
        return dom

    def user_disks(self) -> dict[str, Disk]:
        """Volume name -> disk, for the disks carrying a `ua-` alias (ours, named after their volume)."""
        return {name: d for d in self.devices.disks if (name := parse_alias(d.alias))}

    def user_interfaces(self) -> dict[str, Interface]:
        """Interface name -> interface, for the interfaces carrying a `ua-` alias."""
        return {name: i for i in self.devices.interfaces if (name := parse_alias(i.alias))}

    def disk_by_alias(self, alias: str) -> Optional[Disk]:
        return next((d for d in self.devices.disks if d.alias == alias), None)

    def interface_by_alias(self, alias: str) -> Optional[Interface]:
        return next((i for i in self.devices.interfaces if i.alias == alias), None)
