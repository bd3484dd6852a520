"""Volumes on the node, standalone mode (no image registry, no CDI, no kubelet).

KubeVirt's launcher finds every volume already mounted into its pod; here the launcher resolves
them itself from the node's filesystem:

- `containerDisk.image` is an absolute path or a `file://` URL naming a disk image file (or a
  directory laid out like a containerDisk image: one file under `disk/`, or `containerDisk.path`).
  As in KubeVirt the VM never writes to the image: it gets a qcow2 overlay in its own directory.
- `hostDisk`: `Disk` must exist; `DiskOrCreate` creates a sparse raw file of `capacity`.

Every host path (images, hostDisk paths, kernel and initrd) is checked again here, symlinks
resolved, against the operator's allowed directories (services/common/hostpaths.py): admission
refused the others, and the node does not take the api's word for it.
- `emptyDisk`: a fresh qcow2 (sparse raw without qemu-img) of `capacity` in the VM's directory.
- `cloudInitNoCloud` / `cloudInitConfigDrive`: the data source's ISO image in the VM's directory
  (services/launcher/cloudinit.py); `configMap` / `secret`: an ISO image of the object's keys
  (services/launcher/configdisks.py).
- `firmware.kernelBoot.container.image` names a directory; `kernelPath`/`initrdPath` are paths
  inside it.
- A registry reference in either is pulled and unpacked by the handler (handler/images.py), which
  passes the directory (`imagePaths`, as KubeVirt's pod has the containerDisk mounted); from there
  on it is read as a local image directory is, but the domain names its files through a link in the
  VM's own directory (`images/<manifest digest>`): a migrating domain's paths under the launcher's
  directory become the receiving launcher's, which links the same digest on its node (KubeVirt keeps
  such a constant path for migrations too).

A missing image or a file missing in it fails with `ImagePullError` ("ErrImagePull: ..."), which the
handler turns into the VMI's ErrImagePull reason. Preparation is idempotent: a re-sync reuses the
overlays and empty disks it made before (recreating them under a running guest would wipe them).
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlparse

from services.common import hostpaths, quantity
from services.common import images as refs
from services.launcher import cloudinit, configdisks

QCOW2_MAGIC = b"QFI\xfb"
QEMU_IMG = "qemu-img"


@dataclass
class DiskSource:
    path: str
    format: str = "raw"      # raw | qcow2
    type: str = "file"       # file | block
    direct_io: bool = True   # its file system takes O_DIRECT, so cache="none" works


class VolumeError(ValueError):
    """A volume that cannot be prepared; str() names the spec field."""


class ImagePullError(VolumeError):
    """An image that is not on the node; str() starts with "ErrImagePull:" as the handler expects."""


# ---------------------------------------------------------------- helpers

def image_path(image: str) -> Optional[str]:
    """An absolute path or file:// URL -> a path on the node; anything else (a registry ref) -> None."""
    if image.startswith("file://"):
        u = urlparse(image)
        if u.netloc not in ("", "localhost"):
            return None
        return unquote(u.path) or None
    if os.path.isabs(image):
        return os.path.normpath(image)
    return None


def _not_local(image: str) -> ImagePullError:
    return ImagePullError(f'ErrImagePull: image "{image}" has not been pulled to this node')


def _allowed(check, *args) -> str:
    try:
        return check(*args)
    except hostpaths.HostPathError as e:
        raise VolumeError(str(e)) from None


def _local_image(image: str, field: str, image_paths=None) -> str:
    """The image's path on the node, symlinks resolved, inside an allowed directory; a registry
    image's is where the handler unpacked it (its own cache, not a host path a manifest names)."""
    if image_paths and image in image_paths:
        return os.path.realpath(image_paths[image])
    local = image_path(image)
    if local is None:
        raise _not_local(image)
    path = _allowed(hostpaths.check_image, os.path.normpath(local), field)
    if not os.path.exists(path):
        raise ImagePullError(f'ErrImagePull: image "{image}" not found on node')
    return path


def _as_seen(path: str, image: str, image_paths, vm_dir: Optional[str]) -> str:
    """`path`, a file of a registry image, as the domain names it: through the link
    VM_DIR/images/<name of the image's directory> (the handler names it by the manifest digest)."""
    if not vm_dir or not image_paths or image not in image_paths:
        return path
    root = os.path.realpath(image_paths[image])
    link = os.path.join(vm_dir, refs.VM_IMAGE_LINKS, os.path.basename(root))
    if os.path.realpath(link) != root:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        tmp = link + ".tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(root, tmp)
        os.replace(tmp, link)
    return os.path.join(link, os.path.relpath(path, root))


def detect_format(path: str) -> str:
    with open(path, "rb") as f:
        return "qcow2" if f.read(4) == QCOW2_MAGIC else "raw"


