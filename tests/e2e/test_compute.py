"""Issue 4 end to end on real QEMU (TCG): arm64 guests, node-labeller labels and machine-type
scheduling, the 64-bit PCI hole of legacy guests, TPM (present / persistent / disabled) and vCPUs.

One mesh for the module (starting one costs seconds); every test deletes its VMs, and the
module's teardown removes any `e2e_` domain left behind.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import grpc
import pytest
import yaml

from services.common import manifest as mf
from services.common import proto

from e2e.conftest import GUESTS, domains, guest_shell, qemu_mesh
from e2e.conftest import serial_log as e2e_serial_log

pytestmark = pytest.mark.e2e
NS = "e2e"
NODE = "node01"
CONSOLE = {"amd64": "ttyS0", "arm64": "ttyAMA0"}


@pytest.fixture(scope="module")
def mesh(host_ready):
    with qemu_mesh("vmcomp-") as m:
        yield m


def vm_yaml(name, marker, arch="amd64", kernel="kernel", cpu=None, devices=None, annotations=None,
            machine=None, memory="128Mi", extra_args=""):
    domain = {"memory": {"guest": memory}, "devices": {"autoattachSerialConsole": True, **(devices or {})},
              "firmware": {"kernelBoot": {
                  "kernelArgs": f"console={CONSOLE[arch]} quiet panic=-1 virtmesh.marker={marker} {extra_args}".strip(),
                  "container": {"image": f"{GUESTS}/{arch}", "kernelPath": f"/{kernel}",
                                "initrdPath": "/initrd.img"}}}}
    if cpu:
        domain["cpu"] = cpu
    if machine:
        domain["machine"] = {"type": machine}
    template = {"spec": {"architecture": arch, "terminationGracePeriodSeconds": 0, "domain": domain}}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return yaml.safe_dump({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                           "metadata": {"name": name, "namespace": NS},
                           "spec": {"runStrategy": "Always", "template": template}})


def console_text(m, name, seconds=3):
    return m.cli("console", name, "-n", NS, "--no-stdin", "--stop-after", str(seconds), check=False,
                 timeout=seconds + 30).stdout


def serial_log(m, name) -> str:
    return e2e_serial_log(m, name, NS)


def wait_line(m, name, pattern, timeout=90):
    rx = re.compile(pattern)

    def seen():
        found = rx.search(serial_log(m, name))
        return found.group(0) if found else ""
    return m.wait_for(seen, timeout, f"{pattern!r} from {name}", interval=0.3)


def boot(m, name, marker, timeout=90, **kw):
    m.cli("apply", "-f", "-", input=vm_yaml(name, marker, **kw))
    m.wait_for(lambda: m.vm_status(name, NS) == "Running", 60, f"{name} Running")
    wait_line(m, name, rf"VIRTMESH-READY {marker}", timeout)


def delete(m, *names):
    for n in names:
        m.cli("delete", "vm", n, "-n", NS, check=False)
    for n in names:
        m.wait_for(lambda: m.get("vm", n, NS) is None and m.get("vmi", n, NS) is None, 60, f"{n} deleted")
        m.wait_for(lambda: f"e2e_{n}" not in domains(), 30, f"domain e2e_{n} gone")


def domain_xml(name):
    return subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"e2e_{name}"], capture_output=True,
                          text=True).stdout


def stubs(m):
    ch = grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock")
    return proto.api_grpc.ResourcesStub(ch), proto.api_grpc.SubresourcesStub(ch)


def run_in_guest(m, name, command: str, until: str, timeout=30) -> str:
    """Type a command on the guest's serial shell through the api's Console stream."""
    return guest_shell(m, NS, name, command, until, timeout)


def update_node(m, change, attempts=20):
    """Read-modify-write the Node as an admin would (the handler's heartbeat may race: retry)."""
    res, _ = stubs(m)
    for _ in range(attempts):
        obj = res.Get(proto.api.GetRequest(ref=proto.api.ObjectRef(kind=proto.NODE, name=NODE)))
        change(obj.node)
        try:
            return res.Update(proto.api.UpdateRequest(object=obj))
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION):
                raise
            time.sleep(0.1)
    raise AssertionError("could not update the node")


# ---------------------------------------------------------------- node-labeller

