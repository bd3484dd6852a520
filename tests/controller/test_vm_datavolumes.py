"""A VM's dataVolumeTemplates on the controller side (issue 14, item 3): the printable statuses KubeVirt
derives from the DataVolumes and claims (precedence table), and the VM controller with the DataVolume
controller against the api in process: DataVolumes made and owned, the VM waiting for them
(Provisioning, DataVolumeError, WaitingForVolumeBinding), starting once they are filled, a refused create
as the VM's Failure, and the DataVolumes (then their claims) deleted with the VM."""
from __future__ import annotations

import asyncio
import copy

import grpc
import pytest

from harness import until
from services.common import client, informer, manifest, proto, vmstate
from services.common.volumes import POD_PHASE, PROVISION_ERROR, SELECTED_NODE
from services.controller import vm as vmc
from services.controller import vmvolumes
from services.controller.datavolume import DataVolumeController
from services.controller.vm import VMController

URL = "https://images.example.com/alpine.qcow2"


def vm_doc(name="vm1", strategy="Always", annotations=None, volumes=None, templates=None):
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": {"name": name, **({"annotations": annotations} if annotations else {})},
            "spec": {"runStrategy": strategy,
                     "dataVolumeTemplates": templates if templates is not None else [
                         {"metadata": {"name": f"{name}-root", "labels": {"app": "alpine"}},
                          "spec": {"source": {"http": {"url": URL}},
                                   "storage": {"resources": {"requests": {"storage": "64Mi"}}}}}],
                     "template": {"spec": {
                         "terminationGracePeriodSeconds": 0,
                         "domain": {"memory": {"guest": "64Mi"},
                                    "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]}},
                         "volumes": volumes if volumes is not None else [
                             {"name": "root", "dataVolume": {"name": f"{name}-root"}}]}}}}


# ---------------------------------------------------------------- printable status, KubeVirt's precedence

class Caches:
    """What the VM controller's DataVolumes step reads: DataVolumes and claims by namespace/name."""

    def __init__(self, dvs=(), pvcs=()):
        self.dvs = {f"default/{d.metadata.name}": d for d in dvs}
        self.pvcs = {f"default/{p.metadata.name}": p for p in pvcs}

    def get_dv(self, namespace, name):
        return self.dvs.get(f"{namespace}/{name}")

    def get_pvc(self, namespace, name):
        return self.pvcs.get(f"{namespace}/{name}")


def dv(name="vm1-root", phase="", bound=None, running=None):
    d = proto.kv.DataVolume()
    d.metadata.name, d.metadata.namespace, d.status.phase = name, "default", phase
    if bound is not None:
        vmstate.set_condition(d, "Bound", bound)
    if running is not None:
        vmstate.set_condition(d, "Running", "False", running[0], running[1])
    return d


def pvc(name="vm1-root", phase="Pending"):
    p = proto.kv.PersistentVolumeClaim()
    p.metadata.name, p.metadata.namespace, p.status.phase = name, "default", phase
    return p


def vmi(phase, unschedulable=False):
    v = proto.kv.VirtualMachineInstance()
    v.status.phase = phase
    if unschedulable:
        vmstate.set_condition(v, vmstate.POD_SCHEDULED, "False", "Unschedulable", "no node")
    return v


def vm_of(strategy="Always"):
    v = manifest.to_object(vm_doc(strategy=strategy)).virtualMachine
    v.metadata.namespace = "default"
    return v


