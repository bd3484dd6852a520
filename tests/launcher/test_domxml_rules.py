"""One test per converter rule: VMI spec in, the relevant bit of domain XML (or error) out."""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from services.common import network, proto
from services.launcher.domxml import archs, convert
from services.launcher.domxml.convert import ConversionError
from services.launcher.storage import DiskSource


def vmi(arch="amd64", memory="128Mi", disks=(), volumes=None, interfaces=(), networks=None, **domain):
    """A VMI built directly from dicts (the manifest path is covered by the golden tests)."""
    from services.common import manifest
    dom = {"memory": memory if isinstance(memory, dict) else {"guest": memory}} if memory else {}
    dom.update(domain)
    dom.setdefault("devices", {})
    if disks:
        dom["devices"]["disks"] = list(disks)
    if interfaces:
        dom["devices"]["interfaces"] = list(interfaces)
    spec = {"architecture": arch, "domain": dom}
    if volumes is None:
        volumes = [{"name": d["name"], "emptyDisk": {"capacity": "1Gi"}} for d in disks]
    if volumes:
        spec["volumes"] = volumes
    if networks is None:
        networks = [{"name": i["name"], "pod": {}} for i in interfaces]
    if networks:
        spec["networks"] = networks
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "t", "namespace": "ns", "uid": "uid-1"}, "spec": spec}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def ctx(v=None, domain_type="qemu", **kw):
    vols = {}
    if v is not None:
        vols = {d.name: DiskSource(f"/images/{d.name}.qcow2", "qcow2") for d in v.spec.domain.devices.disks}
    kw.setdefault("check_firmware", False)
    return convert.Context(domain_type=domain_type, volumes=kw.pop("volumes", vols), **kw)


def xml_of(v, **kw) -> ET.Element:
    return ET.fromstring(convert.convert(v, ctx(v, **kw)).to_xml())


def error_of(v, **kw) -> str:
    with pytest.raises(ConversionError) as e:
        convert.convert(v, ctx(v, **kw))
    return str(e.value)


# ---------------------------------------------------------------- identity and memory

def test_name_metadata_uuid():
    root = xml_of(vmi(firmware={"uuid": "0D2A2043-41C0-4A79-9C38-1C6E5D0BD5B1"}))
    assert root.findtext("name") == "ns_t"
    assert root.findtext("uuid") == "0d2a2043-41c0-4a79-9c38-1c6e5d0bd5b1"
    assert root.findtext("metadata/{http://kubevirt.io}kubevirt/{http://kubevirt.io}uid") == "uid-1"
    assert xml_of(vmi()).find("uuid") is None


@pytest.mark.parametrize("domain, expected", [
    ({"memory": {"guest": "128Mi"}}, 128 << 20),
    ({"memory": {"guest": "1Gi"}, "resources": {"requests": {"memory": "64Mi"}}}, 1 << 30),  # guest wins
    ({"resources": {"requests": {"memory": "64Mi"}}}, 64 << 20),
    ({"resources": {"requests": {"memory": "128M"}}}, 128_000_000),                          # decimal SI
    ({"resources": {"limits": {"memory": "2Gi"}}}, 2 << 30),
    ({"resources": {"requests": {"memory": "1.5Gi"}}}, 3 << 29),
])
def test_memory_sources_and_quantities(domain, expected):
    root = xml_of(vmi(**{"memory": None, **domain}))
    mem = root.find("memory")
    assert (mem.get("unit"), int(mem.text)) == ("b", expected)


# ---------------------------------------------------------------- cpu

def test_topology_and_vcpus():
    root = xml_of(vmi(cpu={"sockets": 2, "cores": 3, "threads": 2}))
    assert root.findtext("vcpu") == "12" and root.find("vcpu").get("placement") == "static"
    assert root.find("cpu/topology").attrib == {"sockets": "2", "cores": "3", "threads": "2"}


def test_vcpus_from_cpu_resources_when_no_topology():
    root = xml_of(vmi(resources={"requests": {"cpu": "1500m"}, "limits": {"cpu": "3"}}))
    assert root.findtext("vcpu") == "3"  # limits first, rounded up
    assert xml_of(vmi(resources={"requests": {"cpu": "1500m"}})).findtext("vcpu") == "2"
    assert xml_of(vmi()).findtext("vcpu") == "1"


