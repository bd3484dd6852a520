"""Scheduling by KubeVirt 1.6's pod-level fields (issue 14, item 4), as the Kubernetes scheduler places
a launcher pod: node affinity (required terms filter, preferred terms score), taints and
tolerations (NoSchedule/NoExecute filter, PreferNoSchedule scores), pod (VMI) affinity and
anti-affinity, topology spread constraints; and the controller handing it the placed VMIs."""
from __future__ import annotations

from services.common import manifest, proto, timeutil, vmstate
from services.controller import scheduler


def node(name, zone="", taints=(), **labels):
    n = proto.kv.Node()
    n.metadata.name = name
    n.metadata.labels.update({"kubevirt.io/schedulable": "true", "machine-type.node.kubevirt.io/q35": "true",
                              "kubernetes.io/hostname": name, **labels})
    if zone:
        n.metadata.labels["zone"] = zone
    n.metadata.annotations["kubevirt.io/heartbeat"] = timeutil.now()
    for key, value, effect in taints:
        n.spec.taints.add(key=key, value=value, effect=effect)
    return n


def vmi(name="v", labels=None, node_name="", namespace="default", **spec):
    doc = {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {}},
           "spec": {"domain": {"machine": {"type": "q35"}, "devices": {}}, **spec}}
    v = manifest.parse(doc, proto.kv.VirtualMachineInstance)
    if node_name:
        v.status.nodeName = node_name
    return v


def three_nodes():
    """n1, n2 in zone a, n3 in zone b — made per use: a heartbeat older than 30 s is a node not ready."""
    return [node("n1", "a", disk="ssd", cores="8"), node("n2", "a", cores="16"), node("n3", "b", cores="32")]


def choose(v, nodes=None, load=None, others=()):
    return scheduler.choose(v, three_nodes() if nodes is None else nodes, load or {}, others=others)


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def test_required_node_affinity_terms_are_ored_and_their_requirements_anded():
    v = vmi(affinity=required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}))
    assert choose(v).node == "n3"
    v = vmi(affinity=required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                                    {"key": "disk", "operator": "DoesNotExist"}]}))
    assert choose(v).node == "n2"
    v = vmi(affinity=required({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["10"]},
                                                    {"key": "cores", "operator": "Lt", "values": ["20"]}]},
                              {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}))
    assert {choose(v, load={"n1": 0, "n2": 5}).node, choose(v, load={"n1": 5, "n2": 0}).node} == {"n1", "n2"}
    v = vmi(affinity=required({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}))
    assert choose(v).message == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    # nodeSelector and the affinity must both hold
    v = vmi(nodeSelector={"zone": "a"}, affinity=required({"matchExpressions": [
        {"key": "zone", "operator": "NotIn", "values": ["a"]}]}))
    assert choose(v).node == ""


def test_preferred_node_affinity_outweighs_load():
    v = vmi(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}},
        {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}})
    assert choose(v, load={"n1": 9, "n2": 0, "n3": 0}).node == "n1"


