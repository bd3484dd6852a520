"""The api's store in cluster mode: the kube-apiserver (services/common/kube.py), with the SQLite
store's interface so `Resources` and the subresources work on either. Kubernetes itself does what the
SQLite store does by hand: revisions, graceful deletion with finalizers, the watch history."""
from __future__ import annotations

import asyncio
import functools
import threading
import time

import grpc

from services.api.store.sqlite import AlreadyExists, Conflict, Gone, NotFound
from services.common import kube, proto

# Kubernetes' answers as the store's own errors, which the api maps to status codes in one table.
_ERRORS = {grpc.StatusCode.NOT_FOUND: NotFound, grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
           grpc.StatusCode.ABORTED: Conflict, grpc.StatusCode.OUT_OF_RANGE: Gone}


def _store_errors(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except grpc.aio.AioRpcError as e:
            cls = _ERRORS.get(e.code())
            if cls is None:
                raise
            raise cls(e.details()) from None
    return wrapper


class _Reflector:
    """One kind listed and watched into a dict by a thread of its own (client-go's reflector): the
    admission webhooks read every Node for machine limits on each create; a round trip to the
    apiserver for that cost ~60 ms per webhook call (bench/controlplane.py), the cache nothing."""

    def __init__(self, store: kube.Kube, kind: proto.api.Kind):
        self.store, self.kind = store, kind
        self.items: dict[str, kube.proto.api.Object] = {}
        self.resource_version = ""
        self.synced = threading.Event()
        threading.Thread(target=self._run, daemon=True, name=f"reflector-{kind}").start()

    def _run(self) -> None:
        while True:
            try:
                if not self.resource_version:
                    items, rev = kube.Kube.list(self.store, self.kind)
                    self.items = {kube.proto.key(kube.proto.inner(o)): o for o in items}
                    self.resource_version = str(rev)
                    self.synced.set()
                for typ, obj, rv in self.store.watch_events(self.kind, self.resource_version):
                    if obj is not None:
                        key = kube.proto.key(kube.proto.inner(obj))
                        if typ == "DELETED":
                            self.items.pop(key, None)
                        else:
                            self.items[key] = obj
                    self.resource_version = rv or self.resource_version
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    self.resource_version = ""  # compacted: relist
                time.sleep(0.5)
            except Exception:  # noqa: BLE001 - a broken stream: resume from the last version
                time.sleep(0.5)

    def list(self) -> tuple[list, int]:
        return list(self.items.values()), int(self.resource_version or 0)


class KubeStore(kube.Kube):
    CACHED = (kube.proto.NODE,)   # read often, changed rarely: served from a watch cache

    def __init__(self, client):
        super().__init__(client)
        self._reflectors: dict[int, _Reflector] = {}
        self._lock = threading.Lock()

    get = _store_errors(kube.Kube.get)

    @_store_errors
    def list(self, kind: proto.api.Kind, namespace: str = "", label_selector: dict | None = None, node_name: str = ""):
        if kind not in self.CACHED or namespace or label_selector or node_name:
            return kube.Kube.list(self, kind, namespace, label_selector, node_name)
        with self._lock:
            reflector = self._reflectors.get(kind) or self._reflectors.setdefault(kind, _Reflector(self, kind))
        if not reflector.synced.wait(kube.TIMEOUT):
            raise kube.error(grpc.StatusCode.UNAVAILABLE, "kube-apiserver: the Node cache did not sync")
        return reflector.list()

    create = _store_errors(kube.Kube.create)
    update = _store_errors(kube.Kube.update)
    delete = _store_errors(kube.Kube.delete)

    async def watch(self, kind: proto.api.Kind, namespace: str, resource_version: str, node_name: str = "",
                    labels: dict | None = None):
        """The SQLite store's watch contract over a Kubernetes watch: objects as ADDED first when
        `resource_version` is "" (a list), then a BOOKMARK, then the apiserver's events."""
        if resource_version in ("", "0"):
            items, rev = await asyncio.to_thread(self.list, kind, namespace, labels or None, node_name)
            for o in items:
                yield "ADDED", o, kube.proto.inner(o).metadata.resourceVersion
            resource_version = str(rev)
        yield "BOOKMARK", None, resource_version
        while True:  # the apiserver ends a watch every few minutes: resume from the last version
            async for typ, obj, rv in kube.watch_async(self, kind, resource_version, namespace, node_name, labels):
                resource_version = rv or resource_version
                yield typ, obj, rv
