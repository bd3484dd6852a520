"""Unit checks of protos/crds.py: the CRD schemas cover the proto messages, refuse what the
apiserver's strict validation must refuse, and carry the facts of the KINDS table."""
import importlib.util
import inspect
import pathlib
import re

import pytest
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FieldDescriptor as FD

from services.common.domain import RUN_STRATEGIES
from services.common import manifest, proto, vmstate
from services.controller import vm as vm_controller

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("virtmesh_crds", ROOT / "protos" / "crds.py")
crds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crds)

OURS = [k for k, info in proto.KINDS.items() if info.ours]


def _schema(kind):
    return crds.crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _at(schema, path):
    """The schema node of a field path (array items add no step)."""
    node = schema
    for step in path.split("."):
        if node["type"] == "array":
            node = node["items"]
        node = node["properties"][step]
    return node


# A small structural validator: what the apiserver checks for a CRD with these schema keywords.
def _errors(value, s, path):
    if value is None:  # the apiserver prunes nulls of non-nullable fields
        return []
    if s.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, (int, str)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: must be an integer or a string"]
    t = s["type"]
    ok = {"integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
          "array": lambda v: isinstance(v, list), "object": lambda v: isinstance(v, dict)}[t](value)
    if not ok:
        return [f"{path}: must be of type {t}"]
    if "enum" in s and value not in s["enum"]:
        return [f"{path}: Unsupported value: {value!r}"]
    if "minimum" in s and value < s["minimum"]:
        return [f"{path}: should be greater than or equal to {s['minimum']}"]
    if t == "array":
        return [e for i, v in enumerate(value) for e in _errors(v, s["items"], f"{path}[{i}]")]
    out = []
    if t == "object":
        for k, v in value.items():
            sub = s.get("properties", {}).get(k, s.get("additionalProperties"))
            where = f"{path}.{k}" if path else k
            out += [f"{where}: unknown field"] if sub is None else _errors(v, sub, where)
    return out


def validate(doc, schema):
    # The root metadata is the apiserver's own ObjectMeta (its schema is a bare object).
    return _errors({k: v for k, v in doc.items() if k != "metadata"}, schema, "")


def _field_paths(desc, prefix="", outer=()):
    for f in desc.fields:
        path = f"{prefix}.{f.json_name}" if prefix else f.json_name
        yield path
        msg = f.message_type
        if msg is not None and not msg.GetOptions().map_entry and msg.full_name not in outer \
                and msg.full_name != manifest.INT_OR_STRING:
            yield from _field_paths(msg, path, (*outer, desc.full_name))


@pytest.mark.parametrize("kind", OURS, ids=proto.kind_name)
def test_every_proto_field_is_in_the_schema(kind):
    schema = _schema(kind)
    paths = [p for p in _field_paths(proto.message_class(kind).DESCRIPTOR) if not p.startswith("metadata.")]
    assert len(paths) > 10
    for path in paths:
        _at(schema, path)  # KeyError names a field the schema lacks


def test_types_follow_the_proto():
    vm, vmi = _schema(proto.VM), _schema(proto.VMI)
    tmpl = "spec.template"
    assert _at(vm, f"{tmpl}.spec.domain.cpu.cores") == {"type": "integer", "format": "int32", "minimum": 0}
    assert _at(vm, f"{tmpl}.spec.terminationGracePeriodSeconds") == {"type": "integer", "format": "int32"}
    assert _at(vmi, "status.volumeStatus.size") == {"type": "integer", "format": "int64"}
    assert _at(vm, "spec.running") == {"type": "boolean"}
    for labels in (f"{tmpl}.metadata.labels", f"{tmpl}.spec.nodeSelector", f"{tmpl}.spec.domain.resources.requests"):
        assert _at(vm, labels) == {"type": "object", "additionalProperties": {"type": "string"}}
    assert _at(vm, f"{tmpl}.metadata.finalizers") == {"type": "array", "items": {"type": "string"}}
    volumes = _at(vm, f"{tmpl}.spec.volumes")
    assert volumes["type"] == "array" and volumes["items"]["type"] == "object"
    assert "containerDisk" in volumes["items"]["properties"]
    assert _at(vm, f"{tmpl}.spec.domain.devices.interfaces.bridge") == {"type": "object"}  # InterfaceBridge {}
    # Kubernetes' IntOrString (a probe's port) as Kubernetes' own schemas write it.
    for probe in ("readinessProbe.httpGet", "livenessProbe.tcpSocket"):
        assert _at(vm, f"{tmpl}.spec.{probe}.port") == {"anyOf": [{"type": "integer"}, {"type": "string"}],
                                                         "x-kubernetes-int-or-string": True}


