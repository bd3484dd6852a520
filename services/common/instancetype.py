"""Instance types and preferences applied to a VirtualMachineInstance spec (KubeVirt's pkg/instancetype:
apply, preference/apply, conflict, requirements), shared by the api (VM admission) and the controller
(VMI creation, expand). No store access here: callers find the objects and hand their specs in.

An instance type's values are applied and may not be overridden: a VM that sets one of them anyway is
refused with KubeVirt's conflict text naming the field. A preference only fills what the VM leaves unset.
Fields of theirs that this mesh's VirtualMachineInstance has no counterpart for are refused when the
instancetype or preference is written (`unsupported`), so everything admitted is applied.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from services.common import proto, quantity

GROUP = "instancetype.kubevirt.io"
# KubeVirt's lowercase resource names (kubevirt.io/api/instancetype register.go), the matcher's `kind`.
INSTANCETYPE_NAMES = ("virtualmachineinstancetype", "virtualmachineinstancetypes")
CLUSTER_INSTANCETYPE_NAMES = ("virtualmachineclusterinstancetype", "virtualmachineclusterinstancetypes")
PREFERENCE_NAMES = ("virtualmachinepreference", "virtualmachinepreferences")
CLUSTER_PREFERENCE_NAMES = ("virtualmachineclusterpreference", "virtualmachineclusterpreferences")
# What the VM mutator writes into a matcher without a kind (setDefaultInstancetypeKind).
DEFAULT_INSTANCETYPE_KIND = CLUSTER_INSTANCETYPE_NAMES[0]
DEFAULT_PREFERENCE_KIND = CLUSTER_PREFERENCE_NAMES[0]

# VMI annotations naming what the VMI was built from (kubevirt.io/api/core/v1 InstancetypeAnnotation …).
INSTANCETYPE_ANNOTATION = "kubevirt.io/instancetype-name"
CLUSTER_INSTANCETYPE_ANNOTATION = "kubevirt.io/cluster-instancetype-name"
PREFERENCE_ANNOTATION = "kubevirt.io/preference-name"
CLUSTER_PREFERENCE_ANNOTATION = "kubevirt.io/cluster-preference-name"

# Labels of a stashed ControllerRevision (ControllerRevisionObject*Label).
REVISION_GENERATION_LABEL = f"{GROUP}/object-generation"
REVISION_KIND_LABEL = f"{GROUP}/object-kind"
REVISION_NAME_LABEL = f"{GROUP}/object-name"
REVISION_UID_LABEL = f"{GROUP}/object-uid"
REVISION_VERSION_LABEL = f"{GROUP}/object-version"

# Default-instancetype labels a volume may carry (inferFromVolume).
DEFAULT_INSTANCETYPE_LABEL = f"{GROUP}/default-instancetype"
DEFAULT_INSTANCETYPE_KIND_LABEL = f"{GROUP}/default-instancetype-kind"
DEFAULT_PREFERENCE_LABEL = f"{GROUP}/default-preference"
DEFAULT_PREFERENCE_KIND_LABEL = f"{GROUP}/default-preference-kind"
INFER_FAILURE_POLICIES = ("Reject", "Ignore")

# PreferredCPUTopology: the current names, then the deprecated prefer* spellings of the same.
SOCKETS, CORES, THREADS, SPREAD, ANY = "sockets", "cores", "threads", "spread", "any"
TOPOLOGIES = (SOCKETS, CORES, THREADS, SPREAD, ANY)
DEPRECATED_TOPOLOGIES = {"preferSockets": SOCKETS, "preferCores": CORES, "preferThreads": THREADS,
                         "preferSpread": SPREAD, "preferAny": ANY}
SPREAD_SOCKETS_CORES, SPREAD_CORES_THREADS, SPREAD_SOCKETS_CORES_THREADS = (
    "SocketsCores", "CoresThreads", "SocketsCoresThreads")
SPREAD_ACROSS = (SPREAD_SOCKETS_CORES, SPREAD_CORES_THREADS, SPREAD_SOCKETS_CORES_THREADS)
DEFAULT_SPREAD_RATIO = 2
THREADS_PER_CORE = 2   # spreading across sockets, cores and threads

CONFLICT_FMT = "VM field(s) {} conflicts with selected instance type"   # pkg/instancetype/conflict


class NotFound(LookupError):
    """A referenced instancetype, preference or revision that does not exist; str() is Kubernetes'
    NotFound text (`virtualmachineclusterinstancetypes.instancetype.kubevirt.io "x" not found`)."""


class Unresolvable(ValueError):
    """A matcher naming a kind that is no instancetype (or preference) kind, or a revision whose data
    is not one; str() is KubeVirt's text."""


