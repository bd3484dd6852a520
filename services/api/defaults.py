"""Defaulting on create: what KubeVirt's mutating webhooks and the apiserver fill in."""
from __future__ import annotations

import math
import uuid

from services.common import arch, domain, images, machines, names, proto, quantity, timeutil, volumes

VMI_FINALIZER = "foregroundDeleteVirtualMachine"
DEFAULT_VOLUME_MODE = "Filesystem"
DEFAULT_GRACE_PERIOD = 30
MAX_HOTPLUG_RATIO = 4          # KubeVirt's DefaultMaxHotplugRatio


def object_meta(md, namespaced: bool) -> None:
    if namespaced and not md.namespace:
        md.namespace = names.DEFAULT_NAMESPACE
    if not namespaced:
        md.namespace = ""
    if not md.name and md.generateName:
        md.name = md.generateName + uuid.uuid4().hex[:5]
    md.uid = str(uuid.uuid4())
    md.generation = 1
    md.creationTimestamp = timeutil.now()
    md.ClearField("deletionTimestamp")
    md.ClearField("resourceVersion")


def _resource_vcpus(spec) -> int:
    """vCPUs asked through resources (limits first, then requests), as KubeVirt's GetCPUTopology."""
    res = spec.domain.resources
    for section in (res.limits, res.requests):
        value = section.get("cpu")
        if value:
            try:
                vcpus = max(1, math.ceil(quantity.parse(value)))
            except ValueError:
                return 1  # validation names the bad quantity
            return vcpus if vcpus <= machines.MAX_DOMAIN_VCPUS else 1  # ... and the one too big
    return 1


def cpu_topology(spec) -> None:
    """KubeVirt's setDefaultCPUTopology: nothing said -> sockets from the CPU limit/request."""
    cpu = spec.domain.cpu
    if not (cpu.sockets or cpu.cores or cpu.threads):
        cpu.sockets = _resource_vcpus(spec)
    cpu.sockets = cpu.sockets or 1
    cpu.cores = cpu.cores or 1
    cpu.threads = cpu.threads or 1


