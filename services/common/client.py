"""The store as controller and handler see it (the CLI uses the sync stubs): `ApiClient` over the api's
gRPC door (standalone), `KubeApiClient` over the kube-apiserver (cluster mode). Both take and return the
same messages, raise the same gRPC status errors, and make the informers that fit them; a service's
`__main__` picks one (`connect`), and nothing past it knows which."""
from __future__ import annotations

import asyncio
import concurrent.futures

import grpc

from services.common import grpcclient, informer, kube, proto

TIMEOUT = 10.0


def connect(api_target: str, kubeconfig: str | None, component: str):
    return KubeApiClient(kubeconfig, component) if kubeconfig else ApiClient(api_target)


class ApiClient:
    def __init__(self, target: str):
        self.channel = grpcclient.aio_channel(target, metrics=True)
        self.resources = proto.api_grpc.ResourcesStub(self.channel)
        self.informers: dict[proto.api.Kind, informer.Informer] = {}   # kind -> the Informer our writes go into at once

    def informer(self, kind: proto.api.Kind, on_change, node_name: str = "",
                 labels: dict | None = None) -> informer.Informer:
        return informer.Informer(self.channel, kind, on_change, node_name=node_name, labels=labels)

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

    async def get(self, kind: proto.api.Kind, namespace: str, name: str):
        obj = await self.resources.Get(proto.api.GetRequest(ref=proto.ref(kind, namespace, name)),
                                       timeout=TIMEOUT)
        return proto.inner(obj)

    async def get_or_none(self, kind: proto.api.Kind, namespace: str, name: str):
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

    async def update_with_status(self, resource, traceparent: str = ""):
        """Metadata, spec and status: one write where the kind has no status subresource (KubeVirt's VMI),
        else two (metadata+spec first)."""
        if not proto.KINDS[proto.KIND_BY_NAME[resource.DESCRIPTOR.name]].status_subresource:
            obj = await self.resources.Update(
                proto.api.UpdateRequest(object=proto.wrap(resource, traceparent), withStatus=True), timeout=TIMEOUT)
            return self._written(obj)
        written = await self.update(resource, traceparent)
        out = proto.copy(resource)
        out.metadata.CopyFrom(written.metadata)
        return await self.update_status(out, traceparent)

    async def delete(self, kind: proto.api.Kind, namespace: str, name: str, uid: str = ""):
        """Delete; a missing object (or one replaced by a new uid) is not an error."""
        try:
            obj = await self.resources.Delete(
                proto.api.DeleteRequest(ref=proto.ref(kind, namespace, name), uid=uid), timeout=TIMEOUT)
            return proto.inner(obj)
        except grpc.aio.AioRpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
                return None
            raise

    async def list(self, kind: proto.api.Kind, namespace: str = "", node_name: str = ""):
        out = await self.resources.List(
            proto.api.ListRequest(kind=kind, namespace=namespace, nodeName=node_name), timeout=TIMEOUT)
        return [proto.inner(o) for o in out.items]


class KubeApiClient(ApiClient):
    """ApiClient's twin over the kube-apiserver (services/common/kube.py); the blocking client runs in
    threads of its own so the event loop never waits on the network, and a write never queues behind
    other blocking work (the default executor has cores + 4 threads; a burst keeps 16 workers busy)."""

    THREADS = 16

    def __init__(self, kubeconfig: str, component: str):
        self.kube = kube.Kube(kube.api_client(kubeconfig, component, pool=self.THREADS))
        self.informers = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(self.THREADS, thread_name_prefix="kube")

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def informer(self, kind: proto.api.Kind, on_change, node_name: str = "",
                 labels: dict | None = None) -> informer.KubeInformer:
        return informer.KubeInformer(self.kube, kind, on_change, node_name=node_name, labels=labels)

    async def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.kube.close()

    async def create(self, resource, traceparent: str = ""):
        return self._written(await self._call(self.kube.create, proto.wrap(resource, traceparent)))

    async def get(self, kind: proto.api.Kind, namespace: str, name: str):
        return proto.inner(await self._call(self.kube.get, kind, namespace, name))

    async def update(self, resource, traceparent: str = ""):
        return self._written(await self._call(self.kube.update, proto.wrap(resource, traceparent)))

    async def update_status(self, resource, traceparent: str = ""):
        obj = await self._call(self.kube.update, proto.wrap(resource, traceparent), None, True)
        return self._written(obj)

    async def update_with_status(self, resource, traceparent: str = ""):
        """One write where the kind has no status subresource (KubeVirt's VMI): the object carries all."""
        if proto.KINDS[proto.KIND_BY_NAME[resource.DESCRIPTOR.name]].status_subresource:
            return await super().update_with_status(resource, traceparent)
        return await self.update(resource, traceparent)

    async def delete(self, kind: proto.api.Kind, namespace: str, name: str, uid: str = ""):
        res = proto.message_class(kind)()
        res.metadata.namespace, res.metadata.name, res.metadata.uid = namespace, name, uid
        try:
            return proto.inner(await self._call(self.kube.delete, proto.wrap(res)))
        except grpc.aio.AioRpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
                return None
            raise

    async def list(self, kind: proto.api.Kind, namespace: str = "", node_name: str = ""):
        items, _ = await self._call(self.kube.list, kind, namespace, None, node_name)
        return [proto.inner(o) for o in items]

