"""Cluster mode's store: the kube-apiserver, through the official `kubernetes` client.

`Kube` reads and writes the mesh's proto messages (api.Object) as Kubernetes objects: our CRDs for
KubeVirt's kinds, core/v1 Nodes and PVCs (proto.KINDS says which). It is the twin of the api's gRPC
door: the same messages in and out, and the same errors — a Kubernetes failure becomes the gRPC status
the api would have answered (409 on a write: ABORTED, our stale write; 404: NOT_FOUND; 410: OUT_OF_RANGE),
so callers (ApiClient's users, the CLI) handle one vocabulary.

Transport is the official client's (kubeconfig loading, TLS, auth, connection pool) through its public
`param_serialize` / `call_api`; JSON is mapped to our messages here. The typed methods
(CustomObjectsApi, CoreV1Api) validate arguments with pydantic and build model objects for core kinds,
which we would only turn back into dicts.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from typing import Iterator

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

from services.common import manifest, proto, tracing

log = logging.getLogger(__name__)

TRACEPARENT_ANNOTATION = "virtmesh.io/traceparent"   # the standalone store keeps it beside the object
TRACESTATE_ANNOTATION = "virtmesh.io/tracestate"     # its W3C tracestate, when it has one
TIMEOUT = 10.0
WATCH_SECONDS = 300                                    # the apiserver ends a watch after this; we resume

_CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
          403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND,
          409: grpc.StatusCode.ABORTED, 410: grpc.StatusCode.OUT_OF_RANGE,
          422: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED}


def error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def _error_of(status: int, body: bytes) -> grpc.aio.AioRpcError:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    message = doc.get("message") or body.decode(errors="replace")[:500] or f"HTTP {status}"
    code = _CODES.get(status, grpc.StatusCode.UNAVAILABLE if status >= 500 else grpc.StatusCode.UNKNOWN)
    if status == 409 and doc.get("reason") == "AlreadyExists":
        code = grpc.StatusCode.ALREADY_EXISTS
    return error(code, message)


# `--kubeconfig in-cluster`: a pod's own service account (its token and the cluster's CA, mounted by the
# kubelet), as KubeVirt's components talk to their cluster.
IN_CLUSTER = "in-cluster"


def api_client(kubeconfig: str | None = None, component: str = "cli", pool: int = 0):
    """An official client for `kubeconfig` (or $KUBECONFIG, or the in-cluster service account, also
    when `kubeconfig` is IN_CLUSTER), with
    `pool` connections if given, that names its component in the User-Agent (`virtmesh-controller/0.1.0`),
    as KubeVirt's components do:
    the apiserver's audit log and metrics then tell who wrote what."""
    from kubernetes import client, config
    cfg = client.Configuration()
    if pool:
        cfg.connection_pool_maxsize = pool   # as many connections as threads calling at once
    if kubeconfig == IN_CLUSTER:
        config.load_incluster_config(client_configuration=cfg)
    elif kubeconfig or not _in_cluster():
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    else:
        config.load_incluster_config(client_configuration=cfg)
    out = client.ApiClient(cfg)
    out.user_agent = f"virtmesh-{component}/{_version()}"
    return out


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("virtmesh")
    except metadata.PackageNotFoundError:
        return "dev"


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG")


# ---------------------------------------------------------------------- JSON <-> messages

def to_object(kind: proto.api.Kind, doc: dict) -> proto.api.Object:
    """A Kubernetes object -> api.Object. Fields outside our schema (managedFields, a Node's taints…)
    are not ours to read; the trace-context annotations become the Object's traceparent and tracestate."""
    res = proto.message_class(kind)()
    json_format.ParseDict(doc, res, ignore_unknown_fields=True)
    ann = res.metadata.annotations
    return proto.wrap(res, tracing.context(ann.get(TRACEPARENT_ANNOTATION, ""), ann.get(TRACESTATE_ANNOTATION, "")))


