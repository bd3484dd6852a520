"""KubeVirt's subresource API through the real kube-apiserver (issue 16): the api serves
subresources.kubevirt.io/v1 behind an APIService; a request carries the caller's Kubernetes identity
(the aggregator's front-proxy headers) and is authorised with a SubjectAccessReview for it."""
import json
import os
import shutil
import socket
import ssl

import pytest

from cluster.conftest import ClusterMesh
from harness import short_tmpdir, vm_manifest

BASE = "/apis/subresources.kubevirt.io/v1"
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: test-vm-starter}
rules:
- apiGroups: [subresources.kubevirt.io]
  resources: [virtualmachines/start, virtualmachines/stop, virtualmachineinstances/pause,
              virtualmachineinstances/unpause]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: starter-may-start, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: test-vm-starter}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: starter}]
"""


@pytest.fixture
def aggregated_mesh(control_plane):
    if not control_plane.kube.request("GET", "/api/v1/nodes").get("items"):
        control_plane.create_node()
    d = short_tmpdir("vmagg-")
    m = ClusterMesh(d, "test:///default", control_plane, extra=("--subresources-listen", "127.0.0.1:0"))
    try:
        yield m
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def _put(cp, path: str, body: dict | None = None, kubeconfig: str | None = None):
    return cp.kubectl("replace", "--raw", f"{BASE}/{path}", "-f", "-", input=json.dumps(body or {}),
                      kubeconfig=kubeconfig, check=False)


def test_start_stop_pause_through_the_kube_apiserver_as_the_caller(aggregated_mesh):
    m, cp = aggregated_mesh, aggregated_mesh.cp
    cp.kubectl("apply", "-f", "-", input=ROLE)
    version = json.loads(cp.kubectl("get", "--raw", f"{BASE}/version").stdout)
    assert version["gitVersion"].startswith("v")
    assert json.loads(cp.kubectl("get", "--raw", f"{BASE}/healthz").stdout)["restful"] == "ok"
    resources = {r["name"] for r in json.loads(cp.kubectl("get", "--raw", BASE).stdout)["resources"]}
    assert {"virtualmachines/start", "virtualmachineinstances/pause", "virtualmachineinstances/console"} <= resources

    cp.kubectl("apply", "-f", "-", input=vm_manifest("agg", "Halted"))
    starter, nobody = cp.user_kubeconfig("starter"), cp.user_kubeconfig("nobody")
    # A user without the grant is refused by the review, with the apiserver's words.
    r = _put(cp, "namespaces/default/virtualmachines/agg/start", kubeconfig=nobody)
    assert r.returncode != 0 and 'User "nobody" cannot update resource "virtualmachines/start"' in r.stderr, r.stderr
    assert m.get("vmi", "agg") is None
    # The starter starts it (202, empty), pauses and unpauses its VMI, and stops it.
    r = _put(cp, "namespaces/default/virtualmachines/agg/start", kubeconfig=starter)
    assert r.returncode == 0, r.stderr
    m.wait_for(lambda: (m.get("vmi", "agg") or {}).get("status", {}).get("phase") == "Running", 60, "VMI Running")
    # KubeVirt's conflict for a second start.
    r = _put(cp, "namespaces/default/virtualmachines/agg/start", kubeconfig=starter)
    assert r.returncode != 0 and 'Operation cannot be fulfilled on virtualmachine.kubevirt.io "agg": ' \
        'VM is already running' in r.stderr, r.stderr
    assert _put(cp, "namespaces/default/virtualmachineinstances/agg/pause", {"dryRun": []},
                kubeconfig=starter).returncode == 0
    m.wait_for(lambda: any(c.get("type") == "Paused" for c in (m.get("vmi", "agg") or {}).get("status", {})
                           .get("conditions", [])), 30, "VMI Paused")
    assert _put(cp, "namespaces/default/virtualmachineinstances/agg/unpause", kubeconfig=starter).returncode == 0
    r = _put(cp, "namespaces/default/virtualmachines/agg/stop", {"gracePeriod": 0}, kubeconfig=starter)
    assert r.returncode == 0, r.stderr
    m.wait_for(lambda: m.get("vmi", "agg") is None, 60, "VMI gone")
    # A VM that does not exist, and a subresource KubeVirt does not have.
    r = _put(cp, "namespaces/default/virtualmachines/ghost/start")
    assert r.returncode != 0 and '(NotFound)' in r.stderr and '"ghost" not found' in r.stderr, r.stderr
    r = _put(cp, "namespaces/default/virtualmachines/agg/explode")
    assert r.returncode != 0 and "could not find the requested resource" in r.stderr, r.stderr


def test_only_the_aggregator_may_call_the_subresource_api(aggregated_mesh):
    """Straight to the api's port, past the kube-apiserver: no front-proxy certificate, no call (the
    X-Remote-User header alone would otherwise let anyone claim to be anyone)."""
    cp = aggregated_mesh.cp
    svc = cp.kube.request("GET", "/api/v1/namespaces/default/services/virt-api-subresources")
    port = svc["spec"]["ports"][0]["port"]
    anyone = ssl.create_default_context()
    anyone.check_hostname, anyone.verify_mode = False, ssl.CERT_NONE
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, anyone.wrap_socket(raw) as tls:
            tls.sendall(f"PUT {BASE}/namespaces/default/virtualmachines/agg/start HTTP/1.1\r\nHost: x\r\n"
                        "X-Remote-User: system:admin\r\nX-Remote-Group: system:masters\r\nContent-Length: 0\r\n\r\n"
                        .encode())
            if not tls.recv(1):
                raise ConnectionResetError("closed without an answer")


def console_socket(cp, namespace: str, name: str, kubeconfig: str | None = None, timeout: float = 10,
                   path: str = "virtualmachineinstances/{name}/console"):
    """A websocket to the VMI's console through the kube-apiserver (as virtctl opens it), as the
    kubeconfig's user (its client certificate)."""
    import base64
    import tempfile
    import websocket
    import yaml
    cfg = yaml.safe_load(open(kubeconfig or cp.kubeconfig))
    user = cfg["users"][0]["user"]
    server = cfg["clusters"][0]["cluster"]["server"]
    d = tempfile.mkdtemp(prefix="vmws-")
    files = {}
    for key, field in (("certfile", "client-certificate-data"), ("keyfile", "client-key-data")):
        files[key] = os.path.join(d, key)
        with open(files[key], "wb") as f:
            f.write(base64.b64decode(user[field]))
    url = server.replace("https://", "wss://") + f"{BASE}/namespaces/{namespace}/" + path.format(name=name)
    return websocket.create_connection(url, subprotocols=["plain.kubevirt.io"], timeout=timeout,
                                       sslopt={**files, "ca_certs": os.path.join(cp.dir, "pki", "ca.crt")})


