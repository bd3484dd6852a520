"""storage.py: volumes resolved from the node's filesystem (standalone mode)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from services.common import hostpaths, manifest, proto
from services.launcher import storage
from services.launcher.domxml import convert
from services.launcher.storage import ImagePullError, VolumeError

HAVE_QEMU_IMG = shutil.which("qemu-img") is not None
needs_qemu_img = pytest.mark.skipif(not HAVE_QEMU_IMG, reason="qemu-img is not installed")


@pytest.fixture(autouse=True)
def operator_allows_tmp_path(tmp_path, monkeypatch):
    """These tests use images and host disks under tmp_path: the operator allows it."""
    monkeypatch.setenv(hostpaths.ENV_HOST_PATHS, str(tmp_path))


GATES = {hostpaths.HOST_DISK_GATE}   # what the handler passes when the KubeVirt object enables hostDisk


def vmi(volumes, disks=None, firmware=None):
    disks = disks if disks is not None else [{"name": v["name"], "disk": {}} for v in volumes]
    domain = {"memory": {"guest": "64Mi"}, "devices": {"disks": disks}}
    if firmware:
        domain["firmware"] = firmware
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "t", "namespace": "ns", "uid": "u"},
           "spec": {"architecture": "amd64", "domain": domain, "volumes": volumes}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def raw_image(path, size=1 << 20):
    with open(path, "wb") as f:
        f.write(b"\xeb\x3c\x90" + b"\0" * 509)  # looks like a boot sector, certainly not qcow2
        f.truncate(size)
    return str(path)


def qcow2_image(path, size="1M"):
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    return str(path)


def img_info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "-U", "--output", "json", path], check=True,
                                     capture_output=True, text=True).stdout)


# ---------------------------------------------------------------- containerDisk

def test_image_path_forms():
    assert storage.image_path("/var/x.img") == "/var/x.img"
    assert storage.image_path("file:///var/x%20y.img") == "/var/x y.img"
    assert storage.image_path("file://localhost/var/x.img") == "/var/x.img"
    assert storage.image_path("file://otherhost/var/x.img") is None
    assert storage.image_path("quay.io/containerdisks/fedora:latest") is None
    assert storage.image_path("x.img") is None


@needs_qemu_img
@pytest.mark.parametrize("form", ["path", "url"])
def test_container_disk_gets_a_qcow2_overlay(tmp_path, form):
    image = raw_image(tmp_path / "base.img")
    ref = image if form == "path" else "file://" + image
    vm_dir = str(tmp_path / "vm")
    src = storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": ref}}]), vm_dir)["root"]
    assert src.path == os.path.join(vm_dir, "container-disks", "root.qcow2")
    assert (src.format, src.type) == ("qcow2", "file")
    info = img_info(src.path)
    assert info["format"] == "qcow2" and info["backing-filename"] == image
    assert info["backing-filename-format"] == "raw" and info["virtual-size"] == 1 << 20
    # a re-sync reuses the overlay (it may be in use by the running guest)
    before = os.stat(src.path).st_ino
    storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": ref}}]), vm_dir)
    assert os.stat(src.path).st_ino == before


@needs_qemu_img
def test_container_disk_detects_qcow2_base(tmp_path):
    base = qcow2_image(tmp_path / "base.qcow2")
    src = storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": base}}]), str(tmp_path / "vm"))["root"]
    assert img_info(src.path)["backing-filename-format"] == "qcow2"
    assert storage.detect_format(base) == "qcow2" and storage.detect_format(raw_image(tmp_path / "r")) == "raw"


@needs_qemu_img
def test_container_disk_directory_layout(tmp_path):
    (tmp_path / "img" / "disk").mkdir(parents=True)
    raw_image(tmp_path / "img" / "disk" / "fedora.raw")
    src = storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": str(tmp_path / "img")}}]),
                                  str(tmp_path / "vm"))["root"]
    assert img_info(src.path)["backing-filename"] == str(tmp_path / "img" / "disk" / "fedora.raw")
    raw_image(tmp_path / "img" / "other.img")
    v = vmi([{"name": "root", "containerDisk": {"image": str(tmp_path / "img"), "path": "/other.img"}}])
    src = storage.prepare_volumes(v, str(tmp_path / "vm2"))["root"]
    assert img_info(src.path)["backing-filename"] == str(tmp_path / "img" / "other.img")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImagePullError, match=r"without exactly one file under disk/; set spec.volumes\[0\]"):
        storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": str(tmp_path / "empty")}}]),
                                str(tmp_path / "vm3"))


def test_container_disk_without_qemu_img_is_a_private_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "QEMU_IMG", "qemu-img-not-installed")
    image = raw_image(tmp_path / "base.img")
    src = storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": image}}]), str(tmp_path / "vm"))["root"]
    assert src.path == str(tmp_path / "vm" / "container-disks" / "root.raw") and src.format == "raw"
    assert open(src.path, "rb").read() == open(image, "rb").read()


def test_registry_reference_is_err_image_pull(tmp_path):
    v = vmi([{"name": "root", "containerDisk": {"image": "quay.io/containerdisks/fedora:latest"}}])
    with pytest.raises(ImagePullError) as e:
        storage.prepare_volumes(v, str(tmp_path))
    assert str(e.value) == 'ErrImagePull: image "quay.io/containerdisks/fedora:latest" has not been pulled to this node'


def test_registry_image_is_read_where_the_handler_unpacked_it(tmp_path):
    root = tmp_path / "images" / "abc"
    (root / "disk").mkdir(parents=True)
    (root / "disk" / "guest.img").write_bytes(b"\0" * 4096)
    v = vmi([{"name": "root", "containerDisk": {"image": "reg.example:5000/g:1"}}])
    src = storage.prepare_volumes(v, str(tmp_path / "vm"), image_paths={"reg.example:5000/g:1": str(root)})["root"]
    assert src.format in ("qcow2", "raw")
    (root / "boot").mkdir()
    (root / "boot" / "vmlinuz").write_bytes(b"k")
    (root / "escape").symlink_to("/etc/passwd")
    paths = {"reg.example:5000/k:1": str(root)}
    assert storage.resolve_kernel_boot(kb("reg.example:5000/k:1", initrd=""), paths) == (str(root / "boot" / "vmlinuz"), None)
    with pytest.raises(VolumeError, match="leaves the image"):
        storage.resolve_kernel_boot(kb("reg.example:5000/k:1", kernel="/escape", initrd=""), paths)


@needs_qemu_img
def test_a_registry_image_is_named_through_a_link_in_the_vms_directory(tmp_path):
    """The domain reads a registry image at VM_DIR/images/<digest>: a migration moves every path under the
    source launcher's directory to the receiving one's, whose link names the same digest in its node's cache."""
    digest = "ab" * 32
    image = "reg.example:5000/g:1"
    for node in ("a", "b"):
        root = tmp_path / node / "cache" / digest
        (root / "disk").mkdir(parents=True)
        raw_image(str(root / "disk" / "guest.img"))
        (root / "boot").mkdir()
        (root / "boot" / "vmlinuz").write_bytes(b"k")
        vm = tmp_path / node / "vms" / "u"
        src = storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": image}}]), str(vm),
                                      image_paths={image: str(root)})["root"]
        link = vm / "images" / digest
        assert os.readlink(link) == str(root)
        info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", src.path], check=True,
                                         capture_output=True, text=True).stdout)
        assert info["backing-filename"] == str(link / "disk" / "guest.img")
        kernel = storage.resolve_kernel_boot(kb(image, initrd=""), {image: str(root)}, str(vm))
        assert kernel == (str(link / "boot" / "vmlinuz"), None)
    # The same image elsewhere on the node (its cache moved): the link follows, the domain's path stays.
    moved = tmp_path / "a" / "cache2" / digest
    shutil.copytree(tmp_path / "a" / "cache" / digest, moved)
    assert storage.resolve_kernel_boot(kb(image, initrd=""), {image: str(moved)}, str(tmp_path / "a" / "vms" / "u")) \
        == (str(tmp_path / "a" / "vms" / "u" / "images" / digest / "boot" / "vmlinuz"), None)
    assert os.readlink(tmp_path / "a" / "vms" / "u" / "images" / digest) == str(moved)


