"""Validation on create/update (KubeVirt's validating admitters). Every error names its field."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid

from services.api import vmispec
from services.api.errors import Causes, Invalid
from services.common import arch as common_arch, names
from services.common import domain, hostpaths, kvconfig, machines, network, proto, quantity
from services.common.volumes import CLAIM_BOUND, CLOUD_INIT_PROPAGATION, CLOUD_INIT_SOURCES, claim_name

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SERIAL_MAX = 256  # KubeVirt's maxStrLen for serials
LIST_MAX = 256    # KubeVirt's arrayLenMax (its CRD's maxItems) for disks, interfaces, networks, volumes
_SERIAL = re.compile(r"^[A-Za-z0-9_.+-]+$")
HOST_DISK_TYPES = ("Disk", "DiskOrCreate")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_QUALIFIED = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
OBJECT_MAX = 3 * 512 * 1024  # bytes: Kubernetes' 1.5 MiB (etcd's request limit)
SHOWN_MAX = 256               # of a value echoed in a message
ANNOTATIONS_MAX = 256 * 1024  # Kubernetes' TotalAnnotationSizeLimitB
CLOUD_INIT_DATA_MAX = 2048    # bytes of user data, and of network data (KubeVirt's limits)
_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


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
    """Every check of a VMI spec (`spec`, or a VM's `spec.template.spec` at `path`), by area, every cause
    at once with its field path (KubeVirt's StatusCauses). The launcher's converter checks none of this
    again: it refuses only what its node lacks. `gates`: the feature gates in effect (kvconfig; None: the
    operator's only, no KubeVirt object)."""
    causes = Causes()
    gates = _gates(gates)
    a = architecture(spec, path, causes)
    list_lengths(spec, path, causes)
    memory(spec, path, causes)
    resources(spec, path, causes)
    volumes = spec_volumes(spec, path, causes)
    access_credentials(spec, path, causes)
    disks(spec, path, a, volumes, gates, causes)
    interfaces(spec, path, causes)
    inputs(spec, path, causes)
    boot_orders(spec, path, causes)
    firmware(spec, path, a, causes)
    if a is not None:
        machine_type(spec, path, a, causes)
        platform(spec, path, a, causes)
        cpu(spec, path, a, machine_limits, causes)
    if spec.HasField("terminationGracePeriodSeconds") and spec.terminationGracePeriodSeconds < 0:
        causes.add(f"{path}.terminationGracePeriodSeconds", f"Invalid value: {spec.terminationGracePeriodSeconds}: "
                                                            "must be greater than or equal to 0")
    # The rest of KubeVirt's schema: checked, or refused as not supported.
    vmispec.admit(spec, path, a, gates, causes)
    causes.check()


def _gates(gates):
    return kvconfig.ClusterConfig().gates() if gates is None else gates


def _on(features, name: str) -> bool:
    """A FeatureState that is set and on (set means enabled unless `enabled: false`)."""
    if not features.HasField(name):
        return False
    state = getattr(features, name)
    return not state.HasField("enabled") or state.enabled


def _off(features, name: str) -> bool:
    """A FeatureState set with `enabled: false`."""
    return features.HasField(name) and getattr(features, name).HasField("enabled") \
        and not getattr(features, name).enabled


# ---------------------------------------------------------------- architecture, sizes, memory, resources

def architecture(spec, path: str, causes: Causes):
    """The spec's row of the arch table (unset: this host's arch), or None when no launcher runs it."""
    name = spec.architecture or common_arch.host_arch()
    a = common_arch.get(name)
    if a is None or not a.runs:
        causes.add(f"{path}.architecture", f"Unsupported value: {_shown(name)}: supported values: "
                                           + _supported(common_arch.GUEST_ARCHS))
        return None
    return a


def list_lengths(spec, path: str, causes: Causes) -> None:
    dom = spec.domain
    for field, items in ((f"{path}.domain.devices.disks", dom.devices.disks),
                         (f"{path}.domain.devices.interfaces", dom.devices.interfaces),
                         (f"{path}.networks", spec.networks), (f"{path}.volumes", spec.volumes)):
        if len(items) > LIST_MAX:
            causes.add(field, f"Too many: {len(items)}: must have at most {LIST_MAX} items")


def memory(spec, path: str, causes: Causes) -> None:
    """memory.guest or resources.requests.memory: one of them, valid, at least 1Mi (guest wins)."""
    dom = spec.domain
    d = f"{path}.domain"
    requested = dom.resources.requests.get("memory", "")
    guest = causes.run(_quantity, dom.memory.guest, f"{d}.memory.guest") if dom.memory.guest else None
    req = causes.run(_quantity, requested, f"{d}.resources.requests.memory") if requested else None
    if not dom.memory.guest and not requested:
        causes.add(f"{d}.resources.requests.memory", f"Required value: no memory requested, at least one of "
                                                     f"'{d}.memory.guest' or '{d}.resources.requests.memory' "
                                                     "must be set")
    mem = guest if dom.memory.guest else req
    if mem is not None and mem < 1 << 20:
        causes.add(f"{d}.memory.guest", f"Invalid value: {mem}: memory must be at least 1Mi")


def resources(spec, path: str, causes: Causes) -> None:
    d = f"{path}.domain.resources"
    for section in ("requests", "limits"):
        for res, value in getattr(spec.domain.resources, section).items():
            causes.run(_qualified_name, res, f"{d}.{section}")   # Kubernetes' validateResourceName
            if section == "requests" and res == "memory":
                continue   # memory() judged it
            # A vCPU count a domain cannot be defined with is refused here, not by every later default.
            # `requests.cpu` as KubeVirt writes it; `requests[kubevirt.io/x]` for a key a dot would split.
            where = f"{d}.{section}" + (f".{res}" if _PLAIN_KEY.match(res) else f"[{res}]")
            if res == "cpu":
                causes.run(_quantity, value, where, maximum=machines.MAX_DOMAIN_VCPUS, unit=" (vCPUs)")
            else:
                causes.run(_quantity, value, where)


# ---------------------------------------------------------------- volumes and disks

def spec_volumes(spec, path: str, causes: Causes) -> dict:
    volumes: dict[str, proto.kv.Volume] = {}
    for i, v in enumerate(spec.volumes):
        vp = f"{path}.volumes[{i}]"
        causes.run(_name, v.name, f"{vp}.name", label=True)
        if v.name in volumes:
            causes.add(f"{vp}.name", f'Duplicate value: "{v.name}"')
        sources = [f.name for f, _ in v.ListFields() if f.name != "name"]
        if len(sources) != 1:
            causes.add(vp, f"must have exactly one volume source, got {len(sources)}"
                           + (f" ({', '.join(sources)})" if sources else ""))
        if v.HasField("containerDisk") and not v.containerDisk.image:
            causes.add(f"{vp}.containerDisk.image", "Required value")
        if v.HasField("hostDisk"):
            if not v.hostDisk.path:
                causes.add(f"{vp}.hostDisk.path", "Required value")
            if v.hostDisk.type not in HOST_DISK_TYPES:
                causes.add(f"{vp}.hostDisk.type", f'Unsupported value: "{v.hostDisk.type}": supported values: '
                                                  + _supported(HOST_DISK_TYPES))
            if v.hostDisk.capacity:
                causes.run(_quantity, v.hostDisk.capacity, f"{vp}.hostDisk.capacity")
        if v.HasField("emptyDisk"):
            causes.run(_quantity, v.emptyDisk.capacity, f"{vp}.emptyDisk.capacity")
        if v.HasField("persistentVolumeClaim") and not v.persistentVolumeClaim.claimName:
            causes.add(f"{vp}.persistentVolumeClaim.claimName", "Required value")
        if v.HasField("dataVolume") and not v.dataVolume.name:
            causes.add(f"{vp}.dataVolume.name", "Required value")
        if v.HasField("configMap") and not v.configMap.name:
            causes.add(f"{vp}.configMap.name", "Required value")
        if v.HasField("secret") and not v.secret.secretName:
            causes.add(f"{vp}.secret.secretName", "Required value")
        for kind in CLOUD_INIT_SOURCES:
            if v.HasField(kind):
                cloud_init(getattr(v, kind), f"{vp}.{kind}", causes)
        volumes.setdefault(v.name, v)
    return volumes


def _decoded_length(b64: str, path: str, causes: Causes) -> int:
    try:
        return len(base64.b64decode(b64, validate=True))
    except binascii.Error:
        causes.add(path, "is not a valid base64 value.")
        return 0


# Per kind of cloud-init data: its raw field (+"Base64"), its Secret reference, and KubeVirt's words for both.
_CLOUD_INIT_DATA = (
    ("userData", "secretRef", "userdatasource", "userdata", "UserDataSecretRef"),
    ("networkData", "networkDataSecretRef", "networkdata source", "networkdata", "NetworkDataSecretRef"))


def cloud_init(src, path: str, causes: Causes) -> None:
    """KubeVirt's cloud-init checks: one source each for user and network data, each within its limit,
    and at least one of the two."""
    total = 0
    for field, ref, source_word, data_word, ref_word in _CLOUD_INIT_DATA:
        raw, b64 = getattr(src, field), getattr(src, f"{field}Base64")
        sources = sum((bool(raw), bool(b64), src.HasField(ref) and bool(getattr(src, ref).name)))
        if raw:
            length = len(raw.encode())
        else:
            length = _decoded_length(b64, f"{path}.{field}Base64", causes) if b64 else 0
        if sources > 1:
            causes.add(path, f"must have only one {source_word} set.")
        if length > CLOUD_INIT_DATA_MAX:
            causes.add(path, f"{data_word} exceeds {CLOUD_INIT_DATA_MAX} byte limit. Should use {ref_word} for "
                             "larger data.")
        total += sources
    if not total:
        causes.add(path, "must have at least one userdatasource or one networkdatasource set.")


def access_credentials(spec, path: str, causes: Causes) -> None:
    """KubeVirt's validateAccessCredentials: one credential type each, one source, one propagation method,
    and the cloud-init volume a noCloud or configDrive propagation writes the keys into."""
    has = {kind: any(v.HasField(kind) for v in spec.volumes) for kind in CLOUD_INIT_SOURCES}
    for i, cred in enumerate(spec.accessCredentials):
        at = f"{path}.accessCredentials[{i}]"
        kinds = [k for k in ("sshPublicKey", "userPassword") if cred.HasField(k)]
        for kind in kinds:
            c = getattr(cred, kind)
            if not (c.source.HasField("secret") and c.source.secret.secretName):
                causes.add(f"{at}.{kind}.source", f"{at} must have exactly one source set")
            methods = [f.name for f, _ in c.propagationMethod.ListFields()]
            for method, volume_kind in CLOUD_INIT_PROPAGATION.items():
                if method in methods and not has[volume_kind]:
                    causes.add(f"{at}.{kind}.propagationMethod", f"{at} requires a {method} volume to exist when the "
                                                                 f"{method} propagationMethod is in use.")
            if len(methods) != 1:
                causes.add(f"{at}.{kind}.propagationMethod", f"{at} must have exactly one propagationMethod set")
        if len(kinds) != 1:
            causes.add(at, f"{at} must have exactly one access credential type set")


def disks(spec, path: str, a, volumes: dict, gates, causes: Causes) -> None:
    """validateDisks, with arm64.go's bus rule by the arch table: names, targets, buses, cache and IO
    modes, serials, trays, PCI addresses, error policies, block sizes, LUN reservations."""
    seen = set()
    for i, disk in enumerate(spec.domain.devices.disks):
        dp = f"{path}.domain.devices.disks[{i}]"
        causes.run(_name, disk.name, f"{dp}.name", label=True)
        if disk.name in seen:
            causes.add(f"{dp}.name", f'Duplicate value: "{disk.name}"')
        seen.add(disk.name)
        if disk.name not in volumes:
            causes.add(f"{dp}.name", f"{disk.name} must have a matching volume")
        targets = [t for t in domain.DISK_TARGETS if disk.HasField(t)]
        if len(targets) > 1:
            causes.add(dp, f"should have only one of disk, cdrom or lun, got {', '.join(targets)}")
        kind = domain.disk_kind(disk)
        bus = disk_bus(disk, kind, dp, a, causes)
        if disk.cache and disk.cache not in domain.DISK_CACHES:
            causes.add(f"{dp}.cache", f"{dp}.cache has invalid value {_shown(disk.cache)[1:-1]}")
        if disk.io and disk.io not in domain.DISK_IO_MODES:
            causes.add(f"{dp}.io", f"Disk IO mode for {path} is not supported. Supported modes are: native, threads.")
        elif disk.io == domain.IO_NATIVE and disk.cache and disk.cache != domain.CACHE_NONE:
            # QEMU's native AIO needs O_DIRECT: the host page cache must be off.
            causes.add(f"{dp}.io", f'"native" needs cache "{domain.CACHE_NONE}" (got "{disk.cache}")')
        if disk.serial:
            if len(disk.serial.encode()) > SERIAL_MAX:   # Kubernetes' field.TooLong: the value is not echoed
                causes.add(f"{dp}.serial", f"Too long: may not be more than {SERIAL_MAX} bytes")
            elif not _SERIAL.match(disk.serial):
                causes.add(f"{dp}.serial", f"{dp} must be made up of the following characters [A-Za-z0-9_.+-], "
                                           "if specified")
        if kind == "cdrom" and disk.cdrom.tray and disk.cdrom.tray not in domain.CDROM_TRAYS:
            causes.add(f"{dp}.cdrom.tray", f"Unsupported value: {_shown(disk.cdrom.tray)}: supported values: "
                                           + _supported(domain.CDROM_TRAYS))
        if kind == "disk" and disk.disk.pciAddress:   # validatePciAddress
            if bus and bus != "virtio":
                causes.add(f"{dp}.disk.pciAddress", f"disk {dp}.name - setting a PCI address is only possible with "
                                                    "bus type virtio.")
            if domain.pci_address(disk.disk.pciAddress) is None:
                causes.add(f"{dp}.disk.pciAddress", f"disk {dp}.name has malformed PCI address "
                                                    f"({_shown(disk.disk.pciAddress)[1:-1]}).")
        if disk.HasField("errorPolicy") and disk.errorPolicy not in domain.DISK_ERROR_POLICIES:
            causes.add(f"{dp}.errorPolicy", f'{dp}.errorPolicy has invalid value "{disk.errorPolicy}"')
        block_size(disk, dp, causes)
        if kind == "lun" and disk.lun.reservation and domain.PERSISTENT_RESERVATION_GATE not in gates:
            causes.add(f"{path}.domain.devices.disks.luns.reservation",
                       f"{domain.PERSISTENT_RESERVATION_GATE} feature gate is not enabled in kubevirt-config")


def disk_bus(disk, kind: str, dp: str, a, causes: Causes) -> str:
    """validateBusSupport, and arm64.go's rule by the arch table: the bus the disk gets (the arch's
    default when none is asked for; "" when refused)."""
    asked = getattr(disk, kind).bus if disk.HasField(kind) else ""
    where = f"{dp}.{kind}.bus"
    if asked == domain.IDE_BUS:
        causes.add(where, "IDE bus is not supported")
        return ""
    if asked and asked not in domain.DISK_BUSES:
        causes.add(where, f"{dp} is set with an unrecognized bus {_shown(asked)[1:-1]}, must be one of: "
                          f"[{' '.join(domain.DISK_BUSES)}]")
        return ""
    if kind == "cdrom" and asked and asked not in domain.CDROM_BUSES:
        causes.add(where, f"Bus type {asked} is invalid for CD-ROM device")
        return ""
    if a is None:
        return asked
    bus = asked or a.default_bus(kind)
    if kind == "lun" and bus not in domain.LUN_BUSES:
        causes.add(where, f'Unsupported value: "{bus}": a LUN needs the '
                          + " or ".join(f'"{b}"' for b in domain.LUN_BUSES) + " bus")
        return ""
    if not a.admits_disk_bus(kind, bus):
        causes.add(where, f"{a.title} not support this disk bus type, please use {' or '.join(a.disk_buses)}")
        return ""
    return bus


def block_size(disk, dp: str, causes: Causes) -> None:
    """validateBlockSize / validateCustomBlockSize."""
    if not disk.HasField("blockSize") or not disk.blockSize.HasField("custom"):
        return
    bs = disk.blockSize
    if _on(bs, "matchVolume"):
        causes.add(f"{dp}.blockSize", "Block size matching can't be enabled together with a custom value")
        return
    c = bs.custom
    if c.logical > c.physical:
        causes.add(f"{dp}.blockSize.custom.logical", f"Logical size {c.logical} must be the same or less than the "
                                                     f"physical size of {c.physical}")
        return
    for kind in ("logical", "physical"):
        size = getattr(c, kind)
        bp = f"{dp}.blockSize.custom.{kind}"
        if size < domain.BLOCK_SIZE_MIN:
            causes.add(bp, f"Provided size of {size} is less than the supported minimum size of "
                           f"{domain.BLOCK_SIZE_MIN}")
        elif size > domain.BLOCK_SIZE_MAX:
            causes.add(bp, f"Provided size of {size} is greater than the supported maximum size of "
                           f"{domain.BLOCK_SIZE_MAX}")
        elif size & (size - 1):
            causes.add(bp, f"Provided size of {size} is not a power of 2")


# ---------------------------------------------------------------- networks, interfaces, inputs, boot order

def interfaces(spec, path: str, causes: Causes) -> None:
    """validateNetworks / validateInterfaces (pkg/network/admitter): names, one network source each,
    bindings, states, models, MAC and PCI addresses."""
    networks: dict[str, proto.kv.Network] = {}
    for i, n in enumerate(spec.networks):
        np = f"{path}.networks[{i}]"
        causes.run(_name, n.name, f"{np}.name")
        if n.name in networks:
            causes.add(f"{np}.name", f'Duplicate value: "{n.name}"')
        sources = [k for k in ("pod", "multus") if n.HasField(k)]
        if not sources:
            causes.add(np, "should have a network type")
        elif len(sources) > 1:
            causes.add(np, "should have only one network type")
        if n.HasField("pod") and n.pod.vmNetworkCIDR:
            try:
                ipaddress.IPv4Network(n.pod.vmNetworkCIDR, strict=False)
            except ValueError:
                causes.add(f"{np}.pod.vmNetworkCIDR", f"Invalid value: {_shown(n.pod.vmNetworkCIDR)}: must be an "
                                                      "IPv4 CIDR")
        networks.setdefault(n.name, n)
    seen = set()
    for i, iface in enumerate(spec.domain.devices.interfaces):
        ip = f"{path}.domain.devices.interfaces[{i}]"
        if iface.name in seen:
            causes.add(f"{ip}.name", f'Duplicate value: "{iface.name}"')
        seen.add(iface.name)
        net = networks.get(iface.name)
        if net is None:
            causes.add(f"{ip}.name", f'Invalid value: "{iface.name}": no matching network in {path}.networks')
        else:
            interface_state(iface, net, f"{ip}.state", causes)
        bindings = [b for b in domain.BINDINGS if iface.HasField(b)]
        if len(bindings) > 1:
            causes.add(ip, f"Invalid value: only one binding method may be set, got {', '.join(bindings)}")
        elif bindings and bindings[0] != "bridge" and net is not None and not net.HasField("pod"):
            causes.add(f"{ip}.{bindings[0]}", f"{bindings[0]} binding is only supported on the pod network")
        if iface.model and iface.model not in domain.NIC_MODELS:   # validateInterfaceModel
            causes.add(f"{ip}.model", f"interface {ip}.name uses model {_shown(iface.model)[1:-1]} that is not "
                                      "supported.")
        if iface.macAddress and not _MAC.match(iface.macAddress):
            causes.add(f"{ip}.macAddress", f"interface {iface.name} has malformed MAC address "
                                           f"({_shown(iface.macAddress)[1:-1]}).")
        if iface.pciAddress and domain.pci_address(iface.pciAddress) is None:
            causes.add(f"{ip}.pciAddress", f"interface {ip}.name has malformed PCI address "
                                           f"({_shown(iface.pciAddress)[1:-1]}).")


def interface_state(iface, net, path: str, causes: Causes) -> None:
    """KubeVirt's validateInterfaceStateValue (admitter), on `...interfaces[i].state`. Its SR-IOV
    rule has no binding here to apply to."""
    if iface.state not in domain.INTERFACE_STATES:
        causes.add(path, f"logical {iface.name} interface state value is unsupported: {iface.state}")
    elif iface.state == "absent" and network.binding(iface) != "bridge":
        causes.add(path, f'"{iface.name}" interface\'s state "absent" is supported only for bridge binding')
    elif iface.state == "absent" and network.is_default_network(net):
        causes.add(path, f'"{iface.name}" interface\'s state "absent" is not supported on default networks')


def inputs(spec, path: str, causes: Causes) -> None:
    """validateInputDevices: a usb or virtio bus; a tablet (or, beyond KubeVirt, a keyboard). Unset
    fields are defaulted (tablet on usb)."""
    for i, inp in enumerate(spec.domain.devices.inputs):
        ip = f"{path}.domain.devices.inputs[{i}]"
        if inp.bus and inp.bus not in domain.INPUT_BUSES:
            causes.add(f"{ip}.bus", "Input device can have only virtio or usb bus.")
        if inp.type and inp.type not in domain.INPUT_TYPES:
            causes.add(f"{ip}.type", f"Unsupported value: {_shown(inp.type)}: supported values: "
                                     + _supported(domain.INPUT_TYPES))


def boot_orders(spec, path: str, causes: Causes) -> None:
    """validateBootOrderValue / validateInterfaceBootOrder: each at least 1, none used twice (disks
    first, then interfaces; an absent interface is no device)."""
    devs = spec.domain.devices
    used: set[int] = set()
    items = [("disks", i, d) for i, d in enumerate(devs.disks)]
    items += [("interfaces", i, n) for i, n in enumerate(devs.interfaces) if n.state != "absent"]
    for kind, i, dev in items:
        if not dev.HasField("bootOrder"):
            continue
        where = f"{path}.domain.devices.{kind}[{i}]"
        if dev.bootOrder < 1:
            causes.add(f"{where}.bootOrder", f"{where} must have a boot order > 0, if supplied")
        elif dev.bootOrder in used:
            causes.add(f"{where}.bootOrder", f"Boot order for {where}.bootOrder already set for a different device.")
        used.add(dev.bootOrder)


# ---------------------------------------------------------------- firmware, platform, machine, cpu

def firmware(spec, path: str, a, causes: Causes) -> None:
    """validateFirmware / validateBootloader / validateKernelBoot, and arm64.go's firmware rules by the
    arch table (a BIOS, secure boot)."""
    fw = spec.domain.firmware
    fp = f"{path}.domain.firmware"
    if fw.uuid:
        try:
            uuid.UUID(fw.uuid)
        except ValueError:
            causes.add(f"{fp}.uuid", f"Invalid value: {_shown(fw.uuid)}: not a UUID")
    if fw.serial:  # beyond KubeVirt: it goes into the domain XML (SMBIOS), which cannot carry \0
        if len(fw.serial.encode()) > SERIAL_MAX:
            causes.add(f"{fp}.serial", f"Too long: may not be more than {SERIAL_MAX} bytes")
        elif not fw.serial.isprintable():
            causes.add(f"{fp}.serial", f"Invalid value: {_shown(fw.serial)}: must consist of printable characters")
    bl = fw.bootloader
    has_bios = fw.HasField("bootloader") and bl.HasField("bios")
    has_efi = fw.HasField("bootloader") and bl.HasField("efi")
    if has_bios and has_efi:
        causes.add(f"{fp}.bootloader", f"{fp}.bootloader has both EFI and BIOS configured, but they are mutually "
                                       "exclusive.")
    if a is not None and has_bios and not a.bios:
        causes.add(f"{fp}.bootloader.bios", f"{a.title} does not support bios boot, please change to uefi boot")
    # secureBoot unset is on (KubeVirt's SetDefaults_EFI), as the arm64 admitter judges it.
    if a is not None and has_efi and not a.secure_boot and domain.secure_boot(fw, True):
        causes.add(f"{fp}.bootloader.efi.secureboot", f"UEFI secure boot is currently not supported on "
                                                      f"{a.libvirt} Arch")
    if not fw.HasField("kernelBoot"):
        return
    kb = fw.kernelBoot
    kp = f"{fp}.kernelBoot"
    if not kb.HasField("container"):
        if kb.kernelArgs:
            causes.add(f"{kp}.kernelArgs", "kernel arguments cannot be provided without an external kernel")
        return
    cp = f"{kp}.container"
    if not kb.container.image:
        causes.add(f"{cp}.image", f"{cp} must be defined with an image")
    if not kb.container.kernelPath and not kb.container.initrdPath:
        causes.add(cp, f"{cp} must be defined with at least one of the following: kernelPath, initrdPath")
    elif not kb.container.kernelPath:
        causes.add(f"{cp}.kernelPath", "Required value: direct kernel boot needs a kernel (an initrd alone "
                                       "cannot boot)")


def platform(spec, path: str, a, causes: Causes) -> None:
    """ACPI, APIC and SMM as the arch has them, and SMM under secure boot (KubeVirt's validateDomainSpec)."""
    d = f"{path}.domain"
    feats, fw = spec.domain.features, spec.domain.firmware
    efi = domain.uses_efi(fw, a.efi_default)
    if a.acpi_needs_efi and _on(feats, "acpi") and not efi:
        causes.add(f"{d}.features.acpi", f"ACPI on {a.name} needs EFI firmware ({d}.firmware.bootloader.efi)")
    if _on(feats, "apic") and not a.apic:
        causes.add(f"{d}.features.apic", f"there is no APIC on {a.name}")
    if _on(feats, "smm") and not a.smm:
        causes.add(f"{d}.features.smm", f"there is no SMM on {a.name}")
    # SMM left unset is turned on for secure boot; only an explicit `enabled: false` contradicts it.
    if efi and a.secure_boot and domain.secure_boot(fw, a.secure_boot) and _off(feats, "smm"):
        causes.add(d, f"{d} has EFI SecureBoot enabled. SecureBoot requires SMM, which is currently disabled.")


def machine_type(spec, path: str, a, causes: Causes) -> None:
    """validateEmulatedMachine: the machine type must match the arch's emulated-machine globs."""
    mt = spec.domain.machine.type
    if mt and not machines.emulated(a.name, mt):
        causes.add(f"{path}.domain.machine.type", f"{path}.domain.machine.type is not supported: {mt} (allowed "
                                                  f"values: [{' '.join(a.emulated_machines)}])")


def cpu(spec, path: str, a, machine_limits, causes: Causes) -> None:
    """The CPU model the arch admits (arm64.go), validateCPUFeaturePolicies, validateCPUHotplug, and
    (beyond KubeVirt) the machine type's vCPU limit on the nodes."""
    c = spec.domain.cpu
    d = f"{path}.domain.cpu"
    if a.cpu_model and c.model and c.model != a.cpu_model:
        causes.add(f"{d}.model", f"currently, {a.cpu_model} is the only model supported on {a.title}")
    for i, f in enumerate(c.features):
        fp = f"{d}.features[{i}]"
        if not f.name:
            causes.add(f"{fp}.name", "Required value")
        if f.policy and f.policy not in domain.CPU_FEATURE_POLICIES:
            causes.add(f"{fp}.policy", f"CPU feature {f.name} uses policy {_shown(f.policy)[1:-1]} that is not "
                                       "supported.")
    sockets, cores, threads = c.sockets or 1, c.cores or 1, c.threads or 1
    too_many = False
    for field, n in (("sockets", sockets), ("maxSockets", c.maxSockets)):
        if n * cores * threads > machines.MAX_DOMAIN_VCPUS:
            too_many = True
            causes.add(f"{d}.{field}", f"Invalid value: {n}: {n * cores * threads} vCPUs ({field} {n} x cores "
                                       f"{cores} x threads {threads}), more than any domain can have "
                                       f"({machines.MAX_DOMAIN_VCPUS})")
    if c.maxSockets and c.sockets > c.maxSockets:
        causes.add(f"{d}.sockets", "Number of sockets in CPU topology is greater than the maximum sockets allowed")
    # A VM's template is not defaulted: judge it with the machine type its VMIs will get.
    mt = spec.domain.machine.type or a.default_machine
    limit = machine_limits(mt) if machine_limits else 0
    if not limit or too_many:
        return
    vcpus = sockets * cores * threads
    if vcpus > limit:
        causes.add(d, f"Invalid value: {vcpus} vCPUs (sockets {sockets} x cores {cores} x threads {threads}): "
                      f"machine type {mt} supports at most {limit} vCPUs on the nodes offering it")
    elif c.maxSockets and machines.domain_vcpus(spec) > limit:
        causes.add(f"{d}.maxSockets", f"Invalid value: {c.maxSockets}: CPU hotplug up to "
                                      f"{c.maxSockets * cores * threads} vCPUs (maxSockets {c.maxSockets} x cores "
                                      f"{cores} x threads {threads}), but machine type {mt} supports at most "
                                      f"{limit} vCPUs on the nodes offering it")


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
    if spec.HasField("runStrategy") and spec.runStrategy not in domain.RUN_STRATEGIES:
        raise Invalid(f'spec.runStrategy: Unsupported value: "{spec.runStrategy}": supported values: '
                      + _supported(domain.RUN_STRATEGIES))


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


def validate(obj: proto.api.Object, machine_limits=None, gates=None, spec: bool = True) -> None:
    """`machine_limits(machine) -> max vCPUs` (0 unknown); None skips the vCPU-limit check. `gates`: the
    feature gates in effect (kvconfig.Gates; None: the operator's only, as if no KubeVirt object). `spec`
    False: a VMI's spec is the one stored, judged when it was written (KubeVirt's VMI update admitter
    judges only what an update changes)."""
    kind = proto.kind_of(obj)
    res = proto.inner(obj)
    size(obj)
    metadata(res.metadata, proto.namespaced(kind))
    if kind == proto.VMI and not spec:
        return
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
    elif kind in (proto.SECRET, proto.CONFIG_MAP):
        from services.api import configobjects   # the api side of core/v1 Secrets and ConfigMaps
        configobjects.validate(kind, res)
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
    ns = res.metadata.namespace or names.DEFAULT_NAMESPACE
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
    return res.status.phase == CLAIM_BOUND


def update(kind: proto.api.Kind, old, new) -> None:
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
