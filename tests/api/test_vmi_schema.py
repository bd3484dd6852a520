"""The whole of KubeVirt 1.6's VirtualMachineInstanceSpec parses (issue 14, item 4): a manifest with
every field prints back as itself, through our parser and through the Kubernetes backend's printing;
Kubernetes' IntOrString (a probe's port) takes a number or a name and nothing else."""
from __future__ import annotations

import copy
import pathlib

import pytest

from services.api import admission
from services.api.errors import Invalid
from services.common import hostpaths, kube, manifest, proto

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "manifests"


def every_field() -> dict:
    return manifest.load_documents((DATA / "vmi-every-field.yaml").read_text())[0]


def test_every_field_of_the_vmi_spec_parses_and_prints_back():
    doc = every_field()
    obj = manifest.to_object(copy.deepcopy(doc))
    assert manifest.to_dict(obj.virtualMachineInstance) == doc
    # As the Kubernetes store writes it (numbers stay numbers, the IntOrString port an integer).
    printed = kube.to_doc(obj)
    assert printed["spec"] == doc["spec"]
    assert printed["spec"]["livenessProbe"]["httpGet"]["port"] == 8080
    assert printed["spec"]["readinessProbe"]["tcpSocket"]["port"] == "ssh"


def test_every_field_parses_in_a_vm_template():
    vmi = every_field()
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm"},
           "spec": {"runStrategy": "Halted", "updateVolumesStrategy": "Replacement",
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": vmi["spec"]}}}
    obj = manifest.to_object(copy.deepcopy(doc))
    assert manifest.to_dict(obj.virtualMachine) == doc


@pytest.mark.parametrize("port, error", [
    (True, "expected integer or string, got boolean"),
    (80.5, "expected integer or string, got number"),
    ({"port": 80}, "expected integer or string, got object"),
    (2 ** 40, "1099511627776 is out of range [-2147483648, 2147483647]"),
])
def test_int_or_string_takes_only_a_number_or_a_name(port, error):
    doc = every_field()
    doc["spec"]["readinessProbe"]["tcpSocket"]["port"] = port
    with pytest.raises(manifest.ManifestError) as e:
        manifest.to_object(doc)
    assert str(e.value) == f"spec.readinessProbe.tcpSocket.port: {error}"


def test_unknown_fields_are_still_refused_deep_in_the_new_types():
    doc = every_field()
    doc["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpression"] = []
    with pytest.raises(manifest.ManifestError) as e:
        manifest.to_object(doc)
    assert str(e.value) == ("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                            "nodeSelectorTerms[0].matchExpression: unknown field")


def test_node_taints_parse():
    node = manifest.to_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                               "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})
    assert [(t.key, t.value, t.effect) for t in proto.inner(node).spec.taints] == [("dedicated", "gpu", "NoSchedule")]


# ---------------------------------------------------------------- admission: refused, checked, kept

def vmi_doc(**spec) -> dict:
    base = {"domain": {"memory": {"guest": "64Mi"}, "devices": {}}}
    for key, value in spec.items():
        if key == "domain":
            base["domain"] = {**base["domain"], **value}
        else:
            base[key] = value
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": "v", "namespace": "default"}, "spec": {"architecture": "amd64", **base}}


def vm_doc(template_spec: dict, **spec) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "vm", "namespace": "default"},
            "spec": {"runStrategy": "Halted", **spec, "template": {"spec": template_spec}}}


def refusal(resources, doc) -> Invalid:
    with pytest.raises(Invalid) as e:
        resources.create(manifest.to_object(copy.deepcopy(doc)))
    return e.value


def causes(resources, doc) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, message in refusal(resources, doc).causes:
        out.setdefault(field, []).append(message)
    return out


