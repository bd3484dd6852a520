"""Property-based fuzzing of the api's door (issue 13): hypothesis strategies that start from valid
VirtualMachine / VirtualMachineInstance manifests and break them (types, sizes, unicode, nesting,
quantities, names, duplicates, kinds, raw YAML and raw protobuf bytes), and the oracle that judges
what a real api process makes of each case.

The oracle, per case:
- the CLI's parse path (manifest.load_documents + to_object) answers a document or its own clean
  ManifestError naming a path — no other exception (a traceback), and quickly;
- the api either accepts (the object then reads back equal to what the api returned, prints as
  JSON that parses back to the same object, and can be deleted until a get says NOT_FOUND) or
  refuses with INVALID_ARGUMENT naming a field path, or ALREADY_EXISTS; updates may also meet
  NOT_FOUND / ABORTED when the mutation renamed the object or changed its resourceVersion/uid.
  Nothing else: no UNKNOWN, INTERNAL, DEADLINE_EXCEEDED;
- nothing half-stored: a refused write leaves the store's revision where it was (every write
  bumps it) and the object as it was; after each case the store is empty again;
- the api process is the same one, alive, after every case.

Used by tests/api/test_fuzz.py (a few hundred deterministic cases in CI) and bench/fuzz.py (a long
run with a summary).
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import grpc
import yaml
from google.protobuf.descriptor import FieldDescriptor as FD
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import strategies as st

from services.common import manifest, paths, proto
from services.controller.vm import new_vmi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST_DIR = "/var/cache/virtmesh/guests"    # hostpaths' default allowed directory
RPC_TIMEOUT = 20.0   # seconds; a call past it is a stall (DEADLINE_EXCEEDED is a failure)
SLOW = 5.0           # seconds for one call or one CLI parse: past it, a failure ("slow")

# ---------------------------------------------------------------------------------- valid bases

VM_MIN = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "fz-min"},
    "spec": {"runStrategy": "Always", "template": {"spec": {
        "terminationGracePeriodSeconds": 0,
        "domain": {"resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}},
}

with open(os.path.join(ROOT, "examples", "vm-demo.yaml")) as _f:
    VM_DEMO = yaml.safe_load(_f)
VM_DEMO["metadata"]["name"] = "fz-demo"

VM_RICH = {
    "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
    "metadata": {"name": "fz-rich", "namespace": "default",
                 "labels": {"app": "fz", "kubevirt.io/vm": "fz-rich"},
                 "annotations": {"example.com/note": "a note: with spaces"}},
    "spec": {"runStrategy": "Halted", "template": {
        "metadata": {"labels": {"kubevirt.io/domain": "fz-rich"}},
        "spec": {
            "terminationGracePeriodSeconds": 0, "architecture": "amd64", "hostname": "fz",
            "nodeSelector": {"kubernetes.io/hostname": "node01"},
            "domain": {
                "cpu": {"sockets": 1, "cores": 2, "threads": 1, "model": "host-model"},
                "memory": {"guest": "128Mi"},
                "resources": {"requests": {"memory": "128Mi", "cpu": "500m"}, "limits": {"cpu": "2"}},
                "machine": {"type": "q35"},
                "firmware": {"serial": "fz-0001", "bootloader": {"efi": {"secureBoot": False}}},
                "features": {"acpi": {}, "apic": {"enabled": True}},
                "clock": {"utc": {"offsetSeconds": 0}},
                "devices": {
                    "disks": [
                        {"name": "root", "disk": {"bus": "virtio"}, "bootOrder": 1, "cache": "none",
                         "io": "native", "serial": "root-1"},
                        {"name": "scratch", "disk": {"bus": "sata"}},
                        {"name": "host", "disk": {"bus": "scsi"}},
                        {"name": "cloudinit", "cdrom": {"bus": "sata", "readonly": True}},
                        {"name": "claim", "disk": {"bus": "virtio"}},
                    ],
                    "interfaces": [
                        {"name": "default", "masquerade": {}, "model": "virtio",
                         "ports": [{"name": "ssh", "port": 22, "protocol": "TCP"}]},
                        {"name": "lan", "bridge": {}, "macAddress": "02:00:00:00:00:01", "state": "up"},
                    ],
                    "inputs": [{"name": "tablet", "type": "tablet", "bus": "usb"}],
                    "tpm": {}, "rng": {},
                }},
            "networks": [{"name": "default", "pod": {}}, {"name": "lan", "multus": {"networkName": "lan-net"}}],
            "volumes": [
                {"name": "root", "containerDisk": {"image": f"{GUEST_DIR}/amd64", "path": "disk.img"}},
                {"name": "scratch", "emptyDisk": {"capacity": "1Gi"}},
                {"name": "host", "hostDisk": {"path": f"{GUEST_DIR}/fuzz/host.img", "type": "DiskOrCreate",
                                              "capacity": "1Gi"}},
                {"name": "cloudinit", "cloudInitNoCloud": {"userData": "#cloud-config\npassword: fz\n"}},
                {"name": "claim", "persistentVolumeClaim": {"claimName": "data-claim"}},
            ],
        }}},
}


def _as_vmi(vm: dict, name: str) -> dict:
    return {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
            "metadata": {"name": name, **{k: v for k, v in vm["metadata"].items() if k != "name"}},
            "spec": copy.deepcopy(vm["spec"]["template"]["spec"])}


PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "fz-pvc"},
       "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
DV = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": "fz-dv"},
      "spec": {"source": {"http": {"url": "https://example.com/disk.img"}}, "contentType": "kubevirt",
               "storage": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}

# VMs and VMIs first and twice over (what the fuzzing is about); the claims they use once.
BASES = [VM_MIN, VM_DEMO, VM_RICH, _as_vmi(VM_MIN, "fz-min-i"), _as_vmi(VM_DEMO, "fz-demo-i"),
         _as_vmi(VM_RICH, "fz-rich-i")] * 2 + [PVC, DV]

# ---------------------------------------------------------------------------------- edge values

LONG = ["a" * 63, "a" * 64, "a" * 253, "a" * 254, "x" * 20_000]
EDGE_STRINGS = [
    "", " ", "a", "A", "-", ".", "..", "/", "//", "~", "0", "-1", "true", "null", "yes",
    "/etc/shadow", "../../etc/passwd", "/proc/self/environ", "file:///etc/shadow", "http://127.0.0.1:1/x",
    "http://169.254.169.254/latest", "https://example.com/disk.img", "docker://quay.io/x:latest",
    "a\x00b", "\x00", "\x1b[31mred", "\t", "line\nbreak", "\r\n", "\x7f", "\u202eevil", "\ufeffbom", "é",
    "日本語", "😀", "\u0085", "\u2028", "\ud800", "\udfff", "Ⅻ", "١٢٣", "${HOME}", "$(reboot)", "' OR 1=1 --",
    "%s%n", "{{.}}", "<x>&amp;", "a]b", 'a"b', "a\\b", *LONG,
]
QUANTITIES = [
    "0", "1", "64Mi", "1Gi", "500m", "1.5Gi", "0.5", "-1Gi", "-1", "1e10", "1e999999", "-1e999999",
    "1e1000000", "1e-999999", "1e400", "1E3", "1e+3Mi", "1e-3", "9223372036854775807", "9223372036854775808",
    "8Ei", "7Ei", "7.999Ei", "1Ki", "1ki", "1KI", "1Mib", "Mi", "", " 64Mi", "64Mi ", "+64Mi", "0x40", "NaN",
    "Infinity", "inf", "1..2", ".", "1.", ".5Gi", "1e", "١٢Mi", "64Mi\x00", "4096", "4097", "0.0001m",
    "1" + "0" * 400, "0." + "0" * 400 + "1",
]
QUANTITY_FIELDS = ("guest", "maxGuest", "capacity", "memory", "cpu", "storage")
INTS = [0, 1, -1, 2, 3, 4, 63, 64, 255, 256, 512, 513, 4095, 4096, 4097, 65535, 65536, 1073741824,
        2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64, -2**31, -2**31 - 1, -2**63,
        -2**63 - 1, 10**100]
NAMES = ["a", "fz", "fz-x", "a" * 253, "a" * 254, "a" * 63 + "." + "b" * 63, "A" * 20_000, "Bad_Name", "-a",
         "a-", "a..b", ".a", "a.", "xn--80ak6aa92e", "é", "a b", "a/b", "a\x00b", "", "0", "1.2.3.4", "default"]
LABEL_KEYS = ["app", "kubevirt.io/vm", "example.com/a", "a/b/c", "/a", "a/", "Bad.Prefix/k", "k" * 63, "k" * 64,
              "p" * 253 + "/k", "p" * 254 + "/k", "-k", "k-", "", "é", "a b", "a\x00", "a_b.c-d"]
LABEL_VALUES = ["", "v", "v" * 63, "v" * 64, "a b", "-v", "v-", "é", "a\x00", "A-b_c.1"]
KINDS = ["VirtualMachine", "VirtualMachineInstance", "Node", "PersistentVolumeClaim", "DataVolume", "List",
         "virtualmachine", "Pod", "VirtualMachineInstancetype", "", None, ["VirtualMachine"],
         {"a": 1}, 1, True]
API_VERSIONS = ["kubevirt.io/v1", "kubevirt.io/v1alpha3", "kubevirt.io/v2", "v1", "cdi.kubevirt.io/v1beta1",
                "", None, 1, ["kubevirt.io/v1"], "kubevirt.io/v1 "]
UNKNOWN_KEYS = ["devicez", "spec", "metadata", "status", "", " ", "é", "a.b", "name", 1, None, True, "\x00"]

text_values = st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=24),
                        st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?", fullmatch=True))
int_values = st.one_of(st.sampled_from(INTS), st.integers())
scalars = st.one_of(st.none(), st.booleans(), int_values, st.floats(), text_values, st.sampled_from(QUANTITIES))


def _values(depth: int = 2):
    """Any JSON-ish value: scalars, and (while depth lasts) lists and objects of them."""
    if depth <= 0:
        return scalars
    inner = _values(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=3),
                     st.dictionaries(st.one_of(text_values, st.sampled_from(UNKNOWN_KEYS)), inner, max_size=3))


any_values = _values()


def _fresh(values: list):
    """sampled_from for lists holding lists or objects: each draw a copy (a later mutation of the
    document must not change the constant, or hypothesis sees its strategies change under it)."""
    return st.sampled_from(values).map(copy.deepcopy)

# ---------------------------------------------------------------------------------- document walking


def _nodes(doc: Any) -> list[tuple]:
    """Every node's path (tuple of keys / indices), the root first, parents before children."""
    out, todo = [], [()]
    while todo:
        path = todo.pop(0)
        out.append(path)
        value = _get(doc, path)
        if isinstance(value, dict):
            todo.extend(path + (k,) for k in value)
        elif isinstance(value, list):
            todo.extend(path + (i,) for i in range(len(value)))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    """`doc` with the node at `path` replaced (the root replaced: `value` itself)."""
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _descriptor(doc: Any):
    kind = doc.get("kind") if isinstance(doc, dict) else None
    k = proto.KIND_BY_NAME.get(kind) if isinstance(kind, str) else None
    return proto.message_class(k if k is not None else proto.VM).DESCRIPTOR


