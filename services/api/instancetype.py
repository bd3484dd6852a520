"""Admission of instance types, preferences, the VMs that reference them, and the KubeVirt object
(KubeVirt's pkg/instancetype/webhooks and the VM admitter's instancetype step; virt-operator's KubeVirt
create admitter). These checks read the store, which validation.py never does.

- An instancetype / preference is refused when a field is out of range or names something this mesh's
  VMIs cannot have (`common.instancetype.unsupported`).
- A VM's matchers: KubeVirt's matcher rules; `inferFromVolume` resolved from the volume's labels at
  mutation (its failure policy honoured); a missing object refused on `spec.instancetype` /
  `spec.preference` with KubeVirt's "Failure to find …" text; the instance type and preference applied
  to a copy of the template, which validation.py then judges (conflicts refused with KubeVirt's text,
  each field a cause), and the preference's requirements checked on it.
"""
from __future__ import annotations

from services.api import migration, store, validation
from services.api.errors import Invalid
from services.common import instancetype as it, names
from services.common import domain, kvconfig, proto, quantity

INSTANCETYPE_KINDS = (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE)
PREFERENCE_KINDS = (proto.PREFERENCE, proto.CLUSTER_PREFERENCE)
TEMPLATE = "spec.template.spec"


def _shown(value: str) -> str:
    return validation._shown(value)


# ---------------------------------------------------------------- instancetype / preference objects

def _positive_quantity(value: str, path: str) -> int:
    if not value:
        raise Invalid(f"{path}: Required value")
    try:
        q = quantity.parse(value)
    except ValueError as e:
        raise Invalid(f"{path}: Invalid value: {_shown(value)}: {e}") from None
    if q <= 0:
        raise Invalid(f"{path}: Invalid value: {_shown(value)}: must be greater than 0")
    return int(q)


def _refuse_unsupported(kind: proto.api.Kind, spec) -> None:
    missing = it.unsupported(kind, spec)
    if missing:
        causes = tuple((path, f"Unsupported value: not supported: this mesh's VirtualMachineInstances have no {what}")
                       for path, what in missing)
        raise Invalid("; ".join(f"{p}: {t}" for p, t in causes), causes)


def instancetype_spec(kind: proto.api.Kind, spec) -> None:
    """ValidateInstanceTypeSpec plus the CRD's required fields."""
    if spec.cpu.guest < 1:
        raise Invalid("spec.cpu.guest: Required value: an instance type provides at least 1 vCPU")
    guest = _positive_quantity(spec.memory.guest, "spec.memory.guest")
    pct = spec.memory.overcommitPercent
    if not 0 <= pct <= 100:
        raise Invalid(f"spec.memory.overcommitPercent: Invalid value: spec.memory.overcommitPercent '{pct}': "
                      "must be in range between 0 and 100.")
    if pct and spec.memory.HasField("hugepages"):
        raise Invalid("spec.memory.overcommitPercent: spec.memory.overcommitPercent and spec.memory.hugepages "
                      "should not be requested together.")
    if spec.memory.HasField("maxGuest") and _positive_quantity(spec.memory.maxGuest, "spec.memory.maxGuest") < guest:
        raise Invalid(f"spec.memory.maxGuest: Invalid value: {_shown(spec.memory.maxGuest)}: must not be less "
                      "than spec.memory.guest")
    _refuse_unsupported(kind, spec)


