"""One trace per VM start across the four services, exported over OTLP/gRPC to a receiver this
test runs (a real TraceService, as Jaeger's collector is), with `virtmesh up --jaeger`."""
import shutil

import pytest

from harness import Mesh, short_tmpdir
from integration.test_mesh import VM
from observability.otlp import Receiver

SERVICES = {"virtmesh-api", "virtmesh-controller", "virtmesh-handler", "virtmesh-launcher"}


@pytest.fixture(scope="module")
def traced():
    receiver = Receiver().start()
    mp = pytest.MonkeyPatch()
    mp.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # ms: spans reach the receiver promptly
    d = short_tmpdir("vmtrace-")
    mesh = Mesh(d, "test:///default", extra=["--jaeger", receiver.endpoint])
    mp.undo()
    yield mesh, receiver
    mesh.stop()
    receiver.stop()
    shutil.rmtree(d, ignore_errors=True)


def _trace_of(receiver, predicate):
    root = next((s for s in receiver.snapshot() if predicate(s)), None)
    return [s for s in receiver.snapshot() if root and s.trace_id == root.trace_id], root


def _ancestors(span, by_id):
    out = []
    while span.parent_id and span.parent_id in by_id:
        span = by_id[span.parent_id]
        out.append(span)
    return out


def _one(spans, service, name, **attrs):
    found = [s for s in spans if s.service == service and s.name == name
             and all(s.attributes.get(k) == v for k, v in attrs.items())]
    assert found, f"no {service} span {name} {attrs}"
    return found[0]


def test_a_vm_start_is_one_trace_through_all_four_services(traced):
    mesh, receiver = traced
    mesh.cli("apply", "-f", "-", input=VM.format(name="traced", strategy="Always"))
    mesh.wait_for(lambda: mesh.vm_status("traced") == "Running", 30, "VM Running")

    def create(s):
        return (s.service == "virtmesh-api" and s.name == "/virtmesh.v1.Resources/Create"
                and s.attributes.get("virtmesh.kind") == "VirtualMachine" and s.attributes.get("virtmesh.name") == "traced")

    def complete():
        spans, _ = _trace_of(receiver, create)
        return {s.service for s in spans} >= SERVICES and any(
            s.name == "vmi.sync" and s.attributes.get("virtmesh.phase.to") == "Running" for s in spans)

    mesh.wait_for(complete, 30, "the VM start's spans from all four services")
    spans, root = _trace_of(receiver, create)
    by_id = {s.span_id: s for s in spans}
    assert root.parent_id == ""  # the user's request started the trace

    # The causal chain, each step a descendant of the one before.
    vm_reconcile = _one(spans, "virtmesh-controller", "vm.reconcile")
    vmi_create = _one(spans, "virtmesh-api", "/virtmesh.v1.Resources/Create", **{"virtmesh.kind": "VirtualMachineInstance"})
    sync = next(s for s in spans if s.service == "virtmesh-handler" and s.name == "vmi.sync"
                and any(a.name == "launcher.spawn" for a in spans if a.parent_id == s.span_id))
    launcher_sync = _one(spans, "virtmesh-launcher", "/virtmesh.v1.Cmd/SyncVirtualMachine")
    define = _one(spans, "virtmesh-launcher", "libvirt.defineAndStart")
    # The handler's pass that wrote "Running", and the api's span of that write under it.
    running = _one(spans, "virtmesh-handler", "vmi.sync", **{"virtmesh.phase.to": "Running"})
    write = _one(spans, "virtmesh-api", "/virtmesh.v1.Resources/UpdateStatus",
                 **{"virtmesh.kind": "VirtualMachineInstance", "virtmesh.phase": "Running"})
    assert write.parent_id == running.span_id
    # The VMI is created already scheduled (the VM controller placed it): the handler's pass follows its create.
    chain = [root, vm_reconcile, vmi_create, sync, launcher_sync, define]
    for parent, child in zip(chain, chain[1:]):
        assert parent in _ancestors(child, by_id), (parent.name, child.name)
    # (Usually the pass that started the launcher, whose reply carries the running domain.)
    assert vmi_create in _ancestors(running, by_id) and write.start > define.start
    assert [s.start for s in chain] == sorted(s.start for s in chain)
    # QEMU's start is under the launcher's Sync, with the steps before it that took a millisecond
    # or more (tracing.step; on the test driver most take microseconds), and none failed.
    names = {s.name for s in spans if s.parent_id == launcher_sync.span_id}
    assert "libvirt.defineAndStart" in names
    assert names <= {"libvirt.defineAndStart", "launcher.prepareVolumes", "launcher.resolveKernelBoot",
                     "launcher.convert"}
    assert {"launcher.spawn", "launcher.waitReady"} <= {s.name for s in spans if s.parent_id == sync.span_id}
    # (A reconcile pass may fail on a stale write and be retried: that error is real and recorded,
    # so reconcile passes are not in this list.)
    assert all(s.status_code != 2 for s in [root, vmi_create, launcher_sync, define, write])