def _is_map(f: FD) -> bool:
    return f.message_type is not None and f.message_type.GetOptions().map_entry


def _message_nodes(doc: Any) -> list[tuple[tuple, Any]]:
    """(path, descriptor) of every object in `doc` that stands where the schema has a message."""
    out, todo = [], [((), doc, _descriptor(doc))]
    while todo:
        path, value, desc = todo.pop(0)
        if not isinstance(value, dict):
            continue
        out.append((path, desc))
        fields = {f.json_name: f for f in desc.fields}
        for k, v in value.items():
            f = fields.get(k) if isinstance(k, str) else None
            if f is None or f.message_type is None or _is_map(f):
                continue
            if f.is_repeated and isinstance(v, list):
                todo.extend((path + (k, i), item, f.message_type) for i, item in enumerate(v))
            elif not f.is_repeated:
                todo.append((path + (k,), v, f.message_type))
    return out


@st.composite
def _typed(draw, f: FD, depth: int = 0, element: bool = False) -> Any:
    """A value of the schema's type for field `f`, picked from the edges of that type."""
    if _is_map(f) and not element:
        value_field = f.message_type.fields_by_name["value"]
        keys = st.one_of(st.sampled_from(LABEL_KEYS + ["cpu", "memory", "storage"]), text_values)
        return draw(st.dictionaries(keys, _typed(value_field, depth + 1), max_size=3))
    if f.is_repeated and not element:
        return draw(st.lists(_typed(f, depth + 1, element=True), max_size=3))
    if f.message_type is not None:
        if depth >= 4 or not f.message_type.fields:
            return {}
        chosen = draw(st.lists(st.sampled_from(list(f.message_type.fields)), max_size=3, unique_by=lambda x: x.name))
        return {c.json_name: draw(_typed(c, depth + 1)) for c in chosen}
    if f.type == FD.TYPE_STRING:
        if f.name in QUANTITY_FIELDS or f.containing_type.name == "ResourceRequirements":
            return draw(st.one_of(st.sampled_from(QUANTITIES), text_values))
        if f.name == "name":
            return draw(st.one_of(st.sampled_from(NAMES), text_values))
        return draw(text_values)
    if f.type == FD.TYPE_BOOL:
        return draw(st.booleans())
    return draw(int_values)