@pytest.mark.parametrize("arch, model, domain_type, mode, named", [
    ("amd64", "", "qemu", None, None),                     # QEMU's default (qemu64) under TCG
    ("amd64", "", "kvm", "host-model", None),
    ("arm64", "", "qemu", "custom", "cortex-a57"),
    ("arm64", "", "kvm", "host-passthrough", None),
    ("amd64", "host-model", "qemu", "host-model", None),   # libvirt expands it for TCG
    ("amd64", "host-passthrough", "qemu", "maximum", None),  # no host CPU under TCG: -cpu max
    ("arm64", "host-model", "qemu", "custom", "cortex-a57"),      # TCG stand-in for the host CPU
    ("arm64", "host-passthrough", "qemu", "custom", "cortex-a57"),  # KubeVirt's arm64 default
    ("arm64", "host-passthrough", "kvm", "host-passthrough", None),
    ("amd64", "Skylake-Client", "qemu", "custom", "Skylake-Client"),
    ("arm64", "cortex-a72", "qemu", "custom", "cortex-a72"),
    ("amd64", "", "test", None, None),                     # the test driver is treated like TCG
])
def test_cpu_model_policy(arch, model, domain_type, mode, named):
    cpu = {"model": model} if model else {}
    root = xml_of(vmi(arch, cpu=cpu), domain_type=domain_type)
    assert root.get("type") == domain_type
    assert root.find("cpu").get("mode") == mode
    assert root.findtext("cpu/model") == named


def test_cpu_features():
    root = xml_of(vmi(cpu={"model": "Haswell", "features": [{"name": "pcid"}, {"name": "x2apic", "policy": "disable"}]}))
    assert [f.attrib for f in root.findall("cpu/feature")] == [
        {"policy": "require", "name": "pcid"}, {"policy": "disable", "name": "x2apic"}]


def test_gic_v3_above_eight_arm_vcpus():
    assert xml_of(vmi("arm64", cpu={"cores": 8})).find("features/gic") is None
    assert xml_of(vmi("arm64", cpu={"cores": 9})).find("features/gic").get("version") == "3"
    assert xml_of(vmi("amd64", cpu={"cores": 16})).find("features/gic") is None


# ---------------------------------------------------------------- os, firmware, machine

def test_machine_type_and_arch():
    root = xml_of(vmi())
    assert root.find("os/type").attrib == {"arch": "x86_64", "machine": "q35"}
    assert root.findtext("devices/emulator") == "/usr/bin/qemu-system-x86_64"
    root = xml_of(vmi("arm64"))
    assert root.find("os/type").attrib == {"arch": "aarch64", "machine": "virt"}
    assert root.findtext("devices/emulator") == "/usr/bin/qemu-system-aarch64"
    assert xml_of(vmi(machine={"type": "pc-q35-7.2"})).find("os/type").get("machine") == "pc-q35-7.2"


def test_never_os_boot_dev():
    for v in (vmi(), vmi(disks=[{"name": "a", "disk": {}}]), vmi("arm64")):
        assert xml_of(v).find("os/boot") is None


def test_kernel_boot():
    v = vmi(firmware={"kernelBoot": {"kernelArgs": "console=ttyS0 x=1",
                                     "container": {"image": "/g", "kernelPath": "/k", "initrdPath": "/i"}}})
    root = xml_of(v, kernel="/g/k", initrd="/g/i")
    assert [root.findtext(f"os/{t}") for t in ("kernel", "initrd", "cmdline")] == ["/g/k", "/g/i", "console=ttyS0 x=1"]
    assert root.find("os/loader") is None
    root = xml_of(v, kernel="/g/k")
    assert root.find("os/initrd") is None
    # The node's fact: the kernel the spec names was not prepared (storage.py resolves it).
    assert error_of(v) == ("spec.domain.firmware.kernelBoot.container.kernelPath: the kernel was not prepared "
                           "on the node")