def test_node_labels_shown_by_get_node(mesh):
    out = mesh.cli("get", "node", NODE, "-o", "yaml").stdout
    node = yaml.safe_load(out)
    labels = node["metadata"]["labels"]
    for machine in ("q35", "pc-q35-7.2", "virt", "virt-7.2"):  # x86 node emulating aarch64 offers virt
        assert labels.get(f"machine-type.node.kubevirt.io/{machine}") == "true", machine
    assert labels["kubernetes.io/arch"] == "amd64"
    assert labels["kubevirt.io/schedulable"] == "true"
    assert any(k.startswith("cpu-model.node.kubevirt.io/") for k in labels)
    assert any(k.startswith("cpu-feature.node.kubevirt.io/") for k in labels)
    assert any(k.startswith("cpu-vendor.node.kubevirt.io/") for k in labels)
    assert not any(k.startswith("machine-type.node.kubevirt.io/armv7") for k in labels)
    limits = json.loads(node["metadata"]["annotations"]["virtmesh.io/machine-max-vcpus"])
    assert limits["q35"] == 288 and limits["virt"] == 512


# ---------------------------------------------------------------- arm64

def test_arm64_vm_boots_through_the_mesh(mesh):
    m = mesh
    boot(m, "arm", "arm1", arch="arm64")
    vmi = m.get("vmi", "arm", NS)
    assert vmi["spec"]["domain"]["cpu"]["model"] == "host-passthrough"  # KubeVirt's arm64 default
    assert vmi["status"]["machine"]["type"].startswith("virt")
    xml = domain_xml("arm")
    assert "<model fallback='forbid'>cortex-a57</model>" in xml or ">cortex-a57</model>" in xml
    assert "arch='aarch64'" in xml and "<vcpus>" not in xml  # no CPU hotplug on arm64
    assert "VIRTMESH-READY arm1" in console_text(m, "arm")  # and through `virtmesh console`
    delete(m, "arm")


def test_arm64_named_cpu_model_rejected(mesh):
    r = mesh.cli("apply", "-f", "-", input=vm_yaml("armbad", "x", arch="arm64", cpu={"model": "cortex-a72"}),
                 check=False)
    assert r.returncode != 0
    assert ("spec.template.spec.domain.cpu.model: currently, host-passthrough is the only model supported "
            "on Arm64") in r.stderr


# ---------------------------------------------------------------- machine-type scheduling

def test_unoffered_machine_type_is_unschedulable_until_offered(mesh):
    m = mesh
    label = "machine-type.node.kubevirt.io/pc-q35-7.1"

    def freeze_without(node):  # an admin takes the type away and stops the labeller re-adding it
        node.metadata.annotations["node-labeller.kubevirt.io/skip-node"] = ""
        node.metadata.labels.pop(label, None)
    update_node(m, freeze_without)
    try:
        m.cli("apply", "-f", "-", input=vm_yaml("old", "old1", machine="pc-q35-7.1"))
        m.wait_for(lambda: m.vm_status("old", NS) == "ErrorUnschedulable", 30, "ErrorUnschedulable")
        vmi = m.get("vmi", "old", NS)
        assert vmi["status"]["phase"] == "Scheduling"
        cond = next(c for c in vmi["status"]["conditions"] if c["type"] == "PodScheduled")
        assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
        assert "node(s) didn't match Pod's node affinity/selector." in cond["message"]
        beat = m.get("node", NODE)["metadata"]["annotations"]["kubevirt.io/heartbeat"]
        m.wait_for(lambda: m.get("node", NODE)["metadata"]["annotations"]["kubevirt.io/heartbeat"] != beat,
                   30, "a heartbeat", interval=0.5)
        assert label not in m.get("node", NODE)["metadata"]["labels"]  # skipped: not recomputed
        assert m.vmi_phase("old", NS) == "Scheduling"

        update_node(m, lambda n: n.metadata.labels.__setitem__(label, "true"))  # the type is allowed
        m.wait_for(lambda: m.vm_status("old", NS) == "Running", 60, "Running once offered")
        wait_line(m, "old", r"VIRTMESH-READY old1")
        assert m.get("vmi", "old", NS)["status"]["machine"]["type"] == "pc-q35-7.1"
    finally:
        update_node(m, lambda n: n.metadata.annotations.pop("node-labeller.kubevirt.io/skip-node", None))
        delete(m, "old")


def test_machine_type_outside_emulated_machines_rejected(mesh):
    r = mesh.cli("apply", "-f", "-", input=vm_yaml("i440", "x", machine="pc-i440fx-7.2"), check=False)
    assert r.returncode != 0
    assert ("spec.template.spec.domain.machine.type is not supported: pc-i440fx-7.2 "
            "(allowed values: [q35* pc-q35*])") in r.stderr


# ---------------------------------------------------------------- legacy guests: 64-bit PCI hole

