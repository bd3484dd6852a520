"""KubeVirt manifests parse straight into the protobuf messages and print back as KubeVirt JSON."""
import pytest

from services.common import manifest, proto

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: testvm
  labels: {kubevirt.io/vm: testvm}
spec:
  runStrategy: Always
  template:
    metadata:
      labels: {kubevirt.io/domain: testvm}
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        cpu: {cores: 2}
        devices:
          autoattachSerialConsole: true
          disks:
          - name: containerdisk
            disk: {bus: virtio}
            bootOrder: 1
          interfaces:
          - name: default
            masquerade: {}
        resources:
          requests: {memory: 64M}
        machine: {type: q35}
        firmware:
          kernelBoot:
            kernelArgs: console=ttyS0
            container: {image: /var/guest, kernelPath: /kernel, initrdPath: /initrd.img}
      networks:
      - name: default
        pod: {}
      volumes:
      - name: containerdisk
        containerDisk: {image: quay.io/kubevirt/cirros-container-disk-demo}
      nodeSelector: {kubernetes.io/arch: amd64}
"""


def test_round_trip_prints_kubevirt_json():
    doc = manifest.load_documents(VM)[0]
    obj = manifest.to_object(doc)
    assert proto.kind_of(obj) == proto.VM
    assert manifest.to_dict(obj.virtualMachine) == doc


def test_presence_is_kept_for_optional_fields():
    doc = manifest.load_documents(VM)[0]
    vm = manifest.to_object(doc).virtualMachine
    assert vm.spec.template.spec.HasField("terminationGracePeriodSeconds")
    assert vm.spec.template.spec.terminationGracePeriodSeconds == 0
    assert vm.spec.template.spec.domain.devices.interfaces[0].HasField("masquerade")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["spec"]["template"]["spec"]["domain"].update(devicez={}),
     "spec.template.spec.domain.devicez: unknown field"),
    (lambda d: d["spec"].update(runStrategy=3), "spec.runStrategy: expected string, got integer"),
    (lambda d: d["spec"]["template"]["spec"]["domain"]["cpu"].update(cores="two"),
     "spec.template.spec.domain.cpu.cores: expected integer, got string"),
    (lambda d: d["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0].update(bus="virtio"),
     "spec.template.spec.domain.devices.disks[0].bus: unknown field"),
    (lambda d: d["spec"]["template"]["spec"].update(volumes={}),
     "spec.template.spec.volumes: expected array, got object"),
    (lambda d: d["metadata"].update(labels={"a": 1}), "metadata.labels.a: expected string, got integer"),
    (lambda d: d["spec"]["template"]["spec"]["domain"]["cpu"].update(cores=-1),
     "spec.template.spec.domain.cpu.cores: -1 is out of range"),
    (lambda d: d.pop("kind"), "kind: required field is missing"),
    (lambda d: d.update(apiVersion="kubevirt.io/v2"), "apiVersion: 'kubevirt.io/v2' is not served"),
])
def test_bad_manifests_name_the_field(mutate, message):
    doc = manifest.load_documents(VM)[0]
    mutate(doc)
    with pytest.raises(manifest.ManifestError) as e:
        manifest.to_object(doc)
    assert str(e.value).startswith(message)


def test_multi_document_and_lists():
    docs = manifest.load_documents(VM + "\n---\n" + '{"kind": "List", "items": [{"a": 1}, {"b": 2}]}')
    assert len(docs) == 3


def test_invalid_yaml_is_one_line():
    with pytest.raises(manifest.ManifestError) as e:
        manifest.load_documents("a: [1, 2")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["{" * 5000, "[" * 70 + "]" * 70, "a: " + "[" * 3000, '{"k": ' * 80 + "1" + "}" * 80])
def test_flow_collections_nested_too_deep_are_refused_before_the_python_scanner(text):
    """libyaml's event stream finds the level too deep (<input>); PyYAML's own scanner would first pay
    per token for every open level (seconds for a few thousand) before the loader named a path."""
    with pytest.raises(manifest.ManifestError, match=rf"^<input>: nested deeper than {manifest.MAX_DEPTH} levels$"):
        manifest.load_documents(text)


def test_flow_collections_within_the_limit_load():
    doc = manifest.load_documents('{"a": ' * 60 + "1" + "}" * 60)[0]
    for _ in range(59):
        doc = doc["a"]
    assert doc == {"a": 1}