def test_bios_use_serial():
    assert xml_of(vmi(firmware={"bootloader": {"bios": {"useSerial": True}}})).find("os/bios").get("useserial") == "yes"
    assert xml_of(vmi(firmware={"bootloader": {"bios": {}}})).find("os/bios") is None


def test_efi_loader_nvram_and_secure_boot():
    root = xml_of(vmi(firmware={"bootloader": {"efi": {"secureBoot": False}}}), nvram_dir="/vms/u")
    loader = root.find("os/loader")
    assert loader.attrib == {"readonly": "yes", "secure": "no", "type": "pflash"}
    assert loader.text == archs.ARCHS["amd64"].efi.code
    assert root.find("os/nvram").text == "/vms/u/t_VARS.fd"
    assert root.find("os/nvram").get("template") == archs.ARCHS["amd64"].efi.vars
    assert root.find("features/smm") is None
    # secureBoot defaults to true on amd64 (KubeVirt), and needs SMM
    root = xml_of(vmi(firmware={"bootloader": {"efi": {}}}))
    assert root.find("os/loader").get("secure") == "yes"
    assert root.find("os/loader").text == archs.ARCHS["amd64"].efi_secure.code
    assert root.find("features/smm").get("state") == "on"
    assert root.find("os/nvram").text is None  # no nvram_dir: libvirt's default location


def test_arm64_defaults_to_efi_unless_kernel_boot():
    root = xml_of(vmi("arm64"))
    assert root.find("os/loader").text == archs.ARCHS["arm64"].efi.code
    assert root.find("os/loader").get("secure") == "no"
    assert root.find("features/acpi") is not None
    kb = vmi("arm64", firmware={"kernelBoot": {"container": {"image": "/g", "kernelPath": "/k"}}})
    root = xml_of(kb, kernel="/g/k")
    assert root.find("os/loader") is None
    assert root.find("features/acpi") is None  # ACPI on aarch64 comes from UEFI
    assert xml_of(vmi()).find("os/loader") is None  # amd64: SeaBIOS by default


def test_missing_firmware_is_reported(monkeypatch):
    bad = dataclasses.replace(archs.ARCHS["amd64"], efi=archs.Firmware("/nonexistent/CODE.fd", "/nonexistent/VARS.fd"))
    monkeypatch.setitem(archs.ARCHS, "amd64", bad)
    v = vmi(firmware={"bootloader": {"efi": {"secureBoot": False}}})
    msg = error_of(v, check_firmware=True)
    assert msg.startswith("spec.domain.firmware.bootloader.efi: EFI firmware missing on the node for SecureBoot=false")
    assert "/nonexistent/CODE.fd" in msg
    xml_of(v, check_firmware=True, domain_type="test")  # the test driver loads no firmware


def test_sysinfo_smbios_amd64_only():
    root = xml_of(vmi(firmware={"uuid": "0d2a2043-41c0-4a79-9c38-1c6e5d0bd5b1", "serial": "S1"}))
    assert [(e.get("name"), e.text) for e in root.findall("sysinfo/system/entry")] == [
        ("uuid", "0d2a2043-41c0-4a79-9c38-1c6e5d0bd5b1"), ("serial", "S1")]
    assert root.find("os/smbios").get("mode") == "sysinfo"
    assert xml_of(vmi()).find("sysinfo") is None
    root = xml_of(vmi("arm64", firmware={"serial": "S1"}))
    assert root.find("sysinfo") is None and root.find("os/smbios") is None


# ---------------------------------------------------------------- features and clock

def test_features_defaults_and_overrides():
    f = xml_of(vmi()).find("features")
    assert [c.tag for c in f] == ["acpi", "apic", "vmport"] and f.find("vmport").get("state") == "off"
    f = xml_of(vmi(features={"acpi": {"enabled": False}, "apic": {"enabled": False}, "smm": {}})).find("features")
    assert [c.tag for c in f] == ["smm", "vmport"]
    f = xml_of(vmi("arm64")).find("features")
    assert [c.tag for c in f] == ["acpi"]  # no apic, no vmport on arm


