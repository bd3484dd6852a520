"""Admission of VirtualMachineInstanceMigrations and the VM's `migrate` subresource (virt-api's
migration-create-mutator, migration-create-admitter, migration-update-admitter and
MigrateVMRequestHandler), with KubeVirt 1.6's texts. Both the gRPC door (Resources) and the admission
webhooks (admission.py) reach them through defaults.create and instancetype.validate.
"""
from __future__ import annotations

from services.api import store
from services.api.errors import Invalid, RequestConflict
from services.common import migrations, names, proto, vmstate

VM_NOT_RUNNING = "VM is not running"   # virt-api's vmNotRunning


def default(m) -> None:
    """The migration mutator: the selector label naming the VMI, and the finalizer that makes a delete
    a cancellation the controller finishes."""
    m.metadata.labels[migrations.MIGRATION_SELECTOR_LABEL] = m.spec.vmiName
    if migrations.MIGRATION_FINALIZER not in m.metadata.finalizers:
        m.metadata.finalizers.append(migrations.MIGRATION_FINALIZER)


def _migratable_refusal(vmi) -> str:
    """KubeVirt's isMigratable: a LiveMigratable condition that is False refuses the migration."""
    c = vmstate.get_condition(vmi, migrations.LIVE_MIGRATABLE)
    if c is not None and c.status == "False":
        return f"Cannot migrate VMI, Reason: {c.reason}, Message: {c.message}"
    return ""


def validate(m, db, old=None) -> None:
    """Create: the VMI exists, is not final, is migratable and has no migration in flight. Update: the
    spec stays (KubeVirt's migration-update-admitter)."""
    if old is not None:
        if old.spec != m.spec:
            raise Invalid("update of Migration object's spec is restricted")
        return
    if not m.spec.vmiName:
        raise Invalid("spec.vmiName: vmiName is missing", causes=(("spec.vmiName", "vmiName is missing"),))
    ns = m.metadata.namespace or names.DEFAULT_NAMESPACE
    try:
        vmi = proto.inner(db.get(proto.VMI, ns, m.spec.vmiName))
    except store.NotFound:
        raise Invalid(f'the VMI "{ns}/{m.spec.vmiName}" does not exist') from None
    if vmstate.is_final(vmi):
        raise Invalid("Cannot migrate VMI in finalized state.")
    refusal = _migratable_refusal(vmi)
    if refusal:
        raise Invalid(refusal)
    for obj in db.list(proto.VMIM, ns)[0]:
        other = proto.inner(obj)
        if other.metadata.labels.get(migrations.MIGRATION_SELECTOR_LABEL) != m.spec.vmiName:
            continue
        if other.status.phase in migrations.FINAL_PHASES:
            continue
        raise Invalid(f"in-flight migration detected. Active migration job ({other.metadata.uid}) is currently "
                      f"already in progress for VMI {other.spec.vmiName}.")


def migrate_vm(resources, request) -> proto.api.SubresourceResponse:
    """The VM's migrate subresource: a VirtualMachineInstanceMigration (kubevirt-migrate-vm-*) for its
    running VMI, admitted like any other; a dry run is judged and not stored."""
    ns = request.namespace or names.DEFAULT_NAMESPACE
    resources.get(proto.VM, ns, request.name)          # NotFound for a VM that does not exist
    vmi = proto.inner(resources.get(proto.VMI, ns, request.name))
    if vmi.status.phase != vmstate.RUNNING:
        raise RequestConflict(VM_NOT_RUNNING)
    m = proto.migration.VirtualMachineInstanceMigration(
        apiVersion=proto.KINDS[proto.VMIM].api_version, kind=proto.KINDS[proto.VMIM].kind)
    m.metadata.namespace = ns
    m.metadata.generateName = migrations.GENERATE_NAME
    m.spec.vmiName = request.name
    m.spec.addedNodeSelector.update(request.options.addedNodeSelector)
    obj = proto.wrap(m)
    if list(request.options.dryRun[:1]) == ["All"]:
        from services.api import defaults
        limits = resources.machine_limits()
        defaults.create(obj, limits)
        resources.validate(obj, limits)
        return proto.api.SubresourceResponse(message=f"dry run: migration of VMI {request.name} admitted")
    created = proto.inner(resources.create(obj))
    return proto.api.SubresourceResponse(message=created.metadata.name)


def validate_policy(p) -> None:
    """KubeVirt's MigrationPolicyAdmitter: no negative completionTimeoutPerGiB or bandwidthPerMigration."""
    from services.common import quantity
    causes = []
    if p.spec.HasField("completionTimeoutPerGiB") and p.spec.completionTimeoutPerGiB < 0:
        causes.append(("spec.completionTimeoutPerGiB", "must not be negative"))
    if p.spec.HasField("bandwidthPerMigration"):
        try:
            if quantity.parse(p.spec.bandwidthPerMigration) < 0:
                causes.append(("spec.bandwidthPerMigration", "must not be negative"))
        except ValueError:
            causes.append(("spec.bandwidthPerMigration", "quantities must match the regular expression "
                           "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
    if causes:
        raise Invalid("; ".join(f"{f}: {m}" for f, m in causes), causes=tuple(causes))
