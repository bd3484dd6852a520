"""Golden domain XML per architecture (virtinst's diff_compare pattern).

Each case converts a manifest with fixed volume paths and compares the result structurally
(C14N, whitespace-insensitive) with tests/data/domxml/<case>.xml. Then libvirt validates it.

    VIRTMESH_REGENERATE_GOLDEN=1 pytest tests/launcher   # rewrite the golden files

A missing golden file is written and the test fails, so a new case is reviewed before it passes.
"""
from __future__ import annotations

import difflib
import os
import xml.etree.ElementTree as ET

import pytest

from services.launcher.domxml import convert
from services.launcher.storage import DiskSource

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "domxml")
REGENERATE = os.environ.get("VIRTMESH_REGENERATE_GOLDEN") == "1"
VM_DIR = "/var/lib/virtmesh/vms/6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0001"


def _ctx(volumes: dict[str, DiskSource], kernel: bool = False, arch: str = "amd64", domain_type: str = "qemu",
         pr_helper_socket: str | None = None) -> convert.Context:
    guests = f"/var/cache/virtmesh/guests/{arch}"
    return convert.Context(
        domain_type=domain_type, volumes=volumes, pr_helper_socket=pr_helper_socket,
        kernel=f"{guests}/kernel" if kernel else None,
        initrd=f"{guests}/initrd.img" if kernel else None,
        serial_socket=f"{VM_DIR}/serial0.sock", serial_log=f"{VM_DIR}/serial0.log",
        nvram_dir=VM_DIR, check_firmware=False)


def _disk(name: str, fmt: str = "qcow2", where: str = "container-disks") -> DiskSource:
    return DiskSource(path=f"{VM_DIR}/{where}/{name}.{fmt}", format=fmt)


CASES = {
    # q35, direct kernel boot, disks on every bus, a CD-ROM, a NIC, TPM, RNG, balloon, serial console
    "amd64_q35_kernel_boot": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: kb, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0001}
spec:
  architecture: amd64
  domain:
    cpu: {sockets: 1, cores: 2, threads: 1}
    memory: {guest: 128Mi}
    machine: {type: q35}
    firmware:
      uuid: 0d2a2043-41c0-4a79-9c38-1c6e5d0bd5b1
      serial: vm-kb-serial
      kernelBoot:
        kernelArgs: console=ttyS0 quiet panic=-1 virtmesh.marker=kb
        container: {image: /var/cache/virtmesh/guests/amd64, kernelPath: /kernel, initrdPath: /initrd.img}
    devices:
      autoattachMemBalloon: true
      disks:
      - {name: root, disk: {bus: virtio}, serial: ROOT0001}
      - {name: data, disk: {bus: sata}}
      - {name: scratch, disk: {bus: scsi}, cache: writeback}
      - {name: logs, disk: {bus: virtio, readonly: true}}
      - {name: iso, cdrom: {bus: sata, tray: closed}}
      interfaces: [{name: default, masquerade: {}, macAddress: "02:00:00:aa:bb:01"}]
      tpm: {}
      rng: {}
  networks: [{name: default, pod: {}}]
  volumes:
  - {name: root, containerDisk: {image: /var/lib/images/root.qcow2}}
  - {name: data, emptyDisk: {capacity: 1Gi}}
  - {name: scratch, emptyDisk: {capacity: 2Gi}}
  - {name: logs, hostDisk: {path: /srv/logs.img, type: Disk}}
  - {name: iso, hostDisk: {path: /srv/tools.iso, type: Disk}}
""", lambda: _ctx({"root": _disk("root"), "data": _disk("data", where="empty-disks"),
                   "scratch": _disk("scratch", where="empty-disks"),
                   "logs": DiskSource("/srv/logs.img"), "iso": DiskSource("/srv/tools.iso")}, kernel=True)),

    # SeaBIOS booting a disk, BIOS output on the serial port, explicit boot orders, a down link
    "amd64_bios_disk_boot": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: bios, namespace: team-a, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0002}
spec:
  architecture: amd64
  domain:
    resources: {requests: {memory: 256Mi, cpu: "2"}}
    firmware:
      bootloader: {bios: {useSerial: true}}
    clock: {utc: {offsetSeconds: 3600}}
    features: {acpi: {}, apic: {}}
    devices:
      disks:
      - {name: boot, bootOrder: 1, disk: {}}
      - {name: spare, disk: {bus: virtio}}
      interfaces:
      - {name: default, bridge: {}, bootOrder: 2, state: down}
  networks: [{name: default, pod: {}}]
  volumes:
  - {name: boot, hostDisk: {path: /srv/bios-boot.img, type: Disk}}
  - {name: spare, emptyDisk: {capacity: 64Mi}}
""", lambda: _ctx({"boot": DiskSource("/srv/bios-boot.img"), "spare": _disk("spare", where="empty-disks")})),

    # OVMF without secure boot (the common choice for unsigned images), timezone clock
    "amd64_efi": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: efi, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0003}
