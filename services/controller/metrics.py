"""virt-controller's metrics, computed from the informer caches (KubeVirt's vmistats / vmstats /
migrationstats collectors and perfscale phase-transition histogram).

Collectors run on every scrape in the HTTP server's thread: they only read the caches
(`list(dict.values())` is atomic under the GIL) and never call the api.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.common import instancetype, migrations, proto, timeutil, vmstate

log = logging.getLogger(__name__)

NONE = "<none>"
OTHER = "<other>"
ANNOTATION_PREFIX = "vm.kubevirt.io/"
VENDOR_LABEL = "instancetype.kubevirt.io/vendor"
WHITELISTED_VENDORS = ("kubevirt.io", "redhat.com")
OUTDATED_LAUNCHER_LABEL = "kubevirt.io/outdatedLauncherImage"   # OutdatedLauncherImageLabel (never set here)
# KubeVirt's VMI annotations naming the instance type / preference the VMI was expanded from.
INSTANCETYPE_ANNOTATIONS = (instancetype.INSTANCETYPE_ANNOTATION, instancetype.CLUSTER_INSTANCETYPE_ANNOTATION)
PREFERENCE_ANNOTATIONS = (instancetype.PREFERENCE_ANNOTATION, instancetype.CLUSTER_PREFERENCE_ANNOTATION)
# The matcher kinds the collectors name (singular only, compared case-insensitively, as KubeVirt's).
INSTANCETYPE_KINDS = (instancetype.INSTANCETYPE_NAMES[0], instancetype.CLUSTER_INSTANCETYPE_NAMES[0])
PREFERENCE_KINDS = (instancetype.PREFERENCE_NAMES[0], instancetype.CLUSTER_PREFERENCE_NAMES[0])

# KubeVirt's PhaseTransitionTimeBuckets().
PHASE_TRANSITION_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 40, 50, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600]
PHASE_TRANSITION_FROM_CREATION = Histogram(
    "kubevirt_vmi_phase_transition_time_from_creation_seconds",
    "Histogram of VM phase transitions duration from creation time in seconds.", ["phase"],
    buckets=PHASE_TRANSITION_BUCKETS)

VMI_INFO_LABELS = ["node", "namespace", "name", "phase", "os", "workload", "flavor", "instance_type", "preference",
                   "guest_os_kernel_release", "guest_os_machine", "guest_os_arch", "guest_os_name",
                   "guest_os_version_id", "evictable", "outdated", "vmi_pod"]
# kubevirt_vmi_phase_count is KubeVirt's recording rule `sum by (...) (kubevirt_vmi_info)`; the
# standalone mesh has no Prometheus to evaluate it, so the controller serves it directly.
PHASE_COUNT_LABELS = ["node", "phase", "os", "workload", "flavor", "instance_type", "preference",
                      "guest_os_kernel_release", "guest_os_machine", "guest_os_arch", "guest_os_name",
                      "guest_os_version_id", "vmi_pod"]
VM_INFO_LABELS = ["name", "namespace", "os", "workload", "flavor", "machine_type", "instance_type", "preference",
                  "status", "status_group"]


def status_group(printable: str) -> str:
    for group, statuses in vmstate.PRINTABLE_STATUS_GROUPS.items():
        if printable in statuses:
            return group
    return "<unknown>"


def system_info(annotations) -> tuple[str, str, str]:
    os_, workload, flavor = (annotations.get(ANNOTATION_PREFIX + k) or NONE for k in ("os", "workload", "flavor"))
    return os_, workload, flavor


def vendor_name(obj) -> str:
    """A referenced instancetype/preference object -> its name when a whitelisted vendor ships it,
    else <other> (custom, unknown or gone: A5.3)."""
    if obj is None:
        return OTHER
    if obj.metadata.labels.get(VENDOR_LABEL) in WHITELISTED_VENDORS:
        return obj.metadata.name
    return OTHER


class Lookup:
    """Instancetype / preference objects by `namespace/name` (namespaced kinds) or name (cluster
    kinds). This one knows none: every reference resolves to <other>, as in KubeVirt when the object
    no longer exists."""

    def instancetype(self, key: str, cluster: bool):
        return None

    def preference(self, key: str, cluster: bool):
        return None


class InformerLookup(Lookup):
    """The objects from the controller's informers (kind -> Informer, services/controller/instancetype.py)."""

    def __init__(self, informers: dict):
        self.informers = informers

    def _get(self, kind: proto.api.Kind, key: str):
        inf = self.informers.get(kind)
        return inf.get(key) if inf is not None else None

    def instancetype(self, key: str, cluster: bool):
        return self._get(proto.CLUSTER_INSTANCETYPE if cluster else proto.INSTANCETYPE, key)

    def preference(self, key: str, cluster: bool):
        return self._get(proto.CLUSTER_PREFERENCE if cluster else proto.PREFERENCE, key)


