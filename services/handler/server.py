"""The handler's own gRPC service: VMI verbs the api proxies to this node (pause, unpause, console)."""
from __future__ import annotations

import grpc

from services.common import events, proto
from services.handler.launchers import Launchers

L = proto.launcher


class HandlerService(proto.handler_grpc.HandlerServicer):
    def __init__(self, vmis, launchers: Launchers, recorder: events.Recorder | None = None):
        self.vmis, self.launchers = vmis, launchers
        self.recorder = recorder or events.Recorder(None, events.HANDLER)

    async def _launcher(self, namespace: str, name: str, context):
        vmi = self.vmis.get(f"{namespace or 'default'}/{name}")
        h = self.launchers.get(vmi.metadata.uid) if vmi is not None else None
        if h is None or not h.alive():
            await context.abort(grpc.StatusCode.NOT_FOUND, f'no running launcher for VMI "{name}" on this node')
        return h

    async def _act(self, request, context, call: str, done: str):
        h = await self._launcher(request.namespace, request.name, context)
        resp = await getattr(h.stub, call)(L.VMIRequest(), timeout=20)
        if not resp.success:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, resp.message)
        vmi = self.vmis.get(f"{request.namespace or 'default'}/{request.name}")
        if call in events.LIFECYCLE and vmi is not None:
            self.recorder.normal(vmi, *events.LIFECYCLE[call])
        return proto.api.SubresourceResponse(message=done)

    async def Pause(self, request, context):
        return await self._act(request, context, "PauseVirtualMachine", "paused")

    async def Unpause(self, request, context):
        return await self._act(request, context, "UnpauseVirtualMachine", "unpaused")

    async def Console(self, request_iterator, context):
        first = await request_iterator.__anext__()
        h = await self._launcher(first.namespace, first.name, context)

        async def upstream():
            yield L.ConsoleInput(data=first.data, fromStart=first.fromStart)
            async for msg in request_iterator:
                yield L.ConsoleInput(data=msg.data)

        call = h.stub.Console(upstream())
        try:
            async for chunk in call:
                yield proto.api.ConsoleData(data=chunk.data)
        finally:
            call.cancel()
