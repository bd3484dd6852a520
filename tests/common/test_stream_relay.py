"""A byte stream relayed over a middle hop (services/common/streamrelay.py), as api -> handler -> launcher
relay port-forward: the far end's refusal reaches a client that keeps writing with its own words, and
an open stream carries the client's bytes both ways. Real gRPC servers on loopback, a sync client as
the CLI's; the test fails with a relay that writes the client's messages before the far end opened."""
from __future__ import annotations

import asyncio
import threading

import grpc
import pytest

from services.common import proto, streamrelay

A = proto.api
REFUSED_PORT = 7999
REFUSAL = f"dialing VM: dial tcp 10.0.2.15:{REFUSED_PORT}: connect: connection refused"


class FarEnd(proto.api_grpc.SubresourcesServicer):
    """The launcher's part: refuses one port, echoes on any other once it said the stream is open."""

    async def PortForward(self, request_iterator, context):
        first = await request_iterator.__anext__()
        await asyncio.sleep(0.001)   # the dial
        if first.port == REFUSED_PORT:
            await context.abort(grpc.StatusCode.INTERNAL, REFUSAL)
        await streamrelay.announce_open(context)
        yield A.StreamData(data=first.data)
        async for msg in request_iterator:
            if not msg.data:
                return
            yield A.StreamData(data=msg.data)


class MiddleHop(proto.api_grpc.SubresourcesServicer):
    """A hop relaying to the far end as the api and the handler do."""

    def __init__(self, far):
        self.far = far

    async def PortForward(self, request_iterator, context):
        first = await request_iterator.__anext__()
        async for chunk in streamrelay.relay(context, self.far.PortForward(), first, request_iterator):
            yield chunk


@pytest.fixture
def hop_address():
    """The middle hop's address; both servers run on a loop of their own in a thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box = {}

    async def serve():
        far_server = grpc.aio.server()
        proto.api_grpc.add_SubresourcesServicer_to_server(FarEnd(), far_server)
        far_port = far_server.add_insecure_port("127.0.0.1:0")
        await far_server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{far_port}")
        hop_server = grpc.aio.server()
        proto.api_grpc.add_SubresourcesServicer_to_server(MiddleHop(proto.api_grpc.SubresourcesStub(channel)), hop_server)
        box["port"] = hop_server.add_insecure_port("127.0.0.1:0")
        await hop_server.start()
        box["stop"] = asyncio.Event()
        ready.set()
        await box["stop"].wait()
        await hop_server.stop(0)
        await channel.close()
        await far_server.stop(0)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"127.0.0.1:{box['port']}"
    loop.call_soon_threadsafe(box["stop"].set)
    thread.join(10)


def _messages(port: int, *payloads: bytes):
    yield A.PortForwardRequest(namespace="ns", name="vm", port=port, data=payloads[0])
    for p in payloads[1:]:
        yield A.PortForwardRequest(data=p)
    yield A.PortForwardRequest()   # the client's half-close


def test_a_refusal_reaches_a_client_that_keeps_writing_with_its_own_words(hop_address):
    with grpc.insecure_channel(hop_address) as channel:
        stub = proto.api_grpc.SubresourcesStub(channel)
        outcomes = []
        for _ in range(150):   # a relay that wrote before the far end opened lost some of these
            with pytest.raises(grpc.RpcError) as e:
                list(stub.PortForward(_messages(REFUSED_PORT, *[b"anyone?\n"] * 100), timeout=30))
            outcomes.append((e.value.code(), e.value.details()))
    assert set(outcomes) == {(grpc.StatusCode.INTERNAL, REFUSAL)}


def test_an_open_stream_carries_the_clients_bytes_both_ways(hop_address):
    with grpc.insecure_channel(hop_address) as channel:
        stub = proto.api_grpc.SubresourcesStub(channel)
        got = [c.data for c in stub.PortForward(_messages(7000, b"one ", b"two ", b"three"), timeout=30)]
    assert b"".join(got) == b"one two three"