def preference_spec(kind: proto.api.Kind, spec) -> None:
    """ValidatePreferenceSpec (topology and spread options) plus enumerations this mesh checks on VMIs."""
    cpu = spec.cpu
    if cpu.HasField("preferredCPUTopology"):
        t = cpu.preferredCPUTopology
        if t not in it.TOPOLOGIES and t not in it.DEPRECATED_TOPOLOGIES:
            raise Invalid(f"spec.cpu.preferredCPUTopology: Invalid value: {_shown(t)}: "
                          f"unknown preferredCPUTopology {t}")
    if it.preferred_topology(spec) == it.SPREAD:
        ratio, across = it.spread_options(spec)
        if across not in it.SPREAD_ACROSS:
            raise Invalid(f"spec.cpu.spreadOptions.across: Invalid value: {_shown(across)}: across {across} is not "
                          "supported")
        if across == it.SPREAD_CORES_THREADS and ratio != 2:
            raise Invalid("spec.cpu.spreadOptions.ratio: only a ratio of 2 (1 core 2 threads) is allowed when "
                          "spreading vCPUs over cores and threads")
        if ratio == 0:
            raise Invalid("spec.cpu.spreadOptions.ratio: Invalid value: 0: must be greater than 0")
    d = spec.devices
    for field in ("preferredDiskBus", "preferredLunBus", "preferredCdromBus"):
        bus = getattr(d, field)
        if bus and bus not in domain.DISK_BUSES:
            raise Invalid(f'spec.devices.{field}: Unsupported value: "{bus}": supported values: '
                          + ", ".join(f'"{b}"' for b in domain.DISK_BUSES))
    if d.preferredDiskCache and d.preferredDiskCache not in domain.DISK_CACHES:
        raise Invalid(f"spec.devices.preferredDiskCache: Unsupported value: {_shown(d.preferredDiskCache)}: "
                      "supported values: " + ", ".join(f'"{c}"' for c in domain.DISK_CACHES))
    if d.preferredDiskIO and d.preferredDiskIO not in domain.DISK_IO_MODES:
        raise Invalid(f"spec.devices.preferredDiskIO: Unsupported value: {_shown(d.preferredDiskIO)}: "
                      "supported values: " + ", ".join(f'"{c}"' for c in domain.DISK_IO_MODES))
    if spec.requirements.HasField("cpu") and spec.requirements.cpu.guest < 1:
        raise Invalid("spec.requirements.cpu.guest: Required value")
    if spec.requirements.HasField("memory"):
        _positive_quantity(spec.requirements.memory.guest, "spec.requirements.memory.guest")
    if spec.HasField("preferredTerminationGracePeriodSeconds") and spec.preferredTerminationGracePeriodSeconds < 0:
        raise Invalid(f"spec.preferredTerminationGracePeriodSeconds: Invalid value: "
                      f"{spec.preferredTerminationGracePeriodSeconds}: must be greater than or equal to 0")
    _refuse_unsupported(kind, spec)


# ---------------------------------------------------------------- the KubeVirt object

def kubevirt(res, db) -> None:
    """virt-operator's create admitter (one per mesh) and the fields the services read."""
    c = res.spec.configuration
    if c.instancetype.HasField("referencePolicy") and c.instancetype.referencePolicy not in kvconfig.REFERENCE_POLICIES:
        raise Invalid(f'spec.configuration.instancetype.referencePolicy: Unsupported value: '
                      f'{_shown(c.instancetype.referencePolicy)}: supported values: '
                      + ", ".join(f'"{p}"' for p in kvconfig.REFERENCE_POLICIES))
    m = c.migrations
    if m.HasField("bandwidthPerMigration"):
        try:
            quantity.parse(m.bandwidthPerMigration)
        except ValueError as e:
            raise Invalid(f"spec.configuration.migrations.bandwidthPerMigration: Invalid value: "
                          f"{_shown(m.bandwidthPerMigration)}: {e}") from None
    for field in ("completionTimeoutPerGiB", "progressTimeout"):
        if m.HasField(field) and getattr(m, field) < 0:
            raise Invalid(f"spec.configuration.migrations.{field}: Invalid value: {getattr(m, field)}: must be "
                          "greater than or equal to 0")
    md = res.metadata
    for o in db.list(proto.KUBEVIRT)[0]:
        other = proto.inner(o).metadata
        if (other.namespace, other.name) != (md.namespace, md.name):
            raise Invalid(f"metadata.name: Invalid value: {_shown(md.name)}: {kvconfig.ALREADY_CREATED} "
                          f"({other.namespace}/{other.name}): one KubeVirt object per mesh")


# ---------------------------------------------------------------- a VM's matchers

def default_kinds(vm_spec) -> None:
    """setDefaultInstancetypeKind / setDefaultPreferenceKind (the VM mutator, on create and update)."""
    if vm_spec.HasField("instancetype") and not vm_spec.instancetype.kind and not vm_spec.instancetype.inferFromVolume:
        vm_spec.instancetype.kind = it.DEFAULT_INSTANCETYPE_KIND
    if vm_spec.HasField("preference") and not vm_spec.preference.kind and not vm_spec.preference.inferFromVolume:
        vm_spec.preference.kind = it.DEFAULT_PREFERENCE_KIND