def _pci_windows(m, name: str) -> tuple[int, int]:
    """(PCI bus windows above 4 GiB, windows of the root bus) as the guest counts them in /proc/iomem.
    The guest counts, so a character the serial console doubles (seen under load) cannot turn a
    window into a non-window; a garbled answer line is asked again."""
    above_4g = r"^ *[0-9a-f]{9,}-[0-9a-f]+ : PCI Bus"  # a start address of 9+ hex digits is >= 4 GiB
    command = (f"echo HOLE64-$(grep -cE '{above_4g}' /proc/iomem)-ROOT-$(grep -c 'PCI Bus 0000:00' /proc/iomem)"
               "-END$((40+2))")
    for _ in range(3):
        out = run_in_guest(m, name, command, "END42")
        found = re.search(r"HOLE64-(\d+)-ROOT-(\d+)-END42", out)
        if found:
            return int(found.group(1)), int(found.group(2))
    raise AssertionError(f"no readable answer from {name}: {out}")


def test_pci_hole64_disabled_on_a_real_q35_guest(mesh):
    m = mesh
    m.cli("apply", "-f", "-", input=vm_yaml("xp", "xp1", annotations={"kubevirt.io/disablePCIHole64": "TRUE"}))
    m.cli("apply", "-f", "-", input=vm_yaml("modern", "mod1"))
    for name, marker in (("xp", "xp1"), ("modern", "mod1")):
        m.wait_for(lambda: m.vm_status(name, NS) == "Running", 60, f"{name} Running")
        wait_line(m, name, rf"VIRTMESH-READY {marker}")
    try:
        xml = domain_xml("xp")
        assert re.search(r"<pcihole64 unit='KiB'>0</pcihole64>", xml), xml
        qemu_log = open("/var/log/libvirt/qemu/e2e_xp.log").read()
        assert "q35-pcihost.pci-hole64-size=0" in qemu_log  # QEMU runs with the hole disabled
        assert "pci-hole64-size" not in open("/var/log/libvirt/qemu/e2e_modern.log").read().split(
            "starting up")[-1]

        legacy_above_4g, legacy_root = _pci_windows(m, "xp")
        modern_above_4g, modern_root = _pci_windows(m, "modern")
        assert legacy_root and modern_root  # the guests list their root bus: the count is real
        assert legacy_above_4g == 0
        assert modern_above_4g > 0  # without the annotation the 64-bit window exists
    finally:
        delete(m, "xp", "modern")


# ---------------------------------------------------------------- TPM

def _tpm_log_manufactures(domain: str) -> int:
    path = f"/var/log/swtpm/libvirt/qemu/{domain}-swtpm.log"
    try:
        return open(path).read().count("Starting vTPM manufacturing")
    except OSError:
        return 0


def test_tpm_present_and_disabled(mesh):
    m = mesh
    # The PVH (uncompressed) kernel breaks ACPI with a TPM: these guests boot the bzImage.
    m.cli("apply", "-f", "-", input=vm_yaml("tpm", "tpm1", kernel="bzImage", devices={"tpm": {}}))
    m.cli("apply", "-f", "-", input=vm_yaml("notpm", "ntp1", kernel="bzImage",
                                            devices={"tpm": {"enabled": False, "persistent": True}}))
    try:
        for name, marker in (("tpm", "tpm1"), ("notpm", "ntp1")):
            m.wait_for(lambda: m.vm_status(name, NS) == "Running", 60, f"{name} Running")
            wait_line(m, name, rf"VIRTMESH-READY {marker}", 120)
        assert wait_line(m, "tpm", r"VIRTMESH-TPM \S+") == "VIRTMESH-TPM tpm0"
        assert "<tpm model='tpm-tis'>" in domain_xml("tpm")
        assert wait_line(m, "notpm", r"VIRTMESH-TPM \S+") == "VIRTMESH-TPM none"
        assert "<tpm" not in domain_xml("notpm")
    finally:
        delete(m, "tpm", "notpm")