def test_missing_image_is_err_image_pull(tmp_path):
    missing = str(tmp_path / "nope.img")
    with pytest.raises(ImagePullError) as e:
        storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": missing}}]), str(tmp_path))
    assert str(e.value) == f'ErrImagePull: image "{missing}" not found on node'
    with pytest.raises(ImagePullError, match="^ErrImagePull: image \"file://"):
        storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": "file://" + missing}}]), str(tmp_path))


# ---------------------------------------------------------------- hostDisk, emptyDisk, others

def test_host_disk_existing_and_missing(tmp_path):
    image = raw_image(tmp_path / "disk.img")
    src = storage.prepare_volumes(vmi([{"name": "d", "hostDisk": {"path": image, "type": "Disk"}}]), str(tmp_path), gates=GATES)["d"]
    assert (src.path, src.format, src.type, src.direct_io) == (image, "raw", "file", True)
    missing = str(tmp_path / "missing.img")
    with pytest.raises(VolumeError) as e:
        storage.prepare_volumes(vmi([{"name": "d", "hostDisk": {"path": missing, "type": "Disk"}}]), str(tmp_path), gates=GATES)
    assert str(e.value).startswith(f'spec.volumes[0].hostDisk.path: "{missing}" does not exist on the node')
    assert not isinstance(e.value, ImagePullError)


