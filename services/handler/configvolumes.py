"""The ConfigMaps and Secrets a VMI's volumes read, for its launcher: what the kubelet projects into a
KubeVirt launcher pod (its config-map, secret and cloud-init secret directories), read from the store.

- `configMap`: the ConfigMap's `data` and `binaryData`, a file per key;
- `secret`: the Secret's `data`;
- `cloudInitNoCloud` / `cloudInitConfigDrive` with `secretRef` (user data) and/or `networkDataSecretRef`:
  the Secrets' data (the launcher reads KubeVirt's keys from them);
- the SSH public keys of `accessCredentials` propagated through cloud-init (`noCloud`, `configDrive`): the
  Secrets' non-empty keys, in KubeVirt's order, on the first volume of that data source (its meta data's
  `public-keys`).

An object that is not there makes the VMI wait, as the kubelet keeps a pod whose volume cannot be mounted
in ContainerCreating (its FailedMount message); an `optional` ConfigMap or Secret that is not there gives
an empty volume, as Kubernetes mounts an empty directory.
"""
from __future__ import annotations

from services.common import proto, volumes

VolumeFiles = proto.volumefiles.VolumeFiles
FAILED_MOUNT = "FailedMount"   # the kubelet's event reason, and our Synchronized=False reason


class Missing(Exception):
    """A volume's object is not in the store; str() is the kubelet's FailedMount message."""


def needed(vmi) -> bool:
    """Whether any volume of the VMI reads a ConfigMap or Secret (most read none: no store call then)."""
    return any(_refs(vol) for vol in vmi.spec.volumes) or bool(_key_secrets(vmi))


def _key_secrets(vmi) -> list[tuple[str, str]]:
    """(the cloud-init volume, the Secret) of each SSH public key credential propagated through cloud-init."""
    out = []
    for cred in vmi.spec.accessCredentials:
        key = cred.sshPublicKey
        method = next((m for m in volumes.CLOUD_INIT_PROPAGATION if key.propagationMethod.HasField(m)), None)
        if not cred.HasField("sshPublicKey") or method is None or not key.source.secret.secretName:
            continue
        volume = next((v.name for v in vmi.spec.volumes if v.HasField(volumes.CLOUD_INIT_PROPAGATION[method])), None)
        if volume is not None:   # admission refuses the propagation without its volume
            out.append((volume, key.source.secret.secretName))
    return out


def _refs(vol) -> list[tuple[proto.api.Kind, str, bool, bool]]:
    """(kind, name, optional, network data) of each object `vol` reads."""
    if vol.HasField("configMap"):
        return [(proto.CONFIG_MAP, vol.configMap.name, vol.configMap.optional, False)]
    if vol.HasField("secret"):
        return [(proto.SECRET, vol.secret.secretName, vol.secret.optional, False)]
    for kind in volumes.CLOUD_INIT_SOURCES:
        if vol.HasField(kind):
            src = getattr(vol, kind)
            out = []
            if src.HasField("secretRef") and src.secretRef.name:
                out.append((proto.SECRET, src.secretRef.name, False, False))
            if src.HasField("networkDataSecretRef") and src.networkDataSecretRef.name:
                out.append((proto.SECRET, src.networkDataSecretRef.name, False, True))
            return out
    return []


def _files(kind: proto.api.Kind, res) -> dict[str, bytes]:
    if kind == proto.SECRET:
        return dict(res.data)
    return {**{k: v.encode() for k, v in res.data.items()}, **dict(res.binaryData)}


async def files_of(api, vmi) -> dict[str, VolumeFiles]:
    """Volume name -> its objects' files, for every volume that reads one; raises Missing."""
    ns = vmi.metadata.namespace
    out: dict[str, VolumeFiles] = {}
    for vol in vmi.spec.volumes:
        for kind, name, optional, network in _refs(vol):
            res = await api.get_or_none(kind, ns, name)
            entry = out.setdefault(vol.name, VolumeFiles())
            if res is None:
                if optional:
                    continue
                raise Missing(f'MountVolume.SetUp failed for volume "{vol.name}" : '
                              f'{proto.KINDS[kind].kind.lower()} "{name}" not found')
            (entry.networkFiles if network else entry.files).update(_files(kind, res))
    for volume, name in _key_secrets(vmi):
        res = await api.get_or_none(proto.SECRET, ns, name)
        if res is None:
            raise Missing(f'MountVolume.SetUp failed for volume "{name}-access-cred" : secret "{name}" not found')
        keys = [v.decode(errors="replace").strip() for _, v in sorted(res.data.items())]
        out.setdefault(volume, VolumeFiles()).sshPublicKeys.extend(k for k in keys if k)
    return out
