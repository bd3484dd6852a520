"""OpenTelemetry tracing for every service, configured only by the standard OTEL_* variables.

Off unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`), and
then nothing is installed at all: no provider, no exporter, no gRPC interceptors, and `span()` is
a shared no-op context manager, so the disabled path costs one attribute check.

The trace of a change travels through the stored objects: the api stores the W3C traceparent of
the request that wrote an object, informers hand it out per key, and reconcilers start their
spans under it (`span(name, parent=traceparent)`), so api create -> controller -> handler ->
launcher is one trace although every hop is asynchronous.
"""
from __future__ import annotations

import contextlib
import os
from typing import Optional

import grpc

SERVICE_PREFIX = "virtmesh-"
# Not traced: long-lived streams (spans as long as the process), polling and plain reads (noise,
# and each span costs ~0.1 ms of CPU in the process that makes it and more in the one exporting it).
_UNTRACED = ("Watch", "DomainEvents", "Console", "Info", "Ping", "GetDomainStats", "Get", "List")

enabled = False
_provider = None
_tracer = None
_SERVER = None


def configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup(service: str) -> bool:
    """Install the SDK with an OTLP/gRPC batch exporter for `virtmesh-<service>` (idempotent).
    Call it before creating gRPC servers or channels, and after any fork (the exporter has a thread)."""
    global enabled, _provider, _tracer, _SERVER
    if enabled or not configured():
        return enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    _provider = TracerProvider(resource=_resource(service))
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    _tracer = trace.get_tracer("virtmesh")
    _SERVER = trace.SpanKind.SERVER
    enabled = True
    return True


_resources: dict = {}


def _resource(service: str):
    # Explicit attributes win over OTEL_SERVICE_NAME, which `virtmesh up` would pass to every child.
    if service not in _resources:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        _resources[service] = Resource.create({SERVICE_NAME: SERVICE_PREFIX + service})
    return _resources[service]


def shutdown() -> None:
    """Flush pending spans (launchers end with os._exit, where atexit hooks never run)."""
    if _provider is not None:
        _provider.shutdown()


def _traced_method(method: str) -> bool:
    return method.rsplit("/", 1)[-1] not in _UNTRACED and not method.startswith("/grpc.")


class _ServerTracing(grpc.aio.ServerInterceptor):
    """A SERVER span per unary call, under the caller's traceparent from the metadata.

    Deliberately smaller than opentelemetry-instrumentation-grpc's interceptors (which cost about
    half a millisecond per call here, see bench/tracing.py): no client spans, no peer parsing."""

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None or not _traced_method(details.method):
            return handler
        tp = next((v for k, v in details.invocation_metadata or () if k == "traceparent"), "")
        inner, method = handler.unary_unary, details.method
        service, name = method[1:].rsplit("/", 1)

        async def unary(request, context):
            with _tracer.start_as_current_span(method, context=_context(tp), kind=_SERVER, attributes={
                    "rpc.system": "grpc", "rpc.service": service, "rpc.method": name}) as sp:
                try:
                    return await inner(request, context)
                finally:
                    code = context.code()
                    if code is not None and code != grpc.StatusCode.OK:
                        sp.set_attribute("rpc.grpc.status_code", code.value[0])
                        fail(sp, f"{code.name}: {context.details() or ''}")

        return grpc.unary_unary_rpc_method_handler(unary, request_deserializer=handler.request_deserializer,
                                                   response_serializer=handler.response_serializer)


class _ClientPropagation(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Puts the active span's traceparent in the call's metadata (no client span of its own)."""

    @staticmethod
    def _details(details):
        tp = current_traceparent()
        if not tp:
            return details
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add("traceparent", tp)
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials,
                                          details.wait_for_ready)

    async def intercept_unary_unary(self, continuation, details, request):
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation, details, request):
        return await continuation(self._details(details), request)


def server_interceptors() -> list:
    return [_ServerTracing()] if enabled else []


def client_interceptors() -> list:
    return [_ClientPropagation()] if enabled else []


def _context(traceparent: str):
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    return TraceContextTextMapPropagator().extract({"traceparent": traceparent}) if traceparent else None


def current_traceparent() -> str:
    """The W3C traceparent of the active span ("" when tracing is off or no span is active)."""
    if not enabled:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "")


class _NoSpan:
    """What `span()` yields when tracing is off: every method a no-op."""

    def set_attribute(self, *a, **k):
        pass

    def add_event(self, *a, **k):
        pass

    def record_exception(self, *a, **k):
        pass

    def set_status(self, *a, **k):
        pass

    def is_recording(self) -> bool:
        return False


NO_SPAN = _NoSpan()
_NO_SPAN_CM = contextlib.nullcontext(NO_SPAN)


def span(name: str, parent: Optional[str] = None, attributes: Optional[dict] = None):
    """A span under the current one, or under `parent` (a stored traceparent) when given.
    Exceptions leaving the block are recorded on it and mark it as an error."""
    if not enabled:
        return _NO_SPAN_CM
    ctx = _context(parent) if parent else None
    return _tracer.start_as_current_span(name, context=ctx, attributes=attributes)


def fail(sp, message: str, exc: Optional[BaseException] = None) -> None:
    """Mark a span failed without raising (errors that travel as values, like Response.success)."""
    if not enabled or not sp.is_recording():
        return
    from opentelemetry.trace import Status, StatusCode
    if exc is not None:
        sp.record_exception(exc)
    else:
        sp.add_event("error", {"message": message})
    sp.set_status(Status(StatusCode.ERROR, message))


def annotate(**attributes) -> None:
    """Set attributes on the active span (the gRPC server span in a servicer)."""
    if not enabled:
        return
    from opentelemetry import trace
    trace.get_current_span().set_attributes({f"virtmesh.{k}": v for k, v in attributes.items()})


def traced(name: str, reconcile, traceparents: dict):
    """Wrap a work-queue reconcile so each pass is a span under the key's stored traceparent."""
    if not enabled:
        return reconcile

    async def run(key: str):
        with span(name, parent=traceparents.get(key, ""), attributes={"virtmesh.key": key}):
            return await reconcile(key)
    return run


def fail_current(message: str) -> None:
    """Mark the active span (e.g. the gRPC server span of an in-band error reply) as failed."""
    if enabled:
        from opentelemetry import trace
        fail(trace.get_current_span(), message)


def preimport(service: str) -> None:
    """Import the SDK without starting anything: a forking parent (the launcher zygote) pays the
    imports (and the resource) once; its children call setup() themselves after the fork."""
    if configured():
        _resource(service)
        import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401
        import opentelemetry.sdk.trace.export  # noqa: F401
        import grpc._channel  # noqa: F401  (the exporter's sync channel: ~7 ms when first imported)
        import grpc.experimental  # noqa: F401