def vm_instancetype(vm, lookup: Lookup) -> str:
    if not vm.spec.HasField("instancetype") or not vm.spec.instancetype.name:
        return NONE
    m = vm.spec.instancetype
    kind = (m.kind or "VirtualMachineClusterInstancetype").lower()  # KubeVirt's default kind
    if kind not in INSTANCETYPE_KINDS:
        return NONE
    cluster = kind == INSTANCETYPE_KINDS[1]
    key = m.name if cluster else f"{vm.metadata.namespace}/{m.name}"
    return vendor_name(lookup.instancetype(key, cluster))


def vm_preference(vm, lookup: Lookup) -> str:
    if not vm.spec.HasField("preference") or not vm.spec.preference.name:
        return NONE
    m = vm.spec.preference
    kind = (m.kind or "VirtualMachineClusterPreference").lower()
    if kind not in PREFERENCE_KINDS:
        return NONE
    cluster = kind == PREFERENCE_KINDS[1]
    key = m.name if cluster else f"{vm.metadata.namespace}/{m.name}"
    return vendor_name(lookup.preference(key, cluster))


def _vmi_ref(vmi, annotations: tuple[str, str], find) -> str:
    ann = vmi.metadata.annotations
    if annotations[0] in ann:
        return vendor_name(find(f"{vmi.metadata.namespace}/{ann[annotations[0]]}", False))
    if annotations[1] in ann:
        return vendor_name(find(ann[annotations[1]], True))
    return NONE


def vmi_info_labels(vmi, lookup: Lookup) -> list[str]:
    os_, workload, flavor = system_info(vmi.metadata.annotations)
    return [
        vmi.status.nodeName, vmi.metadata.namespace, vmi.metadata.name, vmi.status.phase.lower(),
        os_, workload, flavor,
        _vmi_ref(vmi, INSTANCETYPE_ANNOTATIONS, lookup.instancetype),
        _vmi_ref(vmi, PREFERENCE_ANNOTATIONS, lookup.preference),
        # guest_os_*: KubeVirt reads them from the guest agent (status.guestOSInfo), which we lack.
        "", vmi.status.machine.type if vmi.status.HasField("machine") else "", "", "", "",
        "true" if evictable(vmi) else "false",
        "true" if OUTDATED_LAUNCHER_LABEL in vmi.metadata.labels else "false",
        f"virt-launcher-{vmi.metadata.name}" if vmi.status.phase == vmstate.RUNNING else "",
    ]


def evictable(vmi) -> bool:
    """KubeVirt's isVMEvictable (conservative, as it feeds an alert): a VMI that must live-migrate on
    eviction (LiveMigrate) is evictable only once its LiveMigratable condition says True."""
    return vmi.spec.evictionStrategy != migrations.LIVE_MIGRATE or migrations.is_migratable(vmi)


def vm_info_labels(vm, lookup: Lookup) -> list[str]:
    os_, workload, flavor = system_info(vm.spec.template.metadata.annotations)
    printable = vm.status.printableStatus
    machine = vm.spec.template.spec.domain.machine.type if vm.spec.template.spec.domain.HasField("machine") else ""
    return [vm.metadata.name, vm.metadata.namespace, os_, workload, flavor, machine or NONE,
            vm_instancetype(vm, lookup), vm_preference(vm, lookup), printable.lower(), status_group(printable)]


