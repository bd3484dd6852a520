"""Writes to a kube-apiserver, counted from its audit log (JSON lines; tools/kube_pki.py's policy logs
write verbs at Metadata level): what bench/controlplane.py reports as writes per VM start.

Who wrote is read from the User-Agent: every client of the test plane authenticates as the same admin,
but each mesh service names itself (`virtmesh-<service>/<version>`, services/common/kube.py) and
bench/controlplane.py tags its own requests.
"""
from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from datetime import datetime

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
BENCH_AGENT = "virtmesh-bench"


def size(path: str) -> int:
    """Where the log ends now: read() from here sees only later events."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def ts(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def read(path: str, offset: int = 0) -> list[dict]:
    """Completed write requests logged after byte `offset` (a line being written is left out)."""
    with open(path, "rb") as f:
        f.seek(offset)
        lines = f.read().split(b"\n")[:-1]
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if e.get("stage") == "ResponseComplete" and e.get("verb") in WRITE_VERBS]


def agent(e: dict) -> str:
    ua = e.get("userAgent", "")
    if e["user"]["username"].startswith("system:"):       # the apiserver's own loops (its lease, RBAC...)
        return e["user"]["username"]
    return ua.split("/")[0] if ua.startswith("virtmesh-") else ua or "?"


def resource(e: dict) -> str:
    ref = e.get("objectRef", {})
    return ref.get("resource", "?") + (f"/{ref['subresource']}" if ref.get("subresource") else "")


def verb(e: dict) -> str:
    """The verb, with the HTTP code when the write failed (a 409 is a stale write, wasted)."""
    code = e.get("responseStatus", {}).get("code", 200)
    return e["verb"] if code < 400 else f"{e['verb']} ({code})"


class Writes:
    """The writes of a time window, sorted into the mesh's (per VM start), the user's VM creates (the
    benchmark's own, which start the VMs but are not the mesh's doing), Node heartbeats and leases
    (periodic, whatever the VMs do), and the control plane's own."""

    def __init__(self, events: list[dict], t0: float, t1: float, skip_names=("warm-up",)):
        self.t0, self.t1 = t0, t1
        self.mesh, self.user, self.nodes, self.plane = Counter(), Counter(), Counter(), Counter()
        self.by_name: dict[str, list] = defaultdict(list)  # a VM's writes and its VMI's (same name)
        for e in events:
            if not t0 <= ts(e["requestReceivedTimestamp"]) <= t1:
                continue
            if e.get("objectRef", {}).get("name") in skip_names:  # the warm-up VM's tail, if any
                continue
            key = (agent(e), verb(e), resource(e))
            t = ts(e["requestReceivedTimestamp"])
            if not key[0].startswith("system:") and not resource(e).startswith(("nodes", "leases")):
                self.by_name[e.get("objectRef", {}).get("name", "")].append((t, ts(e["stageTimestamp"]) - t, key))
            if key[0].startswith("system:"):
                self.plane[key] += 1
            elif resource(e).startswith(("nodes", "leases")):
                self.nodes[key] += 1
            elif key[0] == BENCH_AGENT:
                self.user[key] += 1
            else:
                self.mesh[key] += 1

    def report(self, n: int) -> list[str]:
        mesh, user = sum(self.mesh.values()), sum(self.user.values())
        events = sum(c for (_, _, res), c in self.mesh.items() if res.startswith("events"))
        window = (f"{datetime.fromtimestamp(self.t0):%H:%M:%S.%f}"[:-3] + " to "
                  + f"{datetime.fromtimestamp(self.t1):%H:%M:%S.%f}"[:-3] + f" ({self.t1 - self.t0:.1f} s)")
        # KubeVirt's perf-scale figures count writes of pods, VMIs and VMs, with Events on top
        # (../shared/notes/perf-anchors.md 1.3): the objects are what the target compares.
        out = [f"writes per VM start (kube-apiserver audit log, {window}, {n} VM starts):",
               f"  by the mesh, to VMs and VMIs: {(mesh - events) / n:.2f} per VM start (target <= 5; KubeVirt "
               f"~7.4 on pods and VMIs for a VMI, ~22 with the VM's), Events on top: {events / n:.2f} (KubeVirt "
               f"1.3 for a VMI, 7.3 for a VM); all: {mesh / n:.2f}, with the user's create {(mesh + user) / n:.2f}"]
        out += table(self.mesh, n)
        out.append(f"  the user's writes (this benchmark's VM creates; not the mesh's doing): {user}")
        out += table(self.user, n)
        out.append(f"  Node heartbeats and leases (periodic, not per VM; left out): {sum(self.nodes.values())}")
        out += table(self.nodes, n)
        if self.plane:
            out.append(f"  the control plane's own (left out): {sum(self.plane.values())}")
            out += table(self.plane, n)
        return out + self.timeline()

    def timeline(self) -> list[str]:
        """A VM start write by write: when each write reached the kube-apiserver after the user's
        create did (median over the VMs), and how long the apiserver took to answer it."""
        offsets, took = defaultdict(list), defaultdict(list)
        for evs in self.by_name.values():
            evs.sort()
            start = next((t for t, _, key in evs if key[:2] == (BENCH_AGENT, "create")), None)
            seen = Counter()
            for t, d, key in evs if start is not None else ():
                seen[key] += 1
                offsets[(*key, seen[key])].append(t - start)
                took[(*key, seen[key])].append(d)
        med = lambda xs: sorted(xs)[len(xs) // 2] * 1000  # noqa: E731
        rows = sorted(offsets, key=lambda k: med(offsets[k]))
        return ["  a VM start, write by write (median ms after the user's create reached the apiserver; "
                "the apiserver's own time for the write; how many VMs had that write):"] + [
            f"    +{med(offsets[k]):6.0f} ms  took {med(took[k]):4.0f} ms  {k[0]:<20} {k[1]} {k[2]} #{k[3]}"
            f"  ({len(offsets[k])})" for k in rows]


def table(counts: Counter, n: int) -> list[str]:
    return [f"    {who:<20} {v:<14} {res:<40} {c:>6}  {c / n:5.2f}/VM"
            for (who, v, res), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
