"""A VMI's status.volumeStatus on this node, and which claim images its launcher gets.

KubeVirt's hotplug phases, with the node's own attach in place of an attachment pod: a hotplug
volume is Pending (claim not bound), Bound (bound, but its image is not on this node), MountedToPod
(the image is here: the launcher may attach it), Ready (the domain has the disk), Detaching (the
spec dropped it, the domain still has it). `ready` is A3's hotplugVolumesReady: the first sync waits
for every claim-backed volume, hotplugged or not, so a domain boots with its boot disk present.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from services.common import proto
from services.common.volumes import CLAIM_BOUND, claim_name, hotpluggable

PENDING, BOUND, MOUNTED, READY, DETACHING = "Pending", "Bound", "MountedToPod", "Ready", "Detaching"


@dataclass
class Volumes:
    statuses: list = field(default_factory=list)       # kv.VolumeStatus
    paths: dict[str, str] = field(default_factory=dict)
    ready: bool = True


def compute(vmi, lookup: Callable[[str], tuple], disks, errors: dict[str, str]) -> Volumes:
    """`lookup(claim) -> (pvc or None, image path here or None)`; `disks`: (volume, target) of the
    live domain; `errors`: volume -> the launcher's last attach/detach failure."""
    out = Volumes()
    targets = dict(disks)
    used = {d.name for d in vmi.spec.domain.devices.disks}
    for vol in vmi.spec.volumes:
        if vol.name not in used:
            continue
        vs = proto.kv.VolumeStatus(name=vol.name, target=targets.get(vol.name, ""))
        claim = claim_name(vol)
        if claim is not None:
            pvc, path = lookup(claim)
            if pvc is not None:
                info = vs.persistentVolumeClaimInfo
                info.claimName = claim
                info.accessModes.extend(pvc.status.accessModes or pvc.spec.accessModes)
                info.volumeMode = pvc.spec.volumeMode or "Filesystem"
                info.capacity.update(pvc.status.capacity)
                info.requests.update(pvc.spec.resources.requests)
            if path:
                out.paths[vol.name] = path
            else:
                out.ready = False
            if hotpluggable(vol):
                vs.hotplugVolume.SetInParent()
                _hotplug_phase(vs, claim, pvc, path, vol.name in targets)
            if vol.name in errors:
                vs.reason, vs.message = "SyncFailed", errors[vol.name]
        out.statuses.append(vs)
    spec_names = {v.name for v in vmi.spec.volumes}
    for name, target in disks:
        if name not in spec_names:
            vs = proto.kv.VolumeStatus(name=name, target=target, phase=DETACHING, reason="VolumeDetaching",
                                       message=f"Volume {name} is being detached from the VM")
            vs.hotplugVolume.SetInParent()
            if name in errors:
                vs.reason, vs.message = "SyncFailed", errors[name]
            out.statuses.append(vs)
    return out


def _hotplug_phase(vs, claim: str, pvc, path, attached: bool) -> None:
    if attached:
        vs.phase, vs.reason = READY, "VolumeReady"
        vs.message = f"Successfully attach hotplugged volume {vs.name} to VM"
    elif path:
        vs.phase, vs.reason = MOUNTED, "VolumeMountedToPod"
        vs.message = f"Volume {vs.name} has been mounted in virt-launcher pod"
    elif pvc is not None and pvc.status.phase == CLAIM_BOUND:
        vs.phase, vs.reason = BOUND, "VolumeBound"
        vs.message = f"PVC {claim} is bound on another node"
    else:
        vs.phase, vs.reason = PENDING, "PVCNotReady"
        vs.message = f"PVC {claim} does not exist" if pvc is None else f"PVC {claim} is not bound yet"
