"""A real OTLP/gRPC trace receiver (the TraceService Jaeger's collector serves on 4317), keeping
every span it is sent and the metadata of every request in memory for assertions, in plain text or
TLS (optionally asking for a client certificate); Tap, a TCP relay in front of it that reads
whether the gRPC messages came compressed; and Keep, an SDK exporter keeping what it is given."""
from __future__ import annotations

import socket
import struct
import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class Keep(SpanExporter):
    """Finished spans, kept in memory (for a SimpleSpanProcessor)."""

    def __init__(self):
        self.spans = []

    def export(self, spans):
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


@dataclass
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start: int
    end: int
    status_code: int           # 0 unset, 1 ok, 2 error
    status_message: str
    trace_state: str = ""
    attributes: dict = field(default_factory=dict)
    events: list = field(default_factory=list)   # [(name, {attr: value})]


def _value(v):
    which = v.WhichOneof("value")
    return getattr(v, which) if which else None


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, tls: tuple[bytes, bytes] | None = None, client_ca: bytes | None = None):
        """`tls`: (key, certificate chain) in PEM: serve TLS; `client_ca`: and ask for a client
        certificate it signed."""
        self.spans: list[Span] = []
        self.requests: list[dict] = []   # per Export: metadata, "deadline" (seconds left), "peer" (client cert CN)
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        if tls is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
            self.endpoint = f"http://127.0.0.1:{self.port}"
        else:
            creds = grpc.ssl_server_credentials([tls], root_certificates=client_ca,
                                                require_client_auth=client_ca is not None)
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
            self.endpoint = f"https://localhost:{self.port}"

    def start(self) -> Receiver:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(0)

    def Export(self, request, context):
        peer = context.auth_context().get("x509_common_name", [b""])[0].decode()
        with self.lock:
            self.requests.append({"metadata": dict(context.invocation_metadata()),
                                  "deadline": context.time_remaining(), "peer": peer})
        got = []
        for rs in request.resource_spans:
            service = next((_value(a.value) for a in rs.resource.attributes if a.key == "service.name"), "")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    got.append(Span(
                        service=service, name=s.name, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(), start=s.start_time_unix_nano, end=s.end_time_unix_nano,
                        status_code=s.status.code, status_message=s.status.message, trace_state=s.trace_state,
                        attributes={a.key: _value(a.value) for a in s.attributes},
                        events=[(e.name, {a.key: _value(a.value) for a in e.attributes}) for e in s.events]))
        with self.lock:
            self.spans.extend(got)
        return trace_service_pb2.ExportTraceServiceResponse()

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


class Tap:
    """A TCP relay to `target_port` that reads the client's HTTP/2 frames (plain-text gRPC) and
    records the compressed flag of each gRPC message it sees start (the first byte of a stream's
    first DATA frame): what the receiver got, as gRPC hides it from the servicer."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.compressed: list[bool] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(server, client, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(client, server, bytearray()), daemon=True).start()

    def _pipe(self, src, dst, frames) -> None:
        started: set = set()
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if frames is not None:
                    frames += data
                    self._read_frames(frames, started)
        except OSError:
            pass   # the other side closed
        dst.close()

    def _read_frames(self, buf: bytearray, started: set) -> None:
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        if buf.startswith(preface):
            del buf[:len(preface)]
        while len(buf) >= 9:
            length = int.from_bytes(buf[:3], "big")
            if len(buf) < 9 + length:
                return
            kind, flags, stream = buf[3], buf[4], struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
            payload = bytes(buf[9:9 + length])
            del buf[:9 + length]
            if kind == 0 and payload and stream not in started:   # DATA
                pad = payload[0] + 1 if flags & 0x8 else 0
                started.add(stream)
                self.compressed.append(payload[pad] == 1)

    def close(self) -> None:
        self.listener.close()
