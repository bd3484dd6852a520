"""The kubectl verbs of `virtmesh`: apply, get (-l, -w, several kinds, -o jsonpath=/custom-columns=),
describe, wait, patch, edit, delete (-l, --all, --ignore-not-found, --wait), with kubectl's words.
They speak the Resources calls, so they work on the api's gRPC door and on a cluster alike."""
from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

import grpc

from services.cli import jsonpath, output, progress
from services.common import manifest, names, proto


class CLIError(Exception):
    pass


def kinds(word: str, resources: dict[str, proto.api.Kind]) -> list[proto.api.Kind]:
    """`vm,vmi` -> their kinds (kubectl's comma list); an unknown word is kubectl's error."""
    out = []
    for w in word.split(","):
        kind = resources.get(w.lower())
        if kind is None:
            raise CLIError(f'the server doesn\'t have a resource type "{w}"')
        out.append(kind)
    return out


def selector(text: str | None) -> dict[str, str]:
    """`-l a=b,c=d` (equality, as the stores select)."""
    if not text:
        return {}
    out = {}
    for term in text.split(","):
        key, sep, value = term.partition("=")
        key, value = key.strip().rstrip("="), value.lstrip("=").strip()
        if not sep or not key or "!" in key:
            raise CLIError(f"unable to parse requirement: {term!r} (only key=value selectors are supported)")
        out[key] = value
    return out


# Fields a --field-selector may name (the apiserver's field label conversions): every kind's name and
# namespace; an Event's involvedObject, reason, type, source and reporting component.
_FIELDS = ("metadata.name", "metadata.namespace")
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                 "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                 "reason", "reportingComponent", "source", "type")


def field_selector(text: str | None, kind: proto.api.Kind) -> list[tuple[str, bool, str]]:
    """`--field-selector a.b=v,c!=w` -> (path, equal, value) terms, refused as the apiserver refuses them."""
    out = []
    allowed = _FIELDS + (_EVENT_FIELDS if kind == proto.EVENT else proto.KINDS[kind].selectable_fields)
    for term in (text or "").split(","):
        if not term.strip():
            continue
        m = re.match(r"^\s*([^!=\s]+)\s*(!=|==|=)\s*(.*?)\s*$", term)
        if m is None:
            raise CLIError(f"invalid selector: {term!r}: expected field=value, field==value or field!=value")
        path, op, value = m.groups()
        if path not in allowed:
            raise CLIError(f'field label not supported: {path} (supported: {", ".join(allowed)})')
        out.append((path, op != "!=", value))
    return out


def _field(doc: dict, path: str) -> str:
    if path == "source":   # an Event's source is its component
        path = "source.component"
    value = doc
    for step in path.split("."):
        value = value.get(step, "") if isinstance(value, dict) else ""
    return "" if isinstance(value, (dict, list)) else str(value)


def select_fields(items, terms) -> list:
    if not terms:
        return list(items)
    return [r for r in items if all((_field(manifest.to_dict(r), p) == v) == eq for p, eq, v in terms)]


def kind_words(kind: proto.api.Kind, grouped: bool = True) -> list[str]:
    """Every word kubectl accepts for a kind: singular, plural, short names and, `grouped`, the names
    with their group; virtctl's TYPE/NAME targets take them without."""
    info = proto.KINDS[kind]
    words = [info.kind.lower(), info.plural, *info.short_names]
    if info.group and grouped:
        words += [f"{info.kind.lower()}.{info.group}", info.resource]
    return words


def namespace_arg(args, given: str = "") -> str:
    """The namespace a verb acts in: the target's own, else -n, else Kubernetes' default."""
    return given or args.namespace or names.DEFAULT_NAMESPACE


def namespace_of(args, kind: proto.api.Kind) -> str:
    return namespace_arg(args) if proto.namespaced(kind) else ""


def list_objects(api, kind: proto.api.Kind, namespace: str, labels: dict[str, str]):
    lst = api.resources.List(proto.api.ListRequest(kind=kind, namespace=namespace, labelSelector=labels), timeout=30)
    return [proto.inner(o) for o in lst.items], lst.resourceVersion


def get_object(api, kind: proto.api.Kind, namespace: str, name: str):
    return proto.inner(api.resources.Get(proto.api.GetRequest(ref=proto.ref(kind, namespace, name)), timeout=30))


UPDATE_ATTEMPTS = 5   # client-go's retry.DefaultRetry


