"""DataVolume -> its claim and its phase (controller/datavolume.py), and volume requests applied to
a spec (common/volumes.py)."""
from __future__ import annotations

from services.common import manifest, proto, volumes
from services.controller import datavolume as dvc


def dv(source):
    return manifest.parse({"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
                           "metadata": {"name": "d", "namespace": "ns", "uid": "u1"},
                           "spec": {"source": source, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}},
                          proto.kv.DataVolume)


def test_claim_for_an_import():
    pvc = dvc.claim_for(dv({"http": {"url": "file:///img"}}))
    assert (pvc.metadata.name, pvc.metadata.namespace) == ("d", "ns")
    assert pvc.metadata.annotations[dvc.IMPORT_ENDPOINT] == "file:///img"
    assert list(pvc.spec.accessModes) == ["ReadWriteOnce"] and pvc.spec.resources.requests["storage"] == "1Gi"
    assert pvc.metadata.ownerReferences[0].kind == "DataVolume" and pvc.metadata.ownerReferences[0].uid == "u1"
    clone = dvc.claim_for(dv({"pvc": {"name": "src"}}))
    assert clone.metadata.annotations[dvc.CLONE_REQUEST] == "ns/src"


def test_phase_follows_the_claim():
    d = dv({"http": {"url": "file:///img"}})
    pvc = dvc.claim_for(d)
    assert dvc.phase_of(d, None)[0] == "Pending"
    assert dvc.phase_of(d, pvc)[0] == "Pending"
    pvc.metadata.annotations[dvc.SELECTED_NODE] = "n1"
    assert dvc.phase_of(d, pvc) == ("ImportInProgress", "N/A", "node n1 is provisioning")
    # the node's importer reports bytes: CDI's percent, the bytes in the Ready condition's message
    pvc.metadata.annotations[dvc.IMPORT_PROGRESS] = f"{3 << 20}/{8 << 20}"
    assert dvc.phase_of(d, pvc) == ("ImportInProgress", "37.50%", "node n1 is provisioning: 3.0 MiB of 8.0 MiB")
    pvc.metadata.annotations[dvc.IMPORT_PROGRESS] = f"{3 << 20}/"   # a server without a Content-Length
    assert dvc.phase_of(d, pvc) == ("ImportInProgress", "N/A", "node n1 is provisioning: 3.0 MiB")
    pvc.metadata.annotations[dvc.POD_PHASE] = "Failed"
    pvc.metadata.annotations[dvc.PROVISION_ERROR] = "no such file"
    assert dvc.phase_of(d, pvc)[::2] == ("Failed", "no such file")
    # The node's copy done, its byte count gone, the claim not Bound yet (its next write): all of it is in.
    pvc.metadata.annotations[dvc.POD_PHASE] = "Succeeded"
    del pvc.metadata.annotations[dvc.IMPORT_PROGRESS]
    assert dvc.phase_of(d, pvc) == ("ImportInProgress", "100.0%", "node n1 is provisioning: done, binding the claim")
    pvc.status.phase = "Bound"
    assert dvc.phase_of(d, pvc)[:2] == ("Succeeded", "100.0%")
    blank = dv({"blank": {}})
    bpvc = dvc.claim_for(blank)
    bpvc.status.phase = "Bound"
    assert dvc.phase_of(blank, bpvc)[0] == "Succeeded"


def test_apply_volume_request_is_idempotent():
    spec = proto.kv.VirtualMachineInstanceSpec()
    add = manifest.parse({"addVolumeOptions": {"name": "v", "disk": {"disk": {"bus": "scsi"}},
                                               "volumeSource": {"persistentVolumeClaim": {"claimName": "c"}}}},
                         proto.kv.VirtualMachineVolumeRequest)
    assert volumes.apply_volume_request(spec, add)
    assert not volumes.apply_volume_request(spec, add)
    assert spec.volumes[0].persistentVolumeClaim.hotpluggable and spec.domain.devices.disks[0].name == "v"
    remove = manifest.parse({"removeVolumeOptions": {"name": "v"}}, proto.kv.VirtualMachineVolumeRequest)
    assert volumes.apply_volume_request(spec, remove)
    assert not volumes.apply_volume_request(spec, remove)
    assert not spec.volumes and not spec.domain.devices.disks
