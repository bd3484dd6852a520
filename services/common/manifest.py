"""KubeVirt JSON/YAML <-> protobuf messages.

json_format alone would report an unknown field as `Message type "kubevirt.v1.DomainSpec" has no
field named "devicez"`; users think in manifest paths, so we walk the document against the
descriptor first and report `spec.template.spec.domain.devicez: unknown field`.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

from services.common import proto


class ManifestError(ValueError):
    """A manifest that does not fit the schema; str() is `<path>: <reason>`."""


# Deepest a document may nest (objects and arrays). The deepest path of our schema has about a dozen
# levels (spec.template.spec.domain.devices.disks[0].disk.bus: 9), so 64 refuses nothing real, and it
# stays far below where Python's recursion (the YAML composer's, json_format's) would give out.
MAX_DEPTH = 64
# Most values (objects, arrays, scalars) a document may hold. YAML aliases repeat a node without
# repeating its text: ten levels of ten aliases are 10**10 values from 300 bytes ("billion laughs").
# An object the api accepts is at most 1.5 MiB, and a value takes at least two bytes of it.
MAX_VALUES = 1 << 20
# A UTF-16 surrogate: YAML reads the JSON escape "\ud83d\ude00" as two of them (JSON means one
# character, U+1F600), and one alone is no character at all (protobuf strings cannot hold it).
_SURROGATE = re.compile("[\ud800-\udfff]")


_INT_TYPES = {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
              FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64}
_UNSIGNED = {FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64}
_32BIT = {FD.TYPE_INT32, FD.TYPE_UINT32, FD.TYPE_SINT32, FD.TYPE_FIXED32, FD.TYPE_SFIXED32}


def _typename(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _check_scalar(field: FD, value: Any, path: str) -> None:
    t = field.type
    if t == FD.TYPE_STRING:
        ok = isinstance(value, str)
        want = "string"
        if ok:
            _check_text(value, path)
    elif t == FD.TYPE_BOOL:
        ok = isinstance(value, bool)
        want = "boolean"
    elif t in _INT_TYPES:
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "integer"
        if ok:
            lo = 0 if t in _UNSIGNED else -(2 ** 31 if t in _32BIT else 2 ** 63)
            hi = (2 ** 32 if t in _UNSIGNED else 2 ** 31) - 1 if t in _32BIT else 2 ** 63 - 1
            if not lo <= value <= hi:
                raise ManifestError(f"{path}: {value} is out of range [{lo}, {hi}]")
    elif t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        want = "number"
    elif t == FD.TYPE_BYTES:
        ok = isinstance(value, str)
        want = "base64 string"
    else:
        ok, want = True, ""
    if not ok:
        raise ManifestError(f"{path}: expected {want}, got {_typename(value)}")


def _check_text(value: str, path: str) -> None:
    m = _SURROGATE.search(value)
    if m:
        raise ManifestError(f"{path}: invalid Unicode: surrogate code point {m.group()!r} at {m.start()} "
                            "(not a character)")


STRUCT = "google.protobuf.Struct"   # free-form JSON (a ControllerRevision's data): any object fits
# Kubernetes' IntOrString (a probe's port): a google.protobuf.Value holding a number or a string.
INT_OR_STRING = "google.protobuf.Value"


def _check_free_form(value: Any, path: str) -> None:
    """Any JSON fits a Struct, but its strings (and keys) must still be text protobuf can hold."""
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                _check_text(k, f"{path}.{k}")
            _check_free_form(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_free_form(v, f"{path}[{i}]")


def check(doc: Any, descriptor, path: str = "") -> None:
    """Raise ManifestError naming the first field of `doc` that does not fit `descriptor`."""
    if not isinstance(doc, dict):
        raise ManifestError(f"{path or '<root>'}: expected object, got {_typename(doc)}")
    if descriptor.full_name == STRUCT:
        _check_free_form(doc, path)
        return
    fields = {f.json_name: f for f in descriptor.fields}
    for name, value in doc.items():
        where = f"{path}.{name}" if path else str(name)
        field = fields.get(name)
        if field is None:
            raise ManifestError(f"{where}: unknown field")
        if value is None:  # JSON null = field unset, as in Kubernetes
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if not isinstance(value, dict):
                raise ManifestError(f"{where}: expected object, got {_typename(value)}")
            vfield = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ManifestError(f"{where}: keys must be strings, got {_typename(k)}")
                _check_text(k, where)
                _check_value(vfield, v, f"{where}.{k}")
        elif field.is_repeated:
            if not isinstance(value, list):
                raise ManifestError(f"{where}: expected array, got {_typename(value)}")
            for i, item in enumerate(value):
                _check_value(field, item, f"{where}[{i}]")
        else:
            _check_value(field, value, where)


def _check_value(field: FD, value: Any, path: str) -> None:
    if field.message_type is not None and field.message_type.full_name == INT_OR_STRING:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ManifestError(f"{path}: expected integer or string, got {_typename(value)}")
        if isinstance(value, str):
            _check_text(value, path)
        elif not -2 ** 31 <= value <= 2 ** 31 - 1:   # Kubernetes' IntOrString holds an int32
            raise ManifestError(f"{path}: {value} is out of range [{-2 ** 31}, {2 ** 31 - 1}]")
    elif field.message_type is not None:
        check(value, field.message_type, path)
    else:
        _check_scalar(field, value, path)


def parse(doc: dict, message_cls):
    """A checked dict -> a new message of `message_cls`."""
    check(doc, message_cls.DESCRIPTOR)
    msg = message_cls()
    json_format.ParseDict(_drop_nulls(doc), msg)
    return msg


def _drop_nulls(value):
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def to_object(doc: Any) -> proto.api.Object:
    """A manifest document (dict with apiVersion/kind) -> an api Object."""
    if not isinstance(doc, dict):
        raise ManifestError(f"<root>: expected object, got {_typename(doc)}")
    kind = doc.get("kind")
    if not kind:
        raise ManifestError("kind: required field is missing")
    for field, value in (("kind", kind), ("apiVersion", doc.get("apiVersion"))):
        if value is not None and not isinstance(value, str):
            raise ManifestError(f"{field}: expected string, got {_typename(value)}")
    if kind not in proto.KIND_BY_NAME:
        raise ManifestError(f"kind: unsupported kind {kind!r} (supported: {', '.join(proto.KIND_BY_NAME)})")
    k = proto.KIND_BY_NAME[kind]
    info = proto.KINDS[k]
    version = doc.get("apiVersion")
    served = [info.api_version] + [f"{info.group}/{v}" for v in info.served_versions]
    if version in [f"{info.group}/{v}" for v in info.unserved_versions]:
        raise ManifestError(f"apiVersion: {version!r} is no longer served for {kind}: "
                            f"{info.deprecation_warning(version.split('/')[-1])[:-1]} (use {info.api_version})")
    if version not in served:
        raise ManifestError(f"apiVersion: {version!r} is not served for {kind} (use {info.api_version})")
    resource = parse(doc, proto.message_class(k))
    resource.apiVersion = info.api_version
    return proto.wrap(resource)


def to_dict(resource) -> dict:
    """A message -> KubeVirt-shaped JSON dict (camelCase, unset fields omitted)."""
    return integral_numbers(json_format.MessageToDict(resource), resource.DESCRIPTOR)


def _whole(value):
    """JSON numbers in a Struct are doubles: 2.0 -> 2 as the document had it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def integral_numbers(doc: dict, desc) -> dict:
    """Whole numbers inside the Struct fields of `doc` (printed from a message of `desc`) back as integers."""
    for field in desc.fields:
        value = doc.get(field.json_name)
        if value is None or field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        if field.message_type.full_name in (STRUCT, INT_OR_STRING):
            doc[field.json_name] = _whole(value)
        else:
            for item in (value if field.is_repeated else [value]):
                integral_numbers(item, field.message_type)
    return doc


