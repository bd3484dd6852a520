"""How `virtmesh get` prints objects: kubectl-style tables with KubeVirt's printer columns, or JSON/YAML."""
from __future__ import annotations

import json
from typing import Any

from services.common import manifest, names, proto, timeutil, vmstate, volumes


def age(ts: str) -> str:
    if not ts:
        return "<unknown>"
    s = int(max(0, timeutil.age_seconds(ts)))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _ready(obj) -> str:
    return "True" if vmstate.has_condition(obj, vmstate.READY) else "False"


ACCESS_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                     "ReadWriteOncePod": "RWOP"}


def row(kind: proto.api.Kind, res, wide: bool) -> list[str]:
    md = res.metadata
    if kind == proto.VM:
        cols = [md.name, age(md.creationTimestamp), res.status.printableStatus or vmstate.STATUS_STOPPED, _ready(res)]
        if wide:
            cols += [vmstate.run_strategy(res)]
        return cols
    if kind == proto.VMI:
        ip = res.status.interfaces[0].ipAddress if res.status.interfaces else ""
        cols = [md.name, age(md.creationTimestamp), res.status.phase or vmstate.PENDING, ip, res.status.nodeName,
                _ready(res)]
        if wide:
            cols += ["True" if vmstate.has_condition(res, vmstate.PAUSED) else "",
                     res.status.domainType, res.status.machine.type]
        return cols
    if kind == proto.PVC:
        modes = ",".join(ACCESS_MODE_SHORT.get(m, m) for m in res.status.accessModes)
        cols = [md.name, res.status.phase or volumes.CLAIM_PENDING, res.spec.volumeName,
                res.status.capacity.get("storage", ""), modes,
                res.spec.storageClassName if res.spec.HasField("storageClassName") else "<unset>",
                age(md.creationTimestamp)]
        if wide:
            cols += [res.spec.volumeMode]
        return cols
    if kind == proto.DV:
        return [md.name, res.status.phase, res.status.progress, str(res.status.restartCount),
                age(md.creationTimestamp)]
    if kind == proto.EVENT:
        return event_row(res, wide)
    if kind == proto.SECRET:
        return [md.name, res.type, str(len(res.data)), age(md.creationTimestamp)]
    if kind == proto.CONFIG_MAP:
        return [md.name, str(len(res.data) + len(res.binaryData)), age(md.creationTimestamp)]
    ready = "Ready" if vmstate.has_condition(res, vmstate.READY) else "NotReady"   # the node's Ready condition
    if md.labels.get(names.SCHEDULABLE_LABEL) != "true":
        ready += ",SchedulingDisabled"
    cols = [md.name, ready, age(md.creationTimestamp)]
    if wide:
        cols += [md.labels.get(names.ARCH_LABEL, ""), res.status.nodeInfo.kernelVersion]
    return cols


HEADERS = {
    proto.VM: (["NAME", "AGE", "STATUS", "READY"], ["RUNSTRATEGY"]),
    proto.VMI: (["NAME", "AGE", "PHASE", "IP", "NODENAME", "READY"], ["PAUSED", "DOMAINTYPE", "MACHINE"]),
    proto.NODE: (["NAME", "STATUS", "AGE"], ["ARCH", "KERNEL-VERSION"]),
    proto.PVC: (["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"], ["VOLUMEMODE"]),
    proto.DV: (["NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"], []),
    # kubectl's columns for core/v1 Events (printEvent); -o wide moves LAST SEEN .. OBJECT and adds these
    proto.EVENT: (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
                  ["SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"]),
    proto.SECRET: (["NAME", "TYPE", "DATA", "AGE"], []),      # kubectl's printSecret
    proto.CONFIG_MAP: (["NAME", "DATA", "AGE"], []),          # kubectl's printConfigMap
}


def event_row(ev, wide: bool) -> list[str]:
    """kubectl's printEvent: ages of the last and first sighting, kind/name of the object, the count."""
    first = age(ev.firstTimestamp or ev.eventTime)
    last = age(ev.lastTimestamp) if ev.lastTimestamp else first
    count = ev.count or 1
    if ev.HasField("series"):
        last, count = age(ev.series.lastObservedTime), ev.series.count
    o = ev.involvedObject
    target = f"{o.kind.lower()}/{o.name}" if o.name else o.kind.lower()
    cols = [last, ev.type, ev.reason, target]
    if wide:
        source = ", ".join(p for p in (ev.source.component or ev.reportingComponent, ev.source.host) if p)
        return cols + [o.fieldPath, source, ev.message.strip(), first, str(count), ev.metadata.name]
    return cols + [ev.message.strip()]


def sort_events(items) -> list:
    """Oldest sighting first, as kubectl sorts events (SortableEvents: by lastTimestamp)."""
    return sorted(items, key=lambda e: (e.lastTimestamp or e.eventTime or e.firstTimestamp, e.metadata.name))


def _column(res, col: proto.PrinterColumn) -> str:
    """A printer column of a kind without a table of its own: a plain `.a.b` path, or the age."""
    value: Any = manifest.to_dict(res)   # then a JSON value down the path
    for step in col.json_path.strip(".").split("."):
        value = value.get(step, "") if isinstance(value, dict) else ""
    if col.type == "date":   # the age of that time (a snapshot's creationTime, a restore's restoreTime)
        return age(value) if value or col.json_path == ".metadata.creationTimestamp" else ""
    if isinstance(value, bool):
        return "true" if value else "false"   # kubectl prints JSON's booleans
    return str(value)


def _generic(kind: proto.api.Kind) -> tuple[list[str], list[proto.PrinterColumn]]:
    """kubectl's table for a CRD: NAME and its printer columns (NAME AGE without any)."""
    cols = (list(proto.KINDS[kind].printer_columns)
            or [proto.PrinterColumn("Age", ".metadata.creationTimestamp", "date")])
    return ["NAME", *(c.name.upper() for c in cols if c.priority == 0)], [c for c in cols if c.priority == 0]


def table(kind: proto.api.Kind, items, wide: bool, all_namespaces: bool) -> str:
    if kind == proto.EVENT:
        items = sort_events(items)
    if kind in HEADERS:
        head, extra = HEADERS[kind]
        head = head + (extra if wide else [])
        if kind == proto.EVENT and wide:   # wide puts MESSAGE after SOURCE, as kubectl does
            head = head[:4] + extra[:2] + [head[4]] + extra[2:]
        rows = [row(kind, r, wide) for r in items]
    else:
        head, cols = _generic(kind)
        rows = [[r.metadata.name, *(_column(r, c) for c in cols)] for r in items]
    if all_namespaces and proto.namespaced(kind):
        head = ["NAMESPACE"] + head
        rows = [[r.metadata.namespace] + cols for r, cols in zip(items, rows)]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["   ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in [head, *rows]]
    return "\n".join(lines)


def render(kind: proto.api.Kind, items, fmt: str, single: bool, all_namespaces: bool = False) -> str:
    if fmt in ("json", "yaml"):
        docs = [manifest.to_dict(r) for r in items]
        doc = docs[0] if single else {"apiVersion": "v1", "kind": "List", "items": docs}
        return json.dumps(doc, indent=2) if fmt == "json" else manifest.dump_yaml([doc]).rstrip()
    if fmt == "name":
        plural = proto.KINDS[kind].printed_name
        return "\n".join(f"{plural}/{r.metadata.name}" for r in items)
    return table(kind, items, fmt == "wide", all_namespaces)
