"""Admission webhooks for cluster mode: the gRPC path's defaulting and validation, served to a kube-apiserver.

In cluster mode VMs are custom resources and `kubectl apply` writes go straight to the kube-apiserver; it
calls these webhooks (AdmissionReview admission.k8s.io/v1 over HTTPS, on KubeVirt's and CDI's paths) so
that those writes get exactly what `Resources.create` / `Resources.update` do on the gRPC path:

- mutating CREATE: `defaults.create`, answered as a JSONPatch (server-owned metadata and status left to
  the kube-apiserver); mutating UPDATE: only what `Resources.update` re-defaults (a DataVolume's storage spec);
- validating CREATE: `validation.validate`; validating UPDATE: `validation.validate` + `validation.update`,
  only when the spec changed (status and metadata writes by our controllers are allowed without a look);
- a manifest that does not fit the schema, or an Invalid, is denied 422 with the field named.
DELETE/CONNECT are allowed. Nothing here writes anything, so `sideEffects: None` holds and a dryRun request
gets the same answer as a real one.

Entry point (the server runs in its own threads and never touches the api's event loop):

    server = AdmissionServer(resources, host="127.0.0.1", port=0, cert_dir=DIR)  # binds; cert loaded/created
    server.start()                                   # serves in a daemon thread
    server.port, server.url, server.ca_bundle        # bound port, https://HOST:PORT, CA PEM (bytes)
    ensure_registered(api_client, server.ca_bundle, url=server.url)       # local: the apiserver dials us
    ensure_registered(api_client, server.ca_bundle, namespace="virtmesh")  # in-cluster: Service virt-api
    server.stop()

`serve(resources, host, port, cert_dir, api_client=None, in_cluster=False, namespace=...)` does the first
three steps and the registration in one call. `resources` only needs `machine_limits()`; that may block on
network I/O (a Kubernetes-backed store) — it is called in the request's thread.

`python -m services.api.admission` prints deploy/base/webhooks.yaml.
"""
from __future__ import annotations

import base64
import datetime
import json
import logging
import os
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509

from services.api import defaults, https, instancetype, validation
from services.api.errors import Invalid
from services.common import domain, manifest, names, pki, proto

log = logging.getLogger(__name__)

REVIEW_API_VERSION = "admission.k8s.io/v1"
MUTATOR, VALIDATOR = "virt-api-mutator", "virt-api-validator"       # KubeVirt's configuration names
SERVICE_NAME, SERVICE_PORT = "virt-api", 443
DEFAULT_PORT = 8444              # the api's webhook port in a pod (the Service's targetPort)
TIMEOUT_SECONDS = 10
SERVING_HOSTS = ("localhost", "127.0.0.1", "virt-api.kubevirt.svc", "virt-api.kubevirt.svc.cluster.local",
                 # deploy/base installs into `virtmesh`
                 "virt-api.virtmesh.svc", "virt-api.virtmesh.svc.cluster.local")
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Hook:
    name: str
    kind: proto.api.Kind
    operations: tuple[str, ...]
    path: str
    mutating: bool
    spec_updates_only: bool = False   # an UPDATE that leaves the spec alone needs no call (matchConditions)


