"""File-backed claim images (handler/localvolumes.py) with real qemu-img."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from services.common import manifest, proto
from services.handler import localvolumes


def pvc(size="16Mi", uid="u1"):
    return manifest.parse({"metadata": {"name": "c", "namespace": "ns", "uid": uid},
                           "spec": {"resources": {"requests": {"storage": size}}}}, proto.kv.PersistentVolumeClaim)


def info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True,
                                     check=True).stdout)


def test_blank_raw_is_sparse_and_kept(tmp_path):
    root = str(tmp_path)
    localvolumes.provision(root, pvc())
    path = localvolumes.image_path(root, pvc())
    assert path == os.path.join(root, "ns", "c-u1", "disk.img")
    assert os.path.getsize(path) == 16 << 20 and os.stat(path).st_blocks == 0
    with open(path, "r+b") as f:
        f.write(b"data")
    localvolumes.provision(root, pvc())          # idempotent: an existing image is never recreated
    assert open(path, "rb").read(4) == b"data"
    localvolumes.remove(root, pvc())
    assert not os.path.exists(os.path.dirname(path))


def test_blank_qcow2(tmp_path):
    localvolumes.provision(str(tmp_path), pvc(), fmt="qcow2")
    i = info(localvolumes.image_path(str(tmp_path), pvc()))
    assert (i["format"], i["virtual-size"]) == ("qcow2", 16 << 20)


def test_import_converts_and_grows_to_the_claim(tmp_path):
    src = tmp_path / "src.img"
    src.write_bytes(b"BOOT" + bytes((1 << 20) - 4))
    root = str(tmp_path / "vols")
    localvolumes.provision(root, pvc(), source_url=f"file://{src}")
    path = localvolumes.image_path(root, pvc())
    assert open(path, "rb").read(4) == b"BOOT" and info(path)["virtual-size"] == 16 << 20
    localvolumes.provision(root, pvc(uid="u2"), fmt="qcow2", clone_from=path)
    assert info(localvolumes.image_path(root, pvc(uid="u2")))["format"] == "qcow2"


def test_bad_sources_name_the_problem(tmp_path):
    with pytest.raises(localvolumes.LocalVolumeError, match="no such file on this node"):
        localvolumes.provision(str(tmp_path), pvc(), source_url="file:///nowhere.img")
    with pytest.raises(localvolumes.LocalVolumeError, match="unsupported scheme 'ftp'"):
        localvolumes.provision(str(tmp_path), pvc(), source_url="ftp://x/y.img")
    with pytest.raises(localvolumes.LocalVolumeError, match="disk format 'vmdk'"):
        localvolumes.provision(str(tmp_path), pvc(), fmt="vmdk")
    assert not os.path.exists(localvolumes.image_path(str(tmp_path), pvc()))   # nothing half-made
