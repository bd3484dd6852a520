"""Live migration in cluster mode: VirtualMachineInstanceMigrations are custom resources in a real
kube-apiserver (the CRD, KubeVirt's columns, the mutating and validating webhooks), a real guest moves
between two libvirt nodes (tools/host.sh node) whose handlers run against the cluster, through kubectl
and through KubeVirt's migrate subresource (virtctl's path) behind the aggregator."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from cluster.conftest import ClusterMesh
from e2e.conftest import GUESTS, host_ready  # noqa: F401 (fixture)
from harness import ROOT, short_tmpdir
from migration_nodes import Nodes, prerequisites

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]

VM = f"""
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: roam}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        cpu: {{cores: 1}}
        memory: {{guest: 128Mi}}
        devices: {{autoattachSerialConsole: true}}
        firmware:
          kernelBoot:
            kernelArgs: "console=ttyS0 quiet panic=-1 virtmesh.marker=roam"
            container: {{image: "{GUESTS}/amd64", kernelPath: /kernel, initrdPath: /initrd.img}}
"""
VMIM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata: {{name: {name}}}
spec: {{vmiName: {vmi}}}
"""


def jsonpath(cp, kind: str, name: str, path: str) -> str:
    r = cp.kubectl("get", kind, name, "-o", f"jsonpath={path}", check=False)
    return r.stdout if r.returncode == 0 else ""


def test_a_guest_migrates_on_the_cluster(control_plane, host_ready, monkeypatch):
    why = prerequisites()
    if why:
        pytest.skip(why)
    cp = control_plane
    for name in ("node01", "node02"):
        if not cp.kube.request("GET", "/api/v1/nodes", query={"fieldSelector": f"metadata.name={name}"}
                               ).get("items"):
            cp.create_node(name)
    nodes = Nodes({"A": "192.0.2.1", "B": "192.0.2.2"})
    d, db = short_tmpdir("vmkmig-"), short_tmpdir("vmkmig-b-")
    handler = m = None
    try:
        monkeypatch.setenv("VIRTMESH_MIGRATION_ADDRESS", nodes.addresses["A"])   # node01's handler, under up
        m = ClusterMesh(d, nodes.uris["A"], cp, extra=("--subresources-listen", "127.0.0.1:0"))
        log = open(os.path.join(db, "handler.log"), "ab")
        handler = subprocess.Popen(
            [sys.executable, "-m", "services.handler", "--data-dir", db, "--kubeconfig", cp.kubeconfig,
             "--node-name", "node02", "--libvirt-uri", nodes.uris["B"], "--migration-address", nodes.addresses["B"]],
            cwd=ROOT, env=dict(m.env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        m.wait_for(lambda: jsonpath(cp, "node", "node02", "{.metadata.labels.virtmesh\\.io/migration-target}")
                   == "true", 60, "node02's handler")
        cp.kubectl("apply", "-f", "-", input=VM)
        m.wait_for(lambda: jsonpath(cp, "vmi", "roam", "{.status.phase}") == "Running", 90, "VMI Running")
        first = jsonpath(cp, "vmi", "roam", "{.status.nodeName}")
        assert jsonpath(cp, "vmi", "roam", "{.status.conditions[?(@.type=='LiveMigratable')].status}") == "True"

        # The webhooks refuse what KubeVirt's refuse, with its words.
        r = cp.kubectl("create", "-f", "-", input=VMIM.format(name="ghost", vmi="nope"), check=False)
        assert r.returncode != 0 and 'the VMI "default/nope" does not exist' in r.stderr, r.stderr

        # kubectl create: the mutator labels it and holds it with the finalizer; it succeeds.
        cp.kubectl("create", "-f", "-", input=VMIM.format(name="hop1", vmi="roam"))
        assert jsonpath(cp, "vmim", "hop1", "{.metadata.labels.kubevirt\\.io/vmi-name}") == "roam"
        m.wait_for(lambda: jsonpath(cp, "vmim", "hop1", "{.status.phase}") in ("Succeeded", "Failed"), 90,
                   "hop1 final")
        assert jsonpath(cp, "vmim", "hop1", "{.status.phase}") == "Succeeded"
        second = jsonpath(cp, "vmi", "roam", "{.status.nodeName}")
        assert second != first and second in ("node01", "node02")
        st = json.loads(jsonpath(cp, "vmi", "roam", "{.status.migrationState}"))
        assert (st["sourceNode"], st["targetNode"], st["completed"]) == (first, second, True)
        rows = cp.kubectl("get", "vmim").stdout.splitlines()
        assert rows[0].split() == ["NAME", "PHASE", "VMI"] and rows[1].split() == ["hop1", "Succeeded", "roam"]
        # A second one for the VMI while one is in flight is refused; the first is final here, so no.
        # Back through KubeVirt's migrate subresource, as virtctl migrate calls it.
        r = cp.kubectl("replace", "--raw", "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/"
                       "roam/migrate", "-f", "-", input="{}", check=False)
        assert r.returncode == 0, r.stderr
        m.wait_for(lambda: jsonpath(cp, "vmi", "roam", "{.status.nodeName}") == first
                   and jsonpath(cp, "vmi", "roam", "{.status.migrationState.completed}") == "true", 90,
                   "back on the first node")
        names = cp.kubectl("get", "vmim", "-o", "name").stdout.split()
        assert len(names) == 2 and any(n.startswith("virtualmachineinstancemigration.kubevirt.io/kubevirt-migrate-vm-")
                                       for n in names)
        # And with virtmesh's own verb, over the api's gRPC door on the cluster.
        r = m.cli("migrate", "roam")
        assert r.stdout.strip() == "VM roam was scheduled to migrate"
        m.wait_for(lambda: jsonpath(cp, "vmi", "roam", "{.status.nodeName}") == second, 90, "moved again")
        cp.kubectl("delete", "vm", "roam")
        m.wait_for(lambda: cp.kubectl("get", "vmi", "roam", check=False).returncode != 0, 60, "VMI gone")
    finally:
        if handler is not None and handler.poll() is None:
            handler.send_signal(signal.SIGTERM)
            try:
                handler.wait(15)
            except subprocess.TimeoutExpired:
                handler.kill()
        if m is not None:
            m.stop()
        nodes.close()
        shutil.rmtree(d, ignore_errors=True)
        import glob
        for f in glob.glob(os.path.join(db, "**", "*.log"), recursive=True):
            print("=====", f, "\n", open(f).read()[-4000:])
        shutil.rmtree(db, ignore_errors=True)