# KubeVirt's webhook names and paths (CDI's for DataVolume; virt-operator's for KubeVirt). The VMI mutator
# leaves out UPDATE, which KubeVirt registers: Resources.update re-defaults nothing of a VMI's, and its
# status is written by updating the VMI itself (no status subresource), so every such write would be a
# round trip for nothing. The VM mutator's UPDATE defaults the matcher kinds (and infers them), spec
# changes only.
HOOKS = (
    Hook("virtualmachines-mutator.kubevirt.io", proto.VM, ("CREATE", "UPDATE"), "/virtualmachines-mutate", True,
         spec_updates_only=True),
    Hook("virtualmachineinstances-mutator.kubevirt.io", proto.VMI, ("CREATE",), "/virtualmachineinstances-mutate",
         True),
    Hook("datavolume-mutate.cdi.kubevirt.io", proto.DV, ("CREATE", "UPDATE"), "/datavolume-mutate", True),
    Hook("virtualmachineinstances-create-validator.kubevirt.io", proto.VMI, ("CREATE",),
         "/virtualmachineinstances-validate-create", False),
    Hook("virtualmachineinstances-update-validator.kubevirt.io", proto.VMI, ("UPDATE",),
         "/virtualmachineinstances-validate-update", False, spec_updates_only=True),
    Hook("virtualmachine-validator.kubevirt.io", proto.VM, ("CREATE", "UPDATE"), "/virtualmachines-validate", False,
         spec_updates_only=True),
    Hook("datavolume-validate.cdi.kubevirt.io", proto.DV, ("CREATE", "UPDATE"), "/datavolume-validate", False),
    Hook("virtualmachineinstancetype-validator.instancetype.kubevirt.io", proto.INSTANCETYPE, ("CREATE", "UPDATE"),
         "/virtualmachineinstancetypes-validate", False),
    Hook("virtualmachineclusterinstancetype-validator.instancetype.kubevirt.io", proto.CLUSTER_INSTANCETYPE,
         ("CREATE", "UPDATE"), "/virtualmachineclusterinstancetypes-validate", False),
    Hook("virtualmachinepreference-validator.instancetype.kubevirt.io", proto.PREFERENCE, ("CREATE", "UPDATE"),
         "/virtualmachinepreferences-validate", False),
    Hook("virtualmachineclusterpreference-validator.instancetype.kubevirt.io", proto.CLUSTER_PREFERENCE,
         ("CREATE", "UPDATE"), "/virtualmachineclusterpreferences-validate", False),
    Hook("kubevirt-create-validator.kubevirt.io", proto.KUBEVIRT, ("CREATE",), "/kubevirt-validate-create", False),
    Hook("kubevirt-update-validator.kubevirt.io", proto.KUBEVIRT, ("UPDATE",), "/kubevirt-validate-update", False,
         spec_updates_only=True),
    # Live migration (services/api/migration.py): the selector label and finalizer, then KubeVirt's admitters.
    Hook("migrations-mutator.kubevirt.io", proto.VMIM, ("CREATE",), "/migration-mutate-create", True),
    Hook("migration-create-validator.kubevirt.io", proto.VMIM, ("CREATE",), "/migration-validate-create", False),
    Hook("migration-update-validator.kubevirt.io", proto.VMIM, ("UPDATE",), "/migration-validate-update", False,
         spec_updates_only=True),
    Hook("migration-policy-validator.kubevirt.io", proto.MIGRATION_POLICY, ("CREATE", "UPDATE"),
         "/migration-policy-validate-create", False),
    # Snapshots and restores (services/api/snapshot.py): KubeVirt's VMSnapshotAdmitter and VMRestoreAdmitter.
    Hook("virtualmachinesnapshot-validator.snapshot.kubevirt.io", proto.VMSNAPSHOT, ("CREATE", "UPDATE"),
         "/virtualmachinesnapshots-validate", False, spec_updates_only=True),
    Hook("virtualmachinerestore-validator.snapshot.kubevirt.io", proto.VMRESTORE, ("CREATE", "UPDATE"),
         "/virtualmachinerestores-validate", False, spec_updates_only=True),
)
PATHS = {h.path: h for h in HOOKS}

# Kubernetes metadata our ObjectMeta does not model: dropped before the strict parse (and never patched).
_KUBE_ONLY_META = ("managedFields", "selfLink")
# What the kube-apiserver owns on create: defaults.object_meta sets these for the embedded store only.
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "namespace",
                "name", "deletionTimestamp")


# ---------------------------------------------------------------- JSON Patch (RFC 6902)