_INT64 = {FD.TYPE_INT64, FD.TYPE_UINT64, FD.TYPE_SINT64, FD.TYPE_FIXED64, FD.TYPE_SFIXED64}


def _numbers(doc: dict, desc) -> dict:
    """proto3 JSON prints 64-bit integers as strings; Kubernetes (and our CRD schema) wants numbers."""
    for field in desc.fields:
        value = doc.get(field.json_name)
        if value is None:
            continue
        if field.type in _INT64:
            doc[field.json_name] = [int(v) for v in value] if field.is_repeated else int(value)
        elif field.type == FD.TYPE_MESSAGE and field.message_type.full_name in (manifest.STRUCT,
                                                                                 manifest.INT_OR_STRING):
            manifest.integral_numbers(doc, desc)   # free-form JSON: its whole numbers as integers
        elif field.type == FD.TYPE_MESSAGE and not field.message_type.GetOptions().map_entry:
            for item in (value if field.is_repeated else [value]):
                _numbers(item, field.message_type)
    return doc


def to_doc(obj: proto.api.Object) -> dict:
    res = proto.inner(obj)
    info = proto.KINDS[proto.kind_of(obj)]
    doc = _numbers(json_format.MessageToDict(res), res.DESCRIPTOR)
    doc["apiVersion"], doc["kind"] = info.api_version, info.kind
    _annotate_trace_context(doc.setdefault("metadata", {}), obj)
    return doc


def _annotate_trace_context(metadata: dict, obj: proto.api.Object) -> None:
    """The Object's trace context as annotations; a tracestate belongs to its traceparent, so a new
    traceparent without one drops the one kept before."""
    if not obj.traceparent:
        return
    annotations = metadata.setdefault("annotations", {})
    annotations[TRACEPARENT_ANNOTATION] = obj.traceparent
    if obj.tracestate:
        annotations[TRACESTATE_ANNOTATION] = obj.tracestate
    else:
        annotations.pop(TRACESTATE_ANNOTATION, None)


def overlay(doc: dict, msg) -> dict:
    """Write the fields our message models onto a Kubernetes object, keeping every other field.
    For Kubernetes' own kinds (Node, PVC), whose objects hold more than our subset: a plain replace
    would drop a Node's taints or a PVC's volumeName."""
    printed: dict | None = None  # msg as Kubernetes JSON, made once when a field needs copying

    def json_of(name: str):
        nonlocal printed
        if printed is None:
            printed = _numbers(json_format.MessageToDict(msg), msg.DESCRIPTOR)
        return printed[name]

    for field in msg.DESCRIPTOR.fields:
        name = field.json_name
        value = getattr(msg, field.name)
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map or field.is_repeated:
            if len(value) == 0:
                doc.pop(name, None)
            else:
                doc[name] = json_of(name)
        elif field.type == FD.TYPE_MESSAGE:
            if msg.HasField(field.name):
                sub = doc.get(name)
                doc[name] = overlay(sub if isinstance(sub, dict) else {}, value)
            else:
                doc.pop(name, None)
        elif field.has_presence and not msg.HasField(field.name):
            doc.pop(name, None)
        elif not field.has_presence and value == field.default_value:
            doc.pop(name, None)
        else:
            doc[name] = json_of(name)
    return doc


# ---------------------------------------------------------------------- the store

