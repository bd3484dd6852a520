"""Node choice for a VMI, as the Kubernetes scheduler would place its launcher pod (VMIs stand for pods):

Filters (a node failing one is out, counted under Kubernetes' reason):
- ready: schedulable, heartbeating;
- local claims: the node holding the VMI's bound claims;
- spec.nodeSelector plus the machine-type label KubeVirt's launcher pods select on
  (`machine-type.node.kubevirt.io/<type>: "true"`, the type from status.machine.type, else
  spec.domain.machine.type) and spec.affinity.nodeAffinity's required terms (NodeAffinity);
- taints with effect NoSchedule or NoExecute that spec.tolerations do not tolerate (TaintToleration);
- required pod affinity and anti-affinity, the VMI's and the anti-affinity of VMIs already placed
  (InterPodAffinity);
- topology spread constraints with whenUnsatisfiable: DoNotSchedule (PodTopologySpread);
- beyond KubeVirt: the machine type must take the VMI's vCPUs (the `virtmesh.io/machine-max-vcpus`
  the node's labeller publishes).

Among the nodes left, the highest score wins (preferred node affinity weights, preferred pod affinity
weights minus preferred anti-affinity weights, untolerated PreferNoSchedule taints and ScheduleAnyway
spread skew against), then the least loaded, then the name. spec.priorityClassName is kept on the
VMI and logged with the decision; with one queue per VMI there is nothing to preempt.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.common import machines, names, proto, timeutil

HEARTBEAT_TIMEOUT = 30.0  # seconds without a heartbeat before a node stops being a candidate
NODE_NAME_FIELD = "metadata.name"
HARD_TAINT_EFFECTS = ("NoSchedule", "NoExecute")
SOFT_TAINT_EFFECT = "PreferNoSchedule"
TAINT_PENALTY = 100       # a score point per preferred-node-affinity weight; untolerated soft taints weigh more


def node_ready(node) -> bool:
    if node.spec.unschedulable:
        return False
    if node.metadata.labels.get(names.SCHEDULABLE_LABEL) != "true":
        return False
    beat = node.metadata.annotations.get(names.HEARTBEAT_ANNOTATION)
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


# ---------------------------------------------------------------- selectors

def _requirement(req, labels: dict[str, str]) -> bool:
    """A NodeSelectorRequirement / LabelSelectorRequirement against a label set."""
    have = req.key in labels
    value = labels.get(req.key, "")
    op = req.operator
    if op == "In":
        return have and value in req.values
    if op == "NotIn":
        return not have or value not in req.values
    if op == "Exists":
        return have
    if op == "DoesNotExist":
        return not have
    if op in ("Gt", "Lt") and have and len(req.values) == 1:
        try:
            left, right = int(value), int(req.values[0])
        except ValueError:
            return False
        return left > right if op == "Gt" else left < right
    return False


def node_selector_term(term, node) -> bool:
    """A term matches when all its expressions (labels) and fields (metadata.name) do; an empty term
    matches nothing."""
    if not term.matchExpressions and not term.matchFields:
        return False
    fields = {NODE_NAME_FIELD: node.metadata.name}
    return (all(_requirement(r, node.metadata.labels) for r in term.matchExpressions)
            and all(_requirement(r, fields) for r in term.matchFields))


def node_affinity(vmi, node) -> bool:
    """spec.nodeSelector, the machine-type label and the required node affinity (terms ORed)."""
    if any(node.metadata.labels.get(k) != v for k, v in node_selector(vmi).items()):
        return False
    na = vmi.spec.affinity.nodeAffinity
    if na.HasField("requiredDuringSchedulingIgnoredDuringExecution"):
        terms = na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms
        return any(node_selector_term(t, node) for t in terms)
    return True


def label_selector(sel, labels: dict[str, str]) -> bool:
    return (all(labels.get(k) == v for k, v in sel.matchLabels.items())
            and all(_requirement(r, labels) for r in sel.matchExpressions))


# ---------------------------------------------------------------- taints

def tolerates(tol, taint) -> bool:
    """Kubernetes' Toleration.ToleratesTaint."""
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    if tol.operator == "Exists":
        return True
    return tol.operator in ("", "Equal") and tol.value == taint.value and bool(tol.key or not taint.key)