def _pointer(path: str, key) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def json_patch(a, b, path: str = "") -> list[dict]:
    """RFC 6902 operations that turn document `a` into `b`."""
    if isinstance(a, dict) and isinstance(b, dict):
        ops = [{"op": "remove", "path": _pointer(path, k)} for k in a if k not in b]
        for k, v in b.items():
            if k in a:
                ops += json_patch(a[k], v, _pointer(path, k))
            else:
                ops.append({"op": "add", "path": _pointer(path, k), "value": v})
        return ops
    if isinstance(a, list) and isinstance(b, list):
        common = min(len(a), len(b))
        ops = []
        for i in range(common):
            ops += json_patch(a[i], b[i], _pointer(path, i))
        # Surplus items go from the end, so every index stays valid while the patch is applied.
        ops += [{"op": "remove", "path": _pointer(path, i)} for i in reversed(range(common, len(a)))]
        ops += [{"op": "add", "path": _pointer(path, i), "value": b[i]} for i in range(common, len(b))]
        return ops
    if type(a) is type(b) and a == b:   # type too: in Python True == 1
        return []
    return [{"op": "replace", "path": path, "value": b}]


# ---------------------------------------------------------------- the admission logic (no HTTP)

def _allowed(patch: list[dict] | None = None) -> dict:
    if not patch:
        return {"allowed": True}
    return {"allowed": True, "patchType": "JSONPatch",
            "patch": base64.b64encode(json.dumps(patch).encode()).decode()}


_CAUSE_TYPES = (("Required value", "FieldValueRequired"), ("Unsupported value", "FieldValueNotSupported"),
                ("Duplicate value", "FieldValueDuplicate"), ("Forbidden", "FieldValueForbidden"),
                (": expected ", "FieldValueTypeInvalid"))


def _cause(field: str, text: str) -> dict:
    kind = next((t for s, t in _CAUSE_TYPES if s in text), "FieldValueInvalid")
    return {"type": kind, "field": field, "message": text}


def _denied(message: str, code: int = 422, reason: str = "Invalid", causes=()) -> dict:
    """KubeVirt's shape (webhooks.ToAdmissionResponse): status with code, reason, message and
    details.causes naming the field — our messages start with the field path (or come with causes)."""
    status = {"code": code, "reason": reason, "message": message}
    if code == 422 and causes:
        status["details"] = {"causes": [_cause(f, t) for f, t in causes]}
    elif code == 422:
        field = message.split(":", 1)[0].split(" ", 1)[0]
        # kubectl prints a cause as `field: message`: the message without our leading path.
        reason_text = message[len(field) + 2:] if message.startswith(field + ": ") else message
        status["details"] = {"causes": [{**_cause(field, message), "message": reason_text}]}
    return {"allowed": False, "status": status}


def _visible(obj: proto.api.Object) -> dict:
    """The resource as JSON, without what the kube-apiserver owns: the part a mutating patch may touch."""
    d = manifest.to_dict(proto.inner(obj))
    # status: defaulted only for claims, whose status subresource makes the apiserver drop it on create;
    # there the controllers write it.
    for k in ("apiVersion", "kind", "status"):
        d.pop(k, None)
    for k in _SERVER_META:
        d.get("metadata", {}).pop(k, None)
    return d


def _spec(doc) -> object:
    return doc.get("spec") if isinstance(doc, dict) else None


