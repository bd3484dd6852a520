"""File-backed images for claims this node provisions (the local-path provisioner's job, and CDI's
importer's): one directory per claim under DATA_DIR/volumes, the image `disk.img` inside (KubeVirt's
name for a filesystem PVC's disk). Blocking calls: the provisioner runs them in a thread."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request

from services.common import quantity

FORMATS = ("raw", "qcow2")
QEMU_IMG = "qemu-img"


class LocalVolumeError(Exception):
    pass


def claim_dir(root: str, pvc) -> str:
    md = pvc.metadata
    return os.path.join(root, md.namespace or "default", f"{md.name}-{md.uid}")


def image_path(root: str, pvc) -> str:
    return os.path.join(claim_dir(root, pvc), "disk.img")


def _qemu_img(*args: str) -> str:
    r = subprocess.run([QEMU_IMG, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise LocalVolumeError(f"qemu-img {args[0]}: {(r.stderr or r.stdout).strip()}")
    return r.stdout


def _virtual_size(path: str) -> int:
    import json
    return int(json.loads(_qemu_img("info", "--output=json", path))["virtual-size"])


def _fetch(url: str, workdir: str) -> str:
    """A local file to import from: file:// URLs and absolute paths as they are, http(s) downloaded."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file"):
        path = urllib.parse.unquote(parsed.path)
        if not os.path.isfile(path):
            raise LocalVolumeError(f"import source {url}: no such file on this node")
        return path
    if parsed.scheme in ("http", "https"):
        dest = os.path.join(workdir, "download")
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(dest, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            raise LocalVolumeError(f"import source {url}: {e}") from None
        return dest
    raise LocalVolumeError(f"import source {url}: unsupported scheme {parsed.scheme!r}")


def provision(root: str, pvc, fmt: str = "raw", source_url: str = "", clone_from: str = "") -> int:
    """Create the claim's image (idempotent: an existing image is kept) and return its size.
    Blank (sparse raw / qcow2), imported from a URL, or cloned from another claim's image; an
    imported image is converted to `fmt` and grown to the requested size, as CDI does."""
    if fmt not in FORMATS:
        raise LocalVolumeError(f"disk format {fmt!r}: supported: {', '.join(FORMATS)}")
    path = image_path(root, pvc)
    if os.path.exists(path):
        return max(os.path.getsize(path), _size_of(pvc))
    size = _size_of(pvc)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path), prefix=".work-") as work:
        part = os.path.join(work, "disk.img")
        source = _fetch(source_url, work) if source_url else clone_from
        if source:
            _qemu_img("convert", "-O", fmt, source, part)
            if _virtual_size(part) < size:
                _qemu_img("resize", "-f", fmt, part, str(size))
        elif fmt == "qcow2":
            _qemu_img("create", "-q", "-f", "qcow2", part, str(size))
        else:
            with open(part, "wb") as f:
                f.truncate(size)
        os.replace(part, path)  # the image appears whole or not at all
    return max(os.path.getsize(path), size)


def _size_of(pvc) -> int:
    value = pvc.spec.resources.requests.get("storage", "")
    try:
        return quantity.to_bytes(value)
    except ValueError as e:
        raise LocalVolumeError(f"spec.resources.requests[storage]: {value!r}: {e}") from None


def remove(root: str, pvc) -> None:
    shutil.rmtree(claim_dir(root, pvc), ignore_errors=True)
