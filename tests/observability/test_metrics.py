"""Every service's /metrics, scraped over HTTPS from a real mesh while VMs run, stop and fail;
plus the collectors' KubeVirt semantics (instance type labels, migration phases) as units."""
import subprocess
import sys
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families

from harness import ROOT
from integration.test_mesh import VM
from services.common import proto
from services.controller import metrics as cm


def scrape(mesh, service: str) -> list:
    text = mesh.scrape(service)
    return [s for fam in text_string_to_metric_families(text) for s in fam.samples]


def value(samples, metric: str, **labels):
    """The sum of the samples called `metric` whose labels include `labels` (None: no such sample)."""
    got = [s.value for s in samples if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(got) if got else None


PULL = VM.format(name="c", strategy="Manual").replace(
    "        devices: {}", "        devices: {disks: [{name: root, disk: {bus: virtio}}]}\n"
    "      volumes: [{name: root, containerDisk: {image: /var/cache/virtmesh/guests/not-built.img}}]")
LABELLED = VM.format(name="b", strategy="Always").replace(
    "  template:\n    spec:", "  template:\n    metadata:\n      labels: {app.kubernetes.io/name: web}\n"
    "      annotations: {vm.kubevirt.io/os: fedora}\n    spec:")


def test_metrics_of_running_stopped_and_failed_vms(mesh):
    mesh.cli("apply", "-f", "-", input=VM.format(name="a", strategy="Always"))
    mesh.cli("apply", "-f", "-", input=LABELLED)
    mesh.cli("apply", "-f", "-", input=PULL)
    mesh.cli("start", "c")
    for name in ("a", "b"):
        mesh.wait_for(lambda: mesh.vm_status(name) == "Running", 30, f"VM {name} Running")
    mesh.wait_for(lambda: mesh.vmi_phase("c") == "Failed", 30, "VMI c Failed")
    mesh.wait_for(lambda: mesh.vm_status("c") == "ErrImagePull", 30, "VM c ErrImagePull")

    c = scrape(mesh, "controller")
    assert value(c, "kubevirt_vmi_info", name="a", node="node01", phase="running", instance_type="<none>",
                 preference="<none>", os="<none>") == 1
    assert value(c, "kubevirt_vmi_info", name="b", os="fedora", phase="running") == 1
    assert value(c, "kubevirt_vmi_info", name="c", phase="failed") == 1
    assert value(c, "kubevirt_vmi_phase_count", node="node01", phase="running") == 2
    assert value(c, "kubevirt_vmi_phase_count", node="node01", phase="failed") == 1
    assert value(c, "kubevirt_vm_info", name="a", status="running", status_group="running",
                 instance_type="<none>", preference="<none>") == 1
    assert value(c, "kubevirt_vm_info", name="c", status="errimagepull", status_group="error") == 1
    # Both VMIs went Scheduled -> Running while the controller watched: two observations, in KubeVirt's buckets.
    assert value(c, "kubevirt_vmi_phase_transition_time_from_creation_seconds_count", phase="Running") == 2
    assert value(c, "kubevirt_vmi_phase_transition_time_from_creation_seconds_bucket", phase="Running",
                 le="3600.0") == 2
    assert value(c, "kubevirt_vmi_phase_transition_time_from_creation_seconds_count", phase="Failed") == 1
    for phase in ("pending", "scheduling", "running", "unset"):
        assert value(c, f"kubevirt_vmi_migrations_in_{phase}_phase") == 0
    # The controller's api client: creates of the three VMIs, all answered 200.
    assert value(c, "kubevirt_rest_client_requests_total", verb="create", resource="virtualmachineinstances",
                 code="200") == 3
    # (Events are creates too: only the VMIs' URL counted here.)
    assert value(c, "kubevirt_rest_client_request_latency_seconds_count", verb="create",
                 url="/virtmesh.v1.Resources/Create/virtualmachineinstances") == 3

    h = scrape(mesh, "handler")
    for name in ("a", "b"):
        assert value(h, "kubevirt_vmi_vcpu_seconds_total", name=name, node="node01", namespace="default",
                     id="0", state="running") > 0
        # (the test driver has no balloon: no resident/available/usable, but the domain's memory)
        assert value(h, "kubevirt_vmi_memory_domain_bytes", name=name) == 64 * 1024 * 1024
        assert value(h, "kubevirt_vmi_cpu_usage_seconds_total", name=name) > 0
    assert value(h, "kubevirt_vmi_vcpu_seconds_total", name="b", kubernetes_vmi_label_app_kubernetes_io_name="web") > 0
    assert value(h, "kubevirt_vmi_vcpu_seconds_total", name="c") is None  # failed: no domain
    assert value(h, "kubevirt_rest_client_requests_total", resource="nodes", verb="create", code="200") == 1

    # Stop a: its VMI and domain go away from the metrics, the VM shows as stopped.
    mesh.cli("stop", "a")
    mesh.wait_for(lambda: mesh.get("vmi", "a") is None, 30, "VMI a deleted")
    c = scrape(mesh, "controller")
    assert value(c, "kubevirt_vmi_info", name="a") is None
    assert value(c, "kubevirt_vmi_phase_count", phase="running") == 1
    assert value(c, "kubevirt_vm_info", name="a", status="stopped", status_group="non_running") == 1
    mesh.wait_for(lambda: value(scrape(mesh, "handler"), "kubevirt_vmi_vcpu_seconds_total", name="a") is None,
                  30, "a's domain stats gone")

    # The api proxies pause to the handler: its client counts the call.
    mesh.cli("pause", "vm", "b")
    assert value(scrape(mesh, "api"), "kubevirt_rest_client_requests_total", verb="pause", code="200") == 1
    assert value(scrape(mesh, "api"), "kubevirt_console_active_connections") is None  # no console open


def test_client_metrics_exist_from_import_on():
    """A8.2: registered at import, before any service sets its metrics up."""
    code = ("import services.common.client\n"
            "from prometheus_client import REGISTRY, generate_latest\n"
            "text = generate_latest(REGISTRY).decode()\n"
            "assert '# TYPE kubevirt_rest_client_requests_total counter' in text, text\n"
            "assert '# TYPE kubevirt_rest_client_request_latency_seconds histogram' in text, text\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def _vm(name="v", **spec):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name, vm.metadata.namespace = name, "default"
    for field, (n, kind) in spec.items():
        getattr(vm.spec, field).name = n
        getattr(vm.spec, field).kind = kind
    return vm


class _Lookup(cm.Lookup):
    def __init__(self, objs):
        self.objs = objs

    def instancetype(self, key, cluster):
        return self.objs.get(("it", key, cluster))

    def preference(self, key, cluster):
        return self.objs.get(("pref", key, cluster))


def _obj(name, vendor=None):
    o = proto.kv.VirtualMachine()
    o.metadata.name = name
    if vendor:
        o.metadata.labels[cm.VENDOR_LABEL] = vendor
    return o


def test_vm_info_instance_type_and_preference_labels():
    lookup = _Lookup({("it", "u1.medium", True): _obj("u1.medium", "kubevirt.io"),
                      ("it", "default/mine", False): _obj("mine", "acme.example"),
                      ("pref", "fedora", True): _obj("fedora", "redhat.com")})
    labels = dict(zip(cm.VM_INFO_LABELS, cm.vm_info_labels(_vm(), lookup)))
    assert (labels["instance_type"], labels["preference"]) == ("<none>", "<none>")
    vm = _vm(instancetype=("u1.medium", "virtualmachineclusterinstancetype"),  # lowercase kind (#14327)
             preference=("fedora", "VirtualMachineClusterPreference"))
    labels = dict(zip(cm.VM_INFO_LABELS, cm.vm_info_labels(vm, lookup)))
    assert (labels["instance_type"], labels["preference"]) == ("u1.medium", "fedora")
    vm = _vm(instancetype=("mine", "VirtualMachineInstancetype"),  # namespaced: looked up as ns/name (#13805)
             preference=("gone", "VirtualMachinePreference"))
    labels = dict(zip(cm.VM_INFO_LABELS, cm.vm_info_labels(vm, lookup)))
    assert (labels["instance_type"], labels["preference"]) == ("<other>", "<other>")  # custom vendor; missing


def test_migration_gauges_count_unset_apart_from_failed():
    def m(name, phase):
        return SimpleNamespace(metadata=SimpleNamespace(name=name, namespace="default"),
                               spec=SimpleNamespace(vmiName=f"vmi-{name}"), status=SimpleNamespace(phase=phase))

    fams = {f.name: f for f in cm.migration_gauges(
        [m("p", "Pending"), m("s", "Scheduling"), m("u", ""), m("r", "Running"), m("t", "TargetReady"),
         m("ok", "Succeeded"), m("bad", "Failed")])}
    one = {n: fams[n].samples[0].value for n in fams if n.startswith("kubevirt_vmi_migrations_in_")}
    assert one == {"kubevirt_vmi_migrations_in_pending_phase": 1, "kubevirt_vmi_migrations_in_scheduling_phase": 1,
                   "kubevirt_vmi_migrations_in_running_phase": 2, "kubevirt_vmi_migrations_in_unset_phase": 1}
    assert [s.labels for s in fams["kubevirt_vmi_migration_succeeded"].samples] == [
        {"vmi": "vmi-ok", "vmim": "ok", "namespace": "default"}]
    assert [s.labels["vmim"] for s in fams["kubevirt_vmi_migration_failed"].samples] == ["bad"]  # not "u"
    assert all(f.samples[0].value == 0 for f in cm.migration_gauges([]) if f.samples)


def test_domain_stats_families_carry_kubevirt_names_and_labels():
    from services.handler.metrics import stats_families
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace = "v", "ns"
    vmi.metadata.labels["kubevirt.io/domain"] = "v"
    st = proto.launcher.DomainStats(exists=True, cpuTimeSeconds=3.5, memoryResidentBytes=1 << 20)
    st.vcpus.add(id=0, state="running", timeSeconds=2.0)
    st.interfaces.add(name="default", rxBytes=10, txBytes=20, rxPackets=1, txPackets=2)
    st.blocks.add(name="vda", readBytes=512, writeBytes=1024, readRequests=1, writeRequests=2)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in stats_families([(vmi, st), (vmi, proto.launcher.DomainStats(exists=False))], "n1")
               for s in f.samples}
    base = (("kubernetes_vmi_label_kubevirt_io_domain", "v"), ("name", "v"), ("namespace", "ns"), ("node", "n1"))
    assert samples[("kubevirt_vmi_vcpu_seconds_total", tuple(sorted(base + (("id", "0"), ("state", "running")))))] == 2.0
    assert samples[("kubevirt_vmi_memory_resident_bytes", base)] == 1 << 20
    assert samples[("kubevirt_vmi_network_receive_bytes_total", tuple(sorted(base + (("interface", "default"),))))] == 10
    assert samples[("kubevirt_vmi_network_transmit_bytes_total", tuple(sorted(base + (("interface", "default"),))))] == 20
    assert samples[("kubevirt_vmi_storage_read_traffic_bytes_total", tuple(sorted(base + (("drive", "vda"),))))] == 512
    assert samples[("kubevirt_vmi_storage_iops_write_total", tuple(sorted(base + (("drive", "vda"),))))] == 2