class Kube:
    """Synchronous CRUD + watch on the kube-apiserver (thread-safe: the client pools connections).
    Its read/write methods mirror the standalone store's (services/api/store/sqlite.py)."""

    def __init__(self, client):
        self.client = client

    def close(self) -> None:
        self.client.close()

    # -------------------------------------------------------------- HTTP

    @staticmethod
    def path(kind: proto.api.Kind, namespace: str = "", name: str = "", sub: str = "") -> str:
        info = proto.KINDS[kind]
        base = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
        if info.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        out = f"{base}/{info.plural}"
        if name:
            out += f"/{name}"
        if sub:
            out += f"/{sub}"
        return out

    def request(self, method: str, path: str, query: dict | None = None, body=None,
                 content_type: str = "application/json", stream: bool = False, timeout=TIMEOUT):
        headers = {"Accept": "application/json", "Content-Type": content_type}
        params = self.client.param_serialize(method, path, query_params=list((query or {}).items()),
                                             header_params=headers, auth_settings=["BearerToken"])
        _, url, headers, _, _ = params
        try:  # the client serialises `body` (JSON content types)
            resp = self.client.call_api(method, url, headers, body, _request_timeout=timeout)
        except Exception as e:  # noqa: BLE001 - urllib3: connection refused, TLS, timeout
            raise error(grpc.StatusCode.UNAVAILABLE, f"kube-apiserver: {e}") from None
        if stream and 200 <= resp.status < 300:
            return resp.response
        raw = resp.read()
        if not 200 <= resp.status < 300:
            raise _error_of(resp.status, raw)
        return json.loads(raw) if raw else {}

    def apply(self, path: str, doc: dict, field_manager: str = "virtmesh") -> dict:
        """Server-side apply of `doc` at `path` (creates or updates, our fields win)."""
        return self.request("PATCH", path, {"fieldManager": field_manager, "force": "true"}, doc,
                            content_type="application/apply-patch+yaml")

    # -------------------------------------------------------------- reads

    def get(self, kind: proto.api.Kind, namespace: str, name: str) -> proto.api.Object:
        return to_object(kind, self.request("GET", self.path(kind, namespace, name)))

    def get_raw(self, kind: proto.api.Kind, namespace: str, name: str) -> dict:
        return self.request("GET", self.path(kind, namespace, name))

    def list(self, kind: proto.api.Kind, namespace: str = "", label_selector: dict | None = None,
             node_name: str = "") -> tuple[list[proto.api.Object], int]:
        query = _selectors(kind, label_selector, node_name)
        doc = self.request("GET", self.path(kind, namespace), query)
        items = [to_object(kind, d) for d in doc.get("items") or ()]
        return items, int(doc["metadata"]["resourceVersion"])

    # -------------------------------------------------------------- writes

    def create(self, obj: proto.api.Object) -> proto.api.Object:
        kind = proto.kind_of(obj)
        md = proto.inner(obj).metadata
        doc = to_doc(obj)
        doc["metadata"].pop("resourceVersion", None)
        return to_object(kind, self.request("POST", self.path(kind, md.namespace), body=doc))

    def update(self, obj: proto.api.Object, expect_revision: str | None = None,
               status: bool = False) -> proto.api.Object:
        """Replace the object (or its status) if it is still at `expect_revision` (the message's own
        resourceVersion when None). Kubernetes' own kinds keep the fields we do not model."""
        kind = proto.kind_of(obj)
        info = proto.KINDS[kind]
        res = proto.inner(obj)
        md = res.metadata
        if info.ours:
            doc = to_doc(obj)
        else:
            doc = overlay(self.get_raw(kind, md.namespace, md.name), res)
            _annotate_trace_context(doc["metadata"], obj)
        doc["metadata"]["resourceVersion"] = expect_revision or md.resourceVersion
        if not doc["metadata"]["resourceVersion"]:
            doc["metadata"].pop("resourceVersion")
        sub = "status" if status and info.status_subresource else ""
        return to_object(kind, self.request("PUT", self.path(kind, md.namespace, md.name, sub), body=doc))

    def delete(self, obj: proto.api.Object, expect_revision: str | None = None) -> proto.api.Object:
        """Delete (gracefully: an object with finalizers gets its deletionTimestamp and stays until they
        are gone, as Kubernetes does). The answer is the object as the deletion left it."""
        kind = proto.kind_of(obj)
        md = proto.inner(obj).metadata
        pre = {}
        if md.uid:
            pre["uid"] = md.uid
        if expect_revision:
            pre["resourceVersion"] = expect_revision
        body: dict[str, object] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if pre:
            body["preconditions"] = pre
        out = self.request("DELETE", self.path(kind, md.namespace, md.name), body=body)
        if out.get("kind") == "Status":  # the object is gone; Kubernetes answered with a Status
            return obj
        return to_object(kind, out)

    def patch_merge(self, kind: proto.api.Kind, namespace: str, name: str, patch: dict,
                    status: bool = False) -> proto.api.Object:
        sub = "status" if status and proto.KINDS[kind].status_subresource else ""
        return to_object(kind, self.request("PATCH", self.path(kind, namespace, name, sub), body=patch,
                                             content_type="application/merge-patch+json"))

    # -------------------------------------------------------------- watch

    def watch_events(self, kind: proto.api.Kind, resource_version: str, namespace: str = "", node_name: str = "",
                     stop: threading.Event | None = None, labels: dict | None = None,
                     ) -> Iterator[tuple[str, proto.api.Object | None, str]]:
        """(type, object, resourceVersion) from `resource_version` on, BOOKMARKs included (object None),
        until the apiserver ends the watch. A compacted revision raises OUT_OF_RANGE (410 Gone)."""
        query = _selectors(kind, labels, node_name)
        query.update(watch="true", allowWatchBookmarks="true", resourceVersion=resource_version,
                     timeoutSeconds=str(WATCH_SECONDS))
        resp = self.request("GET", self.path(kind, namespace), query, stream=True,
                             timeout=(TIMEOUT, WATCH_SECONDS + 30))
        try:
            for line in _lines(resp):
                ev = json.loads(line)
                typ, doc = ev["type"], ev["object"]
                if typ == "ERROR":
                    raise _error_of(int(doc.get("code") or 500), json.dumps(doc).encode())
                rv = doc.get("metadata", {}).get("resourceVersion", "")
                if typ == "BOOKMARK":
                    yield typ, None, rv
                else:
                    yield typ, to_object(kind, doc), rv
                if stop is not None and stop.is_set():
                    return
        finally:
            resp.release_conn()


