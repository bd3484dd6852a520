"""The launcher relay on the SDK's own parts: a launcher's spans cross its reply as the SDK's
encoder writes them (an OTLP ExportTraceServiceRequest), and the handler reads them back into the
SDK's ReadableSpans under virtmesh-launcher's resource, which its exporter sends as the very message
the launcher's spans would have made: resources, scopes, attributes of every type, events,
statuses, kinds, tracestate and remote parents."""
from observability.otlp import Keep
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (
    encode_spans as sdk_encode,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.common import tracing


def _launcher_spans():
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "virtmesh-launcher"}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    tracer = provider.get_tracer("virtmesh")
    other_scope = provider.get_tracer("virtmesh.other", "1.2", schema_url="https://opentelemetry.io/schemas/1.21.0")
    remote = TraceContextTextMapPropagator().extract(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vm=1,x=y"})
    with tracer.start_as_current_span("/virtmesh.v1.Cmd/SyncVirtualMachine", context=remote, kind=trace.SpanKind.SERVER,
                                      attributes={"rpc.system": "grpc", "n": -5, "big": 2 ** 40, "ok": True,
                                                  "ratio": 0.25, "tags": ["a", "b"], "ids": [1, -2], "flags": [True],
                                                  "empty": ""}) as root:
        root.add_event("error", {"message": "ABORTED: stale", "count": 3})
        root.set_status(Status(StatusCode.ERROR, "ABORTED: stale"))
        with other_scope.start_as_current_span("child") as c:
            c.set_status(Status(StatusCode.OK))
        try:
            with tracer.start_as_current_span("libvirt.defineAndStart"):
                raise ValueError("no such domain")
        except ValueError:
            pass
    for kind in (trace.SpanKind.CLIENT, trace.SpanKind.PRODUCER, trace.SpanKind.CONSUMER, trace.SpanKind.INTERNAL):
        with tracer.start_as_current_span(kind.name, kind=kind, start_time=12345):
            pass
    return keep.spans


def test_relayed_spans_are_sent_as_the_launcher_s_own_under_its_vmi_s_instance():
    spans = _launcher_spans()
    assert len(spans) == 7
    wire = sdk_encode(spans).SerializeToString()        # what _RelayBuffer.take puts in a reply
    got = tracing.relayed("uid-a", wire)
    expected, sent = sdk_encode(spans), sdk_encode(got)
    ours = {a.key: a.value.string_value for a in sent.resource_spans[0].resource.attributes}
    assert ours["service.name"] == "virtmesh-launcher" and ours["service.instance.id"] == "uid-a"
    for req in (sent, expected):   # the rest of the resource is the launcher's, in any order
        for r in req.resource_spans:
            attrs = sorted((a for a in r.resource.attributes if a.key != "service.instance.id"), key=lambda a: a.key)
            del r.resource.attributes[:]
            r.resource.attributes.extend(attrs)
    assert sent == expected
    sync = next(s for s in got if s.name == "/virtmesh.v1.Cmd/SyncVirtualMachine")
    assert sync.context.trace_state.to_header() == "vm=1,x=y" and sync.parent.is_remote


def test_a_relay_buffer_sends_the_sdk_s_encoding_and_then_nothing():
    spans = _launcher_spans()
    buf = tracing._relay_buffer()
    for s in spans:
        buf.on_end(s)
    assert buf.take() == sdk_encode(spans).SerializeToString()
    assert buf.take() == b""
