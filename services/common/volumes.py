"""Facts about VMI volumes every service needs (KubeVirt's pkg/storage/types)."""
from __future__ import annotations

from typing import Optional

# The claim annotations the node's provisioner (handler/claims.py), the DataVolume controller
# (controller/datavolume.py) and the scheduler share: CDI's and Kubernetes' names where they exist.
SELECTED_NODE = "volume.kubernetes.io/selected-node"   # the node that provisions (and holds) the claim
IMPORT_ENDPOINT = "cdi.kubevirt.io/storage.import.endpoint"
CLONE_REQUEST = "k8s.io/CloneRequest"                   # "namespace/name" of the source claim
POD_PHASE = "cdi.kubevirt.io/storage.pod.phase"        # POD_SUCCEEDED | POD_FAILED: the import/clone result
POD_SUCCEEDED, POD_FAILED = "Succeeded", "Failed"        # the importer pod's end phases (core/v1 PodPhase)
PROVISION_ERROR = "virtmesh.io/provision-error"
IMPORT_PROGRESS = "virtmesh.io/import-progress"          # "DONE/TOTAL" bytes downloaded (common/progress.py)
DISK_FORMAT = "virtmesh.io/disk-format"                 # raw (default) | qcow2
PVC_PROTECTION = "kubernetes.io/pvc-protection"         # the node removes it once the image is gone

# PersistentVolumeClaimPhase (core/v1).
CLAIM_PENDING, CLAIM_BOUND, CLAIM_LOST = "Pending", "Bound", "Lost"
# CDI's DataVolumePhase (DV_IN_PROGRESS takes Import or Clone) and DataVolumeConditionType.
DV_PENDING, DV_SUCCEEDED, DV_FAILED = "Pending", "Succeeded", "Failed"
DV_WAIT_FOR_FIRST_CONSUMER, DV_PENDING_POPULATION = "WaitForFirstConsumer", "PendingPopulation"
DV_IN_PROGRESS = "{}InProgress"
DV_READY, DV_BOUND, DV_RUNNING = "Ready", "Bound", "Running"

# Volume sources the launcher makes an ISO image of, in the VM's directory (launcher/cloudinit.py,
# launcher/configdisks.py): cloud-init data sources, and the disks of a ConfigMap's or Secret's keys.
CLOUD_INIT_SOURCES = ("cloudInitNoCloud", "cloudInitConfigDrive")
# accessCredentials' cloud-init propagation methods, and the data source each writes its keys into.
CLOUD_INIT_PROPAGATION = {"noCloud": "cloudInitNoCloud", "configDrive": "cloudInitConfigDrive"}
CONFIG_SOURCES = ("configMap", "secret")
# Secret types carrying registry credentials (imagePullSecret), and the one key each holds them under:
# `{"auths": {REGISTRY: …}}`, or (the older type) the auths alone.
DOCKER_CONFIG_JSON, DOCKER_CFG = "kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"
REGISTRY_CREDENTIAL_KEYS = {DOCKER_CONFIG_JSON: ".dockerconfigjson", DOCKER_CFG: ".dockercfg"}


def claim_name(vol) -> Optional[str]:
    """The PersistentVolumeClaim behind a volume; a DataVolume owns a claim of its own name (CDI)."""
    if vol.HasField("persistentVolumeClaim"):
        return vol.persistentVolumeClaim.claimName
    if vol.HasField("dataVolume"):
        return vol.dataVolume.name
    return None


def set_default_volume_disks(spec) -> None:
    """KubeVirt's SetDefaultVolumeDisk: a volume no disk names gets a disk of its name (no target: the
    converter makes it a disk on the arch's default bus), as virt-controller does when it makes a VM's VMI."""
    named = {d.name for d in spec.domain.devices.disks}
    for vol in spec.volumes:
        if vol.name not in named:
            spec.domain.devices.disks.add(name=vol.name)
            named.add(vol.name)


def hotpluggable(vol) -> bool:
    """storagetypes.IsHotplugVolume for the sources we have."""
    return (vol.HasField("persistentVolumeClaim") and vol.persistentVolumeClaim.hotpluggable) or \
        (vol.HasField("dataVolume") and vol.dataVolume.hotpluggable)


def apply_volume_request(spec, request) -> bool:
    """KubeVirt's ApplyVolumeRequestOnVMISpec on a VMI spec (a VMI's, or a VM template's), in
    place and idempotent: an add puts the volume (hotpluggable) and its disk in unless a volume of
    that name is there; a remove takes both out. Returns whether the spec changed."""
    if request.HasField("addVolumeOptions"):
        opts = request.addVolumeOptions
        if any(v.name == opts.name for v in spec.volumes):
            return False
        vol = spec.volumes.add(name=opts.name)
        src = opts.volumeSource
        if src.HasField("dataVolume"):
            vol.dataVolume.CopyFrom(src.dataVolume)
            vol.dataVolume.hotpluggable = True
        else:
            vol.persistentVolumeClaim.CopyFrom(src.persistentVolumeClaim)
            vol.persistentVolumeClaim.hotpluggable = True
        if not any(d.name == opts.name for d in spec.domain.devices.disks):
            disk = spec.domain.devices.disks.add()
            disk.CopyFrom(opts.disk)
            disk.name = opts.name
        return True
    if request.HasField("removeVolumeOptions"):
        name = request.removeVolumeOptions.name
        before = len(spec.volumes) + len(spec.domain.devices.disks)
        keep = [v for v in spec.volumes if v.name != name and claim_name(v) != name]
        gone = {v.name for v in spec.volumes} - {v.name for v in keep}
        del spec.volumes[:]
        spec.volumes.extend(keep)
        disks = [d for d in spec.domain.devices.disks if d.name not in gone and d.name != name]
        del spec.domain.devices.disks[:]
        spec.domain.devices.disks.extend(disks)
        return len(spec.volumes) + len(spec.domain.devices.disks) != before
    return False
