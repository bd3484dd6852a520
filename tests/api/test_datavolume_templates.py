"""A VM's `spec.dataVolumeTemplates` at admission (issue 14, item 3): KubeVirt's ValidateDataVolumeTemplate
texts and field paths (all causes at once), the embedded namespace check, what CDI would refuse when the
DataVolume is made (judged on the VM), import sources under the host-path rules, and inferFromVolume
reading a template."""
from __future__ import annotations

import copy
import os

import pytest

from services.api import store
from services.api.errors import Invalid
from services.api.resources import Resources
from services.common import manifest, proto

GOOD = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-alpine-datavolume
  labels: {kubevirt.io/vm: vm-alpine-datavolume}
spec:
  runStrategy: Halted
  dataVolumeTemplates:
  - metadata:
      creationTimestamp: null
      name: alpine-dv
    spec:
      pvc:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 2Gi}}
      source:
        http: {url: "https://images.example.com/alpine.qcow2"}
  template:
    metadata:
      labels: {kubevirt.io/vm: vm-alpine-datavolume}
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {guest: 128Mi}
        devices:
          disks:
          - name: datavolumedisk1
            disk: {bus: virtio}
      volumes:
      - name: datavolumedisk1
        dataVolume: {name: alpine-dv}
"""


def doc():
    return copy.deepcopy(manifest.load_documents(GOOD)[0])


def template(d, i=0):
    return d["spec"]["dataVolumeTemplates"][i]


@pytest.fixture
def resources(tmp_path):
    db = store.Store(os.path.join(tmp_path, "store.db"))
    yield Resources(db)
    db.close()


def refused(resources, d) -> Invalid:
    with pytest.raises(Invalid) as e:
        resources.create(manifest.to_object(d))
    assert not resources.db.list(proto.VM)[0]
    return e.value


def test_a_kubevirt_style_vm_with_a_template_is_stored_as_written(resources):
    out = proto.inner(resources.create(manifest.to_object(doc())))
    t = out.spec.dataVolumeTemplates[0]
    assert t.metadata.name == "alpine-dv" and t.spec.pvc.resources.requests["storage"] == "2Gi"
    assert manifest.to_dict(out)["spec"]["dataVolumeTemplates"] == [{
        "metadata": {"name": "alpine-dv"},
        "spec": {"pvc": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
                 "source": {"http": {"url": "https://images.example.com/alpine.qcow2"}}}}]
    # The TypeMeta KubeVirt keeps on a template for compatibility parses too, and a claim volume may
    # name the template as well (KubeVirt accepts either reference).
    d = doc()
    d["metadata"]["name"] = "typed"
    template(d).update(apiVersion="cdi.kubevirt.io/v1beta1", kind="DataVolume")
    d["spec"]["template"]["spec"]["volumes"][0] = {"name": "datavolumedisk1",
                                                   "persistentVolumeClaim": {"claimName": "alpine-dv"}}
    assert proto.inner(resources.create(manifest.to_object(d))).spec.dataVolumeTemplates[0].kind == "DataVolume"


@pytest.mark.parametrize("change, field, text", [
    (lambda t: t["metadata"].pop("name"), "spec.dataVolumeTemplate[0].name",
     "'name' field must not be empty for DataVolumeTemplate entry spec.dataVolumeTemplate[0].name."),
    (lambda t: t["spec"].pop("pvc"), "spec.dataVolumeTemplate[0].PVC.Storage", "Missing Data volume PVC or Storage"),
    (lambda t: t["spec"].update(storage={"resources": {"requests": {"storage": "1Gi"}}}),
     "spec.dataVolumeTemplate[0].PVC.Storage", "Duplicate storage definition, both target storage and target pvc defined"),
    (lambda t: t["spec"].pop("source"), "spec.dataVolumeTemplate[0].source.sourceRef",
     "Data volume should have either Source, SourceRef, or be externally populated"),
    (lambda t: t["spec"].update(source={}), "spec.dataVolumeTemplate[0].source", "Missing dataVolume valid source"),
    (lambda t: t["spec"]["source"].update(blank={}), "spec.dataVolumeTemplate[0].source", "Multiple dataVolume sources"),
    (lambda t: t["metadata"].update(name="other-dv"), "spec.dataVolumeTemplate[0]",
     "DataVolumeTemplate entry spec.dataVolumeTemplate[0] must be referenced in the VMI template's 'volumes' list"),
    (lambda t: t["metadata"].update(namespace="elsewhere"), "spec.dataVolumeTemplates[0]",
     "Embedded DataVolume namespace elsewhere differs from VM namespace default"),
])
def test_kubevirts_template_checks_with_its_texts(resources, change, field, text):
    d = doc()
    change(template(d))
    e = refused(resources, d)
    assert e.causes == ((field, text),) and str(e) == f"{field}: {text}"


def test_every_template_is_judged_and_every_cause_given(resources):
    d = doc()
    second = copy.deepcopy(template(d))
    second["metadata"]["name"] = "unused"
    third = copy.deepcopy(template(d))
    third["spec"]["source"] = {}
    d["spec"]["dataVolumeTemplates"] += [second, third]
    e = refused(resources, d)
    assert [f for f, _ in e.causes] == ["spec.dataVolumeTemplate[1]", "spec.dataVolumeTemplate[2].source"]
    assert str(e).count("; ") == 1


@pytest.mark.parametrize("change, text", [
    # What CDI's webhook would refuse when the controller makes the DataVolume: refused on the VM instead.
    (lambda t: t["spec"]["source"]["http"].update(url="ftp://example.com/x.img"),
     'spec.dataVolumeTemplates[0].spec.source.http.url: Invalid value: "ftp://example.com/x.img": Invalid source '
     "URL: the scheme must be file, http or https (or an absolute path)"),
    (lambda t: t["spec"]["pvc"]["resources"]["requests"].pop("storage"),
     "spec.dataVolumeTemplates[0].spec.pvc.resources.requests[storage]: Required value"),
    (lambda t: t["spec"]["pvc"].update(accessModes=["ReadWriteSometimes"]),
     'spec.dataVolumeTemplates[0].spec.pvc.accessModes: Unsupported value: "ReadWriteSometimes": supported '
     'values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'),
    (lambda t: t["metadata"].update(labels={"bad key!": "x"}),
     'spec.dataVolumeTemplates[0].metadata.labels: Invalid value: "bad key!": name part must consist of '
     "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most "
     "63 characters)"),
    # The importer runs on the node: the host-path rules of a DataVolume's own source hold for a template's.
    (lambda t: t["spec"]["source"]["http"].update(url="http://127.0.0.1:8443/metrics"),
     'spec.dataVolumeTemplates[0].spec.source.http.url: Forbidden: "http://127.0.0.1:8443/metrics": 127.0.0.1 is a '
     "loopback, link-local or unspecified address; imports may not fetch from the node's own network (operator "
     "setting VIRTMESH_IMPORT_ALLOW_INTERNAL)"),
])
def test_the_datavolume_it_would_make_is_judged_on_the_vm(resources, change, text):
    d = doc()
    change(template(d))
    assert str(refused(resources, d)) == text


def test_a_name_that_is_no_object_name_and_a_duplicate_name_are_refused(resources):
    d = doc()
    template(d)["metadata"]["name"] = "Alpine_DV"
    d["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"] = "Alpine_DV"
    assert str(refused(resources, d)).startswith(
        'spec.dataVolumeTemplates[0].metadata.name: Invalid value: "Alpine_DV": a lowercase RFC 1123 subdomain')
    d = doc()
    d["spec"]["dataVolumeTemplates"].append(copy.deepcopy(template(d)))
    e = refused(resources, d)
    assert e.causes == (("spec.dataVolumeTemplates[1].metadata.name", 'Duplicate value: "alpine-dv"'),)


def test_an_update_is_judged_the_same(resources):
    vm = proto.inner(resources.create(manifest.to_object(doc())))
    vm.spec.dataVolumeTemplates[0].spec.source.http.url = "gopher://old.example.com/x"
    with pytest.raises(Invalid) as e:
        resources.update(proto.wrap(vm))
    assert str(e.value).startswith("spec.dataVolumeTemplates[0].spec.source.http.url: Invalid value")


def test_infer_from_volume_reads_the_template_before_any_stored_datavolume(resources):
    resources.create(manifest.to_object({
        "apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
        "metadata": {"name": "u1.small"}, "spec": {"cpu": {"guest": 1}, "memory": {"guest": "128Mi"}}}))
    resources.create(manifest.to_object({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "golden", "labels": {"instancetype.kubevirt.io/default-instancetype": "u1.small"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
    d = doc()
    del d["spec"]["template"]["spec"]["domain"]["memory"]
    template(d)["spec"]["source"] = {"pvc": {"name": "golden"}}
    d["spec"]["instancetype"] = {"inferFromVolume": "datavolumedisk1"}
    out = proto.inner(resources.create(manifest.to_object(d)))
    assert (out.spec.instancetype.name, out.spec.instancetype.kind) == ("u1.small", "virtualmachineclusterinstancetype")
    # An import has no labels to infer from: KubeVirt's text, with the field named.
    d = doc()
    d["metadata"]["name"] = "imported"
    d["spec"]["instancetype"] = {"inferFromVolume": "datavolumedisk1"}
    e = refused_again(resources, d)
    assert "unable to infer defaults from DataVolumeSpec as DataVolumeSource is not supported" in str(e)
    assert str(e).startswith("spec.instancetype")


def refused_again(resources, d) -> Invalid:
    with pytest.raises(Invalid) as e:
        resources.create(manifest.to_object(d))
    return e.value


def test_only_a_clone_may_leave_its_size_to_the_source(resources):
    d = doc()
    template(d)["spec"] = {"source": {"pvc": {"namespace": "golden", "name": "fedora"}}, "storage": {}}
    assert proto.inner(resources.create(manifest.to_object(d))).spec.dataVolumeTemplates[0].spec.HasField("storage")
    d = doc()
    d["metadata"]["name"] = "sizeless"
    template(d)["spec"] = {"source": {"http": {"url": "https://images.example.com/x.img"}}, "storage": {}}
    assert str(refused_again(resources, d)) == "spec.dataVolumeTemplates[0].spec.storage.resources.requests[storage]: " \
                                         "Required value"
