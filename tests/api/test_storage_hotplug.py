"""addvolume / removevolume subresources: KubeVirt's subresource.go checks and texts, the VMI path
(spec edit) and the VM path (status.volumeRequests), dry run, and that a refusal changes nothing."""
import grpc
import pytest

from services.common import proto, vmstate

INVALID = grpc.StatusCode.INVALID_ARGUMENT
CONFLICT = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND


async def create(api, res):
    return proto.inner(await api.stub.Create(proto.api.CreateRequest(object=proto.wrap(res))))


async def get(api, kind, name):
    return proto.inner(await api.stub.Get(proto.api.GetRequest(ref=proto.ref(kind, "default", name))))


def claim(name="data1"):
    p = proto.kv.PersistentVolumeClaim()
    p.metadata.name = name
    p.spec.accessModes.append("ReadWriteOnce")
    p.spec.resources.requests["storage"] = "64Mi"
    return p


def datavolume(name="dv1"):
    d = proto.kv.DataVolume()
    d.metadata.name = name
    d.spec.source.blank.SetInParent()
    d.spec.storage.resources.requests["storage"] = "64Mi"
    return d


def spec_with_boot_disk(spec, hotplug_claim=None):
    spec.domain.memory.guest = "64Mi"
    spec.volumes.add(name="root").containerDisk.image = "cirros"
    spec.domain.devices.disks.add(name="root").disk.bus = "virtio"
    if hotplug_claim:  # an already hotplugged volume
        v = spec.volumes.add(name=hotplug_claim)
        v.persistentVolumeClaim.claimName = hotplug_claim
        v.persistentVolumeClaim.hotpluggable = True
        spec.domain.devices.disks.add(name=hotplug_claim).disk.bus = "scsi"


async def make_vmi(api, phase=vmstate.RUNNING, hotplugged=None, name="vm1"):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = name
    spec_with_boot_disk(vmi.spec, hotplugged)
    vmi = await create(api, vmi)
    if phase:
        vmstate.set_phase(vmi, phase)
        vmi = proto.inner(await api.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi))))
    return vmi


async def make_vm(api, hotplugged=None, name="vm1"):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name = name
    vm.spec.runStrategy = "Always"
    spec_with_boot_disk(vm.spec.template.spec, hotplugged)
    return await create(api, vm)


def add_opts(name="data1", bus="scsi", source="pvc", claim_name=None, target="disk", dry_run=False):
    o = proto.kv.AddVolumeOptions(name=name)
    if target == "disk":
        o.disk.disk.bus = bus
    elif target == "lun":
        o.disk.lun.bus = bus
    elif target == "cdrom":
        o.disk.cdrom.bus = bus
    elif target == "empty":
        o.disk.SetInParent()
    if source == "pvc":
        o.volumeSource.persistentVolumeClaim.claimName = claim_name or name
    elif source == "dv":
        o.volumeSource.dataVolume.name = claim_name or name
    if dry_run:
        o.dryRun.append("All")
    return o


def add(kind, opts, name="vm1"):
    return proto.api.VolumeRequest(kind=kind, namespace="default", name=name, addVolumeOptions=opts)


def remove(kind, vol, name="vm1", dry_run=False):
    return proto.api.VolumeRequest(kind=kind, namespace="default", name=name, removeVolumeOptions=
                                   proto.kv.RemoveVolumeOptions(name=vol, dryRun=["All"] if dry_run else []))


async def refused(api, call, request, code, text, kind=proto.VMI, name="vm1"):
    """The call fails with exactly (code, text) and the target object is not written."""
    try:
        before = (await get(api, kind, name)).metadata.resourceVersion
    except grpc.aio.AioRpcError:
        before = None
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(request)
    assert (e.value.code(), e.value.details()) == (code, text)
    if before is not None:
        assert (await get(api, kind, name)).metadata.resourceVersion == before


# ---------------------------------------------------------------- option checks

@pytest.mark.parametrize("opts, text", [
    (proto.kv.AddVolumeOptions(), "AddVolumeOptions requires name to be set"),
    (add_opts(target=None), "AddVolumeOptions requires disk to not be nil"),
    (add_opts(source=None), "AddVolumeOptions requires VolumeSource to not be nil"),
])
@pytest.mark.parametrize("kind", [proto.VM, proto.VMI])
async def test_add_option_checks(api_server, opts, text, kind):
    await make_vmi(api_server)
    await make_vm(api_server)
    await refused(api_server, api_server.sub.AddVolume, add(kind, opts), INVALID, text, kind=kind)


async def test_add_with_empty_volume_source_is_invalid(api_server):
    await make_vmi(api_server)
    opts = add_opts(source=None)
    opts.volumeSource.SetInParent()
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, opts), INVALID,
                  "AddVolumeOptions requires VolumeSource to have exactly one of persistentVolumeClaim or "
                  "dataVolume, got 0")