# ---------------------------------------------------------------------------------- mutations

@st.composite
def _replace_any(draw, doc):
    """Any node -> any value (wrong types included)."""
    path = draw(st.sampled_from(_nodes(doc)[1:] or [()]))
    return _set(doc, path, draw(any_values))


@st.composite
def _schema_field(draw, doc):
    """Set a field the schema knows, anywhere a message stands, to an edge value of its type."""
    nodes = [(p, d) for p, d in _message_nodes(doc) if d.fields]
    if not nodes:
        return doc
    path, desc = draw(st.sampled_from(nodes))
    f = draw(st.sampled_from([f for f in desc.fields if path or f.name not in ("apiVersion", "kind")]))
    _get(doc, path)[f.json_name] = draw(_typed(f))
    return doc


@st.composite
def _scalar_edge(draw, doc):
    """A scalar already in the document -> an edge value of the same JSON type."""
    # kind and apiVersion are _kind's: here they would mostly make documents the CLI refuses.
    leaves = [p for p in _nodes(doc) if len(p) > 1 and isinstance(_get(doc, p), (str, int, bool))]
    if not leaves:
        return doc
    path = draw(st.sampled_from(leaves))
    old = _get(doc, path)
    if isinstance(old, bool):
        new = not old
    elif isinstance(old, int):
        new = draw(int_values)
    elif isinstance(path[-1], str) and path[-1] in QUANTITY_FIELDS or re.fullmatch(r"[0-9.]+[A-Za-z]*", old):
        new = draw(st.sampled_from(QUANTITIES))
    else:
        new = draw(text_values)
    return _set(doc, path, new)


QUANTITY_PATHS = [("domain", "memory", "guest"), ("domain", "memory", "maxGuest"),
                  ("domain", "resources", "requests", "memory"), ("domain", "resources", "requests", "cpu"),
                  ("domain", "resources", "limits", "cpu"), ("domain", "resources", "limits", "memory")]
INT_PATHS = [("domain", "cpu", "sockets"), ("domain", "cpu", "cores"), ("domain", "cpu", "threads"),
             ("domain", "cpu", "maxSockets"), ("terminationGracePeriodSeconds",),
             ("domain", "clock", "utc", "offsetSeconds")]


def _vmi_spec_path(doc) -> tuple | None:
    if not isinstance(doc, dict):
        return None
    if doc.get("kind") == "VirtualMachineInstance":
        path = ("spec",)
    else:
        path = ("spec", "template", "spec")
    node = doc
    for k in path:
        if not isinstance(node, dict) or not isinstance(node.get(k), dict):
            return None
        node = node[k]
    return path