def update_retrying(api, current, change):
    """Write `change(current)` (the object to store, or None: nothing to write) and return what was
    stored (None when nothing was). The write carries the resourceVersion `change` puts on it; when
    another writer came in between (a controller's status, a handler's heartbeat) the store refuses it
    as stale: read the object again and ask `change` again (client-go's RetryOnConflict). A write that
    `change` put at an older version than it was given is a precondition: its refusal is final."""
    kind = proto.KIND_BY_NAME[current.DESCRIPTOR.name]
    for attempt in range(1, UPDATE_ATTEMPTS + 1):
        res = change(current)
        if res is None:
            return None
        try:
            return proto.inner(api.resources.Update(proto.api.UpdateRequest(object=proto.wrap(res)), timeout=30))
        except grpc.RpcError as e:
            precondition = res.metadata.resourceVersion != current.metadata.resourceVersion
            if e.code() != grpc.StatusCode.ABORTED or attempt == UPDATE_ATTEMPTS or precondition:
                raise
        current = get_object(api, kind, current.metadata.namespace, current.metadata.name)
    raise AssertionError("unreachable")


def same_but_status(a, b) -> bool:
    """The same object but for its status (and so its resourceVersion): what a controller changes."""
    a, b = proto.copy(a), proto.copy(b)
    for res in (a, b):
        res.metadata.resourceVersion = ""
        if "status" in res.DESCRIPTOR.fields_by_name:
            res.ClearField("status")
    return a == b


# ---------------------------------------------------------------------- output

def _custom_columns(spec: str, items) -> str:
    cols = []
    for part in spec.split(","):
        head, sep, path = part.partition(":")
        if not sep:
            raise CLIError(f"custom-columns format: expected NAME:JSONPATH, got {part!r}")
        cols.append((head, path if path.startswith("{") else "{" + path + "}"))
    rows = [[h for h, _ in cols]]
    for res in items:
        doc = manifest.to_dict(res)
        rows.append([jsonpath.render(p, doc) or "<none>" for _, p in cols])
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)


def render(kind: proto.api.Kind, items, fmt: str | None, single: bool, all_namespaces: bool) -> str:
    if fmt and fmt.startswith("jsonpath="):
        docs = [manifest.to_dict(r) for r in items]
        data = docs[0] if single else {"apiVersion": "v1", "kind": "List", "items": docs}
        try:
            return jsonpath.render(fmt[len("jsonpath="):], data)
        except jsonpath.JSONPathError as e:
            raise CLIError(f"error parsing jsonpath {fmt[len('jsonpath='):]}: {e}") from None
    if fmt and fmt.startswith("custom-columns="):
        return _custom_columns(fmt[len("custom-columns="):], items)
    if fmt not in (None, "json", "yaml", "wide", "name"):
        raise CLIError(f"unable to match a printer suitable for the output format {fmt!r}, allowed formats are: "
                       "custom-columns,json,jsonpath,name,wide,yaml")
    return output.render(kind, items, fmt or "table", single, all_namespaces)


# ---------------------------------------------------------------------- get

def cmd_get(args, api, resources: dict) -> int:
    ks = kinds(args.resource, resources)
    labels = selector(args.selector)
    if args.name and len(ks) > 1:
        raise CLIError("you must specify only one resource type when naming objects")
    printed = False
    for kind in ks:
        ns = "" if args.all_namespaces else namespace_of(args, kind)
        if args.name:
            items, rev = [get_object(api, kind, namespace_of(args, kind), args.name)], ""
        else:
            items, rev = list_objects(api, kind, ns, labels)
            items = select_fields(items, field_selector(getattr(args, "field_selector", None), kind))
        if not items and not args.name and len(ks) == 1 and args.output in (None, "wide") and not args.watch:
            where = "" if args.all_namespaces or not proto.namespaced(kind) else f" in {ns} namespace"
            print(f"No resources found{where}.", file=sys.stderr)
        if items or args.output in ("json", "yaml"):   # an empty List in JSON/YAML, as kubectl prints it
            if printed and args.output in (None, "wide"):
                print()
            text = render(kind, items, args.output, bool(args.name), args.all_namespaces)
            # kubectl ends a jsonpath result where the template ends (no newline of its own).
            print(text, end="" if (args.output or "").startswith("jsonpath=") else "\n")
            printed = True
    if args.watch:
        return _watch(args, api, ks[0], labels)
    return 0


