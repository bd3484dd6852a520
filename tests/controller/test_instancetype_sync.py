"""Instance types and preferences on the controller side: applying them to a VMI spec
(services/common/instancetype.py), the VM controller's revisions, status refs, expand policies and
Failure conditions (services/controller/instancetype.py) against the api in process, and a mesh on
libvirt's test driver configured at run time through the KubeVirt object."""
from __future__ import annotations

import asyncio

import pytest

from harness import until
from services.common import client, informer, manifest, proto
from services.common import instancetype as it
from services.controller import metrics as cm
from services.controller.instancetype import Instancetypes
from services.controller.vm import VMController


def parse(doc: dict):
    return manifest.to_object(doc)


def vmi_spec(domain: dict, **extra):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"domain": domain, **extra}}
    return proto.inner(parse(doc)).spec


def it_spec(spec: dict):
    return proto.inner(parse({"apiVersion": "instancetype.kubevirt.io/v1beta1",
                              "kind": "VirtualMachineClusterInstancetype", "metadata": {"name": "x"},
                              "spec": spec})).spec


def pref_spec(spec: dict):
    return proto.inner(parse({"apiVersion": "instancetype.kubevirt.io/v1beta1",
                              "kind": "VirtualMachineClusterPreference", "metadata": {"name": "x"},
                              "spec": spec})).spec


# ---------------------------------------------------------------- applying to a VMI spec

@pytest.mark.parametrize("pref, vcpus, topology", [
    (None, 4, (4, 1, 1)),                                                   # sockets without a preference
    ({"cpu": {"preferredCPUTopology": "cores"}}, 4, (1, 4, 1)),
    ({"cpu": {"preferredCPUTopology": "preferThreads"}}, 4, (1, 1, 4)),     # the deprecated spelling
    ({"cpu": {"preferredCPUTopology": "any"}}, 4, (4, 1, 1)),
    ({"cpu": {"preferredCPUTopology": "spread"}}, 8, (4, 2, 1)),            # SocketsCores, ratio 2
    ({"cpu": {"preferredCPUTopology": "spread", "spreadOptions": {"ratio": 4}}}, 8, (2, 4, 1)),
    ({"cpu": {"preferredCPUTopology": "spread", "spreadOptions": {"across": "CoresThreads"}}}, 8, (1, 4, 2)),
    ({"cpu": {"preferredCPUTopology": "spread", "spreadOptions": {"across": "SocketsCoresThreads", "ratio": 2}}},
     8, (2, 2, 2)),
    ({"cpu": {"preferredCPUTopology": "cores"}}, 1, (1, 1, 1)),
])
def test_guest_cpu_topology(pref, vcpus, topology):
    assert it.guest_topology(vcpus, pref_spec(pref) if pref else None) == topology


def test_the_instancetype_sets_cpu_memory_and_the_rest():
    spec = vmi_spec({"devices": {}})
    meta = proto.kv.ObjectMeta()
    itype = it_spec({"cpu": {"guest": 4, "model": "Haswell-noTSX", "maxSockets": 8},
                     "memory": {"guest": "2Gi", "overcommitPercent": 10, "maxGuest": "4Gi"},
                     "nodeSelector": {"disktype": "ssd"}, "annotations": {"example.org/a": "1"}})
    assert it.apply("spec", itype, None, spec, meta) == []
    cpu = spec.domain.cpu
    assert (cpu.sockets, cpu.cores, cpu.threads, cpu.model, cpu.maxSockets) == (4, 1, 1, "Haswell-noTSX", 8)
    assert (spec.domain.memory.guest, spec.domain.memory.maxGuest) == ("2Gi", "4Gi")
    # 90% of 2Gi computed in float32 as KubeVirt's applyMemory does: 1932735232 bytes, printed BinarySI.
    assert spec.domain.resources.requests["memory"] == "1932735232"
    assert dict(spec.nodeSelector) == {"disktype": "ssd"} and meta.annotations["example.org/a"] == "1"


