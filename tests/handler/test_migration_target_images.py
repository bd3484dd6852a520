"""A migration's target and the VMI's registry images (services/handler/migration.py, images.py), without a
registry: the images it needs are those of the digests the VMI's node recorded; a pull that fails is the
migration's reason (no skopeo here: every pull fails). tests/e2e/test_migration_registry.py does it for real."""
from __future__ import annotations

import asyncio
import os
import types

import yaml

from services.common import manifest, proto
from services.handler import images as node_images
from services.handler.migration import Migrations

IMAGE = "reg.example:5000/g:v1"
PINNED = "reg.example:5000/g@sha256:" + "1" * 64
VMI = f"""
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: a, namespace: ns, uid: u1}}
spec:
  domain:
    devices: {{disks: [{{name: a, disk: {{}}}}]}}
    firmware:
      kernelBoot:
        container: {{image: "{IMAGE}", kernelPath: /kernel}}
  volumes:
  - {{name: a, containerDisk: {{image: "{IMAGE}"}}}}
status:
  containerImageIDs: {{"{IMAGE}": "{PINNED}"}}
  migrationState: {{migrationUid: m1, sourceNode: n1, targetNode: n2}}
"""


def vmi_of(text: str):
    return manifest.parse(yaml.safe_load(text), proto.kv.VirtualMachineInstance)


def test_the_target_wants_the_pinned_digest_and_a_failed_pull_is_the_reason(tmp_path):
    cache = node_images.ImageCache(str(tmp_path / "cache"), skopeo=str(tmp_path / "no-skopeo"))
    pulls = node_images.ImagePulls(cache, lambda key: None)
    vmi = vmi_of(VMI)
    # Another image of the tag is here: not the VMI's.
    os.makedirs(cache.image_dir("sha256:" + "2" * 64))
    assert pulls.pinned(vmi) == ({}, [IMAGE])         # one image, for the disk and the kernel

    woken = []
    mg = Migrations(None, types.SimpleNamespace(data=None), "n2", "192.0.2.2")
    mg.images = pulls
    mg.queue = types.SimpleNamespace(add=woken.append)

    async def run():
        st = vmi.status.migrationState
        assert await mg._pull_images("ns/a", vmi, st) == ""        # pulling: the key is looked at again after
        while not woken:
            await asyncio.sleep(0.01)
        return await mg._pull_images("ns/a", vmi, st)
    error = asyncio.run(run())
    assert woken == ["ns/a"]
    assert error.startswith(f'Failed to pull image "{PINNED}": ') and "no-skopeo" in error
    assert not mg._pulls

    # The digest's image is here (pulled before, by whatever reference): nothing to pull.
    os.makedirs(cache.image_dir("sha256:" + "1" * 64))
    assert pulls.pinned(vmi) == ({IMAGE: cache.image_dir("sha256:" + "1" * 64)}, [])
    assert asyncio.run(mg._pull_images("ns/a", vmi, vmi.status.migrationState)) is None
    # A VMI without a recorded digest: the tag, as KubeVirt falls back to it.
    vmi.status.ClearField("containerImageIDs")
    assert pulls.pinned(vmi) == ({}, [IMAGE])
