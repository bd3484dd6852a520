"""Registry images on the node: the kubelet's image manager for containerDisks and kernelBoot containers.

KubeVirt's launcher pod gets its containerDisk as a container the kubelet pulled; here the handler
pulls it before it starts the launcher (a failed pull holds no launcher), with skopeo, into a
content-addressed cache:

    ROOT/blobs/sha256/<hex>   manifests, configs and layers (skopeo's shared blob directory: a blob
                              already there is not downloaded again)
    ROOT/images/<hex>/        the image's file system, unpacked once per manifest digest
    ROOT/refs/<sha256(ref)>   the manifest digest the reference last resolved to (IfNotPresent reads it)

A VMI waiting for an image stays Scheduled with the Synchronized=False reason the kubelet would give
its launcher pod's container: ErrImagePull after a failed pull, ImagePullBackOff while it waits to
try again (10 s doubling to 300 s), ErrImageNeverPull for a missing image with policy Never;
ContainerCreating while the pull runs, its message the bytes downloaded so far (pullprogress.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from services.common import images as refs
from services.common import progress as figures
from services.handler import pullprogress, pullsecrets

log = logging.getLogger(__name__)
SKOPEO = "skopeo"
PULL_TIMEOUT_SECONDS = 1800
ERR_IMAGE_PULL_SECONDS = 2.0   # how long a failed pull shows ErrImagePull before ImagePullBackOff
ENV_BACKOFF = "VIRTMESH_IMAGE_PULL_BACKOFF"      # "INITIAL[,MAX]" seconds: tests shorten the kubelet's
# skopeo checks signatures against a policy; the kubelet verifies none by default, nor do we.
POLICY = {"default": [{"type": "insecureAcceptAnything"}]}
LAYER_TYPES = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
               "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar")
WHITEOUT, OPAQUE = ".wh.", ".wh..wh..opq"


class PullError(Exception):
    """A pull that failed; str() is what the VMI's condition shows."""


def backoff_from_env() -> tuple[float, float]:
    """The kubelet's back-off, or ENV_BACKOFF's "INITIAL[,MAX]" seconds."""
    first, _, most = os.environ.get(ENV_BACKOFF, "").partition(",")
    initial = float(first) if first else refs.BACKOFF_INITIAL_SECONDS
    return initial, float(most) if most else max(initial, refs.BACKOFF_MAX_SECONDS)


# ---------------------------------------------------------------- the cache