def test_conflicts_name_every_field():
    spec = vmi_spec({"cpu": {"threads": 2, "model": "host-model"}, "resources": {"limits": {"cpu": "1"}},
                     "devices": {}}, nodeSelector={"a": "b"})
    meta = proto.kv.ObjectMeta(annotations={"example.org/a": "2"})
    conflicts = it.apply("spec.template.spec", it_spec({
        "cpu": {"guest": 2, "model": "Haswell"}, "memory": {"guest": "1Gi"}, "nodeSelector": {"x": "y"},
        "annotations": {"example.org/a": "1"}}), None, spec, meta)
    assert [c.path for c in conflicts] == [
        "spec.template.spec.nodeSelector", "spec.template.spec.domain.resources.limits.cpu",
        "spec.template.spec.domain.cpu.threads", "spec.template.spec.domain.cpu.model", "annotations.example.org/a"]
    assert conflicts[0].text() == "VM field(s) spec.template.spec.nodeSelector conflicts with selected instance type"


def test_preferences_fill_only_what_is_unset():
    pref = pref_spec({
        "cpu": {"preferredCPUFeatures": [{"name": "vmx", "policy": "require"}, {"name": "pcid", "policy": "require"}]},
        "devices": {"preferredDiskBus": "scsi", "preferredDiskCache": "writeback", "preferredCdromBus": "sata",
                    "preferredInterfaceModel": "e1000e", "preferredInterfaceMasquerade": {},
                    "preferredAutoattachSerialConsole": False, "preferredAutoattachGraphicsDevice": True,
                    "preferredTPM": {"persistent": True}, "preferredRng": {},
                    "preferredInputBus": "virtio", "preferredInputType": "tablet"},
        "features": {"preferredSmm": {"enabled": True}, "preferredAcpi": {"enabled": False},
                     "preferredApic": {"enabled": True}},
        "firmware": {"preferredEfi": {"secureBoot": False}},
        "machine": {"preferredMachineType": "pc-q35-rhel9.6.0"},
        "clock": {"preferredClockOffset": {"utc": {"offsetSeconds": 3600}}},
        "preferredSubdomain": "guests", "preferredTerminationGracePeriodSeconds": 5,
        "annotations": {"example.org/p": "1", "example.org/mine": "pref"}})
    spec = vmi_spec({
        "cpu": {"features": [{"name": "pcid", "policy": "disable"}]},
        "features": {"acpi": {}},
        "devices": {"autoattachGraphicsDevice": False,
                    "disks": [{"name": "a", "disk": {"bus": "sata"}}, {"name": "b"}, {"name": "c", "cdrom": {}}],
                    "interfaces": [{"name": "default"}, {"name": "blue", "model": "virtio", "bridge": {}}],
                    "inputs": [{"name": "t", "type": "tablet", "bus": "usb"}, {"name": "k"}]}},
        networks=[{"name": "default", "pod": {}}, {"name": "blue", "multus": {"networkName": "b"}}],
        terminationGracePeriodSeconds=0)
    meta = proto.kv.ObjectMeta(annotations={"example.org/mine": "vm"})
    assert it.apply("spec", None, pref, spec, meta) == []
    dom, devs = spec.domain, spec.domain.devices
    assert [(f.name, f.policy) for f in dom.cpu.features] == [("pcid", "disable"), ("vmx", "require")]
    assert (devs.disks[0].disk.bus, devs.disks[0].cache) == ("sata", "writeback")   # the VM's bus stays
    assert (devs.disks[1].disk.bus, devs.disks[2].cdrom.bus) == ("scsi", "sata")   # no target: a disk
    assert devs.interfaces[0].model == "e1000e" and devs.interfaces[0].HasField("masquerade")
    assert devs.interfaces[1].model == "virtio" and not devs.interfaces[1].HasField("masquerade")
    assert devs.autoattachGraphicsDevice is False and devs.autoattachSerialConsole is False
    assert devs.tpm.persistent and devs.HasField("rng")
    assert [(i.bus, i.type) for i in devs.inputs] == [("usb", "tablet"), ("virtio", "tablet")]
    assert dom.features.smm.enabled and not dom.features.acpi.HasField("enabled") and dom.features.apic.enabled
    assert dom.firmware.bootloader.efi.HasField("secureBoot") and not dom.firmware.bootloader.efi.secureBoot
    assert dom.machine.type == "pc-q35-rhel9.6.0" and dom.clock.utc.offsetSeconds == 3600
    assert spec.subdomain == "guests" and spec.terminationGracePeriodSeconds == 0
    assert dict(meta.annotations) == {"example.org/mine": "vm", "example.org/p": "1"}
    # Set by the VM: the preference leaves them alone.
    bios = vmi_spec({"firmware": {"bootloader": {"bios": {}}}, "machine": {"type": "q35"},
                     "clock": {"timezone": "Europe/Paris"}, "devices": {}})
    it.apply("spec", None, pref, bios, proto.kv.ObjectMeta())
    assert not bios.domain.firmware.bootloader.HasField("efi") and bios.domain.machine.type == "q35"
    assert not bios.domain.clock.HasField("utc") and bios.domain.clock.timezone == "Europe/Paris"


