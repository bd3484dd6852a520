"""Admission of the VirtualMachineInstance spec fields beyond validation.py's basics (issue 14, item 4):
KubeVirt 1.6's whole schema parses, and each field is here either checked (KubeVirt's and Kubernetes'
rules and texts, where they have them) or refused as not supported, naming the field — never
accepted and ignored. Every cause is collected and returned at once, as KubeVirt's admitters do
(vmi-create-admitter.go, validate-k8s-utils.go, webhooks/hyperv.go).

What is refused (UNSUPPORTED) is what no node of this mesh can give a guest: host hardware (GPUs,
host and SR-IOV devices), host CPU/memory partitioning (dedicated CPUs, NUMA, hugepages, realtime),
confidential computing, and what needs objects or daemons the mesh does not have (Secrets,
ConfigMaps, the downward API and metrics, probes run by a kubelet, network binding plugins, virtiofs,
vsock, USB redirection, DRA claims).
"""
from __future__ import annotations

import ipaddress
import re

from services.api.errors import Causes
from services.common import arch, domain, migrations

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

MAX_DNS_NAMESERVERS, MAX_DNS_SEARCHES, MAX_DNS_SEARCH_CHARS = 3, 32, 2048   # Kubernetes' limits
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
LABEL_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_FIELD_SELECTOR_KEYS = ("metadata.name",)
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Exists", "Equal")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
SPREAD_POLICIES = ("Honor", "Ignore")

# (field under the VMI spec, "[]" = each item; what it asks for; why no node here gives it). A field
# counts as asked for when it is set to anything but its off value (false, empty).
UNSUPPORTED = (
    ("domain.cpu.dedicatedCpuPlacement", "dedicated CPUs", "the nodes have no CPU manager to pin vCPUs to "
                                                          "exclusive host CPUs"),
    ("domain.cpu.isolateEmulatorThread", "emulator-thread isolation", "it needs dedicated CPUs"),
    ("domain.cpu.numa", "guest NUMA topology passthrough", "it needs dedicated CPUs and hugepages"),
    ("domain.cpu.realtime", "realtime vCPUs", "it needs dedicated CPUs"),
    ("domain.memory.hugepages", "hugepages", "the nodes reserve no hugepages for guests"),
    ("domain.memory.maxGuest", "memory hotplug", "the domains are defined without hotpluggable memory slots"),
    ("domain.firmware.bootloader.efi.persistent", "persistent EFI variables",
     "the nodes keep no EFI variable store across restarts"),
    ("domain.launchSecurity", "launch security (AMD SEV)", "no node has SEV"),
    ("domain.ioThreads", "a supplemental IO thread pool", "it maps virtio queues to IO threads, which needs "
                                                          "libvirt 10.0 (the nodes have 9.0)"),
    ("domain.firmware.acpi", "ACPI tables (SLIC/MSDM) from a Secret", "the launcher passes no ACPI tables to QEMU"),
    ("domain.devices.gpus", "GPUs", "no node has a GPU to pass through"),
    ("domain.devices.hostDevices", "host devices", "no node has devices to pass through"),
    ("domain.devices.filesystems", "virtiofs filesystems", "the nodes have no virtiofsd"),
    ("domain.devices.clientPassthrough", "USB redirection", "there is no usbredir client path"),
    ("domain.devices.downwardMetrics", "the downward metrics device", "the nodes publish no downward metrics"),
    ("domain.devices.autoattachVSOCK", "VSOCK", "the nodes have no vhost-vsock"),
    ("domain.devices.networkInterfaceMultiqueue", "multi-queue network interfaces",
     "the nodes' taps are single-queue and user-mode networking has one queue"),
    ("domain.devices.interfaces[].sriov", "SR-IOV", "no node has SR-IOV network devices"),
    ("domain.devices.interfaces[].binding", "network binding plugins", "the nodes run no binding plugins"),
    ("domain.devices.interfaces[].macvtap", "the macvtap binding", "KubeVirt replaced it with a binding plugin"),
    ("domain.devices.interfaces[].passt", "the passt binding", "KubeVirt replaced it with a binding plugin"),
    ("domain.devices.interfaces[].dhcpOptions", "DHCP options", "no DHCP server serves the guests here"),
    ("livenessProbe", "liveness probes", "no kubelet probes the guests here"),
    ("readinessProbe", "readiness probes", "no kubelet probes the guests here"),
    ("accessCredentials[].sshPublicKey.propagationMethod.qemuGuestAgent", "SSH keys through the guest agent",
     "the launcher does not talk to guest agents"),
    ("accessCredentials[].userPassword", "passwords through the guest agent",
     "the launcher does not talk to guest agents"),
    ("resourceClaims", "resource claims", "there is no dynamic resource allocation"),
    ("volumes[].sysprep", "sysprep volumes", "no Windows answer file disk is made"),
    ("volumes[].serviceAccount", "service account volumes", "the mesh has no service accounts"),
    ("volumes[].downwardAPI", "downward API volumes", "no kubelet projects pod metadata here"),
    ("volumes[].downwardMetrics", "downward metrics volumes", "the nodes publish no downward metrics"),
    ("volumes[].memoryDump", "memory dump volumes", "there is no memory-dump subresource"),
    ("volumes[].ephemeral", "ephemeral volumes", "no copy-on-write overlay is made for claims"),
)