@pytest.mark.parametrize("strategy, live, caches, status", [
    ("Always", None, Caches(), "Starting"),                                        # nothing made yet
    ("Always", None, Caches([dv(phase="Pending")]), "Provisioning"),
    ("Always", None, Caches([dv(phase="ImportInProgress", bound="True")], [pvc(phase="Bound")]), "Provisioning"),
    ("Halted", None, Caches([dv(phase="ImportInProgress")]), "Provisioning"),      # not only for a VM set to run
    ("Always", None, Caches([dv(phase="Failed")]), "DataVolumeError"),
    ("Always", None, Caches([dv(phase="ImportInProgress", running=("Error", "boom"))]), "DataVolumeError"),
    ("Always", None, Caches([dv(phase="ImportInProgress", running=("Pending", "later"))]), "Provisioning"),
    ("Halted", None, Caches([dv(phase="Failed")]), "DataVolumeError"),
    # Waiting for its first consumer and unbound: binding is what the VM waits for, when set to run.
    ("Always", vmi("Scheduling"), Caches([dv(phase="WaitForFirstConsumer")], [pvc()]), "WaitingForVolumeBinding"),
    ("Halted", None, Caches([dv(phase="WaitForFirstConsumer")], [pvc()]), "Stopped"),
    ("Always", vmi("Scheduling"), Caches([dv(phase="WaitForFirstConsumer", bound="True")], [pvc()]), "Provisioning"),
    ("Always", vmi("Scheduling"), Caches([dv(phase="Succeeded")], [pvc(phase="Bound")]), "Starting"),
    ("Always", vmi("Scheduling"), Caches([dv(phase="Succeeded")], [pvc(phase="Lost")]), "WaitingForVolumeBinding"),
    # Earlier statuses win: Running, then DataVolumeError before ErrorUnschedulable before Provisioning.
    ("Always", vmi("Running"), Caches([dv(phase="Failed")]), "Running"),
    ("Always", vmi("Scheduling", unschedulable=True), Caches([dv(phase="Failed")]), "DataVolumeError"),
    ("Always", vmi("Scheduling", unschedulable=True), Caches([dv(phase="ImportInProgress")]), "ErrorUnschedulable"),
])
def test_printable_status_precedence(strategy, live, caches, status):
    assert vmc.printable_status(vm_of(strategy), live, caches) == status


def test_a_claim_volume_not_bound_is_waiting_for_binding():
    v = manifest.to_object(vm_doc(templates=[], volumes=[
        {"name": "root", "persistentVolumeClaim": {"claimName": "data"}}])).virtualMachine
    v.metadata.namespace = "default"
    assert vmc.printable_status(v, None, Caches(pvcs=[pvc("data")])) == "WaitingForVolumeBinding"
    assert vmc.printable_status(v, None, Caches(pvcs=[pvc("data", "Bound")])) == "Starting"
    assert vmc.printable_status(v, None, Caches()) == "Starting"   # no claim at all is not "unbound"


def test_the_datavolume_a_template_becomes():
    v = vm_of()
    v.metadata.uid = "uid-1"
    v.spec.dataVolumeTemplates[0].metadata.namespace = "default"
    out = vmvolumes.new_data_volume(v, v.spec.dataVolumeTemplates[0])
    assert (out.apiVersion, out.kind, out.metadata.namespace, out.metadata.name) == (
        "cdi.kubevirt.io/v1beta1", "DataVolume", "default", "vm1-root")
    assert dict(out.metadata.labels) == {"app": "alpine", "kubevirt.io/created-by": "uid-1"}
    assert dict(out.metadata.annotations) == {"cdi.kubevirt.io/allowClaimAdoption": "true"}
    ref = out.metadata.ownerReferences[0]
    assert (ref.apiVersion, ref.kind, ref.name, ref.uid, ref.controller, ref.blockOwnerDeletion) == (
        "kubevirt.io/v1", "VirtualMachine", "vm1", "uid-1", True, True)
    assert out.spec == v.spec.dataVolumeTemplates[0].spec


# ---------------------------------------------------------------- the controllers against the api

