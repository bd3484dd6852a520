"""Events in cluster mode: the controller and handler record core/v1 Events in a real kube-apiserver, as
client-go's recorder writes them (involvedObject, source with the handler's host, first/lastTimestamp,
count counted on by a patch, reportingComponent), read back with the official client's typed API and
with kubectl itself (get events, describe vm)."""
from __future__ import annotations

import pytest
from kubernetes import client as k8s

from harness import vm_manifest

pytestmark = pytest.mark.cluster


def vm_events(core, name: str, kind: str) -> dict:
    listed = core.list_namespaced_event("default", field_selector=f"involvedObject.name={name},"
                                                                  f"involvedObject.kind={kind}")
    return {e.reason: e for e in listed.items}


def test_vm_lifecycle_events_are_core_v1_events(cluster_mesh):
    cp = cluster_mesh.cp
    core = k8s.CoreV1Api(cp.kube.client)
    cp.kubectl("apply", "-f", "-", input=vm_manifest("evc"))
    cluster_mesh.wait_for(lambda: cluster_mesh.vm_status("evc") == "Running", 60, "VM Running")
    vm_uid = cp.kubectl("get", "vm", "evc", "-o", "jsonpath={.metadata.uid}").stdout
    vmi_uid = cp.kubectl("get", "vmi", "evc", "-o", "jsonpath={.metadata.uid}").stdout
    cluster_mesh.wait_for(lambda: {"Created", "Started"} <= set(vm_events(core, "evc", "VirtualMachineInstance")),
                          30, "the handler's Events")
    create = vm_events(core, "evc", "VirtualMachine")["SuccessfulCreate"]
    assert (create.type, create.message, create.count) == (
        "Normal", "Started the virtual machine by creating the new virtual machine instance evc", 1)
    assert (create.source.component, create.source.host) == ("virtualmachine-controller", None)
    assert create.reporting_component == "virtualmachine-controller"
    ref = create.involved_object
    assert (ref.kind, ref.name, ref.namespace, ref.uid, ref.api_version) == (
        "VirtualMachine", "evc", "default", vm_uid, "kubevirt.io/v1")
    assert create.first_timestamp == create.last_timestamp and create.metadata.name.startswith("evc.")
    started = vm_events(core, "evc", "VirtualMachineInstance")["Started"]
    assert started.message == "VirtualMachineInstance started." and started.involved_object.uid == vmi_uid
    assert (started.source.component, started.source.host) == ("virt-handler", "node01")
    assert started.reporting_instance == "node01"

    # stop and start: the same SuccessfulCreate counts on (a patch of the same Event)
    cluster_mesh.cli("stop", "evc")
    cluster_mesh.wait_for(lambda: "SuccessfulDelete" in vm_events(core, "evc", "VirtualMachine"), 30,
                          "SuccessfulDelete")
    assert vm_events(core, "evc", "VirtualMachine")["SuccessfulDelete"].message == (
        f"Stopped the virtual machine by deleting the virtual machine instance {vmi_uid}")
    cluster_mesh.cli("start", "evc")
    cluster_mesh.wait_for(lambda: vm_events(core, "evc", "VirtualMachine")["SuccessfulCreate"].count == 2, 60,
                          "SuccessfulCreate x2")
    again = vm_events(core, "evc", "VirtualMachine")["SuccessfulCreate"]
    assert again.metadata.name == create.metadata.name and again.first_timestamp == create.first_timestamp
    assert again.last_timestamp >= create.last_timestamp
    patches = [a for a in cp.audit_writes() if a.get("objectRef", {}).get("resource") == "events"
               and a.get("verb") == "patch" and a.get("objectRef", {}).get("name") == create.metadata.name]
    assert patches and "virtmesh-controller" in patches[0].get("userAgent", "")

    # kubectl reads them as any cluster's Events
    table = cp.kubectl("get", "events", "--field-selector", "involvedObject.name=evc").stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(line.split()[1:4] == ["Normal", "SuccessfulCreate", "virtualmachine/evc"] for line in table)
    assert any("virtualmachineinstance/evc" in line and "VirtualMachineInstance started." in line for line in table)
    described = cp.kubectl("describe", "vm", "evc").stdout
    events = described[described.index("Events:"):]
    assert "SuccessfulCreate" in events and "(x2 over" in events and "virtualmachine-controller" in events
    # and so does virtmesh, on the same Events
    ours = cluster_mesh.cli("describe", "vm", "evc").stdout
    assert "(x2 over" in ours[ours.index("Events:"):]
    assert "virtualmachine/evc" in cluster_mesh.cli("get", "ev", "--field-selector", "involvedObject.name=evc").stdout
    cp.kubectl("delete", "vm", "evc")