@pytest.mark.parametrize("kind", [proto.VM, proto.VMI])
async def test_remove_requires_name(api_server, kind):
    await make_vmi(api_server)
    await make_vm(api_server)
    await refused(api_server, api_server.sub.RemoveVolume, remove(kind, ""), INVALID,
                  "RemoveVolumeOptions requires name to be set", kind=kind)


# ---------------------------------------------------------------- bus / device type

@pytest.mark.parametrize("target, bus, text", [
    ("disk", "virtio", "hotplugged Disk data1 does not use a scsi bus"),
    ("disk", "sata", "hotplugged Disk data1 does not use a scsi bus"),
    ("disk", "", "hotplugged Disk data1 does not use a scsi bus"),
    ("lun", "virtio", "hotplugged Disk data1 does not use a scsi bus"),
    ("cdrom", "scsi", "Disk data1 requires diskDevice of type 'disk' or 'lun' to be hotplugged."),
    ("empty", "", "Disk data1 requires diskDevice of type 'disk' or 'lun' to be hotplugged."),
])
@pytest.mark.parametrize("kind", [proto.VM, proto.VMI])
async def test_hotplug_needs_a_scsi_disk_or_lun(api_server, target, bus, text, kind):
    await create(api_server, claim())
    await make_vmi(api_server)
    await make_vm(api_server)
    await refused(api_server, api_server.sub.AddVolume, add(kind, add_opts(target=target, bus=bus)), INVALID, text,
                  kind=kind)


# ---------------------------------------------------------------- unknown claim

@pytest.mark.parametrize("kind", [proto.VM, proto.VMI])
async def test_unknown_claim_is_not_found(api_server, kind):
    await make_vmi(api_server)
    await make_vm(api_server)
    await refused(api_server, api_server.sub.AddVolume, add(kind, add_opts("nope")), NOT_FOUND,
                  'persistentvolumeclaims "nope" not found', kind=kind)
    await refused(api_server, api_server.sub.AddVolume, add(kind, add_opts("nodv", source="dv")), NOT_FOUND,
                  'datavolumes.cdi.kubevirt.io "nodv" not found', kind=kind)


async def test_claim_being_deleted_is_refused(api_server):
    await create(api_server, claim())
    await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.PVC, "default", "data1")))
    await make_vmi(api_server)
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts()), CONFLICT,
                  'persistentvolumeclaims "data1" is being deleted')


# ---------------------------------------------------------------- VMI path

async def test_vmi_must_exist_and_run(api_server):
    await create(api_server, claim())
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts()), NOT_FOUND,
                  'virtualmachineinstance "vm1" not found')
    await make_vmi(api_server, phase=vmstate.SCHEDULED)
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts()), CONFLICT, "VMI is not running")
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VMI, "data1"), CONFLICT,
                  "VMI is not running")


async def test_vmi_add_puts_volume_and_disk_into_the_spec(api_server):
    await create(api_server, claim())
    before = await make_vmi(api_server)
    opts = add_opts()
    opts.disk.name = "ignored"  # the api names the disk after the volume
    opts.disk.serial = "SER1"
    resp = await api_server.sub.AddVolume(add(proto.VMI, opts))
    assert resp.message == "Successfully submitted add volume request to VMI vm1 for volume data1"
    vmi = await get(api_server, proto.VMI, "vm1")
    assert vmi.metadata.generation == before.metadata.generation + 1
    vol = vmi.spec.volumes[-1]
    assert vol.name == "data1"
    assert (vol.persistentVolumeClaim.claimName, vol.persistentVolumeClaim.hotpluggable) == ("data1", True)
    disk = vmi.spec.domain.devices.disks[-1]
    assert (disk.name, disk.disk.bus, disk.serial) == ("data1", "scsi", "SER1")


async def test_vmi_add_survives_a_handler_status_write_in_between(api_server, status_writes_between):
    await create(api_server, claim())
    await make_vmi(api_server)
    status_writes_between(proto.VMI, 2)
    await api_server.sub.AddVolume(add(proto.VMI, add_opts()))
    vmi = await get(api_server, proto.VMI, "vm1")
    assert vmi.spec.volumes[-1].name == "data1" and vmi.status.reason == "other-writer-1"


async def test_vmi_add_datavolume_source_is_hotpluggable(api_server):
    await create(api_server, datavolume())
    await make_vmi(api_server)
    await api_server.sub.AddVolume(add(proto.VMI, add_opts("dv1", source="dv", target="lun")))
    vmi = await get(api_server, proto.VMI, "vm1")
    assert vmi.spec.volumes[-1].dataVolume.name == "dv1" and vmi.spec.volumes[-1].dataVolume.hotpluggable
    assert vmi.spec.domain.devices.disks[-1].lun.bus == "scsi"


