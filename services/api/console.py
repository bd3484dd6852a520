"""A VMI's serial console as a websocket, the way virtctl speaks to KubeVirt's console subresource:
subprotocol plain.kubevirt.io, the guest's bytes in binary frames both ways. The portforward and vnc
subresources are the same bridge over their own streams (`call`, `first`, `more`).

The websocket protocol is wsproto's (sans-IO); this module moves its bytes. One thread owns the TLS
socket (OpenSSL connections are not for two threads at once): it waits on the socket and on a
wake-up pipe, reads frames into the console stream's input, and writes what the stream sent. The
stream itself (grpc.aio, to the VMI's node) runs on the api's event loop.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import select
import socket

import grpc
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection, Request,
                            TextMessage)

from services.common import names, proto

log = logging.getLogger(__name__)


class Bridge:
    def __init__(self, handler, stub, vmi, call: str = "Console", first=None, more=None):
        """`handler`: the HTTP request handler whose connection upgrades; `stub`: the VMI's handler;
        `call` its stream, `first` the stream's first message, `more(data)` the next ones."""
        self.http, self.stub, self.vmi = handler, stub, vmi
        md = vmi.metadata
        self.call = call
        self.first = first or proto.api.ConsoleRequest(namespace=md.namespace, name=md.name)
        self.more = more or (lambda data: proto.api.ConsoleRequest(data=data))
        self.sock = handler.connection
        self.loop: asyncio.AbstractEventLoop = handler.server.loop
        self.ws = WSConnection(ConnectionType.SERVER)
        self.output: queue.Queue = queue.Queue()      # bytes from the guest; None: the stream ended
        self.wake_r, self.wake_w = socket.socketpair()
        self.input: asyncio.Queue | None = None       # made on the loop

    # ---------------------------------------------------------------- the handshake

    def _handshake(self) -> bool:
        head = self.http.requestline + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.http.headers.items())
        self.ws.receive_data((head + "\r\n").encode("latin-1"))
        for event in self.ws.events():
            if isinstance(event, Request):
                if names.CONSOLE_PROTOCOL not in event.subprotocols:
                    self.sock.sendall(self.ws.send(RejectConnection(status_code=400)))
                    return False
                self.sock.sendall(self.ws.send(AcceptConnection(subprotocol=names.CONSOLE_PROTOCOL)))
                return True
        body = b"a websocket upgrade (plain.kubevirt.io) is needed"
        self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        return False

    # ---------------------------------------------------------------- the stream, on the loop

    async def _stream(self) -> None:
        queue = self.input = asyncio.Queue()
        md = self.vmi.metadata

        async def requests():
            yield self.first
            while (data := await queue.get()) is not None:
                yield self.more(data)

        call = getattr(self.stub, self.call)(requests())
        try:
            async for chunk in call:
                self._emit(chunk.data)
        except grpc.aio.AioRpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                log.info("%s of %s/%s: %s", self.call, md.namespace, md.name, e.details())
        finally:
            call.cancel()
            self._emit(None)

    def _emit(self, data: bytes | None) -> None:
        self.output.put(data)
        try:
            self.wake_w.send(b"\0")
        except OSError:
            pass

    def _to_guest(self, data: bytes | None) -> None:
        if self.input is not None:
            self.loop.call_soon_threadsafe(self.input.put_nowait, data)

    # ---------------------------------------------------------------- the socket, in this thread

    def run(self) -> None:
        self.http.close_connection = True
        try:
            if not self._handshake():
                return
            stream = asyncio.run_coroutine_threadsafe(self._stream(), self.loop)
            try:
                self._pump()
            finally:
                self._to_guest(None)
                stream.cancel()
        except OSError as e:
            log.debug("console connection: %s", e)
        finally:
            self.wake_r.close()
            self.wake_w.close()

    def _pump(self) -> None:
        self.sock.settimeout(None)
        while True:
            ready = [self.sock] if self.sock.pending() else \
                select.select([self.sock, self.wake_r], [], [], 30)[0]
            if self.wake_r in ready:
                self.wake_r.recv(4096)
            while not self.output.empty():
                data = self.output.get_nowait()
                if data is None:   # the guest stopped, or the node's stream ended
                    self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
                    return
                self.sock.sendall(self.ws.send(BytesMessage(data=data)))
            if self.sock in ready:
                data = self.sock.recv(65536)
                if not data:
                    return
                self.ws.receive_data(data)
                for event in self.ws.events():
                    if isinstance(event, (BytesMessage, TextMessage)):
                        payload = event.data if isinstance(event, BytesMessage) else event.data.encode()
                        self._to_guest(bytes(payload))
                    elif isinstance(event, Ping):
                        self.sock.sendall(self.ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self.sock.sendall(self.ws.send(event.response()))
                        return