def _watch(args, api, kind: proto.api.Kind, labels: dict[str, str]) -> int:
    """`get -w`: each change as a row (or the object, in -o json/yaml/name), until Ctrl-C."""
    ns = "" if args.all_namespaces else namespace_of(args, kind)
    _, rev = list_objects(api, kind, ns, labels)
    stream = api.resources.Watch(proto.api.WatchRequest(kind=kind, namespace=ns, resourceVersion=str(rev),
                                                        labelSelector=labels))
    deadline = time.monotonic() + args.request_timeout if args.request_timeout else None
    try:
        for ev in stream:
            if ev.type == "BOOKMARK" or not ev.HasField("object"):
                continue
            res = proto.inner(ev.object)
            if args.name and res.metadata.name != args.name:
                continue
            text = render(kind, [res], args.output, True, args.all_namespaces)
            if args.output in (None, "wide"):
                text = text.splitlines()[-1]
            print(text, flush=True)
            if deadline and time.monotonic() > deadline:
                break
    except grpc.RpcError as e:
        if e.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise
    return 0


# ---------------------------------------------------------------------- describe

_ACRONYMS = {"uid": "UID", "ip": "IP", "api": "API", "id": "ID", "url": "URL", "cpu": "CPU", "dns": "DNS",
             "tpm": "TPM", "vnc": "VNC", "mac": "MAC", "pci": "PCI"}


def label(key: str) -> str:
    """kubectl describe's words for a field: runStrategy -> Run Strategy, uid -> UID."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", key) or [key]
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def _describe_doc(doc, indent: int = 0) -> list[str]:
    pad = "  " * indent
    lines = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            key = label(k)
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                lines += _describe_doc(v, indent + 1)
            elif not isinstance(v, (dict, list)):
                lines.append(f"{pad}{key}:{' ' * max(1, 24 - len(pad) - len(key))}{jsonpath.text(v)}")
    else:
        for item in doc:
            if not isinstance(item, (dict, list)):   # a list of strings (finalizers, access modes)
                lines.append(f"{pad}  {jsonpath.text(item)}")
                continue
            sub = _describe_doc(item, indent + 1)
            if sub:
                sub[0] = pad + "- " + sub[0].lstrip()
            lines += sub
    return lines


def describe(kind: proto.api.Kind, res, events: Sequence | None = ()) -> str:
    """kubectl describe's shape: metadata first, then the spec and the status (conditions as a table)."""
    info = proto.KINDS[kind]
    doc = manifest.to_dict(res)
    md = doc.get("metadata", {})
    lines = [f"Name:         {md.get('name', '')}"]
    if proto.namespaced(kind):
        lines.append(f"Namespace:    {md.get('namespace', '')}")
    lines.append("Labels:       " + ("\n              ".join(f"{k}={v}" for k, v in md.get("labels", {}).items())
                                   or "<none>"))
    lines.append("Annotations:  " + ("\n              ".join(f"{k}: {v}" for k, v in md.get("annotations", {}).items())
                                   or "<none>"))
    lines.append(f"API Version:  {info.api_version}")
    lines.append(f"Kind:         {info.kind}")
    lines.append("Metadata:")
    lines += _describe_doc({k: v for k, v in md.items() if k not in ("name", "namespace", "labels", "annotations")}, 1)
    if kind == proto.SECRET:   # as kubectl: the type, and each key's size, never its value
        lines += [f"Type:         {res.type}", "", "Data", "===="]
        lines += [f"{k}:  {len(v)} bytes" for k, v in sorted(res.data.items())]
        return "\n".join(lines + describe_events(events))
    # a kind without spec and status (an Event) has its fields at the top
    lines += _describe_doc({k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata", "spec",
                                                                       "status")})
    if doc.get("spec"):
        lines.append("Spec:")
        lines += _describe_doc(doc["spec"], 1)
    status = dict(doc.get("status") or {})
    conditions = status.pop("conditions", [])
    if status:
        lines.append("Status:")
        lines += _describe_doc(status, 1)
    if conditions:
        lines.append("Conditions:")
        rows = [["Type", "Status", "Reason", "Message"]] + [
            [c.get("type", ""), c.get("status", ""), c.get("reason", ""), c.get("message", "")] for c in conditions]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  " + "   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines += describe_events(events)
    return "\n".join(lines)


