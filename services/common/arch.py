"""Architecture names: KubeVirt speaks amd64/arm64, libvirt and QEMU speak x86_64/aarch64."""
from __future__ import annotations

import platform

TO_LIBVIRT = {"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le"}
FROM_LIBVIRT = {v: k for k, v in TO_LIBVIRT.items()}
# The guest architectures Virtmesh runs (the launcher's designs: launcher/domxml/archs.py); the others are
# KubeVirt's names, understood and refused.
GUEST_ARCHS = ("amd64", "arm64")
DEFAULT_MACHINE = {"amd64": "q35", "arm64": "virt", "s390x": "s390-ccw-virtio", "ppc64le": "pseries"}


def host_arch() -> str:
    machine = platform.machine()
    return FROM_LIBVIRT.get(machine, {"x86_64": "amd64", "AMD64": "amd64"}.get(machine, machine))
