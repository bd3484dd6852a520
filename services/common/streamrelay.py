"""A client's byte stream (console, port-forward, vnc) relayed hop by hop: api -> handler -> launcher.

The far end dials the guest on the stream's first message (a port-forward's port, the VNC display)
and either refuses (a status with no message) or starts answering; a console is refused only by a
handler without the VMI's launcher. A hop writes the client's later messages only once the next hop said
the stream is open (OPENED in its headers): grpc's aio client turns a write that races the next
hop's refusal into INTERNAL "Internal error from Core" and the refusal's own status ("dialing VM:
... connection refused") is lost. Without OPENED the hop writes nothing more; the status follows.
"""
from __future__ import annotations

import asyncio

import grpc

OPENED = ("virtmesh-stream", "open")


async def announce_open(context) -> None:
    """The servicer's headers saying the stream is open (before its first answer)."""
    await context.send_initial_metadata((OPENED,))


async def _open_downstream(call, first) -> bool:
    """Write `first` on the next hop's call; True once that hop says the stream is open."""
    try:
        await call.write(first)
        headers = await call.initial_metadata()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return False
    return OPENED in tuple(headers or ())


async def _relay_rest(request_iterator, call, convert=lambda msg: msg) -> None:
    """The client's remaining messages onto an open `call`, then its half-close."""
    try:
        async for msg in request_iterator:
            await call.write(convert(msg))
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        pass   # the call ended: its own outcome is what the client gets


async def relay(context, call, first, request_iterator, convert=lambda msg: msg):
    """A servicer's stream relayed onto the next hop's `call`: `first`, then (once open) the client's other
    messages; yields the next hop's answers; its refusal or failure ends this stream with its status."""
    pump = None
    try:
        if await _open_downstream(call, first):
            await announce_open(context)
            pump = asyncio.create_task(_relay_rest(request_iterator, call, convert))
        async for answer in call:
            yield answer
    except grpc.aio.AioRpcError as e:
        await context.abort(e.code(), e.details(), tuple(e.trailing_metadata() or ()))
    finally:
        if pump is not None:
            pump.cancel()
        call.cancel()