def untolerated(vmi, node, effects) -> list:
    return [t for t in node.spec.taints if t.effect in effects
            and not any(tolerates(tol, t) for tol in vmi.spec.tolerations)]


# ---------------------------------------------------------------- pod (VMI) affinity and spread

def _term_selector_matches(term, owner, other) -> bool:
    """Does `other` (a placed VMI) match `term` of `owner`'s affinity: namespaces, labelSelector and
    matchLabelKeys/mismatchLabelKeys (owner's values)."""
    namespaces = set(term.namespaces) or ({owner.metadata.namespace} if not term.HasField("namespaceSelector")
                                          else None)   # an empty namespaceSelector: every namespace
    if namespaces is not None and other.metadata.namespace not in namespaces:
        return False
    if not term.HasField("labelSelector"):
        return False   # a null selector matches no pods
    labels = other.metadata.labels
    if not label_selector(term.labelSelector, labels):
        return False
    own = owner.metadata.labels
    if any(k in own and labels.get(k) != own[k] for k in term.matchLabelKeys):
        return False
    if any(k in own and labels.get(k) == own[k] for k in term.mismatchLabelKeys):
        return False
    return True


def _same_domain(node, other_node, key: str) -> bool:
    return key in node.metadata.labels and other_node is not None and \
        other_node.metadata.labels.get(key) == node.metadata.labels[key]


class _Placement:
    """The placed VMIs (not final, with a node) and the nodes by name, for affinity and spread."""

    def __init__(self, others, nodes):
        self.nodes = {n.metadata.name: n for n in nodes}
        self.placed = [(v, self.nodes.get(v.status.nodeName)) for v in others]

    def affinity_ok(self, vmi, node) -> bool:
        for term in vmi.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution:
            matching = [n for v, n in self.placed if _term_selector_matches(term, vmi, v)]
            if any(_same_domain(node, n, term.topologyKey) for n in matching):
                continue
            # Kubernetes' first-pod rule: nothing matches anywhere yet, and the VMI matches its own term.
            if not matching and _term_selector_matches(term, vmi, vmi) and term.topologyKey in node.metadata.labels:
                continue
            return False
        return True

    def anti_affinity_ok(self, vmi, node) -> bool:
        for term in vmi.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution:
            if any(_same_domain(node, n, term.topologyKey) for v, n in self.placed
                   if _term_selector_matches(term, vmi, v)):
                return False
        for other, other_node in self.placed:   # the placed VMIs' anti-affinity, towards this one
            for term in other.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution:
                if _term_selector_matches(term, other, vmi) and _same_domain(node, other_node, term.topologyKey):
                    return False
        return True

    def preferred_score(self, vmi, node) -> int:
        score = 0
        aff = vmi.spec.affinity
        for sign, kind in ((1, aff.podAffinity), (-1, aff.podAntiAffinity)):
            for wt in kind.preferredDuringSchedulingIgnoredDuringExecution:
                term = wt.podAffinityTerm
                if any(_same_domain(node, n, term.topologyKey) for v, n in self.placed
                       if _term_selector_matches(term, vmi, v)):
                    score += sign * wt.weight
        return score

    def spread_skews(self, vmi, node, eligible) -> list[tuple[proto.core.TopologySpreadConstraint, int]]:
        """(constraint, skew if placed on `node`) for every topology spread constraint; a node without
        the topology key gets a skew above any maxSkew."""
        out = []
        for c in vmi.spec.topologySpreadConstraints:
            key = c.topologyKey
            domains: dict[str, int] = {}
            for n in eligible(c):
                if key in n.metadata.labels:
                    domains.setdefault(n.metadata.labels[key], 0)
            for v, n in self.placed:
                if n is not None and v.metadata.namespace == vmi.metadata.namespace and \
                        n.metadata.labels.get(key) in domains and self._spread_match(c, vmi, v):
                    domains[n.metadata.labels[key]] += 1
            if key not in node.metadata.labels:
                out.append((c, c.maxSkew + 1))
                continue
            least = min(domains.values()) if domains else 0
            if c.HasField("minDomains") and len(domains) < c.minDomains:
                least = 0
            own = 1 if self._spread_match(c, vmi, vmi) else 0
            out.append((c, domains.get(node.metadata.labels[key], 0) + own - least))
        return out

    @staticmethod
    def _spread_match(c, owner, other) -> bool:
        if not c.HasField("labelSelector"):
            return False
        own = owner.metadata.labels
        return label_selector(c.labelSelector, other.metadata.labels) and \
            all(k not in own or other.metadata.labels.get(k) == own[k] for k in c.matchLabelKeys)


