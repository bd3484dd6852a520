"""Launchers in virt-launcher pods (cluster mode, `--launcher-pods`): the handler's part.

The controller creates each VMI's pod, the kube-scheduler binds it, the node's kubelet runs its
container (services/controller/launcherpod.py). The handler forks nothing: it follows the launcher
of each pod bound to its node, reaching its socket through the pod's `sockets` emptyDir under the
kubelet's pod directory (KubeVirt's virt-handler: /pods/<pod uid>/volumes/kubernetes.io~empty-dir/
sockets/launcher-sock). A launcher is alive while its pod has not ended and the process holding the
VMI's launcher lock (services/common/launcherlock.py: the launcher still takes it, in the node's
data dir it mounts) lives.

QEMU runs under libvirt on the host, outside the pod's cgroup: when a launcher dies without
undefining its domain (killed, OOM), the kubelet's teardown of the pod cannot take QEMU with it, so
the handler destroys the domain the dead launcher left (no QEMU outlives its pod's VMI).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from services.common import grpcclient, launcherlock, proto
from services.common.domain import METADATA_NS
from services.common.domainmeta import KubevirtMetadata
from services.common import launcherpods as lp
from services.handler.launchers import Launcher, Launchers

log = logging.getLogger(__name__)
POD_WAIT_SECONDS = 60.0


@dataclass(kw_only=True)
class PodLauncher(Launcher):
    pods: lp.PodCache
    lock_path: str = ""
    # The libvirt domain its launcher defines (the launcher's `<namespace>_<name>`), noted while the pod is
    # in the cache: the controller deletes a final VMI's pod, maybe before a dead launcher is cleaned up.
    domain_name: str = ""

    def _pid(self) -> int:
        if not self.pid:
            self.pid = launcherlock.holder(self.lock_path)
        return self.pid

    def pod(self) -> dict | None:
        """Its pod from the cache (None once deleted); the domain name is noted while it is there."""
        pod = self.pods.get(self.uid)
        if pod is not None and not self.domain_name:
            md = pod["metadata"]
            name = md.get("annotations", {}).get(lp.DOMAIN_ANNOTATION, "")
            if name:
                self.domain_name = f"{md['namespace']}_{name}"
        return pod

    def alive(self) -> bool:
        pod = self.pod()
        if pod is None or lp.finished(pod):
            return False
        pid = self._pid()
        return not pid or launcherlock.pid_alive(pid)   # not started yet: the pod's word


class PodLaunchers(Launchers):
    def __init__(self, *args, pods: lp.PodCache, pods_dir: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pods = pods
        self.pods_dir = pods_dir

    def discover(self) -> list[str]:
        """Nothing to find before the pod cache has synced: a VMI's reconcile adopts its pod's launcher."""
        return []

    def holder(self, uid: str) -> int:
        pod = self.pods.get(uid)
        if pod is None or lp.finished(pod):
            return 0
        return super().holder(uid)

    async def adopt(self, uid: str) -> Launcher | None:
        h = self.by_uid.get(uid)
        if h is not None and not h.dead:
            return None
        pod = self.pods.get(uid)
        if pod is None or lp.finished(pod) or not super().holder(uid):
            return None
        if h is not None:
            await self.forget(uid)
        log.info("VMI uid %s: following the launcher of pod %s", uid, pod["metadata"]["name"])
        return self._attach(uid, 0, None)

    async def spawn(self, vmi, first=None, spare_after=0.0) -> Launcher:
        """The VMI's pod is the kubelet's to start: wait until it is in our cache, then follow it. (No spare
        here to send `first` ahead to: the caller makes its first call itself.)"""
        uid = vmi.metadata.uid
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POD_WAIT_SECONDS
        while self.pods.get(uid) is None and loop.time() < deadline:
            await asyncio.sleep(0.1)
        pod = self.pods.get(uid)
        if pod is not None:
            log.info("VMI %s/%s: launcher pod %s", vmi.metadata.namespace, vmi.metadata.name, pod["metadata"]["name"])
        return self._attach(uid, 0, None)

    def _attach(self, uid: str, pid: int, proc, spare=None) -> Launcher:   # (no zygote: never a spare)
        pod = self.pods.get(uid)
        sock = lp.socket_path(self.pods_dir, pod) if pod is not None else ""
        channel = grpcclient.aio_channel(grpcclient.unix(sock or self.data.launcher_socket(uid)), launcher=uid)
        h = PodLauncher(uid=uid, pid=pid, socket=sock, channel=channel, stub=proto.launcher_grpc.CmdStub(channel),
                        pods=self.pods, lock_path=self.data.launcher_pid(uid))
        h.pod()
        self.by_uid[uid] = h
        h.events_task = asyncio.get_running_loop().create_task(self._follow(h))
        return h

    async def forget(self, uid: str) -> None:
        h = self.by_uid.get(uid)
        if isinstance(h, PodLauncher) and not h.alive() and h.domain_name:
            await asyncio.to_thread(destroy_leftover, self.libvirt_uri, h.domain_name, uid)
        await super().forget(uid)


def destroy_leftover(uri: str, domain_name: str, uid: str) -> bool:
    """Destroy and undefine `domain_name` if it is this VMI uid's (its KubeVirt metadata says so)."""
    from services.handler.hostcaps import libvirt
    if libvirt is None or uri.startswith("test:"):
        return False
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as e:
        log.warning("cannot reach libvirt to remove %s: %s", domain_name, e)
        return False
    try:
        try:
            dom = conn.lookupByName(domain_name)
        except libvirt.libvirtError:
            return False
        try:
            owner = KubevirtMetadata.from_xml(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)).uid
        except (libvirt.libvirtError, ValueError):
            owner = None
        if owner != uid:
            return False   # another VMI's domain of the same name (a newer one): not ours to remove
        if dom.isActive():
            dom.destroy()
        try:
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM)
        except libvirt.libvirtError:
            pass   # transient, or already gone
        log.info("destroyed domain %s: its launcher pod ended without removing it", domain_name)
        return True
    finally:
        conn.close()


def add_flags(p) -> None:
    p.add_argument("--launcher-pods", action="store_true",
                   help="cluster mode: launchers run in virt-launcher pods the kubelet starts (the controller's "
                   "--launcher-pods); the handler follows them instead of forking its own")
    p.add_argument("--pods-dir", default=lp.DEFAULT_PODS_DIR,
                   help=f"the kubelet's pod directory ({lp.KUBELET_PODS_DIR}), as mounted here (short: socket paths "
                   "must stay under 108 bytes)")


def make(args, api, data, on_launcher, node: str) -> PodLaunchers | None:
    """PodLaunchers when `--launcher-pods` is given (cluster mode only), else None."""
    if not getattr(args, "launcher_pods", False):
        return None
    if not args.kubeconfig:
        raise SystemExit("--launcher-pods needs --kubeconfig: launcher pods live in a cluster")

    def on_pod(uid: str, pod: dict) -> None:
        on_launcher(uid)

    pods = lp.PodCache(api.kube, on_pod, node_name=node)
    return PodLaunchers(data, args.libvirt_uri, args.emulation, on_launcher, None, node=node,
                        pods=pods, pods_dir=args.pods_dir)
