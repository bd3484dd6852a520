"""Cluster mode (issue 13): what the api serves itself is authorised by the cluster's RBAC — a
SubjectAccessReview for the caller of its TCP door (a mesh certificate names the user and groups),
with the kube-apiserver's refusal text; the mesh's own services act for the mesh."""
import os
import shutil
import socket
import ssl
import urllib.parse

import pytest

from cluster.conftest import ClusterMesh
from harness import short_tmpdir, vm_manifest
from services.common import authz, proto

ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: test-vm-operator}
rules:
- apiGroups: [kubevirt.io]
  resources: [virtualmachines, virtualmachineinstances]
  verbs: [get, list, watch]
- apiGroups: [subresources.kubevirt.io]
  resources: [virtualmachineinstances/pause, virtualmachineinstances/unpause]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: erin-operates-vms, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: test-vm-operator}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: erin}]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tls_cluster_mesh(control_plane):
    if not control_plane.kube.request("GET", "/api/v1/nodes").get("items"):
        control_plane.create_node()
    d = short_tmpdir("vmkz-")
    port = _free_port()
    m = ClusterMesh(d, "test:///default", control_plane, extra=("--api-listen", f"127.0.0.1:{port}"))
    m.api_port = port
    try:
        yield m
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_the_clusters_rbac_decides_what_a_certificate_holder_may_do(tls_cluster_mesh):
    m, cp = tls_cluster_mesh, tls_cluster_mesh.cp
    cp.kubectl("apply", "-f", "-", input=ROLE)
    cp.kubectl("apply", "-f", "-", input=vm_manifest("rbac", "Always"))
    m.wait_for(lambda: (m.get("vmi", "rbac") or {}).get("status", {}).get("phase") == "Running", 60, "VMI Running")
    for user in ("alice", "erin"):
        m.cli("certs", "issue", user, "--group", "virtmesh", "--out", os.path.join(m.data_dir, user))

    def as_user(user, *args):
        # No kubeconfig: everything goes through the api's TCP door, as the user.
        env_cli = ["--kubeconfig", "", "--api", f"127.0.0.1:{m.api_port}", "--certs", os.path.join(m.data_dir, user)]
        return m.cli(*env_cli, *args, check=False)

    # alice has no binding: even the mesh's admin group means nothing to the cluster.
    r = as_user("alice", "pause", "vmi", "rbac")
    assert r.returncode != 0 and "Forbidden" in r.stderr
    assert ('virtualmachineinstances.subresources.kubevirt.io "rbac" is forbidden: User "alice" cannot update '
            'resource "virtualmachineinstances/pause" in API group "subresources.kubevirt.io" in the namespace '
            '"default"') in r.stderr, r.stderr
    r = as_user("alice", "get", "vm", "rbac", "-o", "name")
    assert r.returncode != 0 and 'User "alice" cannot get resource "virtualmachines"' in r.stderr, r.stderr

    # erin may read and pause, not stop or delete.
    r = as_user("erin", "get", "vm", "rbac", "-o", "name")
    assert r.returncode == 0 and r.stdout.strip() == "virtualmachine.kubevirt.io/rbac", r.stderr
    r = as_user("erin", "pause", "vmi", "rbac")
    assert r.returncode == 0, r.stderr
    m.wait_for(lambda: any(c.get("type") == "Paused" for c in (m.get("vmi", "rbac") or {}).get("status", {})
                           .get("conditions", [])), 30, "VMI Paused")
    r = as_user("erin", "stop", "rbac")
    assert r.returncode != 0 and 'cannot update resource "virtualmachines/stop"' in r.stderr, r.stderr
    r = as_user("erin", "delete", "vm", "rbac")
    assert r.returncode != 0 and 'cannot delete resource "virtualmachines"' in r.stderr, r.stderr
    assert m.get("vm", "rbac") is not None


def test_resource_attributes_of_each_call():
    """The mapping a review is asked with (units of what the e2e above exercises)."""
    req = proto.api.VolumeRequest(kind=proto.VM, namespace="ns", name="v")
    assert authz.resource_attributes("/virtmesh.v1.Subresources/AddVolume", req) == {
        "verb": "update", "group": "subresources.kubevirt.io", "resource": "virtualmachines",
        "subresource": "addvolume", "namespace": "ns", "name": "v"}
    con = proto.api.ConsoleRequest(name="v")
    assert authz.resource_attributes("/virtmesh.v1.Subresources/Console", con)["verb"] == "get"
    lst = proto.api.ListRequest(kind=proto.NODE)
    assert authz.resource_attributes("/virtmesh.v1.Resources/List", lst) == {
        "verb": "list", "group": "", "resource": "nodes", "namespace": "", "name": ""}
    assert authz.forbidden_message("bob", {"verb": "list", "group": "", "resource": "nodes", "namespace": "",
                                           "name": ""}) == \
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'


def test_the_webhooks_serve_only_the_kube_apiserver(tls_cluster_mesh):
    """A caller without the apiserver's webhook client certificate is refused at the handshake; the
    apiserver's own calls still admit and refuse (a bad runStrategy is denied by the webhook)."""
    cp = tls_cluster_mesh.cp
    cfg = cp.kube.request("GET", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/"
                                 "virt-api-validator")
    url = cfg["webhooks"][0]["clientConfig"]["url"]
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    anyone = ssl.create_default_context()
    anyone.check_hostname, anyone.verify_mode = False, ssl.CERT_NONE
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection((host, port), timeout=5) as raw, \
                anyone.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(b"POST /virtualmachines-validate-create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            if not tls.recv(1):
                raise ConnectionResetError("closed without an answer")
    r = cp.kubectl("apply", "-f", "-", input=vm_manifest("badrs", "Always").replace("Always", "Sometimes"),
                   check=False)
    assert r.returncode != 0 and "runStrategy" in r.stderr, r.stderr
