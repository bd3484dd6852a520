"""Image references, pull-policy defaults and the node's image cache (services/common/images.py,
services/handler/images.py), without a registry: layers are unpacked from tars made here."""
from __future__ import annotations

import asyncio
import io
import os
import tarfile

import pytest
import yaml

from services.common import hostpaths, images, manifest, proto
from services.handler import images as node_images


@pytest.mark.parametrize("image,want", [
    ("busybox", ("docker.io", "library/busybox", "", "")),
    ("busybox:1.36", ("docker.io", "library/busybox", "1.36", "")),
    ("index.docker.io/foo/bar:v1", ("docker.io", "foo/bar", "v1", "")),
    ("quay.io/containerdisks/fedora:latest", ("quay.io", "containerdisks/fedora", "latest", "")),
    ("localhost/guest", ("localhost", "guest", "", "")),
    ("127.0.0.1:5000/virtmesh/guest:v1", ("127.0.0.1:5000", "virtmesh/guest", "v1", "")),
    ("registry:5000/kubevirt/cirros-container-disk-demo:devel",
     ("registry:5000", "kubevirt/cirros-container-disk-demo", "devel", "")),
    ("reg.example/a/b@sha256:" + "a" * 64, ("reg.example", "a/b", "", "sha256:" + "a" * 64)),
    ("reg.example/a:t@sha256:" + "b" * 64, ("reg.example", "a", "t", "sha256:" + "b" * 64)),
])
def test_references_parse_and_normalise_as_docker_does(image, want):
    r = images.parse(image)
    assert (r.domain, r.path, r.tag, r.digest) == want
    assert images.parse(str(r)) == r   # the normalised form is a fixed point


@pytest.mark.parametrize("image", ["", " busybox", "Busybox", "reg.example/UPPER:1", "a//b", "a:b:c",
                                   "reg.example/a:" + "t" * 129, "reg.example/a@sha256:abc",
                                   "reg.example/a@md5", "-a/b", "reg.example/a b"])
def test_bad_references_are_refused(image):
    with pytest.raises(images.ReferenceError, match="invalid reference format|must not be more"):
        images.parse(image)


def test_transport_defaults_to_latest():
    assert images.parse("reg.example:5000/g").transport == "docker://reg.example:5000/g:latest"
    assert images.parse("reg.example:5000/g:v1").transport == "docker://reg.example:5000/g:v1"


def test_registry_or_local():
    assert images.is_registry("quay.io/a/b:1")
    assert not images.is_registry("/var/cache/virtmesh/guests/amd64")
    assert not images.is_registry("file:///var/cache/virtmesh/guests/amd64")
    assert not images.is_registry("file://otherhost/x")


@pytest.mark.parametrize("image,policy", [
    ("quay.io/containerdisks/fedora:latest", "Always"),
    ("busybox", "Always"),
    ("quay.io/containerdisks/fedora:41", "IfNotPresent"),
    ("quay.io/a/b@sha256:" + "c" * 64, "IfNotPresent"),
    # KubeVirt tests the string: a registry port makes an untagged image IfNotPresent.
    ("reg.example:5000/guest", "IfNotPresent"),
])
def test_container_disk_policy_is_kubevirts_default(image, policy):
    assert images.container_disk_policy(image) == policy


def test_kernel_boot_policy_is_the_pods_default():
    assert images.pod_policy(images.parse("reg.example:5000/k")) == "Always"
    assert images.pod_policy(images.parse("reg.example:5000/k:latest")) == "Always"
    assert images.pod_policy(images.parse("reg.example:5000/k:1")) == "IfNotPresent"
    assert images.pod_policy(images.parse("reg.example:5000/k@sha256:" + "d" * 64)) == "IfNotPresent"


def vmi_of(text: str):
    return manifest.parse(yaml.safe_load(text), proto.kv.VirtualMachineInstance)


def spec_of(text: str):
    return vmi_of(text).spec


VMI = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: a}
spec:
  domain:
    devices: {}
    firmware:
      kernelBoot:
        container: {image: "reg.example:5000/k", kernelPath: /kernel}
  volumes:
  - {name: a, containerDisk: {image: "quay.io/x/y:latest"}}
  - {name: b, containerDisk: {image: "quay.io/x/y:2", imagePullPolicy: Never}}
  - {name: c, containerDisk: {image: "/var/cache/virtmesh/guests/amd64/disk.img"}}
  - {name: d, containerDisk: {image: "quay.io/x/y:latest"}}
