"""virt-launcher pods (cluster mode, `--launcher-pods`): virt-controller's part.

Every VMI gets a Pod as KubeVirt renders it (template.go, renderresources.go): generated name
`virt-launcher-<vmi>-`, the VMI as its controlling owner, KubeVirt's labels and annotations, requests
of the guest's memory plus KubeVirt's overhead estimate and its CPU, the VMI's nodeSelector (with
`kubevirt.io/schedulable` and the machine-type label), affinity, tolerations, priorityClassName and
schedulerName, restartPolicy Never. The kube-scheduler binds it; the VMI's node is the pod's
spec.nodeName (this replaces scheduler.py for the VMI). The pod's one container runs the launcher
with its socket in the pod's `sockets` emptyDir, where the node's handler finds it.

Lifecycle as KubeVirt 1.6's VMI controller: a Scheduled or Running VMI whose pod is gone fails, a
Scheduling VMI whose pod is down fails; a pod is deleted once its VMI is final or gone, or, for a VMI
being deleted, once the pod's container has ended (the handler ends it only after the guest is down).
"""
from __future__ import annotations

import functools
import logging
from decimal import Decimal

import grpc
from google.protobuf import json_format

from services.common import launcherpods as lp
from services.common import images, names, proto, quantity, vmstate
from services.controller import scheduler

log = logging.getLogger(__name__)
MI = 2 ** 20
# KubeVirt's fixed per-VMI overheads (RSS measured upstream, rounded up): virt-launcher-monitor,
# virt-launcher, virtlogd, virtqemud, and QEMU itself without guest RAM and page tables.
FIXED_OVERHEAD = (25 + 100 + 25 + 40 + 30) * MI
PER_VCPU = 8 * MI
IOTHREAD = 8 * MI
VIDEO = 32 * MI
ARM64_PFLASH = 128 * MI
VFIO = 1024 * MI
TPM = 53 * MI
DEDICATED = 100 * MI
PROBE_BASE, PER_PROBE = 100 * MI, 10 * MI
DEFAULT_CPU_ALLOCATION_RATIO = 10      # KubeVirt: 1 vCPU requests 100m unless the VMI asks
GRACE_EXTRA_SECONDS = 15               # the pod outlasts the guest's own grace period


class Settings:
    """What a launcher container needs on its node, from the controller's flags."""

    def __init__(self, image: str = "virtmesh", data_dir: str = "/var/lib/virtmesh",
                 libvirt_uri: str = "qemu:///system", emulation: str = "auto"):
        self.image, self.data_dir, self.libvirt_uri, self.emulation = image, data_dir, libvirt_uri, emulation


def _vcpus(vmi) -> int:
    cpu = vmi.spec.domain.cpu
    if cpu.cores or cpu.sockets or cpu.threads:
        return (cpu.cores or 1) * (cpu.sockets or 1) * (cpu.threads or 1)
    res = vmi.spec.domain.resources
    for src in (res.limits, res.requests):
        if "cpu" in src:
            return max(1, int(quantity.parse(src["cpu"])))
    return 1


def guest_memory(vmi) -> int:
    req = vmi.spec.domain.resources.requests.get("memory") or vmi.spec.domain.memory.guest
    return quantity.to_bytes(req) if req else 0