def _matcher(m, path: str, what: str) -> None:
    """validateInstancetypeMatcher / validatePreferenceMatcher."""
    if not m.name and not m.inferFromVolume:
        raise Invalid(f"{path}: Required value: Either Name or InferFromVolume should be provided within the {what}")
    if m.inferFromVolume and m.name:
        raise Invalid(f"{path}.name: Name should not be provided when InferFromVolume is used within the {what}")
    if m.inferFromVolume and m.kind:
        raise Invalid(f"{path}.kind: Kind should not be provided when InferFromVolume is used within the {what}")
    if m.HasField("inferFromVolumeFailurePolicy") and m.inferFromVolumeFailurePolicy not in it.INFER_FAILURE_POLICIES:
        raise Invalid(f"{path}.inferFromVolumeFailurePolicy: Invalid value '{m.inferFromVolumeFailurePolicy}' for "
                      "InferFromVolumeFailurePolicy")


def matcher_update(old_spec, new_spec) -> None:
    """validateMatcherUpdate: a matcher that had a revisionName may not change its name and keep it."""
    for field, path in (("instancetype", "spec.instancetype.revisionName"),
                        ("preference", "spec.preference.revisionName")):
        if not (old_spec.HasField(field) and new_spec.HasField(field)):
            continue
        old, new = getattr(old_spec, field), getattr(new_spec, field)
        if old.revisionName and old != new and old.name != new.name and old.revisionName == new.revisionName:
            raise Invalid(f"{path}: the Matcher Name has been updated without updating the RevisionName")


class _Inference(Exception):
    """A volume gave no default: with failurePolicy Ignore the matcher goes (IgnoreableInferenceError)."""


def _labels_of(db, kind: proto.api.Kind, namespace: str, name: str):
    try:
        return proto.inner(db.get(kind, namespace, name)).metadata.labels
    except store.NotFound:
        return None


def _from_labels(labels, name_label: str, kind_label: str) -> tuple[str, str]:
    if name_label not in labels:
        raise _Inference(f"unable to find required {name_label} label on the volume")
    return labels[name_label], labels.get(kind_label, "")


def _from_source_pvc(db, dv_spec, ns: str, name_label: str, kind_label: str) -> tuple[str, str]:
    """infer.fromDataVolumeSpec: the labels of the claim a DataVolume clones from."""
    if dv_spec.source.HasField("pvc"):
        src = dv_spec.source.pvc
        labels = _labels_of(db, proto.PVC, src.namespace or ns, src.name)
        if labels is None:
            raise LookupError(f'persistentvolumeclaims "{src.name}" not found')
        return _from_labels(labels, name_label, kind_label)
    raise _Inference("unable to infer defaults from DataVolumeSpec as DataVolumeSource is not supported")


def _infer(db, vm, volume_name: str, name_label: str, kind_label: str) -> tuple[str, str]:
    """infer.fromVolumes for what this mesh stores: a PVC, or a DataVolume (one of the VM's templates: its
    source PVC's labels; else the stored DataVolume's labels, else its source PVC's)."""
    ns = vm.metadata.namespace or names.DEFAULT_NAMESPACE
    for v in vm.spec.template.spec.volumes:
        if v.name != volume_name:
            continue
        if v.HasField("persistentVolumeClaim"):
            labels = _labels_of(db, proto.PVC, ns, v.persistentVolumeClaim.claimName)
            if labels is None:
                raise LookupError(f'persistentvolumeclaims "{v.persistentVolumeClaim.claimName}" not found')
            return _from_labels(labels, name_label, kind_label)
        if v.HasField("dataVolume"):
            template = next((t for t in vm.spec.dataVolumeTemplates if t.metadata.name == v.dataVolume.name), None)
            if template is not None:   # the DataVolume the VM will make: its source claim's labels
                return _from_source_pvc(db, template.spec, ns, name_label, kind_label)
            try:
                dv = proto.inner(db.get(proto.DV, ns, v.dataVolume.name))
            except store.NotFound:  # a collected DataVolume: its claim has its name
                labels = _labels_of(db, proto.PVC, ns, v.dataVolume.name)
                if labels is None:
                    raise LookupError(f'persistentvolumeclaims "{v.dataVolume.name}" not found') from None
                return _from_labels(labels, name_label, kind_label)
            if name_label in dv.metadata.labels:
                return _from_labels(dv.metadata.labels, name_label, kind_label)
            return _from_source_pvc(db, dv.spec, ns, name_label, kind_label)
        raise _Inference(f"unable to infer defaults from volume {volume_name} as type is not supported")
    raise LookupError(f"unable to find volume {volume_name} to infer defaults")