def test_persistent_tpm_state_survives_restart(mesh):
    m = mesh
    # A VM's domain UUID is its stable firmware UUID; start from no TPM state (an earlier, killed run
    # may have left some), and count manufacturing from here (the swtpm log outlives domains).
    import uuid as uuidlib
    state_dir = f"/var/lib/libvirt/swtpm/{uuidlib.uuid5(uuidlib.NAMESPACE_URL, f'kubevirt.io/{NS}/ptpm')}"
    shutil.rmtree(state_dir, ignore_errors=True)
    made = _tpm_log_manufactures("e2e_ptpm")
    m.cli("apply", "-f", "-", input=vm_yaml("ptpm", "pt1", kernel="bzImage", devices={"tpm": {"persistent": True}}))
    try:
        m.wait_for(lambda: m.vm_status("ptpm", NS) == "Running", 60, "Running")
        assert wait_line(m, "ptpm", r"VIRTMESH-TPM \S+", 120) == "VIRTMESH-TPM tpm0"
        xml = domain_xml("ptpm")
        assert "<tpm model='tpm-crb'>" in xml and "persistent_state='yes'" in xml
        uuid = re.search(r"<uuid>([^<]+)</uuid>", xml).group(1)
        assert state_dir.endswith(uuid)
        state = f"{state_dir}/tpm2/tpm2-00.permall"
        assert os.path.exists(state)
        assert _tpm_log_manufactures("e2e_ptpm") == made + 1  # a new TPM was manufactured once

        old = m.get("vmi", "ptpm", NS)["metadata"]["uid"]
        m.cli("restart", "ptpm", "-n", NS)
        m.wait_for(lambda: (m.get("vmi", "ptpm", NS) or {}).get("metadata", {}).get("uid") not in (None, old)
                   and m.vm_status("ptpm", NS) == "Running", 90, "restarted")
        assert wait_line(m, "ptpm", r"VIRTMESH-TPM \S+", 120) == "VIRTMESH-TPM tpm0"
        assert re.search(r"<uuid>([^<]+)</uuid>", domain_xml("ptpm")).group(1) == uuid  # same TPM identity
        assert os.path.exists(state)
        assert _tpm_log_manufactures("e2e_ptpm") == made + 1  # the state was reused, not manufactured again

        # Stopped, the VM keeps its TPM; deleted (here while stopped), the node removes the state.
        m.cli("stop", "ptpm", "-n", NS)
        m.wait_for(lambda: m.get("vmi", "ptpm", NS) is None and "e2e_ptpm" not in domains(), 60, "stopped")
        assert os.path.exists(state)
        delete(m, "ptpm")
        m.wait_for(lambda: not os.path.exists(state_dir), 30, "TPM state removed with its VM")
    finally:
        delete(m, "ptpm")
        shutil.rmtree(state_dir, ignore_errors=True)


# ---------------------------------------------------------------- vCPUs

def test_four_vcpu_guest_and_hotplug_layout(mesh):
    m = mesh
    boot(m, "quad", "q4", cpu={"sockets": 4})
    try:
        vmi = m.get("vmi", "quad", NS)
        assert vmi["spec"]["domain"]["cpu"]["maxSockets"] == 16  # KubeVirt: 4x sockets
        assert wait_line(m, "quad", r"VIRTMESH-CPUS \d+") == "VIRTMESH-CPUS 4"
        xml = domain_xml("quad")
        assert "<vcpu placement='static' current='4'>16</vcpu>" in xml
        assert "<vcpu id='0' enabled='yes' hotpluggable='no'" in xml
        assert "<vcpu id='1' enabled='yes' hotpluggable='yes'" in xml
    finally:
        delete(m, "quad")


def test_vcpu_bounds_from_the_machine_type(mesh):
    m = mesh
    res, _ = stubs(m)
    # Defaulting stays within the machine type: 100 sockets -> 4x = 400 <= 512, capped at q35's 288.
    # A nodeSelector nobody matches keeps it from booting; only the defaulted spec matters here.
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "wide", "namespace": NS},
           "spec": {"nodeSelector": {"virtmesh.io/nowhere": "true"},
                    "domain": {"cpu": {"sockets": 100}, "memory": {"guest": "128Mi"}}}}
    out = res.Create(proto.api.CreateRequest(object=mf.to_object(doc))).virtualMachineInstance
    try:
        assert out.spec.domain.cpu.maxSockets == 288
    finally:
        res.Delete(proto.api.DeleteRequest(ref=proto.api.ObjectRef(kind=proto.VMI, namespace=NS, name="wide")))
    # KubeVirt's 512 bound: 32/2/3 -> 85 (85*6 = 510 <= 512; q35's 288 would allow 48 only, so use virt)
    doc["metadata"]["name"] = "wide2"
    doc["spec"]["architecture"] = "arm64"
    doc["spec"]["domain"]["cpu"] = {"sockets": 32, "cores": 2, "threads": 3}
    out = res.Create(proto.api.CreateRequest(object=mf.to_object(doc))).virtualMachineInstance
    try:
        assert out.spec.domain.cpu.maxSockets == 85
    finally:
        res.Delete(proto.api.DeleteRequest(ref=proto.api.ObjectRef(kind=proto.VMI, namespace=NS, name="wide2")))
    # Asking for more than the machine type can run is refused by the api, not by a crashing QEMU.
    r = m.cli("apply", "-f", "-", input=vm_yaml("huge", "x", cpu={"sockets": 300}), check=False)
    assert r.returncode != 0
    assert "machine type q35 supports at most 288 vCPUs" in r.stderr
    r = m.cli("apply", "-f", "-", input=vm_yaml("huge", "x", cpu={"sockets": 2, "maxSockets": 1}), check=False)
    assert ("spec.template.spec.domain.cpu.sockets: Number of sockets in CPU topology is greater than the "
            "maximum sockets allowed") in r.stderr
