"""tracing.py's spans (the SDK's, nested by its own context and started late by `step` and
`traced`) send what the same work sends through the SDK's tracer used directly; sampling follows
the provider's sampler; W3C traceparent and tracestate are read and written by the propagator."""
from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from observability.otlp import Keep
from services.common import proto, tracing

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED_TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


@pytest.fixture
def traced(monkeypatch):
    """tracing.py switched on in this process, its finished spans kept (and the SDK's beside it)."""
    def make(sampler=None):
        keep = Keep()
        provider = TracerProvider(resource=Resource.create({"service.name": "virtmesh-test"}), sampler=sampler)
        processor = SimpleSpanProcessor(keep)
        provider.add_span_processor(processor)
        for name, value in (("enabled", True), ("_provider", provider), ("_processor", processor),
                            ("_parts", tracing._Parts(provider))):
            monkeypatch.setattr(tracing, name, value)
        return provider, keep
    return make


def _ours():
    """Work done through tracing.py: a span under a stored traceparent, a failed step in it, an
    annotated child with an error recorded as a value, and a root span of its own."""
    with tracing.span("vmi.sync", parent=TP, attributes={"virtmesh.key": "ns/a"}):
        try:
            with tracing.step("launcher.prepareVolumes"):
                raise ValueError("no such image")
        except ValueError:
            pass
        with tracing.span("launcher.waitReady") as sp:
            tracing.annotate(name="a", ready=False)
            tracing.fail(sp, "launcher unresponsive")
    with tracing.span("root"):
        pass


def _sdk_s(provider):
    """The same work through the SDK's own spans."""
    tracer = provider.get_tracer("virtmesh")
    remote = TraceContextTextMapPropagator().extract({"traceparent": TP})
    with tracer.start_as_current_span("vmi.sync", context=remote, attributes={"virtmesh.key": "ns/a"},
                                      record_exception=False, set_status_on_exception=False):
        try:
            with tracer.start_as_current_span("launcher.prepareVolumes", record_exception=False,
                                              set_status_on_exception=False) as sp:
                try:
                    raise ValueError("no such image")
                except ValueError as e:
                    sp.record_exception(e)
                    sp.set_status(Status(StatusCode.ERROR, "ValueError: no such image"))
                    raise
        except ValueError:
            pass
        with tracer.start_as_current_span("launcher.waitReady") as sp:
            sp.set_attributes({"virtmesh.name": "a", "virtmesh.ready": False})
            sp.add_event("error", {"message": "launcher unresponsive"})
            sp.set_status(Status(StatusCode.ERROR, "launcher unresponsive"))
    with tracer.start_as_current_span("root"):
        pass