# ---------------------------------------------------------------- the VM controller, over the api in process

CIT = {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
       "metadata": {"name": "c2", "labels": {"instancetype.kubevirt.io/vendor": "kubevirt.io"}},
       "spec": {"cpu": {"guest": 2}, "memory": {"guest": "256Mi"}}}
PREF = {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachinePreference",
        "metadata": {"name": "cores", "namespace": "default"},
        "spec": {"cpu": {"preferredCPUTopology": "cores"}, "devices": {"preferredDiskBus": "sata"}}}
# With a machine type the test driver's node does not offer: for the controller alone (no scheduler).
PREF_MACHINE = {**PREF, "spec": {**PREF["spec"], "machine": {"preferredMachineType": "pc-q35-9.2"}}}


def vm_doc(name="vm1", strategy="Always", instancetype="c2", preference="cores"):
    spec = {"runStrategy": strategy, "template": {"spec": {"domain": {"devices": {}}}}}
    if instancetype:
        spec["instancetype"] = {"name": instancetype}
    if preference:
        spec["preference"] = {"name": preference, "kind": "VirtualMachinePreference"}
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name}, "spec": spec}


class Controller:
    """The VM controller's informers and reconcile, driven by hand."""

    def __init__(self, api_server):
        self.server = api_server
        self.api = client.ApiClient(api_server.target)
        self.vms = informer.Informer(self.api.channel, proto.VM, lambda key: None)
        self.vmis = informer.Informer(self.api.channel, proto.VMI, lambda key: None)
        self.instancetypes = Instancetypes(self.api, self.vms, lambda key: None)
        self.informers = [self.vms, self.vmis, *self.instancetypes.informers.values()]
        self.by_kind = {i.kind: i for i in self.informers}
        self.api.track(*self.informers)
        self.vm_controller = VMController(self.api, self.vms, self.vmis, self.instancetypes)

    async def __aenter__(self):
        self.tasks = [asyncio.create_task(i.run()) for i in self.informers]
        await asyncio.wait_for(asyncio.gather(*(i.synced.wait() for i in self.informers)), 10)
        return self

    async def __aexit__(self, *exc):
        for t in self.tasks:
            t.cancel()
        await self.api.close()

    async def write(self, doc: dict):
        """Through the api as a user would (admission included); the caches catch up."""
        out = await self.server.stub.Create(proto.api.CreateRequest(object=parse(doc)))
        await self.settle(out)
        return proto.inner(out)

    async def update(self, res):
        out = await self.server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(res)))
        await self.settle(out)
        return proto.inner(out)

    async def delete(self, kind, namespace, name):
        await self.server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(kind, namespace, name)))
        key = f"{namespace}/{name}" if namespace else name
        await until(lambda: self.by_kind[kind].get(key) is None)

    async def settle(self, obj):
        """Until the informer of the object's kind has it (the others see no event of it)."""
        res = proto.inner(obj)
        inf = self.by_kind[proto.kind_of(obj)]
        await until(lambda: int(getattr(inf.get(proto.key(res)), "metadata", res.metadata).resourceVersion or 0)
                    >= int(res.metadata.resourceVersion) and inf.get(proto.key(res)) is not None)

    async def reconcile(self, name="vm1"):
        await self.vm_controller.reconcile(f"default/{name}")
        return self.vms.get(f"default/{name}"), self.vmis.get(f"default/{name}")

    async def stop_vmi(self, name="vm1"):
        """What the VMI controller and handler do for a deleted VMI: the finalizer goes, then the VMI."""
        vmi = proto.copy(self.vmis.get(f"default/{name}"))
        del vmi.metadata.finalizers[:]
        await self.update(vmi)
        await self.delete(proto.VMI, "default", name)

    def revisions(self):
        return sorted(r.metadata.name for r in self.instancetypes.informers[proto.CONTROLLER_REVISION].items())