# ---------------------------------------------------------------- matchers and kinds

def instancetype_kind(matcher) -> proto.api.Kind:
    """The stored kind a VM's instancetype matcher names (KubeVirt compares lowercased)."""
    k = matcher.kind.lower()
    if k in INSTANCETYPE_NAMES:
        return proto.INSTANCETYPE
    if k in ("", *CLUSTER_INSTANCETYPE_NAMES):
        return proto.CLUSTER_INSTANCETYPE
    raise Unresolvable(f"got unexpected kind in InstancetypeMatcher: {matcher.kind}")


def preference_kind(matcher) -> proto.api.Kind:
    k = matcher.kind.lower()
    if k in PREFERENCE_NAMES:
        return proto.PREFERENCE
    if k in ("", *CLUSTER_PREFERENCE_NAMES):
        return proto.CLUSTER_PREFERENCE
    raise Unresolvable(f"got unexpected kind in PreferenceMatcher: {matcher.kind}")


def object_key(kind: proto.api.Kind, vm_namespace: str, name: str) -> tuple[proto.api.Kind, str, str]:
    """(kind, namespace, name) of a referenced object: the VM's namespace for the namespaced kinds."""
    return kind, vm_namespace if proto.namespaced(kind) else "", name


def not_found(kind: proto.api.Kind, name: str) -> NotFound:
    return NotFound(f'{proto.KINDS[kind].resource} "{name}" not found')


def has_matchers(vm) -> bool:
    return vm.spec.HasField("instancetype") or vm.spec.HasField("preference")


def set_annotations(vm, vmi_meta) -> None:
    """annotations.Set / preference annotations.Set: which object a VMI was built from."""
    if vm.spec.HasField("instancetype"):
        namespaced = instancetype_kind(vm.spec.instancetype) == proto.INSTANCETYPE
        key = INSTANCETYPE_ANNOTATION if namespaced else CLUSTER_INSTANCETYPE_ANNOTATION
        vmi_meta.annotations[key] = vm.spec.instancetype.name
    if vm.spec.HasField("preference"):
        namespaced = preference_kind(vm.spec.preference) == proto.PREFERENCE
        key = PREFERENCE_ANNOTATION if namespaced else CLUSTER_PREFERENCE_ANNOTATION
        vmi_meta.annotations[key] = vm.spec.preference.name


# ---------------------------------------------------------------- ControllerRevisions

def revision_name(vm_name: str, obj) -> str:
    """GenerateName: `<vm>-<object>-<apiVersion>-<uid>-<generation>`."""
    version = (obj.apiVersion or f"{GROUP}/v1beta1").split("/")[-1]
    return f"{vm_name}-{obj.metadata.name}-{version}-{obj.metadata.uid}-{obj.metadata.generation}"


def new_revision(vm, kind: proto.api.Kind, obj):
    """CreateControllerRevision: a copy of `obj` (labels, annotations, finalizers and owners dropped)
    in a ControllerRevision owned by the VM, labelled with what it holds."""
    from services.common import manifest
    info = proto.KINDS[kind]
    stashed = proto.copy(obj)
    stashed.apiVersion, stashed.kind = info.api_version, info.kind
    for f in ("labels", "annotations", "finalizers", "ownerReferences"):
        stashed.metadata.ClearField(f)
    rev = proto.itype.ControllerRevision(apiVersion=proto.KINDS[proto.CONTROLLER_REVISION].api_version,
                                         kind="ControllerRevision")
    md = rev.metadata
    md.name, md.namespace = revision_name(vm.metadata.name, stashed), vm.metadata.namespace
    md.ownerReferences.add(apiVersion=proto.KINDS[proto.VM].api_version, kind="VirtualMachine",
                           name=vm.metadata.name, uid=vm.metadata.uid, controller=True, blockOwnerDeletion=True)
    md.labels.update({REVISION_GENERATION_LABEL: str(obj.metadata.generation), REVISION_KIND_LABEL: info.kind,
                      REVISION_NAME_LABEL: obj.metadata.name, REVISION_UID_LABEL: obj.metadata.uid,
                      REVISION_VERSION_LABEL: info.version})
    rev.data.update(manifest.to_dict(stashed))
    return rev


