"""status.volumeStatus and the first-sync gate for claim-backed volumes (handler/volumestatus.py)."""
from __future__ import annotations

from services.common import manifest, proto
from services.handler import volumestatus


def vmi(volumes, disks):
    return manifest.parse({"metadata": {"name": "v", "namespace": "ns"},
                           "spec": {"domain": {"devices": {"disks": disks}}, "volumes": volumes}},
                          proto.kv.VirtualMachineInstance)


def claim(phase="Bound"):
    return manifest.parse({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"],
                           "resources": {"requests": {"storage": "1Gi"}}},
                           "status": {"phase": phase, "capacity": {"storage": "1Gi"}}}, proto.kv.PersistentVolumeClaim)


HOT = [{"name": "data", "persistentVolumeClaim": {"claimName": "c", "hotpluggable": True}}]
DISK = [{"name": "data", "disk": {"bus": "scsi"}}]


def phase(lookup, disks=(), errors=None):
    out = volumestatus.compute(vmi(HOT, DISK), lookup, list(disks), errors or {})
    return out, out.statuses[0]


def test_hotplug_phases_follow_the_claim_and_the_domain():
    out, vs = phase(lambda c: (None, None))
    assert (vs.phase, vs.reason, out.ready) == ("Pending", "PVCNotReady", False)
    _, vs = phase(lambda c: (claim("Pending"), None))
    assert vs.phase == "Pending" and vs.message == "PVC c is not bound yet"
    _, vs = phase(lambda c: (claim(), None))
    assert vs.phase == "Bound"                                   # bound, but not on this node
    out, vs = phase(lambda c: (claim(), "/img"))
    assert (vs.phase, out.ready, out.paths) == ("MountedToPod", True, {"data": "/img"})
    _, vs = phase(lambda c: (claim(), "/img"), disks=[("data", "sda")])
    assert (vs.phase, vs.target, vs.reason) == ("Ready", "sda", "VolumeReady")
    assert vs.HasField("hotplugVolume") and vs.persistentVolumeClaimInfo.capacity["storage"] == "1Gi"


def test_an_attach_failure_is_reported_on_the_volume():
    _, vs = phase(lambda c: (claim(), "/img"), errors={"data": "attach device: boom"})
    assert (vs.phase, vs.reason, vs.message) == ("MountedToPod", "SyncFailed", "attach device: boom")


def test_a_disk_the_spec_dropped_is_detaching():
    out = volumestatus.compute(vmi([], []), lambda c: (None, None), [("data", "sda")], {})
    assert [(v.name, v.phase, v.target) for v in out.statuses] == [("data", "Detaching", "sda")]


def test_cold_claims_also_hold_the_first_sync():
    cold = [{"name": "data", "dataVolume": {"name": "c"}}]
    out = volumestatus.compute(vmi(cold, DISK), lambda c: (claim("Pending"), None), [], {})
    assert not out.ready and not out.statuses[0].phase     # not hotplugged: no hotplug phase
    out = volumestatus.compute(vmi(cold, DISK), lambda c: (claim(), "/img"), [], {})
    assert out.ready and out.paths == {"data": "/img"}
