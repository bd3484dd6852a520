"""virt-api: `python -m services.api --data-dir DIR [--listen HOST:PORT] [--kubeconfig FILE]`.

Standalone the api is the door to the embedded SQLite store. With a kubeconfig the store is the
kube-apiserver: the gRPC door (the CLI's subresources) reads and writes it, and the api serves the
admission webhooks that give `kubectl` writes the same defaulting and validation."""
from __future__ import annotations

import argparse
import asyncio
import grp
import logging
import os

from services.api import admission, aggregated, store
from services.api import events as api_events
from services.api.resources import Resources, ResourcesServicer
from services.api.subresources import Subresources
from services.common import (authz, grpcclient, grpcserver, kube, logs, meshtls, metrics, names, paths, proto,
                             tracing)

log = logging.getLogger("services.api")


async def serve(args) -> None:
    data = paths.DataDir(args.data_dir).ensure()
    webhooks = None
    db: store.Store | store.KubeStore
    if args.kubeconfig:
        kube_client = kube.api_client(args.kubeconfig, "api")
        db = store.KubeStore(kube_client)
        resources = Resources(db)
        host, _, port = args.webhook_listen.rpartition(":")
        # In a pod the kube-apiserver reaches the api through its Services (deploy/base), else by URL.
        webhooks = admission.serve(resources, host, int(port), os.path.join(data.root, "webhook-certs"),
                                   kube_client, client_ca=args.webhook_client_ca,
                                   in_cluster=args.kubeconfig == kube.IN_CLUSTER, namespace=_namespace())
        where = f"kube-apiserver {kube_client.configuration.host}, webhooks on {webhooks.url}"
    else:
        try:
            db = store.Store(data.store, history_seconds=args.history_seconds,
                             history_bytes=args.history_mb * 1024 * 1024)
        except (store.Corrupt, store.Full) as e:
            raise SystemExit(f"virt-api: {e}") from None  # one line, no traceback
        resources = Resources(db)
        where = f"store {data.store}, revision {db.revision}"
    # One certificate for the TCP door, the /metrics and the channels to the handlers.
    renewer = meshtls.service_identity(data.pki, "api", meshtls.API_SERVER_NAME, args.tls_dir)
    grpcclient.use_identity(renewer.identity)
    resources_servicer, subresources = ResourcesServicer(resources), Subresources(resources)
    aggregated_api = None
    if args.kubeconfig and args.subresources_listen:
        aggregated_api = serve_aggregated(args, data, kube_client, subresources)
    services = ["virtmesh.v1.Resources", "virtmesh.v1.Subresources"]
    # Standalone the mesh's groups decide; on a cluster its RBAC does (SubjectAccessReviews).
    policy = authz.kube_policy(kube.Kube(kube_client)) if args.kubeconfig else authz.mesh_policy()
    server = grpcserver.Server(services, policy)
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, resources_servicer)
    server.add(proto.api_grpc.add_SubresourcesServicer_to_server, subresources)
    group = _group(args.socket_group)
    addresses = [server.listen_unix(args.socket or data.api_socket, group, 0o660 if group is not None else 0o600)]
    readers = reader_group = None
    if args.readers != "none":
        # A second door that only reads, for the users the operator names (a group, or everyone).
        readers = grpcserver.Server(services, authz.mesh_policy(unix_reads_only=True))
        readers.add(proto.api_grpc.add_ResourcesServicer_to_server, resources_servicer)
        readers.add(proto.api_grpc.add_SubresourcesServicer_to_server, subresources)
        reader_group = None if args.readers == "all" else _group(args.readers)
        addresses.append(readers.listen_unix(data.api_read_socket, reader_group,
                                             0o666 if args.readers == "all" else 0o660))
    data.let_through({g for g in (group, reader_group) if g is not None}, everyone=args.readers == "all")
    if args.listen:
        addresses.append(server.listen_tcp(args.listen, renewer.identity))
    await server.start()
    if readers is not None:
        await readers.start()
    server.stop_on_signals()
    metrics.serve(args, "api", data.run, renewer)
    log.info("serving on %s (%s)", ", ".join(addresses), where)
    # Events expire: the kube-apiserver does it (--event-ttl); standalone, the api collects them.
    expiry = None if args.kubeconfig else asyncio.create_task(api_events.collector(db))
    await server.wait()
    if expiry is not None:
        expiry.cancel()
    if readers is not None:
        await readers.stop(grace=1)
    if webhooks is not None:
        webhooks.stop()
    if aggregated_api is not None:
        aggregated_api.stop()
    db.close()
    tracing.shutdown()


