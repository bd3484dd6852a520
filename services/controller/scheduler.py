"""Node choice for a VMI: ready nodes whose labels satisfy spec.nodeSelector plus the machine-type
label KubeVirt's launcher pods select on (`machine-type.node.kubevirt.io/<type>: "true"`, the type
from status.machine.type, else spec.domain.machine.type), and -- beyond KubeVirt -- whose machine
type takes the VMI's vCPUs (the `virtmesh.io/machine-max-vcpus` the node's labeller publishes)."""
from __future__ import annotations

from dataclasses import dataclass

from services.common import machines, timeutil

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


def node_selector(vmi) -> dict[str, str]:
    """spec.nodeSelector plus the machine-type label (KubeVirt's nodeSelectorRenderer)."""
    selector = dict(vmi.spec.nodeSelector)
    machine = machines.machine_of(vmi)
    if machine:
        selector[machines.MACHINE_TYPE_LABEL + machine] = "true"
    return selector


def domain_vcpus(vmi) -> int:
    return machines.domain_vcpus(vmi.spec)


def fits(node, vmi) -> bool:
    """Unknown limits (a node that publishes none) do not exclude a node."""
    limit = machines.node_max_vcpus(node).get(machines.machine_of(vmi), 0)
    return not limit or domain_vcpus(vmi) <= limit


def choose(vmi, nodes, load: dict[str, int], volume_nodes: frozenset[str] = frozenset()) -> Decision:
    """The least loaded ready node matching the selector, or why there is none (scheduler-style).
    `volume_nodes`: the nodes the VMI's bound local claims live on (a VMI must run beside them)."""
    selector = node_selector(vmi)
    candidates, unready, mismatched, small, volume_conflict = [], 0, 0, 0, 0
    for node in nodes:
        if not node_ready(node):
            unready += 1
        elif volume_nodes and volume_nodes != {node.metadata.name}:
            volume_conflict += 1
        elif any(node.metadata.labels.get(k) != v for k, v in selector.items()):
            mismatched += 1
        elif not fits(node, vmi):
            small += 1
        else:
            candidates.append(node.metadata.name)
    if candidates:
        return Decision(node=min(candidates, key=lambda n: (load.get(n, 0), n)))
    reasons = []
    if mismatched:
        reasons.append(f"{mismatched} node(s) didn't match Pod's node affinity/selector")
    if volume_conflict:
        reasons.append(f"{volume_conflict} node(s) had volume node affinity conflict")
    if small:
        reasons.append(f"{small} node(s) had a machine type with fewer than {domain_vcpus(vmi)} vCPUs")
    if unready:
        reasons.append(f"{unready} node(s) were unschedulable")
    total = len(nodes)
    return Decision(message=f"0/{total} nodes are available" + (": " + ", ".join(reasons) if reasons else "") + ".")
