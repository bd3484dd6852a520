"""Admission of snapshot.kubevirt.io objects: KubeVirt's VMSnapshotAdmitter and VMRestoreAdmitter
(pkg/storage/admitters/vmsnapshot.go, vmrestore.go), every cause with its field path at once, plus the
enumerations the CRDs' schemas hold (deletionPolicy, failureDeadline, the restore's policies)."""
from __future__ import annotations

from services.api.errors import Invalid
from services.common import names, proto, snapshots, timeutil


def _raise(causes: list[tuple[str, str]]) -> None:
    if causes:
        raise Invalid("; ".join(f"{f}: {m}" for f, m in causes), causes=tuple(causes))


def _typed_ref(ref, path: str, what: str) -> list[tuple[str, str]]:
    """The source/target reference: a kubevirt.io VirtualMachine, named."""
    causes = []
    if not ref.HasField("apiGroup"):
        causes.append((f"{path}.apiGroup", "missing apiGroup"))
    elif ref.apiGroup != snapshots.VM_GROUP:
        causes.append((f"{path}.apiGroup", "invalid apiGroup"))
    elif ref.kind != "VirtualMachine":
        causes.append((f"{path}.kind", "invalid kind"))
    if not ref.name:
        causes.append((f"{path}.name", f"Required value: the {what} VirtualMachine's name"))
    return causes


def _immutable(res, old) -> None:
    if old is not None and res.spec != old.spec:
        _raise([("spec", "spec in immutable after creation")])   # KubeVirt's text, typo included


def validate_snapshot(s, old=None) -> None:
    if old is not None:
        return _immutable(s, old)
    causes = _typed_ref(s.spec.source, "spec.source", "source")
    if s.spec.HasField("deletionPolicy") and s.spec.deletionPolicy not in snapshots.DELETION_POLICIES:
        causes.append(("spec.deletionPolicy", f'Unsupported value: "{s.spec.deletionPolicy}": supported values: '
                       + ", ".join(f'"{v}"' for v in snapshots.DELETION_POLICIES)))
    if s.spec.HasField("failureDeadline"):
        try:
            if timeutil.parse_duration(s.spec.failureDeadline) < 0:
                causes.append(("spec.failureDeadline", "must not be negative"))
        except ValueError as e:
            causes.append(("spec.failureDeadline", str(e)))
    _raise(causes)


def validate_content(c, old=None) -> None:
    if old is not None:
        return _immutable(c, old)
    causes = []
    if not c.spec.source.HasField("virtualMachine"):
        causes.append(("spec.source.virtualMachine", "Required value"))
    for i, vb in enumerate(c.spec.volumeBackups):
        if not vb.volumeName:
            causes.append((f"spec.volumeBackups[{i}].volumeName", "Required value"))
    _raise(causes)


def _enum(spec, field: str, allowed, text: str, causes) -> None:
    if spec.HasField(field) and getattr(spec, field) not in allowed:
        causes.append((f"spec.{field}", text.format(getattr(spec, field))))


def validate_restore(r, db, old=None) -> None:
    if old is not None:
        return _immutable(r, old)
    spec = r.spec
    causes = _typed_ref(spec.target, "spec.target", "target")
    if not spec.virtualMachineSnapshotName:
        causes.append(("spec.virtualMachineSnapshotName", "Required value"))
    _enum(spec, "targetReadinessPolicy", snapshots.READINESS_POLICIES,
          'Unsupported value: "{}": supported values: ' + ", ".join(f'"{v}"' for v in snapshots.READINESS_POLICIES),
          causes)
    _enum(spec, "volumeRestorePolicy", snapshots.VOLUME_RESTORE_POLICIES,
          'volume restore policy "{}" doesn\'t exist', causes)
    _enum(spec, "volumeOwnershipPolicy", snapshots.VOLUME_OWNERSHIP_POLICIES,
          'volume ownership policy "{}" doesn\'t exist', causes)
    for i, o in enumerate(spec.volumeRestoreOverrides):
        if not o.volumeName:
            causes.append((f"spec.volumeRestoreOverrides[{i}].volumeName", "must provide a volume name"))
        if not o.restoreName and not o.labels and not o.annotations:
            causes.append((f"spec.volumeRestoreOverrides[{i}]", "must provide at least one overriden field"))
    if spec.patches:
        causes.append(("spec.patches", "not supported by this mesh"))
    # One restore at a time per target (KubeVirt's admitter: an unfinished restore of the same target).
    if db is not None:
        for obj in db.list(proto.VMRESTORE, r.metadata.namespace or names.DEFAULT_NAMESPACE)[0]:
            other = proto.inner(obj)
            if other.metadata.name != r.metadata.name and other.spec.target == spec.target and \
                    not (other.status.HasField("complete") and other.status.complete):
                causes.append(("spec.target", f'VirtualMachineRestore "{other.metadata.name}" in progress'))
    _raise(causes)


def validate(kind: proto.api.Kind, res, db, old=None) -> None:
    if kind == proto.VMSNAPSHOT:
        validate_snapshot(res, old)
    elif kind == proto.VMSNAPSHOT_CONTENT:
        validate_content(res, old)
    else:
        validate_restore(res, db, old)
