"""OpenTelemetry tracing for every service, configured only by the standard OTEL_* variables.

Off unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`), and
then nothing is installed at all: no provider, no exporter, no gRPC interceptors, and `span()` is
a shared no-op context manager, so the disabled path costs one attribute check.

Spans are recorded by `_Span`, which has the fields of the SDK's ReadableSpan, and handed to the
SDK's span processor: the SDK configures (sampler, ids, resource), batches, encodes and exports
them with its own OTLP/gRPC exporter, so every OTEL_EXPORTER_OTLP_* setting (endpoint, headers,
certificates, compression, insecure, timeout) applies to all that leaves a process. The SDK's own
Span, made for arbitrary callers, cost several times ours in every busy service (see `_Span`).
Launchers export nothing themselves: their handler does (`setup`).

The trace of a change travels through the stored objects: the api keeps the W3C traceparent and
tracestate of the request that wrote an object with it (`keep`), informers hand them out per key
(`kept`), and reconcilers start their spans under them (`span(name, parent=kept)`), so api create
-> controller -> handler -> launcher is one trace although every hop is asynchronous. Between
services they travel as W3C trace-context metadata, read and written by the API's propagator.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import time
from typing import NamedTuple

import grpc

SERVICE_PREFIX = "virtmesh-"
# Not traced: long-lived streams (spans as long as the process), polling and plain reads (noise,
# and each span costs ~0.1 ms of CPU in the process that makes it and more in the one exporting it).
_UNTRACED = ("Watch", "DomainEvents", "Console", "Info", "Ping", "GetDomainStats", "Get", "List")

enabled = False
_provider = None         # the SDK's TracerProvider: configuration (sampler, ids, resource), processors
_processor = None        # where finished spans go: the SDK's batch processor, or a launcher's relay buffer
_relay = None            # launchers: the buffer of finished spans that rides on their replies


def configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup(service: str, relay: bool = False) -> bool:
    """Install the SDK with its OTLP/gRPC batch exporter for `virtmesh-<service>` (idempotent).
    Call it before creating gRPC servers or channels, and after any fork (the exporter has a thread).

    `relay` (launchers): no provider and no exporter. Finished spans are encoded into the reply of
    the launcher's next traced RPC (`Response.traceSpans`), and the handler hands them to its own
    batch processor as virtmesh-launcher's (`_ClientPropagation`). An exporter (a thread, a
    collector connection, a flush at exit) cost a per-VM process ~15 ms of CPU, several times its
    few spans (bench/tracing.py)."""
    global enabled, _provider, _processor, _relay, _parts
    if enabled or not configured():
        return enabled
    if relay:
        _relay = _processor = _RelayBuffer()
    else:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        _provider = TracerProvider(resource=_resource(service))
        _processor = BatchSpanProcessor(OTLPSpanExporter())
        _provider.add_span_processor(_processor)  # the provider's shutdown() flushes it
        trace.set_tracer_provider(_provider)
    _parts = _Parts(_provider, _resource(service))
    enabled = True
    return True


@functools.cache
def _resource(service: str):
    # Explicit attributes win over OTEL_SERVICE_NAME, which `virtmesh up` would pass to every child.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    return Resource.create({SERVICE_NAME: SERVICE_PREFIX + service})


def shutdown() -> None:
    """Flush pending spans (the handler's include the launchers' it was handed)."""
    if _provider is not None:
        _provider.shutdown()


class _RelayBuffer:
    """A launcher's finished spans, kept until a reply carries them (`take`)."""

    def __init__(self):
        self.spans: list = []

    def on_end(self, span) -> None:
        self.spans.append(span)

    def take(self) -> bytes:
        """The spans so far as a serialized OTLP ExportTraceServiceRequest, by the SDK's encoder."""
        if not self.spans:
            return b""
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
        data = encode_spans(self.spans).SerializeToString()
        self.spans = []
        return data


