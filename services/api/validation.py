"""Validation on create/update (KubeVirt's validating admitters). Every error names its field."""
from __future__ import annotations

import re

from services.api import vmispec
from services.api.errors import Invalid
from services.common import arch as common_arch
from services.common import hostpaths, kvconfig, machines, network, proto, quantity
from services.common.volumes import claim_name

RUN_STRATEGIES = ("Always", "Halted", "Manual", "RerunOnFailure", "Once")
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DISK_BUSES = ("virtio", "sata", "scsi", "usb")
DISK_CACHES = ("none", "writethrough", "writeback")
DISK_IO = ("native", "threads")
SERIAL_MAX = 256  # KubeVirt's maxStrLen for serials
LIST_MAX = 256    # KubeVirt's arrayLenMax (its CRD's maxItems) for disks, interfaces, networks, volumes
_SERIAL = re.compile(r"^[A-Za-z0-9_.+-]+$")
INTERFACE_STATES = ("", "up", "down", "absent")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_QUALIFIED = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
OBJECT_MAX = 3 * 512 * 1024  # bytes: Kubernetes' 1.5 MiB (etcd's request limit)
SHOWN_MAX = 256               # of a value echoed in a message
ANNOTATIONS_MAX = 256 * 1024  # Kubernetes' TotalAnnotationSizeLimitB
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
ARM64_DISK_BUSES = ("", "virtio", "scsi")
ARM64_CPU_MODEL = "host-passthrough"


def _shown(value: str) -> str:
    """`value` quoted for a message, cut short: a message echoing a 20 KB value would not fit gRPC's
    trailing metadata (the client would see "Stream removed", not the error)."""
    return f'"{value}"' if len(value) <= SHOWN_MAX else f'"{value[:SHOWN_MAX]}..." ({len(value)} characters)'


def _too_long(value: str, path: str, limit: int) -> None:
    if len(value.encode()) > limit:  # Kubernetes' field.TooLong: the value is not echoed
        raise Invalid(f"{path}: Too long: may not be more than {limit} bytes")