spec:
  architecture: amd64
  domain:
    memory: {guest: 256Mi}
    firmware:
      bootloader: {efi: {secureBoot: false}}
    clock: {timezone: Europe/Paris}
    devices:
      disks: [{name: root, disk: {bus: virtio}}]
  volumes: [{name: root, containerDisk: {image: /var/lib/images/efi.qcow2}}]
""", lambda: _ctx({"root": _disk("root")})),

    # KubeVirt's default EFI (secure boot on): the secboot OVMF build, SMM, enrolled keys
    "amd64_efi_secure": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: sb, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0004}
spec:
  architecture: amd64
  domain:
    memory: {guest: 256Mi}
    firmware:
      bootloader: {efi: {}}
    devices:
      disks: [{name: root, disk: {bus: virtio}}]
      tpm: {persistent: true}
  volumes: [{name: root, containerDisk: {image: /var/lib/images/efi.qcow2}}]
""", lambda: _ctx({"root": _disk("root")})),

    # aarch64 virt, direct kernel boot (no EFI), cortex-a57 under TCG, USB tablet+keyboard, SCSI CD-ROM
    "arm64_virt_kernel_boot": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: armkb, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0005}
spec:
  architecture: arm64
  domain:
    cpu: {cores: 2}
    memory: {guest: 128Mi}
    firmware:
      kernelBoot:
        kernelArgs: console=ttyAMA0 quiet panic=-1 virtmesh.marker=armkb
        container: {image: /var/cache/virtmesh/guests/arm64, kernelPath: /kernel, initrdPath: /initrd.img}
    devices:
      disks:
      - {name: root, disk: {}}
      - {name: iso, cdrom: {}}
      interfaces: [{name: default, masquerade: {}}]
      rng: {}
  networks: [{name: default, pod: {}}]
  volumes:
  - {name: root, containerDisk: {image: /var/lib/images/arm-root.qcow2}}
  - {name: iso, hostDisk: {path: /srv/arm-tools.iso, type: Disk}}
""", lambda: _ctx({"root": _disk("root"), "iso": DiskSource("/srv/arm-tools.iso")}, kernel=True, arch="arm64")),

    # aarch64 with nothing said about firmware: AAVMF (EFI) by default, as KubeVirt does
    "arm64_default_efi": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: armefi, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0006}
spec:
  architecture: arm64
  domain:
    memory: {guest: 256Mi}
    devices:
      disks: [{name: root, disk: {}}]
      tpm: {persistent: true}
  volumes: [{name: root, containerDisk: {image: /var/lib/images/arm-efi.qcow2}}]
""", lambda: _ctx({"root": _disk("root")}, arch="arm64")),

    # A legacy guest (Windows XP era) on q35 as the api defaults it: 64-bit PCI hole disabled by
    # annotation, CPU hotplug layout (maxSockets 4x sockets: the first socket not hotpluggable)
    "amd64_legacy_pcihole64_hotplug": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: winxp
  namespace: default
  uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0007
  annotations: {kubevirt.io/disablePCIHole64: "True"}
spec:
  architecture: amd64
  domain:
    cpu: {sockets: 1, cores: 2, threads: 1, maxSockets: 4}
    memory: {guest: 512Mi}
    machine: {type: q35}
    firmware:
      bootloader: {bios: {}}
    devices:
      disks: [{name: root, disk: {bus: sata}}]
      tpm: {}
  volumes: [{name: root, hostDisk: {path: /srv/winxp.img, type: Disk}}]