def relayed(launcher: str, data: bytes) -> list:
    """The spans of a launcher's reply (`_RelayBuffer.take`) as the SDK's ReadableSpans, under
    virtmesh-launcher's resource with the VMI's uid `launcher` as service.instance.id (one launcher
    per VMI). Links are not read: our spans have none."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import (
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
        TraceState,
    )
    resource = _launcher_resource(launcher)
    sampled = TraceFlags(TraceFlags.SAMPLED)   # a launcher relays only sampled spans (`_Span.end`)
    out = []
    for rs in ExportTraceServiceRequest.FromString(data).resource_spans:
        for ss in rs.scope_spans:
            scope = InstrumentationScope(ss.scope.name, ss.scope.version or None, ss.schema_url or None,
                                         _attributes(ss.scope.attributes) or None)
            for s in ss.spans:
                trace_id = int.from_bytes(s.trace_id, "big")
                state = TraceState.from_header([s.trace_state]) if s.trace_state else None
                parent = SpanContext(trace_id, int.from_bytes(s.parent_span_id, "big"), bool(s.flags & _IS_REMOTE),
                                     sampled, state) if s.parent_span_id else None
                out.append(ReadableSpan(
                    s.name, SpanContext(trace_id, int.from_bytes(s.span_id, "big"), False, sampled, state), parent,
                    resource, _attributes(s.attributes),
                    [Event(e.name, _attributes(e.attributes), e.time_unix_nano) for e in s.events],
                    kind=SpanKind(s.kind - 1),   # OTLP counts from UNSPECIFIED = 0
                    status=Status(StatusCode(s.status.code), s.status.message or None),
                    start_time=s.start_time_unix_nano, end_time=s.end_time_unix_nano, instrumentation_scope=scope))
    return out


_IS_REMOTE = 0x200   # OTLP's SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


def _attributes(key_values) -> dict:
    return {kv.key: _any_value(kv.value) for kv in key_values}


def _any_value(v):
    which = v.WhichOneof("value")
    if which == "array_value":
        return tuple(_any_value(x) for x in v.array_value.values)
    if which == "kvlist_value":
        return _attributes(v.kvlist_value.values)
    return getattr(v, which) if which else None


@functools.lru_cache(maxsize=256)
def _launcher_resource(launcher: str):
    from opentelemetry.sdk.resources import Resource
    return _resource("launcher").merge(Resource({"service.instance.id": launcher}))


@functools.lru_cache(maxsize=256)
def _traced_method(method) -> bool:
    """Whether a call of `method` (a path, as str or bytes) is traced on the other side."""
    method = method.decode() if isinstance(method, bytes) else method
    return method.rsplit("/", 1)[-1] not in _UNTRACED and not method.startswith("/grpc.")


def traced_servicer(register, servicer):
    """`servicer` with a SERVER span around each of its unary methods, under the caller's
    traceparent from the call's metadata, for `register` (a generated add_*Servicer_to_server).

    The methods are wrapped where they are registered (a grpc.aio ServerInterceptor would see
    every call, reads and streams included), and it is smaller than
    opentelemetry-instrumentation-grpc: no client spans, no peer parsing."""
    if not enabled:
        return servicer
    service = _service_names.get(register)
    if service is None:
        recorder = _ServiceName()
        register(servicer, recorder)
        service = _service_names[register] = recorder.name
    return _TracedServicer(servicer, service)


# register function -> its service's name, and (servicer class, method name) -> traced or not:
# learned once per process (the launcher zygote learns them for all its children, `prefork`).
_service_names: dict = {}
_unary: dict = {}


class _ServiceName:
    """Stands in for the server while a generated add_*Servicer_to_server names its service."""
    name = ""

    def add_generic_rpc_handlers(self, handlers):
        self.name = handlers[0].service_name()

    def add_registered_method_handlers(self, name, handlers):
        self.name = name


class _TracedServicer:
    def __init__(self, servicer, service: str):
        self._servicer, self._service = servicer, service

    def __getattr__(self, name: str):
        method = getattr(self._servicer, name)
        path = f"/{self._service}/{name}"
        key = (type(self._servicer), name)
        traced = _unary.get(key)
        if traced is None:
            # The calls a client propagates to, and not streams (async generators).
            traced = _unary[key] = _traced_method(path) and inspect.iscoroutinefunction(method)
        return _traced_unary(path, method) if traced else method


def _traced_unary(path: str, method):
    service, name = path[1:].rsplit("/", 1)
    attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

    async def unary(request, context):
        # (Not _remote: a caller's traceparent is new with every call, so caching it buys nothing.)
        sp = _Span(path, _extract(context.invocation_metadata() or (), _MetadataGetter), _parts.SERVER, attributes)
        token = _current.set(sp)
        try:
            response = await method(request, context)
        except grpc.aio.AbortError:
            # An aborted call (a status like ABORTED for a stale write) raises through here: its
            # status is the error, not the traceback (which costs ~1 ms to format).
            raise
        except Exception as e:
            _record_error(sp, e)
            raise
        finally:
            code = context.code()
            if code is not None and code != grpc.StatusCode.OK:
                sp.set_attribute("rpc.grpc.status_code", code.value[0])
                fail(sp, f"{code.name}: {context.details() or ''}")
            _current.reset(token)
            sp.end()
        # The span has ended: a relaying launcher's reply carries it, and all before it.
        if _relay is not None and hasattr(response, "traceSpans"):
            response.traceSpans = _relay.take()
        return response
    return unary


class _ClientPropagation(grpc.aio.UnaryUnaryClientInterceptor):
    """Puts the active span's W3C traceparent and tracestate in the call's metadata (no client
    span of its own), and on a channel to a launcher hands the spans its replies carry to this
    process's batch processor. Unary calls only: streams are never traced, and an interceptor on
    them would wrap every message of every watch."""

    def __init__(self, launcher: str = ""):
        self.launcher = launcher

    @staticmethod
    def _with_trace_context(details):
        sp = _active()
        if sp is None:
            return details
        return details._replace(metadata=grpc.aio.Metadata(*(details.metadata or ()), *sp.headers()))

    async def intercept_unary_unary(self, continuation, details, request):
        # Reads have no span on the other side, so nothing to carry.
        call = await continuation(self._with_trace_context(details) if _traced_method(details.method) else details,
                                  request)
        if self.launcher:
            spans = getattr(await call, "traceSpans", b"")
            if spans:
                for sp in relayed(self.launcher, spans):
                    _processor.on_end(sp)
        return call


def client_interceptors(launcher: str = "") -> list:
    """For a channel to a service, or to the launcher of the VMI with uid `launcher`."""
    return [_ClientPropagation(launcher)] if enabled else []


class _Span:
    """A span as our services record it, with the fields of the SDK's ReadableSpan, so that the
    SDK's span processor batches it and its OTLP exporter sends it as it is.

    Why not the SDK's Span: ours carry a handful of attributes our own code sets (str, int,
    bool), so they need none of its per-attribute checks, limits and locks. An api call's server
    span cost ~55 us to start, annotate and end with the SDK's, ~11 with ours, and several times
    either in a busy service, whose caches hold other things (bench/tracing.py). And a launcher
    records its spans with no tracer provider (`setup`).

    The provider's sampler (OTEL_TRACES_SAMPLER) decides for a root span (a launcher's, with no
    sampler, are not recorded: it acts for the handler's traced calls); every other span follows
    its parent's sampled flag, as the SDK's default (parentbased_always_on) does. An unsampled
    span records nothing but still carries its trace's context on."""
    __slots__ = (
        "_headers",
        "attributes",
        "context",
        "end_time",
        "events",
        "instrumentation_scope",
        "kind",
        "name",
        "parent",
        "resource",
        "start_time",
        "status",
    )
    links = ()
    dropped_attributes = dropped_events = dropped_links = 0

    def __init__(self, name: str, parent, kind, attributes: dict | None = None,
                 start_time: int | None = None):
        """`parent`: a _Span of this process, a remote parent's SpanContext (`_extract`), or None."""
        self.name, self.kind = name, kind
        self.attributes = dict(attributes) if attributes else {}
        p = _parts
        if parent is None:
            trace_id = p.new_trace_id()
            sampled, trace_state = p.sample_root(trace_id, name, kind, self.attributes)
        else:
            if isinstance(parent, _Span):
                parent = parent.context
            trace_id, sampled, trace_state = parent.trace_id, parent.trace_flags.sampled, parent.trace_state
        self.parent = parent
        self.context = p.SpanContext(trace_id, p.new_span_id(), False, p.SAMPLED if sampled else p.NOT_SAMPLED,
                                     trace_state)
        self.start_time, self.end_time = start_time or time.time_ns(), None
        self.events = ()  # (most spans have none: a list once they do)
        self.status, self.resource, self.instrumentation_scope = p.UNSET, p.resource, p.scope
        self._headers = ()

    def get_span_context(self):
        return self.context

    def is_recording(self) -> bool:
        return self.context.trace_flags.sampled

    def headers(self) -> tuple:
        """Its W3C trace-context headers, ((name, value), ...), as the API's propagator writes them."""
        if not self._headers:  # (a pass's span is carried by each of its calls)
            from opentelemetry import trace
            carrier: dict = {}
            _w3c().inject(carrier, trace.set_span_in_context(trace.NonRecordingSpan(self.context)))
            self._headers = tuple(carrier.items())
        return self._headers

    def set_attribute(self, key: str, value) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: dict) -> None:
        self.attributes.update(attributes)

    def add_event(self, name: str, attributes: dict | None = None, timestamp: int | None = None) -> None:
        self.events = [*self.events, _Event(name, attributes or {}, timestamp or time.time_ns())]

    def record_exception(self, exception: BaseException) -> None:
        """An "exception" event as the SDK's Span records one (OpenTelemetry's exception conventions)."""
        import traceback
        t = type(exception)
        self.add_event("exception", {
            "exception.type": t.__qualname__ if t.__module__ in ("builtins", "", None) else f"{t.__module__}.{t.__qualname__}",
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": "False"})

    def set_status(self, status) -> None:
        self.status = status

    def end(self) -> None:
        if self.context.trace_flags.sampled:
            self.end_time = time.time_ns()
            _processor.on_end(self)


class _Event(NamedTuple):
    """A span event, as the SDK's Event reads."""
    name: str
    attributes: dict
    timestamp: int
    dropped_attributes: int = 0


class _Parts:
    """What spans need from OpenTelemetry, loaded when tracing is set up (off, nothing is): the
    API's SpanContext and kinds, the resource and scope, and from a service's SDK provider the
    sampler and the id generator. A launcher (no provider) draws ids as the SDK's default
    generator does."""

    def __init__(self, provider, resource):
        import random

        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace import SpanContext, SpanKind, Status, TraceFlags
        self.SpanContext, self.TraceFlags = SpanContext, TraceFlags
        self.SERVER, self.INTERNAL = SpanKind.SERVER, SpanKind.INTERNAL
        self.SAMPLED, self.NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)
        self.UNSET = Status()
        self.provider = provider
        self.resource, self.scope = resource, InstrumentationScope(SCOPE_NAME)
        if provider is None:
            self.new_trace_id = lambda: random.getrandbits(128) or 1
            self.new_span_id = lambda: random.getrandbits(64) or 1
        else:
            self.new_trace_id = provider.id_generator.generate_trace_id
            self.new_span_id = provider.id_generator.generate_span_id

    def sample_root(self, trace_id: int, name: str, kind, attributes: dict):
        """(sampled, trace state) of a span with no parent; sampler attributes go into `attributes`."""
        if self.provider is None:
            return False, None
        result = self.provider.sampler.should_sample(None, trace_id, name, kind, attributes)
        if result.attributes:
            attributes.update(result.attributes)
        return result.decision.is_sampled(), result.trace_state


SCOPE_NAME = "virtmesh"
_parts: _Parts | None = None


@functools.lru_cache(maxsize=1)
def _w3c():
    from opentelemetry.trace.propagation.tracecontext import (
        TraceContextTextMapPropagator,
    )
    return TraceContextTextMapPropagator()


class _MetadataGetter:
    """Reads W3C headers from a call's metadata ((key, value) pairs) for the propagator; a
    tracestate sent as several entries is read as one list, as W3C trace-context says."""

    @staticmethod
    def get(carrier, key: str):
        return [v for k, v in carrier if k == key] or None

    @staticmethod
    def keys(carrier) -> list:
        return [k for k, _ in carrier]


def _extract(carrier, getter=None):
    """The remote parent's SpanContext in W3C headers (the API's propagator parses them), or None."""
    from opentelemetry import trace
    ctx = trace.get_current_span(_w3c().extract(carrier, getter=getter) if getter else _w3c().extract(carrier))
    ctx = ctx.get_span_context()
    return ctx if ctx.is_valid else None


def _parse(kept_context: str):
    """The SpanContext of a kept trace context (`kept`), or None."""
    traceparent, _, tracestate = kept_context.partition(" ")
    if not traceparent:
        return None
    return _extract({"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent})


# A stored trace context's SpanContext: an object's is read by every pass.
_remote = functools.lru_cache(maxsize=4096)(_parse)


def context(traceparent: str, tracestate: str = "") -> str:
    """A trace context as services keep it in memory and pass it to writes (`kept`, `span`):
    the traceparent, then the tracestate after a space when there is one (W3C traceparents have
    no spaces)."""
    return f"{traceparent} {tracestate}" if traceparent and tracestate else traceparent


def kept(obj) -> str:
    """The trace context kept with a stored api.Object."""
    return context(obj.traceparent, obj.tracestate)


def store(obj, kept_context: str) -> None:
    """Keep `kept_context` with an api.Object (its traceparent and tracestate fields)."""
    obj.traceparent, _, obj.tracestate = kept_context.partition(" ")


def keep(obj, kept_context: str = "") -> None:
    """Keep with an api.Object written by this request the active span's trace context (the
    request is the root of what follows from the write), else `kept_context` if given."""
    ctx = current_context() or kept_context
    if ctx:
        store(obj, ctx)


# The span new work in this task hangs under (a _Span), and the innermost pending one: a real span
# started under a pending one (`span()`) clears it for its own body.
_current: contextvars.ContextVar = contextvars.ContextVar("virtmesh_span", default=None)


class _Pending:
    """A span started only if it turns out to be worth one: a reconcile pass's (see `traced`), under
    the stored traceparent `parent`, or a step's (see `step`), under `outer` -- what was active when
    the step began: the current span, or another pending one."""
    __slots__ = ("attributes", "name", "outer", "parent", "span", "start")

    def __init__(self, name: str, attributes: dict | None, parent: str = "", outer=None):
        self.name, self.parent, self.outer, self.attributes = name, parent, outer, attributes
        self.start = time.time_ns()
        self.span = None

    def materialize(self):
        """Start the span now, back-dated to when its work began."""
        if self.span is None:
            outer = self.outer.materialize() if isinstance(self.outer, _Pending) else self.outer
            parent = _remote(self.parent) if outer is None else outer
            self.span = _Span(self.name, parent, _parts.INTERNAL, self.attributes, start_time=self.start)
        return self.span


_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("virtmesh_pending_span", default=None)


def _active():
    """The span new work hangs under: the innermost pending one, started now (back-dated) because
    its work turned out to have something to show, else the current span."""
    p = _pending.get()
    return p.materialize() if p is not None else _current.get()


def current_traceparent() -> str:
    """The W3C traceparent of the active span ("" when tracing is off or no span is active)."""
    return current_context().partition(" ")[0]


def current_context() -> str:
    """The active span's trace context as services keep it (`context`), or ""."""
    sp = _active() if enabled else None
    if sp is None:
        return ""
    h = dict(sp.headers())
    return context(h.get("traceparent", ""), h.get("tracestate", ""))


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


def span(name: str, parent: str | None = None, attributes: dict | None = None):
    """A span under the current one, or under `parent` (a kept trace context) when given.
    Exceptions leaving the block are recorded on it and mark it as an error."""
    if not enabled:
        return _NO_SPAN_CM
    return _span(name, _remote(parent) if parent else _active(), attributes)


@contextlib.contextmanager
def _span(name: str, parent, attributes: dict | None):
    sp = _Span(name, parent, _parts.INTERNAL, attributes)
    token, pending = _current.set(sp), _pending.set(None)  # in here, this span is what new work hangs under
    try:
        yield sp
    except Exception as e:
        _record_error(sp, e)
        raise
    finally:
        _pending.reset(pending)
        _current.reset(token)
        sp.end()


STEP_SPAN_SECONDS = 0.001


def step(name: str, attributes: dict | None = None):
    """A step of work that is a span of its own if it takes STEP_SPAN_SECONDS or more, fails, or
    has spans (or traced calls) of its own; otherwise it leaves none. On a fast path (the test
    driver) a conversion or a volume check takes microseconds, and a span costs more than the
    step did (bench/tracing.py); where it takes time (an image import, real QEMU), it is there."""
    if not enabled:
        return _NO_SPAN_CM
    return _step(name, attributes)


@contextlib.contextmanager
def _step(name: str, attributes: dict | None):
    p = _Pending(name, attributes, outer=_pending.get() or _current.get())
    token = _pending.set(p)
    try:
        yield NO_SPAN
    except Exception as e:
        _record_error(p.materialize(), e)
        raise
    finally:
        _pending.reset(token)
        if p.span is None and time.time_ns() - p.start >= STEP_SPAN_SECONDS * 1e9:
            p.materialize()
        if p.span is not None:
            p.span.end()


def fail(sp, message: str, exc: BaseException | None = None) -> None:
    """Mark a span failed without raising (errors that travel as values, like Response.success)."""
    if not enabled or not sp.is_recording():
        return
    from opentelemetry.trace import Status, StatusCode
    if exc is not None:
        sp.record_exception(exc)
    else:
        sp.add_event("error", {"message": message})
    sp.set_status(Status(StatusCode.ERROR, message))


def _record_error(sp, e: Exception) -> None:
    """An exception on a span: a failed RPC as its status code and details (a stale write retried
    by a reconcile is routine, and its traceback says nothing); anything else with its traceback."""
    if sp is None or not sp.is_recording():
        return
    if isinstance(e, grpc.aio.AioRpcError):
        sp.set_attribute("rpc.grpc.status_code", e.code().value[0])
        fail(sp, f"{e.code().name}: {e.details()}")
    else:
        fail(sp, f"{type(e).__name__}: {e}", e)


def annotate(**attributes) -> None:
    """Set attributes on the active span (the gRPC server span in a servicer)."""
    sp = _active() if enabled else None
    if sp is not None:
        sp.set_attributes({f"virtmesh.{k}": v for k, v in attributes.items()})


def traced(name: str, reconcile, traceparents: dict):
    """Wrap a work-queue reconcile so each pass is a span under the key's stored traceparent --
    if the pass does something: its span starts (back-dated to the pass's start) on its first
    traced RPC, child span, annotation or error. Most passes of a level-triggered reconciler find
    nothing to do; exporting a span for each was most of tracing's cost (bench/tracing.py)."""
    if not enabled:
        return reconcile

    async def run(key: str):
        p = _Pending(name, {"virtmesh.key": key}, parent=traceparents.get(key, ""))
        token = _pending.set(p)
        try:
            return await reconcile(key)
        except Exception as e:
            _record_error(_active(), e)
            raise
        finally:
            _pending.reset(token)
            if p.span is not None:
                p.span.end()
    return run


def fail_current(message: str) -> None:
    """Mark the active span (e.g. the gRPC server span of an in-band error reply) as failed."""
    sp = _active() if enabled else None
    if sp is not None:
        fail(sp, message)


def prefork(service: str, register=None, servicer_class=None) -> None:
    """Set up relaying tracing in a forking parent (the launcher zygote), once, for all its
    children: relay mode has no thread and no connection, so it forks safely, and each child gets
    its own copy of the span buffer. Set up after the fork, it cost every launcher ~1 ms of CPU,
    most of it page faults on the parent's memory (bench/tracing.py). Span ids stay unique:
    `random`, which they are drawn from, reseeds in every child. With `register` (a generated
    add_*Servicer_to_server) and the class of the servicer each child serves, what
    traced_servicer learns about it is learned here once, too."""
    if not setup(service, relay=True):
        return
    # One throwaway span through every path warms the lazy ones (the first span of each child
    # cost ~1 ms otherwise); its encoding is dropped.
    tp = (("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("tracestate", "vm=1"))
    with _span("warm-up", _extract(tp, _MetadataGetter), {"virtmesh.key": "warm"}):
        with step("warm-up-step"):
            time.sleep(STEP_SPAN_SECONDS)
    _relay.take()
    if register is not None:
        # Registered as a child's server will (a stand-in server; the servicer's methods are looked
        # up, never called): the service's name and which methods are traced, once for all.
        register(traced_servicer(register, servicer_class.__new__(servicer_class)), _ServiceName())
