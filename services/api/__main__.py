"""virt-api: `python -m services.api --data-dir DIR [--listen HOST:PORT]`."""
from __future__ import annotations

import argparse
import asyncio
import logging

from services.api import store
from services.api.resources import Resources, ResourcesServicer
from services.api.subresources import Subresources
from services.common import grpcserver, logs, metrics, paths, proto, tracing

log = logging.getLogger("services.api")


async def serve(args) -> None:
    data = paths.DataDir(args.data_dir).ensure()
    db = store.Store(data.store)
    resources = Resources(db)
    server = grpcserver.Server(["virtmesh.v1.Resources", "virtmesh.v1.Subresources"])
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(resources))
    server.add(proto.api_grpc.add_SubresourcesServicer_to_server, Subresources(resources))
    addresses = [server.listen_unix(args.socket or data.api_socket)]
    if args.listen:
        addresses.append(server.listen_tcp(args.listen))
    await server.start()
    server.stop_on_signals()
    metrics.serve(args, "api", data.run)
    log.info("serving on %s (store %s, revision %d)", ", ".join(addresses), data.store, db.revision)
    await server.wait()
    db.close()
    tracing.shutdown()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.api", description=__doc__)
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--socket", help="unix socket path (default DATA_DIR/run/api.sock)")
    p.add_argument("--listen", help="also serve TCP on HOST:PORT")
    p.add_argument("--log-level")
    metrics.add_flags(p)
    args = p.parse_args(argv)
    logs.setup("api", args.log_level)
    tracing.setup("api")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