def not_supported(what: str, why: str) -> str:
    return f"Unsupported value: not supported: {what} ({why})"


def _asked(msg, name: str) -> bool:
    f = msg.DESCRIPTOR.fields_by_name[name]
    value = getattr(msg, name)
    if f.is_repeated:
        return len(value) > 0
    if f.message_type is not None:
        return msg.HasField(name)
    return bool(value)   # a bool set to false, or an empty string, asks for nothing


def _paths(msg, parts: list[str], prefix: str):
    """Concrete paths of `parts` (a UNSUPPORTED field) that `msg` asks for."""
    name, rest = parts[0], parts[1:]
    each = name.endswith("[]")
    name = name[:-2] if each else name
    if not rest:
        if _asked(msg, name):
            yield f"{prefix}.{name}"
        return
    if each:
        for i, item in enumerate(getattr(msg, name)):
            yield from _paths(item, rest, f"{prefix}.{name}[{i}]")
    elif msg.HasField(name):
        yield from _paths(getattr(msg, name), rest, f"{prefix}.{name}")


def unsupported(spec, path: str, causes: Causes) -> None:
    for dotted, what, why in UNSUPPORTED:
        for p in _paths(spec, dotted.split("."), path):
            causes.add(p, not_supported(what, why))


# ---------------------------------------------------------------- Kubernetes' name rules

def _label_name(key: str, path: str, causes: Causes) -> None:
    """ValidateLabelName (a qualified name: [prefix/]name)."""
    if not key:
        causes.add(path, "Required value: can not be empty")
        return
    prefix, _, name = key.rpartition("/")
    if "/" in key and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        causes.add(path, f'Invalid value: "{key}": prefix part must be a lowercase RFC 1123 subdomain')
    elif len(name) > 63 or not _QUALIFIED.match(name):
        causes.add(path, f'Invalid value: "{key}": name part must consist of alphanumeric characters, \'-\', '
                         "'_' or '.', and must start and end with an alphanumeric character")