@pytest.mark.parametrize("clock, attrib", [
    (None, {"offset": "utc"}),
    ({"utc": {}}, {"offset": "utc", "adjustment": "reset"}),   # Convert_v1_Clock_To_api_Clock
    ({"utc": {"offsetSeconds": -120}}, {"offset": "utc", "adjustment": "-120"}),
    ({"timezone": "America/New_York"}, {"offset": "timezone", "timezone": "America/New_York"}),
])
def test_clock(clock, attrib):
    v = vmi(clock=clock) if clock is not None else vmi()
    assert xml_of(v).find("clock").attrib == attrib


# ---------------------------------------------------------------- disks

def test_format_device_name():
    names = [convert.format_device_name("vd", i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)]
    assert names == ["vda", "vdb", "vdz", "vdaa", "vdab", "vdaz", "vdba", "vdzz", "vdaaa"]


def test_device_names_per_prefix_in_order_of_appearance():
    disks = [{"name": "a", "disk": {"bus": "virtio"}}, {"name": "b", "disk": {"bus": "sata"}},
             {"name": "c", "disk": {"bus": "scsi"}}, {"name": "d", "disk": {"bus": "virtio"}},
             {"name": "e", "disk": {"bus": "usb"}}, {"name": "f", "cdrom": {}}, {"name": "g", "disk": {}},
             {"name": "h"}]
    v = vmi(disks=disks)
    expected = {"a": "vda", "b": "sda", "c": "sdb", "d": "vdb", "e": "sdc", "f": "sdd", "g": "sde", "h": "sdf"}
    assert convert.device_names(v) == expected
    root = xml_of(v)
    assert {d.find("alias").get("name"): d.find("target").get("dev") for d in root.findall("devices/disk")} == {
        f"ua-{k}": dev for k, dev in expected.items()}
    # arm64 defaults: disks on virtio, CD-ROMs on scsi
    arm = vmi("arm64", disks=[{"name": "a", "disk": {}}, {"name": "b", "cdrom": {}}, {"name": "c", "disk": {}}])
    assert convert.device_names(arm) == {"a": "vda", "b": "sda", "c": "vdb"}


def test_disk_driver_alias_and_flags():
    disks = [{"name": "root", "disk": {"bus": "virtio"}, "serial": "SN1", "shareable": True},
             {"name": "ro", "disk": {"bus": "sata", "readonly": True}, "cache": "writethrough", "io": "threads"},
             {"name": "cd", "cdrom": {"tray": "open"}},
             {"name": "cd2", "cdrom": {"readonly": False}}]
    v = vmi(disks=disks)
    vols = {"root": DiskSource("/i/root.qcow2", "qcow2"), "ro": DiskSource("/i/ro.img"),
            "cd": DiskSource("/i/cd.iso"), "cd2": DiskSource("/dev/sr0", type="block")}
    root = ET.fromstring(convert.convert(v, ctx(volumes=vols)).to_xml())
    d = {x.find("alias").get("name"): x for x in root.findall("devices/disk")}
    r = d["ua-root"]
    assert r.attrib == {"type": "file", "device": "disk", "model": "virtio-non-transitional"}
    assert r.find("driver").attrib == {"name": "qemu", "type": "qcow2", "cache": "none",
                                       "error_policy": "stop", "discard": "unmap"}
    assert r.find("source").get("file") == "/i/root.qcow2"
    assert r.findtext("serial") == "SN1" and r.find("shareable") is not None and r.find("readonly") is None
    ro = d["ua-ro"]
    assert ro.get("model") is None and ro.find("readonly") is not None
    assert ro.find("driver").attrib == {"name": "qemu", "type": "raw", "cache": "writethrough", "io": "threads",
                                        "error_policy": "stop", "discard": "unmap"}
    cd = d["ua-cd"]
    assert cd.get("device") == "cdrom" and cd.find("readonly") is not None
    assert cd.find("target").attrib == {"dev": "sdb", "bus": "sata", "tray": "open"}
    assert "discard" not in cd.find("driver").attrib
    cd2 = d["ua-cd2"]
    assert cd2.get("type") == "block" and cd2.find("source").get("dev") == "/dev/sr0"
    assert cd2.find("readonly") is None


