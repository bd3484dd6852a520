"""Every service's gRPC server: grpc.aio + health + reflection, on a unix socket and/or TCP (always
mutual TLS: meshtls), every call authorised by the server's policy (authz), with SIGTERM/SIGINT ->
NOT_SERVING -> graceful stop."""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
from typing import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from services.common import authz, meshtls, tracing

log = logging.getLogger(__name__)


class _Malformed:
    """A request whose bytes did not decode; the guarded method answers INVALID_ARGUMENT for it."""

    def __init__(self, error: Exception):
        self.error = error


def _guarded(handler):
    """`handler` (a grpc.RpcMethodHandler) whose undecodable request is refused INVALID_ARGUMENT: grpc
    itself answers UNKNOWN "Unexpected <class 'DecodeError'>". Client-streaming methods keep grpc's
    behaviour (a bad message mid-stream is UNKNOWN)."""
    if handler is None or handler.request_streaming or handler.request_deserializer is None:
        return handler
    decode = handler.request_deserializer

    def deserialize(data: bytes):
        try:
            return decode(data)
        except Exception as e:  # noqa: BLE001 - any decoding failure is the caller's malformed input
            return _Malformed(e)

    async def refuse(request, context):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request: malformed message: {request.error}")

    if handler.response_streaming:
        inner = handler.unary_stream
        async def yielding(request, context):
            if isinstance(request, _Malformed):
                await refuse(request, context)
            async for item in inner(request, context):
                yield item

        async def writing(request, context):  # writes with context.write
            if isinstance(request, _Malformed):
                await refuse(request, context)
            return await inner(request, context)
        behaviour = yielding if inspect.isasyncgenfunction(inner) else writing
        return handler._replace(request_deserializer=deserialize, unary_stream=behaviour)
    inner = handler.unary_unary

    async def unary(request, context):
        if isinstance(request, _Malformed):
            await refuse(request, context)
        return await inner(request, context)
    return handler._replace(request_deserializer=deserialize, unary_unary=unary)


def _authorized(handler, method: str, policy: authz.Policy):
    """`handler` that first asks `policy` whether the caller may call `method` with this request
    (for a client stream, its first message), PERMISSION_DENIED with the policy's reason when not."""
    if handler is None:
        return handler

    async def check(context, request):
        refusal = policy(authz.caller_of(context), method, request)
        if inspect.isawaitable(refusal):
            refusal = await refusal
        if refusal:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, refusal)

    async def first_of(requests):
        """The first message of a client stream (None for an empty one) and the whole stream again."""
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            return None, requests

        async def again():
            yield first
            async for item in requests:
                yield item
        return first, again()

    async def admit(request, context, streaming_request: bool):
        """The request to hand on, once the policy let it through."""
        if not streaming_request:
            await check(context, request)
            return request
        first, request = await first_of(request)
        await check(context, first)
        return request

    def wrap(inner, streaming_request: bool):
        if inspect.isasyncgenfunction(inner):
            async def gen(request, context):
                async for item in inner(await admit(request, context, streaming_request), context):
                    yield item
            return gen

        async def call(request, context):
            return await inner(await admit(request, context, streaming_request), context)
        return call

    shape = ("unary_unary" if not handler.request_streaming and not handler.response_streaming else
             "unary_stream" if not handler.request_streaming else
             "stream_unary" if not handler.response_streaming else "stream_stream")
    return handler._replace(**{shape: wrap(getattr(handler, shape), handler.request_streaming)})


class _GuardedHandler(grpc.ServiceRpcHandler):
    def __init__(self, inner, policy: authz.Policy):
        self.inner, self.policy = inner, policy

    def service_name(self):
        return self.inner.service_name()

    def service(self, handler_call_details):
        return _authorized(_guarded(self.inner.service(handler_call_details)), handler_call_details.method,
                           self.policy)