def test_every_unsupported_feature_is_refused_at_once_each_naming_its_field(resources):
    """The every-field manifest asks for everything no node here has: one refusal, one cause per field,
    each saying "not supported" and why."""
    got = causes(resources, every_field())
    unsupported = {f for f, msgs in got.items() if any("not supported" in m for m in msgs)}
    assert unsupported == {
        "spec.domain.cpu.dedicatedCpuPlacement", "spec.domain.cpu.isolateEmulatorThread", "spec.domain.cpu.numa",
        "spec.domain.cpu.realtime", "spec.domain.memory.hugepages", "spec.domain.launchSecurity",
        "spec.domain.memory.maxGuest", "spec.domain.firmware.bootloader.efi.persistent",
        "spec.domain.ioThreads", "spec.domain.ioThreadsPolicy", "spec.domain.firmware.acpi",
        "spec.domain.devices.gpus", "spec.domain.devices.hostDevices", "spec.domain.devices.filesystems",
        "spec.domain.devices.clientPassthrough", "spec.domain.devices.downwardMetrics",
        "spec.domain.devices.autoattachVSOCK", "spec.domain.devices.networkInterfaceMultiqueue",
        "spec.domain.devices.interfaces[1].sriov",
        "spec.domain.devices.interfaces[1].binding", "spec.domain.devices.interfaces[1].macvtap",
        "spec.domain.devices.interfaces[1].passt", "spec.domain.devices.interfaces[0].dhcpOptions",
        "spec.livenessProbe", "spec.readinessProbe", "spec.resourceClaims",
        "spec.accessCredentials[0].sshPublicKey.propagationMethod.qemuGuestAgent",
        "spec.accessCredentials[1].userPassword",
        "spec.volumes[7].sysprep", "spec.volumes[8].ephemeral",
        "spec.volumes[11].downwardAPI", "spec.volumes[12].serviceAccount", "spec.volumes[13].downwardMetrics",
        "spec.volumes[14].memoryDump", "spec.domain.devices.watchdog.diag288",
        "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector"}
    assert got["spec.domain.devices.gpus"] == [
        "Unsupported value: not supported: GPUs (no node has a GPU to pass through)"]
    # Features behind KubeVirt's gates are refused with KubeVirt's texts while the gates are off.
    assert got["spec.domain.devices.disks.luns.reservation"] == [
        "PersistentReservation feature gate is not enabled in kubevirt-config"]
    assert got["spec.domain.devices.video"] == [
        "Video configuration is specified but the VideoConfig feature gate is not enabled"]
    assert got["spec.domain.devices.panicDevices"] == ["Panic Devices feature gate is not enabled in kubevirt-config"]


def test_a_vm_asking_for_a_gpu_is_refused_through_the_api_naming_the_field(resources):
    tmpl = vmi_doc(domain={"devices": {"gpus": [{"name": "g", "deviceName": "nvidia.com/TU104GL"}]},
                           "cpu": {"dedicatedCpuPlacement": True}})["spec"]
    e = refusal(resources, vm_doc(tmpl))
    assert e.causes == (
        ("spec.template.spec.domain.cpu.dedicatedCpuPlacement", "Unsupported value: not supported: dedicated CPUs "
         "(the nodes have no CPU manager to pin vCPUs to exclusive host CPUs)"),
        ("spec.template.spec.domain.devices.gpus",
         "Unsupported value: not supported: GPUs (no node has a GPU to pass through)"))
    assert str(e).startswith("spec.template.spec.domain.cpu.dedicatedCpuPlacement: Unsupported value: not supported")


async def test_the_grpc_door_and_the_webhook_carry_the_causes(api_server):
    import grpc
    doc = vm_doc(vmi_doc(domain={"devices": {"interfaces": [{"name": "default", "sriov": {}}]}},
                         networks=[{"name": "default", "pod": {}}])["spec"])
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=manifest.to_object(doc)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == ("spec.template.spec.domain.devices.interfaces[0].sriov: Unsupported value: not "
                                 "supported: SR-IOV (no node has SR-IOV network devices)")
    review = {"request": {"uid": "u1", "operation": "CREATE", "object": doc,
                          "kind": {"group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine"}}}
    out = admission.Admitter(api_server.resources).review("/virtualmachines-validate", review)["response"]
    assert not out["allowed"]
    assert out["status"]["details"]["causes"] == [{
        "type": "FieldValueNotSupported", "field": "spec.template.spec.domain.devices.interfaces[0].sriov",
        "message": "Unsupported value: not supported: SR-IOV (no node has SR-IOV network devices)"}]


