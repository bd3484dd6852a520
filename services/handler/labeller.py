"""virt-handler's node-labeller: node labels computed from libvirt's (domain) capabilities.

Pure functions over the XML `hostcaps.read()` returns (so the tests feed captured files):

- `machine-type.node.kubevirt.io/<machine>: "true"` for every machine libvirt reports for a guest
  arch Virtmesh runs (amd64, arm64: arch.GUEST_ARCHS) that the api admits for it (KubeVirt's
  emulated-machine globs, machines.EMULATED_MACHINES): aliases (`q35`, `virt`) and versioned names
  (`pc-q35-7.2`, `virt-7.2`) alike — not the dozens of 32-bit ARM boards, i440fx or microvm machines
  QEMU also offers, which no VM here can ask for. An x86 node whose QEMU can emulate aarch64 therefore
  also offers `virt` (and the scheduler places arm64 VMs on it).
- amd64/s390x only (KubeVirt's archLabeller: arm64 supports no host-model / named models / host
  features): `cpu-model.node.kubevirt.io/<model>` and `cpu-model-migration.node.kubevirt.io/<model>`
  for usable, non-obsolete models; `cpu-feature.node.kubevirt.io/<feature>` for the host-model
  baseline's required features; `host-model-cpu.node.kubevirt.io/<model>`,
  `host-model-required-features.node.kubevirt.io/<feature>`, `cpu-vendor.node.kubevirt.io/<vendor>`,
  `node-labeller.kubevirt.io/obsolete-host-model` when the host model is obsolete.
- `cpu-timer.node.kubevirt.io/tsc-frequency` / `tsc-scalable` from the host's TSC counter;
  `kubevirt.io/sev` / `sev-es` from domain capabilities.

`apply()` removes every label with an owned prefix and adds the fresh set (so stale labels go),
unless the node carries the `node-labeller.kubevirt.io/skip-node` annotation.

Beyond KubeVirt: the annotation `virtmesh.io/machine-max-vcpus` (JSON `{machine: max vCPUs}`,
from libvirt's per-machine `maxCpus` and domain capabilities' `<vcpu max>`) tells the api and the
scheduler how many vCPUs each machine type can take on this node.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from services.common import arch as common_arch
from services.common import machines as common_machines
from services.common.machines import MACHINE_MAX_VCPUS_ANNOTATION, MACHINE_TYPE_LABEL
from services.handler.hostcaps import HostCaps

CPU_MODEL_LABEL = "cpu-model.node.kubevirt.io/"
CPU_MODEL_MIGRATION_LABEL = "cpu-model-migration.node.kubevirt.io/"
CPU_FEATURE_LABEL = "cpu-feature.node.kubevirt.io/"
CPU_VENDOR_LABEL = "cpu-vendor.node.kubevirt.io/"
CPU_TIMER_LABEL = "cpu-timer.node.kubevirt.io/"
HYPERV_LABEL = "hyperv.node.kubevirt.io/"
HOST_MODEL_CPU_LABEL = "host-model-cpu.node.kubevirt.io/"
HOST_MODEL_REQUIRED_FEATURES_LABEL = "host-model-required-features.node.kubevirt.io/"
OBSOLETE_HOST_MODEL_LABEL = "node-labeller.kubevirt.io/obsolete-host-model"
REALTIME_LABEL = "kubevirt.io/realtime"
SEV_LABEL = "kubevirt.io/sev"
SEV_ES_LABEL = "kubevirt.io/sev-es"
SKIP_NODE_ANNOTATION = "node-labeller.kubevirt.io/skip-node"

# nodeLabellerLabels: every label starting with one of these is the labeller's to remove/recompute.
OWNED_PREFIXES = (
    CPU_FEATURE_LABEL, CPU_MODEL_LABEL, CPU_MODEL_MIGRATION_LABEL, CPU_TIMER_LABEL, HYPERV_LABEL,
    REALTIME_LABEL, SEV_LABEL, SEV_ES_LABEL, HOST_MODEL_CPU_LABEL, HOST_MODEL_REQUIRED_FEATURES_LABEL,
    OBSOLETE_HOST_MODEL_LABEL, MACHINE_TYPE_LABEL, CPU_VENDOR_LABEL,
)

DEFAULT_OBSOLETE_CPU_MODELS = frozenset({
    "486", "pentium", "pentium2", "pentium3", "pentiumpro", "coreduo", "n270", "core2duo", "Conroe",
    "athlon", "phenom", "qemu64", "qemu32", "kvm64", "kvm32"})


# A Kubernetes label name (the part after the prefix): <= 63 chars, alphanumeric at both ends.
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


@dataclass
class Result:
    arch: str                                           # KubeVirt's name of the host arch
    labels: dict[str, str] = field(default_factory=dict)
    machine_max_vcpus: dict[str, int] = field(default_factory=dict)

    @property
    def machines(self) -> list[str]:
        return sorted(k[len(MACHINE_TYPE_LABEL):] for k in self.labels if k.startswith(MACHINE_TYPE_LABEL))


def _label(prefix: str, name: str, out: dict[str, str], value: str = "true") -> None:
    if name and _LABEL_NAME.match(name):
        out[prefix + name] = value


def supported_machines(caps_root: ET.Element) -> dict[str, int]:
    """Machine name -> max vCPUs, over the guest arches Virtmesh runs (getSupportedMachines), only the
    machines a VMI of that arch may name."""
    out: dict[str, int] = {}
    for guest in caps_root.findall("guest"):
        a = guest.find("arch")
        arch = common_arch.FROM_LIBVIRT.get(a.get("name", "")) if a is not None else None
        if a is None or arch not in common_arch.GUEST_ARCHS:
            continue  # i686, armv7l, s390x, ...: no VM here runs on them
        for m in a.findall("machine"):
            name = (m.text or "").strip()
            if not name or not common_machines.emulated(arch, name):
                continue
            try:
                n = int(m.get("maxCpus", "0"))
            except ValueError:
                n = 0
            out[name] = max(out.get(name, 0), n)
    return out


def compute(caps: HostCaps, obsolete=DEFAULT_OBSOLETE_CPU_MODELS) -> Result:
    root = ET.fromstring(caps.capabilities)
    host_arch = root.findtext("./host/cpu/arch", "")
    kv_arch = common_arch.FROM_LIBVIRT.get(host_arch, host_arch)
    res = Result(arch=kv_arch)
    machines = supported_machines(root)
    for name in machines:
        _label(MACHINE_TYPE_LABEL, name, res.labels)

    counter = root.find("./host/cpu/counter[@name='tsc']")
    frequency = counter.get("frequency") if counter is not None else None
    if counter is not None and frequency:
        res.labels[CPU_TIMER_LABEL + "tsc-frequency"] = frequency
        res.labels[CPU_TIMER_LABEL + "tsc-scalable"] = "true" if counter.get("scaling") == "yes" else "false"

    if caps.domcapabilities:
        dc = ET.fromstring(caps.domcapabilities)
        limit = dc.find("vcpu")
        max_vcpus = limit.get("max", "") if limit is not None else ""
        canonical = dc.findtext("machine", "")
        if max_vcpus.isdigit() and canonical:
            # Domain capabilities name the canonical machine (pc-q35-7.2); its aliases share the limit.
            aliases = {m.text.strip() for m in root.iter("machine")
                       if m.get("canonical") == canonical and m.text}
            for name in {canonical} | aliases:
                machines[name] = int(max_vcpus)
        sev = dc.find("./features/sev")
        if sev is not None and sev.get("supported") == "yes":
            res.labels[SEV_LABEL] = ""
            try:
                if int(sev.findtext("maxESGuests", "0")) > 0:
                    res.labels[SEV_ES_LABEL] = ""
            except ValueError:
                pass
        _cpu_labels(kv_arch, dc, caps.supported_features, obsolete, res.labels)
    res.machine_max_vcpus = {k: v for k, v in sorted(machines.items()) if v > 0}
    return res


def _cpu_labels(kv_arch: str, dc: ET.Element, supported_features: str, obsolete, out: dict[str, str]) -> None:
    # KubeVirt's archLabeller (amd64.go / arm64.go / s390x.go): host-supported features, host model and
    # named models are labelled together, on the arches the table marks (amd64, s390x).
    a = common_arch.get(kv_arch)
    if a is None or not a.cpu_model_labels:
        return
    features: set[str] = set()
    if supported_features:
        for f in ET.fromstring(supported_features).findall("feature"):
            if f.get("policy") == "require" or (kv_arch == "s390x" and not f.get("policy")):
                features.add(f.get("name", ""))
        for feature in features:
            _label(CPU_FEATURE_LABEL, feature, out)
    hm = dc.find("./cpu/mode[@name='host-model']")
    if hm is not None and hm.get("supported") == "yes":
        model = hm.findtext("model", "")
        vendor = hm.findtext("vendor", "") or a.default_cpu_vendor
        if vendor:
            _label(CPU_VENDOR_LABEL, vendor, out)
        if model:
            _label(HOST_MODEL_CPU_LABEL, model, out)
            if model in obsolete:
                out[OBSOLETE_HOST_MODEL_LABEL] = "true"
            else:
                _label(CPU_MODEL_MIGRATION_LABEL, model, out)
        for f in hm.findall("feature"):
            if f.get("policy") == "require":
                _label(HOST_MODEL_REQUIRED_FEATURES_LABEL, f.get("name", ""), out)
    for m in dc.findall("./cpu/mode[@name='custom']/model"):
        name = (m.text or "").strip()
        if m.get("usable") != "yes" or name in obsolete:
            continue
        _label(CPU_MODEL_LABEL, name, out)
        _label(CPU_MODEL_MIGRATION_LABEL, name, out)


def is_owned(label: str) -> bool:
    return any(label.startswith(p) for p in OWNED_PREFIXES)


def apply(node, result: Result) -> bool:
    """Recompute the labeller's labels on `node` (a kv.Node) in place; False when skipped."""
    md = node.metadata
    md.annotations[MACHINE_MAX_VCPUS_ANNOTATION] = json.dumps(result.machine_max_vcpus, separators=(",", ":"))
    if SKIP_NODE_ANNOTATION in md.annotations:
        return False
    for key in [k for k in md.labels if is_owned(k)]:
        del md.labels[key]
    md.labels.update(result.labels)
    return True