class Admitter:
    """AdmissionReview in, AdmissionReview out. `resources` gives `machine_limits()` and `db` (the store
    the instancetype checks read: services/api/instancetype.py)."""

    def __init__(self, resources):
        self.resources = resources

    def review(self, path: str, review: dict) -> dict:
        request = review.get("request") or {}
        try:
            response = self._admit(PATHS[path], request)
        except (Invalid, manifest.ManifestError) as e:
            response = _denied(str(e), causes=getattr(e, "causes", ()))
        except Exception as e:  # noqa: BLE001 - a broken webhook must answer, not hang the apiserver
            log.exception("admission %s %s failed", path, request.get("operation"))
            response = _denied(f"internal error: {e}", 500, "InternalError")
        response["uid"] = request.get("uid", "")
        return {"apiVersion": REVIEW_API_VERSION, "kind": "AdmissionReview", "response": response}

    def _admit(self, hook: Hook, request: dict) -> dict:
        op = request.get("operation")
        db = self.resources.db
        if op == "CREATE":
            obj = self._parse(hook, request, request.get("object"))
            limits = self.resources.machine_limits()
            if hook.mutating:
                before = _visible(obj)
                instancetype.mutate(obj, db)
                defaults.create(obj, limits)
                return _allowed(json_patch(before, _visible(obj)))
            instancetype.validate(obj, db, limits)
            return _allowed()
        if op != "UPDATE":   # DELETE, CONNECT
            return _allowed()
        new, old = request.get("object"), request.get("oldObject")
        if _spec(new) == _spec(old):
            return _allowed()   # status/metadata only: Resources.update would judge no new spec either
        if hook.mutating and hook.kind not in (proto.PVC, proto.DV, proto.VM):
            return _allowed()   # Resources.update re-defaults nothing else: what the user removed stays out
        obj = self._parse(hook, request, new)
        if hook.mutating:
            before = _visible(obj)
            instancetype.mutate(obj, db)
            defaults.storage_spec(hook.kind, proto.inner(obj).spec)
            return _allowed(json_patch(before, _visible(obj)))
        stored = proto.inner(self._parse(hook, request, old))
        instancetype.validate(obj, db, self.resources.machine_limits(), old=stored)
        validation.update(hook.kind, stored, proto.inner(obj))
        if hook.kind == proto.VM:
            instancetype.matcher_update(stored.spec, proto.inner(obj).spec)
        return _allowed()

    @staticmethod
    def _parse(hook: Hook, request: dict, doc) -> proto.api.Object:
        """The strict manifest parse; name/namespace from the request when the object lacks them
        (the apiserver names a generateName object after the mutating webhooks)."""
        if isinstance(doc, dict):
            doc = dict(doc)
            md = doc.get("metadata")
            md = {k: v for k, v in md.items() if k not in _KUBE_ONLY_META} if isinstance(md, dict) else {}
            for k in ("name", "namespace"):
                if not md.get(k) and request.get(k):
                    md[k] = request[k]
            doc["metadata"] = md
        obj = manifest.to_object(doc)
        if proto.kind_of(obj) != hook.kind:
            raise manifest.ManifestError(f"kind: expected {proto.kind_name(hook.kind)} on {hook.path}")
        return obj


# ---------------------------------------------------------------- serving certificate

