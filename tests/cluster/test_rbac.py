"""Cluster mode under the kube-apiserver's RBAC (issue 13): every service on its own ServiceAccount's token,
bound as deploy/base/rbac.yaml binds it (rendered by kustomize, as deployed), on libvirt's test driver.
A VM's whole life works with those permissions alone (so the roles suffice), what a service never needs
is refused (so they are no wider than that), and users get KubeVirt's kubevirt.io:view / edit."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import grpc
import pytest
import yaml

from services.cli.up import install_crds
from services.common import kube, paths, proto

from cluster.conftest import NODE
from harness import ROOT, Mesh, short_tmpdir, vm_manifest

pytestmark = pytest.mark.cluster

BASE = os.path.join(ROOT, "deploy", "base")
NAMESPACE = "virtmesh"   # deploy/base/kustomization.yaml's
SERVICES = ("api", "controller", "handler")
USER_ROLES = {"viewer": "kubevirt.io:view", "editor": "kubevirt.io:edit"}
READ = {"get", "list", "watch"}
WRITE = {"create", "update", "patch", "delete"}
CONFIG_KINDS = ("KubeVirt",)   # the mesh's configuration: users read it, the cluster admin writes it
# Live migration (KubeVirt's roles): admin / edit / view read migrations and policies; kubevirt.io:migrate writes.
MIGRATION_KINDS = ("VirtualMachineInstanceMigration", "MigrationPolicy")

DATA_VOLUME = """
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: rbacdv}
spec:
  source: {blank: {}}
  storage: {resources: {requests: {storage: 8Mi}}}
"""

TEMPLATE_VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: templated}
spec:
  runStrategy: Always
  dataVolumeTemplates:
  - metadata: {name: templated-disk}
    spec:
      source: {blank: {}}
      storage: {resources: {requests: {storage: 8Mi}}}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {guest: 64Mi}
        devices: {disks: [{name: disk, disk: {bus: virtio}}]}
      volumes: [{name: disk, dataVolume: {name: templated-disk}}]
"""

CONFIG_OBJECTS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {app.conf: "port=8080"}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData: {password: s3cret}
"""
CONFIG_VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: configured}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {guest: 64Mi}
        devices: {disks: [{name: cfg, disk: {}}, {name: sec, disk: {}}]}
      volumes:
      - {name: cfg, configMap: {name: app-config}}
      - {name: sec, secret: {secretName: app-secret}}
"""

SIZED_VM = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata: {name: rbacsmall}
spec:
  cpu: {guest: 1}
  memory: {guest: 64Mi}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: sized}
spec:
  runStrategy: Always
  instancetype: {name: rbacsmall, kind: VirtualMachineInstancetype}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain: {devices: {}}