async def test_reference_stores_revisions_in_status_and_leaves_the_spec(api_server):
    async with Controller(api_server) as c:
        cit, pref = await c.write(CIT), await c.write(PREF_MACHINE)
        await c.write(vm_doc())
        vm, vmi = await c.reconcile()
        assert vmi is not None
        cpu = vmi.spec.domain.cpu
        assert (cpu.sockets, cpu.cores, cpu.threads, vmi.spec.domain.memory.guest) == (1, 2, 1, "256Mi")
        assert vmi.spec.domain.machine.type == "pc-q35-9.2"   # the preference's, before the api's default
        assert vmi.metadata.annotations[it.CLUSTER_INSTANCETYPE_ANNOTATION] == "c2"
        assert vmi.metadata.annotations[it.PREFERENCE_ANNOTATION] == "cores"
        it_rev = f"vm1-c2-v1beta1-{cit.metadata.uid}-1"
        pref_rev = f"vm1-cores-v1beta1-{pref.metadata.uid}-1"
        ref = vm.status.instancetypeRef
        assert (ref.name, ref.kind, ref.controllerRevisionRef.name) == (
            "c2", "virtualmachineclusterinstancetype", it_rev)
        assert vm.status.preferenceRef.controllerRevisionRef.name == pref_rev
        assert c.revisions() == sorted([it_rev, pref_rev])
        rev = c.instancetypes.informers[proto.CONTROLLER_REVISION].get(f"default/{it_rev}")
        assert rev.metadata.ownerReferences[0].uid == vm.metadata.uid
        assert rev.metadata.labels[it.REVISION_KIND_LABEL] == "VirtualMachineClusterInstancetype"
        assert manifest.to_dict(rev)["data"]["spec"] == {"cpu": {"guest": 2}, "memory": {"guest": "256Mi"}}
        # The spec is the user's, untouched.
        assert vm.metadata.generation == 1 and not vm.spec.instancetype.revisionName
        assert not vm.spec.template.spec.domain.HasField("cpu")
        # Metrics name a vendor's object, <other> for a custom one.
        labels = dict(zip(cm.VM_INFO_LABELS, cm.vm_info_labels(vm, cm.InformerLookup(c.instancetypes.informers))))
        assert (labels["instance_type"], labels["preference"]) == ("c2", "<other>")
        vmi_labels = dict(zip(cm.VMI_INFO_LABELS,
                              cm.vmi_info_labels(vmi, cm.InformerLookup(c.instancetypes.informers))))
        assert (vmi_labels["instance_type"], vmi_labels["preference"]) == ("c2", "<other>")


async def test_later_edits_do_not_reach_the_vm_until_the_matcher_changes(api_server):
    async with Controller(api_server) as c:
        await c.write(CIT)
        await c.write(PREF)
        await c.write(vm_doc())
        await c.reconcile()
        bigger = proto.copy(c.instancetypes.informers[proto.CLUSTER_INSTANCETYPE].get("c2"))
        bigger.spec.cpu.guest = 4
        assert (await c.update(bigger)).metadata.generation == 2
        await c.stop_vmi()                       # a restart
        vm, vmi = await c.reconcile()
        assert vmi.spec.domain.cpu.cores == 2    # still the stored copy
        first = vm.status.instancetypeRef.controllerRevisionRef.name
        c4 = dict(CIT, metadata={"name": "c4"}, spec={"cpu": {"guest": 4}, "memory": {"guest": "512Mi"}})
        await c.write(c4)
        changed = proto.copy(vm)
        changed.spec.instancetype.name = "c4"
        await c.update(changed)
        await c.stop_vmi()
        vm, vmi = await c.reconcile()
        assert vm.status.instancetypeRef.name == "c4"
        assert vm.status.instancetypeRef.controllerRevisionRef.name.startswith("vm1-c4-v1beta1-")
        assert (vmi.spec.domain.cpu.cores, vmi.spec.domain.memory.guest) == (4, "512Mi")
        assert first in c.revisions()            # kept until the VM goes, as KubeVirt's are
        await c.delete(proto.VM, "default", "vm1")
        await c.reconcile()
        await until(lambda: c.revisions() == [])