def test_scheduling_settings_dns_and_strategies_are_accepted_and_kept(resources):
    doc = vmi_doc(
        priorityClassName="high-priority", hostname="db-0", subdomain="dbs.example", evictionStrategy="LiveMigrate",
        dnsPolicy="None", dnsConfig={"nameservers": ["10.0.0.10", "fd00::10"], "searches": ["svc.cluster.local"],
                                     "options": [{"name": "ndots", "value": "2"}]},
        schedulerName="default-scheduler",
        nodeSelector={"kubernetes.io/arch": "amd64"},
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"},
                     {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}],
             "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node01"]}]}]}},
                  "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                      {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                                          "labelSelector": {"matchLabels": {"app": "db"}}}}]}},
        topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}])
    stored = proto.inner(resources.create(manifest.to_object(copy.deepcopy(doc))))
    kept = manifest.to_dict(stored.spec)
    for key in ("priorityClassName", "hostname", "subdomain", "evictionStrategy", "dnsPolicy", "dnsConfig",
                "schedulerName", "tolerations", "affinity", "topologySpreadConstraints"):
        assert kept[key] == doc["spec"][key], key


@pytest.mark.parametrize("spec, field, message", [
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}},
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
     "Required value: must have at least one node selector term"),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}}},
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchExpressions[0].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["a"]}]}]}}}},
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchExpressions[0].values[0]", 'Invalid value: "a": must be an integer when `operator` is \'Lt\' or \'Gt\''),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.labels", "operator": "In", "values": ["x"]}]}]}}}},
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchFields[0].key", 'Invalid value: "metadata.labels": not a valid field selector key'),
    ({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 0, "preference": {}}]}}},
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
     "Invalid value: 0: must be in the range 1-100"),
    ({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}}]}}},
     "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
     "Required value: can not be empty"),
    ({"tolerations": [{"operator": "Equal", "value": "x"}]}, "spec.tolerations[0].operator",
     'Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all '
     'keys"'),
    ({"tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}]}, "spec.tolerations[0].effect",
     "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"),
    ({"tolerations": [{"key": "k", "effect": "Sometimes"}]}, "spec.tolerations[0].effect",
     'Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'),
    ({"topologySpreadConstraints": [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
     "spec.topologySpreadConstraints[0].maxSkew", "Invalid value: 0: must be greater than zero"),
    ({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                                     "minDomains": 2}]},
     "spec.topologySpreadConstraints[0].minDomains",
     "Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"),
    ({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
                                    {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
     "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}",
     'Duplicate value: "{zone, DoNotSchedule}"'),
    ({"schedulerName": "my-scheduler"}, "spec.schedulerName",
     'Unsupported value: not supported: scheduler "my-scheduler" (one scheduler places every VMI here: '
     '"default-scheduler")'),
    ({"priorityClassName": "High_Priority"}, "spec.priorityClassName",
     'Invalid value: "High_Priority": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
     "characters, '-' or '.', and must start and end with an alphanumeric character"),
    ({"dnsPolicy": "None"}, "spec.dnsConfig", "Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
    ({"dnsPolicy": "Sometimes"}, "spec.dnsPolicy",
     "DNSPolicy: Sometimes is not supported, valid values: [ClusterFirstWithHostNet ClusterFirst Default None ]"),
    ({"dnsConfig": {"nameservers": ["10.0.0.300"]}}, "spec.dnsConfig.nameservers[0]",
     'Invalid value: "10.0.0.300": must be valid IP address'),
    ({"evictionStrategy": "Evict"}, "spec.evictionStrategy",
     'Unsupported value: "Evict": supported values: "None", "LiveMigrate", "LiveMigrateIfPossible", "External"'),
    ({"hostname": "Db_0"}, "spec.hostname",
     "spec.hostname does not conform to the kubernetes DNS_LABEL rules : a lowercase RFC 1123 label must consist "
     "of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character "
     '("Db_0")'),
    ({"startStrategy": "Later"}, "spec.startStrategy", "spec.startStrategy is set with an unrecognized option: Later"),
])
def test_kubernetes_rules_for_the_pod_level_fields(resources, spec, field, message):
    assert causes(resources, vmi_doc(**spec)) == {field: [message]}


def test_update_volumes_strategy(resources):
    tmpl = vmi_doc()["spec"]
    resources.create(manifest.to_object(vm_doc(tmpl, updateVolumesStrategy="Replacement")))
    assert causes(resources, vm_doc(tmpl, updateVolumesStrategy="Migration")) == {"spec.updateVolumesStrategy": [
        "Unsupported value: not supported: volume migration (a changed volume takes effect when the VM restarts "
        "(Replacement))"]}
    assert causes(resources, vm_doc(tmpl, updateVolumesStrategy="Now")) == {"spec.updateVolumesStrategy": [
        'Unsupported value: "Now": supported values: "Replacement", "Migration"']}


# ---------------------------------------------------------------- clock, features, devices

WINDOWS_CLOCK = {"utc": {}, "timer": {"hpet": {"present": False}, "pit": {"tickPolicy": "delay"},
                                      "rtc": {"tickPolicy": "catchup"}, "hyperv": {}}}
WINDOWS_FEATURES = {"acpi": {}, "apic": {}, "smm": {},
                    "hyperv": {"relaxed": {}, "vapic": {}, "spinlocks": {"spinlocks": 8191}, "synic": {},
                               "synictimer": {"direct": {}}}}


def test_the_usual_windows_clock_and_enlightenments_are_accepted_with_kubevirts_defaults(resources):
    doc = vmi_doc(domain={"clock": WINDOWS_CLOCK, "features": WINDOWS_FEATURES})
    spec = proto.inner(resources.create(manifest.to_object(doc))).spec
    hv = spec.domain.features.hyperv
    # synictimer needs synic, synic needs vpindex: defaulting enables what is unset (pkg/defaults/hyperv.go).
    assert hv.vpindex.enabled and hv.spinlocks.spinlocks == 8191
    assert manifest.to_dict(spec.domain.clock) == WINDOWS_CLOCK


def test_hyperv_dependencies(resources):
    doc = vmi_doc(domain={"features": {"hyperv": {"spinlocks": {}, "evmcs": {}}}})
    spec = proto.inner(resources.create(manifest.to_object(doc))).spec
    assert spec.domain.features.hyperv.spinlocks.spinlocks == 4096   # SetDefaults_FeatureSpinlocks
    assert spec.domain.features.hyperv.vapic.enabled                # eVMCS needs vAPIC
    assert [(f.name, f.policy) for f in spec.domain.cpu.features] == [("vmx", "require")]
    f = "spec.domain.features.hyperv"
    doc = vmi_doc(domain={"features": {"hyperv": {"synic": {}, "vpindex": {"enabled": False}}}})
    assert causes(resources, doc) == {f"{f}.synic": [f"'{f}.synic' requires '{f}.vpindex', which was disabled."]}
    doc = vmi_doc(domain={"features": {"hyperv": {"spinlocks": {"spinlocks": 100}, "vendorid": {"vendorid": ""}}}})
    assert causes(resources, doc) == {f"{f}.spinlocks.spinlocks": ["Invalid value: 100: must be at least 4095"],
                                      f"{f}.vendorid.vendorid": ['Invalid value: "": a Hyper-V vendor id has 1 to 12 '
                                                                 "characters"]}


def test_clock_and_timer_rules(resources):
    c = "spec.domain.clock"
    doc = vmi_doc(domain={"clock": {"utc": {}, "timezone": "Europe/Paris",
                                    "timer": {"hpet": {"tickPolicy": "slew"}, "rtc": {"track": "host"}}}})
    assert causes(resources, doc) == {
        c: ["Invalid value: only one of utc or timezone may be set"],
        f"{c}.timer.hpet.tickPolicy": ['Unsupported value: "slew": supported values: "delay", "catchup", "merge", '
                                       '"discard"'],
        f"{c}.timer.rtc.track": ['Unsupported value: "host": supported values: "guest", "wall"']}
    arm = vmi_doc(domain={"clock": {"timer": {"hpet": {"present": False}}}, "features": {"kvm": {"hidden": True}},
                          "firmware": {"bootloader": {"efi": {"secureBoot": False}}}})
    arm["spec"]["architecture"] = "arm64"
    assert causes(resources, arm) == {
        f"{c}.timer.hpet": ["Unsupported value: not supported: hpet on arm64 (an x86 feature)"],
        "spec.domain.features.kvm": ["Unsupported value: not supported: kvm on arm64 (an x86 feature)"]}


def test_device_rules_and_feature_gates(resources, monkeypatch):
    d = "spec.domain.devices"
    doc = vmi_doc(domain={"devices": {
        "watchdog": {"name": "w", "i6300esb": {"action": "explode"}},
        "sound": {"model": "sb16"},
        "video": {"type": "vga"},
        "panicDevices": [{"model": "isa"}],
        "disks": [{"name": "d", "errorPolicy": "panic", "blockSize": {"custom": {"logical": 4096, "physical": 512}}},
                  {"name": "e", "blockSize": {"custom": {"logical": 1000, "physical": 4096}}}],
        "interfaces": [{"name": "default", "acpiIndex": 2}, {"name": "two", "acpiIndex": 2}]}},
        volumes=[{"name": "d", "emptyDisk": {"capacity": "1Gi"}}, {"name": "e", "emptyDisk": {"capacity": "1Gi"}}],
        networks=[{"name": "default", "pod": {}}, {"name": "two", "multus": {"networkName": "two"}}])
    assert causes(resources, doc) == {
        f"{d}.disks[0].errorPolicy": [f'{d}.disks[0].errorPolicy has invalid value "panic"'],
        f"{d}.disks[0].blockSize.custom.logical": ["Logical size 4096 must be the same or less than the physical "
                                                   "size of 512"],
        f"{d}.disks[1].blockSize.custom.logical": ["Provided size of 1000 is not a power of 2"],
        f"{d}.watchdog.i6300esb.action": ['Unsupported value: "explode": supported values: "poweroff", "reset", '
                                          '"shutdown"'],
        f"{d}.Sound": ["Sound device type is not supported. Options: 'ich9' or 'ac97'",
                       "Sound device requires a name field."],
        f"{d}.video": ["Video configuration is specified but the VideoConfig feature gate is not enabled"],
        f"{d}.panicDevices": ["Panic Devices feature gate is not enabled in kubevirt-config"],
        f"{d}.interfaces[0].acpiIndex": ["Duplicate value: 2"], f"{d}.interfaces[1].acpiIndex": ["Duplicate value: 2"]}
    monkeypatch.setenv(hostpaths.ENV_FEATURE_GATES, "VideoConfig,PanicDevices")
    doc = vmi_doc(domain={"devices": {"video": {"type": "bochs"}, "autoattachGraphicsDevice": False,
                                      "panicDevices": [{"model": "pvpanic"}, {"model": "crash"}, {"model": "hyperv"}]}})
    assert causes(resources, doc) == {
        f"{d}.video": ["Video configuration is not allowed when autoattachGraphicsDevice is set to false"],
        f"{d}.panicDevices[0].model": ["Unsupported value: not supported: the pvpanic panic device (libvirt 9.0 on "
                                       "the nodes knows only hyperv and isa)"],
        f"{d}.panicDevices[1].model": ["invalid PanicDeviceModel(crash)"]}


def test_a_reserved_lun_needs_the_persistent_reservation_gate(resources, monkeypatch):
    doc = vmi_doc(domain={"devices": {"disks": [{"name": "lun0", "lun": {"bus": "scsi", "reservation": True}}]}},
                  volumes=[{"name": "lun0", "persistentVolumeClaim": {"claimName": "san"}}])
    assert causes(resources, doc) == {"spec.domain.devices.disks.luns.reservation": [
        "PersistentReservation feature gate is not enabled in kubevirt-config"]}
    monkeypatch.setenv(hostpaths.ENV_FEATURE_GATES, "PersistentReservation")
    stored = proto.inner(resources.create(manifest.to_object(doc)))
    assert stored.spec.domain.devices.disks[0].lun.reservation


def test_autoattach_input_device_adds_kubevirts_tablet(resources):
    doc = vmi_doc(domain={"devices": {"autoattachInputDevice": True}})
    spec = proto.inner(resources.create(manifest.to_object(doc))).spec
    assert [(i.name, i.type, i.bus) for i in spec.domain.devices.inputs] == [("default-0", "tablet", "usb")]


# ---------------------------------------------------------------- instancetypes and preferences reach the new fields

def test_preferences_fill_the_new_fields_only_where_the_vmi_is_silent():
    """KubeVirt's preference/apply for what the whole schema added (clock.go, features.go, device.go,
    disk.go); the instancetype's ioThreadsPolicy is applied and may not be overridden."""
    from services.common import instancetype as it
    pref = manifest.parse({"clock": {"preferredTimer": {"hpet": {"present": False}, "rtc": {"tickPolicy": "catchup"}}},
                           "features": {"preferredHyperv": {"relaxed": {}, "vapic": {"enabled": False}},
                                        "preferredKvm": {"hidden": True}, "preferredPvspinlock": {"enabled": False},
                                        "preferredApic": {"endOfInterrupt": True}},
                           "devices": {"preferredSoundModel": "ac97", "preferredPanicDeviceModel": "hyperv",
                                       "preferredUseVirtioTransitional": True, "preferredBlockMultiQueue": True,
                                       "preferredAutoattachInputDevice": True, "preferredDisableHotplug": True,
                                       "preferredDiskBlockSize": {"custom": {"logical": 512, "physical": 4096}},
                                       "preferredDiskDedicatedIoThread": True}},
                          proto.itype.VirtualMachinePreferenceSpec)
    vmi = manifest.parse(vmi_doc(domain={
        "features": {"hyperv": {"vapic": {}}},
        "devices": {"sound": {"name": "s"}, "panicDevices": [{}, {"model": "isa"}], "blockMultiQueue": False,
                    "disks": [{"name": "a", "disk": {"bus": "virtio"}}, {"name": "b", "disk": {"bus": "sata"}}]}}),
        proto.kv.VirtualMachineInstance)
    assert it.unsupported(proto.CLUSTER_PREFERENCE, pref) == []
    it.apply_preference(pref, vmi.spec, vmi.metadata)
    dom = vmi.spec.domain
    assert manifest.to_dict(dom.clock) == {"timer": {"hpet": {"present": False}, "rtc": {"tickPolicy": "catchup"}}}
    assert manifest.to_dict(dom.features) == {"hyperv": {"relaxed": {}, "vapic": {}}, "kvm": {"hidden": True},
                                              "pvspinlock": {"enabled": False}, "apic": {"endOfInterrupt": True}}
    devs = dom.devices
    assert devs.sound.model == "ac97" and [p.model for p in devs.panicDevices] == ["hyperv", "isa"]
    assert devs.useVirtioTransitional and devs.HasField("blockMultiQueue") and not devs.blockMultiQueue
    assert devs.autoattachInputDevice and devs.disableHotplug
    assert [d.dedicatedIOThread for d in devs.disks] == [True, False]   # virtio disks only
    assert [d.HasField("dedicatedIOThread") for d in devs.disks] == [True, False]
    assert all(d.blockSize.custom.physical == 4096 for d in devs.disks)

    itype = manifest.parse({"cpu": {"guest": 2}, "memory": {"guest": "1Gi"}, "ioThreadsPolicy": "auto",
                            "schedulerName": "default-scheduler"}, proto.itype.VirtualMachineInstancetypeSpec)
    assert it.unsupported(proto.CLUSTER_INSTANCETYPE, itype) == []
    spec = proto.kv.VirtualMachineInstanceSpec()
    assert it.apply("spec", itype, None, spec, proto.kv.ObjectMeta()) == []
    assert (spec.domain.ioThreadsPolicy, spec.schedulerName) == ("auto", "default-scheduler")
    spec = proto.kv.VirtualMachineInstanceSpec(schedulerName="mine")
    spec.domain.ioThreadsPolicy = "shared"
    assert [c.path for c in it.apply("spec", itype, None, spec, proto.kv.ObjectMeta())] == [
        "spec.schedulerName", "spec.domain.ioThreadsPolicy"]


async def test_no_volume_hotplug_into_a_vmi_with_hotplug_disabled(api_server):
    from test_storage_hotplug import CONFLICT, add, add_opts, claim, create, refused, spec_with_boot_disk
    from services.common import vmstate
    await create(api_server, claim())
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "vm1"
    spec_with_boot_disk(vmi.spec)
    vmi.spec.domain.devices.disableHotplug = True
    vmi = await create(api_server, vmi)
    vmstate.set_phase(vmi, vmstate.RUNNING)
    await api_server.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))
    await refused(api_server, api_server.sub.AddVolume, add(proto.VMI, add_opts("data1")), CONFLICT,
                  "Unable to add volume [data1] because hotplug is disabled (spec.domain.devices.disableHotplug)")
