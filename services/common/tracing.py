"""OpenTelemetry tracing for every service, configured only by the standard OTEL_* variables.

Off unless an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or `..._TRACES_ENDPOINT`), and
then nothing is installed at all: no provider, no exporter, no gRPC interceptors, and `span()` is
a shared no-op context manager, so the disabled path costs one attribute check.

Spans are the SDK's: it samples, records, batches, encodes and exports them with its own
OTLP/gRPC exporter, so every OTEL_EXPORTER_OTLP_* setting (endpoint, headers, certificates,
compression, insecure, timeout) applies to all that leaves a process. What is ours: spans nest by
our own context variable (a pass's span starts only once it has something to show: `traced`,
`step`), and launchers export nothing themselves: their handler does (`setup`).

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
from typing import Callable, Union

import grpc

SERVICE_PREFIX = "virtmesh-"
# Not traced: long-lived streams (spans as long as the process), polling and plain reads (noise,
# and each span costs ~0.1 ms of CPU in the process that makes it and more in the one exporting it).
_UNTRACED = ("Watch", "DomainEvents", "Console", "Info", "GetDomainStats", "Get", "List")

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

    `relay` (launchers): no exporter. Finished spans are encoded into the reply of
    the launcher's next traced RPC (`Response.traceSpans`), and the handler hands them to its own
    batch processor as virtmesh-launcher's (`_ClientPropagation`). An exporter (a thread, a
    collector connection, a flush at exit) cost a per-VM process ~15 ms of CPU, several times its
    few spans (bench/tracing.py)."""
    global enabled, _provider, _processor, _relay, _parts
    if enabled or not configured():
        return enabled
    from opentelemetry.sdk.trace import TracerProvider
    if relay:
        # Its root spans are not recorded: a launcher acts for the handler's traced calls.
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
        provider = TracerProvider(resource=_resource(service), sampler=ParentBased(ALWAYS_OFF))
        _relay = _processor = _relay_buffer()
    else:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        provider = _provider = TracerProvider(resource=_resource(service))
        _processor = BatchSpanProcessor(OTLPSpanExporter())  # the provider's shutdown() flushes it
        trace.set_tracer_provider(_provider)
    provider.add_span_processor(_processor)
    _parts = _Parts(provider)
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


def _relay_buffer():
    """A launcher's span processor: its finished spans, kept until a reply carries them (`take`)."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import SpanProcessor

    class RelayBuffer(SpanProcessor):
        def __init__(self):
            self.spans: list = []

        def on_end(self, span) -> None:
            self.spans.append(span)

        def take(self) -> bytes:
            """The spans so far as a serialized OTLP ExportTraceServiceRequest, by the SDK's encoder."""
            if not self.spans:
                return b""
            data = encode_spans(self.spans).SerializeToString()
            self.spans = []
            return data
    return RelayBuffer()


