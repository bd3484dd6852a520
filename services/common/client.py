"""Async client of the api service, used by controller and handler (the CLI uses the sync stubs)."""
from __future__ import annotations

import grpc

from services.common import grpcclient, proto

TIMEOUT = 10.0


class ApiClient:
    def __init__(self, target: str):
        self.channel = grpcclient.aio_channel(target, metrics=True)
        self.resources = proto.api_grpc.ResourcesStub(self.channel)
        self.informers: dict[int, object] = {}   # kind -> the Informer our writes go into at once

    def track(self, *informers) -> None:
        """Put the result of every write of ours into these informers' caches (Informer.observe)."""
        for inf in informers:
            self.informers[inf.kind] = inf

    def _written(self, obj):
        inf = self.informers.get(proto.kind_of(obj))
        if inf is not None:
            inf.observe(obj)
        return proto.inner(obj)

    async def close(self) -> None:
        await self.channel.close()

    async def create(self, resource, traceparent: str = ""):
        obj = await self.resources.Create(
            proto.api.CreateRequest(object=proto.wrap(resource, traceparent)), timeout=TIMEOUT)
        return self._written(obj)

    async def get(self, kind: int, namespace: str, name: str):
        obj = await self.resources.Get(proto.api.GetRequest(ref=proto.ref(kind, namespace, name)),
                                       timeout=TIMEOUT)
        return proto.inner(obj)

    async def get_or_none(self, kind: int, namespace: str, name: str):
        try:
            return await self.get(kind, namespace, name)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    async def update(self, resource, traceparent: str = ""):
        obj = await self.resources.Update(
            proto.api.UpdateRequest(object=proto.wrap(resource, traceparent)), timeout=TIMEOUT)
        return self._written(obj)

    async def update_status(self, resource, traceparent: str = ""):
        obj = await self.resources.UpdateStatus(
            proto.api.UpdateRequest(object=proto.wrap(resource, traceparent)), timeout=TIMEOUT)
        return self._written(obj)

    async def delete(self, kind: int, namespace: str, name: str, uid: str = ""):
        """Delete; a missing object (or one replaced by a new uid) is not an error."""
        try:
            obj = await self.resources.Delete(
                proto.api.DeleteRequest(ref=proto.ref(kind, namespace, name), uid=uid), timeout=TIMEOUT)
            return proto.inner(obj)
        except grpc.aio.AioRpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
                return None
            raise

    async def list(self, kind: int, namespace: str = "", node_name: str = ""):
        out = await self.resources.List(
            proto.api.ListRequest(kind=kind, namespace=namespace, nodeName=node_name), timeout=TIMEOUT)
        return [proto.inner(o) for o in out.items]


def is_conflict(e: Exception) -> bool:
    """A stale write (ABORTED) or a racing create/delete: reconcile again from fresh state."""
    return isinstance(e, grpc.aio.AioRpcError) and e.code() in (
        grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.NOT_FOUND)
