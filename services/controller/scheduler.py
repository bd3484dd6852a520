"""Node choice for a VMI: ready nodes whose labels satisfy spec.nodeSelector (no policy elsewhere)."""
from __future__ import annotations

from dataclasses import dataclass

from services.common import timeutil

SCHEDULABLE_LABEL = "kubevirt.io/schedulable"
HEARTBEAT_ANNOTATION = "kubevirt.io/heartbeat"
HEARTBEAT_TIMEOUT = 30.0  # seconds without a heartbeat before a node stops being a candidate


def node_ready(node) -> bool:
    if node.spec.unschedulable:
        return False
    if node.metadata.labels.get(SCHEDULABLE_LABEL) != "true":
        return False
    beat = node.metadata.annotations.get(HEARTBEAT_ANNOTATION)
    return bool(beat) and timeutil.age_seconds(beat) < HEARTBEAT_TIMEOUT


@dataclass
class Decision:
    node: str = ""
    message: str = ""


def choose(vmi, nodes, load: dict[str, int]) -> Decision:
    """The least loaded ready node matching the selector, or why there is none (scheduler-style)."""
    selector = dict(vmi.spec.nodeSelector)
    candidates, unready, mismatched = [], 0, 0
    for node in nodes:
        if not node_ready(node):
            unready += 1
        elif any(node.metadata.labels.get(k) != v for k, v in selector.items()):
            mismatched += 1
        else:
            candidates.append(node.metadata.name)
    if candidates:
        return Decision(node=min(candidates, key=lambda n: (load.get(n, 0), n)))
    reasons = []
    if mismatched:
        reasons.append(f"{mismatched} node(s) didn't match Pod's node affinity/selector")
    if unready:
        reasons.append(f"{unready} node(s) were unschedulable")
    total = len(nodes)
    return Decision(message=f"0/{total} nodes are available" + (": " + ", ".join(reasons) if reasons else "") + ".")
