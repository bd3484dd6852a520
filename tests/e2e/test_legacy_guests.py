"""Issue 14, item 5 on real QEMU (TCG): a Windows XP / Server 2003 style VirtualMachine — q35 with the
64-bit PCI hole disabled, SeaBIOS booting a SATA disk, an e1000 NIC, an AC'97 card, the i6300esb
watchdog, the usual Windows clock (UTC offset, no HPET, PIT delay, RTC catchup, the Hyper-V clock)
and the enlightenments that need no KVM — defines, starts and boots. There is no Windows image here:
the guest is the test Linux from tools/build_guest.py on its BIOS disk, which shows what the domain
gave it (PCI devices, clock sources) on its serial shell.
"""
from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from e2e.conftest import GUESTS, qemu_mesh
from e2e.test_compute import NS, delete, run_in_guest, wait_line

pytestmark = pytest.mark.e2e

WINXP = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "winxp", "namespace": NS},
    "spec": {"runStrategy": "Always", "template": {
        "metadata": {"annotations": {"kubevirt.io/disablePCIHole64": "true"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "domain": {
                "machine": {"type": "q35"},
                "cpu": {"cores": 1},
                "memory": {"guest": "256Mi"},
                "firmware": {"bootloader": {"bios": {"useSerial": True}}},
                "clock": {"utc": {"offsetSeconds": 3600},
                          "timer": {"hpet": {"present": False}, "pit": {"tickPolicy": "delay"},
                                    "rtc": {"tickPolicy": "catchup"}, "hyperv": {}}},
                "features": {"acpi": {}, "apic": {}, "smm": {},
                             "hyperv": {"relaxed": {}, "vapic": {}, "spinlocks": {"spinlocks": 8191}}},
                "devices": {
                    "disks": [{"name": "root", "disk": {"bus": "sata"}, "bootOrder": 1}],
                    "interfaces": [{"name": "default", "masquerade": {}, "model": "e1000"}],
                    "sound": {"name": "audio", "model": "ac97"},
                    "watchdog": {"name": "wd", "i6300esb": {"action": "reset"}}}},
            "networks": [{"name": "default", "pod": {}}],
            "volumes": [{"name": "root", "containerDisk": {"image": f"{GUESTS}/amd64/disk.img"}}]}}}}

# PCI vendor:device of what the guest must see (Intel 82540EM, ICH AC'97, 6300ESB watchdog, ICH9 AHCI).
E1000, AC97, I6300ESB, AHCI = "0x8086:0x100e", "0x8086:0x2415", "0x8086:0x25ab", "0x8086:0x2922"


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmlegacy-") as m:
        yield m


def test_a_windows_xp_style_vm_defines_starts_and_boots(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=yaml.safe_dump(WINXP))
    try:
        m.wait_for(lambda: m.vm_status("winxp", NS) == "Running", 90, "winxp Running")
        wait_line(m, "winxp", r"VIRTMESH-READY", 180)   # SeaBIOS -> SYSLINUX on the SATA disk -> Linux

        live = ET.fromstring(subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"{NS}_winxp"],
                                            capture_output=True, text=True, check=True).stdout)
        clock = live.find("clock")
        # libvirt's live form of <clock offset="utc" adjustment="3600">: a variable clock on a UTC basis
        assert (clock.get("offset"), clock.get("basis"), clock.get("adjustment")) == ("variable", "utc", "3600")
        assert {t.get("name"): (t.get("present"), t.get("tickpolicy")) for t in clock.findall("timer")} == {
            "rtc": ("yes", "catchup"), "pit": ("yes", "delay"), "hpet": ("no", None), "hypervclock": ("yes", None)}
        assert [(f.tag, f.get("state")) for f in live.find("features/hyperv")] == [
            ("relaxed", "on"), ("vapic", "on"), ("spinlocks", "on")]
        assert live.find("devices/controller[@model='pcie-root']/pcihole64").text == "0"
        assert live.find("devices/interface/model").get("type") == "e1000"
        assert live.find("devices/disk/target").get("bus") == "sata"

        out = run_in_guest(m, "winxp", "for d in /sys/bus/pci/devices/*; do echo PCI $(cat $d/vendor):$(cat $d/device);"
                           " done; echo CLK $(cat /sys/devices/system/clocksource/clocksource0/"
                           "available_clocksource); echo LEGACY-DONE", "LEGACY-DONE", timeout=60)
        pci = set(re.findall(r"PCI (0x[0-9a-f]{4}:0x[0-9a-f]{4})", out))
        assert {E1000, AC97, I6300ESB, AHCI} <= pci, sorted(pci)
        clocks = re.findall(r"^CLK ([^\r\n]*)", out, re.MULTILINE)[-1].split()   # the output, not the echo
        assert "hpet" not in clocks and clocks, clocks   # no HPET in the guest
    finally:
        delete(m, "winxp")