def test_host_disk_or_create_makes_a_sparse_file(tmp_path):
    path = tmp_path / "sub" / "new.img"
    v = vmi([{"name": "d", "hostDisk": {"path": str(path), "type": "DiskOrCreate", "capacity": "10Mi"}}])
    src = storage.prepare_volumes(v, str(tmp_path), gates=GATES)["d"]
    assert src.path == str(path) and src.format == "raw"
    st = os.stat(path)
    assert st.st_size == 10 << 20 and st.st_blocks * 512 < st.st_size  # sparse
    with open(path, "r+b") as f:
        f.write(b"data")
    storage.prepare_volumes(v, str(tmp_path), gates=GATES)  # exists now: left alone
    assert open(path, "rb").read(4) == b"data"
    v = vmi([{"name": "d", "hostDisk": {"path": str(tmp_path / "x.img"), "type": "DiskOrCreate"}}])
    with pytest.raises(VolumeError, match=r"^spec.volumes\[0\].hostDisk.capacity: Required value"):
        storage.prepare_volumes(v, str(tmp_path), gates=GATES)


def test_empty_disk_is_created_once(tmp_path):
    v = vmi([{"name": "scratch", "emptyDisk": {"capacity": "64Mi"}}])
    src = storage.prepare_volumes(v, str(tmp_path))["scratch"]
    if HAVE_QEMU_IMG:
        assert src.path == str(tmp_path / "empty-disks" / "scratch.qcow2") and src.format == "qcow2"
        assert img_info(src.path)["virtual-size"] == 64 << 20
    ino = os.stat(src.path).st_ino
    assert storage.prepare_volumes(v, str(tmp_path))["scratch"].path == src.path
    assert os.stat(src.path).st_ino == ino
    with pytest.raises(VolumeError, match=r'^spec.volumes\[0\].emptyDisk.capacity: Invalid value: "lots"'):
        storage.prepare_volumes(vmi([{"name": "s", "emptyDisk": {"capacity": "lots"}}]), str(tmp_path))


def test_empty_disk_without_qemu_img_is_sparse_raw(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "QEMU_IMG", "qemu-img-not-installed")
    src = storage.prepare_volumes(vmi([{"name": "s", "emptyDisk": {"capacity": "1Mi"}}]), str(tmp_path))["s"]
    assert (src.path, src.format, os.path.getsize(src.path)) == (str(tmp_path / "empty-disks" / "s.img"), "raw", 1 << 20)