"""


def account(service: str) -> str:
    return f"virtmesh-{service}"


def load(name: str) -> list[dict]:
    with open(os.path.join(BASE, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def verbs(role: dict, group: str, resource: str) -> set[str]:
    """The verbs `role` grants on every object of `resource` (rules limited to some names grant none)."""
    out: set[str] = set()
    for rule in role["rules"]:
        if group in rule.get("apiGroups", ()) and resource in rule.get("resources", ()) \
                and not rule.get("resourceNames"):
            out |= set(rule["verbs"])
    return out


# ---------------------------------------------------------------------- the manifests themselves

def test_user_roles_cover_every_kind_of_ours_and_aggregate():
    """A kind added to KINDS must be added to kubevirt.io:admin / edit / view too (KubeVirt's verbs), and
    every user may read the cluster-scoped ones; each role aggregates into the Kubernetes role of its name."""
    docs = load("rbac.yaml")
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    everyone = [d["roleRef"]["name"] for d in docs if d["kind"] == "ClusterRoleBinding"
                and {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
                in d["subjects"]]
    missing = []
    for info in proto.KINDS.values():
        if not info.ours:
            continue
        if info.kind in CONFIG_KINDS:
            want = dict.fromkeys(("kubevirt.io:view", "kubevirt.io:edit", "kubevirt.io:admin"), {"get", "list"})
        elif info.kind in MIGRATION_KINDS:
            want = dict.fromkeys(("kubevirt.io:view", "kubevirt.io:edit", "kubevirt.io:admin"), READ)
            if info.namespaced:
                want["kubevirt.io:migrate"] = READ | WRITE | {"deletecollection"}
        else:
            want = {"kubevirt.io:view": READ, "kubevirt.io:edit": READ | WRITE,
                    "kubevirt.io:admin": READ | WRITE | {"deletecollection"}}
        for name, expected in want.items():
            got = verbs(roles[name], info.group, info.plural)
            if got != expected:
                missing.append(f"{name} on {info.resource}: {sorted(got)}, want {sorted(expected)}")
        if not info.namespaced and not any(READ <= verbs(roles[r], info.group, info.plural) for r in everyone):
            missing.append(f"{info.resource}: not readable by every user")
    assert not missing, missing
    for level in ("admin", "edit", "view"):
        labels = roles[f"kubevirt.io:{level}"]["metadata"]["labels"]
        assert labels == {f"rbac.authorization.k8s.io/aggregate-to-{level}": "true"}


def test_each_workload_runs_as_its_own_account_bound_to_its_role():
    with open(os.path.join(BASE, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    assert "rbac.yaml" in kustomization["resources"]
    transformer = yaml.safe_load(kustomization["transformers"][0])   # the namespace of what names none
    assert transformer["kind"] == "NamespaceTransformer" and transformer["metadata"]["namespace"] == NAMESPACE
    docs = load("rbac.yaml")
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    bindings = {d["roleRef"]["name"]: d["subjects"] for d in docs if d["kind"] == "ClusterRoleBinding"}
    for service in SERVICES:
        workload = next(d for d in load(f"{service}.yaml") if d["kind"] in ("Deployment", "DaemonSet"))
        assert workload["spec"]["template"]["spec"]["serviceAccountName"] == account(service)
        assert account(service) in accounts
        assert bindings[account(service)] == [{"kind": "ServiceAccount", "name": account(service),
                                               "namespace": NAMESPACE}]
    assert set(accounts) == {account(s) for s in SERVICES}


def test_the_installer_may_apply_exactly_our_crds():
    crds = set()
    for path in glob.glob(os.path.join(ROOT, "deploy", "crds", "**", "*.yaml"), recursive=True):
        with open(path) as f:
            crds |= {d["metadata"]["name"] for d in yaml.safe_load_all(f)
                     if d and d["kind"] == "CustomResourceDefinition"}
    role = next(d for d in load("rbac.yaml") if d["metadata"]["name"] == "virtmesh-crd-installer")
    assert [set(r["resourceNames"]) for r in role["rules"]] == [crds]


# ---------------------------------------------------------------------- on the control plane

@pytest.fixture(scope="module")
def identities(control_plane) -> dict[str, str]:
    """Kubeconfigs: a token of each service's ServiceAccount (deploy/base's RBAC applied as kustomize renders
    it), users holding kubevirt.io:view / edit in namespace default, and one bound to the CRD installer."""
    cp = control_plane
    rendered = yaml.safe_load_all(cp.kubectl("kustomize", BASE).stdout)
    rbac = [d for d in rendered if d and d["kind"] in ("Namespace", "ServiceAccount", "ClusterRole",
                                                        "ClusterRoleBinding", "Role", "RoleBinding")]
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    out = {s: cp.service_account_kubeconfig(NAMESPACE, account(s)) for s in SERVICES}
    for user, role in USER_ROLES.items():
        cp.kubectl("create", "rolebinding", f"test-{user}", f"--clusterrole={role}", f"--user={user}", "-n", "default")
        out[user] = cp.user_kubeconfig(user)
    cp.kubectl("create", "clusterrolebinding", "test-installer", "--clusterrole=virtmesh-crd-installer",
               "--user=installer")
    out["installer"] = cp.user_kubeconfig("installer")
    for who, verb, resource, allowed in MATRIX:   # the apiserver's RBAC cache takes the bindings in
        if allowed:
            wait_until(lambda: can_i(cp, out[who], verb, resource), f"{who} may {verb} {resource}")
    return out


def wait_until(predicate, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def can_i(cp, kubeconfig: str, verb: str, resource: str, namespace: str = "default") -> bool:
    """`kubectl auth can-i` with that identity's own credentials (a SelfSubjectAccessReview); `resource`
    is TYPE or TYPE/NAME, optionally followed by --subresource=SUB and -n NAMESPACE."""
    words = resource.split()
    if "-n" not in words:   # a resource may name its own namespace ("… -n virtmesh")
        words += ["-n", namespace]
    r = cp.kubectl("auth", "can-i", verb, *words, kubeconfig=kubeconfig,
                   check=False)
    assert r.stdout.strip() in ("yes", "no"), r.stdout + r.stderr
    return r.stdout.strip() == "yes"


# (identity, verb, resource [--subresource=SUB], allowed): what each one needs, and what it must not do.
MATRIX = [
    ("api", "get", "virtualmachines.kubevirt.io", True),
    ("api", "update", "virtualmachines.kubevirt.io --subresource=status", True),
    ("api", "update", "virtualmachineinstances.kubevirt.io", True),
    ("api", "list", "nodes", True),
    ("api", "patch", "validatingwebhookconfigurations/virt-api-validator", True),
    ("api", "create", "subjectaccessreviews.authorization.k8s.io", True),
    ("api", "create", "virtualmachines.kubevirt.io", True),   # the webhook probe's dry run
    ("api", "list", "virtualmachines.kubevirt.io", False),    # the door's, opt-in (virtmesh-api-door)
    ("api", "patch", "validatingwebhookconfigurations/someone-elses", False),
    ("api", "delete", "virtualmachines.kubevirt.io", False),
    ("api", "create", "virtualmachineinstances.kubevirt.io", False),
    ("api", "delete", "virtualmachineinstances.kubevirt.io", False),
    ("api", "update", "nodes", False),
    ("api", "create", "customresourcedefinitions", False),
    ("api", "get", "secrets", False),
    ("controller", "create", "virtualmachineinstances.kubevirt.io", True),
    ("controller", "update", "virtualmachines.kubevirt.io --subresource=status", True),
    ("controller", "update", "nodes", True),
    ("controller", "create", "persistentvolumeclaims", True),
    ("controller", "update", "datavolumes.cdi.kubevirt.io --subresource=status", True),
    ("controller", "create", "datavolumes.cdi.kubevirt.io", True),    # a VM's dataVolumeTemplates
    ("controller", "delete", "datavolumes.cdi.kubevirt.io", True),
    ("controller", "update", "datavolumes.cdi.kubevirt.io", False),
    ("handler", "create", "datavolumes.cdi.kubevirt.io", False),
    ("controller", "create", "virtualmachines.kubevirt.io", True),    # a restore to a new name
    ("controller", "delete", "virtualmachines.kubevirt.io", False),
    ("controller", "create", "nodes", False),
    ("controller", "delete", "nodes", False),
    ("controller", "update", "persistentvolumeclaims --subresource=status", False),   # the handler binds claims
    ("controller", "patch", "mutatingwebhookconfigurations/virt-api-mutator", False),
    ("controller", "get", "secrets", False),
    ("controller", "update", "leases.coordination.k8s.io/virt-controller -n virtmesh", True),
    ("controller", "update", "leases.coordination.k8s.io/someone-elses -n virtmesh", False),
    ("controller", "create", "leases.coordination.k8s.io", False),   # in namespace default: not its own
    ("handler", "update", "virtualmachineinstances.kubevirt.io", True),
    ("handler", "update", "nodes", True),
    ("handler", "update", "persistentvolumeclaims --subresource=status", True),
    ("handler", "delete", "virtualmachines.kubevirt.io", False),
    ("handler", "create", "virtualmachines.kubevirt.io", False),
    ("handler", "create", "virtualmachineinstances.kubevirt.io", False),
    ("handler", "delete", "virtualmachineinstances.kubevirt.io", False),
    ("handler", "update", "virtualmachines.kubevirt.io", False),
    ("handler", "create", "nodes", False),           # the kubelet registers Nodes
    ("handler", "delete", "nodes", False),
    ("handler", "update", "nodes --subresource=status", False),    # and reports their status
    ("handler", "create", "persistentvolumeclaims", False),
    ("handler", "get", "secrets", True),            # the Secrets and ConfigMaps its VMIs' volumes name
    ("handler", "get", "configmaps", True),
    ("handler", "list", "secrets", False),          # one by name, never all of them
    ("handler", "update", "secrets", False),
    ("controller", "create", "pods", True),            # launcher pods (--launcher-pods)
    ("controller", "delete", "pods", True),
    ("controller", "update", "pods --subresource=status", False),   # the kubelet's
    ("handler", "watch", "pods", True),
    ("handler", "delete", "pods", False),
    ("handler", "create", "pods", False),
    ("controller", "create", "events", True),    # the Events they record, counted on by a patch
    ("controller", "patch", "events", True),
    ("handler", "create", "events", True),
    ("handler", "patch", "events", True),
    ("handler", "delete", "events", False),
    ("api", "create", "events", False),
    ("viewer", "get", "virtualmachines.kubevirt.io", True),
    ("viewer", "list", "virtualmachineinstances.kubevirt.io", True),
    ("viewer", "create", "virtualmachines.kubevirt.io", False),
    ("viewer", "delete", "virtualmachines.kubevirt.io", False),
    ("editor", "create", "virtualmachines.kubevirt.io", True),
    ("editor", "delete", "datavolumes.cdi.kubevirt.io", True),
    ("editor", "deletecollection", "virtualmachines.kubevirt.io", False),   # kubevirt.io:admin's
    ("editor", "create", "customresourcedefinitions", False),
    ("installer", "patch", "customresourcedefinitions/virtualmachines.kubevirt.io", True),
    ("installer", "patch", "customresourcedefinitions/widgets.example.com", False),
    ("installer", "create", "virtualmachines.kubevirt.io", False),
    # Snapshots (issue 17): the controller makes contents, the node's handler fills and empties them.
    ("api", "list", "virtualmachinerestores.snapshot.kubevirt.io", True),
    ("controller", "create", "virtualmachinesnapshotcontents.snapshot.kubevirt.io", True),
    ("controller", "update", "virtualmachinesnapshots.snapshot.kubevirt.io --subresource=status", True),
    ("controller", "update", "persistentvolumeclaims", True),    # the copy's claim protection
    ("handler", "update", "virtualmachinesnapshotcontents.snapshot.kubevirt.io --subresource=status", True),
    ("handler", "create", "virtualmachinesnapshotcontents.snapshot.kubevirt.io", False),
    ("handler", "update", "virtualmachinesnapshots.snapshot.kubevirt.io", False),
    ("viewer", "list", "virtualmachinesnapshots.snapshot.kubevirt.io", True),
    ("viewer", "create", "virtualmachinerestores.snapshot.kubevirt.io", False),
    ("editor", "create", "virtualmachinerestores.snapshot.kubevirt.io", True),
    ("editor", "deletecollection", "virtualmachinesnapshots.snapshot.kubevirt.io", False),
]


def test_each_identity_can_do_what_it_needs_and_nothing_it_does_not(control_plane, identities):
    wrong = [f"{who} {verb} {resource}: {'refused' if allowed else 'allowed'}"
             for who, verb, resource, allowed in MATRIX
             if can_i(control_plane, identities[who], verb, resource) != allowed]
    assert not wrong, wrong
    # A user's grant is per namespace (a RoleBinding of the ClusterRole).
    assert not can_i(control_plane, identities["editor"], "create", "virtualmachines.kubevirt.io", "kube-system")


def test_a_service_token_is_refused_for_real(control_plane, identities):
    """Not only the review: the handler's own requests, through the client it runs on, come back
    PERMISSION_DENIED."""
    k = kube.Kube(kube.api_client(identities["handler"], "handler"))
    try:
        with pytest.raises(grpc.RpcError) as e:
            k.request("DELETE", k.path(proto.VM, "default", "anyvm"))
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "system:serviceaccount:virtmesh:virtmesh-handler" in e.value.details()
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "rogue"}}
        with pytest.raises(grpc.RpcError) as e:
            k.request("POST", "/api/v1/nodes", body=node)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        k.list(proto.VMI, node_name=NODE)   # while what it needs works
    finally:
        k.close()


def test_crd_install_needs_the_installer_role_only(control_plane, identities):
    """virt-operator's step: a user with kubevirt.io:edit cannot install the CRDs; one bound to
    virtmesh-crd-installer can, creating one (DataVolume's, deleted first) and re-applying the others."""
    cp = control_plane
    cp.kubectl("delete", "crd", "datavolumes.cdi.kubevirt.io", "--timeout=60s")
    with pytest.raises(grpc.RpcError) as e:
        install_crds(identities["editor"])
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    install_crds(identities["installer"])
    crd = yaml.safe_load(cp.kubectl("get", "crd", "datavolumes.cdi.kubevirt.io", "-o", "yaml").stdout)
    assert any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])