def _list_at(doc, path: tuple) -> list:
    """The list at `path`, or [] when something else (or nothing) is there."""
    for k in path:
        if not isinstance(doc, dict) or k not in doc:
            return []
        doc = doc[k]
    return doc if isinstance(doc, list) else []


def _force(doc, path: tuple, value) -> Any:
    """Set `path`, making the objects on the way (a non-object on the way stays: no change)."""
    node = doc
    for k in path[:-1]:
        if not isinstance(node, dict):
            return doc
        node = node.setdefault(k, {})
    if isinstance(node, dict):
        node[path[-1]] = value
    return doc


@st.composite
def _quantity(draw, doc):
    base = _vmi_spec_path(doc)
    if base is None:
        return doc
    volumes = [("volumes", i, src, "capacity") for i, v in enumerate(_list_at(doc, base + ("volumes",)))
               if isinstance(v, dict) for src in ("emptyDisk", "hostDisk") if isinstance(v.get(src), dict)]
    path = draw(st.sampled_from(QUANTITY_PATHS + volumes))
    return _force(doc, base + path, draw(st.one_of(st.sampled_from(QUANTITIES), text_values)))


@st.composite
def _integer(draw, doc):
    base = _vmi_spec_path(doc)
    if base is None:
        return doc
    disks = [("domain", "devices", "disks", i, "bootOrder")
             for i, d in enumerate(_list_at(doc, base + ("domain", "devices", "disks"))) if isinstance(d, dict)]
    path = draw(st.sampled_from(INT_PATHS + disks))
    return _force(doc, base + path, draw(st.one_of(int_values, st.floats(), st.sampled_from(["1", "1.0"]))))


@st.composite
def _name(draw, doc):
    if not isinstance(doc, dict):
        return doc
    where = draw(st.sampled_from(["name", "name", "namespace", "generateName"]))
    value = draw(st.one_of(st.sampled_from(NAMES), text_values, _fresh([None, 1, ["a"], {}])))
    if where == "generateName":
        doc.setdefault("metadata", {}).pop("name", None) if isinstance(doc.get("metadata"), dict) else None
    return _force(doc, ("metadata", where), value)


@st.composite
def _labels(draw, doc):
    if not isinstance(doc, dict):
        return doc
    where = draw(st.sampled_from([("metadata", "labels"), ("metadata", "annotations"),
                                  ("spec", "template", "metadata", "labels")]))
    values = LABEL_VALUES + (["x" * 300_000, "y" * 200_000] if where[-1] == "annotations" else [])
    labels = draw(st.dictionaries(st.one_of(st.sampled_from(LABEL_KEYS), text_values),
                                  st.one_of(st.sampled_from(values), text_values), min_size=1, max_size=4))
    return _force(doc, where, labels)


@st.composite
def _duplicate(draw, doc):
    """A list entry twice (same name) or many times (names made unique or not)."""
    lists = [p for p in _nodes(doc) if isinstance(_get(doc, p), list) and _get(doc, p)]
    if not lists:
        return doc
    path = draw(st.sampled_from(lists))
    items = _get(doc, path)
    item = items[draw(st.integers(0, len(items) - 1))]
    count = draw(st.sampled_from([1, 1, 1, 2, 257, 1000]))
    unique = draw(st.booleans())
    for i in range(count):
        new = copy.deepcopy(item)
        if unique and isinstance(new, dict) and isinstance(new.get("name"), str):
            new["name"] = f"{new['name']}-{i}"
        items.append(new)
    return doc


@st.composite
def _delete(draw, doc):
    keys = [p for p in _nodes(doc) if p and isinstance(_get(doc, p[:-1]), dict)]
    if not keys:
        return doc
    path = draw(st.sampled_from(keys))
    del _get(doc, path[:-1])[path[-1]]
    return doc


@st.composite
def _unknown(draw, doc):
    objects = [p for p in _nodes(doc) if isinstance(_get(doc, p), dict)]
    if not objects:
        return doc
    node = _get(doc, draw(st.sampled_from(objects)))
    node[draw(st.one_of(st.sampled_from(UNKNOWN_KEYS), text_values))] = draw(any_values)
    return doc


def _nested(depth: int, container: str) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value} if container == "dict" else [value]
    return value


@st.composite
def _deep(draw, doc):
    path = draw(st.sampled_from(_nodes(doc)[1:] or [()]))
    return _set(doc, path, _nested(draw(st.sampled_from([2, 10, 63, 64, 65, 100])),
                                   draw(st.sampled_from(["dict", "list"]))))


@st.composite
def _kind(draw, doc):
    if not isinstance(doc, dict):
        return doc
    which = draw(st.sampled_from(["kind", "apiVersion", "both", "drop"]))
    if which in ("kind", "both"):
        doc["kind"] = draw(_fresh(KINDS))
    if which in ("apiVersion", "both"):
        doc["apiVersion"] = draw(_fresh(API_VERSIONS))
    if which == "drop":
        doc.pop(draw(st.sampled_from(["kind", "apiVersion", "metadata", "spec"])), None)
    return doc


