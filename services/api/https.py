"""The api's HTTPS servers for the kube-apiserver (admission webhooks, the subresource API): threads,
one per connection, each doing its own TLS handshake (bounded) so that a slow client never stalls the
others, and keep-alive HTTP/1.1 without Nagle's delay."""
from __future__ import annotations

import logging
import socketserver
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)
HANDSHAKE_SECONDS = 10


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: the apiserver reuses its connections
    timeout = 60                    # an idle kept-alive connection frees its thread after this
    # Headers and body leave in two sends: with Nagle's algorithm the body waits for the apiserver's
    # delayed ACK, ~40 ms a call (bench/controlplane.py saw 35-45 ms per webhook call before this).
    disable_nagle_algorithm = True

    def send_json(self, code: int, data: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args) -> None:
        log.debug("%s " + fmt, self.client_address[0], *args)


class TLSServer(ThreadingHTTPServer):
    """`handler_class` requests over TLS with `context`; `attrs` become the server's attributes (what
    the handlers read as self.server.NAME)."""
    daemon_threads = True

    def __init__(self, address, context: ssl.SSLContext, handler_class, **attrs):
        self.context = context
        for k, v in attrs.items():
            setattr(self, k, v)
        super().__init__(address, handler_class)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our FQDN (a DNS round trip); nothing reads it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.socket.getsockname()[:2]

    def finish_request(self, request, client_address) -> None:
        # TLS handshake here, in the connection's thread: a slow client never stalls accept().
        request.settimeout(HANDSHAKE_SECONDS)
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log.debug("TLS handshake with %s failed: %s", client_address[0], e)
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()