def test_root_metadata_is_a_bare_object_and_nothing_preserves_unknown_fields():
    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)

    for kind in OURS:
        doc = crds.crd(kind)
        for v in doc["spec"]["versions"]:
            props = v["schema"]["openAPIV3Schema"]["properties"]
            assert props["metadata"] == {"type": "object"}
            assert props["apiVersion"] == props["kind"] == {"type": "string"}
        assert not [k for k in keys(doc) if k.startswith("x-kubernetes-preserve")]


def test_enums_are_the_lists_the_services_use():
    vm, vmi = _schema(proto.VM), _schema(proto.VMI)
    assert _at(vm, "spec.runStrategy")["enum"] == list(RUN_STRATEGIES)  # optional: no "" (unset is absent)
    assert _at(vm, "status.runStrategy")["enum"] == ["", *RUN_STRATEGIES]
    assert _at(vm, "spec.template.spec.domain.cpu.model").get("enum") is None
    # Every status the VM controller prints, every phase a VMI goes through, is admitted.
    printed = {getattr(vmstate, name) for name in
               re.findall(r"return vmstate\.(STATUS_\w+)", inspect.getsource(vm_controller.printable_status))}
    assert {"Stopped", "Running", "CrashLoopBackOff"} <= printed
    assert printed <= set(_at(vm, "status.printableStatus")["enum"])
    phases = {vmstate.PENDING, vmstate.SCHEDULING, vmstate.SCHEDULED, vmstate.RUNNING, vmstate.SUCCEEDED,
              vmstate.FAILED, vmstate.UNKNOWN}
    assert phases <= set(_at(vmi, "status.phase")["enum"])
    assert _at(vmi, "status.phaseTransitionTimestamps.phase")["enum"] == _at(vmi, "status.phase")["enum"]


def _demo():
    return yaml.safe_load((ROOT / "examples" / "vm-demo.yaml").read_text())


def test_demo_manifest_validates():
    assert validate(_demo(), _schema(proto.VM)) == []


DOMAIN = ("spec", "template", "spec", "domain")


@pytest.mark.parametrize("where, value, error", [
    (DOMAIN + ("devicez",), {}, "domain.devicez: unknown field"),
    (DOMAIN + ("cpu", "cores"), "one", "domain.cpu.cores: must be of type integer"),
    (DOMAIN + ("cpu", "cores"), -1, "domain.cpu.cores: should be greater than or equal to 0"),
    (("spec", "runStrategy"), "Sometimes", "spec.runStrategy: Unsupported value: 'Sometimes'"),
    (DOMAIN + ("devices", "interfaces"), [{"name": "x", "bridge": {"up": True}}],
     "domain.devices.interfaces[0].bridge.up: unknown field"),
    # Quantities are strings, in our manifest parser as in this schema.
    (DOMAIN + ("resources",), {"requests": {"cpu": 1}}, "domain.resources.requests.cpu: must be of type string"),
    (("spec", "template", "spec", "readinessProbe"), {"tcpSocket": {"port": True}},
     "readinessProbe.tcpSocket.port: must be an integer or a string"),
    (("spec", "template", "spec", "tolerations"), [{"key": "k", "effect": "NoSchedule", "seconds": 1}],
     "tolerations[0].seconds: unknown field"),
])
def test_bad_manifests_are_refused(where, value, error):
    doc = node = _demo()
    for step in where[:-1]:
        node = node.setdefault(step, {})
    node[where[-1]] = value
    errors = validate(doc, _schema(proto.VM))
    assert len(errors) == 1 and errors[0].endswith(error), errors


@pytest.mark.parametrize("kind", OURS, ids=proto.kind_name)
def test_crd_carries_the_kinds_row(kind):
    info, doc = proto.KINDS[kind], crds.crd(kind)
    assert doc["metadata"]["name"] == f"{info.plural}.{info.group}"
    assert doc["metadata"].get("labels") == ({"kubevirt.io": ""} if info.group in crds.LABELLED_GROUPS else None)
    spec = doc["spec"]
    assert spec["group"] == info.group and spec["scope"] == ("Namespaced" if info.namespaced else "Cluster")
    names = {"kind": info.kind, "listKind": info.kind + "List", "plural": info.plural,
             "singular": info.kind.lower(), "shortNames": list(info.short_names), "categories": list(info.categories)}
    assert spec["names"] == {k: v for k, v in names.items() if v}
    versions = spec["versions"]
    older = [*info.served_versions, *info.unserved_versions]
    assert [v["name"] for v in versions] == [info.version, *older]
    assert [v["storage"] for v in versions] == [True] + [False] * len(older)
    for v in versions:
        assert v["served"] == (v["name"] not in info.unserved_versions)
        assert v["schema"] == versions[0]["schema"]
        assert v.get("deprecated", False) == (v["name"] != info.version)
        if v["name"] in info.served_versions:
            assert v["deprecationWarning"] == (f"{info.group}/{v['name']} is now deprecated and will be removed "
                                               "in a future release.")
        if v["name"] in info.unserved_versions:   # KubeVirt 1.6's text for the instancetype group's alphas
            assert v["deprecationWarning"] == (f"{info.group}/{v['name']} {info.kind}s is now deprecated and will be "
                                               "removed in v1.")
        assert ("subresources" in v) == info.status_subresource
        assert [(c["name"], c["jsonPath"], c["type"], c.get("priority", 0))
                for c in v.get("additionalPrinterColumns", [])] \
            == [(c.name, c.json_path, c.type, c.priority) for c in info.printer_columns]