def supports_direct_io(path: str) -> bool:
    """Can QEMU open `path` with O_DIRECT (what cache="none" needs)? tmpfs on older kernels can't."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | flag)
    except OSError as e:
        return e.errno != errno.EINVAL  # EACCES etc. say nothing about the file system
    os.close(fd)
    return True


def _is_block(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def _capacity(value: str, where: str) -> int:
    if not value:
        raise VolumeError(f"{where}: Required value")
    try:
        size = quantity.to_bytes(value)
    except ValueError as e:
        raise VolumeError(f'{where}: Invalid value: "{value}": {e}') from None
    if size <= 0:
        raise VolumeError(f'{where}: Invalid value: "{value}": must be greater than 0')
    return size


def _qemu_img(*args: str) -> None:
    r = subprocess.run([QEMU_IMG, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise VolumeError(f"qemu-img {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")


def _sparse_file(path: str, size: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(size)
    os.replace(tmp, path)


def _source(path: str, fmt: Optional[str] = None, *also: str) -> DiskSource:
    if _is_block(path):
        return DiskSource(path=path, format="raw", type="block")
    return DiskSource(path=path, format=fmt or detect_format(path),
                      direct_io=all(supports_direct_io(p) for p in (path, *also)))


# ---------------------------------------------------------------- volume types

def _container_disk(vol, where: str, vm_dir: str, image_paths=None) -> DiskSource:
    cd = vol.containerDisk
    path = _local_image(cd.image, f"{where}.containerDisk.image", image_paths)
    if os.path.isdir(path):
        if cd.path:
            path = _allowed(hostpaths.check_inside, path, cd.path, f"{where}.containerDisk.path")
            if not os.path.isfile(path):
                raise ImagePullError(f'ErrImagePull: image "{cd.image}" has no file "{cd.path}" '
                                     f"({where}.containerDisk.path)")
        else:
            disk_dir = os.path.join(path, "disk")
            files = sorted(os.listdir(disk_dir)) if os.path.isdir(disk_dir) else []
            if len(files) != 1:
                raise ImagePullError(f'ErrImagePull: image "{cd.image}" is a directory without exactly one '
                                     f"file under disk/; set {where}.containerDisk.path")
            path = _allowed(hostpaths.check_inside, path, f"disk/{files[0]}", f"{where}.containerDisk.image")
    path = _as_seen(path, cd.image, image_paths, vm_dir)
    fmt = detect_format(path)
    out_dir = os.path.join(vm_dir, "container-disks")
    os.makedirs(out_dir, exist_ok=True)
    if shutil.which(QEMU_IMG):
        overlay = os.path.join(out_dir, f"{vol.name}.qcow2")
        if not os.path.exists(overlay):
            tmp = overlay + ".tmp"
            _qemu_img("create", "-q", "-f", "qcow2", "-F", fmt, "-b", path, tmp)
            os.replace(tmp, overlay)
        return _source(overlay, "qcow2", path)
    # No qemu-img: a private copy keeps the node's image untouched all the same.
    copy = os.path.join(out_dir, f"{vol.name}.{fmt}")
    if not os.path.exists(copy):
        shutil.copyfile(path, copy + ".tmp")
        os.replace(copy + ".tmp", copy)
    return _source(copy, fmt)


def _host_disk(vol, where: str, gates) -> DiskSource:
    hd = vol.hostDisk
    if not hd.path:
        raise VolumeError(f"{where}.hostDisk.path: Required value")
    if hostpaths.HOST_DISK_GATE not in gates:
        raise VolumeError(f"{where}: HostDisk feature gate is not enabled")
    # Absolute, normalised, inside an allowed directory with symlinks resolved: DiskOrCreate never
    # creates a file elsewhere (a relative path would land in the daemon's working directory).
    path = _allowed(hostpaths.check_path, hd.path, f"{where}.hostDisk.path")
    if hd.type == "DiskOrCreate":
        if not os.path.exists(path):
            size = _capacity(hd.capacity, f"{where}.hostDisk.capacity")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _sparse_file(path, size)
    elif hd.type == "Disk":
        if not os.path.exists(path):
            raise VolumeError(f'{where}.hostDisk.path: "{path}" does not exist on the node '
                              '(use type "DiskOrCreate" to create it)')
    else:
        raise VolumeError(f'{where}.hostDisk.type: Unsupported value: "{hd.type}": '
                          'supported values: "Disk", "DiskOrCreate"')
    if os.path.isdir(path):
        raise VolumeError(f'{where}.hostDisk.path: "{path}" is a directory, not a disk image')
    return _source(path)


def _empty_disk(vol, where: str, vm_dir: str) -> DiskSource:
    size = _capacity(vol.emptyDisk.capacity, f"{where}.emptyDisk.capacity")
    out_dir = os.path.join(vm_dir, "empty-disks")
    os.makedirs(out_dir, exist_ok=True)
    if shutil.which(QEMU_IMG):
        path = os.path.join(out_dir, f"{vol.name}.qcow2")
        if not os.path.exists(path):
            _qemu_img("create", "-q", "-f", "qcow2", path + ".tmp", str(size))
            os.replace(path + ".tmp", path)
        return _source(path, "qcow2")
    path = os.path.join(out_dir, f"{vol.name}.img")
    if not os.path.exists(path):
        _sparse_file(path, size)
    return _source(path, "raw")


def _claim(vol, kind: str, where: str, volume_paths) -> Optional[DiskSource]:
    """A PersistentVolumeClaim / DataVolume: the image the node provisioned for the claim (the
    handler passes its path, as KubeVirt's pod mounts the PVC). None for a hotpluggable volume the
    node has not mounted yet: it is attached once it is."""
    src = getattr(vol, kind)
    path = volume_paths.get(vol.name)
    if path is None:
        if src.hotpluggable:
            return None
        claim = src.claimName if kind == "persistentVolumeClaim" else src.name
        raise VolumeError(f'{where}.{kind}: claim "{claim}" is not bound on this node')
    if not os.path.exists(path):
        raise VolumeError(f"{where}.{kind}: the image {path} of volume {vol.name!r} is missing on this node")
    return _source(path)


def prepare_volume(vol, index: int, vm_dir: str, volume_paths=None, gates=(),
                   image_paths=None, vmi=None, volume_files=None) -> Optional[DiskSource]:
    """`gates`: the feature gates in effect, as the handler passed them; `image_paths`: registry
    images the handler unpacked (reference -> directory); `vmi`: whose volume it is (a cloud-init
    volume's meta data names it); `volume_files`: the ConfigMap and Secret files the handler read
    (volume name -> VolumeFiles)."""
    where = f"spec.volumes[{index}]"
    kind = next((f.name for f, _ in vol.ListFields() if f.name != "name"), None)
    if kind in cloudinit.KINDS and vmi is not None:
        try:
            return _source(cloudinit.image(vmi, vol, where, vm_dir, volume_files), "raw")
        except cloudinit.CloudInitError as e:
            raise VolumeError(str(e)) from None
    if kind in configdisks.KINDS:
        try:
            return _source(configdisks.image(vol, where, vm_dir, volume_files), "raw")
        except configdisks.ConfigDiskError as e:
            raise VolumeError(str(e)) from None
    if kind == "containerDisk":
        return _container_disk(vol, where, vm_dir, image_paths)
    if kind == "hostDisk":
        return _host_disk(vol, where, gates)
    if kind == "emptyDisk":
        return _empty_disk(vol, where, vm_dir)
    if kind in ("persistentVolumeClaim", "dataVolume"):
        return _claim(vol, kind, where, volume_paths or {})
    raise VolumeError(f"{where}: volume {vol.name!r} has no volume source")


def prepare_volumes(vmi, vm_dir: str, volume_paths=None, gates=(), image_paths=None,
                    volume_files=None) -> dict[str, DiskSource]:
    """Volume name -> resolved source, for every volume a disk uses (hotpluggable volumes the node
    has not mounted yet are left out)."""
    used = {d.name for d in vmi.spec.domain.devices.disks}
    out: dict[str, DiskSource] = {}
    for i, vol in enumerate(vmi.spec.volumes):
        if vol.name in used:
            src = prepare_volume(vol, i, vm_dir, volume_paths, gates, image_paths, vmi, volume_files)
            if src is not None:
                out[vol.name] = src
    return out


def resolve_kernel_boot(vmi, image_paths=None, vm_dir=None) -> tuple[Optional[str], Optional[str]]:
    """(kernel, initrd) paths on the node for `firmware.kernelBoot.container`, or (None, None); a
    registry image's as seen through its link in `vm_dir`."""
    fw = vmi.spec.domain.firmware
    if not fw.HasField("kernelBoot") or not fw.kernelBoot.HasField("container"):
        return None, None
    c = fw.kernelBoot.container
    root = _local_image(c.image, "spec.domain.firmware.kernelBoot.container.image", image_paths)
    if not os.path.isdir(root):
        raise ImagePullError(f'ErrImagePull: image "{c.image}" must be a directory holding the kernel '
                             "and initrd (spec.domain.firmware.kernelBoot.container.image)")

    def inside(p: str, what: str) -> Optional[str]:
        if not p:
            return None
        # Resolved with symlinks (a link in the image must not point out of it either).
        full = _allowed(hostpaths.check_inside, root, p, f"spec.domain.firmware.kernelBoot.container.{what}")
        if not os.path.isfile(full):
            raise ImagePullError(f'ErrImagePull: image "{c.image}" has no file "{p}" '
                                 f"(spec.domain.firmware.kernelBoot.container.{what})")
        return _as_seen(full, c.image, image_paths, vm_dir)

    return inside(c.kernelPath, "kernelPath"), inside(c.initrdPath, "initrdPath")