def revision_object(rev) -> tuple[proto.api.Kind, Any]:
    """(kind, object) stashed in a ControllerRevision (compatibility.GetInstancetypeSpec: v1beta1 only)."""
    from google.protobuf import json_format
    from services.common import manifest
    data = manifest.integral_numbers({"data": json_format.MessageToDict(rev.data)},
                                     proto.itype.ControllerRevision.DESCRIPTOR)["data"]
    kind = proto.KIND_BY_NAME.get(data.get("kind", ""))
    if kind not in (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE, proto.PREFERENCE, proto.CLUSTER_PREFERENCE):
        raise Unresolvable(f"unexpected type in ControllerRevision {rev.metadata.name}: {data.get('kind')!r}")
    obj = proto.message_class(kind)()
    json_format.ParseDict(data, obj, ignore_unknown_fields=True)
    return kind, obj


def same_spec(a, b) -> bool:
    """revision.Compare: two revisions hold the same spec."""
    return revision_object(a)[1].spec == revision_object(b)[1].spec


# ---------------------------------------------------------------- conflicts

@dataclass(frozen=True)
class Conflict:
    """One field the VM may not set (or one requirement the VM does not meet)."""
    path: str
    message: str = ""

    def text(self) -> str:
        return self.message or CONFLICT_FMT.format(self.path)


def conflicts_text(conflicts: list[Conflict]) -> str:
    """KubeVirt's admission message for several causes: each cause's message, comma-separated."""
    return ", ".join(c.text() for c in conflicts)


# ---------------------------------------------------------------- what this mesh cannot apply

# Fields whose VMI counterpart no node of this mesh can provide (services/api/vmispec.py refuses them
# on VMIs too): refused when the object is written. When the mesh gains one, apply it below and drop it.
INSTANCETYPE_UNSUPPORTED = {
    "cpu.numa": "guest NUMA mapping",
    "cpu.realtime": "realtime vCPUs",
    "cpu.isolateEmulatorThread": "emulator-thread isolation",
    "memory.hugepages": "hugepages",
    "gpus": "GPUs",
    "hostDevices": "host devices",
    "launchSecurity": "launch security (SEV)",
}
PREFERENCE_UNSUPPORTED = {
    "devices.preferredVirtualGPUOptions": "GPUs",
    "devices.preferredNetworkInterfaceMultiQueue": "networkInterfaceMultiQueue",
}


def _present(msg, dotted: str) -> bool:
    """Whether the field at `dotted` (JSON names) is set in `msg`."""
    *parents, last = dotted.split(".")
    for name in parents:
        field = msg.DESCRIPTOR.fields_by_name[name]
        if not msg.HasField(field.name):
            return False
        msg = getattr(msg, field.name)
    field = msg.DESCRIPTOR.fields_by_name[last]
    if field.is_repeated or (field.message_type is not None and field.message_type.GetOptions().map_entry):
        return len(getattr(msg, field.name)) > 0
    if field.has_presence:
        return msg.HasField(field.name)
    return getattr(msg, field.name) != field.default_value


def unsupported(kind: proto.api.Kind, spec, path: str = "spec") -> list[tuple[str, str]]:
    """(field path, what is missing) for every field of an instancetype or preference spec that this
    mesh cannot apply."""
    table = INSTANCETYPE_UNSUPPORTED if kind in (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE) \
        else PREFERENCE_UNSUPPORTED
    return [(f"{path}.{p}", what) for p, what in table.items() if _present(spec, p)]


# ---------------------------------------------------------------- CPU topology

def preferred_topology(pref) -> str:
    """GetPreferredTopology: the preference's, `sockets` without one; deprecated names mapped."""
    if pref is not None and pref.cpu.HasField("preferredCPUTopology"):
        t = pref.cpu.preferredCPUTopology
        return DEPRECATED_TOPOLOGIES.get(t, t)
    return SOCKETS


