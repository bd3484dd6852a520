"""KubeVirt's subresource API, `subresources.kubevirt.io/v1`, served to the kube-apiserver's aggregator
(an APIService), so that `kubectl`, virtctl and any Kubernetes client reach start/stop/restart,
pause/unpause and add/removevolume at KubeVirt's paths with their Kubernetes credentials:

    PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachines/NAME/SUB
        SUB: start, stop, restart, addvolume, removevolume, migrate
    PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachineinstances/NAME/SUB
        SUB: pause, unpause, addvolume, removevolume
    GET /apis/subresources.kubevirt.io/v1/{version,healthz}   and the group's discovery documents

Who is calling comes from the aggregator: its front-proxy client certificate (checked against the
requestheader CA and allowed names the kube-apiserver publishes in kube-system's
extension-apiserver-authentication ConfigMap) vouches for the X-Remote-User/-Group headers. Each
call is then authorised with a SubjectAccessReview for that user, as KubeVirt's virt-api does, and
carried out by the same code as the gRPC door (subresources.Subresources). Answers are KubeVirt's:
202 Accepted, or a Kubernetes Status with KubeVirt's texts.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import threading
from importlib import metadata
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import grpc
from google.protobuf import json_format

from services.api import console, https
from services.common import authz, names, proto

if TYPE_CHECKING:
    from services.api.subresources import Subresources
    from services.common import kube

log = logging.getLogger(__name__)

GROUP, VERSION = names.SUBRESOURCES_GROUP, "v1"
PREFIX = f"/apis/{GROUP}/{VERSION}"
APISERVICE = f"{VERSION}.{GROUP}"
AUTH_CONFIGMAP = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
_ROUTE = re.compile(rf"^{re.escape(PREFIX)}/namespaces/([^/]+)/(virtualmachines|virtualmachineinstances)/([^/]+)/"
                    r"([a-z]+)$")
# KubeVirt's streaming routes besides console: portforward/{port}[/{protocol}] and vnc, on VMs and VMIs
_STREAM_ROUTE = re.compile(rf"^{re.escape(PREFIX)}/namespaces/([^/]+)/(virtualmachines|virtualmachineinstances)/"
                           r"([^/]+)/(vnc|portforward/(\d+)(?:/([a-z]+))?)$")
# (resource, subresource) -> the Subresources call and what its body is
CALLS = {
    ("virtualmachines", "start"): "Start", ("virtualmachines", "stop"): "Stop",
    ("virtualmachines", "restart"): "Restart", ("virtualmachines", "addvolume"): "AddVolume",
    ("virtualmachines", "removevolume"): "RemoveVolume", ("virtualmachines", "migrate"): "Migrate",
    ("virtualmachineinstances", "pause"): "Pause", ("virtualmachineinstances", "unpause"): "Unpause",
    ("virtualmachineinstances", "softreboot"): "SoftReboot",
    ("virtualmachineinstances", "addvolume"): "AddVolume",
    ("virtualmachineinstances", "removevolume"): "RemoveVolume",
}
# gRPC status of the shared code -> HTTP status and Kubernetes reason
_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "BadRequest"), grpc.StatusCode.PERMISSION_DENIED: (403, "Forbidden"),
    grpc.StatusCode.NOT_FOUND: (404, "NotFound"), grpc.StatusCode.FAILED_PRECONDITION: (409, "Conflict"),
    grpc.StatusCode.ABORTED: (409, "Conflict"), grpc.StatusCode.ALREADY_EXISTS: (409, "AlreadyExists"),
    grpc.StatusCode.UNAVAILABLE: (503, "ServiceUnavailable"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (503, "ServiceUnavailable"),
}


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
           "reason": reason, "code": code}
    if details:
        doc["details"] = details
    return doc


def discovery() -> dict:
    """What the aggregator and kubectl learn of the group (KubeVirt's subresources)."""
    resources = [{"name": f"{resource}/{sub}", "singularName": "", "namespaced": True,
                  "kind": "VirtualMachine" if resource == "virtualmachines" else "VirtualMachineInstance",
                  "verbs": ["update"]} for resource, sub in CALLS]
    resources.append({"name": "virtualmachineinstances/console", "singularName": "", "namespaced": True,
                      "kind": "VirtualMachineInstance", "verbs": ["get"]})
    for resource in ("virtualmachines", "virtualmachineinstances"):
        for sub in ("portforward", "vnc"):
            resources.append({"name": f"{resource}/{sub}", "singularName": "", "namespaced": True,
                              "kind": "VirtualMachine" if resource == "virtualmachines" else "VirtualMachineInstance",
                              "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/{VERSION}",
            "resources": resources}


def _version() -> dict:
    try:
        ours = metadata.version("virtmesh")
    except metadata.PackageNotFoundError:
        ours = "0.0.0"
    return {"gitVersion": f"v{ours}", "gitCommit": "", "gitTreeState": "", "buildDate": "",
            "goVersion": "", "compiler": "cpython", "platform": "linux/amd64"}


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(details)
        self.code, self.details = code, details


class _Context:
    """What the shared Subresources code needs of a gRPC context: abort."""

    async def abort(self, code, details):
        raise _Aborted(code, details)


class Caller:
    """The front proxy's word for who is calling."""

    def __init__(self, user: str, groups: list[str], extra: dict[str, list[str]]):
        self.user, self.groups, self.extra = user, groups, extra


def _request(call: str, resource: str, namespace: str, name: str, body: dict):
    """The Subresources request for KubeVirt's options body (StartOptions, StopOptions …)."""
    dry_run = bool(body.get("dryRun"))
    if call == "Migrate":   # KubeVirt's MigrateOptions: dryRun, addedNodeSelector
        migrate = proto.api.MigrateRequest(namespace=namespace, name=name)
        json_format.ParseDict(body, migrate.options)
        return migrate
    if call in ("AddVolume", "RemoveVolume"):
        volume = proto.api.VolumeRequest(kind=proto.VM if resource == "virtualmachines" else proto.VMI,
                                         namespace=namespace, name=name)
        target = volume.addVolumeOptions if call == "AddVolume" else volume.removeVolumeOptions
        json_format.ParseDict(body, target)
        return volume
    req = proto.api.SubresourceRequest(namespace=namespace, name=name, dryRun=dry_run,
                                       paused=bool(body.get("paused")))
    grace = body.get("gracePeriod") if call == "Stop" else body.get("gracePeriodSeconds")
    if grace is not None:
        req.gracePeriodSeconds = int(grace)
    return req


class _Server(https.TLSServer):
    """What the handlers read as self.server (TLSServer sets them from its keyword arguments)."""
    subresources: Subresources
    kube: kube.Kube
    loop: asyncio.AbstractEventLoop
    allowed_names: set[str]


class _Handler(https.Handler):
    server: _Server

    def _caller(self) -> Caller | None:
        srv = self.server
        cert = self.connection.getpeercert()   # verified against the requestheader CA by the handshake
        cn = dict(x[0] for x in cert.get("subject", ())).get("commonName", "") if cert else ""
        if not cert or (srv.allowed_names and cn not in srv.allowed_names):
            return None
        user = self.headers.get("X-Remote-User", "")
        groups = self.headers.get_all("X-Remote-Group") or []
        extra: dict[str, list[str]] = {}
        for key, value in self.headers.items():
            if key.lower().startswith("x-remote-extra-"):
                extra.setdefault(key[len("x-remote-extra-"):].lower(), []).append(value)
        return Caller(user, groups, extra) if user else None

    def _authorized(self, caller: Caller, attrs: dict) -> bool:
        """A SubjectAccessReview of `attrs` for the caller; when refused (or not askable) the answer
        is sent here (403 with the apiserver's words, or 503)."""
        try:
            refusal = authz.review(self.server.kube, caller.user, caller.groups, attrs, caller.extra or None)
        except grpc.RpcError as e:
            self._reply(503, status(503, "ServiceUnavailable", f"cannot authorize: {e.details()}"))
            return False
        if refusal:
            self._reply(403, status(403, "Forbidden", refusal, {
                "name": attrs["name"], "group": GROUP, "kind": f"{attrs['resource']}/{attrs['subresource']}"}))
            return False
        return True

    def _reply(self, code: int, doc: dict | None = None) -> None:
        self.send_json(code, json.dumps(doc).encode() if doc is not None else b"")

    def do_GET(self) -> None:  # noqa: N802
        caller = self._caller()
        if caller is None:
            return self._reply(401, status(401, "Unauthorized", "Unauthorized"))
        path = urlsplit(self.path).path.rstrip("/")
        m = _ROUTE.match(path)
        if m and m.group(2) == "virtualmachineinstances" and m.group(4) == "console":
            return self._console(caller, m.group(1), m.group(3))
        s = _STREAM_ROUTE.match(path)
        if s:
            return self._stream(caller, s.group(1), s.group(2), s.group(3), s.group(5), s.group(6))
        if path == PREFIX:
            return self._reply(200, discovery())
        if path == f"/apis/{GROUP}":
            gv = {"groupVersion": f"{GROUP}/{VERSION}", "version": VERSION}
            return self._reply(200, {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [gv],
                                     "preferredVersion": gv})
        if path == f"{PREFIX}/version":
            return self._reply(200, _version())
        if path == f"{PREFIX}/healthz":
            return self._reply(200, {"apiserver": {"connectivity": "ok"}, "restful": "ok"})
        self._reply(404, status(404, "NotFound", f"the server could not find the requested resource ({path})"))

    def _console(self, caller: Caller, namespace: str, name: str) -> None:
        """KubeVirt's console: a websocket (plain.kubevirt.io) bridged to the VMI's node's console stream."""
        attrs = {"verb": "get", "group": GROUP, "resource": "virtualmachineinstances", "subresource": "console",
                 "namespace": namespace, "name": name}
        details = {"name": name, "group": proto.KINDS[proto.VMI].group, "kind": "virtualmachineinstance"}
        if not self._authorized(caller, attrs):
            return

        async def target():
            return self.server.subresources.console_target(namespace, name)
        found = self._stream_target(target, details)
        if found is not None:
            console.Bridge(self, found[1], found[0]).run()

    def _stream_target(self, target, details):
        """(the VMI, its node's handler stub) from `target()` run on the server's loop, or None after
        answering why there is none."""
        try:
            return asyncio.run_coroutine_threadsafe(target(), self.server.loop).result(timeout=30)
        except Exception as e:  # noqa: BLE001 - each reason is an answer
            code, reason = {"NotFound": (404, "NotFound"), "RequestConflict": (409, "Conflict"),
                            "Unavailable": (503, "ServiceUnavailable")}.get(type(e).__name__, (500, "InternalError"))
            self._reply(code, status(code, reason, str(e), details))
            return None

    def _stream(self, caller: Caller, namespace: str, resource: str, name: str, port: str | None,
                protocol: str | None) -> None:
        """portforward/{port}[/{protocol}] and vnc: websockets (plain.kubevirt.io) bridged to the VMI's
        node's PortForward / VNC stream; a VM's are its VMI's."""
        sub = "portforward" if port else "vnc"
        attrs = {"verb": "get", "group": GROUP, "resource": resource, "subresource": sub,
                 "namespace": namespace, "name": name}
        kind = "virtualmachine" if resource == "virtualmachines" else "virtualmachineinstance"
        details = {"name": name, "group": proto.KINDS[proto.VMI].group, "kind": kind}
        if not self._authorized(caller, attrs):
            return
        call = "PortForward" if port else "VNC"
        if port and (protocol or "tcp") != "tcp":
            return self._reply(400, status(400, "BadRequest", f"protocol {protocol!r} is not supported: only tcp",
                                           details))

        async def target():
            if resource == "virtualmachines":   # the VM must exist; its VMI has its name
                self.server.subresources.r.get(proto.VM, namespace, name)
            return self.server.subresources.stream_target(call, namespace, name)
        found = self._stream_target(target, details)
        if found is None:
            return
        vmi, stub = found
        first = proto.api.PortForwardRequest(namespace=vmi.metadata.namespace, name=vmi.metadata.name,
                                             port=int(port or 0), protocol=protocol or "tcp")
        console.Bridge(self, stub, vmi, call, first, lambda data: proto.api.PortForwardRequest(data=data)).run()

    def do_PUT(self) -> None:  # noqa: N802
        caller = self._caller()
        if caller is None:
            return self._reply(401, status(401, "Unauthorized", "Unauthorized"))
        path = urlsplit(self.path).path
        m = _ROUTE.match(path)
        call = CALLS.get((m.group(2), m.group(4))) if m else None
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if m is None or call is None:
            return self._reply(404, status(404, "NotFound",
                                           f"the server could not find the requested resource ({path})"))
        namespace, resource, name, sub = m.group(1), m.group(2), m.group(3), m.group(4)
        kind = "virtualmachine" if resource == "virtualmachines" else "virtualmachineinstance"
        details = {"name": name, "group": proto.KINDS[proto.VMI].group, "kind": kind}
        attrs = {"verb": "update", "group": GROUP, "resource": resource, "subresource": sub,
                 "namespace": namespace, "name": name}
        if not self._authorized(caller, attrs):
            return
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("not an object")
            request = _request(call, resource, namespace, name, body)
        except (ValueError, json_format.ParseError) as e:
            return self._reply(400, status(400, "BadRequest",
                                           f"Can not unmarshal Request body to struct, error: {e}", details))
        future = asyncio.run_coroutine_threadsafe(getattr(self.server.subresources, call)(request, _Context()),
                                                  self.server.loop)
        try:
            future.result(timeout=60)
        except _Aborted as e:
            code, reason = _HTTP.get(e.code, (500, "InternalError"))
            message = e.details
            if code == 409:   # KubeVirt's errors.NewConflict
                message = f'Operation cannot be fulfilled on {kind}.kubevirt.io "{name}": {e.details}'
            return self._reply(code, status(code, reason, message, details))
        except Exception as e:  # noqa: BLE001 - an answer, never a dropped connection
            log.exception("%s %s", call, path)
            return self._reply(500, status(500, "InternalError", f"Internal error occurred: {e}", details))
        self._reply(202)


class SubresourceServer:
    """The API over HTTPS on host:port for the aggregator (serving certificate from the webhooks' CA)."""

    def __init__(self, subresources, kube, loop: asyncio.AbstractEventLoop, host: str, port: int,
                 crt: str, key: str):
        cm = kube.request("GET", AUTH_CONFIGMAP).get("data", {})
        ca_pem = cm.get("requestheader-client-ca-file")
        if not ca_pem:
            raise RuntimeError("the kube-apiserver publishes no requestheader CA (no front proxy configured)")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(crt, key)
        context.verify_mode = ssl.CERT_REQUIRED   # only the aggregator's front-proxy client
        context.load_verify_locations(cadata=ca_pem)
        context.set_alpn_protocols(["http/1.1"])
        allowed = set(json.loads(cm.get("requestheader-allowed-names") or "[]"))
        self._httpd = _Server((host, port), context, _Handler, subresources=subresources, kube=kube,
                              loop=loop, allowed_names=allowed)
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="subresources", daemon=True)

    def start(self) -> "SubresourceServer":
        self._thread.start()
        log.info("subresource API %s on https://%s:%d", APISERVICE, self.host, self.port)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# ---------------------------------------------------------------- registration

SERVICE = "virt-api-subresources"


def register(kube, ca_bundle: bytes, port: int | None, namespace: str = names.DEFAULT_NAMESPACE) -> None:
    """The APIService for SERVICE in `namespace`: deploy/'s Service on port 443 in a cluster (`port`
    None), or on one machine an ExternalName Service naming this machine on `port` (the api is no pod
    there: the aggregator dials the name on the APIService's port)."""
    import base64
    if port is not None:
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE, "namespace": namespace},
               "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port}]}}
        kube.apply(f"/api/v1/namespaces/{namespace}/services/{SERVICE}", svc)
    kube.apply(f"/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}", apiservice(
        {"namespace": namespace, "name": SERVICE, "port": port or 443}, base64.b64encode(ca_bundle).decode()))


def apiservice(service: dict, ca_bundle: str | None) -> dict:
    """The APIService (deploy/base/apiservice.yaml has it without its caBundle, which the api fills)."""
    spec = {"group": GROUP, "version": VERSION, "service": service, "groupPriorityMinimum": 1000,
            "versionPriority": 15}
    if ca_bundle:
        spec["caBundle"] = ca_bundle
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": APISERVICE},
            "spec": spec}