@st.composite
def _whole(draw, doc):
    choices = [{}, [], None, "", 0, "VirtualMachine", {"kind": "VirtualMachine"},
               {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1"},
               {"kind": "List", "items": [doc, copy.deepcopy(doc)]}, {"kind": "List", "items": "x"},
               {"kind": "List", "items": [1, None]}, [doc]]
    return copy.deepcopy(draw(st.sampled_from(choices)))


# Weighted: the type-preserving mutations reach the api; the others mostly stop at the CLI's parser.
MUTATIONS = [_schema_field] * 4 + [_scalar_edge] * 3 + [_quantity] * 2 + [_integer] * 2 + [_name] * 2 + \
    [_labels, _duplicate, _duplicate, _delete, _unknown, _replace_any, _deep, _kind]


@st.composite
def mutated(draw, allow_whole: bool = True) -> tuple[dict, Any]:
    """(base, mutated document): a valid base manifest with one to four mutations."""
    base = draw(st.sampled_from(BASES))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        doc = draw(draw(st.sampled_from(MUTATIONS))(doc))
    if allow_whole and draw(st.integers(0, 30)) == 30:   # not 0: hypothesis often draws the minimum
        doc = draw(_whole(doc))
    return base, doc


# ---------------------------------------------------------------------------------- raw inputs

def _billion_laughs(levels: int) -> str:
    lines = ['l0: &l0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


RAW_TEXTS = [
    "", "---\n---\n", "\x00", "\ufeffkind: VirtualMachine", "key: [unclosed", "%YAML 1.1\n---\na: 1\n",
    "a: *unknown", "<<: *x", "? complex\n: key", "\tkind: VirtualMachine", "{" * 100_000, "[" * 50_000 + "]" * 50_000,
    "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 2000)),
    "a: !!python/object/apply:os.system ['id']", "kind: !!binary AAAA", "kind: !!set {a, b}",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: 2001-12-14}\nspec: {}\n",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a, labels: {2001-12-14: x}}\n",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a, labels: {? [a]: x}}\n",
    "apiVersion: kubevirt.io/v1\n" + "kind: VirtualMachine\n" * 3 + "metadata: {name: a}\n",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a}\nspec: {running: yes}\n",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a}\nspec: {template: {spec: "
    "{terminationGracePeriodSeconds: 1.0e+999999}}}\n",
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: \"a\\ud800\"}\n",
    "kind: List\nitems: &i [*i]\n",
    _billion_laughs(4), _billion_laughs(9),
]


@st.composite
def raw_texts(draw) -> str:
    """Raw manifest text: known-nasty YAML, or a valid manifest with characters spliced in."""
    if draw(st.booleans()):
        return draw(st.sampled_from(RAW_TEXTS))
    text = yaml.safe_dump(draw(st.sampled_from(BASES)), sort_keys=False)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        splice = draw(st.text(max_size=4) | st.sampled_from(["&a", "*a", "!!", "{", "[", ": ", "\n- ", "\t",
                                                              "\x00", "'", '"']))
        text = text[:at] + splice + text[at + cut:]
    return text


@st.composite
def wire_bytes(draw) -> bytes:
    """A valid CreateRequest's bytes with flipped, inserted, deleted or cut bytes."""
    base = draw(st.sampled_from(BASES))
    data = bytearray(proto.api.CreateRequest(object=manifest.to_object(copy.deepcopy(base))).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0x08, 0x0a, 0x0b, 0x12, 0x7f, 0x80, 0xff]))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif op == "cut":
            del data[at:]
    return bytes(data)


# ---------------------------------------------------------------------------------- cases

@dataclass
class Case:
    op: str                 # create | create2 (then again: ALREADY_EXISTS) | update | status | wire
    fmt: str = "object"     # object (a client's dict) | json | yaml (the CLI's text) | raw (text as is)
    base: Any = None
    doc: Any = None
    text: str | None = None
    wire: bytes | None = None

    def __repr__(self) -> str:
        what = (f"wire={self.wire!r}" if self.op == "wire" else
                f"text={_short(self.text, 400)!r}" if self.fmt == "raw" else
                f"doc={json.dumps(_shortened(self.doc), ensure_ascii=True, default=str)}")
        base = _name_of(self.base)
        return f"Case(op={self.op!r}, fmt={self.fmt!r}, base={base!r}, {what})"


def _name_of(doc) -> str:
    try:
        return doc["metadata"]["name"]
    except (KeyError, TypeError):
        return ""


def _short(s: str | None, n: int = 80) -> str | None:
    return s if s is None or len(s) <= n else f"{s[:n]}...({len(s)} chars)"


def _shortened(value: Any) -> Any:
    """For reports: long strings and long lists cut down, nesting shown as depth."""
    def walk(v, depth):
        if depth > 12:
            return f"<nested {_depth(v)} more levels>"
        if isinstance(v, str):
            return _short(v)
        if isinstance(v, list):
            items = [walk(x, depth + 1) for x in v[:6]]
            return items + ([f"...({len(v)} items)"] if len(v) > 6 else [])
        if isinstance(v, dict):
            return {(_short(k) if isinstance(k, str) else str(k)): walk(x, depth + 1) for k, x in v.items()}
        return v
    return walk(value, 0)


def _depth(v) -> int:
    d = 0
    while isinstance(v, (dict, list)) and v:
        v = next(iter(v.values())) if isinstance(v, dict) else v[0]
        d += 1
    return d


