"""Every service's Prometheus endpoint: `--metrics-port` (0 = any free port; absent = off).

The port actually bound is written to DATA_DIR/run/metrics-<service>.port so that `virtmesh up`
users, tests and benchmarks find it without fixing ports in advance.
"""
from __future__ import annotations

import argparse
import logging
import os

from prometheus_client import start_http_server

from services.common import clientmetrics  # noqa: F401  (the client metrics exist from import on)

log = logging.getLogger(__name__)


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve Prometheus /metrics on this port (0: any free port; default: off)")
    p.add_argument("--metrics-address", default="0.0.0.0", help="address for /metrics (default 0.0.0.0)")


def port_file(run_dir: str, service: str) -> str:
    return os.path.join(run_dir, f"metrics-{service}.port")


def serve(args, service: str, run_dir: str | None = None) -> int | None:
    """Start /metrics in a background thread when asked to; returns the bound port."""
    if args.metrics_port is None:
        return None
    server, _thread = start_http_server(args.metrics_port, addr=args.metrics_address)
    port = server.server_port
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        tmp = port_file(run_dir, service) + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, port_file(run_dir, service))  # readers never see a half-written file
    log.info("metrics on http://%s:%d/metrics", args.metrics_address, port)
    return port
