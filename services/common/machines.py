"""Machine types shared by the api (validation, defaulting), the controller (scheduling) and the
handler (node-labeller): KubeVirt's label and emulated-machine globs, and what a node publishes
about the vCPUs each machine type can take."""
from __future__ import annotations

import fnmatch
import json

from services.common import arch as common_arch

MACHINE_TYPE_LABEL = "machine-type.node.kubevirt.io/"   # v1.SupportedMachineTypeLabel
# Beyond KubeVirt: {machine: max vCPUs} from libvirt, published by each node's handler.
MACHINE_MAX_VCPUS_ANNOTATION = "virtmesh.io/machine-max-vcpus"
# KubeVirt's bound on vCPUs for defaulted maxSockets (pkg/defaults: maxSockets*cores*threads <= 512).
MAX_VCPUS = 512
# The most vCPUs any domain can be defined with (KVM_MAX_VCPUS is at most 4096): a topology or CPU
# request beyond it is refused at admission rather than failing in defaulting, the domain or libvirt.
MAX_DOMAIN_VCPUS = 4096


def emulated(arch: str, machine: str) -> bool:
    """`machine` matches one of the arch's emulated-machine globs (arch.py's table)."""
    a = common_arch.get(arch)
    return a is not None and any(fnmatch.fnmatch(machine, g) for g in a.emulated_machines)


def machine_of(vmi) -> str:
    """The machine type a VMI needs on its node: status.machine.type, else spec.domain.machine.type."""
    return vmi.status.machine.type or vmi.spec.domain.machine.type


def domain_vcpus(spec) -> int:
    """vCPUs the domain is defined with: maxSockets (CPU hotplug, where the arch has it) or
    sockets, times cores*threads."""
    cpu = spec.domain.cpu
    sockets = cpu.sockets or 1
    a = common_arch.get(spec.architecture or common_arch.host_arch())
    if a is not None and a.cpu_hotplug:
        sockets = max(cpu.maxSockets, sockets)
    return sockets * (cpu.cores or 1) * (cpu.threads or 1)


def node_max_vcpus(node) -> dict[str, int]:
    """What a node's labeller published (empty when nothing, or garbage)."""
    raw = node.metadata.annotations.get(MACHINE_MAX_VCPUS_ANNOTATION, "")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def max_vcpus(nodes, machine: str) -> int:
    """The most vCPUs any node offering `machine` allows for it; 0 when no node says."""
    best = 0
    for node in nodes:
        if node.metadata.labels.get(MACHINE_TYPE_LABEL + machine) != "true":
            continue
        best = max(best, node_max_vcpus(node).get(machine, 0))
    return best