def test_cache_follows_direct_io():
    v = vmi(disks=[{"name": "a", "disk": {}}])
    tmpfs = {"a": DiskSource("/dev/shm/a.img", direct_io=False)}
    root = ET.fromstring(convert.convert(v, ctx(volumes=tmpfs)).to_xml())
    assert root.find("devices/disk/driver").get("cache") == "writethrough"
    v = vmi(disks=[{"name": "a", "disk": {}, "cache": "none"}])
    with pytest.raises(ConversionError, match=r'^spec.domain.devices.disks\[0\].cache: Unable to use "none" cache mode'):
        convert.convert(v, ctx(volumes=tmpfs))
    # native AIO with the cache left unset: the node's file system decides (no direct I/O, no native).
    v = vmi(disks=[{"name": "a", "disk": {}, "io": "native"}])
    assert xml_of(v).find("devices/disk/driver").attrib["io"] == "native"
    with pytest.raises(ConversionError, match=r'^spec.domain.devices.disks\[0\].io: "native" needs cache "none", '
                                              "and the file system where /dev/shm/a.img"):
        convert.convert(v, ctx(volumes=tmpfs))


def test_a_lun_needs_a_block_device_on_the_node():
    assert error_of(vmi(disks=[{"name": "a", "lun": {}}])).startswith(
        "spec.domain.devices.disks[0].lun: a LUN needs a block device")


def test_lun_on_a_block_device():
    v = vmi(disks=[{"name": "a", "lun": {}}])
    root = ET.fromstring(convert.convert(v, ctx(volumes={"a": DiskSource("/dev/sdz", type="block")})).to_xml())
    d = root.find("devices/disk")
    assert (d.get("device"), d.get("type"), d.find("target").get("bus"), d.find("target").get("dev")) == (
        "lun", "block", "scsi", "sda")


def test_missing_volume_errors():
    v = vmi(disks=[{"name": "a", "disk": {}}])
    assert error_of(v, volumes={}).startswith("spec.domain.devices.disks[0].name: volume 'a' was not prepared")


def test_disk_pci_address():
    v = vmi(disks=[{"name": "a", "disk": {"bus": "virtio", "pciAddress": "0000:0A:1f.3"}}])
    assert xml_of(v).find("devices/disk/address").attrib == {
        "type": "pci", "domain": "0x0000", "bus": "0x0a", "slot": "0x1f", "function": "0x3"}


# ---------------------------------------------------------------- boot order

def boot_orders(root):
    out = {}
    for dev in list(root.findall("devices/disk")) + list(root.findall("devices/interface")):
        b = dev.find("boot")
        out[dev.find("alias").get("name")] = int(b.get("order")) if b is not None else None
    return out


def test_default_boot_order_is_disks_in_spec_order():
    v = vmi(disks=[{"name": "a", "disk": {}}, {"name": "b", "cdrom": {}}, {"name": "c", "disk": {"bus": "virtio"}}],
            interfaces=[{"name": "net", "masquerade": {}}])
    root = xml_of(v)
    assert boot_orders(root) == {"ua-a": 1, "ua-b": 2, "ua-c": 3, "ua-net": None}
    assert root.find("devices/interface/rom").get("enabled") == "no"


def test_explicit_boot_orders_only():
    v = vmi(disks=[{"name": "a", "disk": {}}, {"name": "b", "disk": {}, "bootOrder": 2}],
            interfaces=[{"name": "net", "bridge": {}, "bootOrder": 1}])
    root = xml_of(v)
    assert boot_orders(root) == {"ua-a": None, "ua-b": 2, "ua-net": 1}
    assert root.find("devices/interface/rom") is None  # a NIC that boots keeps its option ROM


# ---------------------------------------------------------------- controllers

def controllers(root):
    return [(c.get("type"), c.get("index"), c.get("model")) for c in root.findall("devices/controller")]


