"""Who may call what on a mesh server.

A caller is known by how it came in: over TCP by its client certificate (meshtls: CN the user, O the
groups, as Kubernetes reads them), over a unix socket by the socket's permissions (the kernel let it
connect: root, or a member of the socket's group). Reads are Get/List/Watch and health; everything
else changes something — consoles too, as in KubeVirt, where they need more than `view`.

A policy answers a refusal message or None; grpcserver applies it to every method it serves.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

import grpc

from services.common import meshtls, names, proto

log = logging.getLogger(__name__)

READ_METHODS = frozenset({
    "/virtmesh.v1.Resources/Get", "/virtmesh.v1.Resources/List", "/virtmesh.v1.Resources/Watch",
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
})
HEALTH_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
WRITERS = frozenset({meshtls.ADMINS_GROUP, meshtls.SERVICES_GROUP})
READERS = WRITERS | {meshtls.VIEWERS_GROUP}


@dataclass(frozen=True)
class Caller:
    user: str
    groups: tuple[str, ...]
    certified: bool   # came in over TLS with a client certificate (else: a unix socket)

    @property
    def is_service(self) -> bool:
        return self.certified and meshtls.SERVICES_GROUP in self.groups

    def describe(self) -> str:
        if not self.certified:
            return "a unix-socket caller"
        groups = ", ".join(self.groups) or "no groups"
        return f'user "{self.user}" ({groups})'


UNIX = Caller("", (), False)


def caller_of(context) -> Caller:
    auth = context.auth_context()
    pem = auth.get("x509_pem_cert")
    if auth.get("transport_security_type") == [b"ssl"] and pem:
        user, groups = meshtls.subject_of(pem[0])
        return Caller(user, groups, True)
    return UNIX


# (caller, full method name, request — a client stream's first message) -> refusal or None; may be
# a coroutine function (a SubjectAccessReview asks the kube-apiserver).
Policy = Callable[[Caller, str, object], Optional[str] | Awaitable[Optional[str]]]


def _short(method: str) -> str:
    return method.rsplit(".", 1)[-1]  # "/virtmesh.v1.Resources/Create" -> "Resources/Create"


def mesh_policy(unix_reads_only: bool = False) -> Policy:
    """The api's: unix-socket callers may do anything (the socket's mode decided who they are),
    unless this is a read-only socket; certificate holders in the admins' or services' group may do
    anything, viewers read, anybody else with a mesh certificate only checks health."""

    def decide(caller: Caller, method: str, request=None) -> Optional[str]:
        if method in HEALTH_METHODS:
            return None
        if not caller.certified:
            if unix_reads_only and method not in READ_METHODS:
                return f"{_short(method)} changes the mesh: this socket only reads"
            if unix_reads_only and _secret_read(method, request):
                return "this socket only reads, and not Secrets (Kubernetes' view role does not read them either)"
            return None
        groups = set(caller.groups)
        if groups & WRITERS:
            return None
        if method in READ_METHODS and groups & READERS:
            if _secret_read(method, request):
                return f"{caller.describe()} may not read Secrets: it needs the group \"{meshtls.ADMINS_GROUP}\" " \
                       "(Kubernetes' view role does not read them either)"
            return None
        need = f'the group "{meshtls.ADMINS_GROUP}"' if method not in READ_METHODS else \
            f'the group "{meshtls.ADMINS_GROUP}" or "{meshtls.VIEWERS_GROUP}"'
        return f"{caller.describe()} may not call {_short(method)}: it needs {need}"
    return decide


def _secret_read(method: str, request) -> bool:
    """A Get, List or Watch of Secrets: what a viewer may not do."""
    if method not in READ_METHODS or method in HEALTH_METHODS:
        return False
    ref = getattr(request, "ref", None)   # a Get names its object by reference
    return (ref.kind if ref is not None else getattr(request, "kind", None)) == proto.SECRET


def services_only(caller: Caller, method: str, request=None) -> Optional[str]:
    """A handler's: over TCP only the mesh's services (the api proxying a console or a pause)."""
    if method in HEALTH_METHODS or not caller.certified or caller.is_service:
        return None
    return f'{caller.describe()} may not call {_short(method)}: only the mesh\'s services may ' \
           f'(group "{meshtls.SERVICES_GROUP}")'


# ---------------------------------------------------------------------------- cluster mode

_RESOURCE_VERBS = {"Get": "get", "List": "list", "Watch": "watch", "Create": "create", "Update": "update",
                   "UpdateStatus": "update", "Delete": "delete"}
STREAM_CALLS = frozenset({"Console", "PortForward", "VNC"})
REVIEW_TTL = 10.0  # seconds a decision is reused (a burst of calls asks once)


def resource_attributes(method: str, request) -> dict | None:
    """What a call does in Kubernetes' terms (a SubjectAccessReview's resourceAttributes): the
    Resources calls are the verbs on our kinds, the Subresources calls KubeVirt's subresources
    (`update` on virtualmachines/start, virtualmachineinstances/pause …, `get` on …/console)."""
    service, _, call = method.lstrip("/").partition("/")
    if request is None:
        return None
    if service == "virtmesh.v1.Resources" and call in _RESOURCE_VERBS:
        if call in ("Create", "Update", "UpdateStatus"):
            kind = proto.kind_of(request.object)
            md = proto.inner(request.object).metadata if kind else None
            namespace, name = (md.namespace, md.name) if md is not None else ("", "")
        elif call in ("Get", "Delete"):
            kind, namespace, name = request.ref.kind, request.ref.namespace, request.ref.name
        else:
            kind, namespace, name = request.kind, request.namespace, ""
        info = proto.KINDS.get(kind)
        if info is None:
            return None
        if info.namespaced and name and not namespace:
            namespace = names.DEFAULT_NAMESPACE  # what the servicer defaults it to
        attrs = {"verb": _RESOURCE_VERBS[call], "group": info.group, "resource": info.plural,
                 "namespace": namespace if info.namespaced else "", "name": name}
        if call == "UpdateStatus":
            attrs["subresource"] = "status"
        return attrs
    if service == "virtmesh.v1.Subresources":
        if call in ("Start", "Stop", "Restart", "Migrate"):
            resource = "virtualmachines"
        elif call in ("AddVolume", "RemoveVolume"):
            resource = "virtualmachines" if request.kind == proto.VM else "virtualmachineinstances"
        else:  # Pause, Unpause, SoftReboot, Console, PortForward, VNC
            resource = "virtualmachineinstances"
        # KubeVirt's roles: the streams (console, vnc, portforward) are GETs, the rest PUTs.
        return {"verb": "get" if call in STREAM_CALLS else "update", "group": names.SUBRESOURCES_GROUP,
                "resource": resource, "subresource": call.lower(),
                "namespace": request.namespace or names.DEFAULT_NAMESPACE, "name": request.name}
    return None


def forbidden_message(user: str, attrs: dict) -> str:
    """The kube-apiserver's words for a refusal."""
    what = attrs["resource"] + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
    obj = f'{attrs["resource"]}.{attrs["group"]}' if attrs["group"] else attrs["resource"]
    obj += f' "{attrs["name"]}"' if attrs.get("name") else ""
    where = f'in the namespace "{attrs["namespace"]}"' if attrs.get("namespace") else "at the cluster scope"
    return (f'{obj} is forbidden: User "{user}" cannot {attrs["verb"]} resource "{what}" in API group '
            f'"{attrs["group"]}" {where}')