def cpu_hotplug(spec, machine_max_vcpus: int = 0) -> None:
    """KubeVirt's setupCPUHotplug (no cluster maxCpuSockets here): maxSockets = 4 x sockets, capped
    so that maxSockets*cores*threads <= 512 but never below sockets; an explicit maxSockets stays.
    Beyond KubeVirt, the cap is also the machine type's vCPU limit on the nodes offering it
    (`machine_max_vcpus`, 0 = unknown), so a default never makes a VM unstartable."""
    cpu = spec.domain.cpu
    if cpu.maxSockets:
        return
    per_socket = cpu.cores * cpu.threads
    max_sockets = cpu.sockets * MAX_HOTPLUG_RATIO  # computed before it is set: it may not fit a uint32
    for limit in (machines.MAX_VCPUS, machine_max_vcpus):
        if limit and max_sockets * per_socket > limit:
            max_sockets = max(limit // per_socket, cpu.sockets)
    cpu.maxSockets = max_sockets


def arch_defaults(spec, a: arch.Arch) -> None:
    """pkg/defaults/arm64.go, by the arch table: the arch's CPU model (arm64: host-passthrough); where
    EFI is the default, an EFI bootloader (unless kernelBoot), secure boot as the arch has it (arm64: off)."""
    if a.cpu_model and not spec.domain.cpu.model:
        spec.domain.cpu.model = a.cpu_model
    fw = spec.domain.firmware
    if a.efi_default and not fw.HasField("bootloader") and not fw.HasField("kernelBoot"):
        fw.bootloader.efi.secureBoot = a.secure_boot


def inputs(spec) -> None:
    """autoAttachInputDevice (KubeVirt does it when the VM controller makes the VMI; here every VMI
    gets it) and setDefaults_Input: a tablet on USB unless the input says otherwise."""
    devs = spec.domain.devices
    if devs.HasField("autoattachInputDevice") and devs.autoattachInputDevice and not devs.inputs:
        devs.inputs.add(name=domain.AUTO_INPUT_NAME)
    kind, bus = domain.AUTO_INPUT
    for inp in devs.inputs:
        inp.type = inp.type or kind
        inp.bus = inp.bus or bus


def hyperv(spec) -> None:
    """SetHypervFeatureDependencies (pkg/defaults/hyperv.go): an enabled feature gets the feature it
    needs enabled when that is unset (leaves first, so chains resolve); eVMCS adds the vmx CPU feature;
    SetDefaults_FeatureSpinlocks: enabled spinlocks default to 4096 retries."""
    if not spec.domain.features.HasField("hyperv"):
        return
    hv = spec.domain.features.hyperv

    def on(name: str) -> bool:
        return hv.HasField(name) and (not getattr(hv, name).HasField("enabled") or getattr(hv, name).enabled)

    for feat in ("evmcs", "ipi", "tlbflush", "synictimer", "synic"):
        need = domain.HYPERV_REQUIRES[feat]
        if on(feat) and not hv.HasField(need):
            getattr(hv, need).enabled = True
    if on("evmcs") and not any(f.name == domain.EVMCS_CPU_FEATURE for f in spec.domain.cpu.features):
        spec.domain.cpu.features.add(name=domain.EVMCS_CPU_FEATURE, policy=domain.DEFAULT_CPU_FEATURE_POLICY)
    if on("spinlocks") and not hv.spinlocks.HasField("spinlocks"):
        hv.spinlocks.spinlocks = domain.DEFAULT_SPINLOCKS


def vmi_spec(spec, machine_limits=None) -> None:
    """`machine_limits(machine) -> max vCPUs` (0 unknown) comes from the nodes' labellers."""
    a = arch.set_defaults(spec)   # None: admission refuses the arch
    if not spec.HasField("terminationGracePeriodSeconds"):
        spec.terminationGracePeriodSeconds = DEFAULT_GRACE_PERIOD
    if a is not None:
        arch_defaults(spec, a)
    for iface in spec.domain.devices.interfaces:
        if not any(iface.HasField(b) for b in domain.BINDINGS):
            iface.bridge.SetInParent()  # KubeVirt's default network interface binding
    cpu_topology(spec)
    limit = machine_limits(spec.domain.machine.type) if machine_limits else 0
    cpu_hotplug(spec, limit)
    inputs(spec)
    hyperv(spec)
    images.set_default_policies(spec)


def create(obj: proto.api.Object, machine_limits=None) -> None:
    kind = proto.kind_of(obj)
    res = proto.inner(obj)
    info = proto.KINDS[kind]
    res.apiVersion, res.kind = info.api_version, info.kind
    object_meta(res.metadata, info.namespaced)
    if kind == proto.VMI:
        vmi_spec(res.spec, machine_limits)
        if VMI_FINALIZER not in res.metadata.finalizers:
            res.metadata.finalizers.append(VMI_FINALIZER)
    elif kind == proto.VM:
        res.ClearField("status")  # a status subresource: the apiserver ignores a status sent with a create
        # Neither running nor runStrategy: KubeVirt's VM mutator defaults to Halted.
        if not res.spec.HasField("running") and not res.spec.HasField("runStrategy"):
            res.spec.runStrategy = domain.RUN_HALTED
    elif kind == proto.PVC:
        res.ClearField("status")  # the apiserver ignores a status sent with a create
        storage_spec(kind, res.spec)
        res.status.phase = volumes.CLAIM_PENDING
        if volumes.PVC_PROTECTION not in res.metadata.finalizers:
            res.metadata.finalizers.append(volumes.PVC_PROTECTION)
    elif kind == proto.KUBEVIRT:
        res.ClearField("status")  # a status subresource, as KubeVirt's CRD has
    elif kind == proto.DV:
        res.ClearField("status")
        storage_spec(kind, res.spec)
        res.status.phase = volumes.DV_PENDING
        res.status.progress = "N/A"
    elif kind in (proto.SECRET, proto.CONFIG_MAP):
        from services.api import configobjects
        configobjects.default(kind, res)
    elif kind in (proto.VMSNAPSHOT, proto.VMSNAPSHOT_CONTENT, proto.VMRESTORE):
        res.ClearField("status")  # status subresources (KubeVirt's CRDs)
    elif kind == proto.VMIM:
        res.ClearField("status")  # a status subresource (KubeVirt's CRD)
        from services.api import migration
        migration.default(res)


def storage_spec(kind: proto.api.Kind, spec) -> None:
    """Defaults applied on every write of a claim's spec (Kubernetes defaults on each decode), so a
    re-applied manifest without them compares equal to the stored spec."""
    if kind == proto.PVC:
        if not spec.HasField("volumeMode"):
            spec.volumeMode = DEFAULT_VOLUME_MODE
    elif kind == proto.DV:
        if spec.HasField("pvc") and not spec.pvc.HasField("volumeMode"):
            spec.pvc.volumeMode = DEFAULT_VOLUME_MODE
