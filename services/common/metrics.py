"""Every service's Prometheus endpoint: `--metrics-port` (0 = any free port; absent = off), served
over HTTPS to clients with a mesh certificate (meshtls): the gauges name every VM and node.

The port actually bound is written to DATA_DIR/run/metrics-<service>.port so that `virtmesh up`
users, tests and benchmarks find it without fixing ports in advance.

The exposition is prometheus_client's (make_wsgi_app); the server is ours because the library's
TLS server handshakes on its one accepting thread, so a client that connects and says nothing
would stall every scrape. Here each connection handshakes in its own thread, with a timeout.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import ssl
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, make_wsgi_app

from services.common import clientmetrics  # noqa: F401  (the client metrics exist from import on)
from services.common import meshtls

log = logging.getLogger(__name__)
HANDSHAKE_SECONDS = 10.0


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics-port", type=int, default=None,
                   help="serve Prometheus /metrics over HTTPS on this port (0: any free port; default: off)")
    p.add_argument("--metrics-address", default="0.0.0.0", help="address for /metrics (default 0.0.0.0)")


def port_file(run_dir: str, service: str) -> str:
    return os.path.join(run_dir, f"metrics-{service}.port")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


class _TLSServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request, client_address):
        """In the connection's own thread: the handshake (bounded), then the request."""
        request.settimeout(HANDSHAKE_SECONDS)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log.debug("metrics: refused %s: %s", client_address, e)
            return
        super().finish_request(tls, client_address)

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()


def serve(args, service: str, run_dir: str | None, renewer: meshtls.Renewer) -> int | None:
    """Start /metrics in a background thread when asked to; returns the bound port."""
    if args.metrics_port is None:
        return None
    ident = renewer.identity
    server = make_server(args.metrics_address, args.metrics_port, make_wsgi_app(REGISTRY), _TLSServer,
                         handler_class=_Quiet)
    server.context = ident.server_ssl_context()
    renewer.on_change.append(lambda: ident.reload_ssl_context(server.context))
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    port = server.server_port
    if run_dir:
        os.makedirs(run_dir, exist_ok=True)
        tmp = port_file(run_dir, service) + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, port_file(run_dir, service))  # readers never see a half-written file
    log.info("metrics on https://%s:%d/metrics", args.metrics_address, port)
    return port
