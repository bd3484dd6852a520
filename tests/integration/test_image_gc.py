"""The node's image garbage collection (services/handler/images.py), the kubelet's policy on a real cache:
images pulled with skopeo from a real registry on loopback into a small tmpfs. Above the high threshold
the unused images go, least recently used first, until usage is down to the low threshold; an image a VM
directory links stays, as does one used within the minimum age; a removed image's references and the
blobs no other image needs go with it; a pass that cannot free enough says so in the kubelet's words."""
from __future__ import annotations

import asyncio
import os
import subprocess
import time

import pytest

from registry import Registry, build_image
from services.common import images as refs
from services.handler import images as node_images

MiB = 1 << 20


@pytest.fixture
def small_fs(tmp_path):
    """A 16 MiB tmpfs: its usage is what the collector looks at."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("mounting a tmpfs needs root")
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "imagefs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture(scope="module")
def registry():
    reg = Registry()
    yield reg
    reg.stop()


def push(reg, tmp_path, name: str, size: int) -> str:
    """An image of `size` random bytes (incompressible: the registry's gzip keeps its size)."""
    disk = tmp_path / f"{name}.img"
    disk.write_bytes(os.urandom(size))
    reg.push(build_image(str(tmp_path / f"layout-{name}"), {"/disk/disk.img": str(disk)}), f"virtmesh/{name}", "v1")
    return f"{reg.host}/virtmesh/{name}:v1"


def used_percent(path: str) -> int:
    st = os.statvfs(path)
    return 100 - (st.f_bavail * 100) // st.f_blocks


def test_unused_images_go_least_recently_used_first_down_to_the_low_threshold(registry, small_fs, tmp_path):
    cache = node_images.ImageCache(os.path.join(small_fs, "cache"), insecure=[registry.host])
    pulled = {}
    for name in ("old", "newer", "running"):   # each ~1.5 MiB twice: its blobs and its unpacked files
        ref = refs.parse(push(registry, tmp_path, name, 3 * MiB // 2))
        path, _ = cache.pull(ref)
        pulled[name] = (ref, os.path.basename(path))
    now = time.time()
    for name, age in (("old", 3600), ("newer", 600), ("running", 7200)):
        os.utime(cache.image_dir("sha256:" + pulled[name][1]), (now - age, now - age))
    in_use = {pulled["running"][1]}   # a VM directory links it (the oldest of all: it stays anyway)
    policy = node_images.GCPolicy(high_percent=85, low_percent=80, min_age_seconds=120)

    assert cache.collect(in_use, policy) is None   # under the high threshold: nothing to do
    with open(os.path.join(small_fs, "filler"), "wb") as f:   # the node's other files fill the disk up
        f.write(os.urandom(int(16 * MiB * 0.88) - (16 * MiB * used_percent(small_fs)) // 100))
    assert used_percent(small_fs) >= 85

    done = cache.collect(in_use, policy)
    assert done is not None and done.removed == ["sha256:" + pulled["old"][1]], done
    assert done.freed >= done.needed > 0 and done.shortfall() == ""
    assert used_percent(small_fs) <= 80
    assert cache.lookup(pulled["old"][0]) is None   # its reference went: IfNotPresent pulls it again
    assert cache.lookup(pulled["newer"][0]) and cache.lookup(pulled["running"][0])
    blobs = set(os.listdir(os.path.join(cache.blobs, "sha256")))
    assert pulled["old"][1] not in blobs and {pulled["newer"][1], pulled["running"][1]} <= blobs
    for layer in registry.layers("virtmesh/old", "v1"):   # its layer too: no other image has it
        assert refs.digest_hex(layer) not in blobs

    # Filled up again with only an image in use and one used a minute ago: nothing may go, and the pass says so.
    os.utime(cache.image_dir("sha256:" + pulled["newer"][1]))
    with open(os.path.join(small_fs, "filler2"), "wb") as f:
        f.write(os.urandom(int(16 * MiB * 0.90) - (16 * MiB * used_percent(small_fs)) // 100))
    short = cache.collect(in_use, policy)
    assert short is not None and short.removed == [] and short.freed == 0
    assert short.shortfall() == (f"Failed to garbage collect required amount of images. Attempted to free "
                                 f"{short.needed} bytes, but only found 0 bytes eligible to free.")
    assert cache.lookup(pulled["newer"][0]) and cache.lookup(pulled["running"][0])


def test_in_use_is_what_vm_directories_link_and_the_loop_reports_a_shortfall(registry, small_fs, tmp_path):
    cache = node_images.ImageCache(os.path.join(small_fs, "cache"), insecure=[registry.host])
    path, _ = cache.pull(refs.parse(push(registry, tmp_path, "linked", MiB)))
    vms = tmp_path / "vms"
    (vms / "uid-1" / refs.VM_IMAGE_LINKS).mkdir(parents=True)
    os.symlink(path, vms / "uid-1" / refs.VM_IMAGE_LINKS / os.path.basename(path))   # as the launcher links it
    (vms / "uid-2").mkdir()   # a VM without registry images
    assert node_images.images_in_use(str(vms)) == {os.path.basename(path)}
    with open(os.path.join(small_fs, "filler"), "wb") as f:
        f.write(os.urandom(int(16 * MiB * 0.90) - (16 * MiB * used_percent(small_fs)) // 100))

    said: list[str] = []

    async def shortfall(message: str) -> None:
        said.append(message)

    async def run() -> None:
        task = asyncio.create_task(node_images.collect_periodically(
            cache, str(vms), node_images.GCPolicy(min_age_seconds=0), shortfall, period=0.05))
        for _ in range(100):
            if said:
                break
            await asyncio.sleep(0.05)
        task.cancel()
    asyncio.run(run())
    assert said and said[0].startswith("Failed to garbage collect required amount of images."), said
    assert os.path.isdir(path)   # linked by a VM directory: never collected
