"""What this node's libvirt can run: the raw XML the node-labeller works from.

KubeVirt's virt-handler gets these files from an init container running `node-labeller.sh`
(`virsh capabilities`, `virsh domcapabilities --machine M --arch A`, `virsh hypervisor-cpu-baseline
--features`); here the handler asks libvirt directly. This is the handler's only libvirt access
(the launcher's virt.py is the launcher's), and libvirt-python stays optional: without it, or with
libvirtd down, `read()` raises `CapsError` and the node simply carries no labeller labels yet.

libvirt's test driver (`test:///...`, the control-plane tests) runs any machine type and has no
QEMU behind it; for it `read()` returns a synthetic host with KubeVirt's default machine types.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from services.common import arch as common_arch
from services.common.kvm import kvm_usable

try:
    import libvirt
except ImportError:  # the handler runs without the binding (no labeller labels then)
    libvirt = None
else:
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

TEST_DRIVER_MAX_VCPUS = 512  # the test driver has no QEMU limit; KubeVirt's own bound


class CapsError(Exception):
    pass


@dataclass
class HostCaps:
    capabilities: str                 # `virsh capabilities`
    domcapabilities: str = ""         # `virsh domcapabilities` for the host arch's labeller machine
    supported_features: str = ""      # `virsh hypervisor-cpu-baseline --features` of host-model
    test_driver: bool = False


def host_model_cpu(domcaps_xml: str) -> str:
    """The host-model <mode> of domain capabilities as a <cpu> definition (for the baseline call)."""
    mode = ET.fromstring(domcaps_xml).find("./cpu/mode[@name='host-model']")
    if mode is None or mode.get("supported") != "yes" or mode.find("model") is None:
        return ""
    cpu = ET.Element("cpu", mode="custom", match="exact")
    for child in mode:
        cpu.append(child)
    return ET.tostring(cpu, encoding="unicode")


def _test_driver_caps() -> str:
    guests = []
    for name in common_arch.GUEST_ARCHS:
        a = common_arch.ARCHS[name]
        guests.append(f"<guest><os_type>hvm</os_type><arch name='{a.libvirt}'>"
                      f"<machine maxCpus='{TEST_DRIVER_MAX_VCPUS}'>{a.default_machine}</machine>"
                      f"<domain type='test'/></arch></guest>")
    host = common_arch.TO_LIBVIRT.get(common_arch.host_arch(), "x86_64")
    return f"<capabilities><host><cpu><arch>{host}</arch></cpu></host>{''.join(guests)}</capabilities>"


def read(uri: str) -> HostCaps:
    """Read capabilities (blocking: call it in a thread)."""
    if uri.startswith("test:"):
        return HostCaps(capabilities=_test_driver_caps(), test_driver=True)
    if libvirt is None:
        raise CapsError("libvirt-python is not installed")
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        raise CapsError(f"cannot connect to libvirt at {uri}: {e.get_error_message()}") from None
    try:
        caps = conn.getCapabilities()
        host_arch = ET.fromstring(caps).findtext("./host/cpu/arch", "")
        out = HostCaps(capabilities=caps)
        # node-labeller.sh asks domain capabilities for the arch's default machine, and only on the
        # arches it knows (ppc64le: none).
        a = common_arch.get(common_arch.FROM_LIBVIRT.get(host_arch, ""))
        if a is None or not a.labeller_machine:
            return out
        machine = a.labeller_machine
        # KVM only when it really works here (a nested PVM /dev/kvm does not); TCG otherwise.
        virttype = "kvm" if kvm_usable() else "qemu"
        try:
            out.domcapabilities = conn.getDomainCapabilities(None, host_arch, machine, virttype, 0)
        except libvirt.libvirtError as e:
            raise CapsError(f"domain capabilities ({host_arch}/{machine}/{virttype}): "
                            f"{e.get_error_message()}") from None
        cpu = host_model_cpu(out.domcapabilities)
        if a.cpu_model_labels and cpu:   # supported_features.xml: amd64 and s390x
            try:
                out.supported_features = conn.baselineHypervisorCPU(
                    None, host_arch, machine, virttype, [cpu], libvirt.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES)
            except libvirt.libvirtError as e:
                raise CapsError(f"hypervisor CPU baseline: {e.get_error_message()}") from None
        return out
    except libvirt.libvirtError as e:
        raise CapsError(f"capabilities: {e.get_error_message()}") from None
    finally:
        try:
            conn.close()
        except libvirt.libvirtError:
            pass