@pytest.mark.parametrize("volume, field, claim", [
    ({"persistentVolumeClaim": {"claimName": "pvc"}}, "persistentVolumeClaim", "pvc"),
    ({"dataVolume": {"name": "dv"}}, "dataVolume", "dv"),
])
def test_claim_volumes_come_from_the_node(tmp_path, volume, field, claim):
    # Not bound here: a cold-plugged claim is an error naming the field...
    with pytest.raises(VolumeError, match=rf'^spec.volumes\[0\].{field}: claim "{claim}" is not bound on this node'):
        storage.prepare_volumes(vmi([{"name": "v", **volume}]), str(tmp_path))
    # ...a hotpluggable one simply waits (no disk yet)...
    hot = {field: {**volume[field], "hotpluggable": True}}
    assert storage.prepare_volumes(vmi([{"name": "v", **hot}]), str(tmp_path)) == {}
    # ...and once the handler passes the image's path, it is the disk (format from the file).
    img = tmp_path / "disk.img"
    img.write_bytes(b"QFI\xfb" + bytes(508))
    src = storage.prepare_volumes(vmi([{"name": "v", **hot}]), str(tmp_path), {"v": str(img)})["v"]
    assert (src.path, src.format, src.type) == (str(img), "qcow2", "file")
    with pytest.raises(VolumeError, match="is missing on this node"):
        storage.prepare_volumes(vmi([{"name": "v", **volume}]), str(tmp_path), {"v": str(tmp_path / "gone.img")})


def test_only_volumes_used_by_disks_are_prepared(tmp_path):
    v = vmi([{"name": "used", "emptyDisk": {"capacity": "1Mi"}},
             {"name": "unused", "persistentVolumeClaim": {"claimName": "x"}}], disks=[{"name": "used", "disk": {}}])
    assert list(storage.prepare_volumes(v, str(tmp_path))) == ["used"]


def test_direct_io_probe(tmp_path):
    assert storage.supports_direct_io(raw_image(tmp_path / "a.img")) is True  # ext4/xfs take O_DIRECT
    assert storage.supports_direct_io(str(tmp_path / "missing")) is True      # ENOENT says nothing


# ---------------------------------------------------------------- kernel boot

def kb(image, kernel="/boot/vmlinuz", initrd="/boot/initrd.img"):
    return vmi([], firmware={"kernelBoot": {"kernelArgs": "console=ttyS0",
                                            "container": {"image": image, "kernelPath": kernel, "initrdPath": initrd}}})


def test_kernel_boot_directory(tmp_path):
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "vmlinuz").write_bytes(b"k")
    (tmp_path / "boot" / "initrd.img").write_bytes(b"i")
    expected = (str(tmp_path / "boot" / "vmlinuz"), str(tmp_path / "boot" / "initrd.img"))
    assert storage.resolve_kernel_boot(kb(str(tmp_path))) == expected
    assert storage.resolve_kernel_boot(kb("file://" + str(tmp_path))) == expected
    assert storage.resolve_kernel_boot(kb(str(tmp_path), initrd="")) == (expected[0], None)
    assert storage.resolve_kernel_boot(vmi([])) == (None, None)


def test_kernel_boot_errors(tmp_path):
    with pytest.raises(ImagePullError, match=r'^ErrImagePull: image "quay.io/k:1" has not been pulled to this node'):
        storage.resolve_kernel_boot(kb("quay.io/k:1"))
    with pytest.raises(ImagePullError, match=r"not found on node$"):
        storage.resolve_kernel_boot(kb(str(tmp_path / "nope")))
    with pytest.raises(ImagePullError, match=r'has no file "/boot/vmlinuz" \(spec.domain.firmware.kernelBoot.container.kernelPath\)'):
        storage.resolve_kernel_boot(kb(str(tmp_path)))
    f = tmp_path / "file"
    f.write_bytes(b"x")
    with pytest.raises(ImagePullError, match="must be a directory"):
        storage.resolve_kernel_boot(kb(str(f)))
    with pytest.raises(VolumeError, match=r'kernelPath: Invalid value: "/../file": leaves the image'):
        (tmp_path / "img").mkdir()
        storage.resolve_kernel_boot(kb(str(tmp_path / "img"), kernel="/../file"))


# ---------------------------------------------------------------- storage + converter