class Controllers:
    """The VM and DataVolume controllers' informers and reconciles, driven by hand; the node's part
    (claims provisioned) is written as the handler would."""

    def __init__(self, api_server):
        self.server = api_server
        self.api = client.ApiClient(api_server.target)
        self.vms = informer.Informer(self.api.channel, proto.VM, lambda key: None)
        self.vmis = informer.Informer(self.api.channel, proto.VMI, lambda key: None)
        self.dvs = informer.Informer(self.api.channel, proto.DV, lambda key: None)
        self.pvcs = informer.Informer(self.api.channel, proto.PVC, lambda key: None)
        self.informers = [self.vms, self.vmis, self.dvs, self.pvcs]
        self.by_kind = {i.kind: i for i in self.informers}
        self.api.track(*self.informers)
        self.volumes = vmvolumes.DataVolumes(self.api, self.dvs, self.pvcs)
        self.vm_controller = VMController(self.api, self.vms, self.vmis, volumes=self.volumes)
        self.dv_controller = DataVolumeController(self.api, self.dvs, self.pvcs)

    async def __aenter__(self):
        self.tasks = [asyncio.create_task(i.run()) for i in self.informers]
        await asyncio.wait_for(asyncio.gather(*(i.synced.wait() for i in self.informers)), 10)
        return self

    async def __aexit__(self, *exc):
        for t in self.tasks:
            t.cancel()
        await self.api.close()

    async def settle(self, obj):
        res = proto.inner(obj)
        inf = self.by_kind[proto.kind_of(obj)]
        await until(lambda: inf.get(proto.key(res)) is not None and int(inf.get(proto.key(res)).metadata.resourceVersion)
                    >= int(res.metadata.resourceVersion))
        return res

    async def write(self, doc: dict):
        return await self.settle(await self.server.stub.Create(proto.api.CreateRequest(object=manifest.to_object(doc))))

    async def update(self, res, status=False):
        call = self.server.stub.UpdateStatus if status else self.server.stub.Update
        return await self.settle(await call(proto.api.UpdateRequest(object=proto.wrap(res))))

    async def delete(self, kind, name):
        await self.server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(kind, "default", name)))

    async def vm(self, name="vm1"):
        """One VM pass; the VM and its VMI after it."""
        await self.vm_controller.reconcile(f"default/{name}")
        return self.vms.get(f"default/{name}"), self.vmis.get(f"default/{name}")

    async def dv(self, name="vm1-root"):
        """DataVolume passes until its status stops changing (claim made, then phase)."""
        for _ in range(3):
            await self.dv_controller.reconcile(f"default/{name}")
            await asyncio.sleep(0.05)
        return self.dvs.get(f"default/{name}")

    async def node(self, name="vm1-root", **annotations):
        """The node's provisioner: takes the claim, then (`filled`) marks it Bound or (`failed`) failed."""
        claim = proto.copy(self.pvcs.get(f"default/{name}"))
        claim.metadata.annotations[SELECTED_NODE] = "node01"
        claim.metadata.annotations.update(annotations)
        claim = await self.update(claim)
        if annotations.get(POD_PHASE) == "Succeeded":
            claim.status.phase = "Bound"
            await self.update(claim, status=True)


async def test_a_vm_makes_its_datavolumes_waits_for_them_then_starts(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc())
        vm, vmi = await c.vm()
        made = c.dvs.get("default/vm1-root")
        assert made is not None and vmi is None
        ref = made.metadata.ownerReferences[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller) == ("VirtualMachine", "vm1", vm.metadata.uid, True)
        assert made.metadata.labels["kubevirt.io/created-by"] == vm.metadata.uid
        assert made.spec.source.http.url == URL
        assert vm.status.printableStatus == "Provisioning" and not vm.status.created

        d = await c.dv()
        assert d.status.phase == "Pending" and c.pvcs.get("default/vm1-root") is not None
        assert (await c.vm())[0].status.printableStatus == "Provisioning"
        await c.node()
        assert (await c.dv()).status.phase == "ImportInProgress"
        vm, vmi = await c.vm()
        assert vm.status.printableStatus == "Provisioning" and vmi is None

        await c.node(**{POD_PHASE: "Succeeded"})
        assert (await c.dv()).status.phase == "Succeeded"
        vm, vmi = await c.vm()
        assert vmi is not None and vm.status.printableStatus == "Starting" and vm.status.created
        assert [v.dataVolume.name for v in vmi.spec.volumes] == ["vm1-root"]
        assert len(c.dvs.items()) == 1                    # made once


async def test_a_failed_import_is_a_datavolume_error_until_the_node_succeeds(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc())
        await c.vm()
        await c.dv()
        await c.node(**{POD_PHASE: "Failed", PROVISION_ERROR: "HTTP Error 404: Not Found"})
        d = await c.dv()
        assert (d.status.phase, vmstate.get_condition(d, "Ready").message) == ("Failed", "HTTP Error 404: Not Found")
        vm, vmi = await c.vm()
        assert vm.status.printableStatus == "DataVolumeError" and vmi is None
        assert not any(x.type == "Failure" for x in vm.status.conditions)   # an event in KubeVirt, no condition
        await c.node(**{POD_PHASE: "Succeeded"})                           # the node's retry worked
        await c.dv()
        vm, vmi = await c.vm()
        assert vmi is not None and vm.status.printableStatus == "Starting"


