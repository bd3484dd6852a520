"""Admission of instance types, preferences, the VMs referencing them and the KubeVirt object
(services/api/instancetype.py), through the api's Resources over a real SQLite store, and through the
cluster-mode admission webhooks. Manifests in KubeVirt 1.6's style (instancetype.kubevirt.io/v1beta1)."""
from __future__ import annotations

import copy
import os

import pytest

from services.api import admission, store
from services.api.errors import Invalid
from services.api.resources import Resources
from services.common import manifest, proto

CLUSTER_IT = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata:
  name: cx1.medium
  labels: {instancetype.kubevirt.io/vendor: example.org}
spec:
  cpu:
    guest: 4
  memory:
    guest: 2Gi
"""

NS_IT = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: small, namespace: default}
spec:
  cpu: {guest: 1, model: Haswell-noTSX}
  memory: {guest: 512Mi, overcommitPercent: 10}
  nodeSelector: {disktype: ssd}
  annotations: {example.org/sized: "true"}
"""

CLUSTER_PREF = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterPreference
metadata: {name: linux.virtio}
spec:
  cpu: {preferredCPUTopology: cores}
  devices:
    preferredDiskBus: virtio
    preferredInterfaceModel: virtio
  requirements:
    cpu: {guest: 2}
    memory: {guest: 1Gi}