async def watch_async(store: Kube, kind: proto.api.Kind, resource_version: str, namespace: str = "",
                      node_name: str = "", labels: dict | None = None):
    """`store.watch_events` as an async generator, until the apiserver ends the watch: the blocking
    stream runs in a thread of its own and hands each event to the event loop; an error (410 Gone
    included) is raised here. Closing the generator lets the thread go at its next event."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def hand(item) -> None:
        if not stop.is_set():  # once the consumer stopped (its loop may be closed), nobody listens
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop closed in between
                stop.set()

    def pump() -> None:
        try:
            for ev in store.watch_events(kind, resource_version, namespace, node_name, stop, labels):
                hand(ev)
            hand(None)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which decides
            hand(e)

    threading.Thread(target=pump, daemon=True, name=f"watch-{proto.kind_name(kind)}").start()
    try:
        while (ev := await queue.get()) is not None:
            if isinstance(ev, BaseException):
                raise ev
            yield ev
    finally:
        stop.set()


def _selectors(kind: proto.api.Kind, labels: dict | None, node_name: str) -> dict:
    query = {}
    if labels:
        query["labelSelector"] = ",".join(f"{k}={v}" for k, v in labels.items())
    if node_name and kind == proto.VMI:
        # A selectable field of our VMI CRD (KINDS, deploy/crds), as a Pod's spec.nodeName is for the kubelet.
        assert "status.nodeName" in proto.KINDS[kind].selectable_fields
        query["fieldSelector"] = f"status.nodeName={node_name}"
    return query


def _lines(resp) -> Iterator[bytes]:
    """Newline-delimited JSON from a chunked response, as the chunks arrive."""
    pending = b""
    for chunk in resp.stream(65536, decode_content=True):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending
