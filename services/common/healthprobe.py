"""`python -m services.common.healthprobe unix:///PATH`: exit 0 when the gRPC server on that socket
reports SERVING. A pod's exec probe: the kubelet's own gRPC probe speaks only plain TCP, and every TCP
port of the mesh is mutual TLS (meshtls), so probes go through the service's unix socket instead."""
from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].startswith("unix:"):
        print("usage: python -m services.common.healthprobe unix:///path/to/socket", file=sys.stderr)
        return 2
    try:
        with grpc.insecure_channel(args[0]) as ch:
            status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5).status
    except grpc.RpcError as e:
        print(f"{args[0]}: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    if status != health_pb2.HealthCheckResponse.SERVING:
        print(f"{args[0]}: {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