def test_controllers_and_spare_pcie_root_ports():
    spare = archs.ARCHS["amd64"].pcie_spare_ports
    root = xml_of(vmi())
    ctl = controllers(root)
    assert ctl[:4] == [("usb", "0", "none"), ("scsi", "0", "virtio-non-transitional"),
                       ("virtio-serial", "0", "virtio-non-transitional"), ("pci", "0", "pcie-root")]
    ports = [c for c in ctl if c[2] == "pcie-root-port"]
    # scsi + virtio-serial take a port each; `spare` stay free for hotplug
    assert [int(p[1]) for p in ports] == list(range(1, 2 + spare + 1))
    # each virtio disk, NIC, RNG and balloon takes one more
    v = vmi(disks=[{"name": "a", "disk": {"bus": "virtio"}}, {"name": "b", "disk": {"bus": "sata"}}],
            interfaces=[{"name": "n", "masquerade": {}}], devices={"autoattachMemBalloon": True, "rng": {}})
    ports = [c for c in controllers(xml_of(v)) if c[2] == "pcie-root-port"]
    assert len(ports) == 2 + 4 + spare
    # legacy PCI machine: no PCIe root complex, devices hotplug straight into pci-root
    assert [c for c in controllers(xml_of(vmi(machine={"type": "pc"}))) if c[0] == "pci"] == []


def test_usb_controller_when_needed():
    assert controllers(xml_of(vmi(disks=[{"name": "a", "disk": {"bus": "usb"}}])))[0] == ("usb", "0", "qemu-xhci")
    assert controllers(xml_of(vmi("arm64")))[0] == ("usb", "0", "qemu-xhci")  # always on arm


# ---------------------------------------------------------------- serial, channel, graphics, inputs

def test_serial_console_unix_socket_with_log():
    root = xml_of(vmi(), serial_socket="/run/s.sock", serial_log="/run/s.log")
    s = root.find("devices/serial")
    assert s.get("type") == "unix"
    assert s.find("source").attrib == {"mode": "bind", "path": "/run/s.sock"}
    assert s.find("target").get("port") == "0"
    assert s.find("log").attrib == {"file": "/run/s.log", "append": "on"}
    assert root.find("devices/console/target").attrib == {"type": "serial", "port": "0"}


def test_serial_console_pty_without_socket_and_opt_out():
    root = xml_of(vmi())
    assert root.find("devices/serial").get("type") == "pty" and root.find("devices/serial/log") is None
    root = xml_of(vmi(devices={"autoattachSerialConsole": False}))
    assert root.find("devices/serial") is None and root.find("devices/console") is None


def test_guest_agent_channel_always():
    ch = xml_of(vmi()).find("devices/channel")
    assert ch.get("type") == "unix" and ch.find("source").attrib == {"mode": "bind"}
    assert ch.find("target").attrib == {"type": "virtio", "name": "org.qemu.guest_agent.0"}


def test_graphics_unless_refused():
    """KubeVirt gives every VMI a VNC display unless autoattachGraphicsDevice is false."""
    assert xml_of(vmi()).find("devices/graphics") is not None
    assert xml_of(vmi(devices={"autoattachGraphicsDevice": False})).find("devices/graphics") is None
    assert xml_of(vmi(devices={"autoattachGraphicsDevice": False})).find("devices/video") is None
    root = xml_of(vmi(), vnc_socket="/run/vnc.sock")
    assert root.find("devices/graphics/listen").attrib == {"type": "socket", "socket": "/run/vnc.sock"}
    assert root.find("devices/video/model").get("type") == "vga"
    root = xml_of(vmi("arm64", devices={"autoattachGraphicsDevice": True}))
    assert root.find("devices/graphics/listen").attrib == {"type": "none"}
    assert root.find("devices/video/model").get("type") == "virtio"