class Services(Mesh):
    """api (with its TCP door), controller and handler as `virtmesh up --kubeconfig` starts them, but each
    on its own kubeconfig (up passes one to all); the CLI runs as `user`."""

    def __init__(self, data_dir: str, kubeconfigs: dict[str, str], user: str, cp):
        self.data_dir = data_dir
        paths.DataDir(data_dir).ensure()
        self.env = dict(os.environ, VIRTMESH_DATA_DIR=data_dir, KUBECONFIG=user,
                        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        service_env = {k: v for k, v in self.env.items() if k != "KUBECONFIG"}
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.api_port = sock.getsockname()[1]
        # The webhooks take only the kube-apiserver's calls, as ClusterMesh's.
        extra = {"api": ("--listen", f"127.0.0.1:{self.api_port}",
                         "--webhook-client-ca", os.path.join(cp.dir, "pki", "ca.crt")),
                 "handler": ("--node-name", NODE, "--libvirt-uri", "test:///default"),
                 # Its Lease where deploy/base's Role lets it hold one (a pod's POD_NAMESPACE).
                 "controller": ("--leader-elect-namespace", NAMESPACE)}
        self.procs: dict[str, subprocess.Popen] = {}
        for name in SERVICES:
            with open(os.path.join(data_dir, "logs", f"{name}.log"), "ab") as log:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", f"services.{name}", "--data-dir", data_dir,
                     "--kubeconfig", kubeconfigs[name], *extra.get(name, ())],
                    env=service_env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
        try:
            for name, line in (("api", "serving on"), ("controller", "caches synced"),
                               ("handler", "handler serving")):
                self.wait_for(lambda: self.log_has(name, line) or self.procs[name].poll() is not None, 60,
                              f"{name}: {line}")
                assert self.procs[name].poll() is None, f"{name} exited\n" + self.logs_tail()
        except BaseException:
            self.stop()   # what started must not outlive a failed start
            raise

    def log_has(self, service: str, text: str) -> bool:
        with open(os.path.join(self.data_dir, "logs", f"{service}.log")) as f:
            return text in f.read()

    def stop(self) -> None:
        """SIGTERM each service (the handler stops its zygote), then kill the launchers, which outlive
        a handler by design."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in self.launcher_pids():
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def least_privilege_mesh(control_plane, identities):
    cp = control_plane
    if not cp.kube.request("GET", "/api/v1/nodes").get("items"):
        cp.create_node()
    d = short_tmpdir("vmrbac-")
    m = None
    try:
        m = Services(d, identities, identities["editor"], cp)   # stops what it started if it fails
        m.wait_for(lambda: (proto.inner(cp.kube.get(proto.NODE, "", NODE)).metadata.labels
                            .get("kubevirt.io/schedulable") == "true"), 30, "node01 schedulable")
        yield m
    finally:
        if m is not None:
            m.stop()
        shutil.rmtree(d, ignore_errors=True)


def vmi_volumes(m: Mesh, name: str) -> list[str]:
    vmi = m.get("vmi", name) or {}
    return [v["name"] for v in vmi.get("spec", {}).get("volumes", [])]


def vmi_paused(m: Mesh, name: str) -> bool:
    vmi = m.get("vmi", name) or {}
    return any(c["type"] == "Paused" and c["status"] == "True" for c in vmi.get("status", {}).get("conditions", []))


def door_of_the_api(cp, m: Services) -> None:
    """The api's TCP door with virtmesh-api-door bound (as an overlay would bind it): a certificate
    holder's calls are reviewed against the cluster's RBAC, then made with the api's account."""
    binding = ("clusterrolebinding", "test-api-door")
    cp.kubectl("create", *binding, "--clusterrole=virtmesh-api-door", f"--serviceaccount={NAMESPACE}:{account('api')}")
    try:
        api = cp.service_account_kubeconfig(NAMESPACE, account("api"))
        wait_until(lambda: can_i(cp, api, "create", "virtualmachines.kubevirt.io"), "the door's role is in")

        def door(user: str, *args, input: str | None = None):
            certs = os.path.join(m.data_dir, "users", user)
            if not os.path.isdir(certs):
                m.cli("certs", "issue", user, "--out", certs)
            return m.cli("--kubeconfig", "", "--api", f"127.0.0.1:{m.api_port}", "--certs", certs, *args,
                         input=input, check=False)

        r = door("viewer", "apply", "-f", "-", input=vm_manifest("bydoor"))
        assert r.returncode != 0 and 'User "viewer" cannot create resource "virtualmachines"' in r.stderr, r.stderr
        assert door("viewer", "get", "vm", "rbac", "-o", "name").stdout.strip() == "virtualmachine.kubevirt.io/rbac"
        r = door("editor", "apply", "-f", "-", input=vm_manifest("bydoor", "Halted"))
        assert r.returncode == 0 and "virtualmachine.kubevirt.io/bydoor created" in r.stdout, r.stderr
        assert "bydoor" in door("editor", "get", "vms").stdout
        r = door("editor", "delete", "vm", "bydoor")
        assert r.returncode == 0, r.stderr
        m.wait_for(lambda: m.get("vm", "bydoor") is None, 30, "bydoor deleted")
    finally:
        cp.kubectl("delete", *binding)


