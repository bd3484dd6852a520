"""virt-handler: `python -m services.handler --node-name NODE --data-dir DIR [--api ADDRESS | --kubeconfig FILE]`.

Registers the node and beats, watches the VMIs scheduled here, and drives one launcher process
per VMI. A restarted handler re-attaches to the launchers it finds: running VMs keep running.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import socket

from prometheus_client import REGISTRY

from services.common import (authz, client, grpcclient, grpcserver, kvconfig, logs, meshtls, metrics, names, paths,
                             proto, timeutil, tracing, volumes, workqueue)
from services.handler import images, podnet, prhelper, pullsecrets
from services.handler import launcherpods
from services.common import events
from services.handler.launchers import Launchers, Zygote
from services.handler.metrics import DomainStatsCollector
from services.handler.migration import Migrations, MigrationStatsCollector
from services.handler.node import NodeAgent
from services.handler.server import HandlerService
from services.handler.claims import ClaimProvisioner
from services.handler.snapshot import SnapshotAgent
from services.handler.tpmstate import TpmStates
from services.handler.vmi import VMIController
from services.handler.images import ImageCache, ImagePulls
from services.common import images as imagerefs

log = logging.getLogger("services.handler")
SWEEP_SECONDS = 5.0


async def run(args) -> None:
    data = paths.DataDir(args.data_dir).ensure()
    # One certificate for the TCP door (the api proxies consoles and pauses here), the /metrics and
    # a channel to an api on TCP.
    renewer = meshtls.service_identity(data.pki, f"handler-{args.node_name}", meshtls.HANDLER_SERVER_NAME,
                                       args.tls_dir)
    grpcclient.use_identity(renewer.identity)
    api = client.connect(args.api or f"unix://{data.api_socket}", args.kubeconfig, "handler")
    events.attach(api, host=args.node_name)   # virt-handler records with its node as the source host
    # Made below; the callbacks run only once the informers do.
    queue: workqueue.WorkQueue
    claim_queue: workqueue.WorkQueue
    snapshot_queue: workqueue.WorkQueue
    controller: VMIController
    migrations: Migrations

    def on_vmi(key):
        queue.add(key)

    def on_launcher(uid):
        key = controller.key_for_uid(uid)
        if key is not None:
            queue.add(key)
        migrations.on_launcher(uid)

    def on_claim(key):
        claim_queue.add(key)
        ns, _, name = key.partition("/")
        for vmi in vmis.items():  # the VMIs here waiting for (or using) this claim
            if vmi.metadata.namespace == ns and any(volumes.claim_name(v) == name for v in vmi.spec.volumes):
                queue.add(proto.key(vmi))

    def on_kubevirt(_key):
        # The PersistentReservation gate turned on: the node's qemu-pr-helper starts (KubeVirt's operator
        # adds the pr-helper container to virt-handler's pods); it stays until the handler stops.
        if pr_helper_wanted():
            asyncio.get_running_loop().create_task(start_pr_helper())

    vmis = api.informer(proto.VMI, on_vmi, node_name=args.node_name)
    claims = api.informer(proto.PVC, on_claim)
    contents = api.informer(proto.VMSNAPSHOT_CONTENT, lambda key: snapshot_queue.add(key))
    kubevirts = api.informer(proto.KUBEVIRT, on_kubevirt)
    api.track(vmis, claims, contents)
    provisioner = ClaimProvisioner(api, claims, args.node_name, data.volumes)
    claim_queue = workqueue.WorkQueue("handler-pvc", provisioner.reconcile, workers=2)
    zygote = None
    if not args.no_zygote and not args.launcher_pods:
        zygote = Zygote(os.path.join(data.run, f"zygote-{args.node_name}.sock"),
                        os.path.join(data.logs, f"zygote-{args.node_name}.log"),
                        data.root, args.libvirt_uri, args.emulation)
        zygote.start()
    pod_launchers = launcherpods.make(args, api, data, on_launcher, args.node_name)
    launchers = pod_launchers or Launchers(data, args.libvirt_uri, args.emulation, on_launcher, zygote,
                                           node=args.node_name)
    # Persistent TPM state is libvirt's (swtpm) only on a real hypervisor, not the test driver.
    tpm_states = None if args.libvirt_uri.startswith("test:") else TpmStates(data.tpm_records)
    # Live migration: any node is a source; one with a migration address also receives (its own informer).
    migrations = Migrations(api, launchers, args.node_name, args.migration_address or "")
    target_vmis = migrations.target_informer()
    controller = VMIController(api, vmis, launchers, args.emulation, tpm_states, provisioner, migrations)
    pod_network = controller.podnet = podnet.PodNetwork(
        data.pod_network(args.node_name), args.pod_cidr, resolv_conf=args.resolv_conf,
        cluster_dns=podnet.ClusterDNS(tuple(args.cluster_dns), args.cluster_domain))
    controller.feature_gates = migrations.feature_gates = lambda: kvconfig.ClusterConfig.of(kubevirts.items()).gates()
    snapshot_queue = workqueue.WorkQueue(
        "handler-snapshot", SnapshotAgent(api, contents, claims, vmis, launchers, provisioner, args.node_name,
                                          data.volumes).reconcile, workers=2)
    queue = workqueue.WorkQueue("handler-vmi", tracing.traced("vmi.sync", controller.reconcile, vmis.traceparent),
                                workers=8)
    image_cache = None
    if not args.launcher_pods:   # launcher pods have their images pulled by the kubelet
        image_cache = ImageCache(args.image_cache or os.path.join(data.root, "images"), args.insecure_registry)
        controller.images = ImagePulls(image_cache, queue.add, controller.recorder,
                                       credentials=pullsecrets.credentials_from(api))
        migrations.images = controller.images   # a migration's target pulls the VMI's images too

    server = grpcserver.Server(["virtmesh.v1.Handler"], authz.services_only)
    server.add(proto.handler_grpc.add_HandlerServicer_to_server,
               HandlerService(vmis, launchers, events.recorder(api, events.HANDLER)))
    address = server.listen_unix(data.handler_socket(args.node_name))
    if args.listen:
        address = server.listen_tcp(args.listen, renewer.identity)
        if args.advertise:
            address = f"{args.advertise}:{address.rsplit(':', 1)[1]}"
    await server.start()
    server.stop_on_signals()
    # SCSI persistent reservation: KubeVirt's pr-helper container, there when its feature gate is on.
    pr_helper: prhelper.PrHelper | None = None

    def pr_helper_wanted() -> bool:
        return pr_helper is None and prhelper.wanted(controller.feature_gates())

    async def start_pr_helper():
        nonlocal pr_helper
        if pr_helper_wanted():
            pr_helper = prhelper.PrHelper(data.pr_helper_socket)
            await pr_helper.start()
            controller.pr_helper = pr_helper
    if args.metrics_port is not None:
        REGISTRY.register(DomainStatsCollector(asyncio.get_running_loop(), vmis, launchers, args.node_name))
        REGISTRY.register(MigrationStatsCollector(vmis, launchers, args.node_name))
        metrics.serve(args, "handler", data.run, renewer)

    migrations.receiving.restore(launchers.discover())
    registered = asyncio.Event()
    node_labels = {names.MIGRATION_TARGET_LABEL: "true"} if target_vmis is not None else {}
    # On a cluster the node IPAM controller gives the Node its range, maybe after we started: every heartbeat looks.
    on_node = pod_network.take_node_cidr if args.kubeconfig else None
    tasks = [asyncio.create_task(NodeAgent(api, args.node_name, address, libvirt_uri=args.libvirt_uri,
                                           kubelet=not args.kubeconfig, extra_labels=node_labels,
                                           on_node=on_node).run(registered)),
             asyncio.create_task(vmis.run()), asyncio.create_task(claims.run()), asyncio.create_task(contents.run()),
             asyncio.create_task(kubevirts.run())]
    if target_vmis is not None:
        tasks.append(asyncio.create_task(target_vmis.run()))
    if pod_launchers is not None:   # the node's launcher pods, known before any VMI is worked on
        tasks.append(asyncio.create_task(pod_launchers.pods.run()))
        await pod_launchers.pods.synced.wait()
    await vmis.synced.wait()
    await claims.synced.wait()
    await contents.synced.wait()
    await kubevirts.synced.wait()   # the gates in effect are known before a launcher is synced
    await start_pr_helper()
    if args.kubeconfig:   # the Node's range before any VMI is worked on (the heartbeats follow it from here)
        node = await api.get_or_none(proto.NODE, "", args.node_name)
        if node is not None:
            pod_network.take_node_cidr(node)
    tasks += [asyncio.create_task(queue.run()), asyncio.create_task(claim_queue.run()),
              asyncio.create_task(snapshot_queue.run())]
    if target_vmis is not None:
        assert migrations.queue is not None, "made with target_vmis"
        await target_vmis.synced.wait()
        tasks.append(asyncio.create_task(migrations.queue.run()))
    log.info("node %s: handler serving on %s, libvirt %s, %d VMI(s) here", args.node_name, address,
             args.libvirt_uri, len(vmis.cache))

    async def sweeper():
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await controller.sweep_orphans()
            except Exception as e:  # noqa: BLE001 - the next sweep retries
                log.warning("orphan sweep: %s", e)

    tasks.append(asyncio.create_task(sweeper()))
    if image_cache is not None and args.image_gc_high_threshold < 100:
        async def image_gc_shortfall(message: str) -> None:
            node = await api.get_or_none(proto.NODE, "", args.node_name)
            if node is not None:
                controller.recorder.warning(node, images.FREE_DISK_SPACE_FAILED, message)
        policy = images.GCPolicy(args.image_gc_high_threshold, args.image_gc_low_threshold, args.minimum_image_gc_age)
        tasks.append(asyncio.create_task(images.collect_periodically(image_cache, data.vms, policy,
                                                                     image_gc_shortfall)))
    await server.wait()  # SIGTERM: stop serving; launchers (and VMs) keep running
    for t in tasks:
        t.cancel()
    if zygote is not None:
        zygote.stop()
    if pr_helper is not None:
        await pr_helper.stop()
    await events.flush(api)
    await api.close()
    tracing.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.handler", description=__doc__)
    p.add_argument("--node-name", default=os.environ.get("NODE_NAME", socket.gethostname()))
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--api", help="api address (default: the data dir's unix socket)")
    p.add_argument("--kubeconfig",
                   help="cluster mode: watch and write this kube-apiserver; its Node NODE must exist")
    p.add_argument("--listen", help="serve the handler API on HOST:PORT, mutual TLS (default: unix socket only)")
    p.add_argument("--advertise", default=os.environ.get("POD_IP"),
                   help="host the api should dial for this handler (default: the --listen host)")
    p.add_argument("--libvirt-uri", default=os.environ.get("VIRTMESH_LIBVIRT_URI", "qemu:///system"))
    p.add_argument("--emulation", choices=["auto", "kvm", "emulation"], default="auto",
                   help="KubeVirt's useEmulation: auto picks kvm only when it really works")
    p.add_argument("--migration-address", default=os.environ.get("VIRTMESH_MIGRATION_ADDRESS"),
                   help="this node receives live migrations: the address where its libvirtd (TCP, port 16509) and "
                   "QEMU's migration ports are reachable from the other nodes' libvirtd")
    p.add_argument("--no-zygote", action="store_true",
                   help="start every launcher as a fresh process instead of forking a pre-imported one")
    p.add_argument("--log-level", type=logs.level, metavar="LEVEL")
    p.add_argument("--pod-cidr", default=os.environ.get("VIRTMESH_POD_CIDR", podnet.DEFAULT_CIDR),
                   help="the addresses of this node's pod network: bridge-bound pod interfaces get one by DHCP, the "
                   "first is the gateway on the node bridge (default %(default)s; a cluster Node's spec.podCIDR wins)")
    p.add_argument("--resolv-conf", metavar="FILE", default=podnet.RESOLV_CONF,
                   help="the resolver configuration whose nameservers and search domains bridge-bound pod interfaces "
                   "get by DHCP, as the kubelet's --resolv-conf (default %(default)s)")
    p.add_argument("--cluster-dns", action="append", default=[], metavar="IP",
                   help="the cluster's DNS service, which guests with dnsPolicy ClusterFirst (the default) get by "
                   "DHCP, as the kubelet's flag (repeatable; none: they get the node's, the kubelet's fallback)")
    p.add_argument("--cluster-domain", default="cluster.local", metavar="DOMAIN",
                   help="the cluster's DNS domain, in those guests' search domains (default %(default)s)")
    p.add_argument("--image-cache", metavar="DIR",
                   help="where registry images (containerDisks, kernelBoot containers) are cached by digest "
                   "(default DATA_DIR/images)")
    p.add_argument("--image-gc-high-threshold", type=int, default=images.GCPolicy.high_percent, metavar="PERCENT",
                   help="the image cache's file system usage at which unused images are collected, as the kubelet's "
                   "flag (default %(default)s; 100 never)")
    p.add_argument("--image-gc-low-threshold", type=int, default=images.GCPolicy.low_percent, metavar="PERCENT",
                   help="the usage the collection frees down to (default %(default)s)")
    p.add_argument("--minimum-image-gc-age", default="2m", metavar="DURATION",
                   help="an image used more recently is not collected (default %(default)s)")
    p.add_argument("--insecure-registry", action="append", metavar="HOST:PORT",
                   default=os.environ.get(imagerefs.ENV_INSECURE_REGISTRIES, "").replace(",", " ").split(),
                   help="a registry reached over plain HTTP (or TLS not verified); repeatable "
                   "(env VIRTMESH_INSECURE_REGISTRIES, comma-separated)")
    launcherpods.add_flags(p)
    metrics.add_flags(p)
    meshtls.add_flags(p)
    args = p.parse_args(argv)
    try:
        podnet.parse_cidr(args.pod_cidr)
    except ValueError as e:
        p.error(f"--pod-cidr: {e}")
    for ip in args.cluster_dns:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            p.error(f"--cluster-dns: {ip!r} is not an IPv4 address")
    if not 0 <= args.image_gc_low_threshold < args.image_gc_high_threshold <= 100:   # the kubelet's rule
        p.error(f"--image-gc-low-threshold ({args.image_gc_low_threshold}) must be less than "
                f"--image-gc-high-threshold ({args.image_gc_high_threshold}), both between 0 and 100")
    try:
        args.minimum_image_gc_age = timeutil.parse_duration(args.minimum_image_gc_age)
    except ValueError as e:
        p.error(f"--minimum-image-gc-age: {e}")
    paths.private_umask()  # what this service creates under the data dir is root's only
    logs.setup("handler", args.log_level)
    tracing.setup("handler")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
