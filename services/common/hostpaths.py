"""Which host paths a manifest may name, and which addresses an import may fetch from.

A manifest is not the operator: it may name host files only under the directories the operator
allows (KubeVirt keeps hostDisk behind its `HostDisk` feature gate and reads images from
registries, never from the node's root file system). Until Virtmesh has a KubeVirt resource these
are operator settings in the environment of every service (`virtmesh up` sets them from its flags;
children inherit them, launchers included):

- `VIRTMESH_HOST_PATHS`: the allowed host directories, separated by ':'. Default: the guest image
  cache only (`$VIRTMESH_GUEST_DIR`, else /var/cache/virtmesh/guests, as tools/build_guest.py).
- `VIRTMESH_FEATURE_GATES`: comma-separated gates enabled for the whole mesh, besides those the
  `KubeVirt` object enables (`kvconfig.ClusterConfig.gates()`); `HostDisk` allows hostDisk volumes.
- `VIRTMESH_IMPORT_ALLOW_INTERNAL=1`: DataVolume imports may fetch from loopback, link-local and
  unspecified addresses (off by default).

The api applies these at admission (`admit`, naming the field), and the node checks again where it
acts (the launcher before using a path, the importer before fetching), with symlinks resolved.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import urllib.parse
from typing import Optional

from services.common.volumes import IMPORT_ENDPOINT

ENV_HOST_PATHS = "VIRTMESH_HOST_PATHS"
ENV_FEATURE_GATES = "VIRTMESH_FEATURE_GATES"
ENV_IMPORT_ALLOW_INTERNAL = "VIRTMESH_IMPORT_ALLOW_INTERNAL"
DEFAULT_GUEST_DIR = "/var/cache/virtmesh/guests"
HOST_DISK_GATE = "HostDisk"
IMPORT_SCHEMES = ("http", "https", "file")


class HostPathError(ValueError):
    """A path or URL a manifest may not use; str() starts with the field."""


# ---------------------------------------------------------------- operator settings

def allowed_dirs() -> list[str]:
    """The allowed host directories, symlinks resolved (relative entries are ignored)."""
    raw = os.environ.get(ENV_HOST_PATHS)
    if raw is None or not raw.strip():
        entries = [os.environ.get("VIRTMESH_GUEST_DIR") or DEFAULT_GUEST_DIR]
    else:
        entries = raw.split(os.pathsep)
    return [os.path.realpath(e) for e in (x.strip() for x in entries) if e and os.path.isabs(e)]


def feature_gates() -> set[str]:
    return {g.strip() for g in os.environ.get(ENV_FEATURE_GATES, "").split(",") if g.strip()}


def internal_imports_allowed() -> bool:
    return os.environ.get(ENV_IMPORT_ALLOW_INTERNAL, "").strip().lower() in ("1", "true", "yes")


# ---------------------------------------------------------------- paths

def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_path(path: str, field: str, shown: Optional[str] = None) -> str:
    """`path` is absolute, normalised and, with symlinks resolved, inside an allowed directory:
    return the resolved path, else raise HostPathError naming `field`. `shown` is what the
    manifest said (a URL), if not `path` itself."""
    value = shown if shown is not None else path
    if "\0" in path:
        raise HostPathError(f'{field}: Invalid value: "{value}": must not contain a NUL character')
    if not os.path.isabs(path):
        raise HostPathError(f'{field}: Invalid value: "{value}": must be an absolute path')
    if os.path.normpath(path) != path or path.startswith("//"):
        raise HostPathError(f'{field}: Invalid value: "{value}": must be a normalised path '
                            "(no '.', '..' or repeated '/')")
    real = os.path.realpath(path)
    dirs = allowed_dirs()
    if not any(_within(real, d) for d in dirs):
        where = ", ".join(dirs) or "none"
        raise HostPathError(f'{field}: Forbidden: "{value}" is not inside a host directory the operator '
                            f"allows ({where}; {ENV_HOST_PATHS})")
    return real


def check_inside(root: str, rel: str, field: str) -> str:
    """A path inside an image directory `root` (already checked): with symlinks resolved it must
    stay inside `root`. Returns the resolved path."""
    if "\0" in rel:
        raise HostPathError(f'{field}: Invalid value: "{rel}": must not contain a NUL character')
    real_root = os.path.realpath(root)
    full = os.path.realpath(os.path.join(real_root, rel.lstrip("/")))
    if not _within(full, real_root):
        raise HostPathError(f'{field}: Invalid value: "{rel}": leaves the image')
    return full


def local_image(image: str) -> Optional[str]:
    """An absolute path or file:// URL -> the path it names on the node, unnormalised (admission
    refuses what is not normalised); anything else (a registry reference) -> None."""
    if image.startswith("file://"):
        u = urllib.parse.urlparse(image)
        if u.netloc not in ("", "localhost"):
            return None
        return urllib.parse.unquote(u.path) or None
    if image.startswith("/"):
        return image
    return None


def check_image(image: str, field: str) -> Optional[str]:
    """A local image reference (path or file:// URL) that must be allowed; None for a registry
    reference (the node answers those with ErrImagePull)."""
    path = local_image(image)
    if path is None:
        return None
    real = check_path(path, field, shown=image)
    if real == "/":
        raise HostPathError(f'{field}: Forbidden: "{image}" is the host\'s root directory')
    return real


def _relative_ok(rel: str, field: str) -> None:
    """Admission's lexical check of a path inside an image (the node resolves symlinks)."""
    parts = [p for p in rel.split("/") if p]
    if "\0" in rel or ".." in parts:
        raise HostPathError(f'{field}: Invalid value: "{rel}": leaves the image')


# ---------------------------------------------------------------- import sources

def forbidden_address(addr: str) -> bool:
    """Loopback, link-local, unspecified (and multicast) addresses, IPv4-mapped ones too."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def _localhost_name(host: str) -> bool:
    h = host.rstrip(".").lower()
    return h == "localhost" or h.endswith(".localhost")


def check_import_url(url: str, field: str = "spec.source.http.url", resolve: bool = False):
    """A DataVolume import source: ("file", resolved path) for file:// URLs and absolute paths
    under the allowed directories, ("http", url) for http(s). Internal addresses are refused
    unless the operator allows them: the importer runs on the node, and fetching its loopback or
    link-local addresses would reach the node's own services (api, handler, metrics, a cloud's
    metadata service at 169.254.169.254) on the manifest author's behalf — server-side request
    forgery. `resolve` (the node) looks the host name up and checks every address; admission
    checks literal addresses and localhost names only (no DNS in the api)."""
    if url.startswith("/"):
        return "file", check_path(url, field)
    u = urllib.parse.urlparse(url)
    scheme = u.scheme.lower()
    if scheme not in IMPORT_SCHEMES:
        raise HostPathError(f'{field}: Invalid value: "{url}": the scheme must be http, https or file')
    if scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise HostPathError(f'{field}: Invalid value: "{url}": a file:// URL names a file on the node '
                                "(no host)")
        return "file", check_path(urllib.parse.unquote(u.path), field, shown=url)
    try:
        host, port = u.hostname, u.port
    except ValueError as e:
        raise HostPathError(f'{field}: Invalid value: "{url}": {e}') from None
    if not host:
        raise HostPathError(f'{field}: Invalid value: "{url}": no host')
    if not internal_imports_allowed():
        if _localhost_name(host) or forbidden_address(host):
            raise _internal(url, field, host)
        if resolve:
            resolve_checked(host, port or (443 if scheme == "https" else 80), field, url)
    return "http", url


def _internal(url: str, field: str, addr: str) -> HostPathError:
    return HostPathError(f'{field}: Forbidden: "{url}": {addr} is a loopback, link-local or unspecified '
                         f"address; imports may not fetch from the node's own network (operator setting "
                         f"{ENV_IMPORT_ALLOW_INTERNAL})")


def resolve_checked(host: str, port: int, field: str = "spec.source.http.url", url: str = "") -> list:
    """getaddrinfo for a TCP connection to host:port, refusing it if ANY address is internal (a
    name with one public and one loopback address must not be a way in)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise HostPathError(f'{field}: "{url or host}": cannot resolve {host}: {e}') from None
    if not internal_imports_allowed():
        for info in infos:
            address = str(info[4][0])   # an IP family's sockaddr: (address text, port, ...)
            if forbidden_address(address):
                raise _internal(url or host, field, f"{host} ({address})")
    return infos


