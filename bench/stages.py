"""Where a VM start spends its time, read from the mesh's own traces (issue 19, item 7).

A VM start is one trace: the api's Create of the VirtualMachine is its root, and the controller's,
handler's and launcher's spans join it through the traceparent. The benchmarks run the mesh with an
OTLP sink (bench/otlpsink.py), dump its spans and call `report`, which prints, for each milestone of a
start, the median time since the VM's create reached the api:

    api write -> controller created the VMI (placed on its node) -> handler picked it up -> launcher
    spawned -> launcher ready -> domain defined and started (libvirt's create() returned) -> Running
    written

    python bench/stages.py SPANS.jsonl [NAME_PREFIX]     # a dump of Sink.dump
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict

API_SERVICE = "virtmesh-api"
# (label, how to find the milestone's time in one start's spans: (service, span name, kind, edge))
MILESTONES = (
    ("api wrote the VM", (API_SERVICE, "/virtmesh.v1.Resources/Create", "VirtualMachine", "end")),
    # The controller places a VM's VMI before creating it (services/controller/vmi.py: place).
    ("controller created the VMI", (API_SERVICE, "/virtmesh.v1.Resources/Create", "VirtualMachineInstance", "end")),
    ("handler picked it up", ("virtmesh-handler", "vmi.sync", "", "start")),
    ("launcher spawned", ("virtmesh-handler", "launcher.spawn", "", "end")),
    ("launcher ready", ("virtmesh-handler", "launcher.waitReady", "", "end")),
    ("domain converted", ("virtmesh-launcher", "launcher.convert", "", "end")),
    ("libvirt define+create returned", ("virtmesh-launcher", "libvirt.defineAndStart", "", "end")),
)
RUNNING = "VMI Running written"


def load(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def starts(spans: list[dict], prefix: str = "") -> list[dict[str, float]]:
    """Per VM start (a trace rooted in the api's Create of a VirtualMachine named `prefix`...):
    {milestone: ms since the create reached the api}; milestones a start lacks are left out."""
    traces: dict[str, list[dict]] = defaultdict(list)
    for sp in spans:
        traces[sp["trace"]].append(sp)
    out = []
    for trace in traces.values():
        trace.sort(key=lambda sp: sp["start"])
        root = trace[0]
        attrs = root["attributes"]
        if (root["service"] != API_SERVICE or attrs.get("virtmesh.kind") != "VirtualMachine"
                or not str(attrs.get("virtmesh.name", "")).startswith(prefix)):
            continue
        t0, seen = root["start"], {}
        for label, (service, name, kind, edge) in MILESTONES:
            sp = next((sp for sp in trace if sp["service"] == service and sp["name"] == name
                       and (not kind or sp["attributes"].get("virtmesh.kind") == kind)), None)
            if sp is not None:
                seen[label] = (sp[edge] - t0) / 1e6
        started = next((sp for sp in trace if sp["name"] == "libvirt.defineAndStart"), None)
        if started is not None:
            # The handler's write of Running: the first VMI write to the api after the domain started.
            running = next((sp for sp in trace if sp["service"] == API_SERVICE and sp["start"] > started["end"]
                            and sp["attributes"].get("virtmesh.kind") == "VirtualMachineInstance"), None)
            if running is not None:
                seen[RUNNING] = (running["end"] - t0) / 1e6
        out.append(seen)
    return out


def report(spans: list[dict], title: str = "a VM start", prefix: str = "") -> list[str]:
    """Lines: each milestone's median (and p90) ms since the VM's create reached the api, with the
    step from the milestone before (VMs named `prefix`...: a benchmark's, not its warm-up)."""
    per_start = starts(spans, prefix)
    if not per_start:
        return [f"{title}: no traced VM start"]
    lines = [f"{title}, stage by stage (median of {len(per_start)} starts, ms since the VM's create reached the api):"]
    before = 0.0
    for label in [m[0] for m in MILESTONES] + [RUNNING]:
        values = sorted(s[label] for s in per_start if label in s)
        if not values:
            continue
        p50 = statistics.median(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        lines.append(f"  {label:<32} {p50:7.1f}  (+{p50 - before:6.1f})   p90 {p90:7.1f}")
        before = p50
    return lines


if __name__ == "__main__":
    print("\n".join(report(load(sys.argv[1]), prefix=sys.argv[2] if len(sys.argv) > 2 else "")))
