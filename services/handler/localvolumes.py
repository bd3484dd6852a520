"""File-backed images for claims this node provisions (the local-path provisioner's job, and CDI's
importer's): one directory per claim under DATA_DIR/volumes, the image `disk.img` inside (KubeVirt's
name for a filesystem PVC's disk). Blocking calls: the provisioner runs them in a thread."""
from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request

from services.common import hostpaths, names, quantity

FORMATS = ("raw", "qcow2")
QEMU_IMG = "qemu-img"
CHUNK = 1 << 20   # a download's read size (and how often its progress is heard)


class LocalVolumeError(Exception):
    pass


def claim_dir(root: str, pvc) -> str:
    md = pvc.metadata
    return os.path.join(root, md.namespace or names.DEFAULT_NAMESPACE, f"{md.name}-{md.uid}")


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


# socket.create_connection's "no timeout given" sentinel, which http.client passes on (typeshed omits it).
_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]


def _guarded_connection(address, timeout=_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection, but to addresses checked when connecting: every address of the
    host must be allowed (see hostpaths.check_import_url: no SSRF into the node's own services),
    and the socket goes to one of exactly those addresses (a second lookup could answer otherwise)."""
    host, port = address
    err = None
    for family, type_, proto, _, sockaddr in hostpaths.resolve_checked(host, port):
        sock = socket.socket(family, type_, proto)
        try:
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            err = e
            sock.close()
    raise err or OSError(f"cannot connect to {host}:{port}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _guarded_connection   # TLS still verifies the URL's host name


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req)   # the default context: certificates and host names checked


def _opener() -> urllib.request.OpenerDirector:
    """http(s) only, redirects included (each hop connects through the same check); no ftp, no
    file, and no proxy from the environment (the check must see the address really connected to)."""
    o = urllib.request.OpenerDirector()
    for h in (urllib.request.UnknownHandler(), _HTTPHandler(), _HTTPSHandler(),
              urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPRedirectHandler(),
              urllib.request.HTTPErrorProcessor()):
        o.add_handler(h)
    return o


def _fetch(url: str, workdir: str, progress=None) -> str:
    """A local file to import from: file:// URLs and absolute paths under the operator's allowed
    directories as they are, http(s) downloaded (never from loopback/link-local addresses unless
    the operator allows it). The node checks again what admission checked. `progress(done, total)`
    hears of each chunk downloaded (total: the Content-Length, None without one)."""
    try:
        kind, where = hostpaths.check_import_url(url, resolve=True)
    except hostpaths.HostPathError as e:
        raise LocalVolumeError(str(e)) from None
    if kind == "file":
        if not os.path.isfile(where):
            raise LocalVolumeError(f"import source {url}: no such file on this node")
        return where
    dest = os.path.join(workdir, "download")
    try:
        with _opener().open(url, timeout=60) as r, open(dest, "wb") as f:
            length = r.headers.get("Content-Length", "")
            total, done = (int(length) if length.isdigit() else None), 0
            while chunk := r.read(CHUNK):
                f.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except hostpaths.HostPathError as e:
        raise LocalVolumeError(str(e)) from None
    except (OSError, http.client.HTTPException) as e:
        raise LocalVolumeError(f"import source {url}: {e}") from None
    return dest


def provision(root: str, pvc, fmt: str = "raw", source_url: str = "", clone_from: str = "", progress=None) -> int:
    """Create the claim's image (idempotent: an existing image is kept) and return its size.
    Blank (sparse raw / qcow2), imported from a URL, or cloned from another claim's image; an
    imported image is converted to `fmt` and grown to the requested size, as CDI does.
    `progress(done, total)`: the bytes of an import's download (see _fetch)."""
    if fmt not in FORMATS:
        raise LocalVolumeError(f"disk format {fmt!r}: supported: {', '.join(FORMATS)}")
    path = image_path(root, pvc)
    if os.path.exists(path):
        return max(os.path.getsize(path), _size_of(pvc))
    size = _size_of(pvc)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path), prefix=".work-") as work:
        part = os.path.join(work, "disk.img")
        source = _fetch(source_url, work, progress) if source_url else clone_from
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
