"""The real mesh: `virtmesh up` runs api, controller and handler as processes; each VMI gets a
launcher process; libvirt is the built-in test driver (real QEMU is in tests/e2e)."""
import json
import os
import signal
import time

from harness import TEST_DRIVER_VM

VM = TEST_DRIVER_VM  # formatted with name= and strategy=


def apply(mesh, name="testvm", strategy="Always"):
    r = mesh.cli("apply", "-f", "-", input=VM.format(name=name, strategy=strategy))
    assert f"virtualmachine.kubevirt.io/{name} created" in r.stdout


def wait_status(mesh, name, status, timeout=30):
    mesh.wait_for(lambda: mesh.vm_status(name) == status, timeout, f"VM {name} {status}")


def test_vm_lifecycle_through_the_cli(mesh):
    apply(mesh)
    wait_status(mesh, "testvm", "Running")
    vmi = mesh.get("vmi", "testvm")
    assert vmi["status"]["phase"] == "Running" and vmi["status"]["nodeName"] == "node01"
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == "node01"
    assert [t["phase"] for t in vmi["status"]["phaseTransitionTimestamps"]] == [
        "Pending", "Scheduling", "Scheduled", "Running"]
    assert len(mesh.launcher_pids()) == 1
    table = mesh.cli("get", "vms").stdout
    assert table.split("\n")[0].split() == ["NAME", "AGE", "STATUS", "READY"]
    assert table.split("\n")[1].split()[2:] == ["Running", "True"]

    # stop: Always -> Halted, the VMI goes away, the launcher exits
    assert "VM testvm was scheduled to stop" in mesh.cli("stop", "testvm").stdout
    wait_status(mesh, "testvm", "Stopped")
    mesh.wait_for(lambda: mesh.get("vmi", "testvm") is None, 15, "VMI deleted")
    mesh.wait_for(lambda: not mesh.launcher_pids(), 15, "launcher gone")
    assert mesh.get("vm", "testvm")["spec"]["runStrategy"] == "Halted"
    r = mesh.cli("stop", "testvm", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "Error from server (Conflict): VM is not running"

    # start again
    mesh.cli("start", "testvm")
    wait_status(mesh, "testvm", "Running")
    r = mesh.cli("start", "testvm", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "Error from server (Conflict): VM is already running"

    # restart: a new VMI (new uid) replaces the old one
    old_uid = mesh.get("vmi", "testvm")["metadata"]["uid"]
    mesh.cli("restart", "testvm")
    mesh.wait_for(lambda: (mesh.get("vmi", "testvm") or {}).get("metadata", {}).get("uid") not in (None, old_uid)
                  and mesh.vmi_phase("testvm") == "Running", 30, "restarted VMI running")
    assert mesh.get("vm", "testvm")["status"].get("stateChangeRequests") is None

    # pause / unpause
    assert "VMI testvm was scheduled to pause" in mesh.cli("pause", "vm", "testvm").stdout
    wait_status(mesh, "testvm", "Paused")
    r = mesh.cli("pause", "vmi", "testvm", check=False)
    assert r.stderr.strip() == "Error from server (Conflict): VMI is already paused"
    mesh.cli("unpause", "vmi", "testvm")
    wait_status(mesh, "testvm", "Running")

    # delete: VM, VMI and launcher all go
    assert 'virtualmachine.kubevirt.io "testvm" deleted' in mesh.cli("delete", "vm", "testvm").stdout
    mesh.wait_for(lambda: mesh.get("vmi", "testvm") is None and mesh.get("vm", "testvm") is None, 20,
                  "VM and VMI deleted")
    mesh.wait_for(lambda: not mesh.launcher_pids(), 15, "launcher gone")


def test_killed_launcher_fails_vmi_and_always_restarts(mesh):
    apply(mesh, "crashy")
    wait_status(mesh, "crashy", "Running")
    uid = mesh.get("vmi", "crashy")["metadata"]["uid"]
    (pid,) = mesh.launcher_pids()
    os.kill(pid, signal.SIGKILL)
    # The old VMI fails (it had been Running: no start backoff), a new one replaces it.
    mesh.wait_for(lambda: (mesh.get("vmi", "crashy") or {}).get("metadata", {}).get("uid") not in (None, uid)
                  and mesh.vmi_phase("crashy") == "Running", 30, "replacement VMI running")
    assert mesh.vm_status("crashy") == "Running"
    handler_log = open(os.path.join(mesh.data_dir, "logs", "handler.log")).read()
    assert "failed: LauncherExited" in handler_log


def test_kill_9_api_mid_stream_everyone_converges(mesh):
    apply(mesh, "before")
    wait_status(mesh, "before", "Running")
    api_pid = mesh.pid_of("api")
    os.kill(api_pid, signal.SIGKILL)
    # `up` restarts it (like a Deployment); controller and handler resume their watches.
    mesh.wait_for(lambda: mesh.pid_of("api") not in (0, api_pid), 15, "api restarted")
    apply(mesh, "after")
    wait_status(mesh, "after", "Running", timeout=40)
    mesh.cli("stop", "before")
    wait_status(mesh, "before", "Stopped")
    assert mesh.get("vm", "after")["status"]["printableStatus"] == "Running"


def test_handler_restart_keeps_vms_running(mesh):
    apply(mesh, "keeper")
    wait_status(mesh, "keeper", "Running")
    (launcher,) = mesh.launcher_pids()
    handler = mesh.pid_of("handler")
    os.kill(handler, signal.SIGKILL)
    mesh.wait_for(lambda: mesh.pid_of("handler") not in (0, handler), 15, "handler restarted")
    time.sleep(1.5)
    assert mesh.launcher_pids() == [launcher]
    assert mesh.vmi_phase("keeper") == "Running"
    # The new handler re-attached: it can still drive the VM.
    mesh.cli("pause", "vmi", "keeper")
    wait_status(mesh, "keeper", "Paused")
    mesh.cli("stop", "keeper")
    wait_status(mesh, "keeper", "Stopped")
    mesh.wait_for(lambda: not mesh.launcher_pids(), 15, "launcher gone")


def test_controller_kill_9_catches_up(mesh):
    controller = mesh.pid_of("controller")
    os.kill(controller, signal.SIGKILL)
    apply(mesh, "late")  # created while no controller runs
    mesh.wait_for(lambda: mesh.pid_of("controller") not in (0, controller), 15, "controller restarted")
    wait_status(mesh, "late", "Running")


def test_unschedulable_then_schedulable(mesh):
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="picky", strategy="Always").replace(
        "      domain:", "      nodeSelector: {disk: nvme}\n      domain:"))
    assert r.returncode == 0
    wait_status(mesh, "picky", "ErrorUnschedulable")
    vmi = mesh.get("vmi", "picky")
    cond = [c for c in vmi["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert vmi["status"]["phase"] == "Scheduling"


def test_image_that_is_not_on_the_node_fails_clearly(mesh):
    # A local image file that is not there (a registry image is pulled: tests/integration/test_image_pulls.py).
    text = VM.format(name="pull", strategy="Manual").replace(
        "        devices: {}", "        devices: {disks: [{name: root, disk: {bus: virtio}}]}\n"
        "      volumes: [{name: root, containerDisk: {image: /var/cache/virtmesh/guests/not-built.img}}]")
    mesh.cli("apply", "-f", "-", input=text)
    mesh.cli("start", "pull")
    mesh.wait_for(lambda: mesh.vmi_phase("pull") == "Failed", 30, "VMI failed")
    vmi = mesh.get("vmi", "pull")
    assert vmi["status"]["reason"] == "ErrImagePull"
    assert "/var/cache/virtmesh/guests/not-built.img" in vmi["status"]["message"]
    assert mesh.vm_status("pull") == "ErrImagePull"


def test_cli_errors_are_one_line(mesh):
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="x", strategy="Always").replace("domain:", "domian:"),
                 check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == "error: error validating -: spec.template.spec.domian: unknown field"
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="x", strategy="Sometimes"), check=False)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert 'spec.runStrategy: Unsupported value: "Sometimes"' in r.stderr
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="", strategy="Always"), check=False)
    assert r.returncode == 1 and "metadata.name: Required value" in r.stderr
    assert mesh.cli("get", "vms").stderr.strip() == "No resources found in default namespace."
    r = mesh.cli("get", "foos", check=False)
    assert r.returncode == 1 and r.stderr.strip() == 'error: the server doesn\'t have a resource type "foos"'
    r = mesh.cli("get", "vm", "nope", check=False)
    assert r.stderr.strip() == 'Error from server (NotFound): virtualmachine "nope" not found'