"""


def test_defaults_and_needs():
    spec = spec_of(VMI)
    images.set_default_policies(spec)
    assert [v.containerDisk.imagePullPolicy for v in spec.volumes] == ["Always", "Never", "", "Always"]
    needs = images.registry_images(spec)
    assert [(n.image, n.policy) for n in needs] == [("quay.io/x/y:latest", "Always"), ("quay.io/x/y:2", "Never"),
                                                    ("reg.example:5000/k", "Always")]
    assert needs[0].field == "spec.volumes[0].containerDisk.image"


def test_admission_names_the_field():
    spec = spec_of(VMI.replace('"quay.io/x/y:2"', '"quay.io/X/y:2"').replace("Never", "Sometimes"))
    with pytest.raises(hostpaths.HostPathError) as e:
        hostpaths.admit_vmi_spec(spec, "spec", set())
    assert str(e.value) == ('spec.volumes[1].containerDisk.imagePullPolicy: Unsupported value: "Sometimes": '
                            'supported values: "Always", "IfNotPresent", "Never"')
    spec = spec_of(VMI.replace('"quay.io/x/y:2"', '"quay.io/X/y:2"'))
    with pytest.raises(hostpaths.HostPathError) as e:
        hostpaths.admit_vmi_spec(spec, "spec", set())
    assert str(e.value) == ('spec.volumes[1].containerDisk.image: Invalid value: "quay.io/X/y:2": '
                            "invalid reference format: repository name must be lowercase")
    hostpaths.admit_vmi_spec(spec_of(VMI), "spec", set())   # registry references pass


def test_cache_keys():
    a, b = images.parse("busybox:1"), images.parse("docker.io/library/busybox:1")
    assert images.ref_key(a) == images.ref_key(b) and len(images.ref_key(a)) == 64
    assert images.ref_key(a) != images.ref_key(images.parse("busybox:2"))
    assert images.digest_hex("sha256:" + "e" * 64) == "e" * 64
    for bad in ("sha256:../../etc", "sha512:" + "e" * 128, "e" * 64, ""):
        with pytest.raises(ValueError):
            images.digest_hex(bad)


def test_backoff_is_the_kubelets():
    assert [images.backoff_seconds(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [10, 20, 40, 80, 160, 300, 300]
    assert images.backoff_seconds(3, 0.5, 1.5) == 1.5


# ---------------------------------------------------------------- layers

def layer(path, entries, gz=False):
    with tarfile.open(path, "w:gz" if gz else "w") as tf:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif kind == "file":
                ti.size, ti.mode = len(data), 0o4755
                tf.addfile(ti, io.BytesIO(data))
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tf.addfile(ti)
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                tf.addfile(ti)
            elif kind == "dev":
                ti.type = tarfile.CHRTYPE
                tf.addfile(ti)
    return str(path)


def test_layers_apply_with_whiteouts_and_stay_inside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    node_images.apply_layer(layer(tmp_path / "l1.tar", [
        ("disk", "dir", None), ("disk/old.img", "file", b"old"), ("etc/keep", "file", b"k"),
        ("etc/gone", "file", b"g"), ("link", "sym", str(outside)), ("../evil", "file", b"x"),
        ("/abs/ok", "file", b"a"), ("dev/null", "dev", None)]), str(root))
    node_images.apply_layer(layer(tmp_path / "l2.tar.gz", [
        ("disk/.wh..wh..opq", "file", b""), ("disk/new.qcow2", "file", b"QFI\xfb"), ("etc/.wh.gone", "file", b""),
        ("link/planted", "file", b"p"), ("hard", "hard", "etc/keep"), ("hard2", "hard", "../../etc/passwd")],
        gz=True), str(root))
    assert sorted(os.listdir(root / "disk")) == ["new.qcow2"]
    assert sorted(os.listdir(root / "etc")) == ["keep"]
    assert (root / "abs" / "ok").read_bytes() == b"a"
    assert os.listdir(outside) == [] and not (tmp_path / "evil").exists()
    assert not (root / "dev" / "null").exists() and not (root / "hard2").exists()
    assert (root / "hard").read_bytes() == b"k"
    assert os.stat(root / "disk" / "new.qcow2").st_mode & 0o7000 == 0   # no set-id bits


ONE = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: a, uid: u1}
spec:
  domain: {devices: {}}
  volumes:
  - {name: a, containerDisk: {image: "quay.io/x/y:2", imagePullPolicy: POLICY}}
"""