@st.composite
def cases(draw) -> Case:
    op = draw(st.sampled_from(["create"] * 6 + ["create2", "update", "update", "status", "wire"]))
    if op == "wire":
        return Case(op, fmt="raw", wire=draw(wire_bytes()))
    fmt = draw(st.sampled_from(["object", "object", "json", "yaml", "raw"] if op == "create" else
                               ["object", "json", "yaml"]))
    if fmt == "raw":
        return Case(op, fmt, text=draw(raw_texts()))
    base, doc = draw(mutated(allow_whole=op == "create"))
    if op in ("update", "status") and isinstance(doc, dict) and draw(st.integers(0, 9)) < 9:
        # Mostly the object the update names: a renamed one is only NOT_FOUND.
        doc["kind"] = base["kind"]
        if isinstance(doc.get("metadata"), dict):
            doc["metadata"]["name"] = base["metadata"]["name"]
            doc["metadata"].pop("namespace", None)
    return Case(op, fmt, base=base, doc=doc)


# ---------------------------------------------------------------------------------- the api process

class ApiProcess:
    """A real `python -m services.api` over its own data dir (SQLite store), on its unix socket.
    hostDisk is allowed (the HostDisk gate) so hostDisk paths are judged, not refused wholesale."""

    def __init__(self, data_dir: str, program: list[str] | None = None):
        self.data_dir = data_dir
        self.log_path = os.path.join(data_dir, "api.log")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
                   VIRTMESH_FEATURE_GATES="HostDisk", VIRTMESH_HOST_PATHS=GUEST_DIR)
        env.pop("KUBECONFIG", None)
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        self.socket = paths.DataDir(data_dir).api_socket
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, *(program or ["-m", "services.api"]),
                                          "--data-dir", data_dir], env=env, cwd=ROOT,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.channel = grpc.insecure_channel(f"unix://{self.socket}")
        self.stub = proto.api_grpc.ResourcesStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + 60
        while not self.serving():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the api did not start (exit {self.proc.poll()}):\n{self.log_tail()}")
            time.sleep(0.05)

    def serving(self) -> bool:
        try:
            return self.health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status == \
                health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exited(self, within: float = 1.0) -> bool:
        """Gone, or going within `within` seconds (a call may fail just before the exit)."""
        try:
            self.proc.wait(within)
            return True
        except subprocess.TimeoutExpired:
            return False

    def rss_kib(self) -> int:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return 0

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def tracebacks(self) -> list[str]:
        """Tracebacks the api logged (an unmapped exception is logged by grpc with one)."""
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        return [m.group(0)[-600:] for m in re.finditer(r"Traceback \(most recent call last\):.*?(?=\n\S|\Z)",
                                                         text, re.S)]

    def stop(self) -> None:
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------- the oracle