def spread_options(pref) -> tuple[int, str]:
    """GetSpreadOptions: (ratio, across), default (2, SocketsCores)."""
    ratio, across = DEFAULT_SPREAD_RATIO, SPREAD_SOCKETS_CORES
    if pref is None:
        return ratio, across
    if pref.preferSpreadSocketToCoreRatio:
        ratio = pref.preferSpreadSocketToCoreRatio
    so = pref.cpu.spreadOptions
    if so.HasField("across"):
        across = so.across
    if so.HasField("ratio"):
        ratio = so.ratio
    return ratio, across


def guest_topology(vcpus: int, pref) -> tuple[int, int, int]:
    """applyGuestCPUTopology: (sockets, cores, threads) for the instance type's vCPUs."""
    if vcpus <= 1:
        return 1, 1, 1
    topology = preferred_topology(pref)
    if topology == CORES:
        return 1, vcpus, 1
    if topology == THREADS:
        return 1, 1, vcpus
    if topology == SPREAD:
        ratio, across = spread_options(pref)
        if across == SPREAD_SOCKETS_CORES:
            return vcpus // ratio, ratio, 1
        if across == SPREAD_CORES_THREADS:
            return 1, vcpus // ratio, ratio
        if across == SPREAD_SOCKETS_CORES_THREADS:
            return vcpus // THREADS_PER_CORE // ratio, ratio, THREADS_PER_CORE
        return 1, 1, 1
    return vcpus, 1, 1   # sockets, any


