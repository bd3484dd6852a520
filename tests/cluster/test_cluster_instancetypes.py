"""Instance types and preferences in cluster mode: KubeVirt 1.6's CRDs of the four kinds in a real
kube-apiserver (v1beta1 served, the alphas not), kubectl's short names, the api's webhooks refusing
conflicts and missing references, and a VM sized by a cluster instancetype going Running on libvirt's
test driver with its copies in real apps/v1 ControllerRevisions."""
from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.cluster

OBJECTS = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata:
  name: n1.small
  labels: {instancetype.kubevirt.io/vendor: kubevirt.io}
spec:
  cpu: {guest: 2}
  memory: {guest: 128Mi}
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterPreference
metadata: {name: threads}
spec:
  cpu: {preferredCPUTopology: threads}
  devices: {preferredDiskBus: virtio}
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachinePreference
metadata: {name: ns-pref, namespace: default}
spec:
  preferredTerminationGracePeriodSeconds: 0
"""


def vm(name: str, extra_domain: str = "") -> str:
    return f"""
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}}}
spec:
  runStrategy: Always
  instancetype: {{name: n1.small}}
  preference: {{name: threads}}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        devices: {{}}{extra_domain}
"""


def test_crds_serve_v1beta1_only_and_take_kubectls_short_names(control_plane):
    cp = control_plane
    crd = json.loads(cp.kubectl("get", "crd", "virtualmachineclusterpreferences.instancetype.kubevirt.io",
                                "-o", "json").stdout)
    assert [(v["name"], v["served"], v["storage"]) for v in crd["spec"]["versions"]] == [
        ("v1beta1", True, True), ("v1alpha1", False, False), ("v1alpha2", False, False)]
    assert crd["spec"]["names"]["shortNames"] == ["vmcp", "vmcps"]
    for short in ("vmf", "vmcf", "vmpref", "vmcp", "kv"):
        cp.kubectl("get", short, "-A")   # kubectl resolves every short name through discovery
    alpha = OBJECTS.split("---")[0].replace("v1beta1", "v1alpha2").replace("n1.small", "alpha")
    r = cp.kubectl("apply", "-f", "-", input=alpha, check=False)
    assert r.returncode != 0 and 'no matches for kind "VirtualMachineClusterInstancetype" in version ' \
        '"instancetype.kubevirt.io/v1alpha2"' in r.stderr


def test_a_vm_sized_by_a_cluster_instancetype_runs(cluster_mesh):
    cp, m = cluster_mesh.cp, cluster_mesh
    r = cp.kubectl("apply", "-f", "-", input=OBJECTS)
    assert "virtualmachineclusterinstancetype.instancetype.kubevirt.io/n1.small created" in r.stdout
    # The api's webhooks refuse what KubeVirt's do, naming the field.
    r = cp.kubectl("apply", "-f", "-", input=vm("clash", "\n        memory: {guest: 1Gi}"), check=False)
    assert r.returncode != 0
    assert "VM field(s) spec.template.spec.domain.memory conflicts with selected instance type" in r.stderr
    r = cp.kubectl("apply", "-f", "-", input=vm("lost").replace("n1.small", "n1.gone"), check=False)
    assert r.returncode != 0 and "spec.instancetype" in r.stderr and "Failure to find instancetype" in r.stderr
    r = cp.kubectl("apply", "-f", "-", input="""
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: gpu, namespace: default}
spec:
  cpu: {guest: 1}
  memory: {guest: 1Gi}
  gpus: [{name: g1, deviceName: nvidia.com/A100}]
""", check=False)
    assert r.returncode != 0 and "spec.gpus" in r.stderr
    assert cp.kubectl("get", "vm", "clash", check=False).returncode != 0

    cp.kubectl("apply", "-f", "-", input=vm("sized"))
    m.wait_for(lambda: m.vm_status("sized") == "Running", 60, "VM Running")
    vmi = yaml.safe_load(cp.kubectl("get", "vmi", "sized", "-o", "yaml").stdout)
    cpu = vmi["spec"]["domain"]["cpu"]
    assert (cpu["sockets"], cpu["cores"], cpu["threads"]) == (1, 1, 2)          # the preference's threads
    assert vmi["spec"]["domain"]["memory"]["guest"] == "128Mi"
    assert vmi["metadata"]["annotations"]["kubevirt.io/cluster-instancetype-name"] == "n1.small"
    stored = yaml.safe_load(cp.kubectl("get", "vm", "sized", "-o", "yaml").stdout)
    assert stored["spec"]["instancetype"] == {"name": "n1.small", "kind": "virtualmachineclusterinstancetype"}
    assert "cpu" not in stored["spec"]["template"]["spec"]["domain"]                # the spec is not mutated
    rev = stored["status"]["instancetypeRef"]["controllerRevisionRef"]["name"]
    assert rev.startswith("sized-n1.small-v1beta1-") and rev.endswith("-1")
    # A real apps/v1 ControllerRevision, owned by the VM, holding the object.
    cr = json.loads(cp.kubectl("get", "controllerrevision", rev, "-o", "json").stdout)
    assert cr["apiVersion"] == "apps/v1" and cr["metadata"]["ownerReferences"][0]["name"] == "sized"
    assert cr["data"]["spec"] == {"cpu": {"guest": 2}, "memory": {"guest": "128Mi"}}
    assert cr["metadata"]["labels"]["instancetype.kubevirt.io/object-name"] == "n1.small"
    # An edit of the instance type does not reach the VM: a restart keeps the stored copy.
    cp.kubectl("patch", "vmcf", "n1.small", "--type", "merge", "-p", '{"spec": {"cpu": {"guest": 4}}}')
    m.cli("restart", "sized")
    m.wait_for(lambda: (yaml.safe_load(cp.kubectl("get", "vmi", "sized", "-o", "yaml", check=False).stdout or "{}")
                        or {}).get("metadata", {}).get("uid") not in (None, vmi["metadata"]["uid"])
               and m.vm_status("sized") == "Running", 60, "restarted")
    again = yaml.safe_load(cp.kubectl("get", "vmi", "sized", "-o", "yaml").stdout)
    assert again["spec"]["domain"]["cpu"]["threads"] == 2
    cp.kubectl("delete", "vm", "sized")
    m.wait_for(lambda: cp.kubectl("get", "controllerrevision", rev, check=False).returncode != 0, 30,
               "revisions collected")
