"""KubeVirt's client request metrics for our gRPC clients of the api (the client-go REST metrics).

Registered when this module is imported, not when a service sets its metrics up: KubeVirt lost
its client-go latency metrics because they were registered late (#14286, notes A8.2). gRPC
status codes are reported as the HTTP codes grpc-gateway maps them to, so KubeVirt's
`*RESTErrorsBurst` expressions (`code=~"(4|5)[0-9][0-9]"`) work unchanged.
"""
from __future__ import annotations

import asyncio
import time

import grpc
import prometheus_client
from prometheus_client import Counter, Histogram

# KubeVirt's (Go) metrics have no `_created` series; ours match them sample for sample.
prometheus_client.disable_created_metrics()

REQUESTS = Counter("kubevirt_rest_client_requests_total",
                   "Number of HTTP requests, partitioned by status code, method, and host.",
                   ["code", "method", "host", "resource", "verb"])
LATENCY = Histogram("kubevirt_rest_client_request_latency_seconds",
                    "Request latency in seconds. Broken down by verb and URL.", ["verb", "url"],
                    buckets=[0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
                             4, 5, 6, 8, 10, 15, 20, 30, 45, 60])

_S = grpc.StatusCode
HTTP_CODE = {
    _S.OK: 200, _S.CANCELLED: 499, _S.UNKNOWN: 500, _S.INVALID_ARGUMENT: 400, _S.DEADLINE_EXCEEDED: 504,
    _S.NOT_FOUND: 404, _S.ALREADY_EXISTS: 409, _S.PERMISSION_DENIED: 403, _S.RESOURCE_EXHAUSTED: 429,
    _S.FAILED_PRECONDITION: 400, _S.ABORTED: 409, _S.OUT_OF_RANGE: 400, _S.UNIMPLEMENTED: 501,
    _S.INTERNAL: 500, _S.UNAVAILABLE: 503, _S.DATA_LOSS: 500, _S.UNAUTHENTICATED: 401,
}
# gRPC method -> (HTTP method, Kubernetes verb)
VERBS = {
    "Create": ("POST", "create"), "Get": ("GET", "get"), "List": ("GET", "list"), "Update": ("PUT", "update"),
    "UpdateStatus": ("PUT", "update"), "Delete": ("DELETE", "delete"), "Watch": ("GET", "watch"),
}
_RESOURCES = {1: "virtualmachines", 2: "virtualmachineinstances", 3: "nodes"}


def resource_of(request) -> str:
    """virtualmachines / virtualmachineinstances / nodes from any Resources request, else ""."""
    for field in ("object", "ref"):
        sub = getattr(request, field, None)
        if sub is not None:
            if field == "object":
                which = sub.WhichOneof("kind")
                return {"virtualMachine": _RESOURCES[1], "virtualMachineInstance": _RESOURCES[2],
                        "node": _RESOURCES[3]}.get(which or "", "")
            return _RESOURCES.get(sub.kind, "")
    return _RESOURCES.get(getattr(request, "kind", 0), "")


def observe(host: str, full_method: str, request, code: grpc.StatusCode, seconds: float) -> None:
    service_method = full_method.rsplit("/", 1)[-1]
    method, verb = VERBS.get(service_method, ("POST", service_method.lower()))
    resource = resource_of(request)
    REQUESTS.labels(str(HTTP_CODE.get(code, 500)), method, host, resource, verb).inc()
    LATENCY.labels(verb, f"{full_method}" + (f"/{resource}" if resource else "")).observe(seconds)


class UnaryMetrics(grpc.aio.UnaryUnaryClientInterceptor):
    """Counts every unary call (retries happen below the interceptor: one call, one count)."""

    def __init__(self, host: str):
        self.host = host

    async def intercept_unary_unary(self, continuation, details, request):
        t0 = time.perf_counter()
        call = await continuation(details, request)
        try:
            code = await call.code()
        except Exception:  # noqa: BLE001 - a cancelled call has no code worth counting
            return call
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        observe(self.host, method, request, code, time.perf_counter() - t0)
        return call


class StreamMetrics(grpc.aio.UnaryStreamClientInterceptor):
    """Watches are counted when they end (how they ended is the code)."""

    def __init__(self, host: str):
        self.host = host
        self._pending: set[asyncio.Task] = set()

    async def intercept_unary_stream(self, continuation, details, request):
        t0 = time.perf_counter()
        call = await continuation(details, request)
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        task = asyncio.get_running_loop().create_task(self._finish(call, method, request, t0))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return call

    async def _finish(self, call, method: str, request, t0: float) -> None:
        try:
            code = await call.code()
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
        observe(self.host, method, request, code, time.perf_counter() - t0)


def interceptors(host: str) -> list:
    return [UnaryMetrics(host), StreamMetrics(host)]