"""


def vm_doc(name="vm1", instancetype=None, preference=None, domain=None, **spec) -> dict:
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
           "spec": {"runStrategy": "Halted",
                    "template": {"spec": {"domain": domain if domain is not None else {"devices": {}}}}, **spec}}
    if instancetype is not None:
        doc["spec"]["instancetype"] = instancetype
    if preference is not None:
        doc["spec"]["preference"] = preference
    return doc


def obj(text_or_doc):
    doc = manifest.load_documents(text_or_doc)[0] if isinstance(text_or_doc, str) else text_or_doc
    return manifest.to_object(copy.deepcopy(doc))


@pytest.fixture
def resources(tmp_path):
    db = store.Store(os.path.join(tmp_path, "store.db"))
    r = Resources(db)
    yield r
    db.close()


@pytest.fixture
def stocked(resources):
    for text in (CLUSTER_IT, NS_IT, CLUSTER_PREF):
        resources.create(obj(text))
    return resources


def refused(resources, doc) -> Invalid:
    with pytest.raises(Invalid) as e:
        resources.create(obj(doc))
    return e.value


# ---------------------------------------------------------------- the kinds

def test_v1alpha_manifests_are_no_longer_served():
    for version in ("v1alpha1", "v1alpha2"):
        doc = manifest.load_documents(CLUSTER_IT.replace("v1beta1", version))[0]
        with pytest.raises(manifest.ManifestError) as e:
            manifest.to_object(doc)
        assert str(e.value) == (
            f"apiVersion: 'instancetype.kubevirt.io/{version}' is no longer served for "
            f"VirtualMachineClusterInstancetype: instancetype.kubevirt.io/{version} VirtualMachineClusterInstancetypes "
            "is now deprecated and will be removed in v1 (use instancetype.kubevirt.io/v1beta1)")


def test_objects_are_stored_with_their_scope(stocked):
    it = proto.inner(stocked.get(proto.CLUSTER_INSTANCETYPE, "", "cx1.medium"))
    assert it.metadata.namespace == "" and it.metadata.uid and it.metadata.generation == 1
    assert (it.apiVersion, it.kind) == ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype")
    assert proto.inner(stocked.get(proto.INSTANCETYPE, "default", "small")).spec.memory.overcommitPercent == 10


@pytest.mark.parametrize("kind, spec, message", [
    ("VirtualMachineInstancetype", {"memory": {"guest": "1Gi"}},
     "spec.cpu.guest: Required value: an instance type provides at least 1 vCPU"),
    ("VirtualMachineInstancetype", {"cpu": {"guest": 1}}, "spec.memory.guest: Required value"),
    ("VirtualMachineInstancetype", {"cpu": {"guest": 1}, "memory": {"guest": "1Gi", "overcommitPercent": 150}},
     "spec.memory.overcommitPercent: Invalid value: spec.memory.overcommitPercent '150': must be in range between "
     "0 and 100."),
    ("VirtualMachineClusterInstancetype", {"cpu": {"guest": 1}, "memory": {"guest": "1Gi", "hugepages": {"pageSize": "2Mi"}}},
     "spec.memory.hugepages: Unsupported value: not supported: this mesh's VirtualMachineInstances have no hugepages"),
    ("VirtualMachineClusterInstancetype", {"cpu": {"guest": 1}, "memory": {"guest": "1Gi"},
                                           "gpus": [{"name": "g", "deviceName": "nvidia.com/A100"}]},
     "spec.gpus: Unsupported value: not supported: this mesh's VirtualMachineInstances have no GPUs"),
    ("VirtualMachinePreference", {"cpu": {"preferredCPUTopology": "preferNuma"}},
     'spec.cpu.preferredCPUTopology: Invalid value: "preferNuma": unknown preferredCPUTopology preferNuma'),
    ("VirtualMachinePreference", {"cpu": {"preferredCPUTopology": "spread",
                                          "spreadOptions": {"across": "CoresThreads", "ratio": 4}}},
     "spec.cpu.spreadOptions.ratio: only a ratio of 2 (1 core 2 threads) is allowed when spreading vCPUs over cores "
     "and threads"),
    ("VirtualMachineClusterPreference", {"devices": {"preferredDiskBus": "ide"}},
     'spec.devices.preferredDiskBus: Unsupported value: "ide": supported values: "virtio", "sata", "scsi", "usb"'),
    ("VirtualMachineClusterPreference", {"devices": {"preferredVirtualGPUOptions": {"display": {"enabled": True}}}},
     "spec.devices.preferredVirtualGPUOptions: Unsupported value: not supported: this mesh's VirtualMachineInstances "
     "have no GPUs"),
])
def test_bad_instancetypes_and_preferences_are_refused(resources, kind, spec, message):
    namespaced = "Cluster" not in kind
    doc = {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": kind,
           "metadata": {"name": "x", **({"namespace": "default"} if namespaced else {})}, "spec": spec}
    assert str(refused(resources, doc)) == message


# ---------------------------------------------------------------- VMs that reference them

def test_a_vm_sized_by_a_cluster_instancetype_needs_no_memory_and_gets_the_cluster_kind(stocked):
    out = proto.inner(stocked.create(obj(vm_doc(instancetype={"name": "cx1.medium"},
                                                 preference={"name": "linux.virtio"}))))
    assert out.spec.instancetype.kind == "virtualmachineclusterinstancetype"   # the VM mutator's default
    assert out.spec.preference.kind == "virtualmachineclusterpreference"
    # The stored spec is the user's: nothing of the instance type is written into it.
    assert not out.spec.template.spec.domain.HasField("memory") and not out.spec.template.spec.domain.cpu.sockets


def test_conflicting_fields_are_refused_each_named_with_kubevirts_text(stocked):
    e = refused(stocked, vm_doc(instancetype={"name": "cx1.medium"},
                                domain={"cpu": {"sockets": 2}, "memory": {"guest": "1Gi"}, "devices": {}}))
    assert e.causes == (
        ("spec.template.spec.domain.cpu.sockets",
         "VM field(s) spec.template.spec.domain.cpu.sockets conflicts with selected instance type"),
        ("spec.template.spec.domain.memory",
         "VM field(s) spec.template.spec.domain.memory conflicts with selected instance type"))
    assert str(e).startswith("spec.template.spec.domain.cpu.sockets: VM field(s) spec.template.spec.domain.cpu.sockets "
                             "conflicts with selected instance type, VM field(s) spec.template.spec.domain.memory")
    e = refused(stocked, vm_doc(instancetype={"name": "cx1.medium"},
                                domain={"resources": {"requests": {"cpu": "2", "memory": "1Gi"}}, "devices": {}}))
    assert [c[0] for c in e.causes] == ["spec.template.spec.domain.resources.requests.cpu",
                                        "spec.template.spec.domain.resources.requests.memory"]
    e = refused(stocked, vm_doc(instancetype={"name": "small", "kind": "VirtualMachineInstancetype"},
                                domain={"cpu": {"model": "host-passthrough"}, "devices": {}},
                                template={"metadata": {"annotations": {"example.org/sized": "no"}},
                                          "spec": {"nodeSelector": {"zone": "a"}, "domain": {
                                              "cpu": {"model": "host-passthrough"}, "devices": {}}}}))
    assert [c[0] for c in e.causes] == ["spec.template.spec.nodeSelector", "spec.template.spec.domain.cpu.model",
                                        "annotations.example.org/sized"]


def test_a_preference_never_conflicts(stocked):
    doc = vm_doc(preference={"name": "linux.virtio"}, domain={
        "cpu": {"cores": 2}, "memory": {"guest": "1Gi"}, "devices": {"disks": [{"name": "root", "disk": {"bus": "sata"}}]}})
    doc["spec"]["template"]["spec"]["volumes"] = [{"name": "root", "containerDisk": {"image": "quay.io/x/y"}}]
    out = proto.inner(stocked.create(obj(doc)))
    assert out.spec.template.spec.domain.devices.disks[0].disk.bus == "sata"


@pytest.mark.parametrize("matcher, field, text", [
    ({"name": "nope"}, "spec.instancetype",
     'Failure to find instancetype: virtualmachineclusterinstancetypes.instancetype.kubevirt.io "nope" not found'),
    ({"name": "nope", "kind": "VirtualMachineInstancetype"}, "spec.instancetype",
     'Failure to find instancetype: virtualmachineinstancetypes.instancetype.kubevirt.io "nope" not found'),
    ({"name": "cx1.medium", "kind": "Flavor"}, "spec.instancetype",
     "Failure to find instancetype: got unexpected kind in InstancetypeMatcher: Flavor"),
])
def test_a_missing_instancetype_is_refused_with_the_field(stocked, matcher, field, text):
    e = refused(stocked, vm_doc(instancetype=matcher))
    assert str(e) == f"{field}: {text}" and e.causes == ((field, text),)


def test_a_missing_preference_is_refused_with_the_field(stocked):
    e = refused(stocked, vm_doc(instancetype={"name": "cx1.medium"},
                                preference={"name": "windows", "kind": "virtualmachinepreference"}))
    assert str(e) == ('spec.preference: Failure to find preference: virtualmachinepreferences.instancetype.kubevirt.io '
                      '"windows" not found')


def test_matcher_rules(stocked):
    assert str(refused(stocked, vm_doc(instancetype={"kind": "virtualmachineclusterinstancetype"}))) == (
        "spec.instancetype: Required value: Either Name or InferFromVolume should be provided within the "
        "InstancetypeMatcher")
    assert str(refused(stocked, vm_doc(preference={"name": "linux.virtio", "inferFromVolume": "root"}))) == (
        "spec.preference.name: Name should not be provided when InferFromVolume is used within the PreferenceMatcher")


def test_preference_requirements_and_spread(stocked):
    stocked.create(obj(CLUSTER_IT.replace("cx1.medium", "tiny").replace("guest: 4", "guest: 1")))
    assert str(refused(stocked, vm_doc(instancetype={"name": "tiny"}, preference={"name": "linux.virtio"}))) == (
        "spec.instancetype: failure checking preference requirements: insufficient CPU resources of 1 vCPU provided "
        "by instance type, preference requires 2 vCPU")
    # Without an instance type the VM's own topology must meet it, counted as the preference prefers (cores).
    assert str(refused(stocked, vm_doc(preference={"name": "linux.virtio"}, domain={
        "cpu": {"sockets": 2}, "memory": {"guest": "2Gi"}, "devices": {}}))) == (
        "spec.template.spec.domain.cpu.cores: failure checking preference requirements: insufficient CPU resources "
        "of 1 vCPU provided by VirtualMachine, preference requires 2 vCPU provided as cores")
    assert str(refused(stocked, vm_doc(preference={"name": "linux.virtio"}, domain={
        "cpu": {"cores": 2}, "memory": {"guest": "512Mi"}, "devices": {}}))) == (
        "spec.template.spec.domain.memory: failure checking preference requirements: insufficient Memory resources "
        "of 512Mi provided by VirtualMachine, preference requires 1Gi")
    stocked.create(obj({"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterPreference",
                        "metadata": {"name": "spread3"},
                        "spec": {"cpu": {"preferredCPUTopology": "spread", "spreadOptions": {"ratio": 3}}}}))
    assert str(refused(stocked, vm_doc(instancetype={"name": "cx1.medium"}, preference={"name": "spread3"}))) == (
        "instancetype.spec.cpu.guest: 4 vCPUs provided by the instance type are not divisible by the "
        "Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of 3 provided by the preference")


def test_the_applied_template_is_what_validation_judges(stocked):
    stocked.create(obj(CLUSTER_IT.replace("cx1.medium", "huge").replace("guest: 4", "guest: 5000")))
    e = refused(stocked, vm_doc(instancetype={"name": "huge"}))
    assert str(e).startswith("spec.template.spec.domain.cpu.sockets: ") and "5000" in str(e)


def test_infer_from_volume_reads_the_claims_labels(stocked):
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "fedora-root", "labels": {
                 "instancetype.kubevirt.io/default-instancetype": "cx1.medium",
                 "instancetype.kubevirt.io/default-preference": "linux.virtio"}},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    stocked.create(obj(claim))
    volumes = [{"name": "root", "persistentVolumeClaim": {"claimName": "fedora-root"}}]
    domain = {"devices": {"disks": [{"name": "root", "disk": {}}]}}
    doc = vm_doc(instancetype={"inferFromVolume": "root"}, preference={"inferFromVolume": "root"}, domain=domain)
    doc["spec"]["template"]["spec"]["volumes"] = volumes
    out = proto.inner(stocked.create(obj(doc)))
    assert (out.spec.instancetype.name, out.spec.instancetype.kind) == ("cx1.medium", "virtualmachineclusterinstancetype")
    assert out.spec.preference.name == "linux.virtio" and not out.spec.instancetype.inferFromVolume
    # A claim without the labels: Reject (the default) refuses, Ignore drops the matcher.
    claim["metadata"] = {"name": "plain"}
    stocked.create(obj(claim))
    doc["metadata"]["name"] = "vm2"
    doc["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "plain"
    doc["spec"]["template"]["spec"]["domain"]["memory"] = {"guest": "1Gi"}
    doc["spec"].pop("preference")
    assert str(refused(stocked, doc)) == (
        "spec.instancetype.inferFromVolume: failure inferring instancetype: unable to find required "
        "instancetype.kubevirt.io/default-instancetype label on the volume")
    doc["spec"]["instancetype"]["inferFromVolumeFailurePolicy"] = "Ignore"
    out = proto.inner(stocked.create(obj(doc)))
    assert not out.spec.HasField("instancetype")


def test_a_revision_by_name(stocked):
    from services.common import instancetype as it
    assert str(refused(stocked, vm_doc(instancetype={"name": "cx1.medium", "revisionName": "r1"}))) == (
        'spec.instancetype: Failure to find instancetype: controllerrevisions.apps "r1" not found')
    owner = proto.kv.VirtualMachine()
    owner.metadata.name, owner.metadata.namespace, owner.metadata.uid = "vm1", "default", "u1"
    rev = it.new_revision(owner, proto.CLUSTER_INSTANCETYPE,
                          proto.inner(stocked.get(proto.CLUSTER_INSTANCETYPE, "", "cx1.medium")))
    rev.metadata.name = "r1"
    stocked.create(proto.wrap(rev))
    # The revision's copy is what applies: memory in the template conflicts with it.
    e = refused(stocked, vm_doc(instancetype={"name": "cx1.medium", "revisionName": "r1"},
                                domain={"memory": {"guest": "1Gi"}, "devices": {}}))
    assert e.causes[0][0] == "spec.template.spec.domain.memory"
    stocked.create(obj(vm_doc(instancetype={"name": "cx1.medium", "revisionName": "r1"})))
    vm = proto.inner(stocked.get(proto.VM, "default", "vm1"))
    renamed = proto.copy(vm)
    renamed.spec.instancetype.name = "other"
    with pytest.raises(Invalid) as e:
        stocked.update(proto.wrap(renamed))
    assert str(e.value) == ("spec.instancetype.revisionName: the Matcher Name has been updated without updating the "
                            "RevisionName")


def test_a_start_is_not_refused_because_the_object_went_later(stocked):
    stocked.create(obj(vm_doc(instancetype={"name": "cx1.medium"})))
    stocked.delete(proto.CLUSTER_INSTANCETYPE, "", "cx1.medium")
    vm = proto.inner(stocked.get(proto.VM, "default", "vm1"))
    started = proto.copy(vm)
    started.spec.runStrategy = "Always"
    assert proto.inner(stocked.update(proto.wrap(started))).spec.runStrategy == "Always"
    edited = proto.copy(proto.inner(stocked.get(proto.VM, "default", "vm1")))
    edited.spec.template.spec.domain.devices.autoattachSerialConsole = False
    with pytest.raises(Invalid) as e:   # a new template cannot be judged without the object
        stocked.update(proto.wrap(edited))
    assert str(e.value).startswith("spec.instancetype: Failure to find instancetype: ")


# ---------------------------------------------------------------- the KubeVirt object

KUBEVIRT = """
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata: {name: kubevirt, namespace: kubevirt}
spec:
  certificateRotateStrategy: {}
  configuration:
    developerConfiguration:
      featureGates: [HostDisk]
    instancetype:
      referencePolicy: expand
    migrations:
      parallelMigrationsPerCluster: 2
      bandwidthPerMigration: 64Mi
  customizeComponents: {}
  imagePullPolicy: IfNotPresent
  workloadUpdateStrategy: {}
