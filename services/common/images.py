"""Container image references and pull policies, shared by the api (admission, defaulting), the
handler (pulling, its cache) and the controller (what a failed pull is called).

A `containerDisk.image` or `kernelBoot.container.image` is either a local path / `file://` URL
(services/common/hostpaths.py) or an image reference in the grammar of Docker's
`distribution/reference` package: `[DOMAIN[:PORT]/]PATH[:TAG][@DIGEST]`, normalised as Docker does
(no domain -> `docker.io`, a one-component path there -> `library/NAME`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from services.common import hostpaths

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
NAME_MAX = 255   # distribution/reference's NameTotalLengthMax

ALWAYS, IF_NOT_PRESENT, NEVER = "Always", "IfNotPresent", "Never"
PULL_POLICIES = (ALWAYS, IF_NOT_PRESENT, NEVER)

# The waiting reasons the kubelet gives a container whose image it cannot pull; KubeVirt shows them
# as the VMI's Synchronized=False reason and the VM's printableStatus.
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
# ... and while it pulls (the pod's ContainerCreating): the VMI's Synchronized=False reason then, its
# message the pull's bytes so far (Kubernetes shows no bytes; the node here has them).
CONTAINER_CREATING = "ContainerCreating"
PULL_REASONS = (ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, ERR_IMAGE_NEVER_PULL, CONTAINER_CREATING)

# Registries the node reaches over plain HTTP (or TLS unverified): the handler's --insecure-registry,
# which `virtmesh up` passes on. KubeVirt's own configuration has no such field (a cluster's container
# runtime decides); CDI's is spec.insecureRegistries of its CDIConfig.
ENV_INSECURE_REGISTRIES = "VIRTMESH_INSECURE_REGISTRIES"
# In a VM's directory, the launcher's link to each registry image its domain reads (named by the image's
# manifest digest, without "sha256:"): what the node's image garbage collection counts as in use.
VM_IMAGE_LINKS = "images"

# The kubelet's image pull back-off: 10 s, doubling, at most 300 s (pkg/kubelet/kubelet.go).
BACKOFF_INITIAL_SECONDS = 10.0
BACKOFF_MAX_SECONDS = 300.0

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?$")
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


class ReferenceError(ValueError):
    """Not an image reference; str() is Docker's wording."""


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        """The normalised reference (`docker.io/library/busybox:1.36`): what the cache keys on."""
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def transport(self) -> str:
        """skopeo's name for it. Without tag or digest the registry's `latest` is meant."""
        return "docker://" + (str(self) if self.tag or self.digest else f"{self.name}:latest")

    @property
    def registry(self) -> str:
        """HOST[:PORT] as `--insecure-registry` names it (docker.io's API host is registry-1)."""
        return self.domain


def parse(image: str) -> Reference:
    """Docker's ParseNormalizedNamed; ReferenceError("invalid reference format…") otherwise."""
    if not image or image != image.strip():
        raise ReferenceError("invalid reference format")
    rest, digest = image, ""
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not _DIGEST.match(digest):
            raise ReferenceError("invalid reference format")
        if digest.startswith("sha256:") and not _SHA256.match(digest):
            raise ReferenceError("invalid reference format: invalid checksum digest length")
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise ReferenceError("invalid reference format")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost") or (sep and first != first.lower()):
        domain, path = first, remainder
        if not _DOMAIN.match(domain):
            raise ReferenceError("invalid reference format")
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if path != path.lower() and _PATH.match(path.lower()):
        raise ReferenceError("invalid reference format: repository name must be lowercase")
    if not _PATH.match(path):
        raise ReferenceError("invalid reference format")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    if len(f"{domain}/{path}") > NAME_MAX:
        raise ReferenceError(f"repository name must not be more than {NAME_MAX} characters")
    return Reference(domain, path, tag, digest)


def is_registry(image: str) -> bool:
    """True for what a registry serves, False for a local path or file:// URL."""
    return bool(image) and hostpaths.local_image(image) is None and not image.startswith("file://")