class ImageCache:
    """Pulls with skopeo and unpacks; blocking calls (run them in a thread)."""

    def __init__(self, root: str, insecure=(), skopeo: str = SKOPEO):
        self.root = root
        self.insecure = set(insecure)
        self.skopeo = skopeo
        self.blobs = os.path.join(root, "blobs")
        self.images = os.path.join(root, "images")
        self.refs = os.path.join(root, "refs")
        self.tmp = os.path.join(root, "tmp")
        for d in (self.blobs, self.images, self.refs, self.tmp, os.path.join(root, "locks")):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self._sweep_tmp()
        self.gc_lock = os.path.join(root, "locks", "collect")
        self.policy = os.path.join(root, "policy.json")
        with open(self.policy + ".tmp", "w") as f:
            json.dump(POLICY, f)
        os.replace(self.policy + ".tmp", self.policy)

    def _sweep_tmp(self, older_than: float = 24 * 3600) -> None:
        """Work directories a killed pull left (another handler sharing the cache may be using fresh ones)."""
        now = time.time()
        for name in os.listdir(self.tmp):
            path = os.path.join(self.tmp, name)
            try:
                if now - os.lstat(path).st_mtime > older_than:
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            except OSError:
                pass

    def image_dir(self, digest: str) -> str:
        return os.path.join(self.images, refs.digest_hex(digest))

    def by_digest(self, digest: str) -> str | None:
        """The image unpacked from that manifest, if it is here (whichever reference pulled it)."""
        try:
            path = self.image_dir(digest)
        except ValueError:
            return None
        return _used(path)

    def lookup(self, ref: refs.Reference) -> str | None:
        """The unpacked image a reference resolved to before, if it is still here."""
        try:
            with open(os.path.join(self.refs, refs.ref_key(ref))) as f:
                digest = f.read().strip()
            path = self.image_dir(digest)
        except (OSError, ValueError):
            return None
        return _used(path)

    def pull(self, ref: refs.Reference, progress: Callable[[int, int | None], None] | None = None,
             auth: bytes | None = None) -> tuple[str, int]:
        """Copy the image's blobs into the cache (those already there are kept) and unpack it once;
        (the unpacked directory, how many blobs were downloaded). One pull per reference at a time,
        also across handlers sharing the cache. `progress(done, total)`: bytes so far, every half second.
        `auth`: registry credentials, as skopeo's auth file (handler/pullsecrets.py)."""
        with open(os.path.join(self.root, "locks", refs.ref_key(ref)), "w") as lock, \
                open(self.gc_lock, "a") as collecting:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fcntl.flock(collecting, fcntl.LOCK_SH)   # the collector waits: this pull's blobs are no image's yet
            work = tempfile.mkdtemp(dir=self.tmp)
            try:
                return self._pull(ref, work, progress, auth)
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def _pull(self, ref, work, progress, auth=None):
        layout = os.path.join(work, "layout")
        cmd = [self.skopeo, "--policy", self.policy, "copy", "--dest-shared-blob-dir", self.blobs]
        if ref.registry in self.insecure:
            cmd.append("--src-tls-verify=false")
        if auth is not None:   # in the pull's private directory (mkdtemp: 0700), gone with it
            authfile = os.path.join(work, "auth.json")
            fd = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(auth)
            cmd += ["--src-authfile", authfile]
        cmd += [ref.transport, f"oci:{layout}:image"]
        had = set(os.listdir(os.path.join(self.blobs, "sha256"))) if os.path.isdir(os.path.join(self.blobs, "sha256")) \
            else set()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, TMPDIR=self.tmp))
        out_lines = []
        assert proc.stdout is not None
        with pullprogress.Watch(self.blobs, layout, had, progress) if progress else contextlib.nullcontext():
            for line in proc.stdout:   # "Copying blob sha256:…", "Writing manifest …"
                out_lines.append(line.strip())
        try:
            err = proc.stderr.read() if proc.stderr else ""
            rc = proc.wait(PULL_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise PullError(f"pulling took longer than {PULL_TIMEOUT_SECONDS}s") from None
        if rc != 0:
            raise PullError(_skopeo_error(err or "\n".join(out_lines)))
        # A blob skopeo found in the shared directory was not downloaded (the config is read again, and
        # dropped, when the reference had to be resolved at the registry).
        fetched = len(set(os.listdir(os.path.join(self.blobs, "sha256"))) - had)
        digest = self._manifest_digest(layout)
        manifest = self._read_json(digest, layout)
        dest = self.image_dir(digest)
        if not os.path.isdir(dest):
            self._unpack(manifest, layout, dest)
        key = os.path.join(self.refs, refs.ref_key(ref))
        with open(key + ".tmp", "w") as f:
            f.write(digest)
        os.replace(key + ".tmp", key)
        return dest, fetched

    @staticmethod
    def _manifest_digest(layout: str) -> str:
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        manifests = index.get("manifests") or []
        if len(manifests) != 1:
            raise PullError(f"the copied image has {len(manifests)} manifests, expected one")
        return manifests[0]["digest"]

    def _blob(self, digest: str, layout: str) -> str:
        hexd = refs.digest_hex(digest)
        for base in (self.blobs, os.path.join(layout, "blobs")):
            p = os.path.join(base, "sha256", hexd)
            if os.path.exists(p):
                return p
        raise PullError(f"blob {digest} is missing after the copy")

    def _read_json(self, digest: str, layout: str) -> dict:
        with open(self._blob(digest, layout)) as f:
            return json.load(f)

    def _unpack(self, manifest: dict, layout: str, dest: str) -> None:
        work = tempfile.mkdtemp(dir=self.tmp)
        try:
            root = os.path.join(work, "rootfs")
            os.mkdir(root, 0o755)
            for layer in manifest.get("layers") or []:
                media = layer.get("mediaType", "")
                if media not in LAYER_TYPES:
                    raise PullError(f"layer {layer.get('digest')}: unsupported media type {media!r}")
                apply_layer(self._blob(layer["digest"], layout), root)
            try:
                os.rename(root, dest)
            except OSError:
                if not os.path.isdir(dest):   # else another handler unpacked the same digest first
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------ garbage collection

    def usage(self) -> tuple[int, int]:
        """(capacity, available) bytes of the file system the cache is on (the kubelet's imagefs)."""
        st = os.statvfs(self.root)
        return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize

    def collect(self, in_use: set[str], policy: "GCPolicy", now: float | None = None) -> "Collected | None":
        """The kubelet's image garbage collection: with the file system at or above the high threshold, the
        unused images (no VM directory links them), least recently used first and none used within the
        minimum age, go until usage is down to the low threshold. An image goes with its references and
        the blobs no other image needs. None when under the threshold, or while a pull runs (its blobs
        are nobody's yet: the next pass)."""
        capacity, available = self.usage()
        if capacity <= 0:
            return None
        percent = 100 - available * 100 // capacity
        if percent < policy.high_percent:
            return None
        needed = capacity * (100 - policy.low_percent) // 100 - available
        now = time.time() if now is None else now
        with open(self.gc_lock, "a") as collecting:
            try:
                fcntl.flock(collecting, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            for hexd in in_use & set(os.listdir(self.images)):
                os.utime(os.path.join(self.images, hexd))   # used now: the least recently used go first
            candidates = []
            for hexd in set(os.listdir(self.images)) - in_use:
                try:
                    used = os.stat(os.path.join(self.images, hexd)).st_mtime
                except OSError:
                    continue
                if now - used >= policy.min_age_seconds:
                    candidates.append((used, hexd))
            removed = []
            for _, hexd in sorted(candidates):
                if self.usage()[1] - available >= needed:
                    break
                self._remove_image(hexd)
                self._remove_unneeded_blobs()
                removed.append(f"sha256:{hexd}")
            freed = self.usage()[1] - available
        log.info("image garbage collection: usage %d%% (high threshold %d%%): freed %d of %d bytes, %d image(s)",
                 percent, policy.high_percent, freed, needed, len(removed))
        return Collected(needed, freed, removed)

    def _remove_image(self, hexd: str) -> None:
        for name in os.listdir(self.refs):   # references that resolved to it: IfNotPresent pulls again
            path = os.path.join(self.refs, name)
            try:
                with open(path) as f:
                    if refs.digest_hex(f.read().strip()) == hexd:
                        os.unlink(path)
            except (OSError, ValueError):
                pass
        gone = os.path.join(self.tmp, f"gc-{hexd}")
        try:
            os.rename(os.path.join(self.images, hexd), gone)   # at once out of sight, then deleted
        except OSError:
            return
        shutil.rmtree(gone, ignore_errors=True)
        log.info("image sha256:%s removed (unused)", hexd)

    def _remove_unneeded_blobs(self) -> None:
        """Blobs that no image left here names (its manifest, config and layers). An image whose manifest
        cannot be read keeps every blob (it cannot say which are its own)."""
        keep = set()
        for hexd in os.listdir(self.images):
            try:
                with open(os.path.join(self.blobs, "sha256", hexd)) as f:
                    manifest = json.load(f)
            except (OSError, ValueError):
                return
            keep.add(hexd)
            for d in [manifest.get("config") or {}, *(manifest.get("layers") or [])]:
                if d.get("digest"):
                    keep.add(refs.digest_hex(d["digest"]))
        blobs = os.path.join(self.blobs, "sha256")
        for hexd in set(os.listdir(blobs)) - keep if os.path.isdir(blobs) else ():
            try:
                os.unlink(os.path.join(blobs, hexd))
            except OSError:
                pass


@dataclass(frozen=True)
class GCPolicy:
    """The kubelet's ImageGCPolicy: its flags --image-gc-high-threshold, --image-gc-low-threshold and
    --minimum-image-gc-age, with their defaults."""
    high_percent: int = 85
    low_percent: int = 80
    min_age_seconds: float = 120.0


GC_PERIOD_SECONDS = 300   # the kubelet's ImageGCPeriod
FREE_DISK_SPACE_FAILED = "FreeDiskSpaceFailed"   # the kubelet's Warning on the Node when a pass fell short


@dataclass
class Collected:
    needed: int          # bytes to free to get down to the low threshold
    freed: int
    removed: list

    def shortfall(self) -> str:
        """The kubelet's FreeDiskSpaceFailed message when not enough could go, else ""."""
        if self.freed >= self.needed:
            return ""
        return (f"Failed to garbage collect required amount of images. Attempted to free {self.needed} bytes, "
                f"but only found {self.freed} bytes eligible to free.")


def _used(image_dir: str) -> str | None:
    """`image_dir` if it is here, marked used now (its mtime: the collector spares what a VMI is about to
    link for at least the minimum age)."""
    if not os.path.isdir(image_dir):
        return None
    try:
        os.utime(image_dir)
    except OSError:
        pass   # a cache we may only read: nothing collects it here either
    return image_dir


def images_in_use(vms_dir: str) -> set[str]:
    """The image directories (manifest digests' hex) that VM directories on this node link
    (VM_DIR/images/<hex>, made by the launcher for the domain): a VMI's images, running or not."""
    used = set()
    for uid in os.listdir(vms_dir) if os.path.isdir(vms_dir) else ():
        try:
            used.update(os.listdir(os.path.join(vms_dir, uid, refs.VM_IMAGE_LINKS)))
        except OSError:
            continue
    return used


async def collect_periodically(cache: ImageCache, vms_dir: str, policy: GCPolicy,
                               shortfall: Callable[[str], Awaitable[None]], period: float = GC_PERIOD_SECONDS) -> None:
    """The kubelet's image GC loop: a pass every `period` seconds; a pass that could not free enough says so
    (`shortfall`: the Node's FreeDiskSpaceFailed warning)."""
    while True:
        await asyncio.sleep(period)
        try:
            done = await asyncio.to_thread(cache.collect, images_in_use(vms_dir), policy)
        except OSError as e:
            log.warning("image garbage collection: %s", e)
            continue
        if done is not None and done.shortfall():
            log.warning("%s", done.shortfall())
            await shortfall(done.shortfall())


def pulling(image: str, figure: tuple) -> str:
    """The VMI's message while its image is pulled: the kubelet's Pulling event, with the bytes."""
    return f'Pulling image "{image}"' + (f": {figures.describe(*figure)}" if figure else "")


def _skopeo_error(text: str) -> str:
    """skopeo's last error line, without its `time=… level=fatal msg=` framing."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "skopeo failed"
    if 'msg="' in last:
        last = last.split('msg="', 1)[1].rstrip('"').replace('\\"', '"')
    return last


# ---------------------------------------------------------------- layers

def _clear(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _parent(root: str, parts: list[str]) -> str | None:
    """The directory for an entry's parent components, made if missing; None if one of them is a
    symlink (an entry must never be written through a link, wherever it points)."""
    cur = root
    for comp in parts:
        cur = os.path.join(cur, comp)
        if os.path.islink(cur):
            return None
        if not os.path.isdir(cur):
            _clear(cur)
            os.mkdir(cur, 0o755)
    return cur


def apply_layer(tar_path: str, root: str) -> None:
    """Apply one image layer (a tar, gzip'd or not) onto `root`, OCI's way: `.wh.NAME` removes NAME,
    `.wh..wh..opq` empties its directory. Entries leaving `root`, devices and set-id bits are dropped."""
    with tarfile.open(tar_path, "r:*") as tf:
        for m in tf:
            parts = [p for p in m.name.split("/") if p not in ("", ".")]
            if not parts or ".." in parts:
                continue
            parent = _parent(root, parts[:-1])
            if parent is None:
                continue
            base = parts[-1]
            target = os.path.join(parent, base)
            if base == OPAQUE:
                for name in os.listdir(parent):
                    _clear(os.path.join(parent, name))
            elif base.startswith(WHITEOUT):
                _clear(os.path.join(parent, base[len(WHITEOUT):]))
            elif m.isdir():
                if os.path.islink(target) or (os.path.lexists(target) and not os.path.isdir(target)):
                    _clear(target)
                os.makedirs(target, 0o755, exist_ok=True)
                os.chmod(target, (m.mode & 0o777) | 0o700)
            elif m.isreg():
                _clear(target)
                src = tf.extractfile(m)
                assert src is not None, "a regular member has a file object"
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out, src:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.chmod(target, m.mode & 0o777)
            elif m.issym():
                _clear(target)
                os.symlink(m.linkname, target)   # the launcher resolves links inside the image only
            elif m.islnk():
                lparts = [p for p in m.linkname.split("/") if p not in ("", ".")]
                if not lparts or ".." in lparts:
                    continue
                src_dir = _parent(root, lparts[:-1])
                source = os.path.join(src_dir, lparts[-1]) if src_dir else None
                if source and os.path.isfile(source) and not os.path.islink(source):
                    _clear(target)
                    os.link(source, target)
            # devices, FIFOs: nothing a disk or a kernel needs


# ---------------------------------------------------------------- VMIs waiting for images

def image_id(image: str, path: str) -> str:
    """The reference by digest of a registry image the cache unpacked at `path` (named by its manifest
    digest): the imageID a kubelet reports for a container, which status.containerImageIDs keeps; ""
    for a directory not named so."""
    digest = "sha256:" + os.path.basename(os.path.normpath(path))
    try:
        ref = refs.parse(image)
        refs.digest_hex(digest)
    except ValueError:
        return ""
    return str(refs.Reference(ref.domain, ref.path, digest=digest))


def pinned_digest(vmi, image: str) -> str:
    """The manifest digest the VMI's first node resolved `image` to ("" when none was recorded)."""
    try:
        return refs.parse(vmi.status.containerImageIDs.get(image, "")).digest
    except refs.ReferenceError:
        return ""


@dataclass
class _Pull:
    """One image for one VMI: the kubelet's per-container pull state."""
    task: asyncio.Task | None = None
    path: str = ""
    failures: int = 0
    retry_at: float = 0.0
    error: str = ""
    failed_at: float = 0.0
    backoff_noted: bool = False   # the BackOff event of this failure is recorded
    figure: tuple = ()            # (done, total) bytes of the pull under way, as last shown


@dataclass
class Gate:
    """What `ImagePulls.gate` found: the paths when every image is here, else the status to show."""
    paths: dict
    ready: bool
    reason: str = ""
    message: str = ""
    wait: float = 0.0


class ImagePulls:
    """Per VMI uid and image: pull in the background, remember failures, back off as the kubelet."""

    def __init__(self, cache: ImageCache, wake: Callable[[str], None], recorder=None,
                 backoff: tuple[float, float] | None = None, credentials=None):
        """`credentials(vmi, secret_name)`: the auth file of a VMI's imagePullSecret (None: it carries none;
        LookupError: there is no such Secret), handler/pullsecrets.py."""
        self.credentials = credentials
        self.cache = cache
        self.wake = wake                   # re-queues a VMI key when its pull finishes
        self.recorder = recorder
        self.initial, self.maximum = backoff or backoff_from_env()
        self.pulls: dict[tuple[str, str], _Pull] = {}

    def forget(self, uid: str) -> None:
        for k in [k for k in self.pulls if k[0] == uid]:
            p = self.pulls.pop(k)
            if p.task is not None and not p.task.done():
                p.task.cancel()

    def paths(self, vmi) -> dict:
        """The images this VMI was given (or, after a handler restart or a migration here, the cache has
        for it: the digest its first node resolved comes first, status.containerImageIDs)."""
        out = {}
        for need in refs.registry_images(vmi.spec):
            p = self.pulls.get((vmi.metadata.uid, need.image))
            pinned = pinned_digest(vmi, need.image)
            if pinned and self.cache.by_digest(pinned):
                out[need.image] = self.cache.by_digest(pinned)
            elif p is not None and p.path:
                out[need.image] = p.path
            else:
                try:
                    found = self.cache.lookup(refs.parse(need.image))
                except refs.ReferenceError:
                    found = None
                if found:
                    out[need.image] = found
        return out

    def pinned(self, vmi) -> tuple[dict, list[str]]:
        """A migration's target: (image -> directory, of those here; the images still to pull), each by the
        digest the VMI's node resolved (KubeVirt's target pod takes the source pod's image IDs); an image
        without one recorded by its own reference, as KubeVirt falls back to the tag."""
        here, missing = {}, []
        for need in refs.registry_images(vmi.spec):
            digest = pinned_digest(vmi, need.image)
            try:
                found = self.cache.by_digest(digest) if digest else self.cache.lookup(refs.parse(need.image))
            except refs.ReferenceError:
                found = None
            if found:
                here[need.image] = found
            else:
                missing.append(need.image)
        return here, missing

    async def pull_pinned(self, vmi, image: str) -> str:
        """Pull `image` as the VMI's node resolved it, now, with the kubelet's events on the VMI and no back-off
        (a migration's target: a failure fails the migration); the error, or "" once it is here."""
        digest = pinned_digest(vmi, image)
        reference = vmi.status.containerImageIDs[image] if digest else image
        secret = next((n.pull_secret for n in refs.registry_images(vmi.spec) if n.image == image), "")
        self._event(vmi, "Normal", "Pulling", f'Pulling image "{reference}"')
        started = time.monotonic()
        try:
            auth = await self._auth(vmi, secret)
            try:
                path, _ = await asyncio.to_thread(self.cache.pull, refs.parse(reference), None, auth)
            except PullError:
                if not digest:
                    raise
                # A registry's Docker manifest is kept converted to OCI here, under another digest than the
                # registry's: the tag may still name that image, which the digest then proves.
                path, _ = await asyncio.to_thread(self.cache.pull, refs.parse(image), None, auth)
            if digest and os.path.basename(path) != refs.digest_hex(digest):
                raise PullError(f'"{image}" names another image now, and the registry does not serve {digest}')
        except (PullError, OSError, ValueError, tarfile.TarError, grpc.RpcError) as e:
            error = f'Failed to pull image "{reference}": {e}'
            self._event(vmi, "Warning", "Failed", error)
            return error
        self._event(vmi, "Normal", "Pulled",
                    f'Successfully pulled image "{reference}" in {time.monotonic() - started:.3f}s')
        return ""

    def gate(self, key: str, vmi) -> Gate:
        """Every registry image of the VMI on the node (paths, ready) or why not yet."""
        uid = vmi.metadata.uid
        paths, waiting = {}, []
        now = time.monotonic()
        for need in refs.registry_images(vmi.spec):
            p = self.pulls.setdefault((uid, need.image), _Pull())
            if p.path:
                paths[need.image] = p.path
                continue
            if p.task is not None and not p.task.done():
                waiting.append((refs.CONTAINER_CREATING, pulling(need.image, p.figure), 1.0))
                continue
            try:
                ref = refs.parse(need.image)
            except refs.ReferenceError as e:
                waiting.append((refs.ERR_IMAGE_PULL, f'Failed to pull image "{need.image}": {e}', self.maximum))
                continue
            if need.policy != refs.ALWAYS:
                found = self.cache.lookup(ref)
                if found:
                    p.path = paths[need.image] = found
                    self._event(vmi, "Normal", "Pulled", f'Container image "{need.image}" already present on machine')
                    continue
                if need.policy == refs.NEVER:
                    never = f'Container image "{need.image}" is not present with pull policy of Never'
                    waiting.append((refs.ERR_IMAGE_NEVER_PULL, never, self.initial))
                    continue
            if p.error and now < p.retry_at:
                # ErrImagePull until the next look (the kubelet's next pod sync), then the back-off: our own
                # status write wakes us at once, so "next" is a while after the failure.
                until = p.failed_at + min(ERR_IMAGE_PULL_SECONDS, (p.retry_at - p.failed_at) / 2)
                if now < until:
                    waiting.append((refs.ERR_IMAGE_PULL, p.error, until - now))
                else:
                    if not p.backoff_noted:
                        p.backoff_noted = True
                        self._event(vmi, "Normal", "BackOff", f'Back-off pulling image "{need.image}"')
                    waiting.append((refs.IMAGE_PULL_BACKOFF, f'Back-off pulling image "{need.image}"',
                                    p.retry_at - now))
                continue
            p.task = asyncio.get_running_loop().create_task(self._pull(key, vmi, need, ref, p))
            waiting.append((refs.CONTAINER_CREATING, pulling(need.image, ()), 1.0))
        if not waiting:
            return Gate(paths, True)
        # a failure first; else the first pull under way
        shown = next((w for w in waiting if w[0] not in (None, refs.CONTAINER_CREATING)), None) or \
            next((w for w in waiting if w[0]), None)
        wait = min(w[2] for w in waiting)
        if shown is None:
            return Gate(paths, False, wait=wait)
        return Gate(paths, False, shown[0], shown[1], wait)

    async def _auth(self, vmi, secret: str) -> bytes | None:
        """The credentials of the VMI's pull Secret `secret`; none (the kubelet's warning) when it is missing."""
        if not secret or self.credentials is None:
            return None
        try:
            return await self.credentials(vmi, secret)
        except LookupError:
            self._event(vmi, "Warning", pullsecrets.NOT_RETRIEVED, pullsecrets.not_retrieved(secret))
            return None

    async def _pull(self, key, vmi, need, ref, p: _Pull) -> None:
        self._event(vmi, "Normal", "Pulling", f'Pulling image "{need.image}"')
        started = time.monotonic()
        throttle = figures.Throttle()
        p.figure = ()

        def heard(done: int, total: int | None) -> None:   # the pull's thread; gate() shows it
            if throttle.due(done, total):
                p.figure = (done, total)
        try:
            auth = await self._auth(vmi, need.pull_secret)
            path, fetched = await asyncio.to_thread(self.cache.pull, ref, heard, auth)
        except (PullError, OSError, ValueError, tarfile.TarError, grpc.RpcError) as e:
            p.failures += 1
            p.error = f'Failed to pull image "{need.image}": {e}'
            p.retry_at = time.monotonic() + refs.backoff_seconds(p.failures, self.initial, self.maximum)
            p.failed_at, p.backoff_noted = time.monotonic(), False
            log.warning("VMI %s: %s (retry in %.0fs)", key, p.error, p.retry_at - time.monotonic())
            self._event(vmi, "Warning", "Failed", p.error)
        else:
            p.path, p.error, p.failures = path, "", 0
            took = time.monotonic() - started
            log.info("VMI %s: pulled %s in %.1fs (%d blob(s) downloaded) -> %s", key, need.image, took, fetched, path)
            self._event(vmi, "Normal", "Pulled", f'Successfully pulled image "{need.image}" in {took:.3f}s')
        finally:
            self.wake(key)

    def _event(self, vmi, type_: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(vmi, type_, reason, message)