def migration_gauges(vmims: Iterable) -> list:
    """KubeVirt's migrationstats collector (#14426): phase "" is unset, never failed."""
    pending = scheduling = running = unset = 0
    succeeded = GaugeMetricFamily("kubevirt_vmi_migration_succeeded",
                                  "Indicates if the VMI migration succeeded.", labels=["vmi", "vmim", "namespace"])
    failed = GaugeMetricFamily("kubevirt_vmi_migration_failed",
                               "Indicates if the VMI migration failed.", labels=["vmi", "vmim", "namespace"])
    for m in vmims:
        ph = m.status.phase
        if ph == migrations.PENDING:
            pending += 1
        elif ph == migrations.SCHEDULING:
            scheduling += 1
        elif ph == migrations.UNSET:
            unset += 1
        elif ph in (migrations.RUNNING, migrations.SCHEDULED, migrations.PREPARING_TARGET, migrations.TARGET_READY):
            running += 1
        elif ph == migrations.SUCCEEDED:
            succeeded.add_metric([m.spec.vmiName, m.metadata.name, m.metadata.namespace], 1)
        else:
            failed.add_metric([m.spec.vmiName, m.metadata.name, m.metadata.namespace], 1)
    out = []
    for name, value, help_ in (
            ("pending", pending, "Number of current pending migrations."),
            ("scheduling", scheduling, "Number of current scheduling migrations."),
            ("running", running, "Number of current running migrations."),
            ("unset", unset, "Number of current unset migrations. These are pending items the virt-controller "
                             "hasn’t processed yet from the queue.")):
        g = GaugeMetricFamily(f"kubevirt_vmi_migrations_in_{name}_phase", help_)
        g.add_metric([], value)
        out.append(g)
    return out + [succeeded, failed]


class ControllerCollector(Collector):
    def __init__(self, vms, vmis, migrations: Callable[[], Iterable] = lambda: [], lookup: Lookup | None = None):
        """`migrations`: the VirtualMachineInstanceMigration cache; empty until the kind exists."""
        self.vms, self.vmis, self.migrations = vms, vmis, migrations
        self.lookup = lookup or Lookup()

    def collect(self):
        vmi_info = GaugeMetricFamily("kubevirt_vmi_info", "Information about VirtualMachineInstances.",
                                     labels=VMI_INFO_LABELS)
        phase_count = GaugeMetricFamily("kubevirt_vmi_phase_count", "Sum of VMIs per phase and node.",
                                        labels=PHASE_COUNT_LABELS)
        counts: dict[tuple, int] = {}
        for vmi in self.vmis.items():
            labels = vmi_info_labels(vmi, self.lookup)
            vmi_info.add_metric(labels, 1)
            row = dict(zip(VMI_INFO_LABELS, labels))
            k = tuple(row[n] for n in PHASE_COUNT_LABELS)
            counts[k] = counts.get(k, 0) + 1
        for k, n in counts.items():
            phase_count.add_metric(list(k), n)
        vm_info = GaugeMetricFamily("kubevirt_vm_info", "Information about Virtual Machines.", labels=VM_INFO_LABELS)
        for vm in self.vms.items():
            vm_info.add_metric(vm_info_labels(vm, self.lookup), 1)
        yield vmi_info
        yield phase_count
        yield vm_info
        yield from migration_gauges(self.migrations())

    def describe(self):
        return []  # collected on scrape only: no registration-time call into the caches


class PhaseTransitions:
    """Observes kubevirt_vmi_phase_transition_time_from_creation_seconds when a VMI's phase changes
    (KubeVirt does it in the informer's update handler: a VMI first seen after a restart is a
    baseline, not a transition)."""

    def __init__(self):
        self.last: dict[str, str] = {}

    def seen(self, key: str, vmi) -> None:
        if vmi is None:
            self.last.pop(key, None)
            return
        uid_phase = f"{vmi.metadata.uid}/{vmi.status.phase}"
        old = self.last.get(key)
        self.last[key] = uid_phase
        if old is None or old == uid_phase or not old.startswith(vmi.metadata.uid + "/") or not vmi.status.phase:
            return
        stamp = next((t.phaseTransitionTimestamp for t in reversed(vmi.status.phaseTransitionTimestamps)
                      if t.phase == vmi.status.phase), "")
        if not stamp or not vmi.metadata.creationTimestamp:
            return
        seconds = (timeutil.parse(stamp) - timeutil.parse(vmi.metadata.creationTimestamp)).total_seconds()
        PHASE_TRANSITION_FROM_CREATION.labels(vmi.status.phase).observe(max(seconds, 0.0))
