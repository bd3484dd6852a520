"""The api clients' request metrics (services/common/clientmetrics.py): every unary call counted with the
HTTP code its status maps to, a watch when it ends, on a channel whose stubs are the generated ones."""
from __future__ import annotations

import asyncio
import os
import tempfile

import grpc
import pytest
from prometheus_client import REGISTRY

from services.common import clientmetrics, proto


class Resources(proto.api_grpc.ResourcesServicer):
    async def Get(self, request, context):
        if request.ref.name == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "not found")
        return proto.api.Object()

    async def Watch(self, request, context):
        yield proto.api.WatchEvent(type="BOOKMARK", resourceVersion="1")
        await asyncio.sleep(60)


def count(host: str, verb: str, code: str, resource: str = "virtualmachineinstances") -> float:
    method = "GET"
    return REGISTRY.get_sample_value("kubevirt_rest_client_requests_total", {
        "code": code, "method": method, "host": host, "resource": resource, "verb": verb}) or 0.0


@pytest.fixture
async def served():
    d = tempfile.mkdtemp(prefix="cm-")
    target = f"unix://{os.path.join(d, 's.sock')}"
    server = grpc.aio.server()
    proto.api_grpc.add_ResourcesServicer_to_server(Resources(), server)
    server.add_insecure_port(target)
    await server.start()
    channel = clientmetrics.MeteredChannel(grpc.aio.insecure_channel(target), target)
    yield target, proto.api_grpc.ResourcesStub(channel)
    await channel.close()
    await server.stop(0)


async def test_unary_calls_count_with_their_http_code_and_watches_when_they_end(served):
    target, stub = served
    ref = proto.ref(proto.VMI, "default", "x")
    await stub.Get(proto.api.GetRequest(ref=ref), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, "default", "missing")), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND   # the caller sees the error as grpc raised it
    assert (count(target, "get", "200"), count(target, "get", "404")) == (1, 1)
    assert REGISTRY.get_sample_value("kubevirt_rest_client_request_latency_seconds_count", {
        "verb": "get", "url": "/virtmesh.v1.Resources/Get/virtualmachineinstances"}) >= 2
    watch = stub.Watch(proto.api.WatchRequest(kind=proto.VMI))
    assert (await watch.read()).type == "BOOKMARK"
    assert count(target, "watch", "499") == 0   # open: not counted yet
    watch.cancel()
    for _ in range(100):
        if count(target, "watch", "499"):
            break
        await asyncio.sleep(0.01)
    assert count(target, "watch", "499") == 1