def _normalized(spans):
    """The encoded request with what differs between any two runs made equal: span ids (numbered
    in order of appearance), the random root trace id, times and the stack trace's line numbers."""
    req = sdk_encode(spans)
    every = [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    ids = {s.span_id: bytes([i + 1]) * 8 for i, s in enumerate(every)}
    for s in every:
        s.span_id = ids[s.span_id]
        s.parent_span_id = ids.get(s.parent_span_id, s.parent_span_id)
        if not s.parent_span_id:
            s.trace_id = b"\x01" * 16
        s.start_time_unix_nano = s.end_time_unix_nano = 0
        for e in s.events:
            e.time_unix_nano = 0
            for a in e.attributes:
                if a.key == "exception.stacktrace":
                    a.value.string_value = "..."
    return req


def test_our_spans_send_what_the_sdk_s_spans_send(traced):
    provider, keep = traced()
    _ours()
    ours = list(keep.spans)
    keep.spans.clear()
    _sdk_s(provider)
    assert [s.name for s in ours] == ["launcher.prepareVolumes", "launcher.waitReady", "vmi.sync", "root"]
    assert _normalized(ours) == _normalized(keep.spans)
    assert ours[2].context.trace_id == int(TP.split("-")[1], 16) and ours[2].parent.is_remote
    assert ours[0].parent.span_id == ours[2].context.span_id and not ours[0].parent.is_remote


def test_the_sampler_decides_at_the_root_and_the_parent_s_flag_below(traced):
    _, keep = traced(sampler=ParentBased(ALWAYS_OFF))
    with tracing.span("root"):
        tp = tracing.current_context().partition(" ")[0]   # the traceparent
        with tracing.span("child"):
            pass
    assert keep.spans == [] and tp and not int(tp[-2:], 16) & 1   # dropped, but its context still travels
    with tracing.span("under a sampled parent", parent=TP):
        assert tracing.current_context().partition(" ")[0].endswith("-01")
    with tracing.span("under an unsampled parent", parent=UNSAMPLED_TP):
        pass
    assert [s.name for s in keep.spans] == ["under a sampled parent"]


class _Call:
    """What a servicer's grpc.aio context gives _traced_unary: the caller's metadata, the status."""

    def __init__(self, traceparent: str, code=None, details: str = ""):
        self.metadata, self._code, self._details = (("traceparent", traceparent),), code, details

    def invocation_metadata(self):
        return self.metadata

    def code(self):
        return self._code

    def details(self):
        return self._details


def test_a_served_call_is_a_server_span_under_the_caller_s_traceparent(traced):
    import grpc
    _, keep = traced()

    async def Create(request, context):
        tracing.annotate(kind="VirtualMachine", name=request)
        return request

    unary = tracing._traced_unary("/virtmesh.v1.Resources/Create", Create)
    assert asyncio.run(unary("vm-a", _Call(TP))) == "vm-a"
    asyncio.run(unary("vm-b", _Call(TP, grpc.StatusCode.ALREADY_EXISTS, "vm-b exists")))
    ok, failed = keep.spans
    assert ok.kind == trace.SpanKind.SERVER and ok.name == "/virtmesh.v1.Resources/Create"
    assert ok.parent.is_remote and ok.parent.span_id == int(TP.split("-")[2], 16)
    assert dict(ok.attributes) == {"rpc.system": "grpc", "rpc.service": "virtmesh.v1.Resources",
                                   "rpc.method": "Create", "virtmesh.kind": "VirtualMachine", "virtmesh.name": "vm-a"}
    assert ok.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR and failed.status.description == "ALREADY_EXISTS: vm-b exists"
    assert failed.attributes["rpc.grpc.status_code"] == grpc.StatusCode.ALREADY_EXISTS.value[0]


@pytest.mark.parametrize("traceparent", [
    TP, UNSAMPLED_TP, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",   # invalid ids
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",   # upper case
    "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-later",  # a later version
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-0af7651916cd43dd-b7ad6b7169203331-01",
    "not a traceparent", ""])
def test_a_traceparent_is_read_as_the_sdk_s_propagator_reads_it(traced, traceparent):
    traced()
    span = trace.get_current_span(TraceContextTextMapPropagator().extract({"traceparent": traceparent}))
    expected = span.get_span_context() if span.get_span_context().is_valid else None
    assert tracing._parse(traceparent) == expected


def test_a_kept_context_is_read_with_its_tracestate_as_the_propagator_reads_them(traced):
    traced()
    kept = tracing.context(TP, "vm=1,x=y")
    assert kept == TP + " vm=1,x=y" and tracing.context(TP) == TP and tracing.context("", "vm=1") == ""
    ctx = tracing._parse(kept)
    assert ctx.trace_state.to_header() == "vm=1,x=y" and ctx.is_remote
    assert tracing._parse(TP + " not a tracestate!").trace_state.to_header() == ""   # an invalid one is dropped
    obj = proto.api.Object()
    tracing.store(obj, kept)
    assert (obj.traceparent, obj.tracestate, tracing.kept(obj)) == (TP, "vm=1,x=y", kept)
    assert proto.wrap(proto.kv.VirtualMachine(), kept).tracestate == "vm=1,x=y"


def test_tracestate_travels_with_traceparent_across_a_service_hop(traced):
    """A real gRPC hop: the client's interceptor writes the active span's traceparent and
    tracestate, the served call's span continues them, and an object it writes keeps both."""
    import grpc

    _, keep = traced()
    kept_objects = []

    class Resources(proto.api_grpc.ResourcesServicer):
        async def Create(self, request, context):
            tracing.keep(request.object)
            kept_objects.append(request.object)
            return request.object

    async def main():
        server = grpc.aio.server()
        proto.api_grpc.add_ResourcesServicer_to_server(
            tracing.traced_servicer(proto.api_grpc.add_ResourcesServicer_to_server, Resources()), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}",
                                                 interceptors=tracing.client_interceptors()) as channel:
                stub = proto.api_grpc.ResourcesStub(channel)
                with tracing.span("vm.reconcile", parent=tracing.context(TP, "vm=1,x=y")):
                    caller = tracing.current_context()
                    await stub.Create(proto.api.CreateRequest(object=proto.wrap(proto.kv.VirtualMachine())))
        finally:
            await server.stop(None)
        return caller

    caller = asyncio.run(main())
    served, reconcile = keep.spans
    assert served.kind == trace.SpanKind.SERVER and served.parent.span_id == reconcile.context.span_id
    assert served.parent.is_remote and served.context.trace_id == reconcile.context.trace_id
    assert served.context.trace_state.to_header() == reconcile.context.trace_state.to_header() == "vm=1,x=y"
    [obj] = kept_objects
    assert caller.endswith(" vm=1,x=y") and obj.tracestate == "vm=1,x=y"
    assert obj.traceparent == f"00-{served.context.trace_id:032x}-{served.context.span_id:016x}-01"


def test_a_tracestate_sent_as_several_entries_is_read_as_one(traced):
    _, keep = traced()

    async def Start(request, context):
        return request

    unary = tracing._traced_unary("/virtmesh.v1.Subresources/Start", Start)
    call = _Call(TP)
    call.metadata += (("tracestate", "vm=1"), ("tracestate", "x=y"))
    asyncio.run(unary("vm-a", call))
    [sp] = keep.spans
    assert sp.context.trace_state.to_header() == "vm=1,x=y" and sp.parent.is_remote