def test_kubevirt_choices():
    assert proto.KINDS[proto.VM].status_subresource and not proto.KINDS[proto.VMI].status_subresource
    vmi_columns = {c.name: c for c in proto.KINDS[proto.VMI].printer_columns}
    assert vmi_columns["Live-Migratable"].json_path == ".status.conditions[?(@.type=='LiveMigratable')].status"
    assert vmi_columns["Paused"].priority == 1 and vmi_columns["Ready"].priority == 0
    # Ours must be interchangeable with CDI's own datavolumes.cdi.kubevirt.io.
    dv = crds.crd(proto.DV)["spec"]
    assert dv["names"]["shortNames"] == ["dv", "dvs"] and dv["names"]["categories"] == ["all"]
    assert [(v["name"], v["served"], v["storage"]) for v in dv["versions"]] == [("v1beta1", True, True)]
    # instancetype.kubevirt.io in 1.6: v1beta1 alone served, the alphas listed served: false (A9.1).
    for kind in (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE, proto.PREFERENCE, proto.CLUSTER_PREFERENCE):
        versions = crds.crd(kind)["spec"]["versions"]
        assert [(v["name"], v["served"], v["storage"]) for v in versions] == [
            ("v1beta1", True, True), ("v1alpha1", False, False), ("v1alpha2", False, False)]
    names = {k: crds.crd(k)["spec"]["names"].get("shortNames") for k in
             (proto.INSTANCETYPE, proto.CLUSTER_INSTANCETYPE, proto.PREFERENCE, proto.CLUSTER_PREFERENCE,
              proto.KUBEVIRT)}
    assert names == {proto.INSTANCETYPE: ["vminstancetype", "vminstancetypes", "vmf", "vmfs"],
                     proto.CLUSTER_INSTANCETYPE: ["vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"],
                     proto.PREFERENCE: ["vmpref", "vmprefs", "vmp", "vmps"],
                     proto.CLUSTER_PREFERENCE: ["vmcp", "vmcps"], proto.KUBEVIRT: ["kv", "kvs"]}


def test_datavolume_crd_has_its_own_kustomization():
    files = crds.render(crds.OUT)
    main = yaml.safe_load(files[crds.OUT / "kustomization.yaml"])
    cdi = yaml.safe_load(files[crds.OUT / "cdi" / "kustomization.yaml"])
    assert main["resources"] == sorted(f"{info.resource}.yaml" for k, info in proto.KINDS.items()
                                       if info.ours and k != proto.DV)
    assert "virtualmachines.kubevirt.io.yaml" in main["resources"]
    assert cdi["resources"] == ["datavolumes.cdi.kubevirt.io.yaml"]


def _recursive_message():
    f = descriptor_pb2.FileDescriptorProto(name="rec.proto", package="rec", syntax="proto3")
    m = f.message_type.add(name="Tree")
    m.field.add(name="children", number=1, type=FD.TYPE_MESSAGE, label=FD.LABEL_REPEATED, type_name=".rec.Tree")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return pool.FindMessageTypeByName("rec.Tree")


def test_recursive_message_is_refused_not_walked_forever():
    with pytest.raises(ValueError, match="rec.Tree contains itself"):
        crds.message_schema(_recursive_message(), "", {}, set())


def test_misspelt_enum_path_is_an_error(monkeypatch):
    monkeypatch.setitem(crds.ENUMS, proto.VM, {"spec.runStrategyy": RUN_STRATEGIES})
    with pytest.raises(ValueError, match="spec.runStrategyy"):
        crds.schema(proto.VM)


def test_every_enum_the_crds_emit_is_a_tuple_of_services_common():
    """Each enumeration protos/crds.py writes is the very tuple services/common defines and the services
    use (not a copy that could drift), so a value added there reaches the CRDs by regeneration."""
    import services.common as common_pkg
    import pkgutil
    import importlib as il
    owned = {id(v) for m in pkgutil.iter_modules(common_pkg.__path__)
             for v in vars(il.import_module(f"services.common.{m.name}")).values() if isinstance(v, tuple)}
    for kind, enums in crds.ENUMS.items():
        for path, values in enums.items():
            assert id(values) in owned, (proto.KINDS[kind].kind, path)