@pytest.mark.parametrize("opts, text", [
    (add_opts("root", claim_name="data1"), "Unable to add volume [root] because volume with that name already exists"),
    (add_opts("data1"), "Unable to add volume [data1] because volume with that name already exists"),
    (add_opts("other", claim_name="data1"), "Unable to add volume source [data1] because it already exists"),
])
async def test_vmi_add_duplicates_are_refused(api_server, opts, text):
    await create(api_server, claim())
    await make_vmi(api_server, hotplugged="data1")
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, opts), CONFLICT, text)


async def test_vmi_add_with_a_disk_of_that_name_is_a_duplicate(api_server):
    await create(api_server, claim())
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "vm1"
    spec_with_boot_disk(vmi.spec)
    vmi.spec.volumes.add(name="cfg").cloudInitNoCloud.userData = "#cloud-config"
    vmi.spec.domain.devices.disks.add(name="cfg")
    vmi = await create(api_server, vmi)
    vmstate.set_phase(vmi, vmstate.RUNNING)
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts("cfg", claim_name="data1")),
                  CONFLICT, "Unable to add volume [cfg] because volume with that name already exists")


async def test_vmi_remove(api_server):
    await create(api_server, claim())
    await make_vmi(api_server, hotplugged="data1")
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VMI, "root"), CONFLICT,
                  "Unable to remove volume [root] because it is not hotpluggable")
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VMI, "nope"), CONFLICT,
                  "Unable to remove volume [nope] because it does not exist")
    resp = await api_server.sub.RemoveVolume(remove(proto.VMI, "data1"))
    assert resp.message == "Successfully submitted remove volume request to VMI vm1 for volume data1"
    vmi = await get(api_server, proto.VMI, "vm1")
    assert [v.name for v in vmi.spec.volumes] == ["root"]
    assert [d.name for d in vmi.spec.domain.devices.disks] == ["root"]


async def test_vmi_remove_by_claim_name_removes_that_volume(api_server):
    await create(api_server, claim())
    await make_vmi(api_server)
    await api_server.sub.AddVolume(add(proto.VMI, add_opts("vol-a", claim_name="data1")))
    await api_server.sub.RemoveVolume(remove(proto.VMI, "data1"))
    vmi = await get(api_server, proto.VMI, "vm1")
    assert [v.name for v in vmi.spec.volumes] == ["root"]


async def test_vmi_dry_run_validates_but_stores_nothing(api_server):
    await create(api_server, claim())
    before = await make_vmi(api_server)
    resp = await api_server.sub.AddVolume(add(proto.VMI, add_opts(dry_run=True)))
    assert resp.message.endswith("(dry run)")
    assert (await get(api_server, proto.VMI, "vm1")).metadata.resourceVersion == before.metadata.resourceVersion
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts(bus="virtio", dry_run=True)),
                  INVALID, "hotplugged Disk data1 does not use a scsi bus")
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VMI, "data1", dry_run=True), CONFLICT,
                  "Unable to remove volume [data1] because it does not exist")


# ---------------------------------------------------------------- VM path (--persist)

def requests(vm):
    out = []
    for r in vm.status.volumeRequests:
        if r.HasField("addVolumeOptions"):
            out.append(("add", r.addVolumeOptions.name))
        else:
            out.append(("remove", r.removeVolumeOptions.name))
    return out


async def test_vm_must_exist(api_server):
    await create(api_server, claim())
    await refused(api_server, api_server.sub.AddVolume, add(proto.VM, add_opts()), NOT_FOUND,
                  'virtualmachine "vm1" not found', kind=proto.VM)


async def test_vm_add_appends_a_volume_request(api_server):
    await create(api_server, claim())
    before = await make_vm(api_server)
    resp = await api_server.sub.AddVolume(add(proto.VM, add_opts()))
    assert resp.message == "Successfully submitted add volume request to VM vm1 for volume data1"
    vm = await get(api_server, proto.VM, "vm1")
    assert requests(vm) == [("add", "data1")]
    opts = vm.status.volumeRequests[0].addVolumeOptions
    assert opts.disk.name == "data1" and opts.volumeSource.persistentVolumeClaim.hotpluggable
    assert not opts.dryRun
    # A status write: the template (and generation) are the controller's to change.
    assert vm.spec == before.spec and vm.metadata.generation == before.metadata.generation
    await refused(api_server, api_server.sub.AddVolume, add(proto.VM, add_opts()), CONFLICT,
                  "add volume request for volume [data1] already exists", kind=proto.VM)