def test_inputs_and_arm_usb_defaults():
    root = xml_of(vmi(devices={"inputs": [{"name": "tab", "type": "tablet", "bus": "virtio"}]}))
    assert [i.attrib for i in root.findall("devices/input")] == [
        {"type": "tablet", "bus": "virtio", "model": "virtio-non-transitional"}]
    assert root.find("devices/input/alias").get("name") == "ua-tab"
    assert [i.attrib for i in xml_of(vmi("arm64")).findall("devices/input")] == [
        {"type": "tablet", "bus": "usb"}, {"type": "keyboard", "bus": "usb"}]
    root = xml_of(vmi("arm64", devices={"inputs": [{"name": "t", "type": "tablet"}]}))
    assert [(i.get("type"), i.get("bus")) for i in root.findall("devices/input")] == [("tablet", "usb"), ("keyboard", "usb")]


# ---------------------------------------------------------------- interfaces

def test_masquerade_and_slirp_become_user_networking():
    v = vmi(interfaces=[{"name": "default", "masquerade": {}, "macAddress": "02-00-00-00-00-0A", "state": "down"},
                        {"name": "gone", "bridge": {}, "state": "absent"},
                        {"name": "legacy", "slirp": {}, "model": "e1000e"}])
    nics = xml_of(v).findall("devices/interface")
    assert [n.find("alias").get("name") for n in nics] == ["ua-default", "ua-legacy"]
    first = nics[0]
    assert first.get("type") == "user"
    assert first.find("mac").get("address") == "02:00:00:00:00:0a"  # KubeVirt keeps the MAC (normalised)
    assert first.find("ip").attrib == {"family": "ipv4", "address": "10.0.2.0", "prefix": "24"}
    assert first.find("target") is None
    assert first.find("model").get("type") == "virtio-non-transitional"
    assert first.find("link").get("state") == "down"
    assert nics[1].find("model").get("type") == "e1000e" and nics[1].find("link") is None


def test_masquerade_takes_the_pod_network_cidr():
    v = vmi(interfaces=[{"name": "default", "masquerade": {}}],
            networks=[{"name": "default", "pod": {"vmNetworkCIDR": "10.11.12.0/24"}}])
    assert xml_of(v).find("devices/interface/ip").get("address") == "10.11.12.0"


def test_bridge_binding_uses_the_nodes_tap():
    """bridge (also the default without a binding) -> an unmanaged ethernet interface on the tap
    the handler created; up and empty states produce no <link> (libvirt's default is up)."""
    v = vmi(interfaces=[{"name": "default", "state": "up"}, {"name": "blue", "bridge": {}, "state": "down"}],
            networks=[{"name": "default", "pod": {}}, {"name": "blue", "multus": {"networkName": "blue-net"}}])
    v.metadata.uid = "1234-uid"
    nics = xml_of(v).findall("devices/interface")
    got = [(n.get("type"), n.find("target").attrib, n.find("alias").get("name"),
            None if n.find("link") is None else n.find("link").get("state")) for n in nics]
    assert got == [("ethernet", {"dev": network.tap_name("1234-uid", "default"), "managed": "no"}, "ua-default", None),
                   ("ethernet", {"dev": network.tap_name("1234-uid", "blue"), "managed": "no"}, "ua-blue", "down")]
    assert all(len(n.find("target").get("dev")) <= 15 for n in nics)
    assert network.tap_name("1234-uid", "blue").startswith(network.tap_prefix("1234-uid"))


# ---------------------------------------------------------------- tpm, rng, balloon

@pytest.mark.parametrize("arch, tpm, expected", [
    ("amd64", {}, ("tpm-tis", None)),
    ("amd64", {"persistent": False}, ("tpm-tis", None)),
    ("amd64", {"persistent": True}, ("tpm-crb", "yes")),
    ("amd64", {"enabled": False}, None),
    ("amd64", {"enabled": False, "persistent": True}, None),
    ("amd64", None, None),
    ("arm64", {"persistent": True}, ("tpm-tis", "yes")),  # qemu-system-aarch64 has no tpm-crb
])
def test_tpm_variants(arch, tpm, expected):
    v = vmi(arch, devices={"tpm": tpm} if tpm is not None else {})
    t = xml_of(v).find("devices/tpm")
    if expected is None:
        assert t is None
        return
    assert t.get("model") == expected[0]
    b = t.find("backend")
    assert (b.get("type"), b.get("version"), b.get("persistent_state")) == ("emulator", "2.0", expected[1])