def review(kube, user: str, groups, attrs: dict, extra: dict | None = None) -> str | None:
    """Ask the kube-apiserver whether `user` in `groups` may do `attrs` (a SubjectAccessReview);
    None when allowed, else the apiserver's refusal text."""
    spec = {"user": user, "groups": list(groups), "resourceAttributes": {k: v for k, v in attrs.items() if v}}
    if extra:
        spec["extra"] = extra
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    status = kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body).get("status", {})
    return None if status.get("allowed") else forbidden_message(user, attrs)


def kube_policy(kube) -> Policy:
    """Cluster mode: the kube-apiserver's RBAC decides (a SubjectAccessReview for the caller, as
    KubeVirt's virt-api does for its subresources). Unix-socket callers are root on the api's node
    and the mesh's services act for the mesh; every other certificate holder is asked about."""
    decided: dict[tuple, tuple[float, str | None]] = {}

    async def decide(caller: Caller, method: str, request=None) -> Optional[str]:
        if method in HEALTH_METHODS or not caller.certified or caller.is_service:
            return None
        attrs = resource_attributes(method, request)
        if attrs is None:
            if method.startswith("/grpc.reflection."):
                return None  # the schema: public
            return f"{caller.describe()} may not call {_short(method)}"
        key = (caller.user, caller.groups, tuple(sorted(attrs.items())))
        now = time.monotonic()
        hit = decided.get(key)
        if hit is not None and now - hit[0] < REVIEW_TTL:
            return hit[1]
        try:
            refusal = await asyncio.to_thread(review, kube, caller.user, caller.groups, attrs)
        except Exception as e:  # noqa: BLE001 - the api may not ask (its role), or the apiserver is away
            why = f"{e.code().name}: {e.details()}" if isinstance(e, grpc.RpcError) else str(e)
            log.warning("SubjectAccessReview for %s: %s", caller.user, why)
            return f"{caller.describe()}: the api cannot review this call ({why})"
        if len(decided) > 10000:
            decided.clear()
        decided[key] = (now, refusal)
        return refusal
    return decide