async def test_halted_vms_get_their_datavolumes_unless_told_to_wait_for_a_start(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc("eager", "Halted"))
        vm, _ = await c.vm("eager")
        assert c.dvs.get("default/eager-root") is not None and vm.status.printableStatus == "Provisioning"

        await c.write(vm_doc("lazy", "Halted", annotations={"kubevirt.io/immediate-data-volume-creation": "false"}))
        vm, _ = await c.vm("lazy")
        assert c.dvs.get("default/lazy-root") is None and vm.status.printableStatus == "Stopped"
        started = proto.copy(vm)
        started.spec.runStrategy = "Always"
        await c.update(started)
        vm, vmi = await c.vm("lazy")                      # startVMI makes them, and waits
        assert c.dvs.get("default/lazy-root") is not None and vmi is None
        assert vm.status.printableStatus == "Provisioning"


async def test_waiting_for_the_first_consumer_starts_the_vm_and_shows_the_binding(api_server):
    """CDI under a WaitForFirstConsumer storage class: the DataVolume is usable before its claim is bound;
    the VM starts and shows WaitingForVolumeBinding until the claim binds (KubeVirt's handleDataVolumes)."""
    async with Controllers(api_server) as c:
        await c.write(vm_doc())
        await c.vm()
        await c.dv()
        wffc = proto.copy(c.dvs.get("default/vm1-root"))
        wffc.status.phase = "WaitForFirstConsumer"
        await c.update(wffc, status=True)
        vm, vmi = await c.vm()
        assert vmi is not None and vm.status.printableStatus == "WaitingForVolumeBinding"
        claim = proto.copy(c.pvcs.get("default/vm1-root"))
        claim.status.phase = "Bound"
        await c.update(claim, status=True)
        vm, _ = await c.vm()
        assert vm.status.printableStatus == "Starting"


async def test_a_refused_create_is_the_vms_failure(api_server, monkeypatch):
    async with Controllers(api_server) as c:
        monkeypatch.setenv("VIRTMESH_IMPORT_ALLOW_INTERNAL", "1")
        doc = vm_doc()
        doc["spec"]["dataVolumeTemplates"][0]["spec"]["source"]["http"]["url"] = "http://127.0.0.1:9/disk.img"
        await c.write(doc)
        monkeypatch.delenv("VIRTMESH_IMPORT_ALLOW_INTERNAL")   # the operator closed the door since
        vm, vmi = await c.vm()
        assert vmi is None and c.dvs.get("default/vm1-root") is None
        failure = vmstate.get_condition(vm, "Failure")
        assert (failure.status, failure.reason) == ("True", "FailedCreate")
        assert failure.message.startswith("Error encountered while creating DataVolumes: failed to create DataVolume: "
                                          'spec.source.http.url: Forbidden: "http://127.0.0.1:9/disk.img"')
        monkeypatch.setenv("VIRTMESH_IMPORT_ALLOW_INTERNAL", "1")
        vm, _ = await c.vm()
        assert vmstate.get_condition(vm, "Failure") is None and c.dvs.get("default/vm1-root") is not None


async def test_the_datavolumes_go_with_the_vm_once_its_vmi_is_gone(api_server):
    async with Controllers(api_server) as c:
        # A DataVolume of the VM's own, and one it names in a template but did not make (left alone).
        await c.write({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "shared"},
                       "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "8Mi"}}}}})
        doc = vm_doc()
        doc["spec"]["dataVolumeTemplates"].append(
            {"metadata": {"name": "shared"},
             "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "8Mi"}}}}})
        doc["spec"]["template"]["spec"]["volumes"].append({"name": "data", "dataVolume": {"name": "shared"}})
        doc["spec"]["template"]["spec"]["domain"]["devices"]["disks"].append({"name": "data", "disk": {"bus": "virtio"}})
        await c.write(doc)
        await c.vm()
        for name in ("vm1-root", "shared"):
            await c.dv(name)
            await c.node(name, **{POD_PHASE: "Succeeded"})
            await c.dv(name)
        vm, vmi = await c.vm()
        assert vmi is not None
        assert not c.dvs.get("default/shared").metadata.ownerReferences

        await c.delete(proto.VM, "vm1")
        await until(lambda: c.vms.get("default/vm1") is None)
        await c.vm()                                       # deletes the VMI; the DataVolumes stay while it is there
        assert c.dvs.get("default/vm1-root") is not None
        for _ in range(50):   # the node's part of a VMI's deletion, on the stored VMI (the cache may lag)
            stored = await c.server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, "default", "vm1")))
            gone = proto.inner(stored)
            del gone.metadata.finalizers[:]
            try:
                await c.server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(gone)))
                break
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.ABORTED:
                    raise
                await asyncio.sleep(0.05)
        await until(lambda: c.vmis.get("default/vm1") is None)
        assert await c.vm_controller.reconcile("default/vm1") is None
        await until(lambda: c.dvs.get("default/vm1-root") is None)
        assert c.dvs.get("default/shared") is not None
        await c.dv_controller.reconcile("default/vm1-root")   # the DataVolume's claim follows it
        await until(lambda: (c.pvcs.get("default/vm1-root") or proto.kv.PersistentVolumeClaim(
            metadata={"deletionTimestamp": "x"})).metadata.deletionTimestamp != "")