def _name(value: str, path: str, label: bool = False) -> None:
    if not value:
        raise Invalid(f"{path}: Required value: name is required")
    pattern, what, limit = ((_DNS1123_LABEL, "RFC 1123 label", 63) if label
                            else (_DNS1123, "RFC 1123 subdomain", 253))
    _too_long(value, path, limit)
    if not pattern.match(value):
        raise Invalid(f'{path}: Invalid value: {_shown(value)}: a lowercase {what} must consist of lower case '
                      "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                      f"character (at most {limit} characters)")


def _qualified_name(key: str, path: str) -> None:
    """Kubernetes' IsQualifiedName (label and annotation keys): [prefix/]name, prefix a DNS-1123
    subdomain, name at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric."""
    prefix, _, name = key.rpartition("/")
    if "/" in key:
        _too_long(prefix, f"{path}[{_shown(key)}]: prefix part", 253)
        if not _DNS1123.match(prefix):
            raise Invalid(f"{path}: Invalid value: {_shown(key)}: prefix part a lowercase RFC 1123 subdomain "
                          "must consist of lower case alphanumeric characters, '-' or '.'")
    if len(name) > 63 or not _QUALIFIED.match(name):
        raise Invalid(f"{path}: Invalid value: {_shown(key)}: name part must consist of alphanumeric characters, "
                      "'-', '_' or '.', and must start and end with an alphanumeric character (at most 63 "
                      "characters)")


def labels_annotations(md, path: str = "metadata") -> None:
    for key, value in md.labels.items():
        _qualified_name(key, f"{path}.labels")
        if len(value) > 63 or (value and not _QUALIFIED.match(value)):
            raise Invalid(f"{path}.labels: Invalid value: {_shown(value)}: a valid label must be an empty string "
                          "or consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                          "an alphanumeric character (at most 63 characters)")
    total = 0
    for key, value in md.annotations.items():
        _qualified_name(key, f"{path}.annotations")
        total += len(key.encode()) + len(value.encode())
    if total > ANNOTATIONS_MAX:
        raise Invalid(f"{path}.annotations: Too long: may not be more than {ANNOTATIONS_MAX} bytes")


def metadata(md, namespaced: bool) -> None:
    _name(md.name, "metadata.name")
    if namespaced:
        _name(md.namespace, "metadata.namespace", label=True)
    labels_annotations(md)


def _quantity(value: str, path: str, positive: bool = True, maximum: int = 0, unit: str = "") -> int:
    """`maximum` (0: quantity.MAX) bounds what the field can take, `unit` naming it in the message."""
    try:
        q = quantity.parse(value)
    except ValueError as e:
        raise Invalid(f"{path}: Invalid value: {_shown(value)}: {e}") from None
    if positive and q <= 0:
        raise Invalid(f"{path}: Invalid value: {_shown(value)}: must be greater than 0")
    if maximum and q > maximum:
        raise Invalid(f"{path}: Invalid value: {_shown(value)}: must be less than or equal to {maximum}{unit}")
    return int(q)


def vmi_spec(spec, path: str, machine_limits=None, gates=None) -> None:
    """`gates`: the feature gates in effect (kvconfig; None: the operator's only, no KubeVirt object)."""
    dom = spec.domain
    d = f"{path}.domain"
    for field, items in ((f"{d}.devices.disks", dom.devices.disks),
                         (f"{d}.devices.interfaces", dom.devices.interfaces),
                         (f"{path}.networks", spec.networks), (f"{path}.volumes", spec.volumes)):
        if len(items) > LIST_MAX:
            raise Invalid(f"{field}: Too many: {len(items)}: must have at most {LIST_MAX} items")
    mem = None
    if dom.memory.guest:
        mem = _quantity(dom.memory.guest, f"{d}.memory.guest")
    for section in ("requests", "limits"):
        for res, value in getattr(dom.resources, section).items():
            _qualified_name(res, f"{d}.resources.{section}")   # Kubernetes' validateResourceName
            # A vCPU count a domain cannot be defined with is refused here, not by every later default.
            # `requests.memory` as KubeVirt writes it; `requests[kubevirt.io/x]` for a key a dot would split.
            where = f"{d}.resources.{section}" + (f".{res}" if _PLAIN_KEY.match(res) else f"[{res}]")
            q = (_quantity(value, where, maximum=machines.MAX_DOMAIN_VCPUS, unit=" (vCPUs)") if res == "cpu"
                 else _quantity(value, where))
            if section == "requests" and res == "memory" and mem is None:
                mem = q
    if mem is None:
        raise Invalid(f"{d}.resources.requests.memory: Required value: no memory requested, at least "
                      f"one of '{d}.memory.guest' or '{d}.resources.requests.memory' must be set")
    if mem < 1 << 20:
        raise Invalid(f"{d}.memory.guest: Invalid value: {mem}: memory must be at least 1Mi")

    volumes = {}
    for i, v in enumerate(spec.volumes):
        vp = f"{path}.volumes[{i}]"
        _name(v.name, f"{vp}.name", label=True)
        if v.name in volumes:
            raise Invalid(f'{vp}.name: Duplicate value: "{v.name}"')
        sources = [f.name for f, _ in v.ListFields() if f.name != "name"]
        if len(sources) != 1:
            raise Invalid(f"{vp}: must have exactly one volume source, got {len(sources)}"
                          + (f" ({', '.join(sources)})" if sources else ""))
        if v.HasField("containerDisk") and not v.containerDisk.image:
            raise Invalid(f"{vp}.containerDisk.image: Required value")
        if v.HasField("hostDisk"):
            if not v.hostDisk.path:
                raise Invalid(f"{vp}.hostDisk.path: Required value")
            if v.hostDisk.type not in ("Disk", "DiskOrCreate"):
                raise Invalid(f'{vp}.hostDisk.type: Unsupported value: "{v.hostDisk.type}": '
                              'supported values: "Disk", "DiskOrCreate"')
            if v.hostDisk.capacity:
                _quantity(v.hostDisk.capacity, f"{vp}.hostDisk.capacity")
        if v.HasField("emptyDisk"):
            _quantity(v.emptyDisk.capacity, f"{vp}.emptyDisk.capacity")
        if v.HasField("persistentVolumeClaim") and not v.persistentVolumeClaim.claimName:
            raise Invalid(f"{vp}.persistentVolumeClaim.claimName: Required value")
        if v.HasField("dataVolume") and not v.dataVolume.name:
            raise Invalid(f"{vp}.dataVolume.name: Required value")
        volumes[v.name] = v

    seen = set()
    for i, disk in enumerate(dom.devices.disks):
        dp = f"{d}.devices.disks[{i}]"
        _name(disk.name, f"{dp}.name", label=True)
        if disk.name in seen:
            raise Invalid(f'{dp}.name: Duplicate value: "{disk.name}"')
        seen.add(disk.name)
        if disk.name not in volumes:
            raise Invalid(f"{dp}.name: {disk.name} must have a matching volume")
        targets = [t for t in ("disk", "cdrom", "lun") if disk.HasField(t)]
        if len(targets) > 1:
            raise Invalid(f"{dp}: should have only one of disk, cdrom or lun, got {', '.join(targets)}")
        for t in targets:
            bus = getattr(disk, t).bus
            if bus and bus not in DISK_BUSES:
                raise Invalid(f'{dp}.{t}.bus: Unsupported value: "{bus}": supported values: '
                              + ", ".join(f'"{b}"' for b in DISK_BUSES))
        if disk.cache and disk.cache not in DISK_CACHES:
            raise Invalid(f"{dp}.cache: Unsupported value: {_shown(disk.cache)}: supported values: "
                          + _supported(DISK_CACHES))
        if disk.io and disk.io not in DISK_IO:
            raise Invalid(f"{dp}.io: Unsupported value: {_shown(disk.io)}: Disk IO mode for {path} is not "
                          "supported. Supported modes are: native, threads.")
        if disk.serial:
            _too_long(disk.serial, f"{dp}.serial", SERIAL_MAX)
            if not _SERIAL.match(disk.serial):
                raise Invalid(f"{dp}.serial: {dp} must be made up of the following characters [A-Za-z0-9_.+-], "
                              "if specified")
        if disk.HasField("bootOrder") and disk.bootOrder < 1:
            raise Invalid(f"{dp}.bootOrder: Invalid value: {disk.bootOrder}: must be greater than 0")

    networks = {}
    for i, n in enumerate(spec.networks):
        _name(n.name, f"{path}.networks[{i}].name")
        if n.name in networks:
            raise Invalid(f'{path}.networks[{i}].name: Duplicate value: "{n.name}"')
        networks[n.name] = n
    seen_ifaces = set()
    for i, iface in enumerate(dom.devices.interfaces):
        ip = f"{d}.devices.interfaces[{i}]"
        if iface.name in seen_ifaces:
            raise Invalid(f'{ip}.name: Duplicate value: "{iface.name}"')
        seen_ifaces.add(iface.name)
        if iface.name not in networks:
            raise Invalid(f"{ip}.name: Invalid value: \"{iface.name}\": no matching network in "
                          f"{path}.networks")
        interface_state(iface, networks[iface.name], f"{ip}.state")
        bindings = [b for b in ("bridge", "masquerade", "slirp") if iface.HasField(b)]
        if len(bindings) > 1:
            raise Invalid(f"{ip}: Invalid value: only one binding method may be set, got {', '.join(bindings)}")
        if bindings and bindings[0] in ("masquerade", "slirp") and not networks[iface.name].HasField("pod"):
            raise Invalid(f"{ip}.{bindings[0]}: {bindings[0]} binding is only supported on the pod network")
        if iface.macAddress and not _MAC.match(iface.macAddress):
            raise Invalid(f"{ip}.macAddress: interface {iface.name} has malformed MAC address ({iface.macAddress}).")

    if spec.HasField("terminationGracePeriodSeconds") and spec.terminationGracePeriodSeconds < 0:
        raise Invalid(f"{path}.terminationGracePeriodSeconds: Invalid value: "
                      f"{spec.terminationGracePeriodSeconds}: must be greater than or equal to 0")
    if dom.firmware.serial:  # beyond KubeVirt: it goes into the domain XML (SMBIOS), which cannot carry \0
        _too_long(dom.firmware.serial, f"{d}.firmware.serial", SERIAL_MAX)
        if not dom.firmware.serial.isprintable():
            raise Invalid(f"{d}.firmware.serial: Invalid value: {_shown(dom.firmware.serial)}: must consist of "
                          "printable characters")
    kb = dom.firmware.kernelBoot
    if dom.firmware.HasField("kernelBoot") and kb.HasField("container"):
        if not kb.container.image:
            raise Invalid(f"{d}.firmware.kernelBoot.container.image: Required value")
        if not kb.container.kernelPath and not kb.container.initrdPath:
            raise Invalid(f"{d}.firmware.kernelBoot.container: at least one of kernelPath or "
                          "initrdPath must be set")
    if spec.architecture and spec.architecture not in ("amd64", "arm64", "s390x", "ppc64le"):
        raise Invalid(f'{path}.architecture: Unsupported value: "{spec.architecture}"')
    machine_type(spec, path)
    if (spec.architecture or common_arch.host_arch()) == "arm64":
        arm64(spec, path)
    cpu(spec, path, machine_limits)
    # The rest of KubeVirt's schema: checked, or refused as not supported, every cause at once.
    vmispec.admit(spec, path, spec.architecture or common_arch.host_arch(), _gates(gates))


def _gates(gates):
    return kvconfig.ClusterConfig().gates() if gates is None else gates


def interface_state(iface, net, path: str) -> None:
    """KubeVirt's validateInterfaceStateValue (admitter), on `...interfaces[i].state`. Its SR-IOV
    rule has no binding here to apply to."""
    if iface.state not in INTERFACE_STATES:
        raise Invalid(f"{path}: logical {iface.name} interface state value is unsupported: {iface.state}")
    if iface.state == "absent" and network.binding(iface) != "bridge":
        raise Invalid(f'{path}: "{iface.name}" interface\'s state "absent" is supported only for bridge binding')
    if iface.state == "absent" and network.is_default_network(net):
        raise Invalid(f'{path}: "{iface.name}" interface\'s state "absent" is not supported on default networks')


def machine_type(spec, path: str) -> None:
    """validateEmulatedMachine: the machine type must match the arch's emulated-machine globs."""
    mt = spec.domain.machine.type
    a = spec.architecture or common_arch.host_arch()
    globs = machines.EMULATED_MACHINES.get(a)
    if mt and globs is not None and not machines.emulated(a, mt):
        raise Invalid(f"{path}.domain.machine.type is not supported: {mt} (allowed values: [{' '.join(globs)}])")


def arm64(spec, path: str) -> None:
    """ValidateVirtualMachineInstanceArm64Setting (pkg/virt-api/webhooks/arm64.go)."""
    d = f"{path}.domain"
    bl = spec.domain.firmware.bootloader
    if spec.domain.firmware.HasField("bootloader"):
        if bl.HasField("bios"):
            raise Invalid(f"{d}.firmware.bootloader.bios: Arm64 does not support bios boot, please change to uefi boot")
        if bl.HasField("efi") and (not bl.efi.HasField("secureBoot") or bl.efi.secureBoot):
            raise Invalid(f"{d}.firmware.bootloader.efi.secureboot: UEFI secure boot is currently not "
                          "supported on aarch64 Arch")
    model = spec.domain.cpu.model
    if model and model != ARM64_CPU_MODEL:
        raise Invalid(f"{d}.cpu.model: currently, {ARM64_CPU_MODEL} is the only model supported on Arm64")
    for i, disk in enumerate(spec.domain.devices.disks):
        for t in ("disk", "cdrom", "lun"):
            if disk.HasField(t) and getattr(disk, t).bus not in ARM64_DISK_BUSES:
                raise Invalid(f"{d}.devices.disks[{i}].{t}.bus: Arm64 not support this disk bus type, "
                              "please use virtio or scsi")


def cpu(spec, path: str, machine_limits=None) -> None:
    """validateCPUHotplug, plus (beyond KubeVirt) the machine type's vCPU limit on the nodes."""
    c = spec.domain.cpu
    d = f"{path}.domain.cpu"
    sockets, cores, threads = c.sockets or 1, c.cores or 1, c.threads or 1
    for field, n in (("sockets", sockets), ("maxSockets", c.maxSockets)):
        if n * cores * threads > machines.MAX_DOMAIN_VCPUS:
            raise Invalid(f"{d}.{field}: Invalid value: {n}: {n * cores * threads} vCPUs ({field} {n} x cores "
                          f"{cores} x threads {threads}), more than any domain can have "
                          f"({machines.MAX_DOMAIN_VCPUS})")
    if c.maxSockets and c.sockets > c.maxSockets:
        raise Invalid(f"{d}.sockets: Number of sockets in CPU topology is greater than the maximum sockets allowed")
    # A VM's template is not defaulted: judge it with the machine type its VMIs will get.
    mt = spec.domain.machine.type or common_arch.DEFAULT_MACHINE.get(spec.architecture or common_arch.host_arch(), "")
    limit = machine_limits(mt) if (machine_limits and mt) else 0
    if not limit:
        return
    vcpus = sockets * cores * threads
    if vcpus > limit:
        raise Invalid(f"{d}: Invalid value: {vcpus} vCPUs (sockets {sockets} x cores {cores} x threads "
                      f"{threads}): machine type {mt} supports at most {limit} vCPUs on the nodes offering it")
    if c.maxSockets and machines.domain_vcpus(spec) > limit:
        raise Invalid(f"{d}.maxSockets: Invalid value: {c.maxSockets}: CPU hotplug up to "
                      f"{c.maxSockets * cores * threads} vCPUs (maxSockets {c.maxSockets} x cores {cores} x "
                      f"threads {threads}), but machine type {mt} supports at most {limit} vCPUs on the nodes "
                      "offering it")


def vm(res, machine_limits=None, gates=None) -> None:
    spec = res.spec
    run_strategy(spec)
    if not spec.HasField("template"):
        raise Invalid("spec.template: Required value: missing virtual machine template")
    # The template's labels and annotations become the VMI's: judged here, not when the controller
    # creates the VMI (refused then, on every sync, with the VM accepted).
    labels_annotations(spec.template.metadata, "spec.template.metadata")
    vmi_spec(spec.template.spec, "spec.template.spec", machine_limits, gates)
    vmispec.vm_spec(spec)
    data_volume_templates(res)


def run_strategy(spec) -> None:
    if spec.HasField("running") and spec.HasField("runStrategy"):
        raise Invalid("spec.running: Running and RunStrategy are mutually exclusive")
    if spec.HasField("runStrategy") and spec.runStrategy not in RUN_STRATEGIES:
        raise Invalid(f'spec.runStrategy: Unsupported value: "{spec.runStrategy}": supported values: '
                      + ", ".join(f'"{s}"' for s in RUN_STRATEGIES))


def size(obj: proto.api.Object) -> None:
    """Kubernetes' (etcd's) limit on a stored object, naming the field that weighs most."""
    n = obj.ByteSize()
    if n > OBJECT_MAX:
        raise Invalid(f"{_heaviest(proto.inner(obj))}: Too long: the object would be {n} bytes, more than "
                      f"the {OBJECT_MAX} (1.5 MiB) an object may have")


def _fields(msg, path: str):
    """(path, value) of every set field of `msg`, one level down (map entries and list items apart)."""
    for f, v in msg.ListFields():
        p = f"{path}.{f.json_name}" if path else f.json_name
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            yield from ((f"{p}[{k}]", v[k]) for k in v)
        elif f.is_repeated:
            yield from ((f"{p}[{i}]", x) for i, x in enumerate(v))
        else:
            yield p, v


def _weight(value) -> int:
    return value.ByteSize() if hasattr(value, "ByteSize") else len(str(value).encode())


def _heaviest(msg, path: str = "") -> str:
    while hasattr(msg, "ListFields"):
        fields = list(_fields(msg, path))
        if not fields:
            break
        path, msg = max(fields, key=lambda pv: _weight(pv[1]))
    return path or "object"


# C0 controls other than tab, newline and carriage return: libvirt's XML (and most tools reading a
# spec) cannot carry them; refused anywhere in a VM's or VMI's spec.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(msg, path: str) -> None:
    for p, v in _fields(msg, path):
        if isinstance(v, str):
            m = _CONTROL.search(v)
            if m:
                raise Invalid(f"{p}: Invalid value: {_shown(repr(v)[1:-1])}: must not contain control "
                              f"characters (found {m.group()!r} at {m.start()})")
        elif hasattr(v, "ListFields"):
            text(v, p)


def validate(obj: proto.api.Object, machine_limits=None, gates=None) -> None:
    """`machine_limits(machine) -> max vCPUs` (0 unknown); None skips the vCPU-limit check. `gates`: the
    feature gates in effect (kvconfig.Gates; None: the operator's only, as if no KubeVirt object)."""
    kind = proto.kind_of(obj)
    res = proto.inner(obj)
    size(obj)
    metadata(res.metadata, proto.namespaced(kind))
    if kind in (proto.VM, proto.VMI):
        text(res.spec, "spec")
    if kind == proto.VM:
        vm(res, machine_limits, gates)
    elif kind == proto.VMI:
        vmi_spec(res.spec, "spec", machine_limits, gates)
    elif kind == proto.PVC:
        pvc(res)
    elif kind == proto.DV:
        data_volume(res)
    elif kind == proto.EVENT:
        from services.api import events   # its own module: the api side of core/v1 Events
        events.validate(res)
    hostpaths.admit(obj, _gates(gates), Invalid)   # host paths and import sources a manifest may name


# ---------------------------------------------------------------- storage: PersistentVolumeClaim, DataVolume

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Filesystem",)      # our volumes are file-backed images; no Block
PVC_IMMUTABLE = ("spec is immutable after creation except resources.requests and volumeAttributesClassName "
                 "for bound claims")
HTTP_SCHEMES = ("file", "http", "https")


def _supported(values) -> str:
    return ", ".join(f'"{v}"' for v in values)


def claim_spec(spec, path: str, access_modes_required: bool = True, size_required: bool = True) -> None:
    """ValidatePersistentVolumeClaimSpec's messages (CDI's `storage` API may leave accessModes empty, and
    the size of a clone, which is then the source's)."""
    if access_modes_required and not spec.accessModes:
        raise Invalid(f"{path}.accessModes: Required value")
    for mode in spec.accessModes:
        if mode not in ACCESS_MODES:
            raise Invalid(f'{path}.accessModes: Unsupported value: "{mode}": supported values: '
                          + _supported(ACCESS_MODES))
    if "ReadWriteOncePod" in spec.accessModes and len(spec.accessModes) > 1:
        raise Invalid(f"{path}.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes")
    size = spec.resources.requests.get("storage")
    if not size and size_required:
        raise Invalid(f"{path}.resources.requests[storage]: Required value")
    if size:
        _quantity(size, f"{path}.resources.requests[storage]")
    if spec.HasField("volumeMode") and spec.volumeMode not in VOLUME_MODES:
        raise Invalid(f'{path}.volumeMode: Unsupported value: "{spec.volumeMode}": supported values: '
                      + _supported(VOLUME_MODES))


def pvc(res) -> None:
    claim_spec(res.spec, "spec")


def data_volume(res, path: str = "spec") -> None:
    """A DataVolume's spec (`path`: where it sits, e.g. a VM's `spec.dataVolumeTemplates[0].spec`)."""
    spec = res.spec
    src = spec.source
    kinds = [f.name for f, _ in src.ListFields()] if spec.HasField("source") else []
    if not kinds:
        raise Invalid(f"{path}.source: Required value: exactly one of http, blank or pvc")
    if len(kinds) > 1:
        raise Invalid(f"{path}.source: Invalid value: Multiple Data volume sources ({', '.join(kinds)}): "
                      "exactly one of http, blank or pvc")
    if src.HasField("http"):
        url = src.http.url
        if not url:
            raise Invalid(f"{path}.source.http.url: Required value")
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if not (url.startswith("/") or scheme in HTTP_SCHEMES):
            raise Invalid(f'{path}.source.http.url: Invalid value: "{url}": Invalid source URL: the scheme must '
                          "be file, http or https (or an absolute path)")
    if src.HasField("pvc"):
        if not src.pvc.name:
            raise Invalid(f"{path}.source.pvc.name: Required value")
        if src.pvc.namespace:
            _name(src.pvc.namespace, f"{path}.source.pvc.namespace", label=True)
    if spec.contentType and spec.contentType not in ("kubevirt", "archive"):
        raise Invalid(f'{path}.contentType: Unsupported value: "{spec.contentType}": supported values: '
                      '"kubevirt", "archive"')
    has_pvc, has_storage = spec.HasField("pvc"), spec.HasField("storage")
    if has_pvc and has_storage:
        raise Invalid(f"{path}: Invalid value: Data volume should have either PVC or Storage, not both")
    if not (has_pvc or has_storage):
        raise Invalid(f"{path}.storage: Required value: Data volume should have either PVC or Storage")
    if has_pvc:
        claim_spec(spec.pvc, f"{path}.pvc")
    else:
        claim_spec(spec.storage, f"{path}.storage", access_modes_required=False,
                   size_required=not src.HasField("pvc"))   # CDI sizes a clone like its source


def _template_causes(spec, i: int) -> list[tuple[str, str]]:
    """KubeVirt's validateDataVolume and the volume reference check of ValidateDataVolumeTemplate for
    template `i`, with its texts and field paths (`spec.dataVolumeTemplate[i]`, singular, and
    `.PVC.Storage`, as virt-api writes them): the first problem of the template only, as there."""
    t = spec.dataVolumeTemplates[i]
    field = f"spec.dataVolumeTemplate[{i}]"
    if not t.metadata.name:
        return [(f"{field}.name", f"'name' field must not be empty for DataVolumeTemplate entry {field}.name.")]
    has_pvc, has_storage = t.spec.HasField("pvc"), t.spec.HasField("storage")
    if not (has_pvc or has_storage):
        return [(f"{field}.PVC.Storage", "Missing Data volume PVC or Storage")]
    if has_pvc and has_storage:
        return [(f"{field}.PVC.Storage", "Duplicate storage definition, both target storage and target pvc defined")]
    if not t.spec.HasField("source"):   # no sourceRef and no external population in this schema
        return [(f"{field}.source.sourceRef", "Data volume should have either Source, SourceRef, or be externally "
                                              "populated")]
    sources = len(t.spec.source.ListFields())
    if sources != 1:
        return [(f"{field}.source", "Missing dataVolume valid source" if sources == 0
                 else "Multiple dataVolume sources")]
    if not any(claim_name(v) == t.metadata.name for v in spec.template.spec.volumes):
        return [(field, f"DataVolumeTemplate entry {field} must be referenced in the VMI template's 'volumes' list")]
    return []


def data_volume_templates(res) -> None:
    """A VM's `spec.dataVolumeTemplates`, every cause at once: KubeVirt's ValidateDataVolumeTemplate and
    validateVirtualMachineDataVolumeTemplateNamespace, then what CDI's webhook would refuse when the
    controller creates the DataVolume (its name, labels, source and claim), judged here so that a VM is
    never accepted with a DataVolume that cannot be made. Template names are unique: two templates of
    one name would be one DataVolume."""
    spec = res.spec
    ns = res.metadata.namespace or "default"
    causes: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, t in enumerate(spec.dataVolumeTemplates):
        kv = _template_causes(spec, i)
        if kv:
            causes += kv
            continue
        at = f"spec.dataVolumeTemplates[{i}]"
        if t.metadata.namespace and t.metadata.namespace != ns:
            causes.append((at, f"Embedded DataVolume namespace {t.metadata.namespace} differs from VM namespace {ns}"))
            continue
        if t.metadata.name in seen:
            causes.append((f"{at}.metadata.name", f'Duplicate value: "{t.metadata.name}"'))
            continue
        seen.add(t.metadata.name)
        try:
            _name(t.metadata.name, f"{at}.metadata.name")
            labels_annotations(t.metadata, f"{at}.metadata")
            data_volume(t, f"{at}.spec")
        except Invalid as e:
            where, _, text = str(e).partition(": ")
            causes.append((where, text))
    if causes:
        raise Invalid("; ".join(f"{f}: {t}" for f, t in causes), tuple(causes))


def _bound(res) -> bool:
    return res.status.phase == "Bound"


def update(kind: int, old, new) -> None:
    """Spec changes the storage kinds forbid (after defaulting). `old`/`new` are the resources."""
    if kind == proto.PVC and old.spec != new.spec:
        before, after = proto.copy(old.spec), proto.copy(new.spec)
        if not before.volumeName:  # binding sets spec.volumeName once (as Kubernetes allows)
            before.volumeName = after.volumeName
        old_size = before.resources.requests.get("storage", "")
        new_size = after.resources.requests.get("storage", "")
        if _bound(old) and old_size != new_size:
            if quantity.parse(new_size) < quantity.parse(old_size):
                raise Invalid("spec.resources.requests.storage: Forbidden: field can not be less than "
                              "previous value")
            after.resources.requests["storage"] = old_size   # a bound claim may grow
        if before != after:
            raise Invalid(f"spec: Forbidden: {PVC_IMMUTABLE}")
    elif kind == proto.DV and old.spec != new.spec:
        raise Invalid("spec: Forbidden: DataVolume spec is immutable after creation")