def check(image: str, field: str) -> None:
    """Admission: a registry reference must parse (a local one is hostpaths')."""
    if is_registry(image):
        try:
            parse(image)
        except ReferenceError as e:
            raise hostpaths.HostPathError(f'{field}: Invalid value: "{image}": {e}') from None


def check_policy(policy: str, field: str) -> None:
    if policy and policy not in PULL_POLICIES:
        raise hostpaths.HostPathError(f'{field}: Unsupported value: "{policy}": supported values: '
                                      + ", ".join(f'"{p}"' for p in PULL_POLICIES))


def container_disk_policy(image: str) -> str:
    """KubeVirt's VMI mutator (setDefaultPullPoliciesOnContainerDisks): Always for `:latest` or an
    image with neither ':' nor '@' in it, else IfNotPresent. A registry with a port makes an
    untagged image IfNotPresent there too: KubeVirt's test is on the string, not the parsed tag."""
    if image.endswith(":latest") or not any(c in image for c in ":@"):
        return ALWAYS
    return IF_NOT_PRESENT


def pod_policy(ref: Reference) -> str:
    """Kubernetes' container default (SetDefaults_Container), for a kernelBoot container, which
    KubeVirt leaves to the pod: Always for `latest` or no tag and no digest, else IfNotPresent."""
    if ref.tag == "latest" or (not ref.tag and not ref.digest):
        return ALWAYS
    return IF_NOT_PRESENT


def set_default_policies(spec) -> None:
    """The VMI's registry containerDisks without an imagePullPolicy get KubeVirt's default (a local
    path is never pulled: it keeps none)."""
    for v in spec.volumes:
        if v.HasField("containerDisk") and is_registry(v.containerDisk.image) and not v.containerDisk.imagePullPolicy:
            v.containerDisk.imagePullPolicy = container_disk_policy(v.containerDisk.image)


# ---------------------------------------------------------------- the node's cache keys

def ref_key(ref: Reference) -> str:
    """The file name remembering which image a reference resolved to (hex, no path characters)."""
    return hashlib.sha256(str(ref).encode()).hexdigest()


def digest_hex(digest: str) -> str:
    """`sha256:<64 hex>` -> the hex, the name of a cached blob or unpacked image; anything else refused
    (it becomes a path under the cache)."""
    if not _SHA256.match(digest or ""):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return digest.split(":", 1)[1]


@dataclass(frozen=True)
class Need:
    """An image a VMI needs from a registry: the field naming it, the reference, its pull policy, and the
    Secret (in the VMI's namespace) whose registry credentials pull it, if any."""
    field: str
    image: str
    policy: str
    pull_secret: str = ""


def registry_images(spec) -> list[Need]:
    """The registry images of a VMI spec (containerDisk volumes, the kernelBoot container), each once."""
    out: dict[str, Need] = {}
    for i, v in enumerate(spec.volumes):
        if v.HasField("containerDisk") and is_registry(v.containerDisk.image):
            cd = v.containerDisk
            out.setdefault(cd.image, Need(f"spec.volumes[{i}].containerDisk.image", cd.image,
                                          cd.imagePullPolicy or container_disk_policy(cd.image), cd.imagePullSecret))
    fw = spec.domain.firmware
    if fw.HasField("kernelBoot") and fw.kernelBoot.HasField("container") and is_registry(fw.kernelBoot.container.image):
        c = fw.kernelBoot.container
        policy = c.imagePullPolicy
        if not policy:
            try:
                policy = pod_policy(parse(c.image))
            except ReferenceError:
                policy = ALWAYS
        out.setdefault(c.image, Need("spec.domain.firmware.kernelBoot.container.image", c.image, policy,
                                     c.imagePullSecret))
    return list(out.values())


def backoff_seconds(failures: int, initial: float = BACKOFF_INITIAL_SECONDS,
                    maximum: float = BACKOFF_MAX_SECONDS) -> float:
    """The wait after the `failures`-th failed pull in a row (1 -> initial)."""
    return min(maximum, initial * (2 ** max(0, failures - 1)))