# ---------------------------------------------------------------- the choice

def preferred_node_score(vmi, node) -> int:
    return sum(t.weight for t in vmi.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution
               if node_selector_term(t.preference, node))


def _taint_text(taint) -> str:
    return f"{{{taint.key}: {taint.value}}}"


def choose(vmi, nodes, load: dict[str, int], volume_nodes: frozenset[str] = frozenset(), others=()) -> Decision:
    """The best ready node passing every filter, or why there is none (scheduler-style). `volume_nodes`:
    the nodes the VMI's bound local claims live on (a VMI must run beside them); `others`: the VMIs
    already placed (for pod affinity and topology spread)."""
    placement = _Placement(others, nodes)
    reasons: dict[str, int] = {}

    def refuse(reason: str) -> None:
        reasons[reason] = reasons.get(reason, 0) + 1

    def spread_eligible(c):
        honour_affinity = not c.HasField("nodeAffinityPolicy") or c.nodeAffinityPolicy == "Honor"
        honour_taints = c.HasField("nodeTaintsPolicy") and c.nodeTaintsPolicy == "Honor"
        return [n for n in nodes if (not honour_affinity or node_affinity(vmi, n))
                and (not honour_taints or not untolerated(vmi, n, HARD_TAINT_EFFECTS))]

    candidates = []
    for node in nodes:
        if not node_ready(node):
            refuse("node(s) were unschedulable")
        elif volume_nodes and volume_nodes != {node.metadata.name}:
            refuse("node(s) had volume node affinity conflict")
        elif not node_affinity(vmi, node):
            refuse("node(s) didn't match Pod's node affinity/selector")
        elif hard := untolerated(vmi, node, HARD_TAINT_EFFECTS):
            refuse(f"node(s) had untolerated taint {_taint_text(hard[0])}")
        elif not placement.affinity_ok(vmi, node):
            refuse("node(s) didn't match pod affinity rules")
        elif not placement.anti_affinity_ok(vmi, node):
            refuse("node(s) didn't match pod anti-affinity rules")
        elif any(c.whenUnsatisfiable == "DoNotSchedule" and skew > c.maxSkew
                 for c, skew in placement.spread_skews(vmi, node, spread_eligible)):
            refuse("node(s) didn't match pod topology spread constraints")
        elif not fits(node, vmi):
            refuse(f"node(s) had a machine type with fewer than {domain_vcpus(vmi)} vCPUs")
        else:
            score = preferred_node_score(vmi, node) + placement.preferred_score(vmi, node)
            score -= TAINT_PENALTY * len(untolerated(vmi, node, (SOFT_TAINT_EFFECT,)))
            score -= sum(max(skew, 0) for c, skew in placement.spread_skews(vmi, node, spread_eligible)
                         if c.whenUnsatisfiable == "ScheduleAnyway")
            candidates.append((-score, load.get(node.metadata.name, 0), node.metadata.name))
    if candidates:
        return Decision(node=min(candidates)[2])
    order = ("didn't match Pod's node affinity/selector", "untolerated taint", "pod affinity rules",
             "pod anti-affinity rules", "topology spread", "volume node affinity", "machine type", "unschedulable")
    ranked = sorted(reasons.items(), key=lambda kv: next((i for i, o in enumerate(order) if o in kv[0]), 99))
    text = ", ".join(f"{n} {r}" for r, n in ranked)
    return Decision(message=f"0/{len(nodes)} nodes are available" + (": " + text if text else "") + ".")