def _sans(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(ext.get_values_for_type(x509.DNSName)) | {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) > RENEW_BEFORE


def load_or_create_cert(cert_dir: str, hosts: tuple[str, ...] = SERVING_HOSTS) -> tuple[str, str, bytes]:
    """(serving cert path, key path, CA PEM) from `cert_dir` (ca.crt/key, webhook.crt/key), made or
    re-issued when missing, not signed by the CA, short of `hosts`, or within 30 days of expiry."""
    os.makedirs(cert_dir, mode=0o700, exist_ok=True)
    try:
        ca = pki.KeyPair.read(cert_dir, "ca")
        if not _fresh(ca.cert):
            raise ValueError("CA expires soon")
    except (OSError, ValueError):
        ca = pki.new_ca("virt-api-webhook-ca")
        ca.write(cert_dir, "ca")
    try:
        serving = pki.KeyPair.read(cert_dir, "webhook")
        serving.cert.verify_directly_issued_by(ca.cert)
        ok = _fresh(serving.cert) and set(hosts) <= _sans(serving.cert)
    except Exception:  # noqa: BLE001 - missing, unreadable, or signed by another CA: issue anew
        ok = False
    if not ok:
        pki.issue(ca, f"{SERVICE_NAME}.{names.KUBEVIRT_NAMESPACE}.svc", hosts=tuple(hosts),
                  server=True).write(cert_dir, "webhook")
    return os.path.join(cert_dir, "webhook.crt"), os.path.join(cert_dir, "webhook.key"), ca.cert_pem


# ---------------------------------------------------------------- HTTPS server

class _Server(https.TLSServer):
    admitter: Admitter   # (TLSServer sets it from its keyword arguments)


class _Handler(https.Handler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path   # the apiserver appends ?timeout=10s
        if path not in PATHS:
            return self._send(404, {"message": f"no admission webhook at {path}"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self._send(400, {"message": f"not an AdmissionReview: {e}"})
        self._send(200, self.server.admitter.review(path, body))

    def _send(self, code: int, doc: dict) -> None:
        self.send_json(code, json.dumps(doc).encode())


class AdmissionServer:
    """The webhooks over HTTPS on host:port (0: any free port), certificate from `cert_dir`."""

    def __init__(self, resources, host: str = "127.0.0.1", port: int = DEFAULT_PORT, cert_dir: str = "",
                 hosts: tuple[str, ...] = SERVING_HOSTS, client_ca: str | None = None):
        """`client_ca`: callers must present a certificate it signed (the kube-apiserver's webhook
        client certificate, from its AdmissionConfiguration); without it anyone may ask for reviews."""
        if not cert_dir:
            raise ValueError("cert_dir is required")
        crt, key, self.ca_bundle = load_or_create_cert(cert_dir, hosts)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(crt, key)
        if client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=client_ca)
        context.set_alpn_protocols(["http/1.1"])
        self._httpd = _Server((host, port), context, _Handler, admitter=Admitter(resources))
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """https://HOST:PORT as the kube-apiserver dials it (a wildcard listen address -> loopback)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"https://{host}:{self.port}"

    def start(self) -> "AdmissionServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="admission", daemon=True)
        self._thread.start()
        log.info("admission webhooks on %s", self.url)
        return self

    def stop(self) -> None:
        if self._thread:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()


# ---------------------------------------------------------------- registration

# Validation judges a changed spec only (Admitter._admit allows the rest at once); saying so to the
# apiserver spares every status write of the controller and handler a webhook round trip (~35 ms here).
SPEC_CHANGED = {"name": "spec-changed",
                "expression": "request.operation != 'UPDATE' || object.spec != oldObject.spec"}


def _webhook(hook: Hook, client_config: dict) -> dict:
    info = proto.KINDS[hook.kind]
    extra = {"matchConditions": [SPEC_CHANGED]} if hook.spec_updates_only else {}
    return {**extra,
        "name": hook.name,
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Fail",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "rules": [{"operations": list(hook.operations), "apiGroups": [info.group],
                   "apiVersions": [info.version, *info.served_versions], "resources": [info.plural]}],
        "clientConfig": client_config,
    }


def webhook_configurations(ca_bundle: bytes | None = b"", *, url: str | None = None,
                           namespace: str | None = names.KUBEVIRT_NAMESPACE, service: str = SERVICE_NAME,
                           port: int = SERVICE_PORT) -> tuple[dict, dict]:
    """(MutatingWebhookConfiguration virt-api-mutator, ValidatingWebhookConfiguration virt-api-validator).

    `url` (https://HOST:PORT): the kube-apiserver dials that (local mode); otherwise the Service
    `namespace/service:port` (in-cluster; namespace None leaves it to kustomize). `ca_bundle` is the CA
    PEM; None leaves caBundle out."""
    def client_config(path: str) -> dict:
        if url:
            cc: dict = {"url": url.rstrip("/") + path}
        else:
            ref = {"namespace": namespace} if namespace else {}
            cc = {"service": {**ref, "name": service, "path": path, "port": port}}
        if ca_bundle is not None:
            cc["caBundle"] = base64.b64encode(ca_bundle).decode()
        return cc

    def config(kind: str, name: str, mutating: bool) -> dict:
        return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                "metadata": {"name": name, "labels": {names.APP_LABEL: name}},
                "webhooks": [_webhook(h, client_config(h.path)) for h in HOOKS if h.mutating == mutating]}

    return (config("MutatingWebhookConfiguration", MUTATOR, True),
            config("ValidatingWebhookConfiguration", VALIDATOR, False))


def ensure_registered(api_client, ca_bundle: bytes, *, url: str | None = None,
                      namespace: str = names.KUBEVIRT_NAMESPACE, service: str = SERVICE_NAME,
                      port: int = SERVICE_PORT) -> None:
    """Create or update both configurations (server-side apply: idempotent, no read-modify-write)."""
    from services.common import kube
    mutating, validating = webhook_configurations(ca_bundle, url=url, namespace=namespace, service=service,
                                                  port=port)
    store = kube.Kube(api_client)
    for body, plural in ((mutating, "mutatingwebhookconfigurations"),
                         (validating, "validatingwebhookconfigurations")):
        store.apply(f"/apis/admissionregistration.k8s.io/v1/{plural}/{body['metadata']['name']}", body)
        log.info("registered %s %s", body["kind"], body["metadata"]["name"])


PROBE_MEMORY = "virtmesh-webhook-probe"


def wait_effective(api_client, timeout: float = 30.0) -> None:
    """Wait until the kube-apiserver calls *these* webhooks: it reads configurations through an informer,
    so for a moment after a registration it may still dial an earlier api's address. The probe is a
    dry-run create only our validation refuses (its memory request names the probe)."""
    import time
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = client.CustomObjectsApi(api_client)
    info = proto.KINDS[proto.VM]
    probe = {"apiVersion": info.api_version, "kind": info.kind, "metadata": {"name": "webhook-probe"},
             "spec": {"runStrategy": domain.RUN_HALTED, "template": {"spec": {"domain": {
                 "devices": {}, "resources": {"requests": {"memory": PROBE_MEMORY}}}}}}}
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            api.create_namespaced_custom_object(info.group, info.version, names.DEFAULT_NAMESPACE, info.plural, probe,
                                                dry_run="All")
            last = "the probe was admitted"
        except ApiException as e:
            if PROBE_MEMORY in (e.body or "") and e.status == 422:
                return
            last = (e.body or str(e))[:300]
        time.sleep(0.1)
    raise RuntimeError(f"the kube-apiserver does not call our admission webhooks: {last}")


def serve(resources, host: str, port: int, cert_dir: str, api_client=None, *, in_cluster: bool = False,
          namespace: str = names.KUBEVIRT_NAMESPACE, client_ca: str | None = None) -> AdmissionServer:
    """Start the server; with `api_client`, register it: by URL (local) or by Service (in_cluster), and
    return once the kube-apiserver calls it."""
    server = AdmissionServer(resources, host, port, cert_dir, client_ca=client_ca).start()
    if api_client is not None:
        ensure_registered(api_client, server.ca_bundle, url=None if in_cluster else server.url,
                          namespace=namespace)
        wait_effective(api_client)
    return server


def deploy_yaml() -> str:
    """deploy/base/webhooks.yaml: the in-cluster configurations and the Service they name."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE_NAME},
           "spec": {"selector": {"app.kubernetes.io/name": "virtmesh-api"},
                    "ports": [{"name": "webhooks", "port": SERVICE_PORT, "targetPort": DEFAULT_PORT}]}}
    docs = [svc, *webhook_configurations(None, namespace=None)]
    return ("# Generated by `python -m services.api.admission` (services/api/admission.py); do not edit.\n"
            "# The api's admission webhooks (KubeVirt's virt-api-mutator / virt-api-validator) and the Service\n"
            "# virt-api the kube-apiserver dials them through (the api serves them on port "
            f"{DEFAULT_PORT}).\n"
            "# caBundle is left out on purpose: the api fills it with its own CA when it starts\n"
            "# (admission.ensure_registered), and a re-apply of this file then leaves it alone.\n"
            "# The Service namespace is left to kustomize (the kustomization's namespace).\n"
            + manifest.dump_yaml(docs))


if __name__ == "__main__":
    print(deploy_yaml(), end="")
