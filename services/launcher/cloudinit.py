"""Cloud-init data sources on the node (KubeVirt's pkg/cloud-init): a `cloudInitNoCloud` or
`cloudInitConfigDrive` volume becomes an ISO 9660 image in the VM's directory, attached as the volume's
disk, which the guest's cloud-init finds by its volume label.

- NoCloud: label `cidata`; `user-data`, `meta-data` and, with network data, `network-config` at the root.
- ConfigDrive: label `config-2`; `openstack/latest/` holds `user_data`, `meta_data.json` and, with
  network data, `network_data.json`.
- meta data, as KubeVirt writes it (JSON, which YAML readers take too): NoCloud's `instance-id` is the
  firmware UUID, `local-hostname` the guest's hostname; ConfigDrive's `instance_id` is NAME.NAMESPACE,
  with `hostname` and `uuid`; both name the VMI's instancetype when it has one.

The image is made by `xorrisofs` with KubeVirt's options and replaces nothing: a launcher looking again
(a re-sync, a restart under a running guest) keeps the image QEMU has open. A migration's target makes its
own from the same VMI, into which libvirt copies the source's.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass

from services.common import instancetype

NO_CLOUD, CONFIG_DRIVE = "cloudInitNoCloud", "cloudInitConfigDrive"
KINDS = (NO_CLOUD, CONFIG_DRIVE)
XORRISOFS = "xorrisofs"
HOSTNAME_MAX = 63   # a DNS-1123 label
TIMEOUT = 10        # seconds KubeVirt gives the ISO's making


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


def data(src, where: str) -> tuple[str, str]:
    """(user data, network data) of a cloud-init source, each given raw or in base64."""
    user = _text(src.userData, src.userDataBase64, f"{where}.userDataBase64")
    network = _text(src.networkData, src.networkDataBase64, f"{where}.networkDataBase64")
    if not user and not network:
        raise CloudInitError(f"{where}: userDataBase64, userData, networkDataBase64 or networkData is required "
                             "for a cloud-init data source")
    return user, network


def hostname(vmi) -> str:
    """The guest's hostname as KubeVirt sanitizes it: spec.hostname, else the name up to its first dot."""
    return vmi.spec.hostname or vmi.metadata.name.split(".")[0][:HOSTNAME_MAX]


def meta_data(kind: str, vmi) -> bytes:
    """KubeVirt's meta data document, keys in its order."""
    md = vmi.metadata
    uuid = vmi.spec.domain.firmware.uuid or md.uid
    ann = md.annotations
    flavour = ann.get(instancetype.CLUSTER_INSTANCETYPE_ANNOTATION) or ann.get(instancetype.INSTANCETYPE_ANNOTATION)
    doc: dict[str, str] = {}
    if kind == NO_CLOUD:
        if flavour:
            doc["instance-type"] = flavour
        doc["instance-id"] = uuid
        doc["local-hostname"] = hostname(vmi)
    else:
        if flavour:
            doc["instance_type"] = flavour
        doc["instance_id"] = f"{md.name}.{md.namespace}"
        doc["hostname"] = hostname(vmi)
        doc["uuid"] = uuid
    return json.dumps(doc, separators=(",", ":")).encode()


def kind_of(vol) -> str | None:
    return next((k for k in KINDS if vol.HasField(k)), None)


def image(vmi, vol, where: str, vm_dir: str) -> str:
    """The path of `vol`'s data source image in `vm_dir`, made if it is not there yet."""
    kind = kind_of(vol)
    if kind is None:
        raise CloudInitError(f"{where}: not a cloud-init volume")
    layout = LAYOUTS[kind]
    out_dir = os.path.join(vm_dir, "cloud-init")
    path = os.path.join(out_dir, layout.iso)
    if os.path.exists(path):
        return path
    user, network = data(getattr(vol, kind), f"{where}.{kind}")
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as stage:
        files = os.path.join(stage, "data", layout.directory)
        os.makedirs(files)
        contents = {layout.user: user.encode(), layout.meta: meta_data(kind, vmi)}
        if network:
            contents[layout.network] = network.encode()
        for name, body in contents.items():
            fd = os.open(os.path.join(files, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(body)
        staging = os.path.join(stage, layout.iso)
        try:
            r = subprocess.run([XORRISOFS, "-output", staging, "-volid", layout.label, "-joliet", "-rock",
                                "-partition_cyl_align", "on", os.path.join(stage, "data")],
                               capture_output=True, text=True, timeout=TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CloudInitError(f"{where}.{kind}: making its image: {e}") from None
        if r.returncode != 0:
            raise CloudInitError(f"{where}.{kind}: making its image: {r.stderr.strip()[-500:]}")
        os.replace(staging, path)
    return path