class _DecodeGuard:
    """Stands in for the server while a generated add_*Servicer_to_server registers its methods:
    every method is authorised, and its undecodable requests refused."""

    def __init__(self, server, policy: authz.Policy):
        self.server, self.policy = server, policy

    def add_generic_rpc_handlers(self, handlers):
        self.server.add_generic_rpc_handlers(tuple(_GuardedHandler(h, self.policy) for h in handlers))

    def add_registered_method_handlers(self, name, handlers):
        self.server.add_registered_method_handlers(
            name, {m: _authorized(_guarded(h), f"/{name}/{m}", self.policy) for m, h in handlers.items()})


class Server:
    def __init__(self, service_names: Iterable[str], policy: authz.Policy):
        self.server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        self.guard = _DecodeGuard(self.server, policy)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.guard)
        self.service_names = list(service_names)
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(reflection.aio.ReflectionServicer(
            [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]), self.guard)
        self.ports: dict[str, int] = {}
        self._unix: dict[str, int] = {}   # the unix sockets served: path -> the inode bound there
        self._stopping = asyncio.Event()

    def add(self, register: Callable, servicer) -> None:
        """Serve `servicer` through `register` (a generated add_*Servicer_to_server), traced, its
        calls authorised, its undecodable requests answered INVALID_ARGUMENT."""
        register(tracing.traced_servicer(register, servicer), self.guard)

    def listen_unix(self, path: str, group: int | None = None, mode: int = 0o600) -> str:
        """Serve on a unix socket only its owner (root) may connect to — and, with `group` and a
        `mode` that allows it, that group's members: the kernel's check is the caller's identity.

        grpc binds and listens in add_insecure_port, with the umask's mode. The socket is bound under
        a name of its own, given its owner and mode, and only then renamed to `path`: a socket found
        at `path` accepts, with the right mode. A client that dialled a path which existed but did not
        accept yet (a handler polling for its launcher's socket) was refused, and backed off 100 ms.
        The directory is 0700 or 0710 (DataDir.ensure, or here when it is missing) and the
        services' umask 077: nobody reaches the socket under its first name."""
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d, mode=0o700)
        bound = os.path.join(d, "." + os.path.basename(path))
        for stale in (path, bound):   # of a previous (killed) incarnation
            if os.path.exists(stale):
                os.unlink(stale)
        self.server.add_insecure_port(f"unix://{bound}")
        if group is not None:
            os.chown(bound, -1, group)
        os.chmod(bound, mode)
        os.replace(bound, path)
        self._unix[path] = os.stat(path).st_ino
        return f"unix://{path}"

    def link_unix(self, path: str, served: str) -> None:
        """Serve the socket served at `served` (listen_unix) at `path` too: a hard link, the same socket.
        A spare launcher, dialled at its spare's name, takes its VMI's name this way."""
        try:
            os.unlink(path)   # of a previous (killed) incarnation
        except FileNotFoundError:
            pass
        os.link(served, path)
        self._unix[path] = self._unix[served]

    def listen_tcp(self, address: str, identity: meshtls.Identity) -> str:
        """Serve TLS on HOST:PORT with `identity`'s certificate; a client must present one signed
        by the same CA (there is no plain TCP: anyone on the network could reach it)."""
        port = self.server.add_secure_port(address, identity.server_credentials())
        host = address.rsplit(":", 1)[0]
        self.ports[address] = port
        return f"{host}:{port}"

    async def start(self) -> None:
        await self.server.start()
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop_on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)

    async def wait(self) -> None:
        """Until a signal asks us to stop, then drain in-flight calls briefly."""
        await self._stopping.wait()
        await self.health.enter_graceful_shutdown()
        await self.stop(grace=2)

    async def stop(self, grace: float) -> None:
        """Stop serving (in-flight calls get `grace` seconds) and remove the unix sockets: grpc removes
        only the name it bound. One already replaced by a new incarnation's is left to it."""
        await self.server.stop(grace=grace)
        for path, inode in self._unix.items():
            try:
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
            except FileNotFoundError:
                pass

    @property
    def stopping(self) -> asyncio.Event:
        return self._stopping