class _Loader(yaml.SafeLoader):
    """yaml's safe loader, refusing to compose a container deeper than MAX_DEPTH, as _check_depth
    does and with the same path: left alone, its composer recurses per level and "[[[[..." costs a
    RecursionError through a thousand frames (twice the time of the whole parse otherwise)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._paths = [""]

    def compose_node(self, parent, index):
        path = self._paths[-1]
        if parent is not None and index is not None:   # (a mapping's key: its mapping's path)
            k = index.value if isinstance(index, yaml.Node) else index
            path = f"{path}[{k}]" if isinstance(parent, yaml.SequenceNode) else f"{path}.{k}" if path else str(k)
        if len(self._paths) > MAX_DEPTH and self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            raise ManifestError(f"{path or '<root>'}: nested deeper than {MAX_DEPTH} levels")
        self._paths.append(path)
        try:
            return super().compose_node(parent, index)
        finally:
            self._paths.pop()


# libyaml's parser, when PyYAML was built with it: only to find flow collections nested too deep, early.
_C_PARSER = getattr(yaml, "CSafeLoader", None)


def _flow_too_deep(text: str) -> bool:
    """PyYAML's Python scanner pays, for every token, once per flow collection still open ("{{{{…" of n
    levels costs n²: seconds for a thousand, before _Loader can count a level). libyaml's event stream
    answers in milliseconds and stops at the first level too deep; text with few brackets is skipped."""
    if _C_PARSER is None or text.count("{") + text.count("[") <= MAX_DEPTH:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_C_PARSER):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as e:
        return "nesting depth" in str(e)   # libyaml's own limit; other errors: the loader words them
    return False


def load_documents(text: str) -> list[dict]:
    """Multi-document YAML (JSON is YAML); `kind: List` documents are flattened."""
    if _flow_too_deep(text):
        raise ManifestError(f"<input>: nested deeper than {MAX_DEPTH} levels")
    try:
        docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as e:
        raise ManifestError(f"<input>: not valid YAML/JSON: {str(e).splitlines()[0]}") from None
    except RecursionError:  # the composer recurses per level: far deeper than MAX_DEPTH
        raise ManifestError(f"<input>: nested deeper than {MAX_DEPTH} levels") from None
    budget = [MAX_VALUES]
    for d in docs:
        _check_depth(d, budget)
    docs = [_join_surrogates(d) for d in docs]
    out: list[dict] = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "List" and isinstance(d.get("items"), list):
            out.extend(d["items"])
        else:
            out.append(d)
    return out


def _check_depth(doc: Any, budget: list[int]) -> None:
    """ManifestError naming the first path nested deeper than MAX_DEPTH, or the document past the
    `budget` of values (iterative: no recursion)."""
    todo = [(doc, "", 0)]
    while todo:
        value, path, depth = todo.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise ManifestError(f"<input>: more than {MAX_VALUES} values (YAML aliases repeating a node count "
                                "each time): far more than an object may hold")
        if not isinstance(value, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise ManifestError(f"{path or '<root>'}: nested deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            todo.append((v, f"{path}.{k}" if isinstance(value, dict) and path else
                         str(k) if isinstance(value, dict) else f"{path}[{k}]", depth + 1))


def _join_surrogates(value: Any) -> Any:
    """`value` with every surrogate pair in its strings made the one character JSON means by it
    (what `get -o json` prints escapes every non-ASCII character); a lone one stays, for
    to_object to refuse naming its field."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass") \
            if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {_join_surrogates(k): _join_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_surrogates(v) for v in value]
    return value


def dump_yaml(docs: Iterable[dict]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False, default_flow_style=False)