@needs_qemu_img
def test_prepared_volumes_feed_the_converter(tmp_path, libvirt_validate):
    image = raw_image(tmp_path / "base.img")
    v = vmi([{"name": "root", "containerDisk": {"image": image}},
             {"name": "scratch", "emptyDisk": {"capacity": "8Mi"}},
             {"name": "host", "hostDisk": {"path": str(tmp_path / "h.img"), "type": "DiskOrCreate", "capacity": "1Mi"}}],
            disks=[{"name": "root", "disk": {"bus": "virtio"}}, {"name": "scratch", "disk": {"bus": "scsi"}},
                   {"name": "host", "disk": {"bus": "sata"}}])
    vm_dir = str(tmp_path / "vm")
    ctx = convert.Context("qemu", storage.prepare_volumes(v, vm_dir, gates=GATES), check_firmware=False)
    dom = convert.convert(v, ctx)
    got = [(d.source, d.driver.type, d.driver.cache, d.target_dev) for d in dom.devices.disks]
    assert got == [(f"{vm_dir}/container-disks/root.qcow2", "qcow2", "none", "vda"),
                   (f"{vm_dir}/empty-disks/scratch.qcow2", "qcow2", "none", "sda"),
                   (str(tmp_path / "h.img"), "raw", "none", "sdb")]
    libvirt_validate(dom.to_xml())


# ---------------------------------------------------------------- host paths the operator does not allow (issue 13)

def test_images_outside_the_allowed_directories_never_become_backing_files(tmp_path):
    os.symlink("/etc", tmp_path / "link")
    for image in ("/etc/shadow", "file:///etc/shadow", "/", f"{tmp_path}/../../etc/shadow", f"{tmp_path}/link/shadow"):
        with pytest.raises(VolumeError, match=r"^spec.volumes\[0\].containerDisk.image: "):
            storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": image}}]), str(tmp_path / "vm"))
    assert not os.path.exists(tmp_path / "vm" / "container-disks" / "root.qcow2")
    (tmp_path / "img").mkdir()
    with pytest.raises(VolumeError, match=r"^spec.volumes\[0\].containerDisk.path: .*leaves the image"):
        storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": str(tmp_path / "img"),
                                                                        "path": "../../../etc/shadow"}}]), str(tmp_path))
    (tmp_path / "img" / "disk").mkdir()
    os.symlink("/etc/shadow", tmp_path / "img" / "disk" / "evil.img")
    with pytest.raises(VolumeError, match="leaves the image"):
        storage.prepare_volumes(vmi([{"name": "root", "containerDisk": {"image": str(tmp_path / "img")}}]), str(tmp_path))


def test_host_disks_need_the_gate_and_an_allowed_directory(tmp_path, monkeypatch):
    hd = {"name": "d", "hostDisk": {"path": "/etc/passwd", "type": "Disk"}}
    with pytest.raises(VolumeError, match=r'^spec.volumes\[0\].hostDisk.path: Forbidden: "/etc/passwd"'):
        storage.prepare_volumes(vmi([hd]), str(tmp_path), gates=GATES)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for path in ("rel.img", "/tmp/virtmesh-hostdisk-test.img", f"{tmp_path}/../escape.img"):
            v = vmi([{"name": "d", "hostDisk": {"path": path, "type": "DiskOrCreate", "capacity": "1Mi"}}])
            with pytest.raises(VolumeError, match=r"^spec.volumes\[0\].hostDisk.path: "):
                storage.prepare_volumes(v, str(tmp_path), gates=GATES)
        assert not os.path.exists(tmp_path / "rel.img") and not os.path.exists("/tmp/virtmesh-hostdisk-test.img")
        assert not os.path.exists(tmp_path.parent / "escape.img")
    finally:
        os.chdir(cwd)
    with pytest.raises(VolumeError, match=r"^spec.volumes\[0\]: HostDisk feature gate is not enabled"):
        storage.prepare_volumes(vmi([{"name": "d", "hostDisk": {"path": raw_image(tmp_path / "ok.img"),
                                                                "type": "Disk"}}]), str(tmp_path))


def test_kernel_boot_from_the_root_directory_is_refused(tmp_path):
    with pytest.raises(VolumeError, match=r'^spec.domain.firmware.kernelBoot.container.image: Forbidden: "/"'):
        storage.resolve_kernel_boot(kb("/", kernel="/etc/shadow", initrd=""))
    (tmp_path / "img").mkdir()
    os.symlink("/etc/shadow", tmp_path / "img" / "vmlinuz")
    with pytest.raises(VolumeError, match=r'kernelPath: Invalid value: "/vmlinuz": leaves the image'):
        storage.resolve_kernel_boot(kb(str(tmp_path / "img"), kernel="/vmlinuz", initrd=""))
