"""List+watch over the api's Watch stream into a local cache (client-go's informer, kopf's watcher).

The informer survives the api going away: it reconnects with the last resourceVersion it saw
(so nothing is missed), and relists when that revision was compacted. Every change is reported
as a key to `on_change`; consumers are level-triggered and read the cache, never the event.

Writes of this process go into the cache as soon as the api answers them (`observe`, called by
ApiClient for every informer it tracks; client-go's mutation cache): a reconcile that runs again
before the write's own event arrives would otherwise act on the state the write replaced, and its
next write would be refused as stale. The event, when it comes, is then no news and is skipped.
resourceVersions are the store's revisions, one increasing sequence, so "newer" is a comparison.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

import grpc

from services.common import kube, proto, tracing

log = logging.getLogger(__name__)


class Informer:
    """Over the api's gRPC Watch (standalone); KubeInformer below is its twin over the kube-apiserver."""

    def __init__(self, channel: grpc.aio.Channel | None, kind: proto.api.Kind, on_change: Callable[[str], None],
                 node_name: str = "", traceparents: bool = False, labels: dict | None = None):
        self.stub = proto.api_grpc.ResourcesStub(channel) if channel is not None else None
        self.kind = kind
        self.node_name = node_name
        self.labels = dict(labels or {})   # a label selector: only objects with these labels
        self.on_change = on_change
        self.cache: dict[str, object] = {}
        self.traceparent: dict[str, str] = {}
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.connected = asyncio.Event()

    def observe(self, obj) -> None:
        """The api's reply to a write of ours (an api.Object): the cache takes it unless the watch
        has already passed its revision (it then holds this version or a later one, or the object's
        deletion)."""
        res = proto.inner(obj)
        if _revision(res) <= _revision_of(self.resource_version):
            return
        if not proto.selects(obj, self.labels, self.node_name):
            return  # not for this watch's selector (its DELETED event takes it out of the cache)
        key = proto.key(res)
        if self._holds(key, res):
            return
        self.cache[key] = res
        self.traceparent[key] = tracing.kept(obj)
        self.on_change(key)

    def _holds(self, key: str, res) -> bool:
        """Whether the cache has `res` at its revision or a later one."""
        cur = self.cache.get(key)
        return cur is not None and _revision(cur) >= _revision(res)

    def get(self, key: str):
        return self.cache.get(key)

    def items(self):
        return list(self.cache.values())

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._watch_once()
                backoff = 0.1  # the server ended a healthy watch: resume at once
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                self.connected.clear()
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    log.warning("watch of %s: %s; relisting", proto.kind_name(self.kind), e.details())
                    self.resource_version = ""
                else:
                    log.debug("watch of %s broke (%s); resuming from %s", proto.kind_name(self.kind),
                              e.code().name, self.resource_version)
            except Exception as e:  # noqa: BLE001 - a broken stream (the kube client's transport): resume
                self.connected.clear()
                log.warning("watch of %s broke (%s: %s); resuming from %s", proto.kind_name(self.kind),
                            type(e).__name__, e, self.resource_version)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _watch_once(self) -> None:
        relist = self.resource_version == ""
        seen: set[str] = set()
        assert self.stub is not None, "an Informer without a channel is fed by hand, it does not watch"
        call = self.stub.Watch(proto.api.WatchRequest(
            kind=self.kind, resourceVersion=self.resource_version, nodeName=self.node_name,
            labelSelector=self.labels))
        try:
            async for ev in call:
                self.connected.set()
                if ev.type == "BOOKMARK":
                    self.resource_version = ev.resourceVersion
                    if relist:
                        relist = False
                        self._drop_unseen(seen)
                    self.synced.set()
                    continue
                self._apply(ev.type, ev.object, ev.resourceVersion, seen)
        finally:
            call.cancel()

    def _drop_unseen(self, seen: set[str]) -> None:
        """After a relist: what the list did not return is gone."""
        for gone in [k for k in self.cache if k not in seen]:
            self.cache.pop(gone)
            self.traceparent.pop(gone, None)
            self.on_change(gone)

    def _apply(self, typ: str, obj, resource_version: str, seen: set[str]) -> None:
        res = proto.inner(obj)
        key = proto.key(res)
        if typ == "DELETED":
            self.cache.pop(key, None)
            self.traceparent.pop(key, None)
        else:
            seen.add(key)
            if self._holds(key, res):
                self.resource_version = resource_version
                return  # our own write, observed already
            self.cache[key] = res
            self.traceparent[key] = tracing.kept(obj)
        self.resource_version = resource_version
        self.on_change(key)


class KubeInformer(Informer):
    """The same cache over the kube-apiserver (client-go's reflector): list, then watch from the list's
    resourceVersion with bookmarks; a watch that breaks resumes from the last version seen, and one
    answered 410 Gone (compacted) relists. Events are applied on the event loop (kube.watch_async)."""

    def __init__(self, store, kind: proto.api.Kind, on_change: Callable[[str], None], node_name: str = "",
                 traceparents: bool = False, labels: dict | None = None):
        super().__init__(None, kind, on_change, node_name, traceparents, labels)
        self.store = store

    async def _watch_once(self) -> None:
        if self.resource_version == "":
            items, rev = await asyncio.to_thread(self.store.list, self.kind, "", self.labels or None, self.node_name)
            seen: set[str] = set()
            for obj in items:
                self._apply("ADDED", obj, self.resource_version, seen)
            self._drop_unseen(seen)
            self.resource_version = str(rev)
        self.connected.set()
        self.synced.set()
        async for typ, obj, rv in kube.watch_async(self.store, self.kind, self.resource_version,
                                                   node_name=self.node_name, labels=self.labels):
            if typ == "BOOKMARK":
                self.resource_version = rv
            else:
                self._apply(typ, obj, rv, set())
        # the apiserver ended the watch: run() resumes from where we are


def _revision_of(resource_version: str) -> int:
    return int(resource_version) if resource_version.isdigit() else 0


def _revision(res) -> int:
    return _revision_of(res.metadata.resourceVersion)
