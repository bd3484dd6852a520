"""deploy/monitoring's Prometheus rules are valid and behave as their unit tests say (promtool,
from Debian's prometheus package that tools/host.sh installs)."""
import os
import shutil
import subprocess

import pytest
import yaml

from harness import ROOT

MONITORING = os.path.join(ROOT, "deploy", "monitoring")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing (tools/host.sh install provides it)")
        pytest.skip("promtool not installed")
    return path


def test_rules_pass_promtool_check_and_unit_tests():
    promtool = _promtool()
    for args in (["check", "rules", "virtmesh-rules.yaml"], ["test", "rules", "virtmesh-rules.test.yaml"]):
        r = subprocess.run([promtool, *args], cwd=MONITORING, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_no_rest_errors_high_alerts_and_burst_alerts_for_every_client():
    rules = yaml.safe_load(open(os.path.join(MONITORING, "virtmesh-rules.yaml")))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert not [a for a in alerts if a.endswith("RESTErrorsHigh")]  # removed in KubeVirt (#13911)
    assert {"VirtApiRESTErrorsBurst", "VirtControllerRESTErrorsBurst", "VirtHandlerRESTErrorsBurst",
            "VirtHandlerDown", "OrphanedVirtualMachineInstances", "VirtualMachineInstanceStuckInPhase"} <= alerts
