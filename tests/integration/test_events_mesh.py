"""Events in a real standalone mesh (`virtmesh up`, libvirt's test driver): a VM started, stopped and
started again leaves KubeVirt's Events on the VM and its VMIs, deduplicated with a count, shown by
`virtmesh get events` (and `ev`, `--field-selector`, `-o wide`) and `virtmesh describe`."""
import json

from harness import TEST_DRIVER_VM


def events_json(mesh, *args) -> list[dict]:
    return json.loads(mesh.cli("get", "events", "-o", "json", *args).stdout)["items"]


def reasons(items, kind: str, name: str) -> dict[str, dict]:
    return {e["reason"]: e for e in items
            if e["involvedObject"]["kind"] == kind and e["involvedObject"]["name"] == name}


def test_vm_start_stop_records_kubevirts_events(mesh):
    mesh.cli("apply", "-f", "-", input=TEST_DRIVER_VM.format(name="evvm", strategy="Always"))
    mesh.wait_for(lambda: mesh.vm_status("evvm") == "Running", 30, "VM Running")
    vmi_uid = mesh.get("vmi", "evvm")["metadata"]["uid"]
    vm_uid = mesh.get("vm", "evvm")["metadata"]["uid"]
    mesh.wait_for(lambda: {"Created", "Started"} <= set(reasons(events_json(mesh), "VirtualMachineInstance",
                                                                     "evvm")), 15, "the handler's events")
    items = events_json(mesh)
    on_vm = reasons(items, "VirtualMachine", "evvm")
    create = on_vm["SuccessfulCreate"]
    assert (create["type"], create["message"], create["count"]) == (
        "Normal", "Started the virtual machine by creating the new virtual machine instance evvm", 1)
    assert create["source"] == {"component": "virtualmachine-controller"}
    assert create["reportingComponent"] == "virtualmachine-controller"
    assert create["involvedObject"]["uid"] == vm_uid and create["involvedObject"]["apiVersion"] == "kubevirt.io/v1"
    assert create["metadata"]["namespace"] == "default" and create["metadata"]["name"].startswith("evvm.")
    assert create["firstTimestamp"] == create["lastTimestamp"]
    on_vmi = reasons(items, "VirtualMachineInstance", "evvm")
    assert (on_vmi["Created"]["message"], on_vmi["Started"]["message"]) == (
        "VirtualMachineInstance defined.", "VirtualMachineInstance started.")
    assert on_vmi["Started"]["source"] == {"component": "virt-handler", "host": "node01"}
    assert on_vmi["Started"]["involvedObject"]["uid"] == vmi_uid

    mesh.cli("stop", "evvm")
    mesh.wait_for(lambda: mesh.get("vmi", "evvm") is None, 30, "VMI deleted")
    mesh.wait_for(lambda: "SuccessfulDelete" in reasons(events_json(mesh), "VirtualMachine", "evvm"), 15,
                  "SuccessfulDelete")
    items = events_json(mesh)
    delete = reasons(items, "VirtualMachine", "evvm")["SuccessfulDelete"]
    assert delete["message"] == f"Stopped the virtual machine by deleting the virtual machine instance {vmi_uid}"
    on_vmi = reasons(items, "VirtualMachineInstance", "evvm")
    # terminationGracePeriodSeconds: 0, so no ACPI request: the domain is killed at once
    assert "ShuttingDown" not in on_vmi, on_vmi
    deleted = {e["message"] for e in items if e["reason"] == "Deleted" and e["involvedObject"]["uid"] == vmi_uid}
    assert deleted == {"VirtualMachineInstance stopping", "Signaled Deletion"}   # killed, then undefined
    # a destroyed domain with ACPI is Failed (KubeVirt's calculateVmPhaseForStatusReason): "crashed", a Warning
    assert (on_vmi["Stopped"]["type"], on_vmi["Stopped"]["message"]) == ("Warning", "The VirtualMachineInstance crashed.")

    mesh.cli("start", "evvm")
    mesh.wait_for(lambda: mesh.vm_status("evvm") == "Running", 30, "VM Running again")
    mesh.wait_for(lambda: reasons(events_json(mesh), "VirtualMachine", "evvm")["SuccessfulCreate"]["count"] == 2,
                  15, "the same SuccessfulCreate counted twice")
    create2 = reasons(events_json(mesh), "VirtualMachine", "evvm")["SuccessfulCreate"]
    assert create2["metadata"]["name"] == create["metadata"]["name"]
    assert create2["firstTimestamp"] == create["firstTimestamp"]
    # the new VMI (a new uid) has Events of its own
    new_uid = mesh.get("vmi", "evvm")["metadata"]["uid"]
    mesh.wait_for(lambda: any(e["involvedObject"]["uid"] == new_uid and e["reason"] == "Started"
                              for e in events_json(mesh)), 15, "the new VMI's Started")

    # pause and unpause, recorded by the handler once the launcher did them
    mesh.cli("pause", "vmi", "evvm")
    mesh.wait_for(lambda: mesh.vm_status("evvm") == "Paused", 30, "VM Paused")
    mesh.cli("unpause", "vmi", "evvm")
    mesh.wait_for(lambda: {"Paused", "Unpaused"} <= {e["reason"] for e in events_json(mesh)
                                                    if e["involvedObject"]["uid"] == new_uid}, 15, "pause events")
    paused = reasons([e for e in events_json(mesh) if e["involvedObject"]["uid"] == new_uid],
                     "VirtualMachineInstance", "evvm")
    assert (paused["Paused"]["message"], paused["Unpaused"]["message"]) == (
        "VirtualMachineInstance paused", "VirtualMachineInstance unpaused")

    # kubectl's table, its short name, a field selector
    table = mesh.cli("get", "ev").stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(line.split()[1:4] == ["Normal", "SuccessfulCreate", "virtualmachine/evvm"] for line in table[1:])
    assert any("virtualmachineinstance/evvm" in line and "VirtualMachineInstance stopping" in line for line in table)
    selected = mesh.cli("get", "events", "--field-selector", "involvedObject.kind=VirtualMachine,"
                        "reason=SuccessfulCreate").stdout.splitlines()
    assert len(selected) == 2 and "Started the virtual machine" in selected[1]
    wide = mesh.cli("get", "events", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:9] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
                                   "FIRST"]
    assert any("virt-handler, node01" in line for line in wide)
    r = mesh.cli("get", "events", "--field-selector", "spec.x=1", check=False)
    assert r.returncode != 0 and "field label not supported: spec.x" in r.stderr
    assert "No resources found in other namespace." in mesh.cli("get", "events", "-n", "other").stderr

    # describe: kubectl's Events table, a repeated event as "(x2 over …)"
    out = mesh.cli("describe", "vm", "evvm").stdout
    lines = out[out.index("\nEvents:\n"):].splitlines()[2:]
    assert lines[0].split() == ["Type", "Reason", "Age", "From", "Message"]
    row = next(line for line in lines if "SuccessfulCreate" in line)
    assert "(x2 over " in row and "virtualmachine-controller" in row
    assert any("SuccessfulDelete" in line for line in lines)
    out = mesh.cli("describe", "vmi", "evvm").stdout
    assert "Started" in out[out.index("\nEvents:\n"):] and "virt-handler" in out[out.index("\nEvents:\n"):]
