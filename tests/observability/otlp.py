"""A real OTLP/gRPC trace receiver (the TraceService Jaeger's collector serves on 4317), keeping
every span it is sent in memory for assertions; and Keep, an SDK exporter keeping what it is given."""
from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
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
    attributes: dict = field(default_factory=dict)
    events: list = field(default_factory=list)   # [(name, {attr: value})]


def _value(v):
    which = v.WhichOneof("value")
    return getattr(v, which) if which else None


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Receiver":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(0)

    def Export(self, request, context):
        got = []
        for rs in request.resource_spans:
            service = next((_value(a.value) for a in rs.resource.attributes if a.key == "service.name"), "")
            for ss in rs.scope_spans:
                for s in ss.spans:
                    got.append(Span(
                        service=service, name=s.name, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(), start=s.start_time_unix_nano, end=s.end_time_unix_nano,
                        status_code=s.status.code, status_message=s.status.message,
                        attributes={a.key: _value(a.value) for a in s.attributes},
                        events=[(e.name, {a.key: _value(a.value) for a in e.attributes}) for e in s.events]))
        with self.lock:
            self.spans.extend(got)
        return trace_service_pb2.ExportTraceServiceResponse()

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)