"""


def test_a_vmi_update_judges_its_metadata_and_not_again_the_spec_it_was_admitted_with(resources, tmp_path,
                                                                                          monkeypatch):
    """KubeVirt's VMI update admitter judges what an update changes: a running VMI's hostDisk, admitted while
    the HostDisk gate was on, still takes a label once the gate is off (a migration's hand-off writes one);
    its labels are still judged, and a new spec is judged whole."""
    monkeypatch.setenv("VIRTMESH_HOST_PATHS", str(tmp_path))
    kv = proto.inner(resources.create(obj(KUBEVIRT)))
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name = "hd"
    vmi.spec.domain.memory.guest = "64Mi"
    vol = vmi.spec.volumes.add(name="disk")
    vol.hostDisk.path, vol.hostDisk.type, vol.hostDisk.capacity = str(tmp_path / "disk.img"), "DiskOrCreate", "1Gi"
    vmi.spec.domain.devices.disks.add(name="disk")
    created = proto.inner(resources.create(proto.wrap(vmi)))
    off = proto.copy(kv)
    off.spec.configuration.developerConfiguration.ClearField("featureGates")
    resources.update(proto.wrap(off))
    created.metadata.labels["kubevirt.io/migrationTargetNodeName"] = "node02"
    labelled = proto.inner(resources.update(proto.wrap(created)))
    assert labelled.metadata.labels["kubevirt.io/migrationTargetNodeName"] == "node02"
    labelled.metadata.labels["app"] = "a b"
    with pytest.raises(Invalid) as e:
        resources.update(proto.wrap(labelled))
    assert str(e.value).startswith("metadata.labels: Invalid value")
    del labelled.metadata.labels["app"]
    labelled.spec.domain.memory.guest = "128Mi"
    with pytest.raises(Invalid) as e:
        resources.update(proto.wrap(labelled))
    assert "HostDisk feature gate is not enabled" in str(e.value)


def test_one_kubevirt_object_per_mesh(resources):
    from services.common import kvconfig
    kv = proto.inner(resources.create(obj(KUBEVIRT)))
    config = kvconfig.ClusterConfig.of([kv])
    assert config.reference_policy() == "expand" and config.feature_gates() == ("HostDisk",)
    m = config.migrations()
    assert (m.parallelMigrationsPerCluster, m.bandwidthPerMigration, m.parallelOutboundMigrationsPerNode,
            m.completionTimeoutPerGiB, m.progressTimeout, m.nodeDrainTaintKey) == (
        2, "64Mi", 2, 150, 150, "kubevirt.io/drain")
    assert kvconfig.ClusterConfig.of([]).reference_policy() == "reference"
    e = refused(resources, manifest.load_documents(KUBEVIRT.replace("name: kubevirt,", "name: second,"))[0])
    assert str(e) == ('metadata.name: Invalid value: "second": Kubevirt is already created (kubevirt/kubevirt): one '
                      "KubeVirt object per mesh")
    changed = proto.copy(kv)
    changed.spec.configuration.instancetype.referencePolicy = "expandSome"
    with pytest.raises(Invalid) as e:
        resources.update(proto.wrap(changed))
    assert str(e.value) == ('spec.configuration.instancetype.referencePolicy: Unsupported value: "expandSome": '
                            'supported values: "reference", "expand", "expandAll"')
    changed.spec.configuration.instancetype.referencePolicy = "expandAll"
    assert proto.inner(resources.update(proto.wrap(changed))).metadata.generation == 2


# ---------------------------------------------------------------- the same through the admission webhooks

def review(op, doc, old=None):
    request = {"uid": "r1", "operation": op, "object": doc}
    if old is not None:
        request["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def test_webhooks_refuse_with_every_cause(stocked):
    admitter = admission.Admitter(stocked)
    doc = vm_doc(instancetype={"name": "cx1.medium"},
                 domain={"cpu": {"cores": 2}, "memory": {"guest": "1Gi"}, "devices": {}})
    out = admitter.review("/virtualmachines-validate", review("CREATE", doc))["response"]
    assert out["allowed"] is False
    assert out["status"]["details"]["causes"] == [
        {"type": "FieldValueInvalid", "field": "spec.template.spec.domain.cpu.cores",
         "message": "VM field(s) spec.template.spec.domain.cpu.cores conflicts with selected instance type"},
        {"type": "FieldValueInvalid", "field": "spec.template.spec.domain.memory",
         "message": "VM field(s) spec.template.spec.domain.memory conflicts with selected instance type"}]
    missing = admitter.review("/virtualmachines-validate", review("CREATE", vm_doc(instancetype={"name": "gone"})))
    cause, = missing["response"]["status"]["details"]["causes"]
    assert cause["field"] == "spec.instancetype" and cause["message"].startswith("Failure to find instancetype: ")
    # The mutator defaults the kinds on create and on update, as KubeVirt's VM mutator does.
    mutated = admitter.review("/virtualmachines-mutate", review("UPDATE", vm_doc(instancetype={"name": "cx1.medium"}),
                                                                vm_doc()))["response"]
    import base64
    import json
    assert {"op": "add", "path": "/spec/instancetype/kind", "value": "virtualmachineclusterinstancetype"} in \
        json.loads(base64.b64decode(mutated["patch"]))
    bad = {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
           "metadata": {"name": "x"}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "1Gi"}, "hostDevices": [
               {"name": "h", "deviceName": "example.org/nic"}]}}
    out = admitter.review("/virtualmachineclusterinstancetypes-validate", review("CREATE", bad))["response"]
    assert out["status"]["details"]["causes"][0]["field"] == "spec.hostDevices"