async def test_an_object_gone_after_admission_is_the_vms_failure(api_server):
    async with Controller(api_server) as c:
        await c.write(CIT)
        await c.write(vm_doc(preference=None))
        await c.delete(proto.CLUSTER_INSTANCETYPE, "", "c2")
        vm, vmi = await c.reconcile()
        assert vmi is None
        failure = next(x for x in vm.status.conditions if x.type == "Failure")
        assert (failure.status, failure.reason, failure.message) == (
            "True", "FailedFindInstancetype",
            'virtualmachineclusterinstancetypes.instancetype.kubevirt.io "c2" not found')
        await c.write(CIT)
        vm, vmi = await c.reconcile()
        assert vmi is not None and not any(x.type == "Failure" for x in vm.status.conditions)


async def test_expand_writes_the_values_into_the_spec(api_server):
    async with Controller(api_server) as c:
        await c.write(CIT)
        await c.write(PREF_MACHINE)
        await c.write(vm_doc("old"))                       # under the default policy: revisions
        await c.reconcile("old")
        kv = await c.write({"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
                            "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
                            "spec": {"configuration": {"instancetype": {"referencePolicy": "expand"}}}})
        await c.write(vm_doc("new"))
        vm, vmi = await c.reconcile("new")
        assert vmi is None                                  # this pass wrote the spec
        vm = c.vms.get("default/new")
        assert not vm.spec.HasField("instancetype") and not vm.spec.HasField("preference")
        cpu = vm.spec.template.spec.domain.cpu
        assert (cpu.sockets, cpu.cores, cpu.threads) == (1, 2, 1)
        assert vm.spec.template.spec.domain.memory.guest == "256Mi"
        assert vm.spec.template.spec.domain.machine.type == "pc-q35-9.2"
        vm, vmi = await c.reconcile("new")
        assert vmi.spec.domain.cpu.cores == 2 and not vm.status.HasField("instancetypeRef")
        # `expand` leaves a VM that already runs with revisions alone; `expandAll` does not.
        old, _ = await c.reconcile("old")
        assert old.spec.HasField("instancetype") and len(c.revisions()) == 2
        kv.spec.configuration.instancetype.referencePolicy = "expandAll"
        await c.update(kv)
        await c.reconcile("old")
        old, _ = await c.reconcile("old")
        assert not old.spec.HasField("instancetype") and not old.status.HasField("instancetypeRef")
        assert old.spec.template.spec.domain.cpu.cores == 2
        await until(lambda: c.revisions() == [])            # the copies it referenced are deleted


# ---------------------------------------------------------------- a mesh, configured at run time

def test_mesh_runs_sized_vms_and_takes_the_policy_at_run_time(mesh):
    mesh.cli("apply", "-f", "-", input=manifest.dump_yaml([
        CIT, PREF, {**vm_doc(), "spec": {**vm_doc()["spec"], "template": {"spec": {
            "terminationGracePeriodSeconds": 0, "domain": {"devices": {}}}}}}]))
    mesh.wait_for(lambda: mesh.vmi_phase("vm1") == "Running", 60, "vm1 Running")
    vmi = mesh.get("vmi", "vm1")
    assert vmi["spec"]["domain"]["cpu"]["cores"] == 2 and vmi["spec"]["domain"]["memory"]["guest"] == "256Mi"
    vm = mesh.get("vm", "vm1")
    assert vm["status"]["instancetypeRef"]["controllerRevisionRef"]["name"].startswith("vm1-c2-v1beta1-")
    table = mesh.cli("get", "vmcf").stdout.split()
    assert table[:3] == ["NAME", "AGE", "c2"]
    assert len(mesh.cli("get", "controllerrevisions", "-o", "name").stdout.split()) == 2
    # The KubeVirt object, applied while the mesh runs: a new VM is expanded.
    r = mesh.cli("apply", "-f", "-", input="""
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata: {name: kubevirt, namespace: kubevirt}
spec:
  configuration:
    instancetype: {referencePolicy: expand}
""")
    assert "kubevirt.kubevirt.io/kubevirt created" in r.stdout
    mesh.cli("apply", "-f", "-", input=manifest.dump_yaml([vm_doc("vm2", "Halted")]))
    mesh.wait_for(lambda: "instancetype" not in (mesh.get("vm", "vm2") or {"spec": {"instancetype": 1}})["spec"],
                  30, "vm2 expanded")
    assert mesh.get("vm", "vm2")["spec"]["template"]["spec"]["domain"]["cpu"]["cores"] == 2
    head = mesh.cli("get", "kv", "-n", "kubevirt").stdout.split()
    assert head[:3] == ["NAME", "AGE", "PHASE"]
