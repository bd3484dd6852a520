"""The whole of KubeVirt 1.6's VirtualMachineInstanceSpec parses (issue 14, item 4): a manifest with
every field prints back as itself, through our parser and through the Kubernetes backend's printing;
Kubernetes' IntOrString (a probe's port) takes a number or a name and nothing else."""
from __future__ import annotations

import copy
import pathlib

import pytest

from services.common import kube, manifest, proto

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
