"""The issue's whole story on real parts: a real kube-apiserver, `virtmesh up --kubeconfig`, `kubectl
apply -f examples/vm-demo.yaml`, a real QEMU guest printing its ready line, KubeVirt's columns in
`kubectl get`, the same objects in `virtmesh get`, and `kubectl delete` leaving nothing behind."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness import ROOT, short_tmpdir

from cluster.conftest import ClusterMesh
from cluster.test_subresource_api import console_socket
from e2e.conftest import GUESTS, domains, host_ready, remove_domains, serial_log  # noqa: F401 (fixture)

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]


def test_demo_vm_on_the_cluster(control_plane, host_ready):
    cp = control_plane
    cp.create_node()
    d = short_tmpdir("vmke2e-")
    with open(os.path.join(ROOT, "examples", "vm-demo.yaml")) as f:
        demo = f.read().replace("/var/cache/virtmesh/guests", GUESTS)
    m = ClusterMesh(d, "qemu:///system", cp, extra=("--subresources-listen", "127.0.0.1:0"))
    try:
        r = cp.kubectl("apply", "-f", "-", input=demo)
        assert "virtualmachine.kubevirt.io/demo created" in r.stdout
        m.wait_for(lambda: "VIRTMESH-READY demo" in serial_log(m, "demo"), 90, "the guest's ready line",
                   interval=0.5)
        vms = cp.kubectl("get", "vms").stdout.splitlines()
        assert vms[0].split() == ["NAME", "AGE", "STATUS", "READY"]
        assert vms[1].split()[0] == "demo" and vms[1].split()[2:] == ["Running", "True"]
        vmis = cp.kubectl("get", "vmis").stdout.splitlines()
        assert vmis[0].split() == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
        assert vmis[1].split()[0] == "demo" and vmis[1].split()[2:] == ["Running", "node01", "True"]
        mine = m.cli("get", "vms").stdout.splitlines()
        assert mine[1].split()[0] == "demo" and mine[1].split()[2:] == ["Running", "True"]
        # The console through the mesh's subresource, as virtctl would read it.
        out = m.cli("console", "demo", "--no-stdin", "--stop-after", "3", timeout=60).stdout
        assert "VIRTMESH" in out
        # And as virtctl reads it: KubeVirt's console subresource, a websocket through the kube-apiserver.
        ws = console_socket(cp, "default", "demo")
        try:
            seen = b""
            while b"VIRTMESH-TICK" not in seen:
                seen += ws.recv()
        finally:
            ws.close()
        uid = m.get("vmi", "demo")["metadata"]["uid"]
        assert "default_demo" in domains() and m.launcher_pids()

        cp.kubectl("delete", "vm", "demo")
        m.wait_for(lambda: not m.launcher_pids(), 60, "launcher gone")
        m.wait_for(lambda: "default_demo" not in domains(), 30, "libvirt domain gone")
        m.wait_for(lambda: cp.kubectl("get", "vmi", "demo", check=False).returncode != 0, 30, "VMI gone")
        qemu = subprocess.run(["pgrep", "-f", f"qemu-system.*{uid}"], capture_output=True, text=True).stdout
        assert not qemu.strip(), f"QEMU still running: {qemu}"
    finally:
        m.stop()
        remove_domains("default_demo")
        shutil.rmtree(d, ignore_errors=True)