def memory_overhead(vmi, arch: str = "", ratio: str = "") -> int:
    """KubeVirt's GetMemoryOverhead, in bytes."""
    d = vmi.spec.domain
    kilo = -(-guest_memory(vmi) // 1000)              # the request in (rounded-up) kilobytes
    total = kilo * 1000 // 512                          # page tables: a bit per 512 bytes of RAM
    total += FIXED_OVERHEAD + PER_VCPU * _vcpus(vmi) + IOTHREAD
    if not d.devices.HasField("autoattachGraphicsDevice") or d.devices.autoattachGraphicsDevice:
        total += VIDEO
    if (arch or vmi.spec.architecture) == "arm64":
        total += ARM64_PFLASH
    if len(d.devices.hostDevices) or len(d.devices.gpus) or any(i.HasField("sriov") for i in d.devices.interfaces):
        total += VFIO
    if d.devices.HasField("tpm") and (not d.devices.tpm.HasField("enabled") or d.devices.tpm.enabled):
        total += TPM
    if d.cpu.dedicatedCpuPlacement:
        total += DEDICATED
    probes = [p for p in (vmi.spec.livenessProbe, vmi.spec.readinessProbe) if p.HasField("exec")]
    if probes:
        total += PROBE_BASE + PER_PROBE * len(probes)
    if ratio:
        total = int(Decimal(total) * Decimal(ratio))
    return total


def resources(vmi, ratio: int = DEFAULT_CPU_ALLOCATION_RATIO, overhead_ratio: str = "") -> tuple[dict, int]:
    """The compute container's resources and the memory overhead they include."""
    res = vmi.spec.domain.resources
    overhead = memory_overhead(vmi, ratio=overhead_ratio)
    requests = {"memory": str(guest_memory(vmi) + (0 if res.overcommitGuestOverhead else overhead))}
    if "cpu" in res.requests:
        requests["cpu"] = res.requests["cpu"]
    else:
        requests["cpu"] = f"{_vcpus(vmi) * 1000 // max(ratio, 1)}m"
    limits = {}
    if "cpu" in res.limits:
        limits["cpu"] = res.limits["cpu"]
    if "memory" in res.limits:
        limits["memory"] = str(quantity.to_bytes(res.limits["memory"]) + overhead)
    out = {"requests": requests}
    if limits:
        out["limits"] = limits
    return out, overhead


def command(vmi, s: Settings) -> list[str]:
    """The launcher's command line in its container (the handler's own forked launchers take the same)."""
    md = vmi.metadata
    return ["python", "-m", "services.launcher", "--data-dir", s.data_dir, "--uid", md.uid,
            f"--namespace={md.namespace}", f"--name={md.name}", "--libvirt-uri", s.libvirt_uri,
            "--emulation", s.emulation, "--socket-dir", lp.SOCKETS_MOUNT]


def render(vmi, s: Settings, cpu_ratio: int = DEFAULT_CPU_ALLOCATION_RATIO, overhead_ratio: str = "") -> dict:
    md, spec = vmi.metadata, vmi.spec
    res, overhead = resources(vmi, cpu_ratio, overhead_ratio)
    labels = dict(md.labels)
    labels.update({lp.APP_LABEL: lp.LAUNCHER_APP, names.CREATED_BY_LABEL: md.uid,
                   lp.VM_NAME_LABEL: spec.hostname or md.name})
    selector = scheduler.node_selector(vmi)
    selector[names.SCHEDULABLE_LABEL] = "true"
    grace = spec.terminationGracePeriodSeconds if spec.HasField("terminationGracePeriodSeconds") else 30
    pod_spec = {
        "restartPolicy": "Never",
        "nodeSelector": selector,
        "terminationGracePeriodSeconds": grace + GRACE_EXTRA_SECONDS,
        "automountServiceAccountToken": False,
        "containers": [{
            "name": lp.COMPUTE_CONTAINER, "image": s.image, "imagePullPolicy": images.IF_NOT_PRESENT,
            "command": command(vmi, s),
            "resources": res,
            "volumeMounts": [{"name": lp.SOCKETS_VOLUME, "mountPath": lp.SOCKETS_MOUNT},
                             {"name": "data", "mountPath": s.data_dir}],
        }],
        "volumes": [{"name": lp.SOCKETS_VOLUME, "emptyDir": {}},
                    {"name": "data", "hostPath": {"path": s.data_dir, "type": "Directory"}}],
    }
    if spec.schedulerName:
        pod_spec["schedulerName"] = spec.schedulerName
    if spec.priorityClassName:
        pod_spec["priorityClassName"] = spec.priorityClassName
    if spec.HasField("affinity"):
        pod_spec["affinity"] = json_format.MessageToDict(spec.affinity)
    if len(spec.tolerations):
        pod_spec["tolerations"] = [json_format.MessageToDict(t) for t in spec.tolerations]
    if len(spec.topologySpreadConstraints):
        pod_spec["topologySpreadConstraints"] = [json_format.MessageToDict(t) for t in spec.topologySpreadConstraints]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "generateName": f"virt-launcher-{md.name}-", "namespace": md.namespace, "labels": labels,
            "annotations": {lp.DOMAIN_ANNOTATION: md.name, lp.DEFAULT_CONTAINER_ANNOTATION: lp.COMPUTE_CONTAINER,
                            lp.MIGRATION_TRANSPORT_ANNOTATION: "true", lp.MEMORY_OVERHEAD_ANNOTATION: str(overhead)},
            "ownerReferences": [{"apiVersion": proto.KINDS[proto.VMI].api_version, "kind": "VirtualMachineInstance",
                                 "name": md.name, "uid": md.uid, "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": pod_spec,
    }


def _pod_condition(pod: dict, ctype: str) -> dict | None:
    for c in pod.get("status", {}).get("conditions") or ():
        if c.get("type") == ctype:
            return c
    return None


class LauncherPods:
    """The VMI controller's pod half (VMIController calls it in cluster mode with --launcher-pods)."""

    def __init__(self, api, pods: lp.PodCache, settings: Settings, kubevirt=None):
        self.api, self.pods, self.settings = api, pods, settings
        self.kubevirt = kubevirt   # the KubeVirt objects' informer: cpuAllocationRatio, overhead ratio
        self.creating: set[str] = set()

    async def _request(self, *args, **kwargs):
        """A Pod request through the client's thread pool (the store's transport and errors)."""
        return await self.api._call(functools.partial(self.pods.store.request, *args, **kwargs))

    def _config(self) -> tuple[int, str]:
        for kv in (self.kubevirt.items() if self.kubevirt is not None else ()):
            c = kv.spec.configuration
            return (c.developerConfiguration.cpuAllocationRatio or DEFAULT_CPU_ALLOCATION_RATIO,
                    c.additionalGuestMemoryOverheadRatio if c.HasField("additionalGuestMemoryOverheadRatio") else "")
        return DEFAULT_CPU_ALLOCATION_RATIO, ""

    async def _delete(self, pod: dict) -> None:
        md = pod["metadata"]
        if md.get("deletionTimestamp"):
            return
        try:
            await self._request("DELETE", lp.pods_path(md["namespace"], md["name"]),
                                 body={"kind": "DeleteOptions", "apiVersion": "v1",
                                       "preconditions": {"uid": md["uid"]}})
            log.info("deleted launcher pod %s/%s (VMI %s)", md["namespace"], md["name"],
                     md.get("annotations", {}).get(lp.DOMAIN_ANNOTATION, ""))
        except grpc.aio.AioRpcError as e:
            if e.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED):
                raise

    async def orphans(self, key: str, vmi) -> None:
        """Pods of this VMI name whose VMI is gone or is another (an older) one."""
        ns, _, name = key.partition("/")
        for uid, pod in list(self.pods.by_vmi.items()):
            md = pod["metadata"]
            if md["namespace"] == ns and md.get("annotations", {}).get(lp.DOMAIN_ANNOTATION) == name and \
                    (vmi is None or vmi.metadata.uid != uid):
                await self._delete(pod)

    async def reconcile(self, vmi, tp: str):
        """One pass for an existing VMI; returns the VMI as written."""
        uid = vmi.metadata.uid
        pod = self.pods.get(uid)
        phase = vmi.status.phase
        if vmi.metadata.deletionTimestamp:
            if pod is not None and (vmstate.is_final(vmi) or lp.finished(pod) or not lp.node_of(pod)):
                await self._delete(pod)
            return vmi
        if vmstate.is_final(vmi):
            if pod is not None:
                await self._delete(pod)
            return vmi
        if phase in ("", vmstate.PENDING, vmstate.SCHEDULING):
            return await self._schedule(vmi, pod, tp)
        if phase in (vmstate.SCHEDULED, vmstate.RUNNING) and pod is None and self.pods.synced.is_set() \
                and uid not in self.creating:
            return await self._fail(vmi, tp, "the VMI's virt-launcher pod is gone")
        return vmi

    async def _fail(self, vmi, tp, message: str):
        out = proto.copy(vmi)
        vmstate.set_phase(out, vmstate.FAILED)   # KubeVirt sets no reason here
        out.status.message = message
        vmstate.set_condition(out, vmstate.READY, "False")
        log.warning("VMI %s: %s; failed", proto.key(vmi), message)
        return await self.api.update_status(out, tp)

    async def _schedule(self, vmi, pod, tp):
        out = proto.copy(vmi)
        if pod is None:
            if not self.pods.synced.is_set():
                return vmi
            ratio, overhead_ratio = self._config()
            doc = render(vmi, self.settings, ratio, overhead_ratio)
            self.creating.add(vmi.metadata.uid)
            try:
                created = await self._request("POST", lp.pods_path(vmi.metadata.namespace),
                                               body=doc)
            finally:
                self.creating.discard(vmi.metadata.uid)
            self.pods.observe(created)
            log.info("created launcher pod %s/%s for VMI %s", created["metadata"]["namespace"],
                     created["metadata"]["name"], proto.key(vmi))
            pod = created
        if not out.status.phase:
            vmstate.set_phase(out, vmstate.PENDING)
        if lp.finished(pod) or pod["metadata"].get("deletionTimestamp"):
            vmstate.set_phase(out, vmstate.FAILED)     # down before the VMI ever ran
            out.status.reason = "PodFailed"
            out.status.message = "the VMI's virt-launcher pod ended before the VMI was scheduled"
            return await self.api.update_status(out, tp)
        vmstate.set_phase(out, vmstate.SCHEDULING)
        node = lp.node_of(pod)
        if not node:
            cond = _pod_condition(pod, vmstate.POD_SCHEDULED)
            if cond is not None and cond.get("status") == "False":
                vmstate.set_condition(out, vmstate.POD_SCHEDULED, "False", cond.get("reason", ""),
                                      cond.get("message", ""))
            if out.status != vmi.status:
                out = await self.api.update_status(out, tp)
            return out   # the pod's binding requeues this VMI
        out.status.nodeName = node
        vmstate.set_condition(out, vmstate.POD_SCHEDULED, "True")
        vmstate.set_phase(out, vmstate.SCHEDULED)
        out.metadata.labels[names.NODE_NAME_LABEL] = node
        out = await self.api.update_with_status(out, tp)
        log.info("VMI %s: its launcher pod %s is bound to node %s", proto.key(vmi), pod["metadata"]["name"], node)
        return out


def add_flags(p) -> None:
    p.add_argument("--launcher-pods", action="store_true",
                   help="cluster mode: run each VMI's launcher in a virt-launcher Pod that the kube-scheduler "
                   "places and the node's kubelet runs (without it the controller places VMIs itself)")
    p.add_argument("--launcher-image", default="virtmesh", help="the launcher pods' container image")
    p.add_argument("--launcher-data-dir", default="/var/lib/virtmesh",
                   help="the nodes' data dir, mounted into launcher pods at the same path")
    p.add_argument("--launcher-libvirt-uri", default="qemu:///system", help="libvirt on the nodes, for launchers")
    p.add_argument("--launcher-emulation", choices=["auto", "kvm", "emulation"], default="auto")


def setup(args, api, kubevirt, on_vmi_key) -> "LauncherPods | None":
    """The pod half when `--launcher-pods` is given (cluster mode only), else None."""
    if not getattr(args, "launcher_pods", False):
        return None
    if not args.kubeconfig:
        raise SystemExit("--launcher-pods needs --kubeconfig: launcher pods live in a cluster")

    def on_pod(uid: str, pod: dict) -> None:
        md = pod.get("metadata", {})
        name = md.get("annotations", {}).get(lp.DOMAIN_ANNOTATION)
        if name:
            on_vmi_key(f"{md['namespace']}/{name}")

    cache = lp.PodCache(api.kube, on_pod)
    settings = Settings(args.launcher_image, args.launcher_data_dir, args.launcher_libvirt_uri,
                        args.launcher_emulation)
    return LauncherPods(api, cache, settings, kubevirt)
