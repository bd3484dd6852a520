"""virt-controller: `python -m services.controller --data-dir DIR | --api ADDRESS | --kubeconfig FILE`.

Informers (VMs, VMIs, Nodes, DataVolumes, PVCs) feed per-object work queues; all reconcilers are
level-triggered and read only from the informer caches.
"""
from __future__ import annotations

import argparse
import asyncio
import logging

from prometheus_client import REGISTRY

from services.common import (authz, client, events, grpcclient, grpcserver, logs, meshtls, metrics, migrations, paths,
                             proto, tracing, vmstate, workqueue)
from services.controller import launcherpod, leadership
from services.controller.datavolume import DataVolumeController
from services.controller.instancetype import Instancetypes
from services.controller.metrics import ControllerCollector, InformerLookup, PhaseTransitions
from services.controller.migration import Evacuations, MigrationController
from services.controller.node import NodeController
from services.controller.snapshot import RestoreController, SnapshotController
from services.controller.vm import VMController
from services.controller.vmi import VMIController
from services.controller.vmvolumes import DataVolumes

log = logging.getLogger("services.controller")


async def run(api_target: str, health_socket: str | None = None, args=None, run_dir: str | None = None,
              kubeconfig: str | None = None, renewer: meshtls.Renewer | None = None) -> None:
    api = client.connect(api_target, kubeconfig, "controller")
    events.attach(api)   # the Events its controllers record, written in the background
    queues: dict[str, workqueue.WorkQueue] = {}
    transitions = PhaseTransitions()

    def on_vm(key):
        queues["vm"].add(key)
        on_snapshot_source(key)

    def on_snapshot_source(key):   # a VM or its VMI: the snapshots of it and the restores into it
        for k in snapshot_ctl.snapshot_keys_of_vm(key):
            queues["snapshot"].add(k)
        for k in restore_ctl.restore_keys_of_vm(key):
            queues["restore"].add(k)

    def on_content(key):
        queues["snapshot-content"].add(key)
        k = snapshot_ctl.snapshot_key_of_content(key)
        if k:
            queues["snapshot"].add(k)

    def on_vmi(key):
        transitions.seen(key, vmis.get(key))
        queues["vmi"].add(key)
        queues["vm"].add(key)  # a VM and its VMI share the key
        for k in migration.keys_for_vmi(key):  # its live migrations follow what the nodes report
            queues["migration"].add(k)
        queues["evacuation"].add(key)
        on_snapshot_source(key)

    def on_node(key):
        queues["node"].add(key)
        for vmi in vmis.items():  # capacity/labels changed: retry what could not be placed
            if vmi.status.phase in ("", vmstate.PENDING, vmstate.SCHEDULING):
                queues["vmi"].add(proto.key(vmi))
        for k in migration.waiting_keys():  # and migrations waiting for a target node
            queues["migration"].add(k)
        for vmi in vmis.items():  # a drain taint evacuates the node's VMIs
            if vmi.status.nodeName == key:
                queues["evacuation"].add(proto.key(vmi))

    def on_vmim(key):
        queues["migration"].add(key)
        m = vmims.get(key)
        if m is not None and m.status.phase == migrations.FAILED:   # a failed evacuation is tried again, later
            queues["evacuation"].add(f"{m.metadata.namespace}/{m.spec.vmiName}")

    def on_storage(key):  # a DataVolume and the claim it owns share the key
        queues["dv"].add(key)
        for vm_key in volumes.vms_using(vms, key):   # the VMs that wait for it or show its state
            queues["vm"].add(vm_key)

    vms = api.informer(proto.VM, on_vm)
    dvs = api.informer(proto.DV, on_storage)
    pvcs = api.informer(proto.PVC, on_storage)
    vmis = api.informer(proto.VMI, on_vmi)
    nodes = api.informer(proto.NODE, on_node)
    vmims = api.informer(proto.VMIM, on_vmim)
    policies = api.informer(proto.MIGRATION_POLICY, lambda key: None)   # read at each hand-off
    vmsnapshots = api.informer(proto.VMSNAPSHOT, lambda key: queues["snapshot"].add(key))
    contents = api.informer(proto.VMSNAPSHOT_CONTENT, on_content)
    restores = api.informer(proto.VMRESTORE, lambda key: queues["restore"].add(key))
    snapshot_ctl = SnapshotController(api, vmsnapshots, contents, restores, vms, vmis, pvcs)
    restore_ctl = RestoreController(api, restores, vmsnapshots, contents, vms, vmis, pvcs, dvs)
    # Instance types, preferences, their ControllerRevisions and the KubeVirt object (the VM controller's).
    instancetypes = Instancetypes(api, vms, on_vm)
    volumes = DataVolumes(api, dvs, pvcs)
    informers = (vms, vmis, nodes, dvs, pvcs, vmims, policies, vmsnapshots, contents, restores,
                 *instancetypes.informers.values())
    migration = MigrationController(api, vmims, vmis, nodes, instancetypes.informers[proto.KUBEVIRT], policies)
    api.track(*informers)
    pods = launcherpod.setup(args, api, instancetypes.informers[proto.KUBEVIRT], lambda key: queues["vmi"].add(key))
    vmi_ctl = VMIController(api, vms, vmis, nodes, pvcs, pods)
    queues["vm"] = workqueue.WorkQueue(
        "vm", tracing.traced("vm.reconcile",
                             VMController(api, vms, vmis, instancetypes, volumes, vmi_ctl.place).reconcile,
                             vms.traceparent),
        workers=8)
    queues["vmi"] = workqueue.WorkQueue(
        "vmi", tracing.traced("vmi.reconcile", vmi_ctl.reconcile, vmis.traceparent), workers=8)
    queues["node"] = workqueue.WorkQueue("node", NodeController(api, nodes).reconcile, workers=1)
    queues["dv"] = workqueue.WorkQueue("datavolume", DataVolumeController(api, dvs, pvcs).reconcile, workers=2)
    queues["migration"] = migration.queue = workqueue.WorkQueue("migration", migration.reconcile, workers=4)
    queues["evacuation"] = workqueue.WorkQueue("evacuation", Evacuations(migration).reconcile, workers=2)
    queues["snapshot"] = workqueue.WorkQueue("snapshot", snapshot_ctl.reconcile, workers=2)
    queues["snapshot-content"] = workqueue.WorkQueue("snapshot-content", snapshot_ctl.reconcile_content, workers=1)
    queues["restore"] = workqueue.WorkQueue("restore", restore_ctl.reconcile, workers=2)

    server = None
    if health_socket:
        server = grpcserver.Server([], authz.services_only)
        server.listen_unix(health_socket)
        await server.start()
    if args is not None and args.metrics_port is not None:
        assert renewer is not None, "main() passes the service's identity with its arguments"
        REGISTRY.register(ControllerCollector(vms, vmis, migrations=vmims.items,
                                              lookup=InformerLookup(instancetypes.informers)))
        metrics.serve(args, "controller", run_dir, renewer)
    tasks = [asyncio.create_task(i.run()) for i in informers]
    if pods is not None:
        tasks.append(asyncio.create_task(pods.pods.run()))
        await pods.pods.synced.wait()
    await asyncio.gather(*(i.synced.wait() for i in informers))
    log.info("caches synced (%d VMs, %d VMIs, %d nodes); reconciling", len(vms.cache), len(vmis.cache),
             len(nodes.cache))
    if kubeconfig and args is not None:
        # Several controllers may run on a cluster: only the Lease's holder works its queues.
        await leadership.Leadership(api.kube.client, args.leader_elect_namespace, args.data_dir, args.lease_duration,
                                    args.renew_deadline, args.retry_period).lead()
    tasks += [asyncio.create_task(q.run()) for q in queues.values()]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for t in tasks:
        t.cancel()
    if server:
        await server.stop(1)
    await events.flush(api)
    await api.close()
    tracing.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.controller", description=__doc__)
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--api", help="api address (default: the data dir's unix socket)")
    p.add_argument("--kubeconfig",
                   help="cluster mode: watch and write this kube-apiserver")
    p.add_argument("--log-level", type=logs.level, metavar="LEVEL")
    metrics.add_flags(p)
    meshtls.add_flags(p)
    leadership.add_flags(p)
    launcherpod.add_flags(p)
    args = p.parse_args(argv)
    paths.private_umask()  # what this service creates under the data dir is root's only
    logs.setup("controller", args.log_level)
    tracing.setup("controller")
    data = paths.DataDir(args.data_dir)
    target = args.api or f"unix://{data.api_socket}"
    data.ensure()
    # One certificate for the /metrics and a channel to an api on TCP.
    renewer = meshtls.service_identity(data.pki, "controller", meshtls.CONTROLLER_SERVER_NAME, args.tls_dir)
    grpcclient.use_identity(renewer.identity)
    asyncio.run(run(target, health_socket=f"{data.run}/controller.sock", args=args, run_dir=data.run,
                    kubeconfig=args.kubeconfig, renewer=renewer))


if __name__ == "__main__":
    main()