def test_taints_filter_unless_tolerated():
    nodes = [node("gpu", taints=[("dedicated", "gpu", "NoSchedule")]),
             node("bad", taints=[("node.kubernetes.io/unreachable", "", "NoExecute")])]
    d = choose(vmi(), nodes)
    assert d.node == "" and d.message == (
        "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.")
    assert choose(vmi(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                    "effect": "NoSchedule"}]), nodes).node == "gpu"
    assert choose(vmi(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "cpu"}]), nodes).node == ""
    assert choose(vmi(tolerations=[{"key": "dedicated", "operator": "Exists"}]), nodes).node == "gpu"
    assert choose(vmi(tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                    "effect": "NoExecute", "tolerationSeconds": 300}]), nodes).node == "bad"
    assert choose(vmi(tolerations=[{"operator": "Exists"}]), nodes).node in ("gpu", "bad")   # tolerates all
    # the wrong effect does not tolerate
    assert choose(vmi(tolerations=[{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]),
                  nodes[:1]).node == ""


def test_prefer_no_schedule_only_steers():
    nodes = [node("soft", taints=[("spot", "yes", "PreferNoSchedule")]), node("busy")]
    assert choose(vmi(), nodes, load={"busy": 10}).node == "busy"
    assert choose(vmi(), nodes[:1]).node == "soft"
    assert choose(vmi(tolerations=[{"key": "spot", "operator": "Exists"}]), nodes, load={"busy": 10}).node == "soft"


def test_required_pod_anti_affinity_spreads_replicas_and_is_symmetric():
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}}
    placed = [vmi("db0", {"app": "db"}, "n1", affinity=anti), vmi("db1", {"app": "db"}, "n2", affinity=anti)]
    assert choose(vmi("db2", {"app": "db"}, affinity=anti), others=placed).node == "n3"
    assert choose(vmi("db2", {"app": "db"}, affinity=anti), three_nodes()[:2], others=placed).message == (
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")
    # another namespace's VMIs do not count (the term's namespaces default to the VMI's own)
    assert choose(vmi("db2", {"app": "db"}, namespace="other", affinity=anti), three_nodes()[:2], others=placed).node
    # a VMI without anti-affinity still may not land beside one whose anti-affinity selects it
    assert choose(vmi("web", {"app": "db"}), three_nodes()[:2], others=placed).node == ""


def test_required_pod_affinity_by_zone_and_the_first_pod_rule():
    aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "cache"}}}]}}
    cache = vmi("cache", {"app": "cache"}, "n3")
    assert choose(vmi("web", {"app": "web"}, affinity=aff), others=[cache]).node == "n3"
    d = choose(vmi("web", {"app": "web"}, affinity=aff), three_nodes()[:2], others=[cache])
    assert d.message == "0/2 nodes are available: 2 node(s) didn't match pod affinity rules."
    # no cache anywhere: a VMI that is itself a cache may go first; a web VMI may not
    assert choose(vmi("c0", {"app": "cache"}, affinity=aff)).node
    assert choose(vmi("web", {"app": "web"}, affinity=aff)).node == ""
    # matchLabelKeys narrows the selector to the VMI's own value
    keyed = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "cache"}}, "matchLabelKeys": ["tenant"]}]}}
    caches = [vmi("ca", {"app": "cache", "tenant": "a"}, "n1"), vmi("cb", {"app": "cache", "tenant": "b"}, "n3")]
    assert choose(vmi("w", {"app": "w", "tenant": "b"}, affinity=keyed), others=caches).node == "n3"


def test_preferred_pod_affinity_and_anti_affinity_score():
    pref = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "db"}}}}]}}
    placed = [vmi("db0", {"app": "db"}, "n1")]
    assert choose(vmi("db1", {"app": "db"}, affinity=pref), load={"n3": 5}, others=placed).node == "n3"
    assert choose(vmi("db1", {"app": "db"}, affinity=pref), three_nodes()[:2], others=placed).node in ("n1", "n2")


def test_topology_spread():
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "db"}}}]
    placed = [vmi("db0", {"app": "db"}, "n1"), vmi("db1", {"app": "db"}, "n2")]
    assert choose(vmi("db2", {"app": "db"}, topologySpreadConstraints=spread), others=placed).node == "n3"
    d = choose(vmi("db2", {"app": "db"}, topologySpreadConstraints=spread), three_nodes()[:2] + [node("n4")], others=placed)
    # n4 has no zone (never a candidate); zone a is the only domain, hence its own minimum: skew 1, allowed
    assert d.node in ("n1", "n2")
    # minDomains: fewer domains than asked counts the minimum as 0
    spread[0]["minDomains"] = 3
    d = choose(vmi("db2", {"app": "db"}, topologySpreadConstraints=spread), three_nodes()[:2], others=placed)
    assert d.message == "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints."
    soft = [{**spread[0], "whenUnsatisfiable": "ScheduleAnyway"}]
    del soft[0]["minDomains"]
    assert choose(vmi("db2", {"app": "db"}, topologySpreadConstraints=soft), load={"n3": 9},
                  others=placed).node == "n3"


async def test_the_vmi_controller_hands_the_scheduler_the_placed_vmis():
    from services.controller.vmi import VMIController

    class Cache:
        def __init__(self, items):
            self.d = {f"{o.metadata.namespace}/{o.metadata.name}": o for o in items}
            self.traceparent = {}

        def get(self, key):
            return self.d.get(key)

        def items(self):
            return list(self.d.values())

    class Api:
        async def update_with_status(self, obj, tp=""):
            self.written = obj
            return obj

        async def update_status(self, obj, tp=""):
            self.written = obj
            return obj

    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "db"}}}]}}
    running = vmi("db0", {"app": "db"}, "n1")
    vmstate.set_phase(running, vmstate.RUNNING)
    done = vmi("db-old", {"app": "db"}, "n3")
    vmstate.set_phase(done, vmstate.SUCCEEDED)   # a finished VMI holds no place
    new = vmi("db1", {"app": "db"}, affinity=anti, priorityClassName="high")
    api = Api()
    c = VMIController(api, Cache([]), Cache([running, done, new]), Cache(three_nodes()))
    await c.reconcile("default/db1")
    assert api.written.status.nodeName == "n3"
    assert api.written.spec.priorityClassName == "high"   # recorded on the VMI
