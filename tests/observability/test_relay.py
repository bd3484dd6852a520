"""services/common/otlpwire.py writes the very ExportTraceServiceRequest the SDK's encoder
builds: same resources, scopes, spans, attributes of every type, events, links, statuses, flags."""
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from observability.otlp import Keep
from services.common import otlpwire


def _spans():
    keep = Keep()
    providers = [TracerProvider(resource=Resource.create({"service.name": name, "host.cores": 2}))
                 for name in ("virtmesh-api", "virtmesh-handler")]
    for p in providers:
        p.add_span_processor(SimpleSpanProcessor(keep))
    api = providers[0].get_tracer("virtmesh")
    other_scope = providers[0].get_tracer("virtmesh.other", "1.2", schema_url="https://opentelemetry.io/schemas/1.21.0")
    handler = providers[1].get_tracer("virtmesh")
    remote = TraceContextTextMapPropagator().extract(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vm=1,x=y"})
    with api.start_as_current_span("/virtmesh.v1.Resources/Create", context=remote, kind=trace.SpanKind.SERVER,
                                   attributes={"rpc.system": "grpc", "n": -5, "big": 2 ** 40, "ok": True,
                                               "ratio": 0.25, "tags": ["a", "b"], "ids": [1, -2], "flags": [True],
                                               "empty": ""}) as root:
        root.add_event("error", {"message": "ABORTED: stale", "count": 3})
        root.set_status(Status(StatusCode.ERROR, "ABORTED: stale"))
        with other_scope.start_as_current_span("child", links=[Link(root.get_span_context(), {"why": "retry"})]) as c:
            c.set_status(Status(StatusCode.OK))
        try:
            with api.start_as_current_span("failing"):
                raise ValueError("no such image")
        except ValueError:
            pass
    with handler.start_as_current_span("vmi.sync", kind=trace.SpanKind.INTERNAL, start_time=12345):
        pass
    for kind in (trace.SpanKind.CLIENT, trace.SpanKind.PRODUCER, trace.SpanKind.CONSUMER):
        with handler.start_as_current_span(kind.name, kind=kind):
            pass
    return keep.spans


def test_the_wire_encoding_is_the_sdk_s_message():
    spans = _spans()
    assert len(spans) == 7
    ours = ExportTraceServiceRequest.FromString(otlpwire.encode_spans(spans))
    assert ours == sdk_encode(spans)
    assert len(ours.resource_spans) == 2 and len(ours.resource_spans[0].scope_spans) == 2


def test_no_spans_is_an_empty_request():
    assert otlpwire.encode_spans([]) == b""


def test_the_services_exporter_sends_the_wire_encoding(monkeypatch):
    from services.common import tracing
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    spans = _spans()
    calls = []
    encode = otlpwire.encode_spans
    monkeypatch.setattr(otlpwire, "encode_spans", lambda s: calls.append(len(s)) or encode(s))
    exporter = tracing._exporter()
    try:
        assert exporter._translate_data(spans) == sdk_encode(spans) and calls == [7]
    finally:
        exporter.shutdown()


def test_a_launcher_s_scope_spans_under_its_resource_are_the_sdk_s_message():
    """What a launcher relays (encode_scope_spans) and the handler sends on (encode_request)."""
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "virtmesh-launcher"}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("virtmesh")
    remote = TraceContextTextMapPropagator().extract(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    with tracer.start_as_current_span("/virtmesh.v1.Cmd/SyncVirtualMachine", context=remote, kind=trace.SpanKind.SERVER,
                                      attributes={"virtmesh.name": "vm", "virtmesh.paused": False}):
        with tracer.start_as_current_span("libvirt.defineAndStart") as sp:
            sp.set_status(Status(StatusCode.ERROR, "no such domain"))
    ours = otlpwire.encode_request(dict(provider.resource.attributes), otlpwire.encode_scope_spans(keep.spans, "virtmesh"))
    assert ExportTraceServiceRequest.FromString(ours) == sdk_encode(keep.spans)
