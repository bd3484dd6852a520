"""virt-api: `python -m services.api --data-dir DIR [--listen HOST:PORT] [--kubeconfig FILE]`.

Standalone the api is the door to the embedded SQLite store. With a kubeconfig the store is the
kube-apiserver: the gRPC door (the CLI's subresources) reads and writes it, and the api serves the
admission webhooks that give `kubectl` writes the same defaulting and validation."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os

from services.api import admission, store
from services.api.resources import Resources, ResourcesServicer
from services.api.subresources import Subresources
from services.common import grpcserver, kube, logs, metrics, paths, proto, tracing

log = logging.getLogger("services.api")


async def serve(args) -> None:
    data = paths.DataDir(args.data_dir).ensure()
    webhooks = None
    if args.kubeconfig:
        kube_client = kube.api_client(args.kubeconfig, "api")
        db = store.KubeStore(kube_client)
        resources = Resources(db)
        host, _, port = args.webhook_listen.rpartition(":")
        webhooks = admission.serve(resources, host, int(port), os.path.join(data.root, "webhook-certs"),
                                   kube_client)
        where = f"kube-apiserver {kube_client.configuration.host}, webhooks on {webhooks.url}"
    else:
        try:
            db = store.Store(data.store, history_seconds=args.history_seconds,
                             history_bytes=args.history_mb * 1024 * 1024)
        except (store.Corrupt, store.Full) as e:
            raise SystemExit(f"virt-api: {e}") from None  # one line, no traceback
        resources = Resources(db)
        where = f"store {data.store}, revision {db.revision}"
    server = grpcserver.Server(["virtmesh.v1.Resources", "virtmesh.v1.Subresources"])
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(resources))
    server.add(proto.api_grpc.add_SubresourcesServicer_to_server, Subresources(resources))
    addresses = [server.listen_unix(args.socket or data.api_socket)]
    if args.listen:
        addresses.append(server.listen_tcp(args.listen))
    await server.start()
    server.stop_on_signals()
    metrics.serve(args, "api", data.run)
    log.info("serving on %s (%s)", ", ".join(addresses), where)
    await server.wait()
    if webhooks is not None:
        webhooks.stop()
    db.close()
    tracing.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.api", description=__doc__)
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--socket", help="unix socket path (default DATA_DIR/run/api.sock)")
    p.add_argument("--listen", help="also serve TCP on HOST:PORT")
    p.add_argument("--kubeconfig",
                   help="cluster mode: the store is this cluster's kube-apiserver")
    p.add_argument("--webhook-listen", default="127.0.0.1:0",
                   help="cluster mode: HOST:PORT of the admission webhooks (port 0: any free port)")
    p.add_argument("--history-seconds", type=float, default=store.sqlite.HISTORY_SECONDS,
                   help="standalone: keep the watch history this long (etcd's compaction retention)")
    p.add_argument("--history-mb", type=int, default=store.sqlite.HISTORY_BYTES // (1024 * 1024),
                   help="standalone: and at most this many MiB of it")
    p.add_argument("--log-level")
    metrics.add_flags(p)
    args = p.parse_args(argv)
    paths.private_umask()  # what this service creates under the data dir is root's only
    logs.setup("api", args.log_level)
    tracing.setup("api")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