def serve_aggregated(args, data, kube_client, subresources) -> "aggregated.SubresourceServer":
    """KubeVirt's subresource API for the kube-apiserver's aggregator, registered as an APIService: in a
    pod for deploy/'s Service, on one machine for an ExternalName Service naming this machine."""
    k = kube.Kube(kube_client)
    in_cluster = args.kubeconfig == kube.IN_CLUSTER
    namespace = _namespace() if in_cluster else names.DEFAULT_NAMESPACE
    crt, key, ca = admission.load_or_create_cert(os.path.join(data.root, "webhook-certs"), admission.SERVING_HOSTS + (
        f"{aggregated.SERVICE}.{namespace}.svc",))
    host, _, port = args.subresources_listen.rpartition(":")
    server = aggregated.SubresourceServer(subresources, k, asyncio.get_running_loop(), host, int(port), crt, key)
    server.start()
    aggregated.register(k, ca, None if in_cluster else server.port, namespace=namespace)
    return server


def _namespace() -> str:
    """The api's own namespace in a pod (deploy/ sets POD_NAMESPACE), else KubeVirt's."""
    return os.environ.get("POD_NAMESPACE", names.KUBEVIRT_NAMESPACE)


def _group(name: str | None) -> int | None:
    """A group's id from its name or number; None for no group. The default, "virtmesh", counts
    only where that group exists."""
    if not name:
        return None
    if name.isdigit():
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name == meshtls.ADMINS_GROUP:
            return None
        raise SystemExit(f"virt-api: no group {name!r}") from None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.api", description=__doc__)
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--socket", help="unix socket path (default DATA_DIR/run/api.sock)")
    p.add_argument("--listen", help="also serve TCP (mutual TLS) on HOST:PORT")
    p.add_argument("--socket-group", default=meshtls.ADMINS_GROUP,
                   help="members of this group may use the api's socket as root does (default: "
                   f"{meshtls.ADMINS_GROUP!r} where it exists; '' for root only)")
    p.add_argument("--readers", default="none", metavar="none|all|GROUP",
                   help="who may read (get, list, watch) through DATA_DIR/run/api-read.sock: nobody else "
                   "(default), every local user, or the members of GROUP")
    p.add_argument("--kubeconfig",
                   help="cluster mode: the store is this cluster's kube-apiserver")
    p.add_argument("--webhook-listen", default="127.0.0.1:0",
                   help="cluster mode: HOST:PORT of the admission webhooks (port 0: any free port)")
    p.add_argument("--subresources-listen", metavar="HOST:PORT",
                   help="cluster mode: serve KubeVirt's subresource API (subresources.kubevirt.io/v1) here and "
                   "register it with the kube-apiserver's aggregator (port 0: any free port)")
    p.add_argument("--webhook-client-ca", metavar="FILE",
                   help="cluster mode: the webhooks serve only clients with a certificate from this CA (the "
                   "kube-apiserver's webhook client certificate, set in its AdmissionConfiguration)")
    p.add_argument("--history-seconds", type=float, default=store.sqlite.HISTORY_SECONDS,
                   help="standalone: keep the watch history this long (etcd's compaction retention)")
    p.add_argument("--history-mb", type=int, default=store.sqlite.HISTORY_BYTES // (1024 * 1024),
                   help="standalone: and at most this many MiB of it")
    p.add_argument("--log-level", type=logs.level, metavar="LEVEL")
    metrics.add_flags(p)
    meshtls.add_flags(p)
    args = p.parse_args(argv)
    paths.private_umask()  # what this service creates under the data dir is root's only
    logs.setup("api", args.log_level)
    tracing.setup("api")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