def test_the_console_is_a_websocket_for_those_allowed(aggregated_mesh):
    import websocket
    m, cp = aggregated_mesh, aggregated_mesh.cp
    cp.kubectl("apply", "-f", "-", input=vm_manifest("con", "Always"))
    m.wait_for(lambda: (m.get("vmi", "con") or {}).get("status", {}).get("phase") == "Running", 60, "VMI Running")
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        console_socket(cp, "default", "con", kubeconfig=cp.user_kubeconfig("peeker"))
    assert e.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        console_socket(cp, "default", "nothere")
    assert e.value.status_code == 404
    ws = console_socket(cp, "default", "con")   # the admin: the upgrade is accepted with KubeVirt's protocol
    try:
        assert ws.getsubprotocol() == "plain.kubevirt.io"
        ws.send_binary(b"\r")   # keys go to the guest (the test driver has no serial port to answer)
        ws.ping()
    finally:
        ws.close()


def test_portforward_vnc_and_softreboot_through_the_kube_apiserver(aggregated_mesh):
    """KubeVirt's portforward/{port}[/{protocol}] and vnc websockets (on VMIs and VMs) and the softreboot
    PUT, authorised as the console is. The test driver's guest has no NIC and no display: the upgrade
    is accepted, then the stream ends, saying why in the api's log (real guests: tests/e2e/test_guest_access.py)."""
    import websocket
    m, cp = aggregated_mesh, aggregated_mesh.cp
    resources = {r["name"] for r in json.loads(cp.kubectl("get", "--raw", BASE).stdout)["resources"]}
    assert {"virtualmachineinstances/portforward", "virtualmachines/vnc", "virtualmachineinstances/softreboot"} \
        <= resources
    cp.kubectl("apply", "-f", "-", input=vm_manifest("fwd", "Always"))
    m.wait_for(lambda: (m.get("vmi", "fwd") or {}).get("status", {}).get("phase") == "Running", 60, "VMI Running")
    for path in ("virtualmachineinstances/{name}/portforward/22", "virtualmachineinstances/{name}/portforward/22/tcp",
                 "virtualmachines/{name}/vnc", "virtualmachineinstances/{name}/vnc"):
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            console_socket(cp, "default", "fwd", kubeconfig=cp.user_kubeconfig("peeker"), path=path)
        assert e.value.status_code == 403, path
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            console_socket(cp, "default", "nothere", path=path)
        assert e.value.status_code == 404, path
        ws = console_socket(cp, "default", "fwd", path=path)
        try:
            assert ws.getsubprotocol() == "plain.kubevirt.io"
            assert ws.recv_data()[0] == websocket.ABNF.OPCODE_CLOSE   # nothing to reach in this guest
        finally:
            ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        console_socket(cp, "default", "fwd", path="virtualmachineinstances/{name}/portforward/53/udp")
    assert e.value.status_code == 400
    r = _put(cp, "namespaces/default/virtualmachineinstances/nothere/softreboot")
    assert r.returncode != 0 and "NotFound" in r.stderr + r.stdout
    assert _put(cp, "namespaces/default/virtualmachineinstances/fwd/pause").returncode == 0
    m.wait_for(lambda: any(c["type"] == "Paused" for c in (m.get("vmi", "fwd") or {}).get("status", {})
                           .get("conditions", [])), 30, "Paused")
    r = _put(cp, "namespaces/default/virtualmachineinstances/fwd/softreboot")
    assert r.returncode != 0 and "VMI is paused" in r.stderr + r.stdout
