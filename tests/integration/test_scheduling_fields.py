"""The scheduling fields of KubeVirt 1.6's VMI spec on a real mesh (test driver; issue 14, item 4): a
tainted node takes only VMIs that tolerate the taint, a required node affinity waits for a node that
matches and is placed once the node's labels change, and the reasons show in the VMI's PodScheduled
condition with Kubernetes' words."""
from __future__ import annotations

import grpc
import yaml

from services.common import proto

NODE = "node01"


def vm(name: str, **spec) -> str:
    return yaml.safe_dump({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
                           "spec": {"runStrategy": "Always", "template": {"spec": {
                               "terminationGracePeriodSeconds": 0, "priorityClassName": "batch",
                               "domain": {"resources": {"requests": {"memory": "64Mi"}}, "devices": {}}, **spec}}}})


def change_node(mesh, change) -> None:
    """Read-modify-write the Node as an admin would (the handler's heartbeat may race: retry)."""
    ch = grpc.insecure_channel(f"unix://{mesh.data_dir}/run/api.sock")
    res = proto.api_grpc.ResourcesStub(ch)
    for _ in range(30):
        obj = res.Get(proto.api.GetRequest(ref=proto.api.ObjectRef(kind=proto.NODE, name=NODE)))
        change(obj.node)
        try:
            res.Update(proto.api.UpdateRequest(object=obj))
            return
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ABORTED:
                raise
    raise AssertionError("node update kept conflicting")


def scheduled_condition(mesh, name: str) -> dict:
    vmi = mesh.get("vmi", name) or {}
    return next((c for c in vmi.get("status", {}).get("conditions", []) if c["type"] == "PodScheduled"), {})


def test_taints_tolerations_and_node_affinity_on_a_mesh(mesh):
    change_node(mesh, lambda n: n.spec.taints.add(key="dedicated", value="db", effect="NoSchedule"))
    node = mesh.get("node", NODE)
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]

    mesh.cli("apply", "-f", "-", input=vm("plain"))
    mesh.cli("apply", "-f", "-", input=vm("tolerant", tolerations=[
        {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]))
    mesh.wait_for(lambda: mesh.vmi_phase("tolerant") == "Running", 30, "tolerant Running")
    mesh.wait_for(lambda: scheduled_condition(mesh, "plain").get("status") == "False", 30, "plain unschedulable")
    assert scheduled_condition(mesh, "plain")["message"] == (
        "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: db}.")
    assert mesh.vmi_phase("plain") == "Scheduling"
    assert mesh.get("vmi", "tolerant")["spec"]["priorityClassName"] == "batch"   # kept on the VMI

    # The taint goes: the waiting VMI is placed (node changes requeue Scheduling VMIs).
    change_node(mesh, lambda n: n.spec.ClearField("taints"))
    mesh.wait_for(lambda: mesh.vmi_phase("plain") == "Running", 30, "plain Running once untainted")

    mesh.cli("apply", "-f", "-", input=vm("zoned", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["z1"]}]}]}}}))
    mesh.wait_for(lambda: scheduled_condition(mesh, "zoned").get("status") == "False", 30, "zoned unschedulable")
    assert scheduled_condition(mesh, "zoned")["message"] == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
    change_node(mesh, lambda n: n.metadata.labels.update({"topology.kubernetes.io/zone": "z1"}))
    mesh.wait_for(lambda: mesh.vmi_phase("zoned") == "Running", 30, "zoned Running once the node is in z1")
    assert mesh.get("vmi", "zoned")["status"]["nodeName"] == NODE
