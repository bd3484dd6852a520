"""The admission webhooks over real HTTPS (in-process server, generated CA): JSONPatch defaulting, denials
with the field named, cheap status-only updates, and the webhook configurations."""
import base64
import copy
import http.client
import json
import os
import ssl

import pytest

from services.api import admission, defaults, validation
from services.api.errors import Invalid
from services.common import manifest, proto

VM = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "testvm", "namespace": "default", "labels": {"kubevirt.io/vm": "a_b"},
                 "managedFields": [{"manager": "kubectl", "operation": "Update"}]},
    "spec": {"runStrategy": "Always", "template": {"metadata": {"creationTimestamp": None}, "spec": {
        "domain": {"resources": {"requests": {"memory": "64Mi"}}, "devices": {"interfaces": []}}}}},
}
VMI = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
    "metadata": {"name": "testvmi", "namespace": "default", "finalizers": [],   # as the apiserver sends it:
                 "uid": "0f0e", "creationTimestamp": "2025-01-01T00:00:00Z", "generation": 1},
    "spec": {"domain": {"memory": {"guest": "64Mi"}, "cpu": {"cores": 2},
                        "devices": {"interfaces": [{"name": "default"}]}},
             "networks": [{"name": "default", "pod": {}}]},
}
DV = {
    "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
    "metadata": {"name": "dv1", "namespace": "default"},
    "spec": {"source": {"blank": {}}, "pvc": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "1Gi"}}}},
}


# ---------------------------------------------------------------- a tiny RFC 6902 applier (add/remove/replace)

def _walk(doc, pointer):
    keys = [k.replace("~1", "/").replace("~0", "~") for k in pointer.split("/")[1:]]
    parent = doc
    for k in keys[:-1]:
        parent = parent[int(k)] if isinstance(parent, list) else parent[k]
    return parent, keys[-1]