def check_spread(it, pref) -> Conflict | None:
    """CheckSpreadCPUTopology: the instance type's vCPUs must divide as the spread preference asks."""
    if it is None or preferred_topology(pref) != SPREAD:
        return None
    guest = it.cpu.guest
    ratio, across = spread_options(pref)
    where = "instancetype.spec.cpu.guest"
    if across == SPREAD_SOCKETS_CORES and ratio and guest % ratio:
        return Conflict(where, f"{guest} vCPUs provided by the instance type are not divisible by the "
                               f"Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of {ratio} "
                               "provided by the preference")
    if across == SPREAD_CORES_THREADS and ratio and guest % ratio:
        return Conflict(where, f"{guest} vCPUs provided by the instance type are not divisible by the number of "
                               f"threads per core {ratio}")
    if across == SPREAD_SOCKETS_CORES_THREADS and ratio and (
            guest % THREADS_PER_CORE or (guest // THREADS_PER_CORE) % ratio):
        return Conflict(where, f"{guest} vCPUs provided by the instance type are not divisible by the number of "
                               f"threads per core {THREADS_PER_CORE} and Spec.PreferSpreadSocketToCoreRatio or "
                               f"Spec.CPU.PreferSpreadOptions.Ratio of {ratio}")
    return None


# ---------------------------------------------------------------- instance type -> VMI spec

def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def overcommitted_request(guest: str, percent: int) -> str:
    """The memory request for `overcommitPercent` (applyMemory computes it in float32, as here)."""
    total = quantity.to_bytes(guest)
    request = int(_f32(_f32(total) * _f32(1 - _f32(_f32(percent) / 100))))
    return format_bytes(request)


def format_bytes(n: int) -> str:
    """A byte count as a Kubernetes BinarySI quantity (largest exact binary suffix)."""
    for suffix, scale in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n and n % scale == 0:
            return f"{n // scale}{suffix}"
    return str(n)


def _apply_cpu(base: str, it, pref, spec) -> list[Conflict]:
    dom = spec.domain
    cpu = dom.cpu
    conflicts = [Conflict(f"{base}.domain.resources.{section}.cpu") for section in ("requests", "limits")
                 if "cpu" in getattr(dom.resources, section)]
    for field in ("sockets", "cores", "threads"):
        if getattr(cpu, field):
            conflicts.append(Conflict(f"{base}.domain.cpu.{field}"))
    if cpu.model and it.cpu.HasField("model"):
        conflicts.append(Conflict(f"{base}.domain.cpu.model"))
    if cpu.dedicatedCpuPlacement and it.cpu.HasField("dedicatedCPUPlacement"):
        conflicts.append(Conflict(f"{base}.domain.cpu.dedicatedCpuPlacement"))
    if conflicts:
        return conflicts
    if not cpu.model and it.cpu.HasField("model"):
        cpu.model = it.cpu.model
    if it.cpu.HasField("dedicatedCPUPlacement"):
        cpu.dedicatedCpuPlacement = it.cpu.dedicatedCPUPlacement
    if it.cpu.HasField("maxSockets"):
        cpu.maxSockets = it.cpu.maxSockets
    cpu.sockets, cpu.cores, cpu.threads = guest_topology(it.cpu.guest, pref)
    return []


def _apply_memory(base: str, it, spec) -> list[Conflict]:
    dom = spec.domain
    if dom.HasField("memory"):
        return [Conflict(f"{base}.domain.memory")]
    for section in ("requests", "limits"):
        if "memory" in getattr(dom.resources, section):
            return [Conflict(f"{base}.domain.resources.{section}.memory")]
    dom.memory.guest = it.memory.guest
    if it.memory.overcommitPercent > 0:
        dom.resources.requests["memory"] = overcommitted_request(it.memory.guest, it.memory.overcommitPercent)
    if it.memory.HasField("maxGuest"):
        dom.memory.maxGuest = it.memory.maxGuest
    return []


def _apply_annotations(annotations, meta) -> list[Conflict]:
    out = []
    for key, value in annotations.items():
        if key in meta.annotations:
            if meta.annotations[key] != value:
                out.append(Conflict(f"annotations.{key}"))
            continue
        meta.annotations[key] = value
    return out


def apply(base: str, it, pref, spec, meta) -> list[Conflict]:
    """ApplyToVMI: the instance type (its values win; a VM value in the way is a conflict), then, if
    nothing conflicts, the preference (where the spec is silent). `base` is the spec's path
    (`spec.template.spec` on a VM, `spec` on a VMI); `meta` the VMI (template) metadata."""
    if it is not None:
        conflicts = []
        if it.nodeSelector:
            if spec.nodeSelector:
                conflicts.append(Conflict(f"{base}.nodeSelector"))
            else:
                spec.nodeSelector.update(it.nodeSelector)
        conflicts += _apply_cpu(base, it, pref, spec)
        conflicts += _apply_memory(base, it, spec)
        if it.schedulerName:                  # applySchedulerName (the VMI's admission judges the name)
            if spec.schedulerName:
                conflicts.append(Conflict(f"{base}.schedulerName"))
            else:
                spec.schedulerName = it.schedulerName
        if it.HasField("ioThreadsPolicy"):   # applyIOThreadPolicy
            if spec.domain.HasField("ioThreadsPolicy"):
                conflicts.append(Conflict(f"{base}.domain.ioThreadsPolicy"))
            else:
                spec.domain.ioThreadsPolicy = it.ioThreadsPolicy
        conflicts += _apply_annotations(it.annotations, meta)
        if conflicts:
            return conflicts
    if pref is not None:
        apply_preference(pref, spec, meta)
    return []


# ---------------------------------------------------------------- preference -> VMI spec

def _fill(target, field: str, pref_msg, pref_field: str) -> None:
    """Copy `pref_msg.pref_field` to `target.field` when the preference sets it and the target does not."""
    if pref_msg.HasField(pref_field) and not target.HasField(field):
        value = getattr(pref_msg, pref_field)
        if hasattr(value, "CopyFrom"):
            getattr(target, field).CopyFrom(value)
        else:
            setattr(target, field, value)


def _apply_devices(pref, spec) -> None:
    """ApplyDevicePreferences for the devices this mesh models."""
    d, devs = pref.devices, spec.domain.devices
    for field in ("AutoattachGraphicsDevice", "AutoattachMemBalloon", "AutoattachPodInterface",
                  "AutoattachSerialConsole", "AutoattachInputDevice", "UseVirtioTransitional", "BlockMultiQueue"):
        _fill(devs, field[0].lower() + field[1:], d, "preferred" + field)
    if d.HasField("preferredDisableHotplug"):   # applied even over the VMI's own value, as in KubeVirt
        devs.disableHotplug = d.preferredDisableHotplug
    if d.preferredSoundModel and devs.HasField("sound") and not devs.sound.model:
        devs.sound.model = d.preferredSoundModel
    _fill(devs, "rng", d, "preferredRng")
    _fill(devs, "tpm", d, "preferredTPM")
    if d.HasField("preferredPanicDeviceModel"):
        for panic in devs.panicDevices:
            if not panic.HasField("model"):
                panic.model = d.preferredPanicDeviceModel
    for disk in devs.disks:
        if not (disk.HasField("disk") or disk.HasField("cdrom") or disk.HasField("lun")):
            disk.disk.SetInParent()   # no target: a disk, so the preferences below apply
        if disk.HasField("disk"):
            if d.preferredDiskBus and not disk.disk.bus:
                disk.disk.bus = d.preferredDiskBus
            if d.HasField("preferredDiskBlockSize") and not disk.HasField("blockSize"):
                disk.blockSize.CopyFrom(d.preferredDiskBlockSize)
            if d.preferredDiskCache and not disk.cache:
                disk.cache = d.preferredDiskCache
            if d.preferredDiskIO and not disk.io:
                disk.io = d.preferredDiskIO
            if d.HasField("preferredDiskDedicatedIoThread") and not disk.HasField("dedicatedIOThread") \
                    and disk.disk.bus == "virtio":
                disk.dedicatedIOThread = d.preferredDiskDedicatedIoThread
        elif disk.HasField("cdrom"):
            if d.preferredCdromBus and not disk.cdrom.bus:
                disk.cdrom.bus = d.preferredCdromBus
        elif d.preferredLunBus and not disk.lun.bus:
            disk.lun.bus = d.preferredLunBus
    pod_networks = {n.name for n in spec.networks if n.HasField("pod")}
    for iface in devs.interfaces:
        if d.preferredInterfaceModel and not iface.model:
            iface.model = d.preferredInterfaceModel
        unbound = not any(iface.HasField(b) for b in ("bridge", "masquerade", "slirp"))
        if d.HasField("preferredInterfaceMasquerade") and unbound and iface.name in pod_networks:
            iface.masquerade.SetInParent()
    for inp in devs.inputs:
        if d.preferredInputBus and not inp.bus:
            inp.bus = d.preferredInputBus
        if d.preferredInputType and not inp.type:
            inp.type = d.preferredInputType


def _apply_firmware(pref, spec) -> None:
    """applyFirmwarePreferences (a bootloader is only added when a preference picks one)."""
    fw, dom = pref.firmware, spec.domain
    has_bl = dom.firmware.HasField("bootloader")
    bl = dom.firmware.bootloader
    chosen = has_bl and (bl.HasField("bios") or bl.HasField("efi"))
    if fw.HasField("preferredUseBios") and fw.preferredUseBios and not chosen:
        bl.bios.SetInParent()
        chosen = True
    if fw.HasField("preferredUseBiosSerial") and dom.firmware.HasField("bootloader") and bl.HasField("bios") \
            and not bl.bios.HasField("useSerial"):
        bl.bios.useSerial = fw.preferredUseBiosSerial
    if not chosen and fw.HasField("preferredEfi"):
        bl.efi.CopyFrom(fw.preferredEfi)
        return   # the deprecated EFI preferences below are not applied with preferredEfi
    if fw.HasField("preferredUseEfi") and fw.preferredUseEfi and not chosen:
        bl.efi.SetInParent()
    if fw.HasField("preferredUseSecureBoot") and dom.firmware.HasField("bootloader") and bl.HasField("efi") \
            and not bl.efi.HasField("secureBoot"):
        bl.efi.secureBoot = fw.preferredUseSecureBoot


def apply_preference(pref, spec, meta) -> None:
    """preference/apply: every preferred value whose VMI field is unset."""
    dom = spec.domain
    names = {f.name for f in dom.cpu.features}
    for feature in pref.cpu.preferredCPUFeatures:
        if feature.name not in names:
            dom.cpu.features.add().CopyFrom(feature)
    if pref.HasField("devices"):
        _apply_devices(pref, spec)
    feats = pref.features
    _fill(dom.features, "acpi", feats, "preferredAcpi")
    _fill(dom.features, "apic", feats, "preferredApic")
    _fill(dom.features, "kvm", feats, "preferredKvm")
    _fill(dom.features, "pvspinlock", feats, "preferredPvspinlock")
    _fill(dom.features, "smm", feats, "preferredSmm")
    if feats.HasField("preferredHyperv"):   # applyHyperVFeaturePreferences: feature by feature
        dom.features.hyperv.SetInParent()
        for f, _ in feats.preferredHyperv.ListFields():
            _fill(dom.features.hyperv, f.name, feats.preferredHyperv, f.name)
    if pref.HasField("firmware"):
        _apply_firmware(pref, spec)
    if pref.machine.preferredMachineType and not dom.machine.type:
        dom.machine.type = pref.machine.preferredMachineType
    offset = pref.clock.preferredClockOffset
    if pref.clock.HasField("preferredClockOffset") and not (dom.clock.HasField("utc") or dom.clock.timezone):
        if offset.HasField("utc"):
            dom.clock.utc.CopyFrom(offset.utc)
        if offset.HasField("timezone"):
            dom.clock.timezone = offset.timezone
    _fill(dom.clock, "timer", pref.clock, "preferredTimer")
    if pref.HasField("preferredSubdomain") and not spec.subdomain:
        spec.subdomain = pref.preferredSubdomain
    if pref.HasField("preferredTerminationGracePeriodSeconds") and not spec.HasField("terminationGracePeriodSeconds"):
        spec.terminationGracePeriodSeconds = pref.preferredTerminationGracePeriodSeconds
    for key, value in pref.annotations.items():
        if key not in meta.annotations:
            meta.annotations[key] = value


# ---------------------------------------------------------------- preference requirements

def _vcpus_of(spec) -> tuple[int, int, int]:
    c = spec.domain.cpu
    return c.sockets or 1, c.cores or 1, c.threads or 1


def check_requirements(it, pref, spec) -> Conflict | None:
    """requirements.Check on the applied spec: the instance type (or the VM) gives at least what the
    preference requires. The Conflict's path is KubeVirt's field, its message KubeVirt's text."""
    if pref is None or not pref.HasField("requirements"):
        return None
    req = pref.requirements
    if req.HasField("cpu"):
        need = req.cpu.guest
        if it is not None:
            if it.cpu.guest < need:
                return Conflict("spec.instancetype", f"insufficient CPU resources of {it.cpu.guest} vCPU provided "
                                                     f"by instance type, preference requires {need} vCPU")
        else:
            sockets, cores, threads = _vcpus_of(spec)
            base = "spec.template.spec.domain.cpu"
            topology = preferred_topology(pref)
            single = {SOCKETS: ("sockets", sockets), CORES: ("cores", cores), THREADS: ("threads", threads)}
            if topology in single:
                name, have = single[topology]
                paths, what = [f"{base}.{name}"], name
            elif topology == SPREAD:
                _, across = spread_options(pref)
                parts = {SPREAD_SOCKETS_CORES: ("sockets", "cores"), SPREAD_CORES_THREADS: ("cores", "threads"),
                         SPREAD_SOCKETS_CORES_THREADS: ("sockets", "cores", "threads")}.get(across, ())
                values = {"sockets": sockets, "cores": cores, "threads": threads}
                have = 1
                for p in parts:
                    have *= values[p]
                paths, what = [f"{base}.{p}" for p in parts], across
            else:
                have = sockets * cores * threads
                paths, what = [f"{base}.cores", f"{base}.sockets", f"{base}.threads"], "cores, sockets and threads"
            if have < need:
                return Conflict(", ".join(paths), f"insufficient CPU resources of {have} vCPU provided by "
                                                  f"VirtualMachine, preference requires {need} vCPU provided as {what}")
    if req.HasField("memory"):
        need = req.memory.guest
        path, who, provided = "spec.template.spec.domain.memory", "VirtualMachine", "0Mi"
        if it is not None:
            path, who, provided = "spec.instancetype", "instance type", it.memory.guest
        if spec.domain.memory.guest:
            provided = spec.domain.memory.guest
        if quantity.parse(provided) < quantity.parse(need):
            return Conflict(path, f"insufficient Memory resources of {provided} provided by {who}, preference "
                                  f"requires {need}")
    return None