def relayed(launcher: str, data: bytes) -> list:
    """The spans of a launcher's reply (its relay buffer's `take`) as the SDK's ReadableSpans, under
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
    sampled = TraceFlags(TraceFlags.SAMPLED)   # a launcher relays only sampled spans (the SDK's Span.end)
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
        sp = _start(path, _extract(context.invocation_metadata() or (), _MetadataGetter), _loaded().SERVER, attributes)
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


# The VMI uid of a channel's launcher, or a function that says it (known later: a spare launcher's channel).
LauncherUid = Union[str, Callable[[], str]]


class _ClientPropagation(grpc.aio.UnaryUnaryClientInterceptor):
    """Puts the active span's W3C traceparent and tracestate in the call's metadata (no client
    span of its own), and on a channel to a launcher hands the spans its replies carry to this
    process's batch processor. Unary calls only: streams are never traced, and an interceptor on
    them would wrap every message of every watch."""

    def __init__(self, launcher: LauncherUid = ""):
        self.launcher = launcher

    @staticmethod
    def _with_trace_context(details):
        sp = _active()
        if sp is None:
            return details
        return details._replace(metadata=grpc.aio.Metadata(*(details.metadata or ()), *_headers(sp)))

    async def intercept_unary_unary(self, continuation, details, request):
        # Reads have no span on the other side, so nothing to carry.
        call = await continuation(self._with_trace_context(details) if _traced_method(details.method) else details,
                                  request)
        uid = self.launcher() if callable(self.launcher) else self.launcher
        if uid:
            spans = getattr(await call, "traceSpans", b"")
            if spans:
                for sp in relayed(uid, spans):
                    _processor.on_end(sp)
        return call


def client_interceptors(launcher: LauncherUid = "") -> list:
    """For a channel to a service, or to the launcher of the VMI with uid `launcher`."""
    return [_ClientPropagation(launcher)] if enabled else []


def _start(name: str, parent, kind, attributes: dict | None = None, start_time: int | None = None):
    """The SDK's span `name` under `parent`: a span of this process, a remote parent's SpanContext
    (`_extract`), or None (a root). The provider's sampler decides (OTEL_TRACES_SAMPLER; the
    default follows the parent's sampled flag); an unsampled span records nothing but still
    carries its trace's context on."""
    p = _loaded()
    if parent is None:
        ctx = p.ROOT   # (not the API's current context: our spans nest by _current)
    else:
        ctx = p.trace.set_span_in_context(parent if isinstance(parent, p.Span) else p.NonRecordingSpan(parent),
                                          p.ROOT)
    return p.tracer.start_span(name, ctx, kind, attributes, start_time=start_time)


def _headers(sp) -> tuple:
    """The W3C trace-context headers of span `sp`, ((name, value), ...), as the API's propagator writes them."""
    carrier: dict = {}
    p = _loaded()
    _w3c().inject(carrier, p.trace.set_span_in_context(sp, p.ROOT))
    return tuple(carrier.items())


class _Parts:
    """What spans need from OpenTelemetry, loaded when tracing is set up (off, nothing is)."""

    def __init__(self, provider):
        from opentelemetry import trace
        from opentelemetry.context import Context
        self.trace, self.Span, self.NonRecordingSpan, self.ROOT = trace, trace.Span, trace.NonRecordingSpan, Context()
        self.SERVER, self.INTERNAL = trace.SpanKind.SERVER, trace.SpanKind.INTERNAL
        self.tracer = provider.get_tracer(SCOPE_NAME)


SCOPE_NAME = "virtmesh"
_parts: _Parts | None = None


def _loaded() -> _Parts:
    """The OpenTelemetry parts: only code that runs with tracing set up (`enabled`) asks for them."""
    assert _parts is not None, "tracing is not set up"
    return _parts


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
    sp = trace.get_current_span(_w3c().extract(carrier, getter=getter) if getter else _w3c().extract(carrier))
    ctx = sp.get_span_context()
    return ctx if ctx.is_valid else None


def _parse(kept_context: str):
    """The SpanContext of a kept trace context (`kept`), or None."""
    traceparent, _, tracestate = kept_context.partition(" ")
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _extract(carrier)


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


# The span new work in this task hangs under (an SDK span), and the innermost pending one: a real span
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
            self.span = _start(self.name, parent, _loaded().INTERNAL, self.attributes, start_time=self.start)
        return self.span


_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("virtmesh_pending_span", default=None)


def _active():
    """The span new work hangs under: the innermost pending one, started now (back-dated) because
    its work turned out to have something to show, else the current span."""
    p = _pending.get()
    return p.materialize() if p is not None else _current.get()


def current_context() -> str:
    """The active span's trace context as services keep it (`context`), or ""."""
    sp = _active() if enabled else None
    if sp is None:
        return ""
    h = dict(_headers(sp))
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
    sp = _start(name, parent, _loaded().INTERNAL, attributes)
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
    children: relay mode has no exporter (no thread, no connection), so it forks safely, and each
    child gets its own copy of the span buffer. Set up after the fork, it cost every launcher ~1 ms of CPU,
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
