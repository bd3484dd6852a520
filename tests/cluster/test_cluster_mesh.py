"""`virtmesh up --kubeconfig` on a real kube-apiserver (libvirt's test driver; real QEMU is in
test_readme_cluster.py): kubectl and virtmesh share the objects, the api's webhooks admit kubectl's
writes, and every service survives kill -9 during a churn of VMs."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import yaml

from services.common import manifest, proto

from cluster.conftest import vm_uid_to_vmis
from harness import vm_manifest

pytestmark = pytest.mark.cluster



def columns(table: str) -> tuple[list[str], dict[str, list[str]]]:
    lines = table.strip().splitlines()
    return lines[0].split(), {line.split()[0]: line.split() for line in lines[1:]}


def test_kubectl_and_virtmesh_share_the_vms(cluster_mesh):
    cp = cluster_mesh.cp
    r = cp.kubectl("apply", "-f", "-", input=vm_manifest("shared"))
    assert "virtualmachine.kubevirt.io/shared created" in r.stdout
    cluster_mesh.wait_for(lambda: cluster_mesh.vm_status("shared") == "Running", 30, "VM Running")
    head, rows = columns(cp.kubectl("get", "vms").stdout)
    assert head == ["NAME", "AGE", "STATUS", "READY"] and rows["shared"][2:] == ["Running", "True"]
    head, rows = columns(cp.kubectl("get", "vmis").stdout)
    assert head == ["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"]
    assert rows["shared"][2:] == ["Running", "node01", "True"]
    assert cp.kubectl("get", "vm", "shared", "-o", "name").stdout.strip() == "virtualmachine.kubevirt.io/shared"
    head, rows = columns(cluster_mesh.cli("get", "vms").stdout)
    assert rows["shared"][2:] == ["Running", "True"]
    # Defaults are stored by the mutating webhook, as the gRPC path stores them: a VM without a
    # runStrategy is Halted (KubeVirt's VM mutator).
    cp.kubectl("apply", "-f", "-", input=vm_manifest("quiet").replace("  runStrategy: Always\n", ""))
    stored = yaml.safe_load(cp.kubectl("get", "vm", "quiet", "-o", "yaml").stdout)
    assert stored["spec"]["runStrategy"] == "Halted"
    cp.kubectl("delete", "vm", "quiet")
    # The handler labelled the kubelet's Node and beats on it; it did not replace it.
    node = yaml.safe_load(cp.kubectl("get", "node", "node01", "-o", "yaml").stdout)
    assert node["metadata"]["labels"]["kubevirt.io/schedulable"] == "true"
    assert node["metadata"]["annotations"]["kubevirt.io/heartbeat"]
    assert node["status"]["capacity"]["pods"] == "110"
    # virtmesh verbs act on the same objects.
    cluster_mesh.cli("stop", "shared")
    cluster_mesh.wait_for(lambda: cluster_mesh.vm_status("shared") == "Stopped", 30, "VM Stopped")
    cluster_mesh.wait_for(lambda: cp.kubectl("get", "vmi", "shared", check=False).returncode != 0, 30,
                          "VMI deleted")
    cluster_mesh.cli("start", "shared")
    cluster_mesh.wait_for(lambda: cluster_mesh.vm_status("shared") == "Running", 30, "VM Running again")
    cp.kubectl("delete", "vm", "shared")
    cluster_mesh.wait_for(lambda: not cluster_mesh.launcher_pids(), 30, "launcher gone")
    assert cp.kubectl("get", "vmi", "shared", check=False).returncode != 0
    # And the other way round: virtmesh writes, kubectl reads.
    r = cluster_mesh.cli("apply", "-f", "-", input=vm_manifest("fromcli"))
    assert "virtualmachine.kubevirt.io/fromcli created" in r.stdout
    cluster_mesh.wait_for(lambda: "Running" in cp.kubectl("get", "vm", "fromcli").stdout, 30, "kubectl sees it Running")
    cluster_mesh.cli("delete", "vm", "fromcli")
    assert cp.kubectl("get", "vm", "fromcli", check=False).returncode != 0


@pytest.mark.parametrize("change, field", [
    ({"spec": {"template": {"spec": {"domain": {"devicez": {}}}}}}, "spec.template.spec.domain.devicez"),
    ({"spec": {"runStrategy": 5}}, "spec.runStrategy"),
    ({"spec": {"runStrategy": "Sometimes"}}, "spec.runStrategy"),
    ({"spec": {"template": {"spec": {"domain": {"cpu": {"cores": "one"}}}}}}, "spec.template.spec.domain.cpu.cores"),
    ({"spec": {"template": {"spec": {"domain": {"resources": {"requests": {"memory": "64Zz"}}}}}}},
     "spec.template.spec.domain.resources.requests.memory"),
])
def test_kubectl_apply_of_a_bad_manifest_is_refused_with_the_field(cluster_mesh, change, field):
    cp = cluster_mesh.cp
    doc = manifest.load_documents(vm_manifest("bad"))[0]

    def merge(a, b):
        for k, v in b.items():
            a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
        return a
    r = cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(merge(doc, change)), check=False)
    assert r.returncode != 0
    assert field in r.stderr, r.stderr + cluster_mesh.logs_tail()
    assert cp.kubectl("get", "vm", "bad", check=False).returncode != 0  # nothing stored


def test_churn_with_kill_9_of_each_service(cluster_mesh):
    """50 VMs created and some deleted while api, controller and handler are each killed -9 once:
    every VM that remains ends with exactly one Running VMI, and every acknowledged create stands."""
    cp, m = cluster_mesh.cp, cluster_mesh
    acknowledged: list[str] = []
    deleted: set[str] = set()
    errors: list[str] = []

    def create(i: int) -> None:
        obj = manifest.to_object(manifest.load_documents(vm_manifest(f"churn{i:02d}"))[0])
        proto.inner(obj).metadata.namespace = "default"
        for _ in range(100):  # the webhooks are unreachable while the api restarts: retry like kubectl users
            try:
                cp.kube.create(obj)
                acknowledged.append(f"churn{i:02d}")
                return
            except Exception as e:  # noqa: BLE001 - retried
                last = e
                time.sleep(0.2)
        errors.append(f"churn{i:02d}: {last}")

    def creator():
        for i in range(50):
            create(i)
            if i % 10 == 9:  # churn: delete one of the earlier VMs
                name = f"churn{i - 5:02d}"
                try:
                    cp.kube.delete(cp.kube.get(proto.VM, "default", name))
                    deleted.add(name)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"delete {name}: {e}")
            time.sleep(0.05)

    t = threading.Thread(target=creator)
    t.start()
    for service in ("api", "controller", "handler"):
        time.sleep(1.5)
        pid = m.pid_of(service)
        assert pid, f"{service} not running"
        os.kill(pid, signal.SIGKILL)
        m.wait_for(lambda: m.pid_of(service) not in (0, pid), 20, f"{service} restarted")
    t.join(120)
    assert not errors, errors
    survivors = sorted(set(acknowledged) - deleted)
    assert len(acknowledged) == 50 and len(survivors) == 45

    def converged():
        vms = {proto.inner(o).metadata.name: proto.inner(o) for o in cp.kube.list(proto.VM, "default")[0]}
        by_vm = vm_uid_to_vmis(cp)
        bad = []
        for name in survivors:
            vm = vms.get(name)
            vmis = by_vm.get(vm.metadata.uid, []) if vm else []
            if vm is None or len(vmis) != 1 or vmis[0].status.phase != "Running":
                bad.append((name, vm is not None, [v.status.phase for v in vmis]))
        return not bad and set(vms) == set(survivors) and len(m.launcher_pids()) == len(survivors) or bad
    assert m.wait_for(lambda: converged() is True, 120, "every surviving VM with one Running VMI",
                      interval=1.0)


def test_webhook_registration_is_idempotent_and_takes_the_new_ca(control_plane):
    from services.api import admission
    cp = control_plane
    admission.ensure_registered(cp.kube.client, b"CA-ONE", url="https://127.0.0.1:1")
    admission.ensure_registered(cp.kube.client, b"CA-TWO", url="https://127.0.0.1:2")
    cfg = yaml.safe_load(cp.kubectl("get", "validatingwebhookconfiguration", "virt-api-validator", "-o", "yaml").stdout)
    import base64
    assert {base64.b64decode(w["clientConfig"]["caBundle"]) for w in cfg["webhooks"]} == {b"CA-TWO"}
    assert all(w["clientConfig"]["url"].startswith("https://127.0.0.1:2/") for w in cfg["webhooks"])
    cp.kubectl("delete", "validatingwebhookconfiguration", "virt-api-validator")
    cp.kubectl("delete", "mutatingwebhookconfiguration", "virt-api-mutator")


def test_real_pvcs_are_bound_by_the_node_and_used(cluster_mesh):
    """A core/v1 PVC applied with kubectl: the handler takes it (selected-node annotation), makes its image
    on this node and binds it; the VM waiting for it starts; deleting it removes the image."""
    cp, m = cluster_mesh.cp, cluster_mesh
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "withclaim"},
          "spec": {"runStrategy": "Always", "template": {"spec": {
              "terminationGracePeriodSeconds": 0,
              "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "data", "disk": {"bus": "scsi"}}]}},
              "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data1"}}]}}}}
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(vm))
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "8Mi"}}}}))
    m.wait_for(lambda: m.vm_status("withclaim") == "Running", 60, "Running once the claim is bound")
    pvc = yaml.safe_load(cp.kubectl("get", "pvc", "data1", "-o", "yaml").stdout)
    assert pvc["status"]["phase"] == "Bound" and pvc["status"]["capacity"]["storage"] == "8Mi"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node01"
    assert "kubernetes.io/pvc-protection" in pvc["metadata"]["finalizers"]   # the apiserver's own
    image = os.path.join(m.data_dir, "volumes", "default", f"data1-{pvc['metadata']['uid']}", "disk.img")
    assert os.path.getsize(image) == 8 << 20
    cp.kubectl("delete", "vm", "withclaim")
    m.wait_for(lambda: cp.kubectl("get", "vmi", "withclaim", check=False).returncode != 0, 30, "VMI gone")
    cp.kubectl("delete", "pvc", "data1", "--timeout=30s")
    assert not os.path.exists(image)
