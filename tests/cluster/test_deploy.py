"""deploy/ against the real kube-apiserver (issue 16, item 5): the CRDs and an overlay apply server-side
and are accepted by the server's validation (CRDs Established, webhooks and the APIService registered,
Deployments and the DaemonSet stored); every container's command parses with the service's own
argument parser; every Service a manifest names exists with the port named."""
import argparse
import importlib
import os
import shlex
import time
from unittest import mock

import pytest
import yaml

from harness import ROOT
from services.common import paths

OVERLAY = os.path.join(ROOT, "deploy", "overlays", "single-node")


class _Parsed(Exception):
    pass


def parse_with_the_services_parser(command: list[str]) -> argparse.Namespace:
    """`python -m services.X ARGS` as that module's main() parses ARGS (stopped right after parsing)."""
    assert command[:2] == ["python", "-m"], command
    module = importlib.import_module(f"{command[2]}.__main__" if command[2].count(".") == 1 else command[2])
    real = argparse.ArgumentParser.parse_args
    parsed = {}

    def parse_only(self, args=None, namespace=None):
        parsed["args"] = real(self, args, namespace)   # an unknown or malformed flag exits here
        raise _Parsed

    with mock.patch.object(argparse.ArgumentParser, "parse_args", parse_only):
        with pytest.raises(_Parsed):
            module.main(command[3:])
    return parsed["args"]


@pytest.fixture(scope="module")
def rendered(control_plane) -> list[dict]:
    return [d for d in yaml.safe_load_all(control_plane.kubectl("kustomize", OVERLAY).stdout) if d]


def _containers(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "DaemonSet"):
            for c in d["spec"]["template"]["spec"]["containers"]:
                yield d, c


def test_every_container_command_parses_with_its_services_parser(rendered):
    """And the probes ask the socket that service serves on (its data dir's, as parsed)."""
    sockets = {"services.api": lambda d: d.api_socket, "services.controller": lambda d: f"{d.run}/controller.sock",
               "services.handler": lambda d: d.handler_socket("$NODE_NAME")}
    seen = set()
    for workload, c in _containers(rendered):
        command = c.get("command") or []
        if command[2:3] and command[2].startswith("services."):
            args = parse_with_the_services_parser(command)
            seen.add(command[2])
            assert args.kubeconfig == "in-cluster", (workload["metadata"]["name"], args.kubeconfig)
            want = "unix://" + sockets[command[2]](paths.DataDir(args.data_dir))
            for probe in ("readinessProbe", "livenessProbe"):
                exec_ = (c.get(probe) or {}).get("exec", {}).get("command")
                if exec_:
                    words = shlex.split(exec_[-1]) if exec_[0] == "sh" else exec_
                    words = words[1:] if words[0] == "exec" else words
                    assert words == ["python", "-m", "services.common.healthprobe", want], words
    assert seen == {"services.api", "services.controller", "services.handler"}


def test_every_service_a_manifest_names_exists(rendered):
    services = {(d["metadata"]["namespace"], d["metadata"]["name"]): {p["port"] for p in d["spec"]["ports"]}
                for d in rendered if d["kind"] == "Service"}
    named = []
    for d in rendered:
        if d["kind"] == "APIService":
            named.append(d["spec"]["service"])
        if d["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            named += [w["clientConfig"]["service"] for w in d["webhooks"]]
    assert named
    for ref in named:
        assert ref.get("port", 443) in services[(ref["namespace"], ref["name"])], ref
    # Addresses in environments: http://NAME[.NAMESPACE]:PORT
    for workload, c in _containers(rendered):
        for env in c.get("env", []):
            value = env.get("value") or ""
            if value.startswith("http://"):
                host, port = value[len("http://"):].split(":")
                name, _, ns = host.partition(".")
                assert int(port) in services[(ns or workload["metadata"]["namespace"], name)], value


def test_the_overlay_applies_server_side_and_is_accepted(control_plane, rendered):
    cp = control_plane
    cp.kubectl("apply", "--server-side", "-k", os.path.join(ROOT, "deploy", "crds"))
    crds = [d["metadata"]["name"] for d in yaml.safe_load_all(cp.kubectl("kustomize", os.path.join(
        ROOT, "deploy", "crds")).stdout) if d]
    cp.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in crds])
    r = cp.kubectl("apply", "--server-side", "-k", OVERLAY)
    assert "serverside-applied" in r.stdout
    # Stored as rendered: the workloads (pod templates validated by the server), the registrations.
    for kind, ns, name in (("deployment", "virtmesh", "virtmesh-api"), ("deployment", "virtmesh", "virtmesh-controller"),
                           ("daemonset", "virtmesh", "virtmesh-handler"),
                           ("apiservice", "", "v1.subresources.kubevirt.io"),
                           ("validatingwebhookconfiguration", "", "virt-api-validator"),
                           ("mutatingwebhookconfiguration", "", "virt-api-mutator")):
        cp.kubectl("get", kind, name, *(["-n", ns] if ns else []))
    api = yaml.safe_load(cp.kubectl("get", "deployment", "virtmesh-api", "-n", "virtmesh", "-o", "yaml").stdout)
    assert api["spec"]["replicas"] == 1   # the overlay's
    ns = yaml.safe_load(cp.kubectl("get", "namespace", "virtmesh", "-o", "yaml").stdout)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # The APIService is registered but not Available: no api pod runs here (no kubelet).
    deadline = time.monotonic() + 10
    while True:
        svc = yaml.safe_load(cp.kubectl("get", "apiservice", "v1.subresources.kubevirt.io", "-o", "yaml").stdout)
        conds = {c["type"]: c for c in svc.get("status", {}).get("conditions", [])}
        if "Available" in conds or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert conds["Available"]["status"] == "False"
    # A second apply changes nothing it owns.
    again = cp.kubectl("apply", "--server-side", "-k", OVERLAY)
    assert "serverside-applied" in again.stdout