async def test_vm_add_survives_a_controller_status_write_in_between(api_server, status_writes_between):
    await create(api_server, claim())
    await make_vm(api_server)
    status_writes_between(proto.VM, 1)
    await api_server.sub.AddVolume(add(proto.VM, add_opts()))
    vm = await get(api_server, proto.VM, "vm1")
    assert requests(vm) == [("add", "data1")] and vm.status.printableStatus == "other-writer-0"


async def test_vm_requests_checked_against_the_template(api_server):
    await create(api_server, claim())
    await make_vm(api_server, hotplugged="data1")
    await refused(api_server, api_server.sub.AddVolume, add(proto.VM, add_opts()), CONFLICT,
                  "Unable to add volume [data1] because volume with that name already exists", kind=proto.VM)
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VM, "root"), CONFLICT,
                  "Unable to remove volume [root] because it is not hotpluggable", kind=proto.VM)
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VM, "nope"), CONFLICT,
                  "Unable to remove volume [nope] because it does not exist", kind=proto.VM)


async def test_vm_remove_requests(api_server):
    await create(api_server, claim())
    await create(api_server, claim("data2"))
    await make_vm(api_server, hotplugged="data1")
    resp = await api_server.sub.RemoveVolume(remove(proto.VM, "data1"))
    assert resp.message == "Successfully submitted remove volume request to VM vm1 for volume data1"
    await refused(api_server, api_server.sub.RemoveVolume, remove(proto.VM, "data1"), CONFLICT,
                  "a remove volume request for volume [data1] already exists and is still being processed",
                  kind=proto.VM)
    # data1 is still in the template until the controller applies the remove.
    await refused(api_server, api_server.sub.AddVolume, add(proto.VM, add_opts("data1", claim_name="data2")), CONFLICT,
                  "Unable to add volume [data1] because volume with that name already exists", kind=proto.VM)
    vm = await get(api_server, proto.VM, "vm1")
    assert requests(vm) == [("remove", "data1")]


async def test_vm_add_while_remove_pending_is_refused(api_server):
    await create(api_server, claim())
    vm = await make_vm(api_server)
    pending = vm.status.volumeRequests.add()
    pending.removeVolumeOptions.name = "data1"
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vm)))
    await refused(api_server, api_server.sub.AddVolume, add(proto.VM, add_opts()), CONFLICT,
                  "unable to add volume since a remove volume request for volume [data1] already exists and is "
                  "still being processed", kind=proto.VM)


async def test_vm_remove_drops_a_pending_add(api_server):
    await create(api_server, claim())
    await create(api_server, claim("data2"))
    vm = await make_vm(api_server, hotplugged="data1")
    # Pending: add data2 (not yet in the template) and ...
    await api_server.sub.AddVolume(add(proto.VM, add_opts("data2")))
    # ... a remove of data1, which is in the template. A pending add of the same name would be dropped:
    vm = await get(api_server, proto.VM, "vm1")
    extra = vm.status.volumeRequests.add()
    extra.addVolumeOptions.CopyFrom(add_opts("data1"))
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vm)))
    await api_server.sub.RemoveVolume(remove(proto.VM, "data1"))
    vm = await get(api_server, proto.VM, "vm1")
    assert requests(vm) == [("add", "data2"), ("remove", "data1")]


async def test_vm_dry_run_stores_nothing(api_server):
    await create(api_server, claim())
    before = await make_vm(api_server)
    resp = await api_server.sub.AddVolume(add(proto.VM, add_opts(dry_run=True)))
    assert resp.message == "Successfully submitted add volume request to VM vm1 for volume data1 (dry run)"
    assert (await get(api_server, proto.VM, "vm1")).metadata.resourceVersion == before.metadata.resourceVersion


async def test_dry_run_other_than_all_is_a_real_request(api_server):
    await create(api_server, claim())
    await make_vm(api_server)
    opts = add_opts()
    opts.dryRun.append("None")
    await api_server.sub.AddVolume(add(proto.VM, opts))
    assert requests(await get(api_server, proto.VM, "vm1")) == [("add", "data1")]


async def test_unsupported_target_kind(api_server):
    req = add(proto.PVC, add_opts())
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.sub.AddVolume(req)
    assert e.value.code() == INVALID
    assert e.value.details() == "kind: Unsupported value: supported values: VIRTUAL_MACHINE, VIRTUAL_MACHINE_INSTANCE"


async def test_hotplugged_claim_cannot_be_deleted(api_server):
    await create(api_server, claim())
    await make_vmi(api_server, name="vmi9")
    await api_server.sub.AddVolume(add(proto.VMI, add_opts(), name="vmi9"))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.PVC, "default", "data1")))
    assert (e.value.code(), e.value.details()) == (
        CONFLICT, 'persistentvolumeclaims "data1" is in use by VirtualMachineInstance default/vmi9')