# ---------------------------------------------------------------- admission

def admit_vmi_spec(spec, path: str, gates) -> None:
    """`gates`: the feature gates in effect (kvconfig)."""
    from services.common import images   # it builds on this module
    for i, v in enumerate(spec.volumes):
        vp = f"{path}.volumes[{i}]"
        if v.HasField("hostDisk"):
            if HOST_DISK_GATE not in gates:
                raise HostPathError(f"{vp}: HostDisk feature gate is not enabled")
            if v.hostDisk.path:
                check_path(v.hostDisk.path, f"{vp}.hostDisk.path")
        if v.HasField("containerDisk") and v.containerDisk.image:
            images.check_policy(v.containerDisk.imagePullPolicy, f"{vp}.containerDisk.imagePullPolicy")
            images.check(v.containerDisk.image, f"{vp}.containerDisk.image")   # a registry reference
            check_image(v.containerDisk.image, f"{vp}.containerDisk.image")    # a path on the node
            _relative_ok(v.containerDisk.path, f"{vp}.containerDisk.path")
    fw = spec.domain.firmware
    if fw.HasField("kernelBoot") and fw.kernelBoot.HasField("container"):
        c = fw.kernelBoot.container
        kp = f"{path}.domain.firmware.kernelBoot.container"
        if c.image:
            images.check_policy(c.imagePullPolicy, f"{kp}.imagePullPolicy")
            images.check(c.image, f"{kp}.image")
            check_image(c.image, f"{kp}.image")
            _relative_ok(c.kernelPath, f"{kp}.kernelPath")
            _relative_ok(c.initrdPath, f"{kp}.initrdPath")