def events_of(api, kind: proto.api.Kind, res) -> list:
    """The Events about `res` (kubectl describe's search: its namespace, kind, name and uid)."""
    md = res.metadata
    items, _ = list_objects(api, proto.EVENT, md.namespace or names.DEFAULT_NAMESPACE, {})
    o_kind = proto.KINDS[kind].kind
    return [e for e in items if e.involvedObject.kind == o_kind and e.involvedObject.name == md.name
            and e.involvedObject.namespace == md.namespace and e.involvedObject.uid in ("", md.uid)]


def describe_events(events) -> list[str]:
    """kubectl's Events table: Type, Reason, Age ("LAST (xN over FIRST)" for a repeated one), From, Message."""
    if events is None:
        return []
    if not events:
        return ["Events:       <none>"]
    rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
    for e in output.sort_events(events):
        first = output.age(e.firstTimestamp or e.eventTime)
        when = f"{output.age(e.lastTimestamp)} (x{e.count} over {first})" if e.count > 1 else first
        rows.append([e.type, e.reason, when, e.source.component or e.reportingComponent, e.message.strip()])
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return ["Events:"] + ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]


def cmd_describe(args, api, resources: dict) -> int:
    (kind,) = kinds(args.resource, resources)
    if args.name:
        items = [get_object(api, kind, namespace_of(args, kind), args.name)]
    else:
        items, _ = list_objects(api, kind, namespace_of(args, kind), selector(args.selector))
    print("\n\n".join(describe(kind, r, events_of(api, kind, r) if kind != proto.EVENT else None) for r in items))
    return 0


# ---------------------------------------------------------------------- wait

def _condition_met(doc: dict, spec: str) -> bool:
    name, _, want = spec.partition("=")
    want = want or "True"
    return any(c.get("type", "").lower() == name.lower() and str(c.get("status", "")).lower() == want.lower()
               for c in (doc.get("status") or {}).get("conditions", []))


def _jsonpath_met(doc: dict, spec: str) -> bool:
    head, sep, value = spec.rpartition("=")
    path, want = (head, value) if sep else (spec, None)
    path = path.strip("'\"")
    path = path if path.startswith("{") else "{" + path + "}"
    got = jsonpath.render(path, doc)
    return bool(got) if want is None else got == want.strip("'\"")


def cmd_wait(args, api, resources: dict) -> int:
    """kubectl wait --for=condition=C[=S] | --for=jsonpath='{.path}'=V | --for=create | --for=delete, per object."""
    kind_word, _, name = args.target.partition("/")
    if not name and args.name:
        name = args.name
    (kind,) = kinds(kind_word, resources)
    ns = namespace_of(args, kind)
    cond = args.for_
    if cond.startswith("condition="):
        met = lambda doc: _condition_met(doc, cond[len("condition="):])  # noqa: E731
    elif cond.startswith("jsonpath="):
        met = lambda doc: _jsonpath_met(doc, cond[len("jsonpath="):])  # noqa: E731
    elif cond == "create":
        met = lambda doc: True  # noqa: E731 - it exists
    elif cond != "delete":
        raise CLIError(f"unrecognized condition: {cond!r}")
    names = [name] if name else [r.metadata.name for r in list_objects(api, kind, ns, selector(args.selector))[0]]
    if not names:
        raise CLIError("no matching resources found")
    deadline = time.monotonic() + args.timeout
    printed = proto.KINDS[kind].printed_name
    for n in names:
        with progress.Line() as line:   # phase, percent, bytes while waiting (stderr)
            while True:
                try:
                    doc = manifest.to_dict(get_object(api, kind, ns, n))
                    done = cond != "delete" and met(doc)
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    if cond not in ("delete", "create"):
                        raise CLIError(f'{printed} "{n}" not found') from None
                    done, doc = cond == "delete", None
                if done:
                    break
                if doc is not None:
                    line.show(progress.summary(kind, doc))
                if time.monotonic() > deadline:
                    raise CLIError(f"timed out waiting for the condition on {printed}/{n}")
                time.sleep(0.2)
        print(f"{printed}/{n} {'deleted' if cond == 'delete' else 'condition met'}")
    return 0


# ---------------------------------------------------------------------- patch / edit