""", lambda: _ctx({"root": DiskSource("/srv/winxp.img")})),

    # arm64 exactly as the api defaults it: host-passthrough (cortex-a57 under TCG), EFI without
    # secure boot, maxSockets 4 ignored (no CPU hotplug on arm64), annotation ignored (amd64 only)
    "arm64_api_defaults": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: armdef
  namespace: default
  uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0008
  annotations: {kubevirt.io/disablePCIHole64: "true"}
spec:
  architecture: arm64
  domain:
    cpu: {sockets: 1, cores: 1, threads: 1, maxSockets: 4, model: host-passthrough}
    memory: {guest: 256Mi}
    machine: {type: virt}
    firmware:
      bootloader: {efi: {secureBoot: false}}
    devices:
      disks: [{name: root, disk: {}}]
      tpm: {}
  volumes: [{name: root, containerDisk: {image: /var/lib/images/arm-efi.qcow2}}]
""", lambda: _ctx({"root": _disk("root")}, arch="arm64")),

    # Issue 14, item 5: a Windows XP / Server 2003 guest as KubeVirt users write it: q35 with the 64-bit
    # PCI hole disabled, SeaBIOS, SATA disk and CD-ROM, an e1000 NIC, AC'97 sound, the i6300esb watchdog,
    # the usual Windows clock (UTC offset, no HPET, PIT delay, RTC catchup, Hyper-V clock) and the
    # enlightenments that need no KVM (relaxed, vAPIC, spinlocks), SMM, a USB tablet
    "amd64_windows_legacy": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: winxp
  namespace: legacy
  uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f0009
  annotations: {kubevirt.io/disablePCIHole64: "true"}
spec:
  architecture: amd64
  domain:
    cpu: {sockets: 1, cores: 1, threads: 1}
    memory: {guest: 512Mi}
    machine: {type: q35}
    firmware:
      bootloader: {bios: {}}
    clock:
      utc: {offsetSeconds: 3600}
      timer:
        hpet: {present: false}
        pit: {tickPolicy: delay}
        rtc: {tickPolicy: catchup}
        hyperv: {}
    features:
      acpi: {}
      apic: {}
      smm: {}
      hyperv:
        relaxed: {}
        vapic: {}
        spinlocks: {spinlocks: 8191}
    devices:
      disks:
      - {name: root, disk: {bus: sata}, bootOrder: 1}
      - {name: install, cdrom: {bus: sata}}
      interfaces:
      - {name: default, masquerade: {}, model: e1000}
      inputs: [{name: tablet, type: tablet, bus: usb}]
      sound: {name: audio, model: ac97}
      watchdog: {name: wd, i6300esb: {action: reset}}
  networks: [{name: default, pod: {}}]
  volumes:
  - {name: root, hostDisk: {path: /srv/winxp.img, type: Disk}}
  - {name: install, hostDisk: {path: /srv/winxp.iso, type: Disk}}
""", lambda: _ctx({"root": DiskSource("/srv/winxp.img"), "install": DiskSource("/srv/winxp.iso")})),

    # A newer Windows guest on KVM: every enlightenment (vpindex and what needs it), KVM hidden,
    # APIC EOI, pvspinlock, Hyper-V panic notifier, chassis SMBIOS, the bochs display
    "amd64_windows_kvm_enlightened": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: win2k22, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f000a}
spec:
  architecture: amd64
  domain:
    cpu: {sockets: 1, cores: 2, threads: 1}
    memory: {guest: 1Gi}
    firmware:
      bootloader: {efi: {secureBoot: false}}
    chassis: {manufacturer: Virtmesh, asset: A-7, sku: WS}
    clock:
      utc: {}
      timer: {hpet: {present: false}, pit: {tickPolicy: delay}, rtc: {tickPolicy: catchup}, hyperv: {}}
    features:
      apic: {endOfInterrupt: true}
      kvm: {hidden: true}
      pvspinlock: {}
      hyperv:
        relaxed: {}
        vapic: {}
        spinlocks: {spinlocks: 8191}
        vpindex: {}
        runtime: {}
        synic: {}
        synictimer: {direct: {}}
        reset: {}
        vendorid: {vendorid: virtmesh}
        frequencies: {}
        reenlightenment: {}
        tlbflush: {}
        ipi: {}
    devices:
      autoattachGraphicsDevice: true
      video: {type: bochs}
      panicDevices: [{model: hyperv}]
      disks: [{name: root, disk: {bus: virtio}}]
  volumes: [{name: root, containerDisk: {image: /var/lib/images/win.qcow2}}]
""", lambda: _ctx({"root": _disk("root")}, domain_type="kvm")),

    # Devices and tuning: IO threads (auto: shared + dedicated), custom block sizes, error policy,
    # virtio-blk multi-queue, virtio-transitional, an ACPI-indexed NIC, a panic notifier, no hotplug
    # reserve, the serial console not logged
    "amd64_devices_tuning": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: tuned, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f000b}