def test_get_formats(mesh):
    apply(mesh, "fmt", strategy="Halted")
    y = mesh.cli("get", "vm", "fmt", "-o", "yaml").stdout
    assert "apiVersion: kubevirt.io/v1" in y and "runStrategy: Halted" in y
    lst = json.loads(mesh.cli("get", "virtualmachines", "-o", "json").stdout)
    assert lst["kind"] == "List" and lst["items"][0]["metadata"]["name"] == "fmt"
    assert mesh.cli("get", "vm", "-o", "name").stdout.strip() == "virtualmachine.kubevirt.io/fmt"
    node = mesh.get("node", "node01")
    assert node["metadata"]["labels"]["kubevirt.io/schedulable"] == "true"
    assert "kubevirt.io/heartbeat" in node["metadata"]["annotations"]
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="fmt", strategy="Halted"))
    assert "virtualmachine.kubevirt.io/fmt unchanged" in r.stdout
    r = mesh.cli("apply", "-f", "-", input=VM.format(name="fmt", strategy="Manual"))
    assert "virtualmachine.kubevirt.io/fmt configured" in r.stdout


def test_a_vm_start_writes_each_state_once(mesh):
    """Create -> Running is 5 writes, none of them refused as stale: the VM (created by the user,
    then Starting with its VMI created, then Running) and the VMI (created already Scheduled on its
    node and labelled for it, then Running: the launcher's sync reply carries the started domain)."""
    import threading

    import grpc

    from services.common import proto

    seen: dict[int, list] = {proto.VM: [], proto.VMI: []}
    ch = grpc.insecure_channel(f"unix://{mesh.data_dir}/run/api.sock")
    stub = proto.api_grpc.ResourcesStub(ch)
    start_rev = stub.List(proto.api.ListRequest(kind=proto.VM)).resourceVersion
    calls = {k: stub.Watch(proto.api.WatchRequest(kind=k, resourceVersion=start_rev)) for k in seen}

    def follow(kind):
        try:
            for ev in calls[kind]:
                res = proto.inner(ev.object) if ev.type != "BOOKMARK" else None
                if res is not None and res.metadata.name == "writes":
                    seen[kind].append(res)
        except grpc.RpcError:
            pass  # cancelled at the end
    threads = [threading.Thread(target=follow, args=(k,), daemon=True) for k in seen]
    for t in threads:
        t.start()
    try:
        apply(mesh, "writes")
        wait_status(mesh, "writes", "Running")
        time.sleep(1)  # anything written after Running would show up now
    finally:
        for c in calls.values():
            c.cancel()
        ch.close()
    assert [(v.status.printableStatus, v.status.created) for v in seen[proto.VM]] == [
        ("", False), ("Starting", True), ("Running", True)]
    assert [(v.status.phase, v.metadata.labels.get("kubevirt.io/nodeName", "")) for v in seen[proto.VMI]] == [
        ("Scheduled", "node01"), ("Running", "node01")]
    for service in ("controller", "handler"):  # and no write was refused (409) and retried
        scraped = mesh.scrape(service)
        assert 'kubevirt_rest_client_requests_total{code="409"' not in scraped, service
