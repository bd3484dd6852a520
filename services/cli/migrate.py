"""`virtmesh migrate VM` and `virtmesh migrate-cancel VM`, as virtctl's (pkg/virtctl/vm/migrate.go,
migrate_cancel.go): migrate calls the VM's migrate subresource, which makes a
VirtualMachineInstanceMigration for its running VMI; migrate-cancel deletes the VMI's migration that
is not final yet (the controller then aborts it). `virtmesh drain NODE` / `uncordon NODE`: kubectl's,
for the VMIs on a node (evictions decided as KubeVirt's pod-eviction admitter does)."""
from __future__ import annotations

import grpc

from services.cli.kubectl import namespace_arg, update_retrying
from services.common import migrations, proto, vmstate


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
        api.sub.Migrate(proto.api.MigrateRequest(namespace=namespace_arg(args), name=args.name,
                                                 options=options), timeout=30)
    except grpc.RpcError as e:
        raise CLIError(f"Error migrating VirtualMachine {e.details()}") from None
    print(f"VM {args.name} was scheduled to migrate")


def cmd_migrate_cancel(args, api) -> None:
    from services.cli.main import CLIError
    ns = namespace_arg(args)
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


def _node(api, name: str):
    return proto.inner(api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.NODE, "", name)), timeout=30))


def _cordon(api, name: str, unschedulable: bool) -> str:
    word = "cordoned" if unschedulable else "uncordoned"

    def flipped(node):   # read again after a heartbeat in between: the handler writes its Node often
        if node.spec.unschedulable == unschedulable:
            return None
        out = proto.copy(node)
        out.spec.unschedulable = unschedulable
        return out
    if update_retrying(api, _node(api, name), flipped) is None:
        return f"node/{name} already {word}"
    return f"node/{name} {word}"


def cmd_uncordon(args, api) -> None:
    print(_cordon(api, args.node, False))


def cmd_drain(args, api) -> None:
    """kubectl drain for VMIs: cordon the node, then evict every VMI on it as KubeVirt's pod-eviction
    admitter decides — LiveMigrate (or LiveMigrateIfPossible when migratable, or External) marks it for
    evacuation (status.evacuationNodeName; the controller migrates it away), anything else stops it (its
    VM, if it runs always, starts it again elsewhere) — and wait until the node is empty."""
    import time

    from services.cli.main import CLIError
    from services.common import kvconfig
    print(_cordon(api, args.node, True))
    kvs = api.resources.List(proto.api.ListRequest(kind=proto.KUBEVIRT), timeout=30).items
    default = kvconfig.ClusterConfig.of([proto.inner(o) for o in kvs]).eviction_strategy()
    deadline = time.monotonic() + args.timeout
    said: dict[str, str] = {}
    while True:
        vmis = [proto.inner(o) for o in api.resources.List(
            proto.api.ListRequest(kind=proto.VMI, nodeName=args.node), timeout=30).items]
        vmis = [v for v in vmis if v.status.nodeName == args.node and not vmstate.is_final(v)]
        if not vmis:
            print(f"node/{args.node} drained")
            return
        if time.monotonic() > deadline:
            left = ", ".join(f"{v.metadata.namespace}/{v.metadata.name}" for v in vmis)
            raise CLIError(f"drain did not complete within {args.timeout:.0f}s: still on node {args.node}: {left}")
        for v in vmis:
            where = f"{v.metadata.namespace}/{v.metadata.name}"
            action, message = migrations.eviction(v, migrations.eviction_strategy(v, default), args.node)
            if action == "stop" and not v.metadata.deletionTimestamp:
                print(f"evicting vmi {where}")
                api.resources.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VMI, v.metadata.namespace,
                                                                            v.metadata.name)), timeout=30)
                print(f"vmi/{v.metadata.name} evicted")
            elif action == "evacuate":
                print(f"evicting vmi {where}")
                v.status.evacuationNodeName = args.node
                try:
                    api.resources.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(v)), timeout=30)
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.ABORTED:   # changed meanwhile: the next pass sees it again
                        raise
                    continue
                message = f"Eviction triggered evacuation of VMI \"{where}\""
            if action in ("evacuate", "refuse") and said.get(where) != message:
                said[where] = message
                print(f'error when evicting vmis/"{v.metadata.name}" -n "{v.metadata.namespace}" '
                      f'(will retry after 5s): {message}')
        time.sleep(1)


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
    dr = sub.add_parser("drain", help="cordon a node and move its VMIs away (live migration where their "
                        "evictionStrategy says so), waiting until it is empty")
    dr.add_argument("node")
    dr.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the node to empty")
    dr.set_defaults(func=cmd_drain)
    uc = sub.add_parser("uncordon", help="let VMIs be scheduled to a node again")
    uc.add_argument("node")
    uc.set_defaults(func=cmd_uncordon)