spec:
  architecture: amd64
  domain:
    cpu: {sockets: 1, cores: 2, threads: 1}
    memory: {guest: 256Mi}
    resources: {requests: {cpu: "1"}}
    ioThreadsPolicy: auto
    firmware:
      bootloader: {bios: {}}
    devices:
      useVirtioTransitional: true
      blockMultiQueue: true
      disableHotplug: true
      logSerialConsole: false
      panicDevices: [{model: isa}]
      disks:
      - {name: root, disk: {bus: virtio}, errorPolicy: report}
      - {name: data, disk: {bus: virtio}, dedicatedIOThread: true,
         blockSize: {custom: {logical: 512, physical: 4096}}}
      interfaces: [{name: default, bridge: {}, acpiIndex: 1}]
  networks: [{name: default, pod: {}}]
  volumes:
  - {name: root, containerDisk: {image: /var/lib/images/root.qcow2}}
  - {name: data, emptyDisk: {capacity: 1Gi}}
""", lambda: _ctx({"root": _disk("root"), "data": _disk("data", where="empty-disks")})),

    # Issue 14, item 6: a SCSI LUN with persistent reservation, its PR commands handed to the node's
    # qemu-pr-helper (unmanaged, over the helper's socket)
    "amd64_lun_reservation": ("""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: cluster-node, namespace: default, uid: 6f1f3a52-1f0e-4c43-9d1e-3a0a5a7f000c}
spec:
  architecture: amd64
  domain:
    memory: {guest: 256Mi}
    firmware:
      bootloader: {bios: {}}
    devices:
      disks:
      - {name: root, disk: {bus: virtio}}
      - {name: quorum, lun: {bus: scsi, reservation: true}}
  volumes:
  - {name: root, containerDisk: {image: /var/lib/images/root.qcow2}}
  - {name: quorum, persistentVolumeClaim: {claimName: shared-san-lun}}
""", lambda: _ctx({"root": _disk("root"), "quorum": DiskSource("/dev/sdb", "raw", type="block")},
                  pr_helper_socket="/var/lib/virtmesh/run/pr/pr-helper.sock")),
}


def _canonical(xml: str) -> str:
    return ET.canonicalize(xml_data=xml, strip_text=True)


def _pretty(xml: str) -> list[str]:
    root = ET.fromstring(xml)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode").splitlines()


def compare_golden(actual: str, name: str) -> None:
    path = os.path.join(GOLDEN_DIR, f"{name}.xml")
    if REGENERATE or not os.path.exists(path):
        os.makedirs(GOLDEN_DIR, exist_ok=True)
        existed = os.path.exists(path)
        with open(path, "w") as f:
            f.write(actual)
        if not existed:
            pytest.fail(f"golden file {path} did not exist; wrote it: review it and run again")
        return
    with open(path) as f:
        expected = f.read()
    if _canonical(expected) != _canonical(actual):
        diff = "\n".join(difflib.unified_diff(_pretty(expected), _pretty(actual), f"{name}.xml (golden)",
                                              f"{name}.xml (converted)", lineterm=""))
        pytest.fail(f"domain XML differs from {path} (VIRTMESH_REGENERATE_GOLDEN=1 rewrites it):\n{diff}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name, vmi_from_yaml, libvirt_validate):
    text, ctx = CASES[name]
    xml = convert.convert(vmi_from_yaml(text), ctx()).to_xml()
    compare_golden(xml, name)
    checks = libvirt_validate(xml)
    assert "test:///default" in checks


def test_golden_files_have_cases():
    """No stale golden file without a case that produces it."""
    names = {f[:-4] for f in os.listdir(GOLDEN_DIR) if f.endswith(".xml")} if os.path.isdir(GOLDEN_DIR) else set()
    assert names <= set(CASES), f"golden files without a case: {sorted(names - set(CASES))}"
