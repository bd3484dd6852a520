"""virt-launcher pods (cluster mode with `--launcher-pods`): the facts the controller writes on a
launcher Pod and the handler reads back, defined once, and a list+watch cache of Pods.

Pods are not a kind of the store (proto.KINDS): the standalone store has no Pods, and a Pod's
schema (containers, volumes, resources, affinity) would be a large message used by cluster-only
code. The controller and handler read and write them as JSON through the same `kube.Kube` the
store uses (its transport, errors and watch stream), here.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from typing import Callable

import grpc

from services.common import kube, names

log = logging.getLogger(__name__)

# KubeVirt's labels and annotations on a launcher pod (pkg/virt-controller/services/template.go).
APP_LABEL = names.APP_LABEL
LAUNCHER_APP = "virt-launcher"
VM_NAME_LABEL = "vm.kubevirt.io/name"                # deprecated name label, still set
DOMAIN_ANNOTATION = "kubevirt.io/domain"             # the VMI's name
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
MIGRATION_TRANSPORT_ANNOTATION = "kubevirt.io/migrationTransportUnix"
MEMORY_OVERHEAD_ANNOTATION = "kubevirt.io/memory-overhead-bytes"
COMPUTE_CONTAINER = "compute"

# Where the launcher listens: an emptyDir of the pod, as KubeVirt's launcher-sock. The handler
# reaches it through the kubelet's pod directory (KubeVirt's virt-handler mounts
# /var/lib/kubelet/pods at /pods: a short prefix keeps the socket under the 108-byte limit).
SOCKETS_VOLUME = "sockets"
SOCKETS_MOUNT = "/var/run/kubevirt/sockets"
SOCKET_NAME = "launcher-sock"
DEFAULT_PODS_DIR = "/pods"
KUBELET_PODS_DIR = "/var/lib/kubelet/pods"
EMPTY_DIR_PLUGIN = "kubernetes.io~empty-dir"

PODS_PATH = "/api/v1/pods"


def selector() -> str:
    return f"{APP_LABEL}={LAUNCHER_APP}"


def vmi_uid(pod: dict) -> str:
    return pod.get("metadata", {}).get("labels", {}).get(names.CREATED_BY_LABEL, "")


def empty_dir(pods_dir: str, pod_uid: str, volume: str) -> str:
    """The host directory of a pod's emptyDir volume, as the kubelet lays it out."""
    return os.path.join(pods_dir, pod_uid, "volumes", EMPTY_DIR_PLUGIN, volume)


def socket_path(pods_dir: str, pod: dict) -> str:
    return os.path.join(empty_dir(pods_dir, pod["metadata"]["uid"], SOCKETS_VOLUME), SOCKET_NAME)


def finished(pod: dict) -> bool:
    """The pod's containers have ended (restartPolicy Never: for good)."""
    return pod.get("status", {}).get("phase") in ("Succeeded", "Failed")


def node_of(pod: dict) -> str:
    return pod.get("spec", {}).get("nodeName", "")


def pods_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/pods" + (f"/{name}" if name else "")


class PodCache:
    """List+watch of launcher pods (all of them, or one node's) into a cache keyed by VMI uid; every
    change calls `on_change(vmi_uid, pod)`. A broken watch resumes from the last resourceVersion, a 410
    Gone relists (client-go's reflector, as services/common/informer.py's KubeInformer)."""

    def __init__(self, store: kube.Kube, on_change: Callable[[str, dict], None], node_name: str = ""):
        self.store = store
        self.on_change = on_change
        self.node_name = node_name
        self.by_vmi: dict[str, dict] = {}
        self.synced = asyncio.Event()
        self.resource_version = ""

    def query(self) -> dict:
        q = {"labelSelector": selector()}
        if self.node_name:
            q["fieldSelector"] = f"spec.nodeName={self.node_name}"
        return q

    def get(self, uid: str) -> dict | None:
        return self.by_vmi.get(uid)

    def observe(self, pod: dict) -> None:
        """Our own write's answer, before its event arrives."""
        self._apply("MODIFIED", pod)

    def _apply(self, typ: str, pod: dict) -> None:
        uid = vmi_uid(pod)
        if not uid:
            return
        cur = self.by_vmi.get(uid)
        if cur is not None and cur["metadata"]["uid"] != pod["metadata"]["uid"] and typ == "DELETED":
            return  # an older pod of this VMI went; the cache holds its successor
        if cur is not None and cur["metadata"]["uid"] == pod["metadata"]["uid"] and \
                int(cur["metadata"].get("resourceVersion", 0)) > int(pod["metadata"].get("resourceVersion", 0)):
            return
        if typ == "DELETED":
            self.by_vmi.pop(uid, None)
        else:
            self.by_vmi[uid] = pod
        self.on_change(uid, pod)

    async def run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._once()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                if e.code() == grpc.StatusCode.OUT_OF_RANGE:
                    self.resource_version = ""
                log.debug("launcher pod watch: %s; again in %.1fs", e.details(), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _once(self) -> None:
        if not self.resource_version:
            doc = await asyncio.to_thread(self.store.request, "GET", PODS_PATH, self.query())
            seen = set()
            for pod in doc.get("items") or ():
                pod.setdefault("kind", "Pod")
                seen.add(vmi_uid(pod))
                self._apply("ADDED", pod)
            for uid in [u for u in self.by_vmi if u not in seen]:
                self.on_change(uid, self.by_vmi.pop(uid))
            self.resource_version = doc["metadata"]["resourceVersion"]
        self.synced.set()
        async for typ, pod in _watch(self.store, {**self.query(), "resourceVersion": self.resource_version}):
            self.resource_version = pod.get("metadata", {}).get("resourceVersion", self.resource_version)
            if typ != "BOOKMARK":
                self._apply(typ, pod)


async def _watch(store: kube.Kube, query: dict):
    """Pod watch events as (type, object) on the event loop; the blocking stream runs in a thread of
    its own (a watch holds it for minutes: not the loop's default executor)."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def hand(item) -> None:
        if not stop.is_set():
            try:
                loop.call_soon_threadsafe(q.put_nowait, item)
            except RuntimeError:  # the loop closed
                stop.set()

    def pump():
        try:
            resp = store.request("GET", PODS_PATH, {**query, "watch": "true", "allowWatchBookmarks": "true",
                                                    "timeoutSeconds": str(kube.WATCH_SECONDS)},
                                 stream=True, timeout=(kube.TIMEOUT, kube.WATCH_SECONDS + 30))
            try:
                for line in kube._lines(resp):
                    ev = json.loads(line)
                    if ev["type"] == "ERROR":
                        raise kube._error_of(int(ev["object"].get("code") or 500), json.dumps(ev["object"]).encode())
                    hand((ev["type"], ev["object"]))
                    if stop.is_set():
                        return
            finally:
                resp.release_conn()
            hand(None)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which decides
            hand(e)

    threading.Thread(target=pump, daemon=True, name="watch-pods").start()
    try:
        while (item := await q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