async def test_a_datavolume_of_a_previous_vm_of_the_name_is_replaced(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc(strategy="Halted"))
        await c.vm()
        old_uid = c.dvs.get("default/vm1-root").metadata.uid
        await c.delete(proto.VM, "vm1")
        await until(lambda: c.vms.get("default/vm1") is None)
        await c.write(vm_doc(strategy="Halted"))            # again, before the controller saw the delete
        vm, _ = await c.vm()                               # the old one goes; the new VM does not use it
        for _ in range(3):                                 # (its delete event brings the VM back: a new one)
            made = c.dvs.get("default/vm1-root")
            if made is not None and made.metadata.uid != old_uid:
                break
            await asyncio.sleep(0.1)
            await c.vm()
        assert made.metadata.uid != old_uid and made.metadata.ownerReferences[0].uid == vm.metadata.uid


def test_vms_using_a_datavolume_or_claim():
    class Vms:
        def __init__(self, *vms):
            self.vms = vms

        def items(self):
            return self.vms

    a, b = vm_of(), copy.deepcopy(vm_of())
    b.metadata.name = "other"
    del b.spec.dataVolumeTemplates[:]
    b.spec.template.spec.volumes[0].dataVolume.name = "elsewhere"
    owned = dv()
    owned.metadata.ownerReferences.add(kind="VirtualMachine", name="gone", uid="u0", controller=True)

    class Dvs:
        def get(self, key):
            return owned if key == "default/vm1-root" else None

    volumes = vmvolumes.DataVolumes(None, Dvs(), None)
    assert volumes.vms_using(Vms(a, b), "default/vm1-root") == ["default/gone", "default/vm1"]
    assert volumes.vms_using(Vms(a, b), "default/elsewhere") == ["default/other"]
    assert volumes.vms_using(Vms(a, b), "kube-system/vm1-root") == []


async def test_a_datavolume_never_takes_the_claim_of_an_earlier_one_of_its_name(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc(strategy="Halted"))
        await c.vm()
        await c.dv()
        await c.node(**{POD_PHASE: "Succeeded"})
        first = await c.dv()
        assert first.status.phase == "Succeeded"
        old_claim = c.pvcs.get("default/vm1-root")
        # The DataVolume is deleted and made again before its claim went (the VM makes it again at once).
        await c.delete(proto.DV, "vm1-root")
        await until(lambda: c.dvs.get("default/vm1-root") is None)
        await c.vm()
        again = c.dvs.get("default/vm1-root")
        assert again is not None and again.metadata.uid != first.metadata.uid
        await c.dv_controller.reconcile("default/vm1-root")
        await until(lambda: c.pvcs.get("default/vm1-root").metadata.deletionTimestamp != "")
        d = await c.dv()
        assert d.status.phase == "Pending" and vmstate.get_condition(d, "Ready").message == (
            "waiting for the claim of a previous DataVolume vm1-root to be deleted")
        vm, _ = await c.vm()
        assert vm.status.printableStatus == "Provisioning"
        # The node removes the old image and its finalizer; the new DataVolume gets a claim of its own.
        gone = proto.copy(c.pvcs.get("default/vm1-root"))
        del gone.metadata.finalizers[:]
        await c.server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(gone)))
        await until(lambda: c.pvcs.get("default/vm1-root") is None)
        await c.dv()
        claim = c.pvcs.get("default/vm1-root")
        assert claim.metadata.uid != old_claim.metadata.uid
        assert claim.metadata.ownerReferences[0].uid == again.metadata.uid and claim.status.phase != "Bound"


