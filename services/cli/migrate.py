"""`virtmesh migrate VM` and `virtmesh migrate-cancel VM`, as virtctl's (pkg/virtctl/vm/migrate.go,
migrate_cancel.go): migrate calls the VM's migrate subresource, which makes a
VirtualMachineInstanceMigration for its running VMI; migrate-cancel deletes the VMI's migration that
is not final yet (the controller then aborts it)."""
from __future__ import annotations

import grpc

from services.common import migrations, proto


def _selector(text: str) -> dict[str, str]:
    """--addedNodeSelector=key=value1,key2=value2 (cobra's StringToString)."""
    out: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            from services.cli.main import CLIError
            raise CLIError(f'invalid argument "{text}" for "--addedNodeSelector" flag: {item} must be formatted '
                           f'as key=value')
        out[key] = value
    return out


def cmd_migrate(args, api) -> None:
    from services.cli.main import CLIError
    options = proto.migration.MigrateOptions(addedNodeSelector=_selector(args.added_node_selector or ""))
    if args.dry_run:
        print("Dry Run execution")
        options.dryRun.append("All")
    try:
        api.sub.Migrate(proto.api.MigrateRequest(namespace=args.namespace or "default", name=args.name,
                                                 options=options), timeout=30)
    except grpc.RpcError as e:
        raise CLIError(f"Error migrating VirtualMachine {e.details()}") from None
    print(f"VM {args.name} was scheduled to migrate")


def cmd_migrate_cancel(args, api) -> None:
    from services.cli.main import CLIError
    ns = args.namespace or "default"
    try:
        found = api.resources.List(proto.api.ListRequest(
            kind=proto.VMIM, namespace=ns, labelSelector={migrations.MIGRATION_SELECTOR_LABEL: args.name}), timeout=30)
    except grpc.RpcError as e:
        raise CLIError(f"Error fetching virtual machine instance migration list  {e.details()}") from None
    for obj in found.items:
        m = proto.inner(obj)
        if migrations.is_final(m):
            continue
        try:
            api.resources.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VMIM, ns, m.metadata.name)), timeout=30)
        except grpc.RpcError as e:
            raise CLIError(f"Error canceling migration {m.metadata.name} of a VirtualMachine {args.name}: "
                           f"{e.details()}") from None
        print(f"VM {args.name} was scheduled to migrate-cancel")
        return
    raise CLIError(f"Found no migration to cancel for {args.name}")


def add_parsers(sub, ns) -> None:
    """The two verbs on `virtmesh`'s subcommand parser (`ns` adds -n/--namespace)."""
    mg = sub.add_parser("migrate", help="live-migrate a VM's instance to another node")
    mg.add_argument("name", metavar="VM")
    mg.add_argument("--addedNodeSelector", dest="added_node_selector", metavar="key=value,...",
                    help="an additional node selector for this one migration; it only restricts the VM's own")
    mg.add_argument("--dry-run", action="store_true")
    ns(mg)
    mg.set_defaults(func=cmd_migrate)
    mc = sub.add_parser("migrate-cancel", help="cancel the migration of a VM")
    mc.add_argument("name", metavar="VM")
    ns(mc)
    mc.set_defaults(func=cmd_migrate_cancel)