def infer(vm, db) -> None:
    """The VM mutator's inferMatchers: a matcher with inferFromVolume becomes name + kind from the
    volume's default-instancetype / default-preference labels."""
    for field, labels, what in (
            ("instancetype", (it.DEFAULT_INSTANCETYPE_LABEL, it.DEFAULT_INSTANCETYPE_KIND_LABEL), "instancetype"),
            ("preference", (it.DEFAULT_PREFERENCE_LABEL, it.DEFAULT_PREFERENCE_KIND_LABEL), "preference")):
        if not vm.spec.HasField(field) or not getattr(vm.spec, field).inferFromVolume:
            continue
        m = getattr(vm.spec, field)
        _matcher(m, f"spec.{field}", "InstancetypeMatcher" if field == "instancetype" else "PreferenceMatcher")
        ignore = m.HasField("inferFromVolumeFailurePolicy") and m.inferFromVolumeFailurePolicy == "Ignore"
        try:
            name, kind = _infer(db, vm, m.inferFromVolume, *labels)
        except _Inference as e:
            if ignore:
                vm.spec.ClearField(field)
                continue
            raise Invalid(f"spec.{field}.inferFromVolume: failure inferring {what}: {e}") from None
        except LookupError as e:
            raise Invalid(f"spec.{field}.inferFromVolume: failure inferring {what}: {e}") from None
        if field == "instancetype" and ignore:
            vm.spec.template.spec.domain.ClearField("memory")   # as KubeVirt: the instance type brings memory
        getattr(vm.spec, field).CopyFrom(type(m)(name=name, kind=kind))


class Finder:
    """find.SpecFinder over the api's store: a revision first (spec.revisionName, then the VM's
    status ref when it holds the object named), else the object itself."""

    def __init__(self, db):
        self.db = db

    def _get(self, kind: proto.api.Kind, namespace: str, name: str):
        try:
            return proto.inner(self.db.get(kind, namespace, name))
        except store.NotFound:
            raise it.not_found(kind, name) from None

    def _revision(self, vm, matcher, status_ref):
        ns = vm.metadata.namespace
        if matcher.revisionName:
            return self._get(proto.CONTROLLER_REVISION, ns, matcher.revisionName)
        if status_ref.controllerRevisionRef.name:
            try:
                rev = proto.inner(self.db.get(proto.CONTROLLER_REVISION, ns, status_ref.controllerRevisionRef.name))
            except store.NotFound:
                return None
            if rev.metadata.labels.get(it.REVISION_NAME_LABEL) == matcher.name:
                return rev
        return None

    def _spec(self, vm, field: str, status_ref, kind_of):
        """The spec a VM's matcher (`field`) names: from its revision when there is one, else the object."""
        if not vm.spec.HasField(field):
            return None
        m = getattr(vm.spec, field)
        rev = self._revision(vm, m, status_ref)
        if rev is not None:
            return it.revision_object(rev)[1].spec
        return self._get(*it.object_key(kind_of(m), vm.metadata.namespace, m.name)).spec

    def instancetype(self, vm):
        return self._spec(vm, "instancetype", vm.status.instancetypeRef, it.instancetype_kind)

    def preference(self, vm):
        return self._spec(vm, "preference", vm.status.preferenceRef, it.preference_kind)


def _conflicts(conflicts: list) -> Invalid:
    causes = tuple((c.path, c.text()) for c in conflicts)
    return Invalid(f"{conflicts[0].path}: {it.conflicts_text(conflicts)}", causes)


def _unchanged_references(old, vm) -> bool:
    """An update that leaves the matchers and the template as they were (a start, a stop …)."""
    return old is not None and all(getattr(old.spec, f) == getattr(vm.spec, f)
                                   for f in ("instancetype", "preference", "template"))