async def test_a_vms_own_datavolume_may_be_deleted_while_its_vmi_may_not(api_server):
    async with Controllers(api_server) as c:
        await c.write(vm_doc())
        await c.vm()
        await c.dv()
        await c.node(**{POD_PHASE: "Succeeded"})
        await c.dv()
        vm, vmi = await c.vm()
        assert vmi is not None
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await c.delete(proto.DV, "vm1-root")
        assert (e.value.code(), e.value.details()) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            'datavolumes.cdi.kubevirt.io "vm1-root" is in use by VirtualMachineInstance default/vm1')
        # A plain DataVolume volume of a VM (no template) holds it, as before.
        await c.write({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "plain"},
                       "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "8Mi"}}}}})
        await c.write(vm_doc("user", "Halted", templates=[], volumes=[{"name": "root", "dataVolume": {"name": "plain"}}]))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await c.delete(proto.DV, "plain")
        assert e.value.details() == 'datavolumes.cdi.kubevirt.io "plain" is in use by VirtualMachine default/user'
        # Halted, the VM's own one may go: the VM makes it again.
        stopped = proto.copy(vm)
        stopped.spec.runStrategy = "Halted"
        await c.update(stopped)
        await c.vm()
        vmi = proto.copy(c.vmis.get("default/vm1"))
        del vmi.metadata.finalizers[:]
        await c.server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(vmi)))
        await until(lambda: c.vmis.get("default/vm1") is None)
        await c.delete(proto.DV, "vm1-root")
        await until(lambda: c.dvs.get("default/vm1-root") is None)
        await c.vm()
        assert c.dvs.get("default/vm1-root") is not None


def test_a_volume_without_a_disk_gets_one_in_the_vmi():
    """startVMI's SetDefaultVolumeDisk: what `virtmesh create vm --volume-import` writes (volumes, no disks)
    runs with a disk per volume; a disk the template has stays as written."""
    v = manifest.to_object(vm_doc(volumes=[{"name": "root", "dataVolume": {"name": "vm1-root"}},
                                           {"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": "#cloud-config"}}])
                           ).virtualMachine
    vmi = vmc.new_vmi(v)
    assert [(d.name, d.HasField("disk")) for d in vmi.spec.domain.devices.disks] == [
        ("root", True), ("cloudinitdisk", False)]
    assert not v.spec.template.spec.domain.devices.disks[1:]     # the VM's template is left as written


async def test_a_clone_without_a_size_gets_its_sources(api_server):
    """CDI's storage API: a clone (what `create vm --volume-import type:pvc,src:ns/name` writes) may leave
    the size out; the claim is made the size of its source once that exists."""
    async with Controllers(api_server) as c:
        await c.write(vm_doc(templates=[{"metadata": {"name": "vm1-root"},
                                         "spec": {"source": {"pvc": {"namespace": "default", "name": "golden"}},
                                                  "storage": {}}}]))
        await c.vm()
        assert await c.dv_controller.reconcile("default/vm1-root") == 2.0
        d = await c.dv()
        assert c.pvcs.get("default/vm1-root") is None and d.status.phase == "Pending"
        assert vmstate.get_condition(d, "Ready").message == (
            "waiting for the clone source claim default/golden to size it")
        golden = await c.write({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "golden"},
                                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "24Mi"}}}})
        golden.status.phase, golden.status.capacity["storage"] = "Bound", "32Mi"   # the node made it bigger
        await c.update(golden, status=True)
        await c.dv()
        claim = c.pvcs.get("default/vm1-root")
        assert claim.spec.resources.requests["storage"] == "32Mi"
        assert claim.metadata.annotations["k8s.io/CloneRequest"] == "default/golden"


def test_a_migrating_vmi_prints_migrating_until_it_ends():
    """KubeVirt's order: Migrating after Terminating and Stopping, before Paused and Running; from the
    migration's start (the source began) to its end."""
    live = vmi("Running")
    live.status.migrationState.migrationUid = "m1"
    assert vmc.printable_status(vm_of(), live, None) == "Running"        # handed off, not started yet
    live.status.migrationState.startTimestamp = "2026-12-02T04:00:00Z"
    assert vmc.printable_status(vm_of(), live, None) == "Migrating"
    vmstate.set_condition(live, vmstate.PAUSED, "True")
    assert vmc.printable_status(vm_of(), live, None) == "Migrating"
    assert vmc.printable_status(vm_of("Halted"), live, None) == "Stopping"
    live.status.migrationState.endTimestamp = "2026-12-02T04:00:09Z"
    assert vmc.printable_status(vm_of(), live, None) == "Paused"
