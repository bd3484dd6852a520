"""Cluster mode against a real control plane: etcd + kube-apiserver from tools/kube.sh (built from
their Go modules once per machine), one fresh plane per test module on free loopback ports, its etcd
on tmpfs. Nodes are created by the tests, as the kubelet would register them."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile

import pytest

import kubelet_standin
from harness import ROOT, Mesh, short_tmpdir
from services.cli.up import install_crds
from services.common import kube, proto

NODE = "node01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kube_pki():
    """tools/kube_pki.py (the plane's certificates and kubeconfigs), which is no package."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("kube_pki", os.path.join(ROOT, "tools", "kube_pki.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ControlPlane:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="vmkube-", dir="/tmp")
        # A free port is free only until someone else binds it (other tests start servers meanwhile):
        # when the plane could not bind its ports, try again with others.
        for attempt in range(3):
            self.env = dict(os.environ, VIRTMESH_KUBE_DIR=self.dir, VIRTMESH_KUBE_PORT=str(_free_port()),
                            VIRTMESH_ETCD_PORT=str(_free_port()))
            r = subprocess.run(["bash", "tools/kube.sh", "start"], cwd=ROOT, env=self.env, capture_output=True,
                               text=True, timeout=3600)
            if r.returncode == 0:
                break
            logs = "".join(open(os.path.join(self.dir, f)).read() for f in ("apiserver.log", "etcd.log")
                           if os.path.exists(os.path.join(self.dir, f)))
            if "address already in use" not in logs or attempt == 2:
                raise RuntimeError(f"tools/kube.sh start failed: {r.stderr[-3000:]}")
            subprocess.run(["bash", "tools/kube.sh", "stop"], cwd=ROOT, env=self.env, capture_output=True, timeout=60)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.bin = subprocess.run(["bash", "tools/kube.sh", "bin"], cwd=ROOT, env=self.env, capture_output=True,
                                  text=True, check=True).stdout.strip()
        self.kube = kube.Kube(kube.api_client(self.kubeconfig))
        install_crds(self.kubeconfig)

    def kubectl(self, *args, input: str | None = None, check: bool = True,
                kubeconfig: str | None = None) -> subprocess.CompletedProcess:
        """kubectl as the admin, or as whoever `kubeconfig` names."""
        r = subprocess.run([os.path.join(self.bin, "kubectl"), "--kubeconfig", kubeconfig or self.kubeconfig, *args],
                           capture_output=True, text=True, input=input, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {r.stderr}")
        return r

    def create_node(self, name: str = NODE) -> None:
        """What the kubelet registers (and the node lifecycle controller makes schedulable)."""
        kubelet_standin.register_node(self.kube.request, name)

    def user_kubeconfig(self, user: str, groups: tuple[str, ...] = ()) -> str:
        """A kubeconfig for `user` in `groups` on this plane (a client certificate from its CA)."""
        return _kube_pki().user_kubeconfig(self.dir, user, groups)

    def service_account_kubeconfig(self, namespace: str, name: str) -> str:
        """A kubeconfig with a token of ServiceAccount `namespace/name` (a TokenRequest, as the kubelet
        gets one for a pod of that account)."""
        out = self.kube.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                      "spec": {"expirationSeconds": 3600}})
        return _kube_pki().token_kubeconfig(self.dir, f"system:serviceaccount:{namespace}:{name}",
                                            out["status"]["token"])

    def audit_writes(self) -> list[dict]:
        import json
        with open(os.path.join(self.dir, "audit.log")) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self) -> None:
        self.kube.close()
        subprocess.run(["bash", "tools/kube.sh", "stop"], cwd=ROOT, env=self.env, capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def control_plane():
    cp = ControlPlane()
    try:
        yield cp
    finally:
        cp.stop()


class ClusterMesh(Mesh):
    """`virtmesh up --kubeconfig`: the CLI it is driven with selects the cluster through KUBECONFIG."""

    def __init__(self, data_dir: str, libvirt_uri: str, cp: ControlPlane, extra=()):
        self.cp = cp
        # The webhooks take only the kube-apiserver's calls (its webhook client certificate, from the
        # plane's CA: tools/kube_pki.py).
        super().__init__(data_dir, libvirt_uri, extra=(
            "--kubeconfig", cp.kubeconfig, "--webhook-client-ca", os.path.join(cp.dir, "pki", "ca.crt"), *extra),
            env={"KUBECONFIG": cp.kubeconfig})
        # The Node may carry an earlier mesh's labels: wait for this one (its api answers once the
        # kube-apiserver calls its webhooks) and for its handler.
        self.wait_for(lambda: b"mesh is up" in open(os.path.join(data_dir, "up.log"), "rb").read(), 60, "mesh up")
        self.wait_for(lambda: b"handler serving" in open(os.path.join(data_dir, "logs", "handler.log"), "rb").read(),
                      60, "handler serving")


@pytest.fixture
def cluster_mesh(control_plane):
    """A cluster-mode mesh on libvirt's test driver, for node01 (created first, as a kubelet would)."""
    if not control_plane.kube.request("GET", "/api/v1/nodes").get("items"):
        control_plane.create_node()
    d = short_tmpdir("vmkm-")
    m = ClusterMesh(d, "test:///default", control_plane)
    try:
        yield m
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def vm_uid_to_vmis(cp: ControlPlane, namespace: str = "default") -> dict[str, list]:
    """VM uid -> the VMIs it controls (ownerReferences), read from the kube-apiserver."""
    out: dict[str, list] = {}
    for obj in cp.kube.list(proto.VMI, namespace)[0]:
        vmi = proto.inner(obj)
        for ref in vmi.metadata.ownerReferences:
            if ref.kind == "VirtualMachine" and ref.controller:
                out.setdefault(ref.uid, []).append(vmi)
    return out