def test_a_failed_start_records_the_error_on_its_spans(traced):
    mesh, receiver = traced
    text = VM.format(name="nopull", strategy="Manual").replace(
        "        devices: {}", "        devices: {disks: [{name: root, disk: {bus: virtio}}]}\n"
        "      volumes: [{name: root, containerDisk: {image: /var/cache/virtmesh/guests/not-built.img}}]")
    mesh.cli("apply", "-f", "-", input=text)
    mesh.cli("start", "nopull")
    mesh.wait_for(lambda: mesh.vmi_phase("nopull") == "Failed", 30, "VMI Failed")

    def pull_error(s):
        return s.service == "virtmesh-launcher" and s.name == "launcher.prepareVolumes" and s.status_code == 2

    def handler_failed(spans):
        return [s for s in spans if s.service == "virtmesh-handler" and s.name == "vmi.sync"
                and s.status_code == 2 and s.status_message.startswith("ErrImagePull: ")]

    mesh.wait_for(lambda: handler_failed(_trace_of(receiver, pull_error)[0]), 30, "the error spans")
    spans, failed = _trace_of(receiver, pull_error)
    assert "ErrImagePull" in failed.status_message
    assert any(name == "exception" and "/var/cache/virtmesh/guests/not-built.img" in ev.get("exception.message", "")
               for name, ev in failed.events)
    # The same trace starts at the user's `virtmesh start` and shows the handler failing the VMI.
    assert any(s.service == "virtmesh-api" and s.name == "/virtmesh.v1.Subresources/Start" for s in spans)
    assert "/var/cache/virtmesh/guests/not-built.img" in handler_failed(spans)[0].status_message


def test_a_tracestate_sent_with_the_request_stays_with_the_trace_through_store_services_and_launcher(traced):
    """W3C tracestate travels with traceparent: a caller's `virtmesh start` with both, the api
    keeps both with the VM, and every span of the start (controller, handler, and the launcher's,
    relayed through its handler) carries the tracestate."""
    import grpc

    from services.common import paths, proto
    mesh, receiver = traced
    mesh.cli("apply", "-f", "-", input=VM.format(name="stated", strategy="Manual"))
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    metadata = (("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"), ("tracestate", "vendor=abc,vm=1"))
    with grpc.insecure_channel(f"unix://{paths.DataDir(mesh.data_dir).api_socket}") as channel:
        proto.api_grpc.SubresourcesStub(channel).Start(
            proto.api.SubresourceRequest(namespace="default", name="stated"), metadata=metadata, timeout=30)
    mesh.wait_for(lambda: mesh.vm_status("stated") == "Running", 30, "VM Running")

    def spans():
        return [s for s in receiver.snapshot() if s.trace_id == trace_id]

    def services():
        return {s.service for s in spans()}

    mesh.wait_for(lambda: services() >= SERVICES, 30, "the start's spans from all four services")
    assert any(s.service == "virtmesh-launcher" and s.name == "libvirt.defineAndStart" for s in spans())
    assert {s.trace_state for s in spans()} == {"vendor=abc,vm=1"}