def test_rng_and_memballoon():
    root = xml_of(vmi())
    assert root.find("devices/rng") is None
    assert root.find("devices/memballoon").attrib == {"model": "none"}
    root = xml_of(vmi(devices={"rng": {}, "autoattachMemBalloon": True}))
    rng = root.find("devices/rng")
    assert rng.get("model") == "virtio-non-transitional"
    assert (rng.find("backend").get("model"), rng.find("backend").text) == ("random", "/dev/urandom")
    mb = root.find("devices/memballoon")
    assert mb.attrib == {"model": "virtio-non-transitional", "freePageReporting": "on"}
    assert mb.find("stats").get("period") == "10"


# ---------------------------------------------------------------- output

def test_output_is_deterministic_and_valid(libvirt_validate):
    v = vmi(disks=[{"name": "a", "disk": {}}, {"name": "b", "cdrom": {}}], interfaces=[{"name": "n", "masquerade": {}}],
            devices={"tpm": {}, "rng": {}, "autoattachMemBalloon": True, "autoattachGraphicsDevice": True})
    c = ctx(v, serial_socket="/run/s.sock", serial_log="/run/s.log", nvram_dir="/vms/u")
    a, b = convert.convert(v, c).to_xml(), convert.convert(v, c).to_xml()
    assert a == b and a.startswith('<domain type="qemu">\n  <name>ns_t</name>\n') and a.endswith("</domain>\n")
    libvirt_validate(a)
    for arch_v in (vmi("arm64", disks=[{"name": "a", "disk": {}}], devices={"autoattachGraphicsDevice": True}),
                   vmi(machine={"type": "pc"}, disks=[{"name": "a", "disk": {"bus": "virtio"}}],
                       firmware={"bootloader": {"bios": {"useSerial": True}}})):
        libvirt_validate(convert.convert(arch_v, ctx(arch_v)).to_xml())


# ---------------------------------------------------------------- what the converter leaves to admission

# Specs the api refuses (tests/api/test_spec_admission.py has each cause): the converter does not judge
# them again but writes what it is given. Each check of a spec lives once, at admission.
REFUSED_AT_ADMISSION = {
    "cpu feature policy": (dict(cpu={"features": [{"name": "pcid", "policy": "maybe"}]}),
                           "cpu/feature", {"policy": "maybe", "name": "pcid"}),
    "nic model": (dict(interfaces=[{"name": "n", "masquerade": {}, "model": "virtio-net"}]),
                  "devices/interface/model", {"type": "virtio-net"}),
    "input bus and type": (dict(devices={"inputs": [{"name": "m", "type": "mouse", "bus": "ps2"}]}),
                           "devices/input", {"type": "mouse", "bus": "ps2"}),
    "cache mode": (dict(disks=[{"name": "a", "disk": {}, "cache": "unsafe"}]),
                   "devices/disk/driver", {"cache": "unsafe"}),
    "cdrom tray": (dict(disks=[{"name": "a", "cdrom": {"tray": "ajar"}}]), "devices/disk/target", {"tray": "ajar"}),
    "boot order used twice": (dict(disks=[{"name": "a", "disk": {}, "bootOrder": 1}],
                                   interfaces=[{"name": "n", "masquerade": {}, "bootOrder": 1}]),
                              "devices/interface/boot", {"order": "1"}),
    "sockets above maxSockets": (dict(cpu={"sockets": 2, "maxSockets": 1}), "cpu/topology", {"sockets": "1"}),
    "memory hotplug": (dict(memory={"guest": "128Mi", "maxGuest": "1Gi"}), "memory", {"unit": "b"}),
}


@pytest.mark.parametrize("name", REFUSED_AT_ADMISSION)
def test_the_converter_leaves_spec_checks_to_admission(name):
    from services.api import validation
    from services.api.errors import Invalid
    spec, where, attrib = REFUSED_AT_ADMISSION[name]
    v = vmi(**spec)
    with pytest.raises(Invalid):
        validation.vmi_spec(v.spec, "spec")
    el = xml_of(v).find(where)
    assert {k: el.get(k) for k in attrib} == attrib