def admit(obj, gates, error=HostPathError) -> None:
    """Admission (create and update) of an api Object: refuse the host paths and import sources
    above with `error` (the api's Invalid), naming the field. `gates`: the feature gates in effect."""
    from services.common import proto
    kind, res = proto.kind_of(obj), proto.inner(obj)
    try:
        if kind == proto.VM:
            if res.spec.HasField("template"):
                admit_vmi_spec(res.spec.template.spec, "spec.template.spec", gates)
            for i, t in enumerate(res.spec.dataVolumeTemplates):   # the DataVolumes the VM will make
                if t.spec.source.HasField("http") and t.spec.source.http.url:
                    check_import_url(t.spec.source.http.url, f"spec.dataVolumeTemplates[{i}].spec.source.http.url")
        elif kind == proto.VMI:
            admit_vmi_spec(res.spec, "spec", gates)
        elif kind == proto.DV and res.spec.source.HasField("http") and res.spec.source.http.url:
            check_import_url(res.spec.source.http.url)
        elif kind == proto.PVC and res.metadata.annotations.get(IMPORT_ENDPOINT):
            # What the DataVolume controller copies from spec.source.http.url: a claim made by hand
            # with this annotation is an import source all the same.
            check_import_url(res.metadata.annotations[IMPORT_ENDPOINT],
                             f"metadata.annotations[{IMPORT_ENDPOINT}]")
    except HostPathError as e:
        if error is HostPathError:
            raise
        raise error(str(e)) from None
