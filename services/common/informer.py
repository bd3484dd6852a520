"""List+watch over the api's Watch stream into a local cache (client-go's informer, kopf's watcher).

The informer survives the api going away: it reconnects with the last resourceVersion it saw
(so nothing is missed), and relists when that revision was compacted. Every change is reported
as a key to `on_change`; consumers are level-triggered and read the cache, never the event.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

import grpc

from services.common import proto

log = logging.getLogger(__name__)


class Informer:
    def __init__(self, channel: grpc.aio.Channel, kind: int, on_change: Callable[[str], None],
                 node_name: str = "", traceparents: bool = False):
        self.stub = proto.api_grpc.ResourcesStub(channel)
        self.kind = kind
        self.node_name = node_name
        self.on_change = on_change
        self.cache: dict[str, object] = {}
        self.traceparent: dict[str, str] = {}
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.connected = asyncio.Event()

    def get(self, key: str):
        return self.cache.get(key)

    def items(self):
        return list(self.cache.values())

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._watch_once()
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
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _watch_once(self) -> None:
        relist = self.resource_version == ""
        seen: set[str] = set()
        call = self.stub.Watch(proto.api.WatchRequest(
            kind=self.kind, resourceVersion=self.resource_version, nodeName=self.node_name))
        try:
            async for ev in call:
                self.connected.set()
                if ev.type == "BOOKMARK":
                    self.resource_version = ev.resourceVersion
                    if relist:
                        relist = False
                        for gone in [k for k in self.cache if k not in seen]:
                            self.cache.pop(gone)
                            self.on_change(gone)
                    self.synced.set()
                    continue
                res = proto.inner(ev.object)
                key = proto.key(res)
                if ev.type == "DELETED":
                    self.cache.pop(key, None)
                    self.traceparent.pop(key, None)
                else:
                    self.cache[key] = res
                    self.traceparent[key] = ev.object.traceparent
                    seen.add(key)
                self.resource_version = ev.resourceVersion
                self.on_change(key)
        finally:
            call.cancel()