class Failure(AssertionError):
    """The api (or the CLI's parser) broke the oracle; `kind` groups failures of one cause."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


# A message naming a field: `spec.template.spec.domain.memory.guest: ...`, `metadata.labels["k"]: ...`,
# `spec.domain.machine.type is not supported: ...` (KubeVirt's own wording for that one).
_PATH = re.compile(r'^([A-Za-z][A-Za-z0-9]*)(\.[A-Za-z0-9_]+|\[.*?\](?=[.\[]|: | is | list ))*(: | is | list )', re.S)
_ROOTS = {"metadata", "spec", "status", "object", "request", "kind", "apiVersion", "ref"}
# ManifestError: the first path segment is a key of the document (any user key, unknown ones too).
_MANIFEST_ROOTS = ("<root>", "<input>")

VM, VMI = proto.VM, proto.VMI
INVALID, EXISTS = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS
NOT_FOUND, ABORTED = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ABORTED


def names_a_field(details: str) -> bool:
    m = _PATH.match(details or "")
    return bool(m) and m.group(1) in _ROOTS


def _key(obj: proto.api.Object) -> tuple[int, str, str]:
    res = proto.inner(obj)
    kind = proto.kind_of(obj)
    return kind, (res.metadata.namespace or "default") if proto.namespaced(kind) else "", res.metadata.name


class _Stalled(BaseException):
    """Raised by SIGALRM into a parse that does not end (BaseException: no `except Exception` eats it)."""


@contextlib.contextmanager
def _stall_after(seconds: float):
    """Interrupt the block after `seconds` (main thread only: elsewhere it runs unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stalled(signum, frame):
        raise _Stalled()
    previous = signal.signal(signal.SIGALRM, stalled)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse(case: Case) -> list[proto.api.Object] | str:
    """The CLI's side (`virtmesh apply`): the objects it would send, or the message of the clean
    ManifestError it refused with (naming a path). Anything else raises Failure."""
    start = time.monotonic()
    docs = None
    try:
        with _stall_after(RPC_TIMEOUT):
            if case.fmt == "object":
                docs = [case.doc]
            else:
                text = case.text if case.fmt == "raw" else _serialize(case.doc, case.fmt)
                docs = manifest.load_documents(text)
            result: list[proto.api.Object] | str = [manifest.to_object(d) for d in docs]
    except _Stalled:
        raise Failure(f"stall: CLI parse past {RPC_TIMEOUT:.0f} s") from None
    except manifest.ManifestError as e:
        result = str(e)
        # Parsed: the path starts at a key of a document. Not parsed: any path the YAML had.
        keys = [str(k) for d in docs if isinstance(d, dict) for k in d] if docs is not None else [""]
        if ": " not in result or not result.startswith((*_MANIFEST_ROOTS, *_ROOTS, *keys)):
            raise Failure("cli: error names no path", result[:300]) from None
    except Exception as e:  # noqa: BLE001 - any other exception is a traceback on the CLI
        raise Failure(f"cli: traceback {type(e).__name__}", str(e)[:300]) from None
    took = time.monotonic() - start
    if took > SLOW:
        raise Failure(f"slow: CLI parse took {took:.1f} s")
    return result


class Oracle:
    """Runs cases against an ApiProcess and raises Failure when the api breaks a rule (module doc)."""

    KINDS = tuple(proto.KINDS)

    def __init__(self, api: ApiProcess):
        self.api = api
        self.stub = api.stub
        self.raw_create = api.channel.unary_unary("/virtmesh.v1.Resources/Create",
                                                  request_serializer=lambda b: b,
                                                  response_deserializer=proto.api.Object.FromString)
        self._stored: list[tuple[int, str, str]] = []
        self.reasons: dict[str, int] = {}

    # ---- calls

    def _call(self, method, request, what: str):
        start = time.monotonic()
        try:
            out = method(request, timeout=RPC_TIMEOUT)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise Failure(f"stall: {what} past {RPC_TIMEOUT:.0f} s") from None
            if e.code() == grpc.StatusCode.UNAVAILABLE and self.api.exited():
                raise Failure("api exited", f"{what}: exit {self.api.proc.poll()}\n{self.api.log_tail()}") from None
            self._timed(what, start)
            raise
        self._timed(what, start)
        return out

    @staticmethod
    def _timed(what: str, start: float) -> None:
        took = time.monotonic() - start
        if took > SLOW:
            raise Failure(f"slow: {what} took {took:.1f} s")

    def revision(self) -> int:
        return int(self._call(self.stub.List, proto.api.ListRequest(kind=VM), "List").resourceVersion)

    def get(self, key) -> proto.api.Object | None:
        try:
            return self._call(self.stub.Get, proto.api.GetRequest(ref=proto.ref(*key)), "Get")
        except grpc.RpcError as e:
            if e.code() == NOT_FOUND:
                return None
            raise Failure(f"get: {e.code().name}", e.details()) from None

    # ---- cases

    def check(self, case: Case) -> str:
        """Run one case; the outcome ("accepted", "refused:INVALID_ARGUMENT", ...) or Failure."""
        try:
            outcome = self._run(case)
        except Failure:
            self._cleanup(quiet=True)   # the first failure is the one to report
            raise
        self._cleanup()
        if not self.api.alive():
            raise Failure("api exited", f"exit {self.api.proc.poll()}\n{self.api.log_tail()}")
        return outcome

    def parse(self, case: Case) -> list[proto.api.Object] | None:
        refused = parse(case)
        if isinstance(refused, str):
            self._reason("manifest", refused)
            return None
        return refused

    def _run(self, case: Case) -> str:
        if case.op == "wire":
            return self._create(None, raw=case.wire)
        if case.op in ("update", "status"):
            return self._update(case)
        objs = self.parse(case)
        if objs is None:
            return "refused:manifest"
        if not objs:
            return "empty"
        outcomes = [self._create(o) for o in objs]
        if case.op == "create2" and outcomes == ["accepted"]:
            again = self._create(objs[0])
            if proto.inner(objs[0]).metadata.name and again != f"refused:{EXISTS.name}":
                raise Failure("create twice: not ALREADY_EXISTS", again)
        return outcomes[0] if len(set(outcomes)) == 1 else "mixed"

    def _refused(self, e: grpc.RpcError, allowed, rev0: int, what: str) -> str:
        code = e.code()
        if code not in allowed:
            raise Failure(f"{what}: {code.name}", (e.details() or "")[:300])
        if code == INVALID and not names_a_field(e.details()):
            raise Failure(f"{what}: INVALID_ARGUMENT names no field", (e.details() or "")[:300])
        if self.revision() != rev0:
            raise Failure(f"half-stored: a refused {what} changed the store", (e.details() or "")[:300])
        self._reason(code.name, e.details() or "")
        return f"refused:{code.name}"

    def _reason(self, by: str, message: str) -> None:
        """Count refusals by what they say, the path and the values left out (for summaries)."""
        text = message.split(": ", 1)[-1] if not message.startswith("<") else message.split(": ", 1)[-1]
        text = re.sub(r'"[^"]*"|\'[^\']*\'|-?\d+', "_", text)[:60]
        key = f"{by}: {text}"
        self.reasons[key] = self.reasons.get(key, 0) + 1

    def _create(self, obj, raw: bytes | None = None) -> str:
        rev0 = self.revision()
        try:
            if raw is not None:
                out = self._call(self.raw_create, raw, "Create")
            else:
                out = self._call(self.stub.Create, proto.api.CreateRequest(object=obj), "Create")
        except grpc.RpcError as e:
            if e.code() == EXISTS:
                before = self.get(_key(obj)) if obj is not None else None
                outcome = self._refused(e, (INVALID, EXISTS), rev0, "create")
                if before is not None and self.get(_key(obj)) != before:
                    raise Failure("create ALREADY_EXISTS changed the existing object")
                return outcome
            return self._refused(e, (INVALID, EXISTS), rev0, "create")
        self._accepted(out, rev0, "create")
        return "accepted"

    def _accepted(self, out: proto.api.Object, rev0: int, what: str) -> None:
        key = _key(out)
        if key not in self._stored:
            self._stored.append(key)
        if int(proto.inner(out).metadata.resourceVersion or 0) <= rev0:
            raise Failure(f"{what}: accepted without a new resourceVersion")
        got = self.get(key)
        if got is None:
            raise Failure(f"{what}: accepted, then NOT_FOUND")
        if proto.inner(got) != proto.inner(out):
            raise Failure(f"{what}: reads back different from what the api returned")
        # `virtmesh get -o json` then `apply`: what the api stored prints as a manifest that parses back.
        printed = json.dumps(manifest.to_dict(proto.inner(out)))
        try:
            again = manifest.to_object(manifest.load_documents(printed)[0])
        except Exception as e:  # noqa: BLE001
            raise Failure(f"{what}: printed object does not parse back ({type(e).__name__})", str(e)[:300]) from None
        if proto.inner(again) != proto.inner(out):
            raise Failure(f"{what}: printed object parses back different")
        if key[0] == VM and what != "status update":
            self._vmi_of(proto.inner(out), what)

    def _vmi_of(self, vm, what: str) -> None:
        """The VMI the controller makes of an accepted VM must be accepted too: else the VM is
        "accepted, then retried forever" (issue 13), the controller failing on every sync."""
        if vm.spec.HasField("instancetype") or vm.spec.HasField("preference"):
            return   # expanded by the controller first (instancetypes), not judged here
        vmi = proto.wrap(new_vmi(vm))
        if _key(vmi) in self._stored:
            return   # a VMI of that name came with the case
        try:
            self._call(self.stub.Create, proto.api.CreateRequest(object=vmi), "Create")
        except grpc.RpcError as e:
            if e.code() == EXISTS:
                return
            raise Failure(f"{what}: VM accepted, its VMI refused ({e.code().name})", (e.details() or "")[:300]) \
                from None
        self._stored.append(_key(vmi))

    def _update(self, case: Case) -> str:
        base = manifest.to_object(copy.deepcopy(case.base))
        try:
            stored = self._call(self.stub.Create, proto.api.CreateRequest(object=base), "Create")
        except grpc.RpcError as e:
            raise Failure(f"base manifest refused: {e.code().name}", e.details()) from None
        self._stored.append(_key(stored))
        objs = self.parse(case)
        if objs is None:
            return "refused:manifest"
        if len(objs) != 1:
            return "empty"
        obj = objs[0]
        md = case.doc.get("metadata") if isinstance(case.doc, dict) else None
        md = md if isinstance(md, dict) else {}
        if "resourceVersion" not in md:
            proto.inner(obj).metadata.resourceVersion = proto.inner(stored).metadata.resourceVersion
        allowed = [INVALID]
        if _key(obj) != _key(stored):
            allowed.append(NOT_FOUND)     # renamed (or another kind): there is no such object
        if "resourceVersion" in md or "uid" in md:
            allowed.append(ABORTED)       # a stale or foreign precondition
        rev0 = self.revision()
        method, what = ((self.stub.UpdateStatus, "status update") if case.op == "status"
                        else (self.stub.Update, "update"))
        try:
            out = self._call(method, proto.api.UpdateRequest(object=obj), what.title().replace(" ", ""))
        except grpc.RpcError as e:
            outcome = self._refused(e, allowed, rev0, what)
            if self.get(_key(stored)) != stored:
                raise Failure(f"half-stored: a refused {what} changed the object")
            return outcome
        if _key(out) != _key(stored):
            raise Failure(f"{what}: wrote another object than the one named")
        self._accepted(out, rev0, what)
        return "accepted"

    def _cleanup(self, quiet: bool = False) -> None:
        """Delete what the case stored (finalizers removed as their owners would); then the store
        must be empty: anything else there was half-stored by a refused write. `quiet`: after a
        failure, clean what can be cleaned and say nothing."""
        try:
            for key in self._stored:
                self._delete(key)
            self._stored.clear()
            left = []
            for kind in self.KINDS:
                for o in self._call(self.stub.List, proto.api.ListRequest(kind=kind), "List").items:
                    left.append(_key(o))
                    self._delete(_key(o))
        except (Failure, grpc.RpcError):
            self._stored.clear()
            if quiet:
                return
            raise
        if left and not quiet:
            raise Failure("left behind", ", ".join(f"{proto.kind_name(k)} {ns}/{_short(n, 40)}" for k, ns, n in left))

    def _delete(self, key) -> None:
        try:
            out = self._call(self.stub.Delete, proto.api.DeleteRequest(ref=proto.ref(*key)), "Delete")
        except grpc.RpcError as e:
            if e.code() == NOT_FOUND:
                return
            raise Failure(f"delete: {e.code().name}", (e.details() or "")[:300]) from None
        res = proto.inner(out)
        if res.metadata.finalizers:  # graceful: stays until its finalizers go
            del res.metadata.finalizers[:]
            try:
                self._call(self.stub.Update, proto.api.UpdateRequest(object=out), "Update")
            except grpc.RpcError as e:
                raise Failure(f"not deletable: removing finalizers: {e.code().name}",
                              (e.details() or "")[:300]) from None
        if self.get(key) is not None:
            raise Failure("not deletable: still there after delete")


def _serialize(doc: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, default=str)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@dataclass
class Tally:
    """Counts for a run (bench/fuzz.py's summary)."""
    cases: int = 0
    outcomes: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)    # kind -> (count, smallest Case, message)

    def add(self, case: Case, outcome: str | None = None, failure: Failure | None = None) -> None:
        self.cases += 1
        if failure is None:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            return
        n, smallest, msg = self.failures.get(failure.kind, (0, None, ""))
        if smallest is None or len(repr(case)) < len(repr(smallest)):
            smallest, msg = case, str(failure)
        self.failures[failure.kind] = (n + 1, smallest, msg)
