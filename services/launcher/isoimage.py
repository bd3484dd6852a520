"""ISO 9660 images of a few files, with Joliet and Rock Ridge names, as KubeVirt makes them: what cloud-init
data sources and ConfigMap/Secret disks are.

Made by `genisoimage` (KubeVirt's tool before it moved to `xorrisofs`): xorrisofs sleeps 0.1 s before it
exits, which every VM start with such a disk would wait for; genisoimage makes the same image in a few
milliseconds (`python bench/isoimage.py` runs both side by side).

    make(path, label, {"user-data": b"...", "openstack/latest/user_data": b"..."}, where)

The files are staged in a private directory beside `path` and the image renamed into place, so a reader
never sees half an image; the staging goes with it."""
from __future__ import annotations

import os
import subprocess
import tempfile

GENISOIMAGE = "genisoimage"
TIMEOUT = 10   # seconds KubeVirt gives the image's making


class ImageError(ValueError):
    """The image could not be made; str() names the spec field."""


def make(path: str, label: str, files: dict[str, bytes], where: str) -> None:
    out_dir = os.path.dirname(path)
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as stage:
        root = os.path.join(stage, "root")
        os.makedirs(root)
        for name, body in files.items():
            full = os.path.join(root, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(body)
        staging = os.path.join(stage, os.path.basename(path))
        try:
            r = subprocess.run([GENISOIMAGE, "-quiet", "-output", staging, "-volid", label, "-joliet", "-rock", root],
                               capture_output=True, text=True, timeout=TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ImageError(f"{where}: making its image: {e}") from None
        if r.returncode != 0:
            raise ImageError(f"{where}: making its image: {r.stderr.strip()[-500:]}")
        os.replace(staging, path)