def _label_value(value: str, path: str, causes: Causes) -> None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        causes.add(path, f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                         "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                         "alphanumeric character")


def _dns_label(value: str, path: str, causes: Causes, what: str) -> None:
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        causes.add(path, f"{path} does not conform to the kubernetes DNS_LABEL rules : a lowercase RFC 1123 "
                         f"label must consist of lower case alphanumeric characters or '-', and must start and "
                         f"end with an alphanumeric character ({what})")


def _dns_subdomain(value: str, path: str, causes: Causes, text: str = "") -> None:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        causes.add(path, text or f'Invalid value: "{value}": a lowercase RFC 1123 subdomain must consist of '
                                 "lower case alphanumeric characters, '-' or '.', and must start and end with an "
                                 "alphanumeric character")


def _supported(values) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _one_of(value: str, values, path: str, causes: Causes) -> bool:
    if value not in values:
        causes.add(path, f'Unsupported value: "{value}": supported values: {_supported(values)}')
        return False
    return True


# ---------------------------------------------------------------- scheduling

def label_selector(sel, path: str, causes: Causes) -> None:
    """ValidateLabelSelector."""
    for i, req in enumerate(sel.matchExpressions):
        rp = f"{path}.matchExpressions[{i}]"
        if not _one_of(req.operator, LABEL_SELECTOR_OPERATORS, f"{rp}.operator", causes):
            continue
        if req.operator in ("In", "NotIn") and not req.values:
            causes.add(f"{rp}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'")
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            causes.add(f"{rp}.values", "Forbidden: may not be specified when `operator` is 'Exists' or "
                                       "'DoesNotExist'")
        _label_name(req.key, f"{rp}.key", causes)
    for key, value in sel.matchLabels.items():
        _label_name(key, f"{path}.matchLabels", causes)
        _label_value(value, f"{path}.matchLabels", causes)


def node_selector_term(term, path: str, causes: Causes) -> None:
    """ValidateNodeSelectorTerm: label requirements, and field requirements on metadata.name."""
    for j, req in enumerate(term.matchExpressions):
        rp = f"{path}.matchExpressions[{j}]"
        op = req.operator
        if op in ("In", "NotIn") and not req.values:
            causes.add(f"{rp}.values", "Required value: must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist") and req.values:
            causes.add(f"{rp}.values", "Forbidden: may not be specified when `operator` is 'Exists' or "
                                       "'DoesNotExist'")
        elif op in ("Gt", "Lt"):
            if len(req.values) != 1:
                causes.add(f"{rp}.values", "Required value: must be specified single value when `operator` is "
                                           "'Lt' or 'Gt'")
            elif not re.fullmatch(r"-?[0-9]+", req.values[0]):
                causes.add(f"{rp}.values[0]", f'Invalid value: "{req.values[0]}": must be an integer when '
                                              "`operator` is 'Lt' or 'Gt'")
        elif op not in NODE_SELECTOR_OPERATORS:
            causes.add(f"{rp}.operator", f'Invalid value: "{op}": not a valid selector operator')
        _label_name(req.key, f"{rp}.key", causes)
    for j, req in enumerate(term.matchFields):
        rp = f"{path}.matchFields[{j}]"
        if req.operator not in ("In", "NotIn"):
            causes.add(f"{rp}.operator", f'Invalid value: "{req.operator}": not a valid selector operator')
        elif len(req.values) != 1:
            causes.add(f"{rp}.values", "Required value: must be only one value when `operator` is 'In' or 'NotIn' "
                                       "for node field selector")
        if req.key not in NODE_FIELD_SELECTOR_KEYS:
            causes.add(f"{rp}.key", f'Invalid value: "{req.key}": not a valid field selector key')


def _weight(w: int, path: str, causes: Causes) -> None:
    if not 1 <= w <= 100:
        causes.add(path, f"Invalid value: {w}: must be in the range 1-100")


def pod_affinity_term(term, path: str, causes: Causes) -> None:
    if term.HasField("labelSelector"):
        label_selector(term.labelSelector, f"{path}.labelSelector", causes)
    if term.HasField("namespaceSelector"):
        label_selector(term.namespaceSelector, f"{path}.namespaceSelector", causes)
        if term.namespaceSelector.matchLabels or term.namespaceSelector.matchExpressions:
            causes.add(f"{path}.namespaceSelector", not_supported(
                "selecting namespaces by label", "the scheduler reads no Namespace objects; list them in "
                                                 "namespaces, or {} for all"))
    for ns in term.namespaces:
        if len(ns) > 63 or not _DNS1123_LABEL.match(ns):
            causes.add(f"{path}.namespace", f'Invalid value: "{ns}": a lowercase RFC 1123 label must consist of '
                                            "lower case alphanumeric characters or '-'")
    if not term.topologyKey:
        causes.add(f"{path}.topologyKey", "Required value: can not be empty")
    else:
        _label_name(term.topologyKey, f"{path}.topologyKey", causes)
    both = set(term.matchLabelKeys) & set(term.mismatchLabelKeys)
    for key in sorted(both):
        causes.add(f"{path}.matchLabelKeys", f'Invalid value: "{key}": exists in both matchLabelKeys and '
                                             "mismatchLabelKeys")
    if (term.matchLabelKeys or term.mismatchLabelKeys) and not term.HasField("labelSelector"):
        causes.add(f"{path}.matchLabelKeys", "Forbidden: must not be specified when labelSelector is not set")


def affinity(aff, path: str, causes: Causes) -> None:
    """validateAffinity."""
    na = aff.nodeAffinity
    if na.HasField("requiredDuringSchedulingIgnoredDuringExecution"):
        rp = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        terms = na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
        if not terms:
            causes.add(rp, "Required value: must have at least one node selector term")
        for i, term in enumerate(terms):
            node_selector_term(term, f"{rp}[{i}]", causes)
    for i, term in enumerate(na.preferredDuringSchedulingIgnoredDuringExecution):
        tp = f"{path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        _weight(term.weight, f"{tp}.weight", causes)
        node_selector_term(term.preference, f"{tp}.preference", causes)
    for kind in ("podAffinity", "podAntiAffinity"):
        pa = getattr(aff, kind)
        for i, term in enumerate(pa.requiredDuringSchedulingIgnoredDuringExecution):
            pod_affinity_term(term, f"{path}.{kind}.requiredDuringSchedulingIgnoredDuringExecution[{i}]", causes)
        for i, wt in enumerate(pa.preferredDuringSchedulingIgnoredDuringExecution):
            tp = f"{path}.{kind}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            _weight(wt.weight, f"{tp}.weight", causes)
            pod_affinity_term(wt.podAffinityTerm, f"{tp}.podAffinityTerm", causes)


def tolerations(tols, path: str, causes: Causes) -> None:
    """Kubernetes' ValidateTolerations."""
    for i, t in enumerate(tols):
        tp = f"{path}[{i}]"
        if t.key:
            _label_name(t.key, f"{tp}.key", causes)
        elif t.operator != "Exists":
            causes.add(f"{tp}.operator", f'Invalid value: "{t.operator}": operator must be Exists when `key` is '
                                         "empty, which means \"match all values and all keys\"")
        if t.HasField("tolerationSeconds") and t.effect != "NoExecute":
            causes.add(f"{tp}.effect", f'Invalid value: "{t.effect}": effect must be \'NoExecute\' when '
                                       "`tolerationSeconds` is set")
        if t.operator in ("", "Equal"):
            _label_value(t.value, f"{tp}.value", causes)
        elif t.operator == "Exists":
            if t.value:
                causes.add(f"{tp}.operator", f'Invalid value: "{t.value}": value must be empty when `operator` is '
                                             "'Exists'")
        else:
            causes.add(f"{tp}.operator", f'Unsupported value: "{t.operator}": supported values: '
                                         f"{_supported(TOLERATION_OPERATORS)}")
        if t.effect:
            _one_of(t.effect, TAINT_EFFECTS, f"{tp}.effect", causes)


def topology_spread(constraints, path: str, causes: Causes) -> None:
    """validateTopologySpreadConstraints, plus Kubernetes' minDomains and policy rules."""
    for i, c in enumerate(constraints):
        cp = f"{path}[{i}]"
        if c.maxSkew <= 0:
            causes.add(f"{cp}.maxSkew", f"Invalid value: {c.maxSkew}: must be greater than zero")
        if not c.topologyKey:
            causes.add(f"{cp}.topologyKey", "Required value: can not be empty")
        else:
            _label_name(c.topologyKey, f"{cp}.topologyKey", causes)
        _one_of(c.whenUnsatisfiable, WHEN_UNSATISFIABLE, f"{cp}.whenUnsatisfiable", causes)
        if c.HasField("labelSelector"):
            label_selector(c.labelSelector, f"{cp}.labelSelector", causes)
        if c.HasField("minDomains"):
            if c.minDomains <= 0:
                causes.add(f"{cp}.minDomains", f"Invalid value: {c.minDomains}: must be greater than zero")
            elif c.whenUnsatisfiable != "DoNotSchedule":
                causes.add(f"{cp}.minDomains", f"Invalid value: {c.minDomains}: can only use minDomains if "
                                               "whenUnsatisfiable=DoNotSchedule, not "
                                               f"{c.whenUnsatisfiable}")
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            if c.HasField(policy):
                _one_of(getattr(c, policy), SPREAD_POLICIES, f"{cp}.{policy}", causes)
        for other in constraints[i + 1:]:
            if (c.topologyKey, c.whenUnsatisfiable) == (other.topologyKey, other.whenUnsatisfiable):
                causes.add(f"{cp}.{{topologyKey, whenUnsatisfiable}}",
                           f'Duplicate value: "{{{c.topologyKey}, {c.whenUnsatisfiable}}}"')
                break


def scheduling(spec, path: str, causes: Causes) -> None:
    if spec.HasField("affinity"):
        affinity(spec.affinity, f"{path}.affinity", causes)
    tolerations(spec.tolerations, f"{path}.tolerations", causes)
    topology_spread(spec.topologySpreadConstraints, f"{path}.topologySpreadConstraints", causes)
    if spec.schedulerName and spec.schedulerName != domain.DEFAULT_SCHEDULER:
        causes.add(f"{path}.schedulerName", not_supported(
            f'scheduler "{spec.schedulerName}"', f'one scheduler places every VMI here: "{domain.DEFAULT_SCHEDULER}"'))
    if spec.priorityClassName:
        _dns_subdomain(spec.priorityClassName, f"{path}.priorityClassName", causes)


# ---------------------------------------------------------------- names, DNS, strategies

def pod_settings(spec, path: str, causes: Causes) -> None:
    """hostname, subdomain, DNS, eviction and start strategies (kept on the VMI as KubeVirt keeps them)."""
    if spec.hostname:
        _dns_label(spec.hostname, f"{path}.hostname", causes, f'"{spec.hostname}"')
    if spec.subdomain:
        _dns_subdomain(spec.subdomain, f"{path}.subdomain", causes,
                       f"{path}.subdomain does not conform to the kubernetes DNS_SUBDOMAIN rules : "
                       f'"{spec.subdomain}" must be a lowercase RFC 1123 subdomain')
    if spec.evictionStrategy:
        _one_of(spec.evictionStrategy, migrations.EVICTION_STRATEGIES, f"{path}.evictionStrategy", causes)
    if spec.startStrategy and spec.startStrategy not in domain.START_STRATEGIES:
        causes.add(f"{path}.startStrategy", f"{path}.startStrategy is set with an unrecognized option: "
                                            f"{spec.startStrategy}")
    if spec.dnsPolicy and spec.dnsPolicy not in domain.DNS_POLICIES:
        causes.add(f"{path}.dnsPolicy", f"DNSPolicy: {spec.dnsPolicy} is not supported, valid values: "
                                        f"[{' '.join(domain.DNS_POLICIES)} ]")
    dns_config(spec, path, causes)


def dns_config(spec, path: str, causes: Causes) -> None:
    """validatePodDNSConfig."""
    where = f"{path}.dnsConfig"
    cfg = spec.dnsConfig
    if spec.dnsPolicy == "None":
        if not spec.HasField("dnsConfig"):
            causes.add(where, "Required value: must provide `dnsConfig` when `dnsPolicy` is None")
            return
        if not cfg.nameservers:
            causes.add(f"{where}.nameservers", "Required value: must provide at least one DNS nameserver when "
                                               "`dnsPolicy` is None")
            return
    if not spec.HasField("dnsConfig"):
        return
    if len(cfg.nameservers) > MAX_DNS_NAMESERVERS:
        causes.add(f"{where}.nameservers", f"Invalid value: must not have more than {MAX_DNS_NAMESERVERS} "
                                           "nameservers")
    for i, ns in enumerate(cfg.nameservers):
        try:
            ipaddress.ip_address(ns)
        except ValueError:
            causes.add(f"{where}.nameservers[{i}]", f'Invalid value: "{ns}": must be valid IP address')
    if len(cfg.searches) > MAX_DNS_SEARCHES:
        causes.add(f"{where}.searches", f"Invalid value: must not have more than {MAX_DNS_SEARCHES} search paths")
    if len(" ".join(cfg.searches)) > MAX_DNS_SEARCH_CHARS:
        causes.add(f"{where}.searches", f"Invalid value: must not have more than {MAX_DNS_SEARCH_CHARS} characters "
                                        "(including spaces) in the search list")
    for i, s in enumerate(cfg.searches):
        _dns_subdomain(s.rstrip("."), f"{where}.searches[{i}]", causes)
    for i, opt in enumerate(cfg.options):
        if not opt.name:
            causes.add(f"{where}.options[{i}].name", "Required value: Option.Name must not be empty")


# ---------------------------------------------------------------- clock and features

def _x86(spec, a: arch.Arch, path: str, causes: Causes) -> bool:
    """The PC platform's (arch.py: pc_platform) timers, features and devices."""
    if not a.pc_platform:
        causes.add(path, not_supported(f"{path.rsplit('.', 1)[-1]} on {a.name}", "an x86 feature"))
        return False
    return True


def clock(spec, path: str, a: arch.Arch, causes: Causes) -> None:
    c = spec.domain.clock
    where = f"{path}.domain.clock"
    if not spec.domain.HasField("clock"):
        return
    if c.HasField("utc") and c.timezone:
        causes.add(where, "Invalid value: only one of utc or timezone may be set")
    if not c.HasField("timer"):
        return
    for name in domain.TIMER_NAMES:
        if not c.timer.HasField(name):
            continue
        tp = f"{where}.timer.{name}"
        if not _x86(spec, a, tp, causes):
            continue
        timer = getattr(c.timer, name)
        policies = domain.TICK_POLICIES.get(name)
        if policies and timer.tickPolicy:
            _one_of(timer.tickPolicy, policies, f"{tp}.tickPolicy", causes)
        if name == "rtc" and timer.track:
            _one_of(timer.track, domain.RTC_TRACKS, f"{tp}.track", causes)


def _on(state) -> bool:
    """A FeatureState that is set: on unless `enabled: false`."""
    return not state.HasField("enabled") or state.enabled


def features(spec, path: str, a: arch.Arch, causes: Causes) -> None:
    f = spec.domain.features
    where = f"{path}.domain.features"
    for name in domain.X86_ONLY_FEATURES:
        if f.HasField(name):
            _x86(spec, a, f"{where}.{name}", causes)
    if f.HasField("hyperv") and f.HasField("hypervPassthrough") and _on(f.hypervPassthrough):
        causes.add(f"{where}.hypervPassthrough", "Invalid value: hyperv and hypervPassthrough are mutually "
                                                 "exclusive")
    hv = f.hyperv
    if not f.HasField("hyperv"):
        return
    # webhooks/hyperv.go: an enabled feature whose need was disabled (defaulting enables a need left
    # unset, so only an explicit `enabled: false` is wrong; a VM's template is judged before defaulting).
    for feat, need in domain.HYPERV_REQUIRES.items():
        if hv.HasField(feat) and _on(getattr(hv, feat)) and hv.HasField(need) and not _on(getattr(hv, need)):
            causes.add(f"{where}.hyperv.{feat}", f"'{where}.hyperv.{feat}' requires '{where}.hyperv.{need}', which "
                                                 "was disabled.")
    sl = hv.spinlocks
    if hv.HasField("spinlocks") and sl.HasField("spinlocks") and sl.spinlocks < domain.MIN_SPINLOCKS:
        causes.add(f"{where}.hyperv.spinlocks.spinlocks", f"Invalid value: {sl.spinlocks}: must be at least "
                                                          f"{domain.MIN_SPINLOCKS}")
    vid = hv.vendorid
    if hv.HasField("vendorid") and _on(vid) and not 0 < len(vid.vendorid) <= 12:
        causes.add(f"{where}.hyperv.vendorid.vendorid", f'Invalid value: "{vid.vendorid}": a Hyper-V vendor id '
                                                        "has 1 to 12 characters")


# ---------------------------------------------------------------- devices

def devices(spec, path: str, a: arch.Arch, gates: set[str], causes: Causes) -> None:
    devs = spec.domain.devices
    where = f"{path}.domain.devices"
    if devs.HasField("watchdog"):
        wd = devs.watchdog
        wp = f"{where}.watchdog"
        if not wd.name:
            causes.add(f"{wp}.name", "Required value")
        if wd.HasField("diag288"):
            causes.add(f"{wp}.diag288", not_supported(f"the diag288 watchdog on {a.name}", "an s390x device"))
        if wd.HasField("i6300esb"):
            if not a.pc_platform:
                causes.add(f"{wp}.i6300esb", not_supported(f"the i6300esb watchdog on {a.name}", "an x86 device"))
            elif wd.i6300esb.action:
                _one_of(wd.i6300esb.action, domain.WATCHDOG_ACTIONS, f"{wp}.i6300esb.action", causes)
        elif not wd.HasField("diag288"):
            causes.add(wp, "Required value: a watchdog needs a device (i6300esb)")
    if devs.HasField("sound"):   # validateSoundDevices (its field path is KubeVirt's `Sound`)
        if devs.sound.model and devs.sound.model not in domain.SOUND_MODELS:
            causes.add(f"{where}.Sound", "Sound device type is not supported. Options: 'ich9' or 'ac97'")
        if not devs.sound.name:
            causes.add(f"{where}.Sound", "Sound device requires a name field.")
        if not a.pc_platform:
            causes.add(f"{where}.sound", not_supported(f"a sound card on {a.name}", "ich9 and ac97 are PC devices"))
    if devs.HasField("video"):   # validateVideoConfig
        vp = f"{where}.video"
        if domain.VIDEO_CONFIG_GATE not in gates:
            causes.add(vp, f"Video configuration is specified but the {domain.VIDEO_CONFIG_GATE} feature gate is "
                           "not enabled")
        elif devs.HasField("autoattachGraphicsDevice") and not devs.autoattachGraphicsDevice:
            causes.add(vp, "Video configuration is not allowed when autoattachGraphicsDevice is set to false")
        elif devs.video.type:
            _one_of(devs.video.type, domain.VIDEO_TYPES, f"{vp}.type", causes)
    if devs.panicDevices:        # validatePanicDevices
        pp = f"{path}.domain.devices.panicDevices"
        if domain.PANIC_DEVICES_GATE not in gates:
            causes.add(pp, "Panic Devices feature gate is not enabled in kubevirt-config")
        else:
            for i, p in enumerate(devs.panicDevices):
                if not p.HasField("model"):
                    continue
                if p.model not in domain.PANIC_MODELS:
                    causes.add(f"{pp}[{i}].model", f"invalid PanicDeviceModel({p.model})")
                elif p.model not in domain.PANIC_MODELS_HERE:
                    causes.add(f"{pp}[{i}].model", not_supported(
                        f"the {p.model} panic device", "libvirt 9.0 on the nodes knows only "
                        + " and ".join(domain.PANIC_MODELS_HERE)))
                elif not a.pc_platform:
                    causes.add(f"{pp}[{i}].model", not_supported(f"the {p.model} panic device on {a.name}",
                                                                 "an x86 device"))
    for i, iface in enumerate(devs.interfaces):
        if iface.acpiIndex < 0:
            causes.add(f"{where}.interfaces[{i}].acpiIndex", f"Invalid value: {iface.acpiIndex}: must be greater "
                                                             "than or equal to 0")
    indexes = [iface.acpiIndex for iface in devs.interfaces if iface.acpiIndex]
    for i, iface in enumerate(devs.interfaces):
        if iface.acpiIndex and indexes.count(iface.acpiIndex) > 1:
            causes.add(f"{where}.interfaces[{i}].acpiIndex", f"Duplicate value: {iface.acpiIndex}")


def io_threads(spec, path: str, causes: Causes) -> None:
    """validateIOThreadsPolicy; the supplemental pool is refused (UNSUPPORTED names ioThreads)."""
    dom = spec.domain
    if not dom.HasField("ioThreadsPolicy"):
        return
    where = f"{path}.domain.ioThreadsPolicy"
    if dom.ioThreadsPolicy not in domain.IO_THREADS_POLICIES:
        causes.add(where, f"Invalid IOThreadsPolicy ({dom.ioThreadsPolicy})")
    elif dom.ioThreadsPolicy == domain.IO_THREADS_SUPPLEMENTAL:
        causes.add(where, not_supported("a supplemental IO thread pool", "it maps virtio queues to IO threads, "
                                                                         "which needs libvirt 10.0 (the nodes have "
                                                                         "9.0)"))


# ---------------------------------------------------------------- entry points

def admit(spec, path: str, a: arch.Arch | None, gates, causes: Causes) -> None:
    """Every cause the spec at `path` (`spec`, or `spec.template.spec` on a VM) has, added to `causes`.
    `a`: the spec's arch (None: refused already, its arch-bound checks skipped); `gates`: the feature
    gates in effect (kvconfig)."""
    unsupported(spec, path, causes)
    scheduling(spec, path, causes)
    pod_settings(spec, path, causes)
    if a is not None:
        clock(spec, path, a, causes)
        features(spec, path, a, causes)
        devices(spec, path, a, gates, causes)
    io_threads(spec, path, causes)


def vm_spec(spec) -> None:
    """VirtualMachineSpec fields beside the template."""
    causes = Causes()
    if spec.HasField("updateVolumesStrategy"):
        s = spec.updateVolumesStrategy
        if _one_of(s, domain.UPDATE_VOLUMES_STRATEGIES, "spec.updateVolumesStrategy", causes) and s == "Migration":
            causes.add("spec.updateVolumesStrategy", not_supported(
                "volume migration", "a changed volume takes effect when the VM restarts (Replacement)"))
    causes.check()
