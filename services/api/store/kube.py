"""The api's store in cluster mode: the kube-apiserver (services/common/kube.py), with the SQLite
store's interface so `Resources` and the subresources work on either. Kubernetes itself does what the
SQLite store does by hand: revisions, graceful deletion with finalizers, the watch history."""
from __future__ import annotations

import asyncio
import functools
import threading

import grpc

from services.api.store.sqlite import AlreadyExists, Conflict, Gone, NotFound
from services.common import kube

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


class KubeStore(kube.Kube):
    get = _store_errors(kube.Kube.get)
    list = _store_errors(kube.Kube.list)
    create = _store_errors(kube.Kube.create)
    update = _store_errors(kube.Kube.update)
    delete = _store_errors(kube.Kube.delete)

    async def watch(self, kind: int, namespace: str, resource_version: str, node_name: str = ""):
        """The SQLite store's watch contract over a Kubernetes watch: objects as ADDED first when
        `resource_version` is "" (a list), then a BOOKMARK, then the apiserver's events."""
        if resource_version in ("", "0"):
            items, rev = await asyncio.to_thread(self.list, kind, namespace, None, node_name)
            for o in items:
                yield "ADDED", o, kube.proto.inner(o).metadata.resourceVersion
            resource_version = str(rev)
        yield "BOOKMARK", None, resource_version
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def hand(item) -> None:
            if not stop.is_set():  # the stream is gone (its loop may be closed): nobody listens
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                except RuntimeError:  # the loop closed in between
                    stop.set()

        def pump(rv: str):
            try:
                while not stop.is_set():
                    for ev in self.watch_events(kind, rv, namespace, node_name, stop):
                        rv = ev[2] or rv
                        hand(ev)
            except BaseException as e:  # noqa: BLE001 - handed to the stream
                hand(e)

        threading.Thread(target=pump, args=(resource_version,), daemon=True, name="api-watch").start()
        try:
            while True:
                ev = await queue.get()
                if isinstance(ev, BaseException):
                    raise ev
                yield ev
        finally:
            stop.set()