def _json_patch(doc, ops: list) -> dict:
    """RFC 6902 add/remove/replace/test (what kubectl --type=json sends)."""
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise CLIError(f"json patch: each operation needs op and path: {op!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
        last = parts[-1]
        kind = op["op"]
        try:
            if kind == "test":
                cur = parent[int(last)] if isinstance(parent, list) else parent[last]
                if cur != op.get("value"):
                    raise CLIError(f"json patch: test failed at {op['path']}")
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    i = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(i, op.get("value"))
                    else:
                        parent[i] = op.get("value")
                else:
                    if kind == "replace" and last not in parent:
                        raise CLIError(f"json patch: replace of a missing path {op['path']}")
                    parent[last] = op.get("value")
            else:
                raise CLIError(f"json patch: unsupported op {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise CLIError(f"json patch: {kind} {op['path']}: {e}") from None
    return doc


def _merge_patch(doc, patch):
    """RFC 7386 (kubectl --type=merge)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(doc) if isinstance(doc, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _store(api, kind: proto.api.Kind, before, edit, printed: str) -> str:
    """Write `edit(current)` (the whole object as changed, a document) over the stored object, first
    `before`, again over a fresh read when another writer came in between; kubectl's word for what
    happened. As with a status subresource, only metadata and spec are written: status is its
    controllers'."""
    def change(current):
        obj = manifest.to_object(edit(current))
        if proto.kind_of(obj) != kind:
            raise CLIError("the kind of an object cannot be changed")
        res = proto.inner(obj)
        res.metadata.resourceVersion = res.metadata.resourceVersion or current.metadata.resourceVersion
        same_spec = "spec" not in res.DESCRIPTOR.fields_by_name or res.spec == current.spec
        return None if res.metadata == current.metadata and same_spec else res
    name = before.metadata.name
    if update_retrying(api, before, change) is None:
        return f"{printed}/{name} patched (no change)"
    return f"{printed}/{name}"


def _edited(before, doc: dict):
    """An edit of `before` as `doc`: it stands while the object changed only in its status (a
    controller reporting); after a change of its metadata or spec meanwhile it is written at the
    version it was read at, for the store to refuse ("the object has been modified")."""
    def edit(current):
        out = copy.deepcopy(doc)   # each attempt starts from the edit as written
        status_only = same_but_status(current, before)
        read_at = (current if status_only else before).metadata.resourceVersion
        out.setdefault("metadata", {})["resourceVersion"] = read_at
        return out
    return edit


def cmd_patch(args, api, resources: dict) -> int:
    (kind,) = kinds(args.resource, resources)
    before = get_object(api, kind, namespace_of(args, kind), args.name)
    try:
        patch = json.loads(args.patch)
    except json.JSONDecodeError:
        import yaml
        try:
            patch = yaml.safe_load(args.patch)
        except yaml.YAMLError as e:
            raise CLIError(f"unable to parse the patch: {e}") from None
    if args.type == "json" and not isinstance(patch, list):
        raise CLIError("json patch: the patch must be a list of operations")

    def patched(current) -> dict:   # a patch applies to the object as it is now, as kubectl's does
        doc = manifest.to_dict(current)
        return _json_patch(doc, patch) if args.type == "json" else _merge_patch(doc, patch)
    try:
        word = _store(api, kind, before, patched, proto.KINDS[kind].printed_name)
    except manifest.ManifestError as e:
        raise CLIError(f"the patch does not fit {proto.KINDS[kind].kind}: {e}") from None
    print(word if word.endswith("(no change)") else f"{word} patched")
    return 0


def cmd_edit(args, api, resources: dict) -> int:
    """Open the object in $EDITOR (kubectl's order: KUBE_EDITOR, EDITOR, vi); a changed result is stored
    unless the object's metadata or spec changed meanwhile (_edited)."""
    (kind,) = kinds(args.resource, resources)
    before = get_object(api, kind, namespace_of(args, kind), args.name)
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    text = manifest.dump_yaml([manifest.to_dict(before)])
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix=f"virtmesh-edit-{args.name}-", delete=False) as f:
        f.write("# Edit the object below. Lines beginning with a '#' are ignored; an empty file aborts the edit.\n")
        f.write(text)
        path = f.name
    try:
        if subprocess.run([*shlex.split(editor), path]).returncode != 0:
            raise CLIError(f"the editor {editor!r} failed")
        with open(path) as f:
            edited = "".join(line for line in f if not line.lstrip().startswith("#"))
    finally:
        os.unlink(path)
    if not edited.strip():
        print("Edit cancelled, no changes made.")
        return 0
    docs = manifest.load_documents(edited)
    if len(docs) != 1:
        raise CLIError("the edited file must hold one object")
    if docs[0] == manifest.to_dict(before):
        print("Edit cancelled, no changes made.")
        return 0
    word = _store(api, kind, before, _edited(before, docs[0]), proto.KINDS[kind].printed_name)
    print(f"{word} edited")
    return 0


# ---------------------------------------------------------------------- delete

def cmd_delete(args, api, resources: dict, read) -> int:
    targets = []
    if args.filename:
        for path in args.filename:
            for doc in manifest.load_documents(read(path)):
                obj = manifest.to_object(doc)
                res, kind = proto.inner(obj), proto.kind_of(obj)
                targets.append((kind, res.metadata.namespace or namespace_of(args, kind), res.metadata.name))
    else:
        if not args.resource:
            raise CLIError("You must provide one or more resources by argument or filename.")
        for kind in kinds(args.resource, resources):
            ns = namespace_of(args, kind)
            if args.names:
                targets += [(kind, ns, n) for n in args.names]
            elif args.all or args.selector:
                items, _ = list_objects(api, kind, ns, selector(args.selector))
                targets += [(kind, ns, r.metadata.name) for r in items]
            else:
                raise CLIError("resource(s) were provided, but no name was specified (use --all or -l)")
    if not targets and (args.all or args.selector):
        print("No resources found", file=sys.stderr)
    deleted = []
    for kind, ns, name in targets:
        try:
            api.resources.Delete(proto.api.DeleteRequest(ref=proto.ref(kind, ns, name)), timeout=30)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND and args.ignore_not_found:
                continue
            raise
        print(f'{proto.KINDS[kind].printed_name} "{name}" deleted')
        deleted.append((kind, ns, name))
    if args.wait:   # kubectl waits for the objects to be gone (finalizers done)
        deadline = time.monotonic() + (args.timeout or 300)
        for kind, ns, name in deleted:
            while True:
                try:
                    get_object(api, kind, ns, name)
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.NOT_FOUND:
                        break
                    raise
                if time.monotonic() > deadline:
                    raise CLIError(f'timed out waiting for {proto.KINDS[kind].printed_name} "{name}" to be deleted')
                time.sleep(0.2)
    return 0


# ---------------------------------------------------------------------- apply

def apply_files(args) -> list[str]:
    """Every manifest `-f` names: files, `-` (stdin), directories (their .yaml/.yml/.json, sorted)."""
    paths = []
    for name in args.filename:
        if name != "-" and os.path.isdir(name):
            entries = sorted(os.listdir(name))
            found = [os.path.join(name, e) for e in entries if e.endswith((".yaml", ".yml", ".json"))]
            if not found:
                raise CLIError(f"error reading {name}: no .yaml, .yml or .json files in the directory")
            paths += found
        else:
            paths.append(name)
    return paths


# ---------------------------------------------------------------------- version, completion

def cmd_version(args, api) -> int:
    from importlib import metadata
    try:
        ours = metadata.version("virtmesh")
    except metadata.PackageNotFoundError:
        ours = "dev"
    print(f"Client Version: v{ours}")
    if api is not None:
        try:
            api.resources.List(proto.api.ListRequest(kind=proto.NODE), timeout=5)
            print(f"Server Version: v{ours}")
        except grpc.RpcError as e:
            print(f"Server Version: unknown ({e.code().name})")
    return 0


def completion(shell: str, parser) -> str:
    """A completion script for bash or zsh: the verbs, the kinds, and the names of objects of the kind
    typed (asked of the mesh with `virtmesh get KIND -o name`)."""
    verbs = sorted(a for a in parser._subparsers._group_actions[0].choices)   # noqa: SLF001 - argparse's own
    words = " ".join(verbs)
    body = f"""_virtmesh() {{
  local cur prev
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "{words}" -- "$cur") ); return
  fi
  case "$prev" in
    get|describe|delete|edit|patch|pause|unpause)
      COMPREPLY=( $(compgen -W "vm vmi vms vmis node pvc dv" -- "$cur") ); return ;;
    vm|vms|vmi|vmis|virtualmachine|virtualmachineinstance|start|stop|restart|console)
      local kind="$prev"; case "$prev" in start|stop|restart) kind=vm;; console) kind=vmi;; esac
      COMPREPLY=( $(compgen -W "$(virtmesh get "$kind" -o name 2>/dev/null | sed 's,.*/,,')" -- "$cur") ); return ;;
  esac
}}
complete -F _virtmesh virtmesh
"""
    if shell == "bash":
        return body
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + body
    raise CLIError(f"unsupported shell type {shell!r}: bash or zsh")