def admit_vm(obj: proto.api.Object, db, old=None) -> proto.api.Object | None:
    """The VM admitter's instancetype step: a VM with matchers -> the copy validation.py judges (its
    template with the instance type and preference applied); any other object as it is. None: the
    referenced object is gone (the VM controller says so in the VM's Failure condition) but this update
    (of `old`) changes neither the references nor the template, which were judged when written."""
    vm = proto.inner(obj)
    if not it.has_matchers(vm):
        return obj
    if vm.spec.HasField("instancetype"):
        _matcher(vm.spec.instancetype, "spec.instancetype", "InstancetypeMatcher")
    if vm.spec.HasField("preference"):
        _matcher(vm.spec.preference, "spec.preference", "PreferenceMatcher")
    for field in ("instancetype", "preference"):
        if vm.spec.HasField(field) and getattr(vm.spec, field).inferFromVolume:
            raise Invalid(f"spec.{field}.inferFromVolume: not resolved at admission")
    finder = Finder(db)
    specs = []
    for field, find in (("instancetype", finder.instancetype), ("preference", finder.preference)):
        try:
            specs.append(find(vm))
        except it.NotFound as e:
            if _unchanged_references(old, vm):
                return None
            raise Invalid(f"spec.{field}: Failure to find {field}: {e}",
                          ((f"spec.{field}", f"Failure to find {field}: {e}"),)) from None
        except it.Unresolvable as e:
            raise Invalid(f"spec.{field}: Failure to find {field}: {e}",
                          ((f"spec.{field}", f"Failure to find {field}: {e}"),)) from None
    itspec, pref = specs
    spread = it.check_spread(itspec, pref)
    if spread is not None:
        raise _conflicts([spread])
    out = proto.api.Object()
    out.CopyFrom(obj)
    copy = proto.inner(out)
    conflicts = it.apply(TEMPLATE, itspec, pref, copy.spec.template.spec, copy.spec.template.metadata)
    if conflicts:
        raise _conflicts(conflicts)
    req = it.check_requirements(itspec, pref, copy.spec.template.spec)
    if req is not None:
        text = f"failure checking preference requirements: {req.message}"
        raise Invalid(f"{req.path}: {text}", ((req.path, text),))
    return out


def validate(obj: proto.api.Object, db, machine_limits=None, old=None) -> None:
    """validation.validate, with what needs the store first: a VM judged with its instancetype and
    preference applied; instancetypes, preferences and the KubeVirt object checked. `old`: the stored
    resource an update replaces."""
    kind = proto.kind_of(obj)
    res = proto.inner(obj)
    if kind == proto.VM:
        checked = admit_vm(obj, db, old)
        if checked is None:   # all but the template, which cannot be expanded now
            validation.size(obj)
            validation.metadata(res.metadata, True)
            validation.text(res.spec, "spec")
            validation.run_strategy(res.spec)
            validation.data_volume_templates(res)
            return
        obj = checked
    elif kind in INSTANCETYPE_KINDS:
        instancetype_spec(kind, res.spec)
    elif kind in PREFERENCE_KINDS:
        preference_spec(kind, res.spec)
    elif kind == proto.KUBEVIRT:
        kubevirt(res, db)
    elif kind == proto.VMIM:
        migration.validate(res, db, old)
    elif kind == proto.MIGRATION_POLICY:
        migration.validate_policy(res)
    elif kind in (proto.VMSNAPSHOT, proto.VMSNAPSHOT_CONTENT, proto.VMRESTORE):
        from services.api import snapshot
        snapshot.validate(kind, res, db, old)
    validation.validate(obj, machine_limits, gates(db))


def gates(db) -> kvconfig.Gates:
    """The feature gates in effect, from the mesh's KubeVirt object (read when a check needs one)."""
    return kvconfig.Gates(lambda: [proto.inner(o) for o in db.list(proto.KUBEVIRT)[0]])


def mutate(obj: proto.api.Object, db) -> None:
    """What the VM mutator does with the store: inferFromVolume resolved, then the matcher kinds defaulted."""
    if proto.kind_of(obj) == proto.VM:
        vm = proto.inner(obj)
        infer(vm, db)
        default_kinds(vm.spec)