def test_a_vm_lives_and_dies_with_least_privilege(control_plane, identities, least_privilege_mesh):
    """Each service on its own token: a VM created by a kubevirt.io:edit user runs; a DataVolume becomes a
    claim (controller) bound on the node (handler) and is hot-plugged through the api; an instance type
    is applied (the api reads it, the controller stores its revision); the api's door
    serves certificate holders as the cluster's RBAC allows them; a VM's DataVolume template is made and
    deleted with it (controller); pause, stop and start go through the
    api; deleting the VM and the DataVolume removes everything. No write of a service was refused, and
    each was made under its own account."""
    cp, m = control_plane, least_privilege_mesh
    viewer, editor = identities["viewer"], identities["editor"]
    first_write = len(cp.audit_writes())

    r = cp.kubectl("apply", "-f", "-", input=vm_manifest("rbac"), kubeconfig=viewer, check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr.lower(), r.stderr
    assert "virtualmachine.kubevirt.io/rbac created" in cp.kubectl(
        "apply", "-f", "-", input=vm_manifest("rbac"), kubeconfig=editor).stdout
    m.wait_for(lambda: m.vm_status("rbac") == "Running", 60, "VM Running")
    assert "rbac" in cp.kubectl("get", "vms", kubeconfig=viewer).stdout

    cp.kubectl("apply", "-f", "-", input=DATA_VOLUME, kubeconfig=editor)
    m.wait_for(lambda: (m.get("dv", "rbacdv") or {}).get("status", {}).get("phase") == "Succeeded", 60,
               "DataVolume Succeeded")
    claim = proto.inner(cp.kube.get(proto.PVC, "default", "rbacdv"))
    assert claim.status.phase == "Bound"
    m.cli("addvolume", "rbac", "--volume-name", "rbacdv")
    m.wait_for(lambda: "rbacdv" in vmi_volumes(m, "rbac"), 30, "volume hot-plugged")
    m.cli("removevolume", "rbac", "--volume-name", "rbacdv")
    m.wait_for(lambda: "rbacdv" not in vmi_volumes(m, "rbac"), 30, "volume unplugged")

    door_of_the_api(cp, m)

    # A VM's dataVolumeTemplates: the controller makes the DataVolume (then its claim), the VM runs on it,
    # and the controller deletes it with the VM.
    cp.kubectl("apply", "-f", "-", input=TEMPLATE_VM, kubeconfig=editor)
    m.wait_for(lambda: m.vm_status("templated") == "Running", 60, "the VM with a DataVolume template Running")
    assert m.get("dv", "templated-disk")["metadata"]["ownerReferences"][0]["name"] == "templated"
    cp.kubectl("delete", "vm", "templated", kubeconfig=editor)
    m.wait_for(lambda: m.get("dv", "templated-disk") is None and m.get("pvc", "templated-disk") is None, 60,
               "its DataVolume and claim deleted with it")

    # An instance type: admitted by the api (it reads the object), stored by the controller as a
    # ControllerRevision the VM references, applied to the VMI; the revision goes with the VM.
    cp.kubectl("apply", "-f", "-", input=SIZED_VM, kubeconfig=editor)
    m.wait_for(lambda: m.vm_status("sized") == "Running", 60, "the sized VM Running")
    revision = m.get("vm", "sized")["status"]["instancetypeRef"]["controllerRevisionRef"]["name"]
    assert cp.kubectl("get", "controllerrevision", revision, "-o", "name").stdout.strip()
    assert m.get("vmi", "sized")["spec"]["domain"]["memory"]["guest"] == "64Mi"
    cp.kubectl("delete", "vm", "sized", kubeconfig=editor)
    m.wait_for(lambda: cp.kubectl("get", "controllerrevision", revision, check=False).returncode != 0, 30,
               "the VM's ControllerRevision deleted")

    # ConfigMap and Secret volumes: the handler reads both on its own token (get, by name) for the launcher.
    # (The objects by the cluster's admin: kubevirt.io:edit covers KubeVirt's kinds; Kubernetes' own edit
    # role, which it aggregates into, is the one that covers these.)
    cp.kubectl("apply", "-f", "-", input=CONFIG_OBJECTS)
    cp.kubectl("apply", "-f", "-", input=CONFIG_VM, kubeconfig=editor)
    m.wait_for(lambda: m.vm_status("configured") == "Running", 60, "the VM with ConfigMap and Secret disks Running")
    vm_dir = os.path.join(m.data_dir, "vms", m.get("vmi", "configured")["metadata"]["uid"])
    assert sorted(os.listdir(os.path.join(vm_dir, "config-disks"))) == ["cfg.iso", "sec.iso"]
    cp.kubectl("delete", "vm", "configured", kubeconfig=editor)
    m.wait_for(lambda: m.get("vmi", "configured") is None, 30, "the configured VM's VMI gone")

    m.cli("pause", "vmi", "rbac")
    m.wait_for(lambda: vmi_paused(m, "rbac"), 30, "VMI Paused")
    m.cli("unpause", "vmi", "rbac")
    m.wait_for(lambda: not vmi_paused(m, "rbac"), 30, "VMI unpaused")
    m.cli("stop", "rbac")
    m.wait_for(lambda: m.vm_status("rbac") == "Stopped" and m.get("vmi", "rbac") is None, 30, "VM Stopped")
    m.cli("start", "rbac")
    m.wait_for(lambda: m.vm_status("rbac") == "Running", 30, "VM Running again")

    cp.kubectl("delete", "vm", "rbac", kubeconfig=editor)
    m.wait_for(lambda: m.get("vmi", "rbac") is None and not m.launcher_pids(), 30, "VMI and launcher gone")
    cp.kubectl("delete", "dv", "rbacdv", "--timeout=30s", kubeconfig=editor)
    m.wait_for(lambda: not cp.kube.list(proto.PVC, "default")[0], 30, "the DataVolume's claim deleted")

    writes = cp.audit_writes()[first_write:]
    by_service = {s: [w for w in writes if w.get("userAgent", "").startswith(f"virtmesh-{s}/")] for s in SERVICES}
    for service, mine in by_service.items():
        assert mine, f"no write of the {service} seen"
        users = {w["user"]["username"] for w in mine}
        assert users == {f"system:serviceaccount:{NAMESPACE}:{account(service)}"}, (service, users)
        refused = [(w["verb"], w["requestURI"]) for w in mine if w.get("responseStatus", {}).get("code") == 403]
        assert not refused, (service, refused)
    for service in SERVICES:   # a refused read is not in the audit log of writes, but it is in the logs
        assert not m.log_has(service, "PERMISSION_DENIED") and not m.log_has(service, "forbidden"), \
            m.logs_tail()
