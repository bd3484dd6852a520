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


class MeteredChannel(grpc.aio.Channel):
    """`channel`, its unary and server-streaming calls counted as they end (retries happen below: one call,
    one count; a watch counts when it ends, how it ended its code). The count wraps the calls its stubs
    make: grpc's client interceptors took ~60 µs of CPU per unary call for it (a task of their own each), this
    ~30 µs (a unary Health call's ~300 µs, client and server, in one process)."""

    def __init__(self, channel: grpc.aio.Channel, host: str):
        self.channel, self.host = channel, host
        self._pending: set[asyncio.Task] = set()

    def unary_unary(self, method, *args, **kwargs):
        inner = self.channel.unary_unary(method, *args, **kwargs)
        host = self.host

        async def counted(request, call, t0: float):
            try:
                response = await call
            except grpc.aio.AioRpcError as e:
                observe(host, method, request, e.code(), time.perf_counter() - t0)
                raise
            observe(host, method, request, grpc.StatusCode.OK, time.perf_counter() - t0)
            return response

        def call(request, **options):
            return counted(request, inner(request, **options), time.perf_counter())
        return call

    def unary_stream(self, method, *args, **kwargs):
        inner = self.channel.unary_stream(method, *args, **kwargs)

        def call(request, **options):
            started, t0 = inner(request, **options), time.perf_counter()
            started.add_done_callback(lambda done: self._count_stream(done, method, request, t0))
            return started
        return call

    def _count_stream(self, call, method: str, request, t0: float) -> None:
        async def count() -> None:
            try:
                code = await call.code()
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
            observe(self.host, method, request, code, time.perf_counter() - t0)
        task = asyncio.get_running_loop().create_task(count())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def stream_unary(self, *args, **kwargs):
        return self.channel.stream_unary(*args, **kwargs)

    def stream_stream(self, *args, **kwargs):
        return self.channel.stream_stream(*args, **kwargs)

    async def close(self, grace=None):
        await self.channel.close(grace)

    def get_state(self, try_to_connect: bool = False):
        return self.channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state):
        return await self.channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self):
        await self.channel.channel_ready()

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        await self.close()
