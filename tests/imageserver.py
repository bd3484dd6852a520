"""An HTTP server of disk images for import tests: a DataVolume's `source.http.url` fetched by the node's
importer over real HTTP (a mesh started with `--import-allow-internal`, since it listens on loopback).

`gate(path)` holds the answer for that path until `release(path)`, so a test sees the import in progress;
`pace(path, seconds)` spreads its body over that long (progress seen along the way); a path never
`add`ed is a 404."""
from __future__ import annotations

import http.server
import threading
import time

PACE_PIECES = 40


class ImageServer:
    def __init__(self):
        self.images: dict[str, str] = {}          # URL path -> file
        self.gates: dict[str, threading.Event] = {}
        self.paces: dict[str, float] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):   # noqa: N802 - http.server's name
                server.requests.append(self.path)
                gate = server.gates.get(self.path)
                if gate is not None:
                    gate.wait(120)
                src = server.images.get(self.path)
                if src is None:
                    self.send_error(404)
                    return
                with open(src, "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                seconds = server.paces.get(self.path)
                if not seconds:
                    self.wfile.write(data)
                    return
                piece = -(-len(data) // PACE_PIECES)
                for at in range(0, len(data), piece):
                    self.wfile.write(data[at:at + piece])
                    self.wfile.flush()
                    time.sleep(seconds / PACE_PIECES)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, path: str, file: str) -> str:
        self.images[path] = file
        return self.url(path)

    def pace(self, path: str, seconds: float) -> None:
        self.paces[path] = seconds

    def gate(self, path: str) -> None:
        self.gates[path] = threading.Event()

    def release(self, path: str) -> None:
        self.gates.pop(path).set()

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