def apply_patch(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        if op["path"] == "":
            assert op["op"] == "replace"
            doc = copy.deepcopy(op["value"])
            continue
        parent, key = _walk(doc, op["path"])
        if isinstance(parent, list):
            i = len(parent) if key == "-" else int(key)
            if op["op"] == "add":
                assert 0 <= i <= len(parent)
                parent.insert(i, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del parent[i]
            else:
                assert 0 <= i < len(parent)
                parent[i] = copy.deepcopy(op["value"])
        else:
            if op["op"] in ("remove", "replace"):
                assert key in parent, f"{op['op']} of a missing member {op['path']}"
            if op["op"] == "remove":
                del parent[key]
            else:
                parent[key] = copy.deepcopy(op["value"])
    return doc


@pytest.mark.parametrize("a, b", [
    ({}, {}),
    ({"a": 1}, {"a": 1, "b": {"c": [1, 2]}}),
    ({"a": 1, "b": 2}, {"b": 3}),
    ({"a/b": 1, "m~n": {"x": 1}}, {"a/b": 2, "m~n": {"y": 1}, "~/": True}),
    ({"l": [1, 2, 3, 4]}, {"l": [1, 5]}),
    ({"l": [1]}, {"l": [1, {"x": 1}, [2]]}),
    ({"l": [{"a": 1}, {"a": 2}]}, {"l": [{"a": 1, "b": 1}, {"a": 3}]}),
    ({"v": 1}, {"v": True}),
    ({"v": 1}, {"v": "1"}),
    ({"v": {"x": 1}}, {"v": [1]}),
    ({"v": None}, {"v": 0}),
    ([1, 2], {"a": 1}),
])
def test_json_patch_turns_a_into_b(a, b):
    ops = admission.json_patch(a, b)
    assert apply_patch(a, ops) == b
    assert all(type(x) is type(y) for x, y in zip(_leaves(apply_patch(a, ops)), _leaves(b)))
    assert (ops == []) == (a == b and type(a) is type(b) and json.dumps(a) == json.dumps(b))


def _leaves(doc):
    if isinstance(doc, dict):
        for k in sorted(doc):
            yield from _leaves(doc[k])
    elif isinstance(doc, list):
        for v in doc:
            yield from _leaves(v)
    else:
        yield doc


def test_json_patch_escapes_keys():
    ops = admission.json_patch({"labels": {}}, {"labels": {"kubevirt.io/a~b": "x"}})
    assert ops == [{"op": "add", "path": "/labels/kubevirt.io~1a~0b", "value": "x"}]


# ---------------------------------------------------------------- the server

class FakeResources:
    """machine_limits() as Resources gives it, counting the calls; no store (`db`): nothing here
    references an instancetype (tests/api/test_instancetypes.py admits those through a real store)."""

    def __init__(self, limit=0):
        self.calls = 0
        self.limit = limit
        self.db = None

    def machine_limits(self):
        self.calls += 1
        return lambda machine: self.limit


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module (stop() waits out serve_forever's poll); tests change its
    FakeResources only through monkeypatch."""
    res = FakeResources()
    s = admission.AdmissionServer(res, "127.0.0.1", 0, str(tmp_path_factory.mktemp("certs"))).start()
    s.resources = res
    yield s
    s.stop()


def post(server, path, body, host="127.0.0.1"):
    ctx = ssl.create_default_context(cadata=server.ca_bundle.decode())
    conn = http.client.HTTPSConnection(host, server.port, context=ctx, timeout=10)
    try:
        conn.request("POST", path + "?timeout=10s", json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def review(op, obj, old=None, uid="req-1", **extra):
    info = proto.KINDS[proto.KIND_BY_NAME[obj["kind"]]]
    req = {"uid": uid, "operation": op, "kind": {"group": info.group, "version": info.version, "kind": info.kind},
           "resource": {"group": info.group, "version": info.version, "resource": info.plural},
           "name": obj["metadata"].get("name", ""), "namespace": obj["metadata"].get("namespace", ""),
           "object": obj, "oldObject": old, "dryRun": False, **extra}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}


def admit(server, path, op, obj, old=None, **extra):
    status, body = post(server, path, review(op, obj, old, **extra))
    assert status == 200
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == "req-1"
    return body["response"]


def patched(doc, response):
    assert response["allowed"] is True
    if "patch" not in response:
        return doc
    assert response["patchType"] == "JSONPatch"
    return apply_patch(doc, json.loads(base64.b64decode(response["patch"])))


def grpc_object(doc):
    """`doc` as the gRPC path gets it (a Kubernetes object's managedFields are not in our schema)."""
    return manifest.to_object({**doc, "metadata": {k: v for k, v in doc["metadata"].items() if k != "managedFields"}})


def grpc_defaults(doc):
    """What Resources.create stores for `doc`, without what the kube-apiserver owns."""
    obj = grpc_object(doc)
    defaults.create(obj, FakeResources().machine_limits())
    return admission._visible(obj)


@pytest.mark.parametrize("doc, path", [(VM, "/virtualmachines-mutate"), (VMI, "/virtualmachineinstances-mutate"),
                                       (DV, "/datavolume-mutate")])
def test_mutating_create_patches_to_the_grpc_defaults(server, doc, path):
    resp = admit(server, path, "CREATE", doc)
    out = patched(doc, resp)
    ops = json.loads(base64.b64decode(resp["patch"])) if "patch" in resp else []
    assert ops or doc is VM   # a VM with a runStrategy has nothing to default
    for op in ops:  # server-owned fields are the kube-apiserver's
        assert not op["path"].startswith(("/apiVersion", "/kind", "/status", "/metadata/uid",
                                          "/metadata/creationTimestamp", "/metadata/resourceVersion",
                                          "/metadata/generation", "/metadata/name", "/metadata/namespace",
                                          "/metadata/managedFields")), op
    assert out["metadata"].get("managedFields") == doc["metadata"].get("managedFields")
    for k in ("uid", "creationTimestamp", "generation", "name", "namespace"):
        assert out["metadata"].get(k) == doc["metadata"].get(k)
    assert out["apiVersion"] == doc["apiVersion"]
    check = {**out, "metadata": {k: v for k, v in out["metadata"].items() if k != "managedFields"}}
    assert admission._visible(manifest.to_object(check)) == grpc_defaults(doc)


def test_mutating_create_details(server):
    out = patched(VM, admit(server, "/virtualmachines-mutate", "CREATE", VM))
    assert out["spec"]["runStrategy"] == "Always"   # what the user said stays
    assert out["metadata"]["labels"] == {"kubevirt.io/vm": "a_b"}
    halted = copy.deepcopy(VM)
    del halted["spec"]["runStrategy"]
    out = patched(halted, admit(server, "/virtualmachines-mutate", "CREATE", halted))
    assert out["spec"]["runStrategy"] == "Halted"
    old_version = {**halted, "apiVersion": "kubevirt.io/v1alpha3"}   # the version the request came in stays
    out = patched(old_version, admit(server, "/virtualmachines-mutate", "CREATE", old_version))
    assert (out["apiVersion"], out["spec"]["runStrategy"]) == ("kubevirt.io/v1alpha3", "Halted")

    vmi = patched(VMI, admit(server, "/virtualmachineinstances-mutate", "CREATE", VMI))
    assert vmi["metadata"]["finalizers"] == [defaults.VMI_FINALIZER]
    spec = vmi["spec"]
    assert spec["terminationGracePeriodSeconds"] == 30 and spec["architecture"] and spec["domain"]["machine"]["type"]
    assert spec["domain"]["cpu"] == {"cores": 2, "sockets": 1, "threads": 1, "maxSockets": 4}
    assert spec["domain"]["devices"]["interfaces"] == [{"name": "default", "bridge": {}}]

    dv = patched(DV, admit(server, "/datavolume-mutate", "CREATE", DV))
    assert dv["spec"]["pvc"]["volumeMode"] == "Filesystem" and "status" not in dv


def test_mutating_update_redefaults_only_what_the_grpc_path_does(server):
    vm = patched(VM, admit(server, "/virtualmachines-mutate", "CREATE", VM))
    removed = copy.deepcopy(vm)
    del removed["spec"]["runStrategy"]
    assert admit(server, "/virtualmachines-mutate", "UPDATE", removed, vm) == {"allowed": True, "uid": "req-1"}
    dv = patched(DV, admit(server, "/datavolume-mutate", "CREATE", DV))
    new = copy.deepcopy(dv)
    del new["spec"]["pvc"]["volumeMode"]
    new["spec"]["pvc"]["resources"]["requests"]["storage"] = "2Gi"
    out = patched(new, admit(server, "/datavolume-mutate", "UPDATE", new, dv))
    assert out["spec"]["pvc"]["volumeMode"] == "Filesystem"


def grpc_message(doc):
    """The message Resources.create raises for `doc`."""
    obj = grpc_object(doc)
    limits = FakeResources().machine_limits()
    defaults.create(obj, limits)
    with pytest.raises(Invalid) as e:
        validation.validate(obj, limits)
    return str(e.value)


def with_change(doc, path, value):
    d = copy.deepcopy(doc)
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return d


@pytest.mark.parametrize("path", ["/virtualmachines-mutate", "/virtualmachines-validate"])
@pytest.mark.parametrize("field, value, message", [
    ("spec.template.spec.domain.devicez", {}, "spec.template.spec.domain.devicez: unknown field"),
    ("spec.runStrategy", 5, "spec.runStrategy: expected string, got integer"),
    ("spec.running", "yes", "spec.running: expected boolean, got string"),
])
def test_manifest_errors_are_denied_with_the_field(server, path, field, value, message):
    resp = admit(server, path, "CREATE", with_change(VM, field, value))
    assert resp["allowed"] is False
    status = resp["status"]
    assert (status["code"], status["reason"], status["message"]) == (422, "Invalid", message)
    assert status["details"]["causes"][0]["field"] == field
    # kubectl prints `field: message`: the cause's message does not repeat the path.
    assert status["details"]["causes"][0]["message"] == message.removeprefix(field + ": ")


@pytest.mark.parametrize("doc, path, field, value, cause_field, cause_type", [
    (VM, "/virtualmachines-validate", "spec.runStrategy", "Sometimes", "spec.runStrategy", "FieldValueNotSupported"),
    (VM, "/virtualmachines-validate", "metadata.name", "Bad_Name", "metadata.name", "FieldValueInvalid"),
    (VMI, "/virtualmachineinstances-validate-create", "spec.domain.memory.guest", "lots",
     "spec.domain.memory.guest", "FieldValueInvalid"),
    (DV, "/datavolume-validate", "spec.source", {}, "spec.source", "FieldValueRequired"),
])
def test_validating_create_denies_with_the_grpc_message(server, doc, path, field, value, cause_field, cause_type):
    bad = with_change(doc, field, value)
    resp = admit(server, path, "CREATE", bad)
    assert resp["allowed"] is False
    status = resp["status"]
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == grpc_message(bad)
    assert status["details"]["causes"] == [{"type": cause_type, "field": cause_field,
                                            "message": status["message"].removeprefix(cause_field + ": ")}]


def test_validating_create_allows_good_objects_and_uses_the_node_limits(server, monkeypatch):
    for doc, path in ((VM, "/virtualmachines-validate"), (VMI, "/virtualmachineinstances-validate-create"),
                      (DV, "/datavolume-validate")):
        assert admit(server, path, "CREATE", doc)["allowed"] is True
    monkeypatch.setattr(server.resources, "limit", 1)   # a node offering the machine allows 1 vCPU; VMI asks 2 cores
    resp = admit(server, "/virtualmachineinstances-validate-create", "CREATE", VMI)
    assert resp["allowed"] is False and "supports at most 1 vCPUs" in resp["status"]["message"]
    assert resp["status"]["details"]["causes"][0]["field"] == "spec.domain.cpu"


def test_generate_name_and_namespace_come_from_the_request(server):
    doc = copy.deepcopy(VM)
    doc["metadata"] = {"generateName": "vm-"}
    body = review("CREATE", doc)
    body["request"].update(name="vm-x1y2z", namespace="ns1")
    status, out = post(server, "/virtualmachines-validate", body)
    assert status == 200 and out["response"]["allowed"] is True


def test_status_only_update_is_allowed_without_validation(server, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("validation ran")
    monkeypatch.setattr(validation, "validate", boom)
    monkeypatch.setattr(validation, "update", boom)
    calls = server.resources.calls
    for doc, path in ((VMI, "/virtualmachineinstances-validate-update"), (VM, "/virtualmachines-validate"),
                      (DV, "/datavolume-validate"), (VMI, "/virtualmachineinstances-mutate"),
                      (DV, "/datavolume-mutate")):
        new = copy.deepcopy(doc)
        new["status"] = {"phase": "Running"}
        new["metadata"]["labels"] = {"changed": "yes"}
        assert admit(server, path, "UPDATE", new, doc) == {"allowed": True, "uid": "req-1"}
    assert server.resources.calls == calls


def test_spec_update_is_validated(server):
    bad = with_change(VMI, "spec.domain.memory.guest", "lots")
    resp = admit(server, "/virtualmachineinstances-validate-update", "UPDATE", bad, VMI)
    assert resp["allowed"] is False and resp["status"]["message"] == grpc_message(bad)
    good = with_change(VMI, "spec.domain.memory.guest", "128Mi")
    assert admit(server, "/virtualmachineinstances-validate-update", "UPDATE", good, VMI)["allowed"] is True
    # validation.update: a DataVolume's spec is immutable
    dv = patched(DV, admit(server, "/datavolume-mutate", "CREATE", DV))
    grown = with_change(dv, "spec.pvc.resources.requests", {"storage": "2Gi"})
    resp = admit(server, "/datavolume-validate", "UPDATE", grown, dv)
    assert resp["allowed"] is False
    assert resp["status"]["message"] == "spec: Forbidden: DataVolume spec is immutable after creation"
    assert resp["status"]["details"]["causes"][0]["type"] == "FieldValueForbidden"


@pytest.mark.parametrize("op", ["DELETE", "CONNECT"])
def test_delete_and_connect_are_allowed(server, op):
    for path in admission.PATHS:
        assert admit(server, path, op, VM, VM) == {"allowed": True, "uid": "req-1"}


def test_dry_run_gets_the_same_answer(server):
    bad = with_change(VM, "spec.runStrategy", "Sometimes")
    for doc, path in ((VM, "/virtualmachines-mutate"), (bad, "/virtualmachines-validate")):
        assert admit(server, path, "CREATE", doc, dryRun=True) == admit(server, path, "CREATE", doc)


def test_http_edges(server, monkeypatch):
    assert post(server, "/nope", review("CREATE", VM))[0] == 404
    assert post(server, "/virtualmachines-validate", [1, 2])[0] == 400
    assert post(server, "/virtualmachines-validate", review("CREATE", VM), host="localhost")[0] == 200
    # a wrong kind on a path is denied, not crashed on
    status, body = post(server, "/virtualmachines-validate", review("CREATE", VMI))
    assert status == 200 and body["response"]["allowed"] is False
    # a request whose handling fails answers 500 in the review, and the server keeps serving
    monkeypatch.setattr(server.resources, "machine_limits", lambda: 1 / 0)
    status, body = post(server, "/virtualmachines-validate", review("CREATE", VM))
    assert status == 200 and body["response"]["status"]["code"] == 500
    # keep-alive: several reviews on one connection
    ctx = ssl.create_default_context(cadata=server.ca_bundle.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
    for _ in range(3):
        conn.request("POST", "/datavolume-validate", json.dumps(review("DELETE", DV)))
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["response"]["allowed"] is True
    conn.close()


# ---------------------------------------------------------------- certificates and registration

def test_cert_is_created_once_and_covers_the_service_names(tmp_path):
    d = str(tmp_path / "c")
    crt, key, ca = admission.load_or_create_cert(d)
    assert os.stat(key).st_mode & 0o777 == 0o600
    with open(crt, "rb") as f:
        cert = admission.x509.load_pem_x509_certificate(f.read())
    assert {"localhost", "127.0.0.1", "virt-api.kubevirt.svc", "virt-api.kubevirt.svc.cluster.local"} <= \
        admission._sans(cert)
    assert admission.load_or_create_cert(d) == (crt, key, ca)       # reused
    with open(crt, "rb") as f:
        assert f.read() == cert.public_bytes(admission.pki.serialization.Encoding.PEM)
    os.remove(os.path.join(d, "ca.crt"))                              # a new CA re-issues the serving cert
    _, _, ca2 = admission.load_or_create_cert(d)
    with open(crt, "rb") as f:
        admission.x509.load_pem_x509_certificate(f.read()).verify_directly_issued_by(
            admission.x509.load_pem_x509_certificate(ca2))
    assert ca2 != ca


def _hooks(config):
    return {w["name"]: w for w in config["webhooks"]}


def test_webhook_configurations():
    mut, val = admission.webhook_configurations(b"PEM", url="https://127.0.0.1:9443")
    assert (mut["kind"], mut["metadata"]["name"]) == ("MutatingWebhookConfiguration", "virt-api-mutator")
    assert (val["kind"], val["metadata"]["name"]) == ("ValidatingWebhookConfiguration", "virt-api-validator")
    paths = {n: w["clientConfig"]["url"] for n, w in {**_hooks(mut), **_hooks(val)}.items()}
    base = "https://127.0.0.1:9443"
    assert paths == {
        "virtualmachines-mutator.kubevirt.io": base + "/virtualmachines-mutate",
        "virtualmachineinstances-mutator.kubevirt.io": base + "/virtualmachineinstances-mutate",
        "datavolume-mutate.cdi.kubevirt.io": base + "/datavolume-mutate",
        "virtualmachine-validator.kubevirt.io": base + "/virtualmachines-validate",
        "virtualmachineinstances-create-validator.kubevirt.io": base + "/virtualmachineinstances-validate-create",
        "virtualmachineinstances-update-validator.kubevirt.io": base + "/virtualmachineinstances-validate-update",
        "datavolume-validate.cdi.kubevirt.io": base + "/datavolume-validate",
        # KubeVirt's instancetype validators (virt-api) and virt-operator's KubeVirt validators
        "virtualmachineinstancetype-validator.instancetype.kubevirt.io": base + "/virtualmachineinstancetypes-validate",
        "virtualmachineclusterinstancetype-validator.instancetype.kubevirt.io":
            base + "/virtualmachineclusterinstancetypes-validate",
        "virtualmachinepreference-validator.instancetype.kubevirt.io": base + "/virtualmachinepreferences-validate",
        "virtualmachineclusterpreference-validator.instancetype.kubevirt.io":
            base + "/virtualmachineclusterpreferences-validate",
        "kubevirt-create-validator.kubevirt.io": base + "/kubevirt-validate-create",
        "kubevirt-update-validator.kubevirt.io": base + "/kubevirt-validate-update",
        # KubeVirt's migration mutator and admitters
        "migrations-mutator.kubevirt.io": base + "/migration-mutate-create",
        "migration-create-validator.kubevirt.io": base + "/migration-validate-create",
        "migration-update-validator.kubevirt.io": base + "/migration-validate-update",
        "migration-policy-validator.kubevirt.io": base + "/migration-policy-validate-create",
        # KubeVirt's snapshot and restore admitters
        "virtualmachinesnapshot-validator.snapshot.kubevirt.io": base + "/virtualmachinesnapshots-validate",
        "virtualmachinerestore-validator.snapshot.kubevirt.io": base + "/virtualmachinerestores-validate",
    }
    for w in mut["webhooks"] + val["webhooks"]:
        assert (w["admissionReviewVersions"], w["sideEffects"], w["failurePolicy"], w["timeoutSeconds"]) == \
            (["v1"], "None", "Fail", 10)
        assert base64.b64decode(w["clientConfig"]["caBundle"]) == b"PEM"
        rule, = w["rules"]
        if "datavolume" in w["name"]:
            assert (rule["apiGroups"], rule["apiVersions"], rule["resources"]) == \
                (["cdi.kubevirt.io"], ["v1beta1"], ["datavolumes"])
        elif "instancetype.kubevirt.io" in w["name"]:   # v1beta1 alone is served
            assert rule["apiGroups"] == ["instancetype.kubevirt.io"] and rule["apiVersions"] == ["v1beta1"]
        elif w["name"].startswith("migration-policy"):   # migrations.kubevirt.io, v1alpha1 its only version
            assert (rule["apiGroups"], rule["apiVersions"], rule["resources"]) == \
                (["migrations.kubevirt.io"], ["v1alpha1"], ["migrationpolicies"])
        elif w["name"].endswith(".snapshot.kubevirt.io"):
            assert (rule["apiGroups"], rule["apiVersions"]) == (["snapshot.kubevirt.io"], ["v1beta1", "v1alpha1"])
        elif w["name"].startswith("kubevirt-"):
            assert (rule["apiGroups"], rule["apiVersions"], rule["resources"]) == (["kubevirt.io"], ["v1"], ["kubevirts"])
        else:
            assert rule["apiGroups"] == ["kubevirt.io"] and rule["apiVersions"] == ["v1", "v1alpha3"]
    vm = _hooks(val)["virtualmachine-validator.kubevirt.io"]["rules"][0]
    assert vm["operations"] == ["CREATE", "UPDATE"] and vm["resources"] == ["virtualmachines"]
    assert _hooks(val)["virtualmachineinstances-update-validator.kubevirt.io"]["rules"][0]["operations"] == ["UPDATE"]

    mut, val = admission.webhook_configurations(b"PEM")
    svc = _hooks(val)["virtualmachine-validator.kubevirt.io"]["clientConfig"]["service"]
    assert svc == {"namespace": "kubevirt", "name": "virt-api", "path": "/virtualmachines-validate", "port": 443}


def test_deploy_yaml_is_generated():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "base", "webhooks.yaml")
    with open(path) as f:
        text = f.read()
    assert text == admission.deploy_yaml(), "regenerate: python -m services.api.admission > deploy/base/webhooks.yaml"
    docs = manifest.load_documents(text)
    assert [d["kind"] for d in docs] == ["Service", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
    for d in docs[1:]:
        for w in d["webhooks"]:
            assert "caBundle" not in w["clientConfig"] and "namespace" not in w["clientConfig"]["service"]
    with open(os.path.join(os.path.dirname(path), "kustomization.yaml")) as f:
        assert "webhooks.yaml" in f.read()
