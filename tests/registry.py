"""A real container registry on loopback for tests: Debian's `docker-registry` (distribution 2.x) with
its storage in a temporary directory, images built here as OCI layouts (tar + JSON) and pushed with
skopeo, and its access log read back to count what clients fetched."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

import pytest

CONFIG = """version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""
# With credentials: basic auth from an htpasswd file (bcrypt, made by apache2-utils' htpasswd).
AUTH = """auth:
  htpasswd:
    realm: virtmesh-tests
    path: {htpasswd}
"""


def require_tools(*more: str) -> None:
    """skopeo and docker-registry, and `more` (tools/host.sh installs them); a failure in CI, a skip elsewhere."""
    missing = [t for t in ("skopeo", "docker-registry", *more) if shutil.which(t) is None]
    if missing:
        why = f"{', '.join(missing)} not installed (tools/host.sh install)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, auth: tuple[str, str] | None = None):
        """`auth`: (user, password) every request must carry (basic auth); None: anonymous."""
        require_tools(*(("htpasswd",) if auth else ()))
        self.auth = auth
        self.dir = tempfile.mkdtemp(prefix="vmreg-")
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write(CONFIG.format(storage=os.path.join(self.dir, "storage"), port=self.port))
            if auth:
                htpasswd = os.path.join(self.dir, "htpasswd")
                with open(htpasswd, "w") as h:
                    h.write(subprocess.run(["htpasswd", "-Bbn", *auth], check=True, capture_output=True,
                                           text=True).stdout)
                f.write(AUTH.format(htpasswd=htpasswd))
        self.log_path = os.path.join(self.dir, "registry.log")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).read()
                break
            except urllib.error.HTTPError as e:
                if e.code == 401 and auth:   # up, and asking for the credentials
                    break
                raise
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError("docker-registry did not start:\n" + open(self.log_path).read())
                time.sleep(0.1)

    def push(self, layout: str, repo: str, tag: str) -> None:
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", *self._creds("--dest-creds"),
                        f"oci:{layout}:latest", f"docker://{self.host}/{repo}:{tag}"], check=True, capture_output=True,
                       timeout=120)

    def _creds(self, flag: str = "--creds") -> list[str]:
        return [flag, ":".join(self.auth)] if self.auth else []

    def docker_config(self) -> str:
        """A `kubernetes.io/dockerconfigjson` Secret's `.dockerconfigjson` for this registry's credentials."""
        assert self.auth
        token = base64.b64encode(":".join(self.auth).encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": token}}})

    def layers(self, repo: str, tag: str) -> list[str]:
        """The layer digests of the manifest the registry serves (skopeo compresses on push)."""
        raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", *self._creds(),
                              f"docker://{self.host}/{repo}:{tag}"],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        return [layer["digest"] for layer in json.loads(raw)["layers"]]

    def digest(self, repo: str, tag: str) -> str:
        """The manifest digest the tag names now."""
        return subprocess.run(["skopeo", "inspect", "--tls-verify=false", *self._creds(), "--format", "{{.Digest}}",
                               f"docker://{self.host}/{repo}:{tag}"], check=True, capture_output=True, text=True,
                              timeout=60).stdout.strip()

    def delete(self, repo: str, digest: str) -> None:
        """The manifest goes (every tag naming it with it); its blobs stay."""
        subprocess.run(["skopeo", "delete", "--tls-verify=false", *self._creds(), f"docker://{self.host}/{repo}@{digest}"],
                       check=True, capture_output=True, timeout=60)

    def requests(self, method: str, path_part: str) -> int:
        """Access-log lines (`"GET /v2/… HTTP/1.1" 200`) of `method` whose path contains `path_part`."""
        with open(self.log_path, errors="replace") as f:
            return sum(1 for line in f if f'"{method} /v2/' in line and path_part in line and '" 200 ' in line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _put_blob(layout: str, path_or_bytes) -> tuple[str, int]:
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    if isinstance(path_or_bytes, bytes):
        digest = hashlib.sha256(path_or_bytes).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(path_or_bytes)
    else:
        h = hashlib.sha256()
        with open(path_or_bytes, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        os.replace(path_or_bytes, os.path.join(blobs, digest))
    return f"sha256:{digest}", os.path.getsize(os.path.join(blobs, digest))


def build_image(layout: str, files: dict[str, str]) -> str:
    """An OCI image layout with one layer holding `files` (path in the image -> file here), tagged
    `latest`, as `docker build` of `FROM scratch` + `ADD` would make it. Returns the layout."""
    os.makedirs(layout, exist_ok=True)
    tar_path = os.path.join(layout, "layer.tar")
    with tarfile.open(tar_path, "w") as tf:
        for d in sorted({os.path.dirname(p.strip("/")) for p in files} - {""}):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(ti)
        for dest, src in files.items():
            tf.add(src, arcname=dest.strip("/"))
    layer, layer_size = _put_blob(layout, tar_path)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode()
    cfg, cfg_size = _put_blob(layout, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]}).encode()
    man, man_size = _put_blob(layout, manifest)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man, "size": man_size,
            "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
    return layout
