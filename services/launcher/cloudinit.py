"""Cloud-init data sources on the node (KubeVirt's pkg/cloud-init): a `cloudInitNoCloud` or
`cloudInitConfigDrive` volume becomes an ISO 9660 image in the VM's directory, attached as the volume's
disk, which the guest's cloud-init finds by its volume label.

- NoCloud: label `cidata`; `user-data`, `meta-data` and, with network data, `network-config` at the root.
- ConfigDrive: label `config-2`; `openstack/latest/` holds `user_data`, `meta_data.json` and, with
  network data, `network_data.json`.
- meta data, as KubeVirt writes it (JSON, which YAML readers take too): NoCloud's `instance-id` is the
  firmware UUID, `local-hostname` the guest's hostname; ConfigDrive's `instance_id` is NAME.NAMESPACE,
  with `hostname` and `uuid`; both name the VMI's instancetype when it has one.

User or network data may come from a Secret (`secretRef`, `networkDataSecretRef`: KubeVirt's keys
`userdata`/`userData`, `networkdata`/`networkData`), whose files the handler passes.

The image (services/launcher/isoimage.py) replaces nothing: a launcher looking again (a re-sync, a restart
under a running guest) keeps the image QEMU has open. A migration's target makes its
own from the same VMI, into which libvirt copies the source's.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass

from services.common import instancetype, volumes
from services.launcher import isoimage

KINDS = NO_CLOUD, CONFIG_DRIVE = volumes.CLOUD_INIT_SOURCES
HOSTNAME_MAX = 63   # a DNS-1123 label
USER_DATA_KEYS = ("userdata", "userData")            # a secretRef Secret's keys KubeVirt reads
NETWORK_DATA_KEYS = ("networkdata", "networkData")   # a networkDataSecretRef Secret's


class CloudInitError(ValueError):
    """The volume's data cannot be had or written; str() names the spec field."""


@dataclass(frozen=True)
class Layout:
    label: str       # the volume ID the guest's cloud-init looks for
    iso: str         # the image's file name (KubeVirt's)
    directory: str   # where the files sit inside the image
    meta: str
    user: str
    network: str


LAYOUTS = {
    NO_CLOUD: Layout("cidata", "noCloud.iso", "", "meta-data", "user-data", "network-config"),
    CONFIG_DRIVE: Layout("config-2", "configdrive.iso", "openstack/latest", "meta_data.json", "user_data",
                         "network_data.json"),
}


def _text(raw: str, b64: str, where: str) -> str:
    if raw:
        return raw
    if not b64:
        return ""
    try:
        return base64.b64decode(b64, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise CloudInitError(f"{where}: Invalid value: not valid base64 text: {e}") from None


def hostname(vmi) -> str:
    """The guest's hostname as KubeVirt sanitizes it: spec.hostname, else the name up to its first dot."""
    return vmi.spec.hostname or vmi.metadata.name.split(".")[0][:HOSTNAME_MAX]


def meta_data(kind: str, vmi, ssh_keys=()) -> bytes:
    """KubeVirt's meta data document, keys in its order; `ssh_keys`: the accessCredentials' public keys
    propagated through this data source ("0", "1", … as KubeVirt numbers them)."""
    md = vmi.metadata
    uuid = vmi.spec.domain.firmware.uuid or md.uid
    ann = md.annotations
    flavour = ann.get(instancetype.CLUSTER_INSTANCETYPE_ANNOTATION) or ann.get(instancetype.INSTANCETYPE_ANNOTATION)
    keys = {str(i): k for i, k in enumerate(ssh_keys)}
    doc: dict[str, object] = {}
    if kind == NO_CLOUD:
        if flavour:
            doc["instance-type"] = flavour
        doc["instance-id"] = uuid
        doc["local-hostname"] = hostname(vmi)
        if keys:
            doc["public-keys"] = keys
    else:
        if flavour:
            doc["instance_type"] = flavour
        doc["instance_id"] = f"{md.name}.{md.namespace}"
        doc["hostname"] = hostname(vmi)
        doc["uuid"] = uuid
        if keys:
            doc["public_keys"] = keys
    return json.dumps(doc, separators=(",", ":")).encode()


def kind_of(vol) -> str | None:
    return next((k for k in KINDS if vol.HasField(k)), None)


def _from_secret(files, keys: tuple[str, ...], volume: str) -> str:
    """KubeVirt's keys of a cloud-init Secret (`userdata` or `userData`, `networkdata` or `networkData`)."""
    for key in keys:
        if key in files:
            return files[key].decode(errors="replace")
    raise CloudInitError(f"no cloud-init data-source found at volume: {volume}")


def data_of(vol, where: str, volume_files=None) -> tuple[str, str]:
    """(user data, network data) of a cloud-init volume: inline, or from the Secrets it names (their files
    as the handler read them, VMIRequest.volumeFiles)."""
    kind = kind_of(vol)
    if kind is None:
        raise CloudInitError(f"{where}: not a cloud-init volume")
    src = getattr(vol, kind)
    given = (volume_files or {}).get(vol.name)
    user = _text(src.userData, src.userDataBase64, f"{where}.{kind}.userDataBase64")
    network = _text(src.networkData, src.networkDataBase64, f"{where}.{kind}.networkDataBase64")
    if src.HasField("secretRef") and src.secretRef.name:
        user = _from_secret(given.files if given is not None else {}, USER_DATA_KEYS, vol.name)
    if src.HasField("networkDataSecretRef") and src.networkDataSecretRef.name:
        network = _from_secret(given.networkFiles if given is not None else {}, NETWORK_DATA_KEYS, vol.name)
    if not user and not network:
        raise CloudInitError(f"{where}.{kind}: userDataBase64, userData, networkDataBase64 or networkData is "
                             "required for a cloud-init data source")
    return user, network


def image(vmi, vol, where: str, vm_dir: str, volume_files=None) -> str:
    """The path of `vol`'s data source image in `vm_dir`, made if it is not there yet."""
    kind = kind_of(vol)
    if kind is None:
        raise CloudInitError(f"{where}: not a cloud-init volume")
    layout = LAYOUTS[kind]
    path = os.path.join(vm_dir, "cloud-init", layout.iso)
    if os.path.exists(path):
        return path
    user, network = data_of(vol, where, volume_files)
    given = (volume_files or {}).get(vol.name)
    keys = list(given.sshPublicKeys) if given is not None else []
    files = {os.path.join(layout.directory, layout.user): user.encode(),
             os.path.join(layout.directory, layout.meta): meta_data(kind, vmi, keys)}
    if network:
        files[os.path.join(layout.directory, layout.network)] = network.encode()
    try:
        isoimage.make(path, layout.label, files, f"{where}.{kind}")
    except isoimage.ImageError as e:
        raise CloudInitError(str(e)) from None
    return path
