"""ConfigMap and Secret disks (KubeVirt's pkg/config): a `configMap` or `secret` volume with a disk becomes
an ISO 9660 image in the VM's directory holding one file per key of the object, labelled with the volume's
`volumeLabel` (KubeVirt's default `cfgdata`), which the guest mounts to read them. The files are the
handler's (VMIRequest.volumeFiles, read from the store as the kubelet projects them into a launcher pod);
an optional object that is not there gives an image without files.

As the other images here, one that exists is kept: the guest's disk does not change under it (a
ConfigMap's later edits reach a VMI started after them, as in KubeVirt).
"""
from __future__ import annotations

import os

from services.common import volumes
from services.launcher import isoimage

KINDS = volumes.CONFIG_SOURCES
DEFAULT_LABEL = "cfgdata"


class ConfigDiskError(ValueError):
    """The volume's image cannot be made; str() names the spec field."""


def image(vol, where: str, vm_dir: str, volume_files=None) -> str:
    kind = next(k for k in KINDS if vol.HasField(k))
    path = os.path.join(vm_dir, "config-disks", f"{vol.name}.iso")
    if os.path.exists(path):
        return path
    given = (volume_files or {}).get(vol.name)
    src = getattr(vol, kind)
    if given is None and not src.optional:
        name = src.name if kind == "configMap" else src.secretName
        raise ConfigDiskError(f'{where}.{kind}: the files of {kind} "{name}" were not given to this node')
    try:
        isoimage.make(path, src.volumeLabel or DEFAULT_LABEL, dict(given.files) if given is not None else {},
                      f"{where}.{kind}")
    except isoimage.ImageError as e:
        raise ConfigDiskError(str(e)) from None
    return path