def test_pull_failure_reasons_and_backoff(tmp_path):
    """ErrImagePull after a failed pull, then ImagePullBackOff until the back-off ends, then a new
    pull (no skopeo here: every pull fails); Never with nothing cached is ErrImageNeverPull, tried
    never."""
    cache = node_images.ImageCache(str(tmp_path / "cache"), skopeo=str(tmp_path / "no-skopeo"))
    woken = []

    async def watch(vmi, seconds):
        pulls = node_images.ImagePulls(cache, woken.append, backoff=(0.3, 1.0))
        reasons = []
        for _ in range(int(seconds / 0.05)):
            g = pulls.gate("ns/a", vmi)
            assert not g.ready and g.wait > 0
            if g.reason and (not reasons or reasons[-1] != g.reason):
                reasons.append(g.reason)
            await asyncio.sleep(0.05)
        return reasons, pulls

    reasons, _ = asyncio.run(watch(vmi_of(ONE.replace("POLICY", "Never")), 0.5))
    assert reasons == ["ErrImageNeverPull"] and woken == []
    reasons, pulls = asyncio.run(watch(vmi_of(ONE.replace("POLICY", "IfNotPresent")), 3))
    # ContainerCreating while each pull runs (its message the bytes so far: test_image_pulls.py)
    assert reasons[:6] == ["ContainerCreating", "ErrImagePull", "ImagePullBackOff"] * 2, reasons
    failing = pulls.pulls[("u1", "quay.io/x/y:2")]
    assert failing.failures >= 2 and "no-skopeo" in failing.error and woken
    pulls.forget("u1")
    assert not pulls.pulls


def test_work_left_by_a_killed_pull_is_swept(tmp_path):
    stale, fresh = tmp_path / "c" / "tmp" / "stale", tmp_path / "c" / "tmp" / "fresh"
    stale.mkdir(parents=True)
    fresh.mkdir()
    os.utime(stale, (0, 0))
    node_images.ImageCache(str(tmp_path / "c"))
    assert not stale.exists() and fresh.exists()


def test_the_image_a_vmi_started_with_is_the_one_it_keeps(tmp_path):
    """status.containerImageIDs keeps each registry image by the digest its node resolved (a kubelet's
    imageID); a node asked for the VMI's images (after a migration here) uses that digest, even when the
    tag now resolves to another image in its cache."""
    first, moved = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    cache = node_images.ImageCache(str(tmp_path / "cache"))
    for d in (first, moved):
        os.makedirs(cache.image_dir(d))
    vmi = vmi_of(ONE.replace("POLICY", "IfNotPresent"))
    assert node_images.image_id("quay.io/x/y:2", cache.image_dir(first)) == "quay.io/x/y@" + first
    assert node_images.image_id("y:2", cache.image_dir(first)) == "docker.io/library/y@" + first
    assert node_images.image_id("quay.io/x/y:2", str(tmp_path)) == ""          # not a digest's directory
    ref = images.parse("quay.io/x/y:2")
    with open(os.path.join(cache.refs, images.ref_key(ref)), "w") as f:
        f.write(moved)     # the tag, pulled again here, resolved to another image
    pulls = node_images.ImagePulls(cache, lambda key: None)
    assert pulls.paths(vmi) == {"quay.io/x/y:2": cache.image_dir(moved)}
    vmi.status.containerImageIDs["quay.io/x/y:2"] = "quay.io/x/y@" + first
    assert node_images.pinned_digest(vmi, "quay.io/x/y:2") == first
    assert pulls.paths(vmi) == {"quay.io/x/y:2": cache.image_dir(first)}
    assert cache.by_digest("sha256:" + "3" * 64) is None and cache.by_digest("sha256:../x") is None
